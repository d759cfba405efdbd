#pragma once

#include "core/common/Result.h"
#include "core/nn/BlockSequence.h"
#include "core/nn/DiTLayers.h"

#include <QJsonObject>
#include <QString>

#include <vector>

namespace tp::nn {

// diffusers SD3Transformer2DModel (MMDiT: SD 3.0, SD 3.5 Large/Turbo, SD 3.5 Medium), as its
// config.json describes it.
struct SD3Transformer2DConfig {
    int64_t sampleSize = 128;
    int64_t patchSize = 2;
    int64_t inChannels = 16;
    int64_t numLayers = 18;
    int64_t attentionHeadDim = 64;
    int64_t numAttentionHeads = 18;
    int64_t jointAttentionDim = 4096;
    int64_t captionProjectionDim = 1152; // must equal heads · head dim (the blocks' width)
    int64_t pooledProjectionDim = 2048;
    int64_t outChannels = 16;
    int64_t posEmbedMaxSize = 96;
    std::vector<int64_t> dualAttentionLayers; // SD 3.5 Medium: 0..12 carry attn2
    bool qkNorm = false;                      // qk_norm "rms_norm" (SD 3.5); null for SD 3.0

    int64_t innerDim() const { return numAttentionHeads * attentionHeadDim; }

    static Result<SD3Transformer2DConfig> fromJson(const QJsonObject& json);
    static Result<SD3Transformer2DConfig> fromFile(const QString& path);
};

// diffusers' JointTransformerBlock: image and context streams with their own adaLN-Zero
// modulation (norm1 / norm1_context), joint attention `attn` over [image, context], feed-forwards
// ff / ff_context; `context_pre_only` (the last block) keeps only the image stream, its context
// norm being AdaLayerNormContinuous; dual attention (SD35AdaLayerNormZeroX) adds an image-only
// `attn2`.
struct JointTransformerBlockOptions {
    int64_t dim = 0;
    int64_t heads = 1;
    int64_t headDim = 0;
    bool contextPreOnly = false;
    bool qkNorm = false;
    bool dualAttention = false;
};

class JointTransformerBlockImpl final : public torch::nn::Module {
public:
    JointTransformerBlockImpl(const JointTransformerBlockOptions& options,
                              const at::TensorOptions& tensorOptions);
    // x [B, N, dim], context [B, L, dim], temb [B, dim] -> (context, x); the context is undefined
    // after a context_pre_only block.
    std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x, const at::Tensor& context,
                                              const at::Tensor& temb) const;

private:
    JointTransformerBlockOptions m_options;
    AdaLayerNormZero m_norm1{nullptr};
    AdaLayerNormZero m_norm1Context{nullptr};
    AdaLayerNormContinuous m_norm1ContextFinal{nullptr};
    JointAttention m_attn{nullptr};
    JointAttention m_attn2{nullptr};
    GeluFeedForward m_ff{nullptr};
    GeluFeedForward m_ffContext{nullptr};
};
TORCH_MODULE(JointTransformerBlock);

class SD3Transformer2DImpl final : public torch::nn::Module, public BlockSequence {
public:
    explicit SD3Transformer2DImpl(const SD3Transformer2DConfig& config,
                                  const at::TensorOptions& tensorOptions = at::TensorOptions());

    // hiddenStates [B, inChannels, H, W] latents (H, W multiples of the patch size, at most
    // posEmbedMaxSize patches a side); encoderHiddenStates [B, L, jointAttentionDim];
    // pooledProjections [B, pooledProjectionDim]; timestep [B] or one value, in 0..1000 as the
    // flow-match scheduler's timesteps (float32). Returns the velocity [B, outChannels, H, W] in
    // the model's dtype.
    at::Tensor forward(const at::Tensor& hiddenStates, const at::Tensor& encoderHiddenStates,
                       const at::Tensor& pooledProjections, const at::Tensor& timestep) const;

    const SD3Transformer2DConfig& config() const { return m_config; }
    // transformer_blocks.
    std::vector<torch::nn::Module*> blocks() const override;
    // The largest latent side this model takes (pos_embed_max_size · patch size).
    int64_t maxLatentSize() const { return m_config.posEmbedMaxSize * m_config.patchSize; }

private:
    SD3Transformer2DConfig m_config;
    PatchEmbed m_posEmbed{nullptr};
    TimeTextEmbedding m_timeTextEmbed{nullptr};
    Linear m_contextEmbedder{nullptr};
    std::vector<JointTransformerBlock> m_blocks;
    AdaLayerNormContinuous m_normOut{nullptr};
    Linear m_projOut{nullptr};
};
TORCH_MODULE(SD3Transformer2D);

} // namespace tp::nn
