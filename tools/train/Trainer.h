#pragma once

#include "core/common/Result.h"
#include "core/nn/AutoencoderKL.h"
#include "core/nn/ClipTextModel.h"
#include "core/nn/UNet2DCondition.h"
#include "core/text/ClipTokenizer.h"
#include "tools/train/FlatParameters.h"
#include "tools/train/ModelConfigs.h"
#include "tools/train/TrainOptions.h"

#include <ATen/ATen.h>

#include <QDir>
#include <QJsonArray>

#include <optional>

// The bundled model's trainer. Stage 1 trains the AutoencoderKL on the shapes images; its
// latent scale and a latent->RGB fit are measured; stage 2 freezes it and trains the CLIP
// text encoder and the UNet (epsilon prediction on the SD 1.5 schedule, caption dropout for
// classifier-free guidance, EMA weights). The networks are the engine's own modules (core/nn),
// so what is trained is exactly what the app runs. Every stage checkpoints and resumes.
namespace tp::train {

// Separate random streams per purpose, so that changing one stage's length or size leaves
// the others' numbers alone.
enum class SeedStream : quint64 {
    VaeInit = 1,
    TextInit = 2,
    UNetInit = 3,
    VaeData = 11,
    VaeNoise = 12,
    LatentData = 21,
    LatentNoise = 22,
    DiffusionData = 31,
    DiffusionNoise = 32,
    Evaluation = 41,
};
quint64 streamSeed(quint64 seed, SeedStream stream);

class Trainer final {
public:
    explicit Trainer(TrainOptions options);
    Status run();
    // --benchmark: a short run of both stages in a temporary folder, then the projected
    // duration of the configured run.
    Status benchmark();
    // --untrained: the networks with their initial weights, exported without training.
    Status writeUntrained();

    // Folder for checkpoints, loss CSVs, samples: <out>/../<name>-training unless set.
    static QString defaultWorkDir(const QString& outDir);

private:
    Status prepare();
    Status buildModels();
    Status trainVae();
    Status measureLatents();
    Status trainDiffusion();
    Status evaluate();
    Status exportModel();

    // Posterior sample of images in [-1, 1], times the scaling factor; no gradients.
    at::Tensor encodeScaled(const at::Tensor& images, at::Generator& gen);
    // Scaled latents -> images in [0, 1].
    at::Tensor decodeScaled(const at::Tensor& latents);
    QString workFile(const QString& name) const { return m_work.filePath(name); }
    double elapsedSeconds() const;

    TrainOptions m_opt;
    at::Device m_device{at::kCPU};
    QString m_deviceDescription;
    QDir m_out;
    QDir m_work;
    qint64 m_startMs = 0;
    std::optional<text::ClipTokenizer> m_tokenizer;
    TokenIds m_tokenIds;
    nn::AutoencoderKL m_vae{nullptr};
    nn::ClipTextModel m_textEncoder{nullptr};
    nn::UNet2DCondition m_unet{nullptr};
    double m_scaling = 1.0;
    QJsonArray m_rgbFactors;
    QJsonArray m_rgbBias;
    at::Tensor m_alphasCumprod; // [num_train_timesteps] float32 on the device
    // Throughput after the first kUntimedSteps steps (warm-up, cuDNN/allocator setup).
    static constexpr int kUntimedSteps = 5;
    double m_vaeImagesPerSecond = 0.0;
    double m_unetImagesPerSecond = 0.0;
    bool m_stopped = false; // --stop-after reached
    FlatParameters m_diffusionParams;
    FlatEma m_ema;
};

} // namespace tp::train
