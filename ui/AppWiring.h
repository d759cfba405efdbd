#pragma once

#include "core/engine/EngineTypes.h"
#include "core/gpu/VramTypes.h"
#include "core/io/ModelCatalogue.h"
#include "core/services/CoTenancy.h"

#include <QObject>
#include <QPointer>

namespace tp {
class Settings;
namespace engine {
class Engine;
}
namespace gpu {
class VramMonitor;
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

    // Scans the model folders again and refreshes the window's model picker.
    void refreshModels();
    // The welcome assistant (shown by itself on the first start; Help reopens it).
    FirstRunDialog* showFirstRun();
    // Seconds between two checks of Ollama and TwistedPair (the Services panel).
    static constexpr int ServicesIntervalMs = 4000;
    services::ServiceStatusPoller& servicesPoller() const { return *m_poller; }
    const services::CoTenancyDiagnosis& diagnosis() const { return m_diagnosis; }

private:
    void applyPolicy();
    void onSettingChanged(const QString& key);
    void wireServices();
    void rediagnose();
    void giveGpuBack();
    // With "distort" on, the prompt pipeline runs first and its stages are shown (the final
    // prompt editable). Then "Make room before generating" (opt-in) asks Ollama to unload idle
    // models when the GPU lacks room for the request, and the request goes to the engine.
    void submit(const engine::GenerationRequest& request);
    void showPromptStages(const engine::GenerationRequest& request,
                          const services::PromptPipelineResult& result);
    void submitToEngine(const engine::GenerationRequest& request);

    Settings& m_settings;
    engine::Engine& m_engine;
    gpu::VramMonitor& m_monitor;
    MainWindow& m_window;
    bool m_verboseFromCommandLine = false;

    services::OllamaClient* m_ollama = nullptr;
    services::TwistedPairClient* m_twistedPair = nullptr;
    services::ServiceStatusPoller* m_poller = nullptr;
    services::CoTenancy* m_coTenancy = nullptr;
    services::PromptPipeline* m_pipeline = nullptr;
    services::OurGpuUse m_ours;
    gpu::VramSample m_lastVram;
    QVector<services::OllamaLoadedModel> m_ollamaLoaded;
    services::CoTenancyDiagnosis m_diagnosis;
    qint64 m_loadedWeightBytes = 0;
    QVector<io::ModelInfo> m_lastModels;
    QPointer<FirstRunDialog> m_firstRun;
};

} // namespace tp::ui
