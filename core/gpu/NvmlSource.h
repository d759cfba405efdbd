#pragma once

#include "core/gpu/VramSource.h"

#include <QVector>

#include <memory>

namespace tp::gpu {

// Samples every NVIDIA GPU through NVML, the library nvidia-smi and nvtop use. libnvidia-ml.so.1
// ships with the driver and is opened at run time (no build dependency). NVML sees all processes:
// Ollama's usage shows even before this process touched CUDA, and sampling never creates a CUDA
// context. Not thread-safe: one thread samples (the monitor's).
class NvmlSource final : public VramSource {
public:
    static constexpr const char* DefaultLibrary = "libnvidia-ml.so.1";

    // `library`: a file name or path for dlopen. Empty: $TWISTEDPIC_NVML_LIBRARY when set (for
    // drivers installed in unusual places), else DefaultLibrary.
    explicit NvmlSource(QString library = {});
    ~NvmlSource() override;
    NvmlSource(const NvmlSource&) = delete;
    NvmlSource& operator=(const NvmlSource&) = delete;

    // True when NVML loaded, initialised and reported at least one device.
    bool isAvailable() const { return m_reason.isEmpty(); }
    // Why not, in words: "No NVIDIA driver (libnvidia-ml.so.1 not found)", ...
    QString unavailableReason() const { return m_reason; }
    QString library() const { return m_library; }
    // Which nvmlDeviceGetComputeRunningProcesses version answers (3, 2, 1; 0 = none yet).
    int processApiVersion() const { return m_processApi; }

    VramSample sample() override;
    QString name() const override { return QStringLiteral("nvml"); }

private:
    struct Api;
    bool load();
    DeviceSample sampleDevice(int index);
    bool readMemory(void* device, DeviceSample& d);
    bool readProcesses(void* device, DeviceSample& d);
    QString errorText(int rc) const;

    QString m_library;
    QString m_reason;
    std::unique_ptr<Api> m_api;
    void* m_handle = nullptr; // dlopen
    bool m_initialised = false;
    QString m_driverVersion;
    QVector<void*> m_devices;
    QVector<int> m_indices; // NVML's index of each opened device
    QVector<QString> m_names;
    int m_memoryApi = 2; // 2: nvmlDeviceGetMemoryInfo_v2 works, 1: only v1
    int m_processApi = 0;
};

} // namespace tp::gpu
