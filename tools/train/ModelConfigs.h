#pragma once

#include "tools/train/TrainOptions.h"

#include <QJsonArray>
#include <QJsonObject>

// The config.json files of the bundled model, key for key in the formats diffusers and
// transformers write, so that the project's loader and diffusers read them alike.
namespace tp::train {

struct TokenIds {
    int vocabSize = 0;
    int bos = 0;
    int eos = 0;
};

QJsonObject textEncoderConfig(const Architecture& arch, const TokenIds& tokens);
QJsonObject unetConfig(const Architecture& arch);
// latentRgbFactors: 4 rows of 3 (RGB in [-1, 1] = scaled latent . factors + bias).
QJsonObject vaeConfig(const Architecture& arch, double scalingFactor, const QJsonArray& latentRgbFactors = {},
                      const QJsonArray& latentRgbBias = {});
// The default sampler's class (Euler ancestral) with the SD 1.5 schedule; the PNDM/DDIM keys
// are there too so that any sampler built from it behaves like SD 1.5's.
QJsonObject schedulerConfig();
QJsonObject modelIndex();

} // namespace tp::train
