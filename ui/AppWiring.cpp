#include "ui/AppWiring.h"

#include "core/common/Log.h"
#include "core/common/Paths.h"
#include "core/engine/Engine.h"
#include "core/gpu/VramMonitor.h"
#include "core/io/ModelCatalogue.h"
#include "core/services/OllamaClient.h"
#include "core/services/PromptPipeline.h"
#include "core/services/ServiceSetup.h"
#include "core/services/ServiceStatus.h"
#include "core/services/TwistedPairClient.h"
#include "core/services/VramEstimate.h"
#include "core/settings/Settings.h"
#include "ui/FirstRunDialog.h"
#include "ui/MainWindow.h"
#include "ui/PromptStagesDialog.h"
#include "ui/ServicesPanel.h"

#include <QPointer>
#include <QTimer>

namespace tp::ui {

AppWiring::AppWiring(Settings& settings, engine::Engine& engine, gpu::VramMonitor& monitor,
                     MainWindow& window, bool verboseFromCommandLine, QObject* parent)
    : QObject(parent)
    , m_settings(settings)
    , m_engine(engine)
    , m_monitor(monitor)
    , m_window(window)
    , m_verboseFromCommandLine(verboseFromCommandLine) {
    using engine::Engine;
    // Requests from the window.
    connect(&window, &MainWindow::generateRequested, this, &AppWiring::submit);
    connect(&window, &MainWindow::cancelRequested, &engine, [&engine] { engine.cancel(0); });
    connect(&window, &MainWindow::freeMemoryRequested, &engine, [&engine] { engine.cleanupNow(); });
    connect(&window, &MainWindow::unloadRequested, &engine, [&engine] { engine.unloadNow(); });

    // Results and state back to the window (queued: the engine emits from its thread).
    connect(&engine, &Engine::progress, &window, &MainWindow::onProgress);
    connect(&engine, &Engine::finished, &window, &MainWindow::onFinished);
    connect(&engine, &Engine::failed, &window, &MainWindow::onFailed);
    connect(&engine, &Engine::cancelled, &window, &MainWindow::onCancelled);
    connect(&engine, &Engine::stateChanged, &window, &MainWindow::onStateChanged);
    connect(&engine, &Engine::residencyChanged, &window, &MainWindow::onResidencyChanged);
    connect(&engine, &Engine::memoryEvent, &window, [this](const engine::MemoryEvent& e) {
        m_window.addMemoryEvent(e);
        m_monitor.requestSample(); // so the graph shows the cleanup's effect at once
    });

    // Live VRAM.
    connect(&monitor, &gpu::VramMonitor::sampled, &window, &MainWindow::addVramSample);
    window.setVramHistory(monitor.history());
    monitor.followSettings(settings);
    monitor.start();

    wireServices();
    connect(&settings, &Settings::changed, this, &AppWiring::onSettingChanged);
    applyPolicy();
    engine.setModelSources(settings.modelSearchPaths(), paths::bundledModelDirs());
    refreshModels();
    connect(&window, &MainWindow::firstRunRequested, this, [this] { showFirstRun(); });
    if (!settings.value(keys::FirstRunDone).toBool())
        QTimer::singleShot(0, this, [this] { showFirstRun(); });
}

FirstRunDialog* AppWiring::showFirstRun() {
    if (!m_firstRun) {
        m_firstRun = new FirstRunDialog(m_settings, &m_window);
        m_firstRun->setAttribute(Qt::WA_DeleteOnClose);
        connect(&m_monitor, &gpu::VramMonitor::sampled, m_firstRun, &FirstRunDialog::setVramSample);
        connect(m_poller, &services::ServiceStatusPoller::ollamaUpdated, m_firstRun,
                &FirstRunDialog::setOllamaStatus);
        connect(m_poller, &services::ServiceStatusPoller::twistedPairUpdated, m_firstRun,
                &FirstRunDialog::setTwistedPairStatus);
    }
    // What is known now; the rest arrives as it comes, nothing here waits for a service.
    if (m_lastVram.msecsSinceEpoch > 0)
        m_firstRun->setVramSample(m_lastVram);
    m_firstRun->setOllamaStatus(m_poller->ollama());
    m_firstRun->setTwistedPairStatus(m_poller->twistedPair());
    m_firstRun->setModels(m_lastModels);
    m_firstRun->show();
    m_firstRun->raise();
    m_monitor.requestSample();
    return m_firstRun;
}

void AppWiring::applyPolicy() {
    engine::GpuPolicy policy;
    policy.cleanupAfterGeneration = m_settings.cleanupAfterGeneration();
    policy.unloadAfterGeneration = m_settings.unloadAfterGeneration();
    policy.idleUnloadMinutes = m_settings.idleUnloadMinutes();
    m_engine.setPolicy(policy);
}

void AppWiring::onSettingChanged(const QString& key) {
    if (key == keys::CleanupAfterGeneration || key == keys::UnloadAfterGeneration ||
        key == keys::IdleUnloadMinutes) {
        applyPolicy();
    } else if (key == keys::ModelSearchPaths) {
        m_engine.setModelSources(m_settings.modelSearchPaths(), paths::bundledModelDirs());
        refreshModels();
    } else if (key.startsWith(QLatin1String("services/"))) {
        services::applySettings(m_settings, *m_ollama);
        services::applySettings(m_settings, *m_twistedPair);
        m_poller->refresh();
    } else if (key == keys::LogVerbose && !m_verboseFromCommandLine) {
        log::setVerbose(m_settings.verboseLogging());
    }
}

void AppWiring::refreshModels() {
    const io::ModelCatalogue catalogue =
        io::ModelCatalogue::scan(m_settings.modelSearchPaths(), paths::bundledModelDirs());
    QVector<ModelEntry> entries;
    m_lastModels = catalogue.models();
    if (m_firstRun)
        m_firstRun->setModels(m_lastModels);
    for (const io::ModelInfo& m : catalogue.models()) {
        if (!m.supported)
            continue;
        ModelEntry e;
        e.id = m.folder;
        e.label = QStringLiteral("%1 (%2, %3)").arg(m.name, m.family, io::formatSize(m.sizeBytes));
        e.tooltip = QStringLiteral("%1\n%2 · %3 · %4").arg(m.folder, m.family, m.precision, m.source);
        e.nativeSize = m.nativeSize;
        e.family = m.family;
        e.defaults = m.defaults;
        e.samplers = io::familyTraits(m.familyId).samplers;
        e.sizePresets = io::familyTraits(m.familyId).sizePresets;
        entries.push_back(e);
    }
    QString current = m_settings.value(keys::DefaultModel).toString();
    if (const io::ModelInfo* chosen = current.isEmpty() ? catalogue.defaultModel() : catalogue.find(current))
        current = chosen->folder;
    m_window.setModels(entries, current);
    spdlog::info("{} usable model(s) found in {} ms", entries.size(), catalogue.scanMilliseconds());
}

void AppWiring::wireServices() {
    m_ollama = new services::OllamaClient(services::OllamaClient::defaultUrl(), this);
    m_twistedPair = new services::TwistedPairClient(services::TwistedPairClient::defaultUrl(), this);
    services::applySettings(m_settings, *m_ollama);
    services::applySettings(m_settings, *m_twistedPair);
    m_poller = new services::ServiceStatusPoller(m_ollama, m_twistedPair, this);

    // Our side of "give the GPU back": the engine's own cleanup and unload, on its thread.
    services::CoTenancyHooks hooks;
    hooks.freeCache = [this](services::CoTenancyHooks::Done done) {
        m_engine.cleanupNow([done] { done(Status::ok()); });
    };
    hooks.unloadModel = [this](services::CoTenancyHooks::Done done) {
        m_engine.unloadNow([done] { done(Status::ok()); });
    };
    hooks.deviceFreeBytes = [this]() -> qint64 {
        m_monitor.requestSample();
        return m_lastVram.devices.isEmpty() ? -1 : m_lastVram.devices.first().freeBytes;
    };
    m_coTenancy = new services::CoTenancy(m_ollama, std::move(hooks), this);
    m_pipeline = new services::PromptPipeline(m_twistedPair, m_ollama, this);

    ServicesPanel* panel = m_window.servicesPanel();
    connect(m_poller, &services::ServiceStatusPoller::ollamaUpdated, this,
            [this, panel](const services::OllamaStatus& s) {
                panel->setOllamaStatus(s);
                m_ollamaLoaded = s.up ? s.loaded : QVector<services::OllamaLoadedModel>();
                rediagnose();
            });
    connect(m_poller, &services::ServiceStatusPoller::twistedPairUpdated, panel,
            &ServicesPanel::setTwistedPairStatus);
    connect(&m_monitor, &gpu::VramMonitor::sampled, this, [this](const gpu::VramSample& s) {
        m_lastVram = s;
        m_ours.reservedBytes = s.self.valid ? s.self.reservedBytes : 0;
        m_ours.allocatedBytes = s.self.valid ? s.self.allocatedBytes : 0;
        rediagnose();
    });
    connect(&m_engine, &engine::Engine::residencyChanged, this,
            [this](const QString& model, const QString& where, qint64 bytes) {
                m_ours.modelName = model;
                m_ours.modelResident = where == QLatin1String("on GPU") || where == QLatin1String("mixed");
                m_loadedWeightBytes = bytes;
            });
    connect(&m_engine, &engine::Engine::stateChanged, this, [this](engine::State state, const QString&) {
        m_ours.generating = state != engine::State::Idle;
    });
    connect(panel, &ServicesPanel::giveBackRequested, this, &AppWiring::giveGpuBack);
    connect(panel, &ServicesPanel::refreshRequested, m_poller, &services::ServiceStatusPoller::refresh);
    connect(m_coTenancy, &services::CoTenancy::step, this,
            [](const QString& text) { spdlog::info("{}", text); });
    m_poller->start(ServicesIntervalMs);
}

void AppWiring::rediagnose() {
    const int device = m_lastVram.devices.isEmpty() ? 0 : m_lastVram.devices.first().index;
    m_diagnosis = services::diagnoseCoTenancy(m_ollamaLoaded, m_ours, m_lastVram, device);
    m_window.servicesPanel()->setDiagnosis(m_diagnosis);
}

void AppWiring::giveGpuBack() {
    if (m_coTenancy->isBusy() || !m_diagnosis.canFix())
        return;
    ServicesPanel* panel = m_window.servicesPanel();
    panel->setActionRunning(true);
    QPointer<AppWiring> self(this);
    m_coTenancy->giveGpuBackToOllama(m_diagnosis, [self, panel](const services::CoTenancyReport& report) {
        QMetaObject::invokeMethod(
            self,
            [self, panel, report] {
                panel->showActionReport(report);
                panel->setActionRunning(false);
                self->m_poller->refresh();
            },
            Qt::QueuedConnection);
    });
}

void AppWiring::submit(const engine::GenerationRequest& request) {
    if (!m_settings.value(keys::DistortEnabled).toBool()) {
        submitToEngine(request);
        return;
    }
    // The prompt pipeline first; its stages are shown and the final prompt can be edited.
    spdlog::info("prompt pipeline: distorting \"{}\"", request.prompt.left(60).toStdString());
    QPointer<AppWiring> self(this);
    m_pipeline->run(request.prompt, services::PromptPipelineConfig::fromSettings(m_settings),
                    [self, request](const services::PromptPipelineResult& result) {
                        QMetaObject::invokeMethod(
                            self, [self, request, result] { self->showPromptStages(request, result); },
                            Qt::QueuedConnection);
                    });
}

void AppWiring::showPromptStages(const engine::GenerationRequest& request,
                                 const services::PromptPipelineResult& result) {
    auto* dialog = new PromptStagesDialog(result, &m_window);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog, request, result] {
        engine::GenerationRequest r = request;
        QVariantMap record = result.record;
        record.insert(QStringLiteral("finalPromptEdited"), dialog->edited());
        record.insert(QStringLiteral("finalPromptUsed"), dialog->finalPrompt());
        r.prompt = dialog->finalPrompt();
        r.extra.insert(QStringLiteral("promptPipeline"), record);
        submitToEngine(r);
    });
    connect(dialog, &QDialog::rejected, this, [this, request] { m_window.onCancelled(request.id); });
    dialog->open();
}

void AppWiring::submitToEngine(const engine::GenerationRequest& request) {
    const bool makeRoom = m_settings.value(keys::MakeRoomBeforeGenerating).toBool();
    const bool gpu = !m_lastVram.devices.isEmpty() && m_lastVram.gpuAvailable;
    if (!makeRoom || !gpu || m_coTenancy->isBusy() || request.device == QLatin1String("cpu")) {
        m_engine.submit(request);
        return;
    }
    services::GenerationShape shape;
    shape.weightsBytes = m_loadedWeightBytes;
    shape.width = request.width;
    shape.height = request.height;
    shape.batch = request.count;
    shape.guidance = request.guidance > 1.0;
    shape.materializedAttention = false;
    const services::GenerationVramEstimate estimate = services::estimateGenerationVram(shape);
    const qint64 margin = m_settings.value(keys::MakeRoomMarginMiB).toLongLong() * 1024 * 1024;
    const qint64 need = services::CoTenancy::bytesNeededBeforeGenerating(estimate, m_ours, margin);
    const qint64 freeBytes = m_lastVram.devices.first().freeBytes;
    spdlog::info("make room before generating: need {} MiB, {} MiB free ({})", need >> 20, freeBytes >> 20,
                 estimate.explanation.toStdString());
    QPointer<AppWiring> self(this);
    m_coTenancy->makeRoom(need, freeBytes, [self, request](const services::CoTenancyReport& report) {
        QMetaObject::invokeMethod(
            self,
            [self, request, report] {
                for (const QString& step : report.steps)
                    spdlog::info("make room: {}", step);
                self->m_engine.submit(request);
            },
            Qt::QueuedConnection);
    });
}

} // namespace tp::ui
