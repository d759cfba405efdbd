#pragma once

// Building blocks of the diffusion transformers (SD 3.x MMDiT, Flux), each named and computed as
// diffusers' module of the same role (models/normalization.py, embeddings.py, attention.py,
// attention_processor.py, transformers/transformer_flux.py), dtype conversions included.

#include "core/nn/Layers.h"
#include "core/nn/TimestepEmbedding.h"

#include <utility>
#include <vector>

namespace tp::nn {

// --- normalisation and modulation -------------------------------------------------------------

// The two RMS norms over the last dimension, x · rsqrt(mean(x²) + eps) · weight, which differ in
// their dtypes: diffusers' RMSNorm (SD 3's qk_norm) multiplies the input by the float32 factor,
// casts to the weight's dtype only when that is fp16/bf16, and returns float32 otherwise;
// torch.nn.RMSNorm (Flux's attention) normalises in float32, casts back to the input's dtype, then
// multiplies by the weight.
enum class RmsNormKind { Diffusers, Torch };

class RMSNormImpl final : public torch::nn::Module {
public:
    RMSNormImpl(int64_t dim, double eps, RmsNormKind kind, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& x) const;

private:
    at::Tensor m_weight;
    double m_eps;
    RmsNormKind m_kind;
};
TORCH_MODULE(RMSNorm);

// nn.LayerNorm(dim, elementwise_affine=False, eps) over the last dimension.
at::Tensor layerNormNoAffine(const at::Tensor& x, double eps = 1e-6);

// normed * (1 + scale[:, None]) + shift[:, None], for [B, L, D] and [B, D] modulation vectors.
at::Tensor modulate(const at::Tensor& normed, const at::Tensor& shift, const at::Tensor& scale);

// The adaLN-Zero modulation: `linear` (dim -> chunks·dim) over SiLU(emb), split into `chunks`
// [B, dim] vectors in diffusers' order. AdaLayerNormZero: 6 (shift_msa, scale_msa, gate_msa,
// shift_mlp, scale_mlp, gate_mlp); SD35AdaLayerNormZeroX: 9 (+ shift_msa2, scale_msa2, gate_msa2);
// AdaLayerNormZeroSingle: 3 (shift_msa, scale_msa, gate_msa). The norm itself is
// layerNormNoAffine(x, 1e-6).
class AdaLayerNormZeroImpl final : public torch::nn::Module {
public:
    AdaLayerNormZeroImpl(int64_t dim, int64_t chunks, const at::TensorOptions& options);
    std::vector<at::Tensor> modulation(const at::Tensor& emb) const;

private:
    Linear m_linear{nullptr};
    int64_t m_chunks;
};
TORCH_MODULE(AdaLayerNormZero);

// AdaLayerNormContinuous (layer_norm without affine): `linear` (condDim -> 2·dim) over
// SiLU(cond) cast to x's dtype gives scale, shift; returns norm(x) · (1 + scale) + shift.
class AdaLayerNormContinuousImpl final : public torch::nn::Module {
public:
    AdaLayerNormContinuousImpl(int64_t dim, int64_t conditioningDim, double eps,
                               const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& x, const at::Tensor& conditioning) const;

private:
    Linear m_linear{nullptr};
    double m_eps;
};
TORCH_MODULE(AdaLayerNormContinuous);

// FeedForward(activation_fn="gelu-approximate"): net.0.proj (dim -> inner), tanh GELU, net.2
// (inner -> dimOut).
class GeluFeedForwardImpl final : public torch::nn::Module {
public:
    GeluFeedForwardImpl(int64_t dim, int64_t innerDim, int64_t dimOut, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& x) const;

private:
    Linear m_proj{nullptr};
    Linear m_out{nullptr};
};
TORCH_MODULE(GeluFeedForward);

// --- embeddings --------------------------------------------------------------------------------

// get_2d_sincos_pos_embed(embedDim, gridSize, base_size, interpolation_scale, output_type="pt"):
// [gridSize², embedDim] float32; the first half of each row encodes the column, the second the row
// (float64 sin/cos of float32 grid positions, as diffusers computes them).
at::Tensor sincosPosEmbed2d(int64_t embedDim, int64_t gridSize, int64_t baseSize,
                            double interpolationScale = 1.0);

// PatchEmbed with pos_embed_max_size (SD 3): `proj`, a patch×patch convolution with stride patch,
// plus the buffer `pos_embed` [1, max², dim] (persistent in the checkpoints; computed with
// sincosPosEmbed2d when a file lacks it), cropped to the centre of the latent's patch grid.
class PatchEmbedImpl final : public torch::nn::Module {
public:
    PatchEmbedImpl(int64_t inChannels, int64_t dim, int64_t patchSize, int64_t posEmbedMaxSize,
                   int64_t baseSize, const at::TensorOptions& options);
    // latent [B, C, H, W] with H, W multiples of the patch size and at most max·patch -> [B, N, dim]
    at::Tensor forward(const at::Tensor& latent) const;
    // cropped_pos_embed for a grid of `rows` × `cols` patches: [1, rows·cols, dim].
    at::Tensor croppedPosEmbed(int64_t rows, int64_t cols) const;

    int64_t patchSize() const { return m_patch; }
    int64_t maxSize() const { return m_maxSize; }

private:
    Conv2d m_proj{nullptr};
    at::Tensor m_posEmbed;
    int64_t m_patch;
    int64_t m_maxSize;
};
TORCH_MODULE(PatchEmbed);

// CombinedTimestepTextProjEmbeddings, and with `guidance` CombinedTimestepGuidanceTextProjEmbeddings
// (Flux dev): timestep_embedder(sinusoid₂₅₆(t)) [+ guidance_embedder(sinusoid₂₅₆(g))] +
// text_embedder(pooled) (linear_1, SiLU, linear_2). The sinusoids (flip_sin_to_cos, shift 0) are
// computed in float32 and cast to the pooled vector's dtype.
class TimeTextEmbeddingImpl final : public torch::nn::Module {
public:
    TimeTextEmbeddingImpl(int64_t dim, int64_t pooledDim, bool guidance, const at::TensorOptions& options);
    // timestep [B], pooled [B, pooledDim], guidance [B] (required exactly when built with guidance)
    at::Tensor forward(const at::Tensor& timestep, const at::Tensor& pooled,
                       const at::Tensor& guidance = {}) const;
    bool hasGuidance() const { return static_cast<bool>(m_guidanceEmbedder); }

private:
    TimestepEmbedder m_timestepEmbedder{nullptr};
    TimestepEmbedder m_guidanceEmbedder{nullptr};
    TimestepEmbedder m_textEmbedder{nullptr};
};
TORCH_MODULE(TimeTextEmbedding);

// --- rotary position embedding (Flux) ----------------------------------------------------------

// cos and sin [L, Σ axesDim] float32, on the ids' device.
struct RotaryEmbedding {
    at::Tensor cos;
    at::Tensor sin;
};

// FluxPosEmbed: per axis i, get_1d_rotary_pos_embed(axesDim[i], ids[:, i], theta, use_real=True,
// repeat_interleave_real=True, float64 frequencies), concatenated. ids [L, axes] (any dtype; read
// as float32).
RotaryEmbedding rotaryEmbedding(const at::Tensor& ids, const std::vector<int64_t>& axesDim, double theta);

// apply_rotary_emb(use_real, unbind_dim=-1, sequence_dim) for x [B, H, L, D] (sequenceDim 2) or
// [B, L, H, D] (sequenceDim 1): pairs (x₂ᵢ, x₂ᵢ₊₁) rotated, computed in float32 and returned in
// x's dtype.
at::Tensor applyRotaryEmbedding(const at::Tensor& x, const RotaryEmbedding& rope, int64_t sequenceDim = 2);

// --- joint attention ---------------------------------------------------------------------------

enum class QkNorm { None, RmsDiffusers, RmsTorch };

struct JointAttentionOptions {
    int64_t dim = 0; // query_dim = out_dim = heads · headDim
    int64_t heads = 1;
    int64_t headDim = 0;
    bool context = false;        // add_q_proj/add_k_proj/add_v_proj (and norm_added_q/k)
    bool contextPreOnly = false; // no to_add_out (SD 3's last block)
    bool output = true;          // to_out.0 (false: Flux single blocks, pre_only)
    // FluxAttnProcessor: sequence [context, image], heads kept as [B, L, H, D]; else
    // JointAttnProcessor2_0: [image, context] on [B, H, L, D] views.
    bool contextFirst = false;
    QkNorm qkNorm = QkNorm::None;
    double eps = 1e-6;
};

// diffusers' Attention with JointAttnProcessor2_0 (SD 3) or FluxAttention with FluxAttnProcessor:
// to_q/to_k/to_v (biased), optional per-head RMS norms norm_q/norm_k (norm_added_q/k for the
// context), attention over the concatenated image and context tokens with optional RoPE on q and k,
// then to_out.0 for the image tokens and to_add_out for the context tokens.
class JointAttentionImpl final : public torch::nn::Module {
public:
    JointAttentionImpl(const JointAttentionOptions& options, const at::TensorOptions& tensorOptions);

    // x [B, N, dim]; context [B, L, dim] (only with options.context); rope for the N + L tokens in
    // attention order. Returns the image tokens' output [B, N, dim] and the context tokens'
    // [B, L, dim] (undefined without context or with contextPreOnly).
    std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& x, const at::Tensor& context = {},
                                              const RotaryEmbedding* rope = nullptr) const;

private:
    JointAttentionOptions m_options;
    Linear m_toQ{nullptr}, m_toK{nullptr}, m_toV{nullptr};
    Linear m_addQ{nullptr}, m_addK{nullptr}, m_addV{nullptr};
    RMSNorm m_normQ{nullptr}, m_normK{nullptr}, m_normAddedQ{nullptr}, m_normAddedK{nullptr};
    Linear m_toOut{nullptr};
    Linear m_toAddOut{nullptr};
};
TORCH_MODULE(JointAttention);

// x.clip(-65504, 65504) when x is float16 (the Flux blocks' overflow guard), else x.
at::Tensor clipFloat16(const at::Tensor& x);

} // namespace tp::nn
