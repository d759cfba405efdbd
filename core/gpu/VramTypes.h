#pragma once

#include <QMetaType>
#include <QString>
#include <QVector>

// What the VRAM monitor samples, torch-free so that widgets can draw it.
namespace tp::gpu {

struct GpuProcess {
    qint64 pid = 0;
    QString name;          // /proc/PID/comm, e.g. "ollama" or "ollama_llama_se"
    qint64 usedBytes = -1; // -1: NVML did not say
    bool isSelf = false;
    bool isOllama = false;
};

struct DeviceSample {
    int index = 0;
    QString name; // "NVIDIA H100 80GB HBM3"
    // -1 where unknown: the CUDA fallback cannot read a device's memory before this process has
    // a CUDA context there (making one would cost ~500 MiB), so it reports only the total.
    qint64 totalBytes = 0;
    qint64 usedBytes = 0; // total - free: every process plus the driver's own reservation
    qint64 freeBytes = 0;
    int utilizationPercent = -1; // -1: unknown
    bool processesValid = false; // NVML per-process lists can be empty in containers
    QVector<GpuProcess> processes;
    QString source; // "nvml" or "cuda"
};

// This process's caching-allocator figures (libtorch), for one device.
struct AllocatorSample {
    bool valid = false;
    QString note; // why it is not valid ("libtorch has no CUDA support: running on the CPU")
    int device = 0;
    qint64 allocatedBytes = 0;
    qint64 reservedBytes = 0;
    qint64 peakAllocatedBytes = 0;
};

struct VramSample {
    qint64 msecsSinceEpoch = 0;
    bool gpuAvailable = false;
    QString noGpuReason;   // why there is no GPU, in words, when gpuAvailable is false
    QString driverVersion; // NVIDIA driver, e.g. "580.65.06" (NVML only)
    QVector<DeviceSample> devices;
    AllocatorSample self; // for the device the engine uses
};

} // namespace tp::gpu

Q_DECLARE_METATYPE(tp::gpu::VramSample)
