#include "core/gpu/GpuInfo.h"

#include "core/gpu/GpuMemory.h"

#include <torch/cuda.h>
#include <torch/version.h>

#if TWISTEDPIC_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

namespace tp::gpu {

TorchBuildInfo torchBuildInfo() {
    TorchBuildInfo info;
    info.torchVersion = QStringLiteral(TORCH_VERSION);
#if TWISTEDPIC_WITH_CUDA
    info.cudaBuild = true;
    int runtime = 0;
    if (cudaRuntimeGetVersion(&runtime) == cudaSuccess)
        info.cudaRuntimeVersion = QStringLiteral("%1.%2").arg(runtime / 1000).arg(runtime % 1000 / 10);
#endif
    info.cudaAvailable = cudaAvailable();
    info.cudaDeviceCount = info.cudaAvailable ? static_cast<int>(torch::cuda::device_count()) : 0;
    info.noCudaReason = noCudaReason();
    return info;
}

AllocatorSample allocatorSample(int device) {
    AllocatorSample a;
    a.device = device;
    const MemorySnapshot s = snapshot(device);
    if (!s.cuda) {
        a.note = noCudaReason();
        return a;
    }
    if (s.allocatedBytes < 0) {
        a.note = QStringLiteral("libtorch's allocator statistics are not available");
        return a;
    }
    a.valid = true;
    a.allocatedBytes = s.allocatedBytes;
    a.reservedBytes = s.reservedBytes;
    a.peakAllocatedBytes = s.peakAllocatedBytes;
    if (!cudaContextActive(device))
        a.note = QStringLiteral("CUDA not used yet on this device");
    return a;
}

} // namespace tp::gpu
