#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <optional>

namespace tp::nn {

struct ModuleSize {
    int64_t parameters = 0; // element count of all parameters
    int64_t bytes = 0;      // bytes of all parameters and buffers as stored now
};

ModuleSize moduleSize(const torch::nn::Module& module);

// Moves every parameter and buffer of `module` to `device`, converting floating-point ones
// to `dtype` when given (integer buffers keep their type). Tensors are replaced in place
// (set_data), so holders of the module keep working. `nonBlocking` allows asynchronous
// copies from pinned memory.
void moveModule(torch::nn::Module& module, at::Device device,
                std::optional<at::ScalarType> dtype = std::nullopt, bool nonBlocking = false);

// Lays every 4-D floating-point parameter (the convolutions' weights) of `module` out in `format`
// (at::MemoryFormat::ChannelsLast or Contiguous), in place (set_data); returns how many changed.
// With channels-last weights cuDNN runs the convolutions in NHWC, and their outputs stay so.
int setConvMemoryFormat(torch::nn::Module& module, at::MemoryFormat format);

// The device and floating-point dtype of the module's first parameter (CPU/float32 when
// it has none).
at::Device moduleDevice(const torch::nn::Module& module);
at::ScalarType moduleDtype(const torch::nn::Module& module);

} // namespace tp::nn
