#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <QString>

#include <string>
#include <vector>

// Training helpers for the engine's modules, which are built for inference (parameters
// allocated but not initialised, requires_grad off).
namespace tp::train {

// Initialises every parameter of `module` the way PyTorch/diffusers layers start (uniform
// +-1/sqrt(fan_in) for convolutions and linear layers, ones/zeros for norms, N(0, 0.02) for
// embeddings), zeroes the last layer of each residual branch (as in guided diffusion) when
// `zeroResidualOutputs`, and turns requires_grad on. Draws from `gen` in parameter order.
void initialiseForTraining(torch::nn::Module& module, at::Generator& gen, bool zeroResidualOutputs);

int64_t parameterCount(const torch::nn::Module& module);

// A set of parameters moved into one contiguous buffer, with their gradients in another: the
// parameters become views of the buffer (set_data) and their .grad views of the gradient
// buffer, so the optimizer, the EMA, clipping and zeroing each take a few kernels instead of
// a few per tensor. Two groups: matrices (weight decay) and vectors (no decay).
class FlatParameters final {
public:
    FlatParameters() = default;
    // `params` in a fixed order (named_parameters order); all on one device, float32.
    explicit FlatParameters(const std::vector<at::Tensor>& params);

    // [0] = tensors with >= 2 dims, [1] = the others. Each buffer's .grad is its gradient buffer.
    const std::vector<at::Tensor>& buffers() const { return m_data; }
    const std::vector<at::Tensor>& gradients() const { return m_grad; }
    int64_t numel() const;
    void zeroGrad();
    // L2 norm over all gradients (a 0-d tensor on the device).
    at::Tensor gradNorm() const;
    // Scales gradients so their norm is at most maxNorm; returns the norm before.
    at::Tensor clipGradNorm(double maxNorm);

private:
    std::vector<at::Tensor> m_data;
    std::vector<at::Tensor> m_grad;
};

// Exponential moving average of a FlatParameters set.
class FlatEma final {
public:
    FlatEma() = default;
    explicit FlatEma(const FlatParameters& params);
    // decay ramps up as min(decay, (1 + step) / (10 + step)).
    void update(const FlatParameters& params, double decay, int64_t step);
    const std::vector<at::Tensor>& buffers() const { return m_ema; }
    std::vector<at::Tensor>& buffers() { return m_ema; }
    // Swaps the EMA weights into the live parameters (call again to swap back).
    void swap(FlatParameters& params);

private:
    std::vector<at::Tensor> m_ema;
};

} // namespace tp::train
