#pragma once

#include "core/engine/EngineTypes.h"
#include "core/gpu/VramTypes.h"
#include "ui/GenerationForm.h"

#include <QMainWindow>

class QAction;
class QDockWidget;
class QLabel;
class QProgressBar;
class QSplitter;
class QToolButton;

namespace tp {
class Settings;
}

namespace tp::ui {

class GalleryView;
class ImageViewer;
class LogView;
class HelpViewer;
class ServicesPanel;
class VramPanel;

// The desktop window: the generation form, the result view with a progress bar, and docks for
// the gallery, the VRAM panel and the log. Engine-agnostic: it emits requests and shows what
// the engine reports through the slots below (connect them queued from the engine's thread).
class MainWindow final : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(Settings& settings, QWidget* parent = nullptr);

    GenerationForm* form() const { return m_form; }
    ImageViewer* viewer() const { return m_viewer; }
    VramPanel* vramPanel() const { return m_vram; }
    ServicesPanel* servicesPanel() const { return m_services; }
    GalleryView* gallery() const { return m_gallery; }
    LogView* logView() const { return m_log; }
    QProgressBar* progressBar() const { return m_progress; }
    QString errorText() const;
    QString stateText() const;
    // The request in flight (0 when none).
    quint64 pendingId() const { return m_pendingId; }
    bool isBusy() const { return m_pendingId != 0; }

    // Writes the window geometry and the dock/splitter layout to the settings.
    void saveLayout();
    void restoreLayout();

public Q_SLOTS:
    // Builds a request from the form and emits generateRequested (ignored while busy).
    void generate();
    void cancel();
    // File → New image: the viewer and the prompt are cleared (the settings stay).
    void newImage();
    void onProgress(const tp::engine::Progress& progress);
    void onFinished(const tp::engine::GenerationResult& result);
    void onFailed(quint64 id, const QString& message);
    // Engine::cancelled: the request stopped as asked; no error to show.
    void onCancelled(quint64 id);
    void onStateChanged(tp::engine::State state, const QString& detail);
    void setModels(const QVector<tp::ui::ModelEntry>& models, const QString& current = {});
    void addVramSample(const tp::gpu::VramSample& sample);
    void setVramHistory(const QVector<tp::gpu::VramSample>& samples);
    void addMemoryEvent(const tp::engine::MemoryEvent& event);
    // Engine::residencyChanged: where the model's weights are, and the CUDA device in use.
    void onResidencyChanged(const QString& model, tp::gpu::Residency where, qint64 weightBytes,
                            int cudaDevice);
    void showSettings();
    // The Help menu's documents ("README.md", "GPU_MEMORY_TROUBLESHOOTING.md") in the help viewer.
    HelpViewer* showHelp(const QString& document);
    void showError(const QString& message);
    void applyParameters(const tp::engine::ImageParameters& parameters);
    // A PNG with an AUTOMATIC1111 `parameters` chunk (ours or another tool's): its settings go into
    // the form. Returns false (and says why in the error banner) when the file has none.
    bool applyParametersFromFile(const QString& path);

Q_SIGNALS:
    void generateRequested(const tp::engine::GenerationRequest& request);
    void cancelRequested();
    void freeMemoryRequested();
    void unloadRequested();
    void firstRunRequested(); // Help → Welcome assistant

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    void createActions();
    void createMenus();
    void retranslateUi();
    void setBusy(bool busy);
    void settingChanged(const QString& key);
    QString stateName(engine::State state) const;

    Settings& m_settings;
    GenerationForm* m_form = nullptr;
    ImageViewer* m_viewer = nullptr;
    VramPanel* m_vram = nullptr;
    GalleryView* m_gallery = nullptr;
    LogView* m_log = nullptr;
    QSplitter* m_splitter = nullptr;
    QProgressBar* m_progress = nullptr;
    QWidget* m_errorBanner = nullptr;
    QLabel* m_errorLabel = nullptr;
    QToolButton* m_errorClose = nullptr;
    QLabel* m_stateLabel = nullptr;
    QDockWidget* m_galleryDock = nullptr;
    QDockWidget* m_vramDock = nullptr;
    ServicesPanel* m_services = nullptr;
    QDockWidget* m_servicesDock = nullptr;

    QMenu* m_fileMenu = nullptr;
    QMenu* m_imageMenu = nullptr;
    QMenu* m_gpuMenu = nullptr;
    QMenu* m_viewMenu = nullptr;
    QMenu* m_helpMenu = nullptr;
    QAction* m_generateAction = nullptr;
    QAction* m_newImageAction = nullptr; // clears the view and the prompt for the next image
    QAction* m_cancelAction = nullptr;
    QAction* m_openOutputAction = nullptr;
    QAction* m_settingsAction = nullptr;
    QAction* m_quitAction = nullptr;
    QAction* m_freeAction = nullptr;
    QAction* m_unloadAction = nullptr;
    QAction* m_aboutAction = nullptr;
    QAction* m_guideAction = nullptr;
    QAction* m_welcomeAction = nullptr;
    QAction* m_troubleshootingAction = nullptr;
    HelpViewer* m_help = nullptr;

    engine::State m_state = engine::State::Idle;
    QString m_stateDetail;
    quint64 m_nextId = 0;
    quint64 m_pendingId = 0;
};

} // namespace tp::ui
