#include "ui/AppWiring.h"

#include "core/common/Log.h"
#include "core/common/Paths.h"
#include "core/engine/Engine.h"
#include "core/generation/GenerationCoordinator.h"
#include "core/gpu/VramBudget.h"
#include "core/gpu/VramMonitor.h"
#include "core/io/ModelCatalogue.h"
#include "core/services/OllamaClient.h"
#include "core/services/PromptPipeline.h"
#include "core/services/ServiceSetup.h"
#include "core/services/ServiceStatus.h"
#include "core/services/TwistedPairClient.h"
#include "core/settings/Settings.h"
#include "ui/FirstRunDialog.h"
#include "ui/MainWindow.h"
#include "ui/PromptStagesDialog.h"
#include "ui/ServicesPanel.h"
#include "ui/VramPanel.h"

#include <QApplication>
#include <QPointer>
#include <QStatusBar>
#include <QThreadPool>
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
    connect(&window, &MainWindow::cancelRequested, this, [this] {
        if (m_waitingForModels) { // not started yet
            const quint64 id = m_waitingForModels->id;
            m_waitingForModels.reset();
            m_window.onCancelled(id);
            return;
        }
        m_coordinator->cancel(); // the TwistedPair/Ollama request, make room, or the engine
        m_engine.cancel(0);
    });
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
        if (e.kind == engine::MemoryEvent::Kind::GenerationStart)
            onGenerationStart();
        m_window.addMemoryEvent(e);
        m_monitor.requestSample(); // so the graph shows the cleanup's effect at once
    });

    // The budget and placement plan of each generation (issue 16). The engine announces a plan
    // before that generation's GenerationStart event (the same thread, so the queued signals keep
    // their order), and again for the lower plan of an out-of-memory retry while it runs.
    connect(&engine, &Engine::planned, &window, [this](quint64, const QJsonObject& plan) {
        if (!m_generationRunning)
            m_planForNextStart = true;
        m_window.vramPanel()->setPlan(plan);
    });
    connect(&engine, &Engine::stateChanged, this, [this](engine::State state, const QString&) {
        if (state == engine::State::Idle) { // also after a run that failed before it started
            m_generationRunning = false;
            m_planForNextStart = false;
        }
    });
    connect(&engine, &Engine::residencyChanged, this,
            [this](const QString& model, gpu::Residency where, qint64, int) {
                m_modelOnCpu = !model.isEmpty() && where == gpu::Residency::Cpu;
            });

    if (budgetIsAll())
        window.vramPanel()->clearPlan(VramPanel::NoPlan::BudgetAll);

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
    m_engine.setPolicy(engine::gpuPolicyFrom(m_settings));
}

void AppWiring::onSettingChanged(const QString& key) {
    if (key == keys::CleanupAfterGeneration || key == keys::UnloadAfterGeneration ||
        key == keys::IdleUnloadMinutes || key == keys::VramBudget || key == keys::VramReserveMiB ||
        key == keys::MakeRoomMarginMiB || key == keys::CudaGraphs) {
        applyPolicy();
        // Until the next generation shows its plan, the panel says whether one will be made.
        if (key == keys::VramBudget && !m_window.vramPanel()->hasPlan())
            m_window.vramPanel()->clearPlan(budgetIsAll() ? VramPanel::NoPlan::BudgetAll
                                                          : VramPanel::NoPlan::Yet);
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
    // Reading model folders (and the Hugging Face cache) can take a while on a slow disk.
    const quint64 serial = ++m_scanSerial;
    const QStringList searchPaths = m_settings.modelSearchPaths();
    const QStringList bundled = paths::bundledModelDirs();
    QPointer<AppWiring> self(this);
    QThreadPool::globalInstance()->start([self, serial, searchPaths, bundled] {
        auto catalogue =
            std::make_shared<const io::ModelCatalogue>(io::ModelCatalogue::scan(searchPaths, bundled));
        QMetaObject::invokeMethod(
            qApp,
            [self, serial, catalogue] {
                if (self && serial == self->m_scanSerial)
                    self->applyModels(catalogue);
            },
            Qt::QueuedConnection);
    });
}

void AppWiring::applyModels(const std::shared_ptr<const io::ModelCatalogue>& scanned) {
    m_catalogue = scanned;
    const io::ModelCatalogue& catalogue = *scanned;
    QVector<ModelEntry> entries;
    m_lastModels = catalogue.models();
    if (m_firstRun)
        m_firstRun->setModels(m_lastModels);
    QVector<ModelEntry> incomplete; // single files that lack companion files: listed, not choosable
    for (const io::ModelInfo& m : catalogue.models()) {
        if (!m.supported && !m.missingParts.isEmpty()) {
            ModelEntry e;
            e.id = m.folder;
            e.label =
                tr("%1 (%2) — needs %3").arg(m.name, m.family, m.missingParts.join(QStringLiteral(", ")));
            e.family = m.family;
            e.unusable = m.problem;
            incomplete.push_back(e);
            continue;
        }
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
        e.offersWithoutT5 = !io::familyTraits(m.familyId).optionalT5.isEmpty();
        e.t5Bytes = m.t5Bytes;
        e.weightBytes = m.sizeBytes;
        if (!m.companions.isEmpty())
            e.tooltip += QStringLiteral("\n") + tr("with %1").arg(m.companions.join(QStringLiteral(", ")));
        entries.push_back(e);
    }
    entries += incomplete;
    QString current = m_settings.value(keys::DefaultModel).toString();
    if (const io::ModelInfo* chosen = current.isEmpty() ? catalogue.defaultModel() : catalogue.find(current))
        current = chosen->folder;
    m_window.setModels(entries, current);
    spdlog::info("{} usable model(s) found in {} ms", entries.size() - incomplete.size(),
                 catalogue.scanMilliseconds());
    Q_EMIT modelsRefreshed();
    if (m_waitingForModels) {
        const engine::GenerationRequest waiting = *m_waitingForModels;
        m_waitingForModels.reset();
        submit(waiting);
    }
}

void AppWiring::wireServices() {
    m_ollama = new services::OllamaClient(services::OllamaClient::defaultUrl(), this);
    m_twistedPair = new services::TwistedPairClient(services::TwistedPairClient::defaultUrl(), this);
    services::applySettings(m_settings, *m_ollama);
    services::applySettings(m_settings, *m_twistedPair);
    m_poller = new services::ServiceStatusPoller(m_ollama, m_twistedPair, this);

    // One path for every generation (the CLI's too); its co-tenancy object also serves the
    // Services panel's "give the GPU back", so that two such actions never run at once.
    m_coordinator = new generation::GenerationCoordinator(
        m_engine, m_twistedPair, m_ollama,
        [this](int cudaDevice) -> qint64 {
            const gpu::VramSample fresh = m_monitor.readNow();
            if (!fresh.gpuAvailable)
                return -1;
            for (const gpu::DeviceSample& d : fresh.devices)
                if (d.index == cudaDevice)
                    return d.freeBytes;
            return -1;
        },
        this);
    m_coTenancy = &m_coordinator->coTenancy();
    connect(m_coordinator, &generation::GenerationCoordinator::failed, &m_window, &MainWindow::onFailed);
    connect(m_coordinator, &generation::GenerationCoordinator::cancelled, &m_window,
            &MainWindow::onCancelled);
    connect(m_coordinator, &generation::GenerationCoordinator::notice, &m_window,
            [this](const QString& text) {
                spdlog::warn("{}", text);
                m_window.statusBar()->showMessage(text, 15000);
            });
    connect(m_coordinator, &generation::GenerationCoordinator::stageChanged, &m_window,
            [this](generation::Stage stage, const QString&) {
                if (stage == generation::Stage::Distorting)
                    m_window.statusBar()->showMessage(tr("Distorting the prompt with TwistedPair…"));
                else if (stage == generation::Stage::Refining)
                    m_window.statusBar()->showMessage(tr("Refining to visual keywords with Ollama…"));
                else if (stage == generation::Stage::MakingRoom)
                    m_window.statusBar()->showMessage(tr("Making room on the GPU…"));
            });

    ServicesPanel* panel = m_window.servicesPanel();
    connect(m_poller, &services::ServiceStatusPoller::ollamaUpdated, this,
            [this, panel](const services::OllamaStatus& s) {
                panel->setOllamaStatus(s);
                if (s.up) {
                    QStringList names;
                    for (const services::OllamaModel& m : s.installed)
                        names << m.name;
                    m_window.form()->setOllamaModels(names);
                }
                m_ollamaLoaded = s.up ? s.loaded : QVector<services::OllamaLoadedModel>();
                m_coordinator->noteOllamaStatus(s); // the next generation's VRAM budget
                rediagnose();
            });
    connect(m_poller, &services::ServiceStatusPoller::twistedPairUpdated, panel,
            &ServicesPanel::setTwistedPairStatus);
    connect(&m_monitor, &gpu::VramMonitor::sampled, this, [this](const gpu::VramSample& s) {
        m_lastVram = s;
        m_ours.reservedBytes = s.self.valid ? s.self.reservedBytes : 0;
        m_ours.allocatedBytes = s.self.valid ? s.self.allocatedBytes : 0;
        rediagnose();
        // Before the engine picked a device: the first one's figure.
        const qint64 free = !s.gpuAvailable                              ? -1
                            : m_engineDevice < 0 && !s.devices.isEmpty() ? s.devices.first().freeBytes
                                                                         : engineDeviceFreeBytes(s);
        m_window.form()->setGpuMemory(free, m_ours.modelResident ? m_loadedWeightBytes : 0);
    });
    connect(&m_engine, &engine::Engine::residencyChanged, this,
            [this](const QString& model, gpu::Residency where, qint64 bytes, int cudaDevice) {
                m_ours.modelName = model;
                m_ours.modelResident = where == gpu::Residency::OnGpu || where == gpu::Residency::Mixed;
                m_loadedWeightBytes = bytes;
                if (cudaDevice >= 0)
                    m_engineDevice = cudaDevice;
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

qint64 AppWiring::engineDeviceFreeBytes(const gpu::VramSample& sample) const {
    for (const gpu::DeviceSample& d : sample.devices)
        if (d.index == m_engineDevice)
            return d.freeBytes;
    return -1;
}

void AppWiring::rediagnose() {
    m_diagnosis = services::diagnoseCoTenancy(m_ollamaLoaded, m_ours, m_lastVram, m_engineDevice);
    m_window.servicesPanel()->setDiagnosis(m_diagnosis);
}

void AppWiring::onGenerationStart() {
    m_generationRunning = true;
    if (m_planForNextStart) {
        m_planForNextStart = false;
        return;
    }
    using NoPlan = VramPanel::NoPlan;
    m_window.vramPanel()->clearPlan(m_modelOnCpu    ? NoPlan::Cpu
                                    : budgetIsAll() ? NoPlan::BudgetAll
                                                    : NoPlan::NotMade);
}

bool AppWiring::budgetIsAll() const {
    const Result<gpu::BudgetSetting> budget = gpu::parseBudget(m_settings.value(keys::VramBudget).toString());
    return budget && budget->mode == gpu::BudgetSetting::Mode::All;
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
    if (!m_catalogue) { // the first scan is still running: the request goes when it is in
        m_waitingForModels = request;
        return;
    }
    // The form shows the size it follows, so the size is the user's choice here. Names resolve in
    // the last scan (a folder path is inspected directly).
    Result<generation::PreparedRequest> prepared = generation::prepareRequest(request, *m_catalogue, true);
    if (!prepared) {
        m_window.onFailed(request.id, prepared.error());
        return;
    }
    generation::GenerationCoordinator::Job job;
    job.request = prepared->request;
    job.pipeline = services::PromptPipelineConfig::fromSettings(m_settings);
    job.makeRoom = m_settings.value(keys::MakeRoomBeforeGenerating).toBool();
    job.makeRoomMarginBytes = m_settings.value(keys::MakeRoomMarginMiB).toLongLong() << 20;
    QPointer<AppWiring> self(this);
    job.review = [self](const services::PromptPipelineResult& result,
                        std::function<void(std::optional<QString>)> proceed) {
        if (!self)
            return proceed(std::nullopt);
        auto* dialog = new PromptStagesDialog(result, &self->m_window);
        dialog->setAttribute(Qt::WA_DeleteOnClose);
        connect(dialog, &QDialog::accepted, self, [dialog, proceed] { proceed(dialog->finalPrompt()); });
        connect(dialog, &QDialog::rejected, self, [proceed] { proceed(std::nullopt); });
        // A cancel from the window closes the dialog too.
        connect(self->m_coordinator, &generation::GenerationCoordinator::cancelled, dialog, &QDialog::reject);
        dialog->open();
    };
    m_coordinator->start(job);
}

} // namespace tp::ui
