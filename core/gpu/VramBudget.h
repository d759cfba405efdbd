#pragma once

// The VRAM budget: how many bytes of device memory TwistedPic's caching allocator may hold during
// one generation (weights on the GPU + working memory + streaming buffers; the CUDA context, which
// only ending the process frees, is not part of it). Torch-free and a pure function of its inputs,
// so that the CLI, the VRAM panel and the tests compute it the same way the engine does.
//
// The setting `gpu/vramBudget`:
//   "auto"  (default) leave room for the loaded Ollama models and a reserve for other programs;
//   "all"   everything free on the device (plus what we already hold);
//   a size  "12GiB", "12 GB", "12000MiB", "11.5 GiB"; a plain number is GiB ("12" = 12 GiB).
//
// The formula, from a reading taken when the generation starts (never the card's total):
//
//   usable   = deviceFree + ourReserved
//              (what is free now plus what our allocator already holds: our own resident
//              weights and cache are ours to reuse)
//   ollama   = Σ over /api/ps models of max(0, size − size_vram)
//              (the part of each loaded model that is NOT on the GPU: it needs that much more free
//              memory to come back fully onto the GPU on its next load; what it holds already is
//              not in deviceFree and needs no room from us)
//            + margin when /api/ps lists at least one model (services/makeRoomMarginMiB: the room
//              Ollama keeps beside a model and its KV-cache growth)
//   auto     = max(0, usable − ollama − reserve)      (reserve: gpu/vramReserveMiB, default 2 GiB)
//   all      = usable
//   SIZE     = min(SIZE, usable)   (a size larger than what is usable is clamped, and says so)
//
// In words: auto is the largest amount we may hold such that, after we hold it, the device still
// has free the Ollama models' missing VRAM plus the margin, and the reserve for everyone else.
// Without a device reading (no CUDA, no NVML) auto and all are unknown (bytes = -1); a size is
// taken as given.

#include "core/common/Result.h"

#include <QString>
#include <QVector>
#include <QtGlobal>

namespace tp::gpu {

// The setting's value, parsed.
struct BudgetSetting {
    enum class Mode { Auto, All, Size };
    Mode mode = Mode::Auto;
    qint64 bytes = 0; // Size only

    // "auto", "all" or "12 GiB" (formatBytes with two decimals where they matter).
    QString text() const;
    bool operator==(const BudgetSetting& o) const { return mode == o.mode && bytes == o.bytes; }
};

// Parses a byte size strictly: a positive number (decimals allowed) and an optional unit, any
// case, with or without a space: B, KB, MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB (powers
// of 1024); no unit = GiB. At most 1 TiB (no GPU has more; "12000" is refused with a hint that
// MiB was probably meant). Single-letter units ("12G") are refused: say GiB or GB. The message
// names `what` ("--budget", "gpu/vramBudget") and the text.
Result<qint64> parseByteSize(const QString& text, const QString& what = QStringLiteral("size"));
// "auto", "all" (any case) or a size as parseByteSize.
Result<BudgetSetting> parseBudget(const QString& text, const QString& what = QStringLiteral("budget"));

// An Ollama model's memory, as GET /api/ps lists it (services::OllamaLoadedModel's figures).
struct OllamaVram {
    QString name;
    qint64 sizeBytes = 0; // whole model in memory, GPU + CPU
    qint64 vramBytes = 0; // of that, on the GPU
    // What it still needs to be fully on the GPU.
    qint64 missingBytes() const { return qMax<qint64>(0, sizeBytes - vramBytes); }
};

struct BudgetInputs {
    BudgetSetting setting;
    qint64 deviceFreeBytes = -1;            // at generation start (NVML / cudaMemGetInfo); -1 = unknown
    qint64 deviceTotalBytes = -1;           // for the explanation only; -1 = unknown
    qint64 ourReservedBytes = 0;            // our caching allocator's reserved bytes at that moment
    QVector<OllamaVram> ollama;             // /api/ps (empty: none loaded, or Ollama not reachable)
    qint64 ollamaMarginBytes = 512LL << 20; // services/makeRoomMarginMiB
    qint64 reserveBytes = 2048LL << 20;     // gpu/vramReserveMiB
};

struct VramBudget {
    BudgetSetting::Mode mode = BudgetSetting::Mode::Auto;
    qint64 bytes = -1;       // the budget; -1 = unknown (no device reading)
    qint64 usableBytes = -1; // deviceFree + ourReserved
    qint64 ollamaBytes = 0;  // room left for Ollama (missing VRAM + margin), auto only
    qint64 reserveBytes = 0; // reserve left for others, auto only
    bool clamped = false;    // a size larger than usable was cut down to it
    QString explanation;     // one line: the figures and the formula, for the log and the CLI

    bool known() const { return bytes >= 0; }
};

VramBudget computeBudget(const BudgetInputs& in);

} // namespace tp::gpu
