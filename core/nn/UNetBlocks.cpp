#include "core/nn/UNetBlocks.h"

namespace tp::nn {

ResnetBlock2DOptions ResnetGroupOptions::resnet(int64_t in, int64_t out) const {
    ResnetBlock2DOptions o;
    o.inChannels = in;
    o.outChannels = out;
    o.tembChannels = tembChannels;
    o.groups = groups;
    o.eps = eps;
    o.activation = activation;
    o.outputScaleFactor = outputScaleFactor;
    o.scaleShift = scaleShift;
    o.skipTimeActivation = skipTimeActivation;
    return o;
}

Transformer2DOptions CrossAttentionBlockOptions::transformer(int64_t channels, int64_t groups) const {
    Transformer2DOptions o;
    o.channels = channels;
    o.heads = heads;
    o.headDim = channels / heads;
    o.layers = layers;
    o.crossAttentionDim = crossAttentionDim;
    o.normGroups = groups;
    o.useLinearProjection = useLinearProjection;
    o.onlyCrossAttention = onlyCrossAttention;
    o.upcastAttention = upcastAttention;
    return o;
}

DownBlock2DImpl::DownBlock2DImpl(const DownBlockOptions& o, const at::TensorOptions& tensorOptions) {
    auto resnets = register_module("resnets", torch::nn::ModuleList());
    torch::nn::ModuleList attentions{nullptr};
    if (o.attention.enabled)
        attentions = register_module("attentions", torch::nn::ModuleList());
    for (int64_t i = 0; i < o.layers; ++i) {
        m_resnets.push_back(ResnetBlock2D(
            o.resnet.resnet(i == 0 ? o.inChannels : o.outChannels, o.outChannels), tensorOptions));
        resnets->push_back(m_resnets.back());
        if (o.attention.enabled) {
            m_attentions.push_back(
                Transformer2D(o.attention.transformer(o.outChannels, o.resnet.groups), tensorOptions));
            attentions->push_back(m_attentions.back());
        }
    }
    if (o.addDownsample) {
        auto downsamplers = register_module("downsamplers", torch::nn::ModuleList());
        m_downsampler = Downsample2D(o.outChannels, o.outChannels, o.downsamplePadding, tensorOptions);
        downsamplers->push_back(m_downsampler);
    }
}

at::Tensor DownBlock2DImpl::forward(const at::Tensor& x, const at::Tensor& temb, const at::Tensor& context,
                                    std::vector<at::Tensor>* skips) const {
    auto h = x;
    for (size_t i = 0; i < m_resnets.size(); ++i) {
        h = m_resnets[i]->forward(h, temb);
        if (!m_attentions.empty())
            h = m_attentions[i]->forward(h, context);
        if (skips)
            skips->push_back(h);
    }
    if (m_downsampler) {
        h = m_downsampler->forward(h);
        if (skips)
            skips->push_back(h);
    }
    return h;
}

UpBlock2DImpl::UpBlock2DImpl(const UpBlockOptions& o, const at::TensorOptions& tensorOptions)
    : m_skipConnections(o.skipConnections) {
    auto resnets = register_module("resnets", torch::nn::ModuleList());
    torch::nn::ModuleList attentions{nullptr};
    if (o.attention.enabled)
        attentions = register_module("attentions", torch::nn::ModuleList());
    for (int64_t i = 0; i < o.layers; ++i) {
        int64_t in = 0;
        if (o.skipConnections) {
            const int64_t skip = (i == o.layers - 1) ? o.inChannels : o.outChannels;
            in = (i == 0 ? o.prevOutputChannels : o.outChannels) + skip;
        } else {
            in = i == 0 ? o.inChannels : o.outChannels;
        }
        m_resnets.push_back(ResnetBlock2D(o.resnet.resnet(in, o.outChannels), tensorOptions));
        resnets->push_back(m_resnets.back());
        if (o.attention.enabled) {
            m_attentions.push_back(
                Transformer2D(o.attention.transformer(o.outChannels, o.resnet.groups), tensorOptions));
            attentions->push_back(m_attentions.back());
        }
    }
    if (o.addUpsample) {
        auto upsamplers = register_module("upsamplers", torch::nn::ModuleList());
        m_upsampler = Upsample2D(o.outChannels, o.outChannels, tensorOptions);
        upsamplers->push_back(m_upsampler);
    }
}

at::Tensor UpBlock2DImpl::forward(const at::Tensor& x, const at::Tensor& temb, const at::Tensor& context,
                                  std::vector<at::Tensor>* skips, at::IntArrayRef upsampleSize) const {
    auto h = x;
    for (size_t i = 0; i < m_resnets.size(); ++i) {
        if (m_skipConnections) {
            TORCH_CHECK(skips && !skips->empty(), "UpBlock2D: ran out of skip connections");
            h = at::cat({h, skips->back()}, 1);
            skips->pop_back();
        }
        h = m_resnets[i]->forward(h, temb);
        if (!m_attentions.empty())
            h = m_attentions[i]->forward(h, context);
    }
    if (m_upsampler)
        h = m_upsampler->forward(h, upsampleSize);
    return h;
}

MidBlock2DCrossAttnImpl::MidBlock2DCrossAttnImpl(int64_t channels, int64_t layers,
                                                 const ResnetGroupOptions& resnet,
                                                 const CrossAttentionBlockOptions& attention,
                                                 const at::TensorOptions& tensorOptions) {
    auto resnets = register_module("resnets", torch::nn::ModuleList());
    auto attentions = register_module("attentions", torch::nn::ModuleList());
    m_resnets.push_back(ResnetBlock2D(resnet.resnet(channels, channels), tensorOptions));
    resnets->push_back(m_resnets.back());
    for (int64_t i = 0; i < layers; ++i) {
        m_attentions.push_back(Transformer2D(attention.transformer(channels, resnet.groups), tensorOptions));
        attentions->push_back(m_attentions.back());
        m_resnets.push_back(ResnetBlock2D(resnet.resnet(channels, channels), tensorOptions));
        resnets->push_back(m_resnets.back());
    }
}

at::Tensor MidBlock2DCrossAttnImpl::forward(const at::Tensor& x, const at::Tensor& temb,
                                            const at::Tensor& context) const {
    auto h = m_resnets[0]->forward(x, temb);
    for (size_t i = 0; i < m_attentions.size(); ++i) {
        h = m_attentions[i]->forward(h, context);
        h = m_resnets[i + 1]->forward(h, temb);
    }
    return h;
}

MidBlock2DImpl::MidBlock2DImpl(int64_t channels, bool addAttention, const ResnetGroupOptions& resnet,
                               const at::TensorOptions& tensorOptions) {
    auto resnets = register_module("resnets", torch::nn::ModuleList());
    for (int i = 0; i < 2; ++i) {
        m_resnets.push_back(ResnetBlock2D(resnet.resnet(channels, channels), tensorOptions));
        resnets->push_back(m_resnets.back());
    }
    if (addAttention) {
        // diffusers: heads = channels / attention_head_dim with attention_head_dim = channels.
        AttentionLayerOptions a;
        a.queryDim = channels;
        a.heads = 1;
        a.headDim = channels;
        a.qkvBias = true;
        a.outBias = true;
        a.normGroups = resnet.groups;
        a.normEps = resnet.eps;
        a.residual = true;
        a.rescaleOutputFactor = resnet.outputScaleFactor;
        a.upcast = true; // upcast_softmax
        auto attentions = register_module("attentions", torch::nn::ModuleList());
        m_attention = AttentionLayer(a, tensorOptions);
        attentions->push_back(m_attention);
    }
}

at::Tensor MidBlock2DImpl::forward(const at::Tensor& x, const at::Tensor& temb) const {
    auto h = m_resnets[0]->forward(x, temb);
    if (m_attention)
        h = m_attention->forward(h);
    return m_resnets[1]->forward(h, temb);
}

} // namespace tp::nn
