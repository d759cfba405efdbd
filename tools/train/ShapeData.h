#pragma once

#include "core/text/ClipTokenizer.h"
#include "tools/shapes/ShapeScene.h"

#include <ATen/ATen.h>
#include <QHash>
#include <QStringList>

#include <string>
#include <vector>

// The training batches: scenes drawn from a seeded sampler, rendered on the training device,
// captions tokenised by the engine's own tokenizer (so training and inference see the same ids).
namespace tp::train {

struct Batch {
    std::vector<shapes::Scene> scenes;
    QStringList captions; // after caption dropout ("" = the empty prompt)
    at::Tensor images;    // [B, 3, S, S] float32 in [-1, 1]
    at::Tensor tokens;    // [B, maxTokens] int64 (undefined without a tokenizer)
};

class ShapeData final {
public:
    // `tokenizer` may be null (autoencoder stage: images only).
    ShapeData(quint64 seed, int imageSize, at::Device device, const text::ClipTokenizer* tokenizer,
              double captionDropout, int maxTokens);

    Batch next(int batchSize);
    // Token ids of one prompt, padded to maxTokens ([maxTokens] int64, CPU).
    std::vector<int64_t> tokenize(const QString& caption);

    // The sampler's state, for checkpoints.
    std::string state() const;
    bool restore(const std::string& state);

private:
    shapes::SceneSampler m_sampler;
    int m_imageSize;
    at::Device m_device;
    const text::ClipTokenizer* m_tokenizer;
    double m_captionDropout;
    int m_maxTokens;
    QHash<QString, std::vector<int64_t>> m_tokenCache;
};

} // namespace tp::train
