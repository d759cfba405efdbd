#include "core/gpu/CudaVramSource.h"

#include "core/gpu/GpuMemory.h"

#include <torch/cuda.h>

#if TWISTEDPIC_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

namespace tp::gpu {

CudaVramSource::CudaVramSource(bool mayCreateContext)
    : m_mayCreateContext(mayCreateContext) {
    if (!cudaAvailable()) {
        m_reason = noCudaReason();
        return;
    }
#if TWISTEDPIC_WITH_CUDA
    const int count = static_cast<int>(torch::cuda::device_count());
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp props{};
        if (cudaGetDeviceProperties(&props, i) == cudaSuccess) {
            m_names.push_back(QString::fromUtf8(props.name));
            m_totals.push_back(static_cast<qint64>(props.totalGlobalMem));
        } else {
            cudaGetLastError();
            m_names.push_back(QStringLiteral("CUDA device %1").arg(i));
            m_totals.push_back(-1);
        }
    }
#endif
}

VramSample CudaVramSource::sample() {
    VramSample s;
    if (!isAvailable()) {
        s.noGpuReason = m_reason;
        return s;
    }
    s.gpuAvailable = true;
    for (int i = 0; i < m_names.size(); ++i) {
        DeviceSample d;
        d.index = i;
        d.name = m_names[i];
        d.source = name();
        d.totalBytes = m_totals[i];
        d.usedBytes = d.freeBytes = -1;
#if TWISTEDPIC_WITH_CUDA
        if (m_mayCreateContext || cudaContextActive(i)) {
            const c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(i));
            size_t freeBytes = 0;
            size_t totalBytes = 0;
            if (cudaMemGetInfo(&freeBytes, &totalBytes) == cudaSuccess) {
                d.totalBytes = static_cast<qint64>(totalBytes);
                d.freeBytes = static_cast<qint64>(freeBytes);
                d.usedBytes = d.totalBytes - d.freeBytes;
            } else {
                cudaGetLastError();
            }
        }
#endif
        s.devices.push_back(d);
    }
    return s;
}

} // namespace tp::gpu
