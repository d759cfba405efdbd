#pragma once

#include "core/engine/EngineTypes.h"

#include <QObject>
#include <QStringList>
#include <QThread>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>

namespace tp {
class Settings;
}

namespace tp::engine {

class EngineWorker;

// The after-generation policy and the VRAM budget as the settings say (gpu/cleanupAfterGeneration,
// gpu/unloadAfterGeneration, gpu/idleUnloadMinutes, gpu/vramBudget, gpu/vramReserveMiB,
// services/makeRoomMarginMiB).
GpuPolicy gpuPolicyFrom(const Settings& settings);

// The generation engine: one long-lived worker on its own thread (qBittorrent's
// TorrentCreator, Qt Creator's Utils::Async). Requests go in through queued calls and
// come back as queued signals; nothing here blocks the caller's thread. Torch-free
// header: the UI includes it.
class Engine final : public QObject {
    Q_OBJECT
public:
    explicit Engine(QObject* parent = nullptr);
    ~Engine() override; // cancels, waits for the worker to finish its current step

    // Queues a request; returns its id (the request's own when non-zero).
    quint64 submit(GenerationRequest request);
    // An id no request has yet, for a caller that needs it before submitting (the coordinator).
    quint64 reserveId() { return m_nextId++; }
    // Cancels the request `id` (queued or running); 0 cancels every request submitted so far
    // (not later ones). Thread-safe;
    // the running generation stops between two denoising steps and frees what it holds.
    void cancel(quint64 id = 0);

    void setPolicy(const GpuPolicy& policy);
    // Where the catalogue looks for models (settings' search paths + bundled dirs).
    void setModelSources(const QStringList& searchPaths, const QStringList& bundledDirs);
    // Immediate actions from the VRAM and Services panels. `done` runs on the engine's thread
    // once the action is over (also when there was nothing to do).
    void cleanupNow(std::function<void()> done = {});
    void unloadNow(std::function<void()> done = {});
    void preload(const QString& model, const QString& device, const QString& precision);

    // Tests: `inject` runs on the engine thread at each named point of every engine-thread path
    // ("load", "reload", "generate", "policy", "write", "cleanup", "unload", "idle-unload",
    // "shutdown") and may throw there. Empty: none.
    void setFaultInjector(std::function<void(const QString& point)> inject);

    State state() const { return m_state.load(); }
    bool busy() const { return m_pending.load() > 0; }

Q_SIGNALS:
    void stateChanged(tp::engine::State state, const QString& detail);
    void progress(const tp::engine::Progress& progress);
    void finished(const tp::engine::GenerationResult& result);
    void failed(quint64 id, const QString& message); // id 0: not a generation (preload)
    void cancelled(quint64 id);
    void memoryEvent(const tp::engine::MemoryEvent& event);
    // The loaded model (empty: none), where its weights are, their size and the CUDA device the
    // engine uses (-1: the CPU): for "Model on GPU · 2.1 GiB" and the graph's device.
    void residencyChanged(const QString& model, tp::gpu::Residency where, qint64 weightBytes, int cudaDevice);
    // The VRAM budget and placement plan generation `id` runs with (issue 16), emitted before it
    // starts: gpu::Plan::toJson() ("description", "budgetBytes", "predictedPeakBytes", "components",
    // …) plus "budgetExplanation" (how the budget was reached). Not emitted when no plan is made
    // (the CPU, or the budget "all").
    void planned(quint64 id, const QJsonObject& plan);

private:
    QThread m_thread;
    EngineWorker* m_worker = nullptr; // lives on m_thread
    std::atomic<quint64> m_nextId{1};
    std::atomic<int> m_pending{0};
    std::atomic<State> m_state{State::Idle};
    // Submitted requests without an answer yet: what cancel(0) cancels.
    mutable std::mutex m_inFlightMutex;
    std::set<quint64> m_inFlight;
    void answered(quint64 id);
};

} // namespace tp::engine
