#pragma once

#include "core/common/Result.h"

#include <ATen/ATen.h>

#include <QString>

namespace tp::pipeline {

struct DeviceChoice {
    at::Device device = at::kCPU;
    at::ScalarType dtype = at::kFloat; // what the model computes in
    // The denoiser's linear and convolution weights stored as float8_e4m3fn and upcast to dtype
    // per layer (nn::Fp8Weights::Store): about half the memory of fp16/bf16 weights.
    bool fp8Weights = false;
    // With fp8Weights: the denoiser's linear layers multiply in fp8 (`_scaled_mm` on the tensor cores of
    // compute capability 8.9+ GPUs: Ada, Hopper, Blackwell) instead of upcasting the weight; the input is
    // quantised per tensor (nn::LinearImpl::setFp8MatMul). Faster where the matmuls are large, less exact.
    bool fp8MatMul = false;
    QString description; // "cuda:0 (NVIDIA H100 80GB HBM3), float16" or "cpu (2 threads), float32"
    // Issue 16: the weights load into host memory (in `dtype`, fp8 as above) and stay there until a
    // placement plan brings each component onto `device` (DiffusionModel::settleWeights()), so that a
    // model larger than the free VRAM loads. The model still computes on `device`.
    bool loadOnHost = false;
    // Where the loaders put the weights: the CPU with loadOnHost, else `device`.
    at::Device loadDevice() const { return loadOnHost ? at::Device(at::kCPU) : device; }
};

// Resolves the settings' words: device "auto" | "cpu" | "cuda" | "cuda:N", precision
// "auto" | "fp16" | "bf16" | "fp32" | "fp8" | "fp8:fp16" | "fp8:bf16" | "fp8:fp32" (fp8 = the denoiser's
// weights stored in 8 bits, computed in the precision after the colon; needs libtorch 2.1+) | "fp8mm" |
// "fp8mm:fp16" | "fp8mm:bf16" (as fp8, and the linear layers multiply in fp8: a CUDA GPU of compute
// capability 8.9+ and libtorch 2.4+). auto = the first
// CUDA device with float16, else the CPU with float32 (half precision on the CPU is slow and inexact, so the
// CPU always gets fp32).
Result<DeviceChoice> resolveDevice(const QString& device, const QString& precision);

QString dtypeName(at::ScalarType dtype);

// Once per process: ATen's thread count to the core count (Debian's default is 1) and
// OpenBLAS to one thread, which measured best with ATen parallelising around it.
void initCpuRuntime();

} // namespace tp::pipeline
