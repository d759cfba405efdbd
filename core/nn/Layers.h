#pragma once

#include <QString>

#include "core/common/Result.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace tp::nn {

// Checkpoint-shaped layers whose tensors are allocated but not initialised. The weights
// always come from a file, so libtorch's own layers would waste their random
// initialisation (seconds for a UNet, and always float32 on the CPU before a move).
// Each registers exactly the parameters the checkpoints name ("weight", "bias"), with
// requires_grad off: this is an inference engine.

class Conv2dImpl final : public torch::nn::Module {
public:
    Conv2dImpl(int64_t inChannels, int64_t outChannels, int64_t kernel, int64_t stride, int64_t padding,
               bool bias, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& x) const;

    int64_t inChannels() const { return m_weight.size(1); }
    int64_t outChannels() const { return m_weight.size(0); }

private:
    at::Tensor m_weight;
    at::Tensor m_bias;
    int64_t m_stride;
    int64_t m_padding;
};
TORCH_MODULE(Conv2d);

class LinearImpl final : public torch::nn::Module {
public:
    LinearImpl(int64_t inFeatures, int64_t outFeatures, bool bias, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& x) const;

    int64_t inFeatures() const { return m_weight.size(1); }
    int64_t outFeatures() const { return m_weight.size(0); }

    // Opt-in fp8 matrix multiplication (enableFp8MatMul): with an e4m3fn weight on a CUDA device, the
    // input is scaled per tensor into e4m3fn and multiplied by the weight with `_scaled_mm` (fp8 tensor
    // cores, sm89+), output in the input's dtype. Returns whether this layer can: an e4m3fn weight whose
    // both sides are multiples of 16, and a libtorch with the 2.4+ `_scaled_mm`.
    bool setFp8MatMul(bool on);

private:
    at::Tensor m_weight;
    at::Tensor m_bias;
    bool m_fp8MatMul = false;
    mutable at::Tensor m_unitScale; // the weight's scale (1: weights are rounded, not scaled), on x's device
};
TORCH_MODULE(Linear);

// Turns the fp8 matrix multiplication on for every Linear under `root` that can use it
// (LinearImpl::setFp8MatMul); returns how many. The device's support (compute capability 8.9+) is the
// caller's check (pipeline::resolveDevice).
int enableFp8MatMul(torch::nn::Module& root);
// Whether this libtorch has the `_scaled_mm` the fp8 matrix multiplication uses (2.4 and newer).
bool fp8MatMulBuilt();

class GroupNormImpl final : public torch::nn::Module {
public:
    GroupNormImpl(int64_t groups, int64_t channels, double eps, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& x) const;

private:
    at::Tensor m_weight;
    at::Tensor m_bias;
    int64_t m_groups;
    double m_eps;
};
TORCH_MODULE(GroupNorm);

class LayerNormImpl final : public torch::nn::Module {
public:
    LayerNormImpl(int64_t dim, double eps, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& x) const;

private:
    at::Tensor m_weight;
    at::Tensor m_bias;
    int64_t m_dim;
    double m_eps;
};
TORCH_MODULE(LayerNorm);

class EmbeddingImpl final : public torch::nn::Module {
public:
    EmbeddingImpl(int64_t count, int64_t dim, const at::TensorOptions& options);
    at::Tensor forward(const at::Tensor& ids) const;
    int64_t count() const { return m_weight.size(0); }

private:
    at::Tensor m_weight;
};
TORCH_MODULE(Embedding);

// The activations the supported configs name (diffusers `act_fn`, transformers `hidden_act`).
enum class Activation { Silu, Gelu, GeluTanh, QuickGelu, Relu, Mish };

// "silu"/"swish", "gelu", "gelu_pytorch_tanh"/"gelu_new", "quick_gelu", "relu", "mish".
Result<Activation> parseActivation(const QString& name);
at::Tensor activate(const at::Tensor& x, Activation activation);

} // namespace tp::nn
