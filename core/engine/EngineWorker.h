#pragma once

#include "core/engine/EngineTypes.h"
#include "core/gpu/GpuMemory.h"
#include "core/gpu/PlacementPlanner.h"
#include "core/gpu/PlanMemory.h"
#include "core/io/SingleFileCheckpoint.h"
#include "core/pipeline/TextToImage.h"

#include <QObject>
#include <QStringList>
#include <QTimer>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

namespace tp::engine {

// The part of the engine that lives on the worker thread and owns every tensor. Engine (the
// facade) queues calls into it; it reports through Engine's signals via the emit hooks.
class EngineWorker final : public QObject {
    Q_OBJECT
public:
    struct Hooks {
        std::function<void(State, const QString&)> state;
        std::function<void(const Progress&)> progress;
        std::function<void(const GenerationResult&)> finished;
        std::function<void(quint64, const QString&)> failed;
        std::function<void(quint64)> cancelled;
        std::function<void(const MemoryEvent&)> memoryEvent;
        // model (empty: none loaded), where its weights are, their bytes, CUDA index (-1: CPU)
        std::function<void(const QString&, gpu::Residency, qint64, int)> residency;
        // the placement plan a generation runs with (gpu::Plan::toJson() plus "budgetExplanation"),
        // once it is carried out, before the generation starts (null: none is made)
        std::function<void(quint64, const QJsonObject&)> planned;
    };
    explicit EngineWorker(Hooks hooks);
    ~EngineWorker() override;

    // Tests: called on the worker thread at each named point of every path (load, reload,
    // generate, policy, write, cleanup, unload, idle-unload, shutdown); it may throw to inject a
    // failure there. Thread-safe.
    using FaultInjector = std::function<void(const QString& point)>;
    void setFaultInjector(FaultInjector inject);

    // Thread-safe.
    void requestCancel(quint64 id);
    void forgetCancel(quint64 id);
    bool isCancelled(quint64 id) const;

    // Worker thread only (queued from Engine).
    void generate(const GenerationRequest& request);
    void setPolicy(const GpuPolicy& policy);
    void setModelSources(const QStringList& searchPaths, const QStringList& bundledDirs);
    void cleanupNow();
    void unloadNow();
    void preload(const QString& model, const QString& device, const QString& precision);
    void shutdown(); // drops the model and frees its memory before the thread ends

private:
    struct Resolved {
        QString name;
        QString folder;
        io::ModelFamily family = io::ModelFamily::Unknown;
    };
    Result<Resolved> resolveModel(const QString& nameOrPath, const io::SingleFileOptions& files = {});
    // Makes `folder` the loaded model on `device`, on the GPU: loads, or reloads from RAM. `files`:
    // a single file's given companions. `leaveOut`: components this run goes without (SD 3's T5):
    // not loaded, or dropped from the loaded model (its memory freed); a run that needs one the
    // model was loaded without loads the model again.
    Status ensureLoaded(const Resolved& model, const io::SingleFileOptions& files,
                        const QStringList& leaveOut, const pipeline::DeviceChoice& device, Timings* timings);
    void releaseModel();
    // Issue 16: the placement plan for this request within the VRAM budget (core/engine/PlanExecution.h),
    // made from the model's files and the device's memory before the model loads; nullopt when none
    // applies or planning failed (logged: the run goes on with everything resident).
    std::optional<gpu::Plan> planGeneration(const GenerationRequest& request, const Resolved& model,
                                            const io::SingleFileOptions& files,
                                            const pipeline::DeviceChoice& device);
    // Carries the plan out on the loaded model (a plan it already runs is not applied again) and
    // announces it; without a plan, brings an earlier plan's model back whole. Returns the plan in
    // force (nullopt when carrying it out failed: everything is then resident).
    std::optional<gpu::Plan> carryOutPlan(quint64 id, std::optional<gpu::Plan> plan);
    std::optional<gpu::Plan> placeByPlan(std::optional<gpu::Plan> plan); // carryOutPlan's moves
    MemoryFigures figures() const;
    void applyPolicyAfterGeneration(GenerationResult* result);
    void doCleanup(const QString& why);
    void doUnload(const QString& why);
    // Runs `move` (the model's components moving: releaseAll(), beforeStage()) and reports it as one
    // transfer of the whole model, timed, with the device before and after.
    gpu::TransferReport moveModel(const QString& verb,
                                  const std::function<std::vector<gpu::TransferReport>()>& move);
    void emitResidency();
    void restartIdleTimer();
    QString outOfMemoryAdvice(const std::exception& e, const GenerationRequest& r);
    void setState(State s, const QString& detail = {});
    void faultPoint(const QString& point);
    // Runs `body`; any libtorch error, std::bad_alloc (a pinned allocation that failed) or other
    // exception is caught, logged and reported (Engine::failed with id 0), and the engine is
    // left idle and usable. Returns false when `body` threw.
    bool guarded(const QString& what, const std::function<void()>& body);
    // Hands the plan (with how the budget was reached) to the planned hook.
    void announcePlan(quint64 id, const gpu::Plan& plan, const QString& budgetLine);
    QString m_lastBudgetLine; // the last plan's budget explanation (the OOM retry's plan reuses it)

    Hooks m_hooks;
    GpuPolicy m_policy;
    QStringList m_searchPaths;
    QStringList m_bundledDirs;

    std::unique_ptr<pipeline::DiffusionModel> m_model;
    QString m_modelName;
    QString m_modelKey;           // folder + device + dtype + given companion files
    QStringList m_leftOut;        // components the loaded model was loaded or is running without
    QStringList m_companionFiles; // the loaded single file's companions
    gpu::MemoryManager m_memory;  // for the device the loaded model uses
    gpu::PlanMemory m_planMemory; // learned shrink levels (loaded on the first plan)
    bool m_planMemoryLoaded = false;
    QString m_appliedPlan; // what the loaded model runs: its plan's description and level; empty: none
    int m_cudaDevice = -1;
    std::set<int> m_warmedDevices; // CUDA devices pipeline::warmUpDevice() ran on (once each a process)
    QTimer* m_idleTimer = nullptr;

    std::mutex m_faultMutex;
    FaultInjector m_faultInjector;

    mutable std::mutex m_cancelMutex;
    std::set<quint64> m_cancelled;
    std::atomic<quint64> m_cancelBelow{0}; // every id below this is cancelled (cancel all)
    quint64 m_highestSeen = 0;
};

} // namespace tp::engine
