#pragma once

// A process's first CUDA work pays one-time costs that later work does not: the CUDA context, the
// cuBLAS/cuBLASLt handles and workspaces, cuDNN's libraries and handle, and the lazy loading of every
// kernel on its first launch (CUDA's default module loading). warmUpDevice() pays the device-wide part
// ahead, by running once, on small tensors of `dtype`, the operators every family's denoiser, text
// encoders and VAE use (convolutions, group/layer norm, linear layers with and without bias, batched
// matrix products, the fused attention, softmax, activations, nearest upsampling, host-to-device copies).
// What it cannot pay ahead: per-shape set-up (cuDNN's plan for each convolution shape, the allocator's
// first blocks of each size) and CUDA graph capture. Issue 17.3; `twistedpic-bench profile --warm-up`
// measures what it takes off the first image.

#include <ATen/ATen.h>

namespace tp::pipeline {

// Milliseconds it took. Runs on the CPU too (a few ms; nothing there but oneDNN's first primitives is
// worth warming, so callers use it for CUDA). Throws what libtorch throws.
double warmUpDevice(const at::Device& device, at::ScalarType dtype);

} // namespace tp::pipeline
