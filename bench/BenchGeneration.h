#pragma once

// What the generation scenarios (generation, memory-cycle, co-tenant, soak, cpu) share: their
// command-line words, loading a model folder with its timing, and one timed text-to-image run.
// Torch-free header; the model lives behind a pointer.

#include "bench/Bench.h"
#include "core/common/Result.h"

#include <QString>
#include <QStringList>

#include <memory>
#include <optional>

namespace tp::bench {

constexpr double MiB = 1024.0 * 1024.0;
constexpr double GiB = MiB * 1024.0;

// `--name value` pairs among the arguments main() did not know.
class Args final {
public:
    explicit Args(const Options& options)
        : m_extra(options.extra) {}
    QString value(const QString& name, const QString& fallback = {}) const;
    int integer(const QString& name, int fallback) const;
    QStringList list(const QString& name, const QString& fallback) const; // comma-separated
    // `--name on|off`; a note in the report and nullopt for anything else.
    std::optional<bool> onOff(const QString& name, bool fallback, Report& report) const;

private:
    QStringList m_extra;
};

struct GenerationRun {
    double totalMs = 0;
    double firstStepMs = 0;
    double encodeMs = 0; // the prompt's text encoding
    double denoiseMs = 0;
    double decodeMs = 0; // the VAE's
    double itPerSec = 0;
    qint64 peakAllocatedBytes = -1; // -1: no CUDA
    qint64 deviceUsedBytes = -1;    // right after the run, before any cleanup
    QString eagerReason;            // why the denoiser ran eagerly, not as a CUDA graph ("": a graph)
};

struct BenchModelImpl;
// A model folder loaded on a device, with the memory manager of that device.
class BenchModel final {
public:
    static Result<std::unique_ptr<BenchModel>> load(const QString& folder, const QString& device,
                                                    const QString& precision);
    ~BenchModel();
    double loadMs() const;
    qint64 weightBytes() const;
    QString description() const; // "cuda:0 (NVIDIA H100 80GB HBM3), float16"
    bool cuda() const;
    int cudaDevice() const;
    int nativeSize() const; // the UNet's sample size in pixels

    // CUDA graphs for the denoiser step in the runs that follow (on by default, as the app's setting).
    void setCudaGraphs(bool on);
    // Channels-last convolutions in the denoiser (DiffusionModel::setChannelsLast); off by default.
    Status setChannelsLast(bool on);
    // One text-to-image run with a fresh peak; throws what libtorch throws (OOM among them).
    GenerationRun generate(int size, int steps, int batch, quint64 seed, double guidance = 7.5,
                           const QString& sampler = QStringLiteral("euler")) {
        return generate(size, size, steps, batch, seed, guidance, sampler);
    }
    GenerationRun generate(int width, int height, int steps, int batch, quint64 seed, double guidance,
                           const QString& sampler);
    // pipeline::warmUpDevice() on the model's device and dtype; its milliseconds.
    double warmUpDevice();
    // The app's policies: cleanup; unload to pinned memory; reload. Return their milliseconds.
    double cleanup();
    double unload();
    double reload();

private:
    BenchModel();
    std::unique_ptr<BenchModelImpl> d;
};

// Drops the page cache of the weight files under folder (posix_fadvise DONTNEED, no root
// needed for clean pages). Returns false where the kernel would not.
bool evictFromPageCache(const QString& folder);

// This process's resident memory in bytes (Linux /proc/self/statm), -1 elsewhere.
qint64 residentBytes();

// The model folder the scenario was given with --model, else the bundled default model.
QString modelArgument(const Args& args, Report& report);
// modelArgument(), or empty after a note saying how to name one.
QString requireModel(const Args& args, Report& report);
// BenchModel::load() with --device and --precision (default auto); a failure becomes a note.
std::unique_ptr<BenchModel> loadFromArgs(const Args& args, const QString& folder, Report& report);

} // namespace tp::bench
