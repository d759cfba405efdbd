#pragma once

#include "core/nn/Layers.h"

namespace tp::nn {

// diffusers' ResnetBlock2D, shared by the UNet (with a time embedding) and the VAE
// (without): norm1, conv1, [time_emb_proj], norm2, conv2, [conv_shortcut].
struct ResnetBlock2DOptions {
    int64_t inChannels = 0;
    int64_t outChannels = 0;
    int64_t tembChannels = 0; // 0: no time embedding (VAE)
    int64_t groups = 32;
    double eps = 1e-6;
    Activation activation = Activation::Silu;
    double outputScaleFactor = 1.0;
    bool scaleShift = false;         // resnet_time_scale_shift "scale_shift" (else "default": add)
    bool skipTimeActivation = false; // resnet_skip_time_act
};

class ResnetBlock2DImpl final : public torch::nn::Module {
public:
    ResnetBlock2DImpl(const ResnetBlock2DOptions& options, const at::TensorOptions& tensorOptions);
    // temb: [B, tembChannels], or undefined when the block has none.
    at::Tensor forward(const at::Tensor& x, const at::Tensor& temb = {}) const;

private:
    ResnetBlock2DOptions m_options;
    GroupNorm m_norm1{nullptr};
    Conv2d m_conv1{nullptr};
    Linear m_timeEmbProj{nullptr};
    GroupNorm m_norm2{nullptr};
    Conv2d m_conv2{nullptr};
    Conv2d m_convShortcut{nullptr};
};
TORCH_MODULE(ResnetBlock2D);

// diffusers' Downsample2D with a convolution: stride-2 3x3 conv ("conv"). With padding 0
// (the VAE encoder) the input is first padded by one on the right and bottom.
class Downsample2DImpl final : public torch::nn::Module {
public:
    Downsample2DImpl(int64_t channels, int64_t outChannels, int64_t padding,
                     const at::TensorOptions& tensorOptions);
    at::Tensor forward(const at::Tensor& x) const;

private:
    Conv2d m_conv{nullptr};
    int64_t m_padding;
};
TORCH_MODULE(Downsample2D);

// diffusers' Upsample2D with a convolution: nearest 2x (or to an explicit size, so that odd
// latent sizes line up with the skip connections), then a 3x3 conv ("conv").
class Upsample2DImpl final : public torch::nn::Module {
public:
    Upsample2DImpl(int64_t channels, int64_t outChannels, const at::TensorOptions& tensorOptions);
    // outputSize: {H, W}, or empty for twice the input size.
    at::Tensor forward(const at::Tensor& x, at::IntArrayRef outputSize = {}) const;

private:
    Conv2d m_conv{nullptr};
};
TORCH_MODULE(Upsample2D);

} // namespace tp::nn
