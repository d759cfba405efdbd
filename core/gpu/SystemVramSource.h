#pragma once

#include "core/gpu/VramSource.h"

#include <memory>

namespace tp::gpu {

class CudaVramSource;
class NvmlSource;

// What the app samples: every GPU through NVML when the driver's library is there, else the CUDA
// devices libtorch sees, else a sample that says why there is no GPU; plus this process's
// allocator figures for the engine's device.
class SystemVramSource final : public VramSource {
public:
    struct Options {
        int selfDevice = 0;                // the engine's CUDA device, for the allocator figures
        bool mayCreateCudaContext = false; // CUDA fallback: read memory even without a context
        QString nvmlLibrary;               // empty: NvmlSource's default
    };
    SystemVramSource();
    explicit SystemVramSource(Options options);
    ~SystemVramSource() override;

    VramSample sample() override;
    QString name() const override; // "nvml", "cuda" or "none"
    // Why no GPU is shown, in words (empty when one is).
    QString noGpuReason() const { return m_reason; }

private:
    Options m_options;
    std::unique_ptr<NvmlSource> m_nvml;
    std::unique_ptr<CudaVramSource> m_cuda;
    QString m_reason;
};

} // namespace tp::gpu
