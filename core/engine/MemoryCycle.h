#pragma once

#include "core/common/Result.h"
#include "core/gpu/MemoryTypes.h"
#include "core/gpu/VramBudget.h"

#include <QString>
#include <QVector>

#include <functional>

namespace tp::engine {

// The original app's test_gpu_cleanup.py, measured: device memory and this process's
// allocator figures before loading a model, after loading it, at the peak of a generation,
// after the generation with the chosen policy, after unloading, after reloading, and a few
// seconds later. Used by `twistedpic-cli memtest` and the memory-cycle benchmark.
struct MemoryCycleOptions {
    QString modelFolder;
    QString device = QStringLiteral("auto");
    QString precision = QStringLiteral("auto");
    QString vramBudget = QStringLiteral("auto"); // "auto", "all" or a size (gpu::parseBudget)
    qint64 vramReserveBytes = 2048LL << 20;      // gpu/vramReserveMiB (auto)
    qint64 ollamaMarginBytes = 512LL << 20;      // services/makeRoomMarginMiB (auto)
    QVector<gpu::OllamaVram> ollama;             // Ollama's loaded models (/api/ps), for auto
    QString prompt = QStringLiteral("a red circle on a blue background");
    QString sampler = QStringLiteral("euler");
    int width = 512;
    int height = 512;
    int steps = 20;
    int count = 1;
    bool cleanup = true;   // cleanup after the generation
    bool unload = true;    // then unload (and reload) the model
    int settleSeconds = 5; // the last row, this long after the reload
};

struct MemoryCycleRow {
    QString label;
    gpu::MemorySnapshot memory;
    double milliseconds = 0; // how long the step of this row took (0 for pure readings)
};

struct MemoryCycleReport {
    QString device; // "cuda:0 (NVIDIA H100 80GB HBM3), float16"
    qint64 weightBytes = 0;
    double itPerSec = 0;
    qint64 peakAllocatedBytes = -1;
    QString plan;   // the placement plan within the VRAM budget (gpu::Plan::summary()); empty: none
    QString budget; // how the budget was reached (gpu::VramBudget::explanation); empty: no device reading
    QVector<MemoryCycleRow> rows;
};

// onRow sees each row as it is measured (the CLI prints it at once).
Result<MemoryCycleReport> runMemoryCycle(const MemoryCycleOptions& options,
                                         const std::function<void(const MemoryCycleRow&)>& onRow = {});

} // namespace tp::engine
