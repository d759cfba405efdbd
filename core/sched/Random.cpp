#include "core/sched/Random.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

namespace tp::sched {

at::Generator makeCpuGenerator(uint64_t seed) {
    return at::make_generator<at::CPUGeneratorImpl>(seed);
}

at::Tensor randnCpu(at::IntArrayRef shape, at::Generator& gen, at::ScalarType dtype) {
    TORCH_CHECK(gen.defined() && gen.device().is_cpu(), "randnCpu needs a CPU generator");
    return at::randn(shape, gen, at::TensorOptions().dtype(dtype).device(at::kCPU));
}

at::Tensor randnTensor(at::IntArrayRef shape, at::Generator* gen, at::ScalarType dtype,
                       const at::Device& device) {
    const auto options = at::TensorOptions().dtype(dtype);
    if (gen == nullptr || !gen->defined())
        return at::randn(shape, options.device(device));
    const at::Device genDevice = gen->device();
    if (genDevice.type() == device.type())
        return at::randn(shape, *gen, options.device(device));
    TORCH_CHECK(genDevice.is_cpu(), "cannot draw noise for a ", device.str(), " tensor from a ",
                genDevice.str(), " generator");
    const at::Tensor host = at::randn(shape, *gen, options.device(at::kCPU));
    // Page-locked first, so that the copy is queued behind the GPU's work instead of waiting for it
    // (the ancestral samplers draw this every step).
    if (device.is_cuda())
        return host.pin_memory().to(device, /*non_blocking=*/true);
    return host.to(device);
}

} // namespace tp::sched
