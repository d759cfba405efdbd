#pragma once

#include <ATen/ATen.h>

#include <optional>
#include <string>

namespace tp::nn {

struct AttentionOptions {
    // Mask out keys after the query's position (CLIP's text transformer).
    bool causal = false;
    // Compute the scores and the softmax in float32 (diffusers' upcast_attention /
    // upcast_softmax). The fused kernel of libtorch >= 2 accumulates in float32 anyway.
    bool upcast = false;
    // The factor of q k^T; unset means 1/sqrt(headDim). T5 uses 1 (its weights absorb the
    // scaling). libtorch >= 2.1 passes it to the fused kernel.
    std::optional<double> scale;
};

enum class AttentionBackend {
    Auto,   // at::scaled_dot_product_attention where libtorch has it (>= 2.0), else Manual
    Manual, // softmax(Q K^T * scale + mask) V, query rows in chunks to bound memory
};

// softmax(q k^T * scale + mask) v for q [B, H, Lq, D], k and v [B, H, Lk, D]; scale is
// options.scale or 1/sqrt(headDim).
// `additiveMask`, when defined, is broadcastable to [B, H, Lq, Lk] and added to the scores
// (0 keeps a key, a large negative value drops it). Returns [B, H, Lq, D] in q's dtype.
at::Tensor scaledDotProductAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                     const at::Tensor& additiveMask = {},
                                     const AttentionOptions& options = {});

// Process-wide choice, for tests and for comparing the two paths on a GPU.
void setAttentionBackend(AttentionBackend backend);
AttentionBackend attentionBackend();
// Which of libtorch's kernels at::scaled_dot_product_attention may pick (libtorch >= 2; the Auto
// backend): Default restores libtorch's own choice; the others allow that kernel alone, so that it
// can be measured (issue 17), and a call it cannot serve fails with libtorch's "no available kernel".
enum class FusedAttentionKernel { Default, Flash, MemoryEfficient, CuDnn, Math };
// "" when set, else why not (libtorch < 2, or a kernel this libtorch has no switch for).
std::string setFusedAttentionKernel(FusedAttentionKernel kernel);
// "default", "flash", "efficient", "cudnn", "math"
std::optional<FusedAttentionKernel> parseFusedAttentionKernel(const std::string& name);
const char* fusedAttentionKernelName(FusedAttentionKernel kernel);

// Upper bound for the manual path's score matrix per chunk of query rows (default 256 MiB):
// lower it on a machine short of memory. Results do not depend on it.
void setManualAttentionChunkBytes(int64_t bytes);
// True when this libtorch has at::scaled_dot_product_attention.
bool fusedAttentionAvailable();

// [B, L, H*D] -> [B, H, L, D] and back.
at::Tensor splitHeads(const at::Tensor& x, int64_t heads);
at::Tensor mergeHeads(const at::Tensor& x);

} // namespace tp::nn
