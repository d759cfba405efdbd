#pragma once

#include "core/nn/AttentionLayer.h"
#include "core/nn/Layers.h"

#include <torch/nn/modules/container/modulelist.h>

#include <vector>

namespace tp::nn {

// diffusers' Transformer2DModel (continuous input) with BasicTransformerBlocks
// (layer_norm, self-attention attn1, cross-attention attn2, GEGLU feed-forward).
struct Transformer2DOptions {
    int64_t channels = 0; // in_channels
    int64_t heads = 1;
    int64_t headDim = 0;
    int64_t layers = 1; // transformer_layers_per_block
    int64_t crossAttentionDim = 0;
    int64_t normGroups = 32;
    bool useLinearProjection = false;
    bool onlyCrossAttention = false;
    bool upcastAttention = false;
};

// FeedForward with GEGLU: net.0.proj (dim -> 2*inner), gelu gate, net.2 (inner -> dim).
class GegluFeedForwardImpl final : public torch::nn::Module {
public:
    GegluFeedForwardImpl(int64_t dim, int64_t innerDim, const at::TensorOptions& tensorOptions);
    at::Tensor forward(const at::Tensor& x) const;

private:
    Linear m_proj{nullptr};
    Linear m_out{nullptr};
};
TORCH_MODULE(GegluFeedForward);

class BasicTransformerBlockImpl final : public torch::nn::Module {
public:
    BasicTransformerBlockImpl(const Transformer2DOptions& options, const at::TensorOptions& tensorOptions);
    at::Tensor forward(const at::Tensor& x, const at::Tensor& context) const;

private:
    bool m_onlyCrossAttention;
    LayerNorm m_norm1{nullptr};
    AttentionLayer m_attn1{nullptr};
    LayerNorm m_norm2{nullptr};
    AttentionLayer m_attn2{nullptr};
    LayerNorm m_norm3{nullptr};
    GegluFeedForward m_ff{nullptr};
};
TORCH_MODULE(BasicTransformerBlock);

class Transformer2DImpl final : public torch::nn::Module {
public:
    Transformer2DImpl(const Transformer2DOptions& options, const at::TensorOptions& tensorOptions);
    // x: [B, C, H, W]; context: [B, L, crossAttentionDim].
    at::Tensor forward(const at::Tensor& x, const at::Tensor& context) const;

private:
    bool m_linear;
    GroupNorm m_norm{nullptr};
    Conv2d m_projInConv{nullptr};
    Linear m_projInLinear{nullptr};
    std::vector<BasicTransformerBlock> m_blocks;
    Conv2d m_projOutConv{nullptr};
    Linear m_projOutLinear{nullptr};
};
TORCH_MODULE(Transformer2D);

} // namespace tp::nn
