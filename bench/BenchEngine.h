#pragma once

// What the scenarios that drive the real engine (budget, cotenant) share: running one request
// through tp::engine::Engine and waiting for its answer, and a background sampler of device memory
// for the peaks of each image. Torch-free header.

#include "core/common/Result.h"
#include "core/engine/Engine.h"
#include "core/engine/EngineTypes.h"

#include <QJsonObject>
#include <QJsonValue>
#include <QString>
#include <QStringList>
#include <QVariant>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

namespace tp::bench {

class Args;
class Report;

// One request through the engine, as the app and the CLI run it.
struct EngineRun {
    bool ok = false;
    QString error;            // the engine's message when it failed
    bool outOfMemory = false; // the engine reported an out-of-memory error (MemoryEvent::OutOfMemory)
    engine::GenerationResult result;
    QJsonObject planned;  // the last Engine::planned for this request (with "budgetExplanation"); empty: none
    int plans = 0;        // how many were announced: 2 = the out-of-memory retry ran with a lower plan
    double wallMs = 0;    // submit to the engine's answer, as the caller waits for it
    QStringList warnings; // failures of work that was not the generation (the after-generation cleanup)
};

// Owns an Engine with `policy` and runs requests one at a time, each in a local event loop (as
// app/cli/CliGenerate.cpp does). Must live on the main thread.
class EngineRunner final {
public:
    explicit EngineRunner(const engine::GpuPolicy& policy);
    ~EngineRunner();
    EngineRun run(engine::GenerationRequest request);

private:
    std::unique_ptr<engine::Engine> m_engine;
};

// A request with the bench's fixed prompt (the one diffusers_bench.py uses) and the scenario's
// words: --model (default: the bundled model), --width, --height, --steps, --guidance, --sampler
// (default: the model's own defaults; --quick: 2 steps at the model's native size), --precision,
// --device (auto), --seed (1). No files are written and no previews are made.
Result<engine::GenerationRequest> requestFromArgs(const Args& args, Report& report);

// Peaks of device memory since the last MemorySampler::take(); -1 where a figure is unknown.
struct MemoryPeaks {
    qint64 processBytes = -1;    // this process on the device (NVML's per-process figure)
    qint64 deviceUsedBytes = -1; // the device's used memory, every process together
    qint64 minFreeBytes = -1;    // the device's least free memory
    qint64 allocatedBytes = -1;  // the caching allocator's peak of live tensors
    qint64 reservedBytes = -1;   // the caching allocator's peak of reserved memory (tensors + cache)
    int samples = 0;
    // This process's peak device use: processBytes where NVML lists this process, else the device's
    // peak use minus what was used before this process touched the GPU (MemorySampler::baseline).
    qint64 peakDeviceBytes = -1;
    QString source; // how peakDeviceBytes was measured: "nvml process", "nvml device - baseline", …
};

// The current figures, as the last sample saw them.
struct MemoryNow {
    qint64 processBytes = -1;
    qint64 deviceUsedBytes = -1;
    qint64 deviceFreeBytes = -1;
    qint64 deviceTotalBytes = -1;
    qint64 allocatedBytes = -1;
    qint64 reservedBytes = -1;
};

// Samples device memory on its own thread every `intervalMs`: NVML when the driver's library is
// there (this process's use from the per-process list, the device's used and free memory), else
// cudaMemGetInfo once this process has a CUDA context; and the caching allocator's peak statistics
// (read as they stand at each sample: the pipeline resets them at the start of each stage, so the
// maximum over the samples is the generation's peak unless a stage's peak fell in the last
// interval before the next stage started; take() reads them once more at the end).
class MemorySampler final {
public:
    explicit MemorySampler(int cudaDevice, int intervalMs = 20);
    ~MemorySampler();
    MemorySampler(const MemorySampler&) = delete;
    MemorySampler& operator=(const MemorySampler&) = delete;

    // "nvml", "cuda" (cudaMemGetInfo, only once a context exists) or "none" (no GPU).
    QString source() const { return m_source; }
    // The device's used memory when the sampler started (before this process made its CUDA
    // context, when NVML can tell); -1 when unknown.
    qint64 baselineDeviceUsedBytes() const { return m_baseline; }
    // The peaks since the previous take() (or the start), then starts new ones; resets the
    // caching allocator's peak statistics too.
    MemoryPeaks take();
    MemoryNow now();

private:
    struct Impl;
    void loop();
    void sampleOnce();
    std::unique_ptr<Impl> d;
    int m_device = 0;
    int m_intervalMs = 20;
    QString m_source;
    qint64 m_baseline = -1;
    std::atomic<bool> m_stop{false};
    std::mutex m_mutex;
    std::thread m_thread;
};

// The caching allocator's figures for `device`, peaks included; all -1 without CUDA or before
// this process used the device. Never creates a CUDA context.
struct AllocatorFigures {
    qint64 allocatedBytes = -1;
    qint64 reservedBytes = -1;
    qint64 peakAllocatedBytes = -1;
    qint64 peakReservedBytes = -1;
};
AllocatorFigures allocatorFigures(int device);

// A byte count as MiB for a table cell; n/a (invalid) when negative.
QVariant mibCell(qint64 bytes);
// A byte count for JSON; null when negative.
QJsonValue bytesJson(qint64 bytes);

} // namespace tp::bench
