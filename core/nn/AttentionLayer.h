#pragma once

#include "core/nn/Attention.h"
#include "core/nn/Layers.h"

#include <torch/nn/modules/container/modulelist.h>

namespace tp::nn {

// diffusers' `Attention` module: to_q, to_k, to_v, to_out.0, and for the VAE's mid block
// an optional group_norm over the channels of a [B, C, H, W] input plus a residual.
struct AttentionLayerOptions {
    int64_t queryDim = 0;
    int64_t crossAttentionDim = 0; // 0: self-attention (keys/values from the query's input)
    int64_t heads = 1;
    int64_t headDim = 0;
    bool qkvBias = false;   // to_q/to_k/to_v bias
    bool outBias = true;    // to_out.0 bias
    int64_t normGroups = 0; // > 0: group_norm (VAE mid block)
    double normEps = 1e-5;
    bool residual = false; // add the input to the output (VAE mid block)
    double rescaleOutputFactor = 1.0;
    bool upcast = false; // upcast_attention / upcast_softmax
};

class AttentionLayerImpl final : public torch::nn::Module {
public:
    AttentionLayerImpl(const AttentionLayerOptions& options, const at::TensorOptions& tensorOptions);

    // hidden: [B, L, queryDim] or [B, C, H, W]; context: [B, Lk, crossAttentionDim] or
    // undefined for self-attention.
    at::Tensor forward(const at::Tensor& hidden, const at::Tensor& context = {}) const;

private:
    AttentionLayerOptions m_options;
    GroupNorm m_groupNorm{nullptr};
    Linear m_toQ{nullptr};
    Linear m_toK{nullptr};
    Linear m_toV{nullptr};
    Linear m_toOut{nullptr};
};
TORCH_MODULE(AttentionLayer);

} // namespace tp::nn
