#include "core/engine/Engine.h"

#include "core/settings/Settings.h"

#include "core/engine/EngineWorker.h"

#include <QMetaObject>

namespace tp::engine {

QString stateName(State s) {
    switch (s) {
    case State::Idle:
        return QStringLiteral("idle");
    case State::Loading:
        return QStringLiteral("loading");
    case State::Generating:
        return QStringLiteral("generating");
    case State::Cleaning:
        return QStringLiteral("cleaning");
    case State::Unloading:
        return QStringLiteral("unloading");
    case State::Reloading:
        return QStringLiteral("reloading");
    }
    return {};
}

Engine::Engine(QObject* parent)
    : QObject(parent) {
    qRegisterMetaType<tp::engine::GenerationRequest>();
    qRegisterMetaType<tp::engine::GenerationResult>();
    qRegisterMetaType<tp::engine::GpuPolicy>();
    qRegisterMetaType<tp::engine::MemoryEvent>();
    qRegisterMetaType<tp::engine::Progress>();
    qRegisterMetaType<tp::engine::State>();
    qRegisterMetaType<tp::gpu::Residency>();
    qRegisterMetaType<tp::gpu::MemorySnapshot>();

    // The hooks run on the worker thread; Q_EMIT from there reaches receivers in other
    // threads as queued signals (AutoConnection), so no tensor-side code waits on the UI.
    EngineWorker::Hooks hooks;
    hooks.state = [this](State s, const QString& detail) {
        m_state = s;
        Q_EMIT stateChanged(s, detail);
    };
    hooks.progress = [this](const Progress& p) { Q_EMIT progress(p); };
    hooks.finished = [this](const GenerationResult& r) {
        answered(r.request.id);
        --m_pending;
        Q_EMIT finished(r);
    };
    hooks.failed = [this](quint64 id, const QString& message) {
        if (id != 0) {
            answered(id);
            --m_pending;
        }
        Q_EMIT failed(id, message);
    };
    hooks.cancelled = [this](quint64 id) {
        answered(id);
        --m_pending;
        Q_EMIT cancelled(id);
    };
    hooks.memoryEvent = [this](const MemoryEvent& e) { Q_EMIT memoryEvent(e); };
    hooks.residency = [this](const QString& model, gpu::Residency where, qint64 bytes, int cudaDevice) {
        Q_EMIT residencyChanged(model, where, bytes, cudaDevice);
    };
    hooks.planned = [this](quint64 id, const QJsonObject& plan) { Q_EMIT planned(id, plan); };
    m_worker = new EngineWorker(std::move(hooks));
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);
    m_thread.setObjectName(QStringLiteral("twistedpic-engine"));
    m_thread.start();
}

Engine::~Engine() {
    m_worker->requestCancel(0);
    QMetaObject::invokeMethod(
        m_worker, [w = m_worker] { w->shutdown(); }, Qt::QueuedConnection);
    m_thread.quit();
    m_thread.wait();
}

quint64 Engine::submit(GenerationRequest request) {
    if (request.id == 0)
        request.id = m_nextId++;
    {
        std::lock_guard lock(m_inFlightMutex);
        m_inFlight.insert(request.id);
    }
    ++m_pending;
    QMetaObject::invokeMethod(
        m_worker, [w = m_worker, request] { w->generate(request); }, Qt::QueuedConnection);
    return request.id;
}

void Engine::cancel(quint64 id) {
    if (id != 0) {
        m_worker->requestCancel(id);
        return;
    }
    // Everything submitted so far, not what comes later.
    std::lock_guard lock(m_inFlightMutex);
    for (quint64 pending : m_inFlight)
        m_worker->requestCancel(pending);
}

void Engine::setFaultInjector(std::function<void(const QString& point)> inject) {
    m_worker->setFaultInjector(std::move(inject));
}

void Engine::answered(quint64 id) {
    std::lock_guard lock(m_inFlightMutex);
    m_inFlight.erase(id);
}

GpuPolicy gpuPolicyFrom(const Settings& s) {
    GpuPolicy policy;
    policy.cleanupAfterGeneration = s.cleanupAfterGeneration();
    policy.unloadAfterGeneration = s.unloadAfterGeneration();
    policy.idleUnloadMinutes = s.idleUnloadMinutes();
    policy.vramBudget = s.value(keys::VramBudget).toString();
    policy.vramReserveBytes = s.value(keys::VramReserveMiB).toLongLong() << 20;
    policy.ollamaMarginBytes = s.value(keys::MakeRoomMarginMiB).toLongLong() << 20;
    policy.cudaGraphs = s.value(keys::CudaGraphs).toBool();
    return policy;
}

void Engine::setPolicy(const GpuPolicy& policy) {
    QMetaObject::invokeMethod(
        m_worker, [w = m_worker, policy] { w->setPolicy(policy); }, Qt::QueuedConnection);
}

void Engine::setModelSources(const QStringList& searchPaths, const QStringList& bundledDirs) {
    QMetaObject::invokeMethod(
        m_worker, [w = m_worker, searchPaths, bundledDirs] { w->setModelSources(searchPaths, bundledDirs); },
        Qt::QueuedConnection);
}

void Engine::cleanupNow(std::function<void()> done) {
    QMetaObject::invokeMethod(
        m_worker,
        [w = m_worker, done = std::move(done)] {
            w->cleanupNow();
            if (done)
                done();
        },
        Qt::QueuedConnection);
}

void Engine::unloadNow(std::function<void()> done) {
    QMetaObject::invokeMethod(
        m_worker,
        [w = m_worker, done = std::move(done)] {
            w->unloadNow();
            if (done)
                done();
        },
        Qt::QueuedConnection);
}

void Engine::preload(const QString& model, const QString& device, const QString& precision) {
    QMetaObject::invokeMethod(
        m_worker, [w = m_worker, model, device, precision] { w->preload(model, device, precision); },
        Qt::QueuedConnection);
}

} // namespace tp::engine
