#pragma once

#include "core/engine/EngineTypes.h"
#include "core/gpu/VramTypes.h"
#include "core/io/ModelCatalogue.h"
#include "core/services/CoTenancy.h"

#include <QObject>
#include <QPointer>

#include <memory>
#include <optional>

namespace tp {
class Settings;
namespace engine {
class Engine;
}
namespace gpu {
class VramMonitor;
}
namespace generation {
class GenerationCoordinator;
}
namespace services {
class OllamaClient;
class TwistedPairClient;
class ServiceStatusPoller;
class PromptPipeline;
struct PromptPipelineResult;
} // namespace services
} // namespace tp

namespace tp::ui {

class FirstRunDialog;
class MainWindow;

// Connects the real engine, VRAM monitor, model catalogue and settings to the main window:
// the desktop app's whole wiring, in one place that the GUI tests build too.
class AppWiring final : public QObject {
    Q_OBJECT
public:
    // verboseFromCommandLine: --verbose wins over the log/verbose setting.
    AppWiring(Settings& settings, engine::Engine& engine, gpu::VramMonitor& monitor, MainWindow& window,
              bool verboseFromCommandLine = false, QObject* parent = nullptr);

    // Scans the model folders again, off the GUI thread, and then refreshes the window's model
    // picker (modelsRefreshed() tells when).
    void refreshModels();
    // The welcome assistant (shown by itself on the first start; Help reopens it).
    FirstRunDialog* showFirstRun();
    // Seconds between two checks of Ollama and TwistedPair (the Services panel).
    static constexpr int ServicesIntervalMs = 4000;
    services::ServiceStatusPoller& servicesPoller() const { return *m_poller; }
    generation::GenerationCoordinator& coordinator() const { return *m_coordinator; }
    const services::CoTenancyDiagnosis& diagnosis() const { return m_diagnosis; }

Q_SIGNALS:
    void modelsRefreshed();

private:
    void applyModels(const std::shared_ptr<const io::ModelCatalogue>& catalogue);
    void applyPolicy();
    void onSettingChanged(const QString& key);
    void wireServices();
    void rediagnose();
    void giveGpuBack();
    // A generation started: without a plan since the last one (Engine::planned), the VRAM panel
    // says why instead of showing an old one.
    void onGenerationStart();
    bool budgetIsAll() const; // the setting gpu/vramBudget is "all": no plan is made
    // Through the generation coordinator, as the CLI: with "distort" on, the prompt pipeline runs
    // first and its stages are shown (the final prompt editable); then "Make room before
    // generating" (opt-in); then the engine.
    void submit(const engine::GenerationRequest& request);

    Settings& m_settings;
    engine::Engine& m_engine;
    gpu::VramMonitor& m_monitor;
    MainWindow& m_window;
    bool m_verboseFromCommandLine = false;

    services::OllamaClient* m_ollama = nullptr;
    services::TwistedPairClient* m_twistedPair = nullptr;
    services::ServiceStatusPoller* m_poller = nullptr;
    services::CoTenancy* m_coTenancy = nullptr; // the coordinator's
    generation::GenerationCoordinator* m_coordinator = nullptr;
    services::OurGpuUse m_ours;
    gpu::VramSample m_lastVram;
    QVector<services::OllamaLoadedModel> m_ollamaLoaded;
    services::CoTenancyDiagnosis m_diagnosis;
    qint64 m_loadedWeightBytes = 0;
    int m_engineDevice = 0;    // the CUDA index the engine uses (the device setting, then the engine's word)
    bool m_modelOnCpu = false; // the loaded model runs on the CPU (no plan is made there)
    bool m_generationRunning = false; // between GenerationStart and the engine's next Idle
    bool m_planForNextStart = false;  // Engine::planned came for the generation about to start
    // The free bytes of the engine's device in `sample` (-1 when it is not in the sample).
    qint64 engineDeviceFreeBytes(const gpu::VramSample& sample) const;
    QVector<io::ModelInfo> m_lastModels;
    std::shared_ptr<const io::ModelCatalogue> m_catalogue; // the last scan (names resolve here)
    quint64 m_scanSerial = 0;
    std::optional<engine::GenerationRequest> m_waitingForModels; // Generate before the first scan
    QPointer<FirstRunDialog> m_firstRun;
};

} // namespace tp::ui
