#include "tests/nn/NnTestUtil.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <limits>

namespace tp::test {

double maxAbsError(const at::Tensor& a, const at::Tensor& b) {
    if (a.sizes() != b.sizes())
        return std::numeric_limits<double>::infinity();
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

void randomizeModule(torch::nn::Module& module, uint64_t seed) {
    at::NoGradGuard noGrad;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    for (auto& item : module.named_parameters(true)) {
        auto& p = item.value();
        const auto& name = item.key();
        at::Tensor value;
        if (p.dim() >= 2) {
            const double fanIn = double(p.numel() / p.size(0));
            value = at::randn(p.sizes(), gen, at::TensorOptions(at::kFloat)) / std::sqrt(fanIn);
        } else if (name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0) {
            value = 1.0 + 0.1 * at::randn(p.sizes(), gen, at::TensorOptions(at::kFloat));
        } else {
            value = 0.1 * at::randn(p.sizes(), gen, at::TensorOptions(at::kFloat));
        }
        p.set_data(value.to(p.options()));
    }
}

std::vector<std::pair<QString, at::Tensor>> namedTensors(const torch::nn::Module& module,
                                                         const QString& prefix) {
    std::vector<std::pair<QString, at::Tensor>> out;
    for (const auto& item : module.named_parameters(true))
        out.emplace_back(prefix + QString::fromStdString(item.key()), item.value());
    for (const auto& item : module.named_buffers(true))
        out.emplace_back(prefix + QString::fromStdString(item.key()), item.value());
    return out;
}

} // namespace tp::test
