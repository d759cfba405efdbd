#pragma once

#include "core/nn/Layers.h"

namespace tp::nn {

// diffusers' get_timestep_embedding: sinusoidal features of `timesteps` ([N], any dtype),
// computed in float32 -> [N, dim].
at::Tensor timestepEmbedding(const at::Tensor& timesteps, int64_t dim, bool flipSinToCos, double freqShift,
                             double scale = 1.0, double maxPeriod = 10000.0);

// diffusers' TimestepEmbedding: linear_1, activation, linear_2, with the optional
// cond_proj (time_cond_proj_dim, used by LCM-distilled UNets) added to the input.
class TimestepEmbedderImpl final : public torch::nn::Module {
public:
    TimestepEmbedderImpl(int64_t inChannels, int64_t timeEmbedDim, Activation activation, int64_t condProjDim,
                         const at::TensorOptions& tensorOptions);
    at::Tensor forward(const at::Tensor& sample, const at::Tensor& condition = {}) const;

private:
    Activation m_activation;
    Linear m_condProj{nullptr};
    Linear m_linear1{nullptr};
    Linear m_linear2{nullptr};
};
TORCH_MODULE(TimestepEmbedder);

} // namespace tp::nn
