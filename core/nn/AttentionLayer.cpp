#include "core/nn/AttentionLayer.h"

namespace tp::nn {

AttentionLayerImpl::AttentionLayerImpl(const AttentionLayerOptions& options,
                                       const at::TensorOptions& tensorOptions)
    : m_options(options) {
    TORCH_CHECK(options.queryDim > 0 && options.heads > 0 && options.headDim > 0,
                "attention needs positive dimensions");
    const int64_t inner = options.heads * options.headDim;
    const int64_t kvDim = options.crossAttentionDim > 0 ? options.crossAttentionDim : options.queryDim;
    if (options.normGroups > 0)
        m_groupNorm = register_module(
            "group_norm", GroupNorm(options.normGroups, options.queryDim, options.normEps, tensorOptions));
    m_toQ = register_module("to_q", Linear(options.queryDim, inner, options.qkvBias, tensorOptions));
    m_toK = register_module("to_k", Linear(kvDim, inner, options.qkvBias, tensorOptions));
    m_toV = register_module("to_v", Linear(kvDim, inner, options.qkvBias, tensorOptions));
    // diffusers: to_out = ModuleList([Linear, Dropout]); the dropout has no weights.
    auto toOut = register_module("to_out", torch::nn::ModuleList());
    m_toOut = Linear(inner, options.queryDim, options.outBias, tensorOptions);
    toOut->push_back(m_toOut);
}

at::Tensor AttentionLayerImpl::forward(const at::Tensor& hidden, const at::Tensor& context) const {
    const bool spatial = hidden.dim() == 4;
    at::Tensor x = hidden;
    if (m_groupNorm)
        x = m_groupNorm->forward(x); // GroupNorm over [B, C, H, W] == over [B, C, H*W]
    int64_t b = 0, c = 0, h = 0, w = 0;
    if (spatial) {
        b = x.size(0);
        c = x.size(1);
        h = x.size(2);
        w = x.size(3);
        x = x.view({b, c, h * w}).transpose(1, 2);
    }
    const auto& kv = context.defined() ? context : x;
    auto q = splitHeads(m_toQ->forward(x), m_options.heads);
    auto k = splitHeads(m_toK->forward(kv), m_options.heads);
    auto v = splitHeads(m_toV->forward(kv), m_options.heads);
    AttentionOptions attention;
    attention.upcast = m_options.upcast;
    auto out = m_toOut->forward(mergeHeads(scaledDotProductAttention(q, k, v, {}, attention)));
    if (spatial)
        out = out.transpose(1, 2).reshape({b, c, h, w});
    if (m_options.residual)
        out = out + hidden;
    if (m_options.rescaleOutputFactor != 1.0)
        out = out / m_options.rescaleOutputFactor;
    return out;
}

} // namespace tp::nn
