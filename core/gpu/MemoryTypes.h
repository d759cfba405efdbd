#pragma once

#include "core/common/Bytes.h"

#include <QString>
#include <QtGlobal>

// What the GPU memory manager reports, torch-free so that the engine's public types, the CLI
// and the benchmarks can carry it. Byte counts are -1 where a figure is unknown.
namespace tp::gpu {

// Where a model's weights are.
enum class Residency {
    OnGpu,     // every parameter and buffer is in device memory
    PinnedCpu, // unloaded: every tensor is the model's own pinned host buffer, ready to reload
    Cpu,       // in ordinary host memory (CPU mode, or never moved to a GPU)
    Mixed,     // some tensors on a GPU, some not (someone moved part of the model)
};
QString residencyName(Residency r); // "on GPU", "pinned RAM", "RAM", "mixed"

// Byte counts are formatted by tp::formatBytes (core/common/Bytes.h).

// One reading of this process's view of a device.
struct MemorySnapshot {
    bool cuda = false; // false: no CUDA, every figure below is -1
    int device = -1;
    qint64 msecsSinceEpoch = 0;
    qint64 deviceUsedBytes = -1; // cudaMemGetInfo: total - free (all processes)
    qint64 deviceTotalBytes = -1;
    qint64 allocatedBytes = -1; // this process's caching allocator: live tensors
    qint64 reservedBytes = -1;  // ... plus its cache (what cudaFree could give back)
    qint64 peakAllocatedBytes = -1;
};

// cleanup(): synchronise, drop cuBLAS workspaces, empty the allocator's cache.
struct CleanupReport {
    bool cuda = false;
    QString message; // one line for the log: what was freed, or why nothing was done
    MemorySnapshot before;
    MemorySnapshot after;
    double durationMs = 0;
    // Device memory given back to the driver (reserved before - after), 0 when unknown.
    qint64 releasedBytes() const {
        return before.reservedBytes >= 0 && after.reservedBytes >= 0
                   ? before.reservedBytes - after.reservedBytes
                   : 0;
    }
};

// unload() or reload() of one model.
struct TransferReport {
    bool cuda = false;
    bool moved = false; // false: nothing to do (already there, no CUDA, CPU model)
    QString message;    // one line for the log
    Residency from = Residency::Cpu;
    Residency to = Residency::Cpu;
    int tensors = 0;                 // parameters and buffers moved
    qint64 bytes = 0;                // their size
    qint64 pinnedAllocatedBytes = 0; // host memory pinned by this call (0 when buffers were reused)
    double pinMs = 0;                // allocating and page-locking host buffers (first unload only)
    double copyMs = 0;               // the copies, up to the final synchronise (without pinMs)
    double cleanupMs = 0;            // unload: the cleanup() that gives the memory back
    double totalMs = 0;
    MemorySnapshot before;
    MemorySnapshot after;
    // Effective copy rate in GB/s (10^9 bytes/s), 0 when nothing moved.
    double gigabytesPerSecond() const { return copyMs > 0 ? static_cast<double>(bytes) / (copyMs * 1e6) : 0; }
};

} // namespace tp::gpu

#include <QMetaType>
Q_DECLARE_METATYPE(tp::gpu::Residency)
Q_DECLARE_METATYPE(tp::gpu::MemorySnapshot)
