#include "core/nn/Attention.h"

#include <torch/version.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

namespace tp::nn {

namespace {

std::atomic<AttentionBackend> g_backend{AttentionBackend::Auto};

// The manual path materialises the score matrix; chunking the query rows keeps it near this
// size (rows are independent, so the result is exactly the same).
std::atomic<int64_t> g_manualChunkBytes{int64_t(256) << 20};

double lowest(at::ScalarType dtype) {
    switch (dtype) {
    case at::kHalf:
        return -65504.0;
    case at::kBFloat16:
        return -3.3895313892515355e38;
    case at::kDouble:
        return std::numeric_limits<double>::lowest();
    default:
        return std::numeric_limits<float>::lowest();
    }
}

// Adds the causal mask to `mask` (or makes it) in `dtype`. Masked scores get the dtype's
// lowest finite value rather than -inf, like transformers, so that a row whose keys are all
// masked gives a uniform softmax instead of NaN.
at::Tensor withCausalMask(const at::Tensor& mask, int64_t lq, int64_t lk, const at::TensorOptions& options) {
    const auto dtype = options.dtype().toScalarType();
    // Query i sees keys 0..i + (lk - lq), like torch's is_causal when lq == lk.
    auto keep = at::ones({lq, lk}, options.dtype(at::kBool)).tril(lk - lq);
    auto causal = at::zeros({lq, lk}, options).masked_fill(keep.logical_not(), lowest(dtype));
    if (!mask.defined())
        return causal;
    return (mask.to(dtype) + causal).clamp_min(lowest(dtype));
}

at::Tensor manualAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const at::Tensor& mask, const AttentionOptions& options) {
    const auto outDtype = q.scalar_type();
    const bool toFloat = options.upcast && (outDtype == at::kHalf || outDtype == at::kBFloat16);
    const double scale = options.scale.value_or(1.0 / std::sqrt(double(q.size(-1))));
    const auto qc = toFloat ? q.to(at::kFloat) : q;
    const auto kt = (toFloat ? k.to(at::kFloat) : k).transpose(-2, -1);
    const auto computeType = qc.scalar_type();
    const int64_t lq = q.size(-2);
    const int64_t lk = k.size(-2);
    at::Tensor m;
    if (options.causal)
        m = withCausalMask(mask, lq, lk, qc.options());
    else if (mask.defined())
        m = mask.to(computeType);

    const int64_t batchHeads = q.numel() / std::max<int64_t>(1, q.size(-1) * lq);
    const int64_t rowBytes = batchHeads * lk * int64_t(at::elementSize(computeType));
    const int64_t chunk =
        std::clamp<int64_t>(g_manualChunkBytes.load() / std::max<int64_t>(1, rowBytes), 1, lq);

    auto run = [&](int64_t begin, int64_t end) {
        const bool all = begin == 0 && end == lq;
        auto rows = all ? qc : qc.narrow(-2, begin, end - begin);
        auto scores = at::matmul(scale == 1.0 ? rows : rows * scale, kt);
        if (m.defined())
            scores = scores + ((m.size(-2) == 1 || all) ? m : m.narrow(-2, begin, end - begin));
        auto probs = at::softmax(scores, -1).to(v.scalar_type());
        return at::matmul(probs, v);
    };
    if (chunk >= lq)
        return run(0, lq).to(outDtype);
    std::vector<at::Tensor> parts;
    for (int64_t begin = 0; begin < lq; begin += chunk)
        parts.push_back(run(begin, std::min(lq, begin + chunk)));
    return at::cat(parts, -2).to(outDtype);
}

} // namespace

void setAttentionBackend(AttentionBackend backend) {
    g_backend.store(backend);
}

AttentionBackend attentionBackend() {
    return g_backend.load();
}

void setManualAttentionChunkBytes(int64_t bytes) {
    g_manualChunkBytes.store(std::max<int64_t>(bytes, 1));
}

// cuDNN's attention got its switch in libtorch 2.3 (torch.backends.cuda.enable_cudnn_sdp).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define TP_CUDNN_SDP 1
#else
#define TP_CUDNN_SDP 0
#endif

std::string setFusedAttentionKernel(FusedAttentionKernel kernel) {
#if TORCH_VERSION_MAJOR >= 2
    if (kernel == FusedAttentionKernel::CuDnn && !TP_CUDNN_SDP)
        return "this libtorch has no switch for cuDNN's attention (2.3 or newer)";
    struct Switches {
        bool flash, efficient, math, cudnn;
    };
    at::Context& c = at::globalContext();
#if TP_CUDNN_SDP
    const bool cudnnNow = c.userEnabledCuDNNSDP();
#else
    const bool cudnnNow = false;
#endif
    // libtorch's own settings, read before the first change.
    static const Switches defaults{c.userEnabledFlashSDP(), c.userEnabledMemEfficientSDP(),
                                   c.userEnabledMathSDP(), cudnnNow};
    using K = FusedAttentionKernel;
    const Switches s = kernel == K::Default ? defaults
                                            : Switches{kernel == K::Flash, kernel == K::MemoryEfficient,
                                                       kernel == K::Math, kernel == K::CuDnn};
    c.setSDPUseFlash(s.flash);
    c.setSDPUseMemEfficient(s.efficient);
    c.setSDPUseMath(s.math);
#if TP_CUDNN_SDP
    c.setSDPUseCuDNN(s.cudnn);
#endif
    return {};
#else
    if (kernel == FusedAttentionKernel::Default)
        return {};
    return "libtorch " TORCH_VERSION " has no fused attention (2.0 or newer)";
#endif
}

std::optional<FusedAttentionKernel> parseFusedAttentionKernel(const std::string& name) {
    for (const auto k :
         {FusedAttentionKernel::Default, FusedAttentionKernel::Flash, FusedAttentionKernel::MemoryEfficient,
          FusedAttentionKernel::CuDnn, FusedAttentionKernel::Math})
        if (name == fusedAttentionKernelName(k))
            return k;
    return std::nullopt;
}

const char* fusedAttentionKernelName(FusedAttentionKernel kernel) {
    switch (kernel) {
    case FusedAttentionKernel::Flash:
        return "flash";
    case FusedAttentionKernel::MemoryEfficient:
        return "efficient";
    case FusedAttentionKernel::CuDnn:
        return "cudnn";
    case FusedAttentionKernel::Math:
        return "math";
    case FusedAttentionKernel::Default:
        break;
    }
    return "default";
}

bool fusedAttentionAvailable() {
#if TORCH_VERSION_MAJOR >= 2
    return true;
#else
    return false;
#endif
}

at::Tensor scaledDotProductAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                     const at::Tensor& additiveMask, const AttentionOptions& options) {
    TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "attention expects [B, H, L, D] tensors");
    at::Tensor mask = additiveMask;
    if (mask.defined() && mask.dim() < 2)
        TORCH_CHECK(false, "attention mask must have at least 2 dimensions [.., Lq, Lk]");
    if (mask.defined() && mask.size(-2) != 1 && mask.size(-2) != q.size(-2))
        TORCH_CHECK(false, "attention mask has ", mask.size(-2), " query rows, expected ", q.size(-2));

#if TORCH_VERSION_MAJOR >= 2
        // The fused kernel takes a custom scale from libtorch 2.1 on; 2.0 computes one in the manual path.
#if TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 1
    const bool fusedScale = true;
#else
    const bool fusedScale = !options.scale.has_value();
#endif
    if (g_backend.load() == AttentionBackend::Auto && fusedScale) {
        auto fused = [&](const c10::optional<at::Tensor>& m, bool causal) {
#if TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 1
            const auto scale =
                options.scale ? c10::optional<double>(*options.scale) : c10::optional<double>();
            return at::scaled_dot_product_attention(q, k, v, m, 0.0, causal, scale);
#else
            return at::scaled_dot_product_attention(q, k, v, m, 0.0, causal);
#endif
        };
        if (!mask.defined())
            return fused(c10::nullopt, options.causal);
        if (options.causal)
            mask = withCausalMask(mask, q.size(-2), k.size(-2), q.options());
        return fused(mask.to(q.scalar_type()), false);
    }
#endif
    return manualAttention(q, k, v, mask, options);
}

at::Tensor splitHeads(const at::Tensor& x, int64_t heads) {
    const auto b = x.size(0);
    const auto l = x.size(1);
    return x.view({b, l, heads, x.size(2) / heads}).transpose(1, 2);
}

at::Tensor mergeHeads(const at::Tensor& x) {
    const auto b = x.size(0);
    const auto l = x.size(2);
    return x.transpose(1, 2).reshape({b, l, x.size(1) * x.size(3)});
}

} // namespace tp::nn
