#include "core/nn/ResnetBlock2D.h"

#include <torch/version.h>

#include <array>

namespace tp::nn {

ResnetBlock2DImpl::ResnetBlock2DImpl(const ResnetBlock2DOptions& options,
                                     const at::TensorOptions& tensorOptions)
    : m_options(options) {
    const auto& o = options;
    m_norm1 = register_module("norm1", GroupNorm(o.groups, o.inChannels, o.eps, tensorOptions));
    m_conv1 = register_module("conv1", Conv2d(o.inChannels, o.outChannels, 3, 1, 1, true, tensorOptions));
    if (o.tembChannels > 0)
        m_timeEmbProj = register_module(
            "time_emb_proj",
            Linear(o.tembChannels, o.scaleShift ? 2 * o.outChannels : o.outChannels, true, tensorOptions));
    m_norm2 = register_module("norm2", GroupNorm(o.groups, o.outChannels, o.eps, tensorOptions));
    m_conv2 = register_module("conv2", Conv2d(o.outChannels, o.outChannels, 3, 1, 1, true, tensorOptions));
    if (o.inChannels != o.outChannels)
        m_convShortcut = register_module("conv_shortcut",
                                         Conv2d(o.inChannels, o.outChannels, 1, 1, 0, true, tensorOptions));
}

at::Tensor ResnetBlock2DImpl::forward(const at::Tensor& x, const at::Tensor& temb) const {
    auto h = m_conv1->forward(activate(m_norm1->forward(x), m_options.activation));
    at::Tensor t;
    if (m_timeEmbProj) {
        TORCH_CHECK(temb.defined(), "ResnetBlock2D: this block needs a time embedding");
        t = m_options.skipTimeActivation ? temb : activate(temb, m_options.activation);
        t = m_timeEmbProj->forward(t).unsqueeze(-1).unsqueeze(-1);
    }
    if (t.defined() && !m_options.scaleShift)
        h = h + t;
    h = m_norm2->forward(h);
    if (t.defined() && m_options.scaleShift) {
        auto parts = t.chunk(2, 1);
        h = h * (1 + parts[0]) + parts[1];
    }
    h = m_conv2->forward(activate(h, m_options.activation));
    auto shortcut = m_convShortcut ? m_convShortcut->forward(x) : x;
    auto out = shortcut + h;
    if (m_options.outputScaleFactor != 1.0)
        out = out / m_options.outputScaleFactor;
    return out;
}

Downsample2DImpl::Downsample2DImpl(int64_t channels, int64_t outChannels, int64_t padding,
                                   const at::TensorOptions& tensorOptions)
    : m_padding(padding) {
    m_conv = register_module("conv", Conv2d(channels, outChannels, 3, 2, padding, true, tensorOptions));
}

at::Tensor Downsample2DImpl::forward(const at::Tensor& x) const {
    if (m_padding == 0)
        return m_conv->forward(at::constant_pad_nd(x, {0, 1, 0, 1}, 0));
    return m_conv->forward(x);
}

Upsample2DImpl::Upsample2DImpl(int64_t channels, int64_t outChannels,
                               const at::TensorOptions& tensorOptions) {
    m_conv = register_module("conv", Conv2d(channels, outChannels, 3, 1, 1, true, tensorOptions));
}

at::Tensor Upsample2DImpl::forward(const at::Tensor& x, at::IntArrayRef outputSize) const {
    std::array<int64_t, 2> size{x.size(2) * 2, x.size(3) * 2};
    if (outputSize.size() == 2)
        size = {outputSize[0], outputSize[1]};
        // Nearest neighbour: with size == 2x the source index is floor(dst / 2) whether torch is
        // given the scale factor or the size, so one call covers both of diffusers' cases.
#if TORCH_VERSION_MAJOR < 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR < 1)
    // Older kernels lack bfloat16 nearest upsampling (diffusers casts too; values are unchanged).
    if (x.scalar_type() == at::kBFloat16)
        return m_conv->forward(
            at::upsample_nearest2d(x.to(at::kFloat).contiguous(), size, c10::nullopt, c10::nullopt)
                .to(at::kBFloat16));
#endif
    return m_conv->forward(at::upsample_nearest2d(x.contiguous(), size, c10::nullopt, c10::nullopt));
}

} // namespace tp::nn
