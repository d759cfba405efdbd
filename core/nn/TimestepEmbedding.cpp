#include "core/nn/TimestepEmbedding.h"

#include <cmath>

namespace tp::nn {

at::Tensor timestepEmbedding(const at::Tensor& timesteps, int64_t dim, bool flipSinToCos, double freqShift,
                             double scale, double maxPeriod) {
    TORCH_CHECK(timesteps.dim() == 1, "timesteps must be a 1-D tensor");
    const int64_t half = dim / 2;
    const auto options = timesteps.options().dtype(at::kFloat);
    auto exponent = at::arange(0, half, options) * (-std::log(maxPeriod)) / (double(half) - freqShift);
    auto emb = timesteps.to(at::kFloat).unsqueeze(1) * at::exp(exponent).unsqueeze(0);
    emb = emb * scale;
    emb = at::cat({at::sin(emb), at::cos(emb)}, -1);
    if (flipSinToCos)
        emb = at::cat({emb.narrow(1, half, half), emb.narrow(1, 0, half)}, -1);
    if (dim % 2 == 1)
        emb = at::constant_pad_nd(emb, {0, 1, 0, 0}, 0);
    return emb;
}

TimestepEmbedderImpl::TimestepEmbedderImpl(int64_t inChannels, int64_t timeEmbedDim, Activation activation,
                                           int64_t condProjDim, const at::TensorOptions& tensorOptions)
    : m_activation(activation) {
    m_linear1 = register_module("linear_1", Linear(inChannels, timeEmbedDim, true, tensorOptions));
    if (condProjDim > 0)
        m_condProj = register_module("cond_proj", Linear(condProjDim, inChannels, false, tensorOptions));
    m_linear2 = register_module("linear_2", Linear(timeEmbedDim, timeEmbedDim, true, tensorOptions));
}

at::Tensor TimestepEmbedderImpl::forward(const at::Tensor& sample, const at::Tensor& condition) const {
    auto x = sample;
    if (m_condProj && condition.defined())
        x = x + m_condProj->forward(condition);
    return m_linear2->forward(activate(m_linear1->forward(x), m_activation));
}

} // namespace tp::nn
