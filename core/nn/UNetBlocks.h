#pragma once

#include "core/nn/AttentionLayer.h"
#include "core/nn/ResnetBlock2D.h"
#include "core/nn/Transformer2D.h"

#include <torch/nn/modules/container/modulelist.h>

#include <vector>

namespace tp::nn {

// The down, mid and up blocks of diffusers' UNet2DConditionModel and AutoencoderKL. One
// down block class covers DownBlock2D, CrossAttnDownBlock2D and DownEncoderBlock2D (same
// keys: resnets.N, attentions.N, downsamplers.0.conv); one up block class covers UpBlock2D,
// CrossAttnUpBlock2D and UpDecoderBlock2D.

// What every resnet of a block shares.
struct ResnetGroupOptions {
    int64_t tembChannels = 0; // 0: no time embedding (VAE)
    int64_t groups = 32;
    double eps = 1e-6;
    Activation activation = Activation::Silu;
    double outputScaleFactor = 1.0;
    bool scaleShift = false;
    bool skipTimeActivation = false;

    ResnetBlock2DOptions resnet(int64_t in, int64_t out) const;
};

// The Transformer2DModels of a Cross-Attn block; `enabled` false for plain blocks.
struct CrossAttentionBlockOptions {
    bool enabled = false;
    int64_t heads = 1;  // head dim = channels / heads
    int64_t layers = 1; // transformer_layers_per_block
    int64_t crossAttentionDim = 0;
    bool useLinearProjection = false;
    bool onlyCrossAttention = false;
    bool upcastAttention = false;

    Transformer2DOptions transformer(int64_t channels, int64_t groups) const;
};

struct DownBlockOptions {
    int64_t inChannels = 0;
    int64_t outChannels = 0;
    int64_t layers = 1;
    bool addDownsample = true;
    int64_t downsamplePadding = 1; // 0: the VAE encoder's pad-then-conv
    ResnetGroupOptions resnet;
    CrossAttentionBlockOptions attention;
};

class DownBlock2DImpl final : public torch::nn::Module {
public:
    DownBlock2DImpl(const DownBlockOptions& options, const at::TensorOptions& tensorOptions);
    // Appends each layer's output (and the downsampler's) to `skips` when given.
    at::Tensor forward(const at::Tensor& x, const at::Tensor& temb, const at::Tensor& context,
                       std::vector<at::Tensor>* skips) const;

private:
    std::vector<ResnetBlock2D> m_resnets;
    std::vector<Transformer2D> m_attentions;
    Downsample2D m_downsampler{nullptr};
};
TORCH_MODULE(DownBlock2D);

struct UpBlockOptions {
    int64_t inChannels = 0;         // the matching down block's input (last skip's channels)
    int64_t prevOutputChannels = 0; // channels coming from below
    int64_t outChannels = 0;
    int64_t layers = 1;
    bool skipConnections = true; // false: the VAE decoder (UpDecoderBlock2D)
    bool addUpsample = true;
    ResnetGroupOptions resnet;
    CrossAttentionBlockOptions attention;
};

class UpBlock2DImpl final : public torch::nn::Module {
public:
    UpBlock2DImpl(const UpBlockOptions& options, const at::TensorOptions& tensorOptions);
    // Takes its skip connections from the back of `skips` (UNet) and upsamples to
    // `upsampleSize` ({H, W}) when given.
    at::Tensor forward(const at::Tensor& x, const at::Tensor& temb, const at::Tensor& context,
                       std::vector<at::Tensor>* skips, at::IntArrayRef upsampleSize = {}) const;
    int64_t layers() const { return int64_t(m_resnets.size()); }

private:
    bool m_skipConnections;
    std::vector<ResnetBlock2D> m_resnets;
    std::vector<Transformer2D> m_attentions;
    Upsample2D m_upsampler{nullptr};
};
TORCH_MODULE(UpBlock2D);

// UNetMidBlock2DCrossAttn: resnets.0, then (attentions.i, resnets.i+1).
class MidBlock2DCrossAttnImpl final : public torch::nn::Module {
public:
    MidBlock2DCrossAttnImpl(int64_t channels, int64_t layers, const ResnetGroupOptions& resnet,
                            const CrossAttentionBlockOptions& attention,
                            const at::TensorOptions& tensorOptions);
    at::Tensor forward(const at::Tensor& x, const at::Tensor& temb, const at::Tensor& context) const;

private:
    std::vector<ResnetBlock2D> m_resnets;
    std::vector<Transformer2D> m_attentions;
};
TORCH_MODULE(MidBlock2DCrossAttn);

// UNetMidBlock2D (the VAE's): resnets.0, [attentions.0: one-head spatial self-attention
// with group_norm and a residual], resnets.1.
class MidBlock2DImpl final : public torch::nn::Module {
public:
    MidBlock2DImpl(int64_t channels, bool addAttention, const ResnetGroupOptions& resnet,
                   const at::TensorOptions& tensorOptions);
    at::Tensor forward(const at::Tensor& x, const at::Tensor& temb = {}) const;

private:
    std::vector<ResnetBlock2D> m_resnets;
    AttentionLayer m_attention{nullptr};
};
TORCH_MODULE(MidBlock2D);

} // namespace tp::nn
