#pragma once

#include "core/gpu/VramTypes.h"

#include <QString>

// Torch-free facts about this build's libtorch and this process's CUDA use, for the monitor,
// the CLI and the benchmarks (implemented on the torch side).
namespace tp::gpu {

struct TorchBuildInfo {
    QString torchVersion;       // "1.13.0", "2.11.0"
    bool cudaBuild = false;     // libtorch compiled with CUDA
    QString cudaRuntimeVersion; // "13.0" (the CUDA runtime linked in), empty without CUDA
    bool cudaAvailable = false; // a CUDA device is usable
    int cudaDeviceCount = 0;
    QString noCudaReason; // why cudaAvailable is false, in words
};
TorchBuildInfo torchBuildInfo();

// This process's caching-allocator figures for `device`; never creates a CUDA context.
// Not valid (with a note) without CUDA.
AllocatorSample allocatorSample(int device);

} // namespace tp::gpu
