#include "core/nn/Transformer2D.h"

namespace tp::nn {

namespace {
// diffusers' BasicTransformerBlock normalisations: LayerNorm(eps 1e-5, affine).
constexpr double kLayerNormEps = 1e-5;
// Transformer2DModel's GroupNorm uses eps 1e-6 whatever the UNet's norm_eps.
constexpr double kGroupNormEps = 1e-6;
} // namespace

GegluFeedForwardImpl::GegluFeedForwardImpl(int64_t dim, int64_t innerDim,
                                           const at::TensorOptions& tensorOptions) {
    // diffusers: net = ModuleList([GEGLU(proj), Dropout, Linear]); keys net.0.proj, net.2.
    auto net = register_module("net", torch::nn::ModuleList());
    auto geglu = std::make_shared<torch::nn::Module>();
    m_proj = geglu->register_module("proj", Linear(dim, innerDim * 2, true, tensorOptions));
    net->push_back(geglu);
    net->push_back(torch::nn::Identity()); // the dropout's slot
    m_out = Linear(innerDim, dim, true, tensorOptions);
    net->push_back(m_out);
}

at::Tensor GegluFeedForwardImpl::forward(const at::Tensor& x) const {
    auto parts = m_proj->forward(x).chunk(2, -1);
    return m_out->forward(parts[0] * at::gelu(parts[1]));
}

BasicTransformerBlockImpl::BasicTransformerBlockImpl(const Transformer2DOptions& o,
                                                     const at::TensorOptions& tensorOptions)
    : m_onlyCrossAttention(o.onlyCrossAttention) {
    const int64_t dim = o.heads * o.headDim;
    AttentionLayerOptions self;
    self.queryDim = dim;
    self.crossAttentionDim = o.onlyCrossAttention ? o.crossAttentionDim : 0;
    self.heads = o.heads;
    self.headDim = o.headDim;
    self.upcast = o.upcastAttention;
    AttentionLayerOptions cross = self;
    cross.crossAttentionDim = o.crossAttentionDim;

    m_norm1 = register_module("norm1", LayerNorm(dim, kLayerNormEps, tensorOptions));
    m_attn1 = register_module("attn1", AttentionLayer(self, tensorOptions));
    m_norm2 = register_module("norm2", LayerNorm(dim, kLayerNormEps, tensorOptions));
    m_attn2 = register_module("attn2", AttentionLayer(cross, tensorOptions));
    m_norm3 = register_module("norm3", LayerNorm(dim, kLayerNormEps, tensorOptions));
    m_ff = register_module("ff", GegluFeedForward(dim, dim * 4, tensorOptions));
}

at::Tensor BasicTransformerBlockImpl::forward(const at::Tensor& x, const at::Tensor& context) const {
    auto h = x + m_attn1->forward(m_norm1->forward(x), m_onlyCrossAttention ? context : at::Tensor());
    h = h + m_attn2->forward(m_norm2->forward(h), context);
    return h + m_ff->forward(m_norm3->forward(h));
}

Transformer2DImpl::Transformer2DImpl(const Transformer2DOptions& o, const at::TensorOptions& tensorOptions)
    : m_linear(o.useLinearProjection) {
    TORCH_CHECK(o.crossAttentionDim > 0, "Transformer2D: cross_attention_dim is required");
    const int64_t inner = o.heads * o.headDim;
    m_norm = register_module("norm", GroupNorm(o.normGroups, o.channels, kGroupNormEps, tensorOptions));
    if (m_linear)
        m_projInLinear = register_module("proj_in", Linear(o.channels, inner, true, tensorOptions));
    else
        m_projInConv = register_module("proj_in", Conv2d(o.channels, inner, 1, 1, 0, true, tensorOptions));
    auto blocks = register_module("transformer_blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < o.layers; ++i) {
        m_blocks.push_back(BasicTransformerBlock(o, tensorOptions));
        blocks->push_back(m_blocks.back());
    }
    if (m_linear)
        m_projOutLinear = register_module("proj_out", Linear(inner, o.channels, true, tensorOptions));
    else
        m_projOutConv = register_module("proj_out", Conv2d(inner, o.channels, 1, 1, 0, true, tensorOptions));
}

at::Tensor Transformer2DImpl::forward(const at::Tensor& x, const at::Tensor& context) const {
    const auto b = x.size(0);
    const auto h = x.size(2);
    const auto w = x.size(3);
    auto t = m_norm->forward(x);
    if (m_linear) {
        t = m_projInLinear->forward(t.permute({0, 2, 3, 1}).reshape({b, h * w, t.size(1)}));
    } else {
        t = m_projInConv->forward(t);
        t = t.permute({0, 2, 3, 1}).reshape({b, h * w, t.size(1)});
    }
    for (const auto& block : m_blocks)
        t = block->forward(t, context);
    // Back to [B, C, H, W] in x's layout: a copy into NCHW, or none for channels-last activations.
    const at::MemoryFormat layout = x.suggest_memory_format();
    if (m_linear) {
        t = m_projOutLinear->forward(t);
        t = t.reshape({b, h, w, t.size(2)}).permute({0, 3, 1, 2}).contiguous(layout);
    } else {
        t = t.reshape({b, h, w, t.size(2)}).permute({0, 3, 1, 2}).contiguous(layout);
        t = m_projOutConv->forward(t);
    }
    return t + x;
}

} // namespace tp::nn
