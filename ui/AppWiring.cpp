#include "ui/AppWiring.h"

#include "core/common/Log.h"
#include "core/common/Paths.h"
#include "core/engine/Engine.h"
#include "core/gpu/VramMonitor.h"
#include "core/io/ModelCatalogue.h"
#include "core/settings/Settings.h"
#include "ui/MainWindow.h"

namespace tp::ui {

AppWiring::AppWiring(Settings& settings, engine::Engine& engine, gpu::VramMonitor& monitor, MainWindow& window,
                     bool verboseFromCommandLine, QObject* parent)
    : QObject(parent)
    , m_settings(settings)
    , m_engine(engine)
    , m_monitor(monitor)
    , m_window(window)
    , m_verboseFromCommandLine(verboseFromCommandLine) {
    using engine::Engine;
    // Requests from the window.
    connect(&window, &MainWindow::generateRequested, &engine,
            [&engine](const engine::GenerationRequest& r) { engine.submit(r); });
    connect(&window, &MainWindow::cancelRequested, &engine, [&engine] { engine.cancel(0); });
    connect(&window, &MainWindow::freeMemoryRequested, &engine, &Engine::cleanupNow);
    connect(&window, &MainWindow::unloadRequested, &engine, &Engine::unloadNow);

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

    connect(&settings, &Settings::changed, this, &AppWiring::onSettingChanged);
    applyPolicy();
    engine.setModelSources(settings.modelSearchPaths(), paths::bundledModelDirs());
    refreshModels();
}

void AppWiring::applyPolicy() {
    engine::GpuPolicy policy;
    policy.cleanupAfterGeneration = m_settings.cleanupAfterGeneration();
    policy.unloadAfterGeneration = m_settings.unloadAfterGeneration();
    policy.idleUnloadMinutes = m_settings.idleUnloadMinutes();
    m_engine.setPolicy(policy);
}

void AppWiring::onSettingChanged(const QString& key) {
    if (key == keys::CleanupAfterGeneration || key == keys::UnloadAfterGeneration || key == keys::IdleUnloadMinutes) {
        applyPolicy();
    } else if (key == keys::ModelSearchPaths) {
        m_engine.setModelSources(m_settings.modelSearchPaths(), paths::bundledModelDirs());
        refreshModels();
    } else if (key == keys::LogVerbose && !m_verboseFromCommandLine) {
        log::setVerbose(m_settings.verboseLogging());
    }
}

void AppWiring::refreshModels() {
    const io::ModelCatalogue catalogue =
        io::ModelCatalogue::scan(m_settings.modelSearchPaths(), paths::bundledModelDirs());
    QVector<ModelEntry> entries;
    for (const io::ModelInfo& m : catalogue.models()) {
        if (!m.supported)
            continue;
        ModelEntry e;
        e.id = m.folder;
        e.label = QStringLiteral("%1 (%2, %3)").arg(m.name, m.family, io::formatSize(m.sizeBytes));
        e.tooltip = QStringLiteral("%1\n%2 · %3 · %4").arg(m.folder, m.family, m.precision, m.source);
        entries.push_back(e);
    }
    QString current = m_settings.value(keys::DefaultModel).toString();
    if (const io::ModelInfo* chosen = current.isEmpty() ? catalogue.defaultModel() : catalogue.find(current))
        current = chosen->folder;
    m_window.setModels(entries, current);
    spdlog::info("{} usable model(s) found in {} ms", entries.size(), catalogue.scanMilliseconds());
}

} // namespace tp::ui
