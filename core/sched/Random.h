#pragma once

// Random numbers that match PyTorch: a CPU generator seeded like
// `torch.Generator().manual_seed(seed)` draws the same normal samples as Python does.

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>

namespace tp::sched {

// A fresh CPU Mersenne-Twister generator, the same state as torch.Generator().manual_seed(seed).
at::Generator makeCpuGenerator(uint64_t seed);

// torch.randn(shape, generator=gen, dtype=dtype) on the CPU. The values depend on the dtype
// (torch draws float16 differently from float32), so draw in the dtype Python would use.
at::Tensor randnCpu(at::IntArrayRef shape, at::Generator& gen, at::ScalarType dtype = at::kFloat);

// diffusers' randn_tensor(shape, generator, device, dtype): a CPU generator draws on the CPU and
// the result moves to `device`; a device generator draws there; no generator uses the device's
// default one. A CUDA generator with a CPU target is an error, as in diffusers.
at::Tensor randnTensor(at::IntArrayRef shape, at::Generator* gen, at::ScalarType dtype,
                       const at::Device& device);

} // namespace tp::sched
