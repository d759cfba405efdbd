#pragma once

#include "core/common/Result.h"
#include "core/nn/BlockSequence.h"
#include "core/nn/DiTLayers.h"

#include <QJsonObject>
#include <QString>

#include <vector>

namespace tp::nn {

// diffusers FluxTransformer2DModel (Flux.1 dev with guidance_embeds, schnell without), as its
// config.json describes it.
struct FluxTransformer2DConfig {
    int64_t patchSize = 1;
    int64_t inChannels = 64;
    int64_t outChannels = 64; // null in the file: in_channels
    int64_t numLayers = 19;
    int64_t numSingleLayers = 38;
    int64_t attentionHeadDim = 128;
    int64_t numAttentionHeads = 24;
    int64_t jointAttentionDim = 4096;
    int64_t pooledProjectionDim = 768;
    bool guidanceEmbeds = false;
    std::vector<int64_t> axesDimsRope{16, 56, 56}; // sums to attentionHeadDim

    int64_t innerDim() const { return numAttentionHeads * attentionHeadDim; }

    static Result<FluxTransformer2DConfig> fromJson(const QJsonObject& json);
    static Result<FluxTransformer2DConfig> fromFile(const QString& path);
};

// FluxPosEmbed's theta (fixed in diffusers and in Black Forest Labs' code).
constexpr double kFluxRopeTheta = 10000.0;

// FluxTransformerBlock (double stream): norm1 / norm1_context (AdaLayerNormZero), `attn` over
// [context, image] with QK RMS norms and RoPE, ff / ff_context.
class FluxTransformerBlockImpl final : public torch::nn::Module {
public:
    FluxTransformerBlockImpl(int64_t dim, int64_t heads, int64_t headDim, const at::TensorOptions& options);
    // -> (context, x)
    std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x, const at::Tensor& context,
                                              const at::Tensor& temb, const RotaryEmbedding& rope) const;

private:
    AdaLayerNormZero m_norm1{nullptr};
    AdaLayerNormZero m_norm1Context{nullptr};
    JointAttention m_attn{nullptr};
    GeluFeedForward m_ff{nullptr};
    GeluFeedForward m_ffContext{nullptr};
};
TORCH_MODULE(FluxTransformerBlock);

// FluxSingleTransformerBlock: `norm` (AdaLayerNormZeroSingle), attention without output projection
// and the tanh-GELU MLP `proj_mlp` in parallel, `proj_out` over their concatenation, gated.
class FluxSingleTransformerBlockImpl final : public torch::nn::Module {
public:
    FluxSingleTransformerBlockImpl(int64_t dim, int64_t heads, int64_t headDim,
                                   const at::TensorOptions& options);
    // tokens [B, L + N, dim] (context first) -> same shape
    at::Tensor forward(const at::Tensor& tokens, const at::Tensor& temb, const RotaryEmbedding& rope) const;

private:
    AdaLayerNormZero m_norm{nullptr};
    Linear m_projMlp{nullptr};
    JointAttention m_attn{nullptr};
    Linear m_projOut{nullptr};
};
TORCH_MODULE(FluxSingleTransformerBlock);

class FluxTransformer2DImpl final : public torch::nn::Module, public BlockSequence {
public:
    explicit FluxTransformer2DImpl(const FluxTransformer2DConfig& config,
                                   const at::TensorOptions& tensorOptions = at::TensorOptions());

    // hiddenStates [B, N, inChannels] packed latents (packLatents); encoderHiddenStates
    // [B, L, jointAttentionDim]; pooledProjections [B, pooledProjectionDim]; timestep [B] or one
    // value as the Flux pipeline passes it (scheduler timestep / 1000, in the latents' dtype: the
    // model casts it to its dtype and multiplies by 1000, as diffusers does); imgIds [N, 3]
    // (latentImageIds), txtIds [L, 3] (zeros); guidance [B] or one value (the guidance scale,
    // float32; also multiplied by 1000) exactly when config().guidanceEmbeds.
    // Returns [B, N, patch² · outChannels] in the model's dtype.
    at::Tensor forward(const at::Tensor& hiddenStates, const at::Tensor& encoderHiddenStates,
                       const at::Tensor& pooledProjections, const at::Tensor& timestep,
                       const at::Tensor& imgIds, const at::Tensor& txtIds,
                       const at::Tensor& guidance = {}) const;

    // The RoPE of cat(txtIds, imgIds) that forward() computes (FluxPosEmbed).
    RotaryEmbedding rotaryEmbedding(const at::Tensor& imgIds, const at::Tensor& txtIds) const;

    const FluxTransformer2DConfig& config() const { return m_config; }
    // transformer_blocks, then single_transformer_blocks.
    std::vector<torch::nn::Module*> blocks() const override;

private:
    FluxTransformer2DConfig m_config;
    TimeTextEmbedding m_timeTextEmbed{nullptr};
    Linear m_contextEmbedder{nullptr};
    Linear m_xEmbedder{nullptr};
    std::vector<FluxTransformerBlock> m_blocks;
    std::vector<FluxSingleTransformerBlock> m_singleBlocks;
    AdaLayerNormContinuous m_normOut{nullptr};
    Linear m_projOut{nullptr};
};
TORCH_MODULE(FluxTransformer2D);

// FluxPipeline._pack_latents: [B, C, H, W] (H, W even) -> [B, (H/2)·(W/2), 4C], each token the
// 2×2 patch's channels in (c, dy, dx) order.
at::Tensor packLatents(const at::Tensor& latents);
// FluxPipeline._unpack_latents: [B, (H/2)·(W/2), 4C] -> [B, C, H, W] for the latent height and
// width H, W (diffusers: 2 · (image side // (vae_scale_factor · 2))).
at::Tensor unpackLatents(const at::Tensor& packed, int64_t latentHeight, int64_t latentWidth);
// FluxPipeline._prepare_latent_image_ids(height // 2, width // 2): [rows · cols, 3] with
// (0, row, col), float32 cast to `options` (diffusers casts to the latents' dtype).
at::Tensor latentImageIds(int64_t rows, int64_t cols, const at::TensorOptions& options = at::TensorOptions());

} // namespace tp::nn
