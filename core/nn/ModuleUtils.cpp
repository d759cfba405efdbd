#include "core/nn/ModuleUtils.h"

#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>

namespace tp::nn {

ModuleSize moduleSize(const torch::nn::Module& module) {
    ModuleSize size;
    for (const auto& p : module.parameters()) {
        size.parameters += p.numel();
        size.bytes += int64_t(p.numel()) * int64_t(p.element_size());
    }
    for (const auto& b : module.buffers())
        size.bytes += int64_t(b.numel()) * int64_t(b.element_size());
    return size;
}

void moveModule(torch::nn::Module& module, at::Device device, std::optional<at::ScalarType> dtype,
                bool nonBlocking) {
    c10::InferenceMode normal(false);
    at::NoGradGuard noGrad;
    auto move = [&](at::Tensor& t) {
        const bool convert = dtype && t.is_floating_point() && t.scalar_type() != *dtype;
        if (t.device() == device && !convert)
            return;
        auto moved = convert ? t.to(device, *dtype, nonBlocking, /*copy=*/false) : t.to(device, nonBlocking);
        t.set_data(moved);
    };
    for (auto& p : module.parameters())
        move(p);
    for (auto& b : module.buffers())
        move(b);
}

int setConvMemoryFormat(torch::nn::Module& module, at::MemoryFormat format) {
    c10::InferenceMode normal(false);
    at::NoGradGuard noGrad;
    int changed = 0;
    for (auto& p : module.parameters()) {
        if (p.dim() != 4 || !p.is_floating_point() || p.is_contiguous(format))
            continue;
        p.set_data(p.contiguous(format));
        ++changed;
    }
    return changed;
}

at::Device moduleDevice(const torch::nn::Module& module) {
    for (const auto& p : module.parameters())
        return p.device();
    return at::Device(at::kCPU);
}

at::ScalarType moduleDtype(const torch::nn::Module& module) {
    for (const auto& p : module.parameters())
        if (p.is_floating_point())
            return p.scalar_type();
    return at::kFloat;
}

} // namespace tp::nn
