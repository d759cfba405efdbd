#pragma once

#include "core/common/Result.h"
#include "core/gpu/VramTypes.h"
#include "core/services/OllamaClient.h"
#include "core/services/VramEstimate.h"

#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>

#include <algorithm>
#include <functional>

namespace tp::services {

// What TwistedPic itself holds on the GPU (the engine's memory figures).
struct OurGpuUse {
    qint64 reservedBytes = 0;  // caching allocator: reserved (held from the device)
    qint64 allocatedBytes = 0; // of that, in live tensors (the weights, when idle)
    bool modelResident = false;
    bool generating = false;
    QString modelName;

    qint64 cachedBytes() const { return std::max<qint64>(0, reservedBytes - allocatedBytes); }
};

// Ollama keeps this much free beside a model when it places one (REFERENCE.md: "free
// memory minus OLLAMA_GPU_OVERHEAD minus ~457 MiB").
constexpr qint64 kOllamaGpuReserveBytes = 457LL * 1024 * 1024;

// Whether Ollama runs a model partly on the CPU because of us, and what would fix it.
struct CoTenancyDiagnosis {
    enum class Verdict {
        Fine,             // every Ollama model is fully on the GPU (or none is loaded)
        NoGpu,            // no GPU figures: nothing to judge
        PartlyOnCpu,      // an Ollama model is partly on the CPU while we hold GPU memory
        PartlyOnCpuNotUs, // ...while we hold none: too big, or someone else holds memory
    };
    // What giveGpuBackToOllama() will do.
    enum class Fix {
        None,
        ReloadOnly,          // we hold nothing, but the GPU now has room: let Ollama reload it
        FreeCacheThenReload, // freeing our allocator cache is enough
        UnloadThenReload,    // our model's weights must leave the GPU too
        ReleaseAllStillShort // even everything we hold is not enough; it still helps
    };

    Verdict verdict = Verdict::Fine;
    Fix fix = Fix::None;
    QString ollamaModel; // the affected model (the one with most bytes on the CPU)
    int gpuPercent = 100;
    qint64 ollamaNeedBytes = 0;     // its size + Ollama's reserve
    qint64 ollamaVramBytes = 0;     // its share on the GPU now
    qint64 deviceFreeBytes = 0;     // free on our device now
    qint64 freeIfOllamaUnloads = 0; // device free now + its share on the GPU
    qint64 ourCachedBytes = 0;
    qint64 ourAllocatedBytes = 0;
    QString summary;  // one line: "mistral:latest runs 38% on the CPU while TwistedPic holds 6.2 GiB of GPU
                      // memory."
    QString details;  // the figures, in words
    QString proposal; // what the fix does, for a button's tooltip or a prompt

    bool problem() const { return verdict == Verdict::PartlyOnCpu || verdict == Verdict::PartlyOnCpuNotUs; }
    bool canFix() const { return fix != Fix::None; }
};

// `deviceIndex` selects the device our engine uses within `vram.devices`.
CoTenancyDiagnosis diagnoseCoTenancy(const QVector<OllamaLoadedModel>& ollama, const OurGpuUse& ours,
                                     const gpu::VramSample& vram, int deviceIndex = 0);

// What an action did, step by step, in words.
struct CoTenancyReport {
    bool ok = false;
    bool cancelled = false; // cancel() ended it
    QStringList steps;
    QString error;
    QStringList unloadedOllamaModels;
    bool freedOurCache = false;
    bool unloadedOurModel = false;
    qint64 freeBytesAfter = -1; // -1: unknown
};

// Our side of the actions, injected so that this logic needs no engine. Each action
// runs asynchronously and calls `done` once; `done` may be called from any thread.
struct CoTenancyHooks {
    using Done = std::function<void(Status)>;
    std::function<void(Done)> freeCache;   // empty the allocator cache (cleanup)
    std::function<void(Done)> unloadModel; // move our model's weights to RAM, then free the cache
    // A fresh reading of the device's free bytes (-1 = unknown). Optional.
    std::function<qint64()> deviceFreeBytes;
};

// Carries out co-tenancy actions: ours through the hooks, Ollama's over HTTP. Every
// step is logged, emitted as step(), and listed in the report.
class CoTenancy final : public QObject {
    Q_OBJECT
public:
    CoTenancy(OllamaClient* ollama, CoTenancyHooks hooks, QObject* parent = nullptr);

    // In this order: free our cache; unload our model if what we still hold would keep
    // the Ollama model from fitting; THEN ask Ollama to unload the model, so that its
    // next request loads it onto the GPU. Stops at the first failure.
    void giveGpuBackToOllama(const CoTenancyDiagnosis& diagnosis,
                             std::function<void(const CoTenancyReport&)> done);

    // Bytes that must be free on the device before a generation of `estimate`:
    // weights unless already resident, plus working memory, less the cache we can
    // reuse, plus `marginBytes`.
    static qint64 bytesNeededBeforeGenerating(const GenerationVramEstimate& estimate, const OurGpuUse& ours,
                                              qint64 marginBytes);
    // "Make room before generating": when `freeBytes` < `needBytes`, unloads loaded
    // Ollama models (fetched from /api/ps) until the projected free memory covers the
    // need: the smallest single model that covers it, else the largest first.
    void makeRoom(qint64 needBytes, qint64 freeBytes, std::function<void(const CoTenancyReport&)> done);

    bool isBusy() const { return m_busy; }
    // Ends a makeRoom() in progress at once: its Ollama request is aborted, nothing more is
    // asked, and its `done` gets a report with `cancelled` set. Does nothing when idle.
    void cancel();
    // After asking Ollama to unload, wait until /api/ps no longer lists the model
    // (Ollama frees the memory just after it answers), at most this long.
    void setUnloadWaitMs(int ms) { m_unloadWaitMs = ms; }

Q_SIGNALS:
    void step(const QString& text);

private:
    struct Run;
    void log(const std::shared_ptr<Run>& run, const QString& text);
    void runHook(const std::function<void(CoTenancyHooks::Done)>& hook, std::function<void(Status)> next);
    void unloadOllama(const std::shared_ptr<Run>& run, const QString& model, std::function<void(bool)> next);
    void waitUntilGone(const std::shared_ptr<Run>& run, const QStringList& models, qint64 deadlineMs,
                       std::function<void()> next);
    void unloadInTurn(const std::shared_ptr<Run>& run, QVector<OllamaLoadedModel> queue, qint64 needBytes,
                      qint64 projectedFree);
    void finish(const std::shared_ptr<Run>& run, bool ok, const QString& error = {});

    OllamaClient* m_ollama = nullptr;
    CoTenancyHooks m_hooks;
    bool m_busy = false;
    std::shared_ptr<Run> m_current; // the makeRoom() in progress
    int m_unloadWaitMs = 10000;
};

} // namespace tp::services
