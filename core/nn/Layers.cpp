#include "core/nn/Layers.h"

#include "core/io/Fp8.h"

#include <c10/core/InferenceMode.h>
#include <torch/version.h>

#include <algorithm>
#include <optional>
#include <vector>

// `at::_scaled_mm(a, b, scale_a, scale_b, bias, scale_result, out_dtype, use_fast_accum) -> Tensor`
// has this form from libtorch 2.4 (2.1–2.3 returned a pair and took other arguments).
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define TP_HAS_SCALED_MM 1
#else
#define TP_HAS_SCALED_MM 0
#endif

namespace tp::nn {

namespace {
// Normal tensors even when built under InferenceMode, so that loading can replace them.
at::Tensor uninitialised(at::IntArrayRef shape, const at::TensorOptions& options) {
    c10::InferenceMode normal(false);
    return at::empty(shape, options.requires_grad(false));
}

// A weight kept in fp8 (core/io/Fp8.h, WeightLoader's Fp8Weights) is upcast to the input's dtype
// for this call only: one byte per weight stays on the device between calls.
at::Tensor computeWith(const at::Tensor& w, const at::Tensor& x) {
    return w.defined() && io::isFp8(w.scalar_type()) ? w.to(x.scalar_type()) : w;
}
} // namespace

Conv2dImpl::Conv2dImpl(int64_t inChannels, int64_t outChannels, int64_t kernel, int64_t stride,
                       int64_t padding, bool bias, const at::TensorOptions& options)
    : m_stride(stride)
    , m_padding(padding) {
    m_weight = register_parameter("weight", uninitialised({outChannels, inChannels, kernel, kernel}, options),
                                  /*requires_grad=*/false);
    if (bias)
        m_bias = register_parameter("bias", uninitialised({outChannels}, options), false);
}

at::Tensor Conv2dImpl::forward(const at::Tensor& x) const {
    return at::conv2d(x, computeWith(m_weight, x), computeWith(m_bias, x), {m_stride, m_stride},
                      {m_padding, m_padding});
}

LinearImpl::LinearImpl(int64_t inFeatures, int64_t outFeatures, bool bias, const at::TensorOptions& options) {
    m_weight = register_parameter("weight", uninitialised({outFeatures, inFeatures}, options), false);
    if (bias)
        m_bias = register_parameter("bias", uninitialised({outFeatures}, options), false);
}

at::Tensor LinearImpl::forward(const at::Tensor& x) const {
#if TP_HAS_SCALED_MM
    // fp8 x fp8 on the tensor cores. The input is quantised per tensor: scale = amax / 448 (e4m3fn's
    // largest value), so that its largest element maps to the format's largest; the weight was rounded
    // without a scale. cuBLASLt wants the first operand row-major, the second column-major (the
    // [out, in] weight transposed is), K and N multiples of 16 (checked when enabled) and M too.
    const int64_t rows = x.numel() / std::max<int64_t>(x.size(-1), 1);
    if (m_fp8MatMul && x.is_cuda() && m_weight.is_cuda() && rows % 16 == 0 &&
        (x.scalar_type() == at::kBFloat16 || x.scalar_type() == at::kHalf)) {
        const at::Tensor x2 = x.reshape({rows, x.size(-1)}).contiguous();
        const at::Tensor scale = (x2.abs().amax().to(at::kFloat) / 448.0).clamp_min(1e-12);
        const at::Tensor xq = (x2 / scale).to(at::kFloat8_e4m3fn);
        if (!m_unitScale.defined() || m_unitScale.device() != x.device())
            m_unitScale = at::ones({}, x.options().dtype(at::kFloat));
        const std::optional<at::Tensor> bias =
            m_bias.defined() ? std::optional<at::Tensor>(computeWith(m_bias, x)) : std::nullopt;
        at::Tensor y =
            at::_scaled_mm(xq, m_weight.t(), scale, m_unitScale, bias, std::nullopt, x.scalar_type());
        std::vector<int64_t> shape = x.sizes().vec();
        shape.back() = m_weight.size(0);
        return y.view(shape);
    }
#endif
    return at::linear(x, computeWith(m_weight, x), computeWith(m_bias, x));
}

bool LinearImpl::setFp8MatMul(bool on) {
#if TP_HAS_SCALED_MM
    const bool can = m_weight.scalar_type() == at::kFloat8_e4m3fn && m_weight.size(0) % 16 == 0 &&
                     m_weight.size(1) % 16 == 0 && m_weight.is_contiguous();
#else
    const bool can = false;
#endif
    m_fp8MatMul = on && can;
    return can;
}

int enableFp8MatMul(torch::nn::Module& root) {
    int count = 0;
    for (const std::shared_ptr<torch::nn::Module>& m : root.modules(/*include_self=*/true))
        if (auto* linear = dynamic_cast<LinearImpl*>(m.get()); linear && linear->setFp8MatMul(true))
            ++count;
    return count;
}

bool fp8MatMulBuilt() {
    return TP_HAS_SCALED_MM != 0;
}

GroupNormImpl::GroupNormImpl(int64_t groups, int64_t channels, double eps, const at::TensorOptions& options)
    : m_groups(groups)
    , m_eps(eps) {
    TORCH_CHECK(groups > 0 && channels % groups == 0, "GroupNorm: ", channels, " channels do not split into ",
                groups, " groups");
    m_weight = register_parameter("weight", uninitialised({channels}, options), false);
    m_bias = register_parameter("bias", uninitialised({channels}, options), false);
}

at::Tensor GroupNormImpl::forward(const at::Tensor& x) const {
    return at::group_norm(x, m_groups, m_weight, m_bias, m_eps);
}

LayerNormImpl::LayerNormImpl(int64_t dim, double eps, const at::TensorOptions& options)
    : m_dim(dim)
    , m_eps(eps) {
    m_weight = register_parameter("weight", uninitialised({dim}, options), false);
    m_bias = register_parameter("bias", uninitialised({dim}, options), false);
}

at::Tensor LayerNormImpl::forward(const at::Tensor& x) const {
    return at::layer_norm(x, {m_dim}, m_weight, m_bias, m_eps);
}

EmbeddingImpl::EmbeddingImpl(int64_t count, int64_t dim, const at::TensorOptions& options) {
    m_weight = register_parameter("weight", uninitialised({count, dim}, options), false);
}

at::Tensor EmbeddingImpl::forward(const at::Tensor& ids) const {
    return at::embedding(m_weight, ids);
}

Result<Activation> parseActivation(const QString& name) {
    const QString n = name.trimmed().toLower();
    if (n == QLatin1String("silu") || n == QLatin1String("swish"))
        return Result<Activation>::ok(Activation::Silu);
    if (n == QLatin1String("gelu"))
        return Result<Activation>::ok(Activation::Gelu);
    if (n == QLatin1String("gelu_pytorch_tanh") || n == QLatin1String("gelu_new"))
        return Result<Activation>::ok(Activation::GeluTanh);
    if (n == QLatin1String("quick_gelu"))
        return Result<Activation>::ok(Activation::QuickGelu);
    if (n == QLatin1String("relu"))
        return Result<Activation>::ok(Activation::Relu);
    if (n == QLatin1String("mish"))
        return Result<Activation>::ok(Activation::Mish);
    return Result<Activation>::fail(
        QStringLiteral("unsupported activation \"%1\" (supported: silu, swish, gelu, gelu_pytorch_tanh, "
                       "gelu_new, quick_gelu, relu, mish)")
            .arg(name));
}

at::Tensor activate(const at::Tensor& x, Activation activation) {
    switch (activation) {
    case Activation::Silu:
        return at::silu(x);
    case Activation::Gelu:
        return at::gelu(x);
    case Activation::GeluTanh:
        return at::gelu(x, "tanh");
    case Activation::QuickGelu:
        return x * at::sigmoid(x * 1.702);
    case Activation::Relu:
        return at::relu(x);
    case Activation::Mish:
        return at::mish(x);
    }
    TORCH_CHECK(false, "unknown activation");
}

} // namespace tp::nn
