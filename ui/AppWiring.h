#pragma once

#include <QObject>

namespace tp {
class Settings;
namespace engine {
class Engine;
}
namespace gpu {
class VramMonitor;
}
} // namespace tp

namespace tp::ui {

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

private:
    void applyPolicy();
    void onSettingChanged(const QString& key);

    Settings& m_settings;
    engine::Engine& m_engine;
    gpu::VramMonitor& m_monitor;
    MainWindow& m_window;
    bool m_verboseFromCommandLine = false;
};

} // namespace tp::ui
