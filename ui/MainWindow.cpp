#include "ui/MainWindow.h"

#include "core/engine/ImageMetadata.h"
#include "core/settings/Settings.h"
#include "ui/GalleryView.h"
#include "ui/HelpViewer.h"
#include "ui/Icons.h"
#include "ui/ImageViewer.h"
#include "ui/LogView.h"
#include "ui/PromptEdit.h"
#include "ui/ServicesPanel.h"
#include "ui/SettingsDialog.h"
#include "ui/Units.h"
#include "ui/VramPanel.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDataStream>
#include <QDesktopServices>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QScrollArea>
#include <QSplitter>
#include <QStatusBar>
#include <QToolButton>
#include <QUrl>
#include <QVBoxLayout>

namespace tp::ui {
namespace {

constexpr quint32 kLayoutMagic = 0x5450'4d57; // "TPMW"
constexpr qint32 kLayoutVersion = 1;

} // namespace

MainWindow::MainWindow(Settings& settings, QWidget* parent)
    : QMainWindow(parent)
    , m_settings(settings) {
    setObjectName(QStringLiteral("mainWindow"));
    setAcceptDrops(true);
    setWindowIcon(icon(QStringLiteral("twistedpic")));
    qRegisterMetaType<tp::engine::GenerationRequest>();
    qRegisterMetaType<tp::engine::GenerationResult>();
    qRegisterMetaType<tp::engine::Progress>();
    qRegisterMetaType<tp::engine::State>();
    qRegisterMetaType<tp::engine::MemoryEvent>();
    qRegisterMetaType<tp::gpu::VramSample>();

    // Left: the form (scrolls on small screens). Right: error banner, result, progress.
    m_form = new GenerationForm(settings, this);
    auto* formScroll = new QScrollArea(this);
    formScroll->setWidget(m_form);
    formScroll->setWidgetResizable(true);
    formScroll->setFrameShape(QFrame::NoFrame);
    formScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    formScroll->setMinimumWidth(300);

    auto* right = new QWidget(this);
    m_errorBanner = new QWidget(right);
    m_errorBanner->setObjectName(QStringLiteral("errorBanner"));
    m_errorBanner->setAutoFillBackground(true);
    QPalette bannerPalette = m_errorBanner->palette();
    bannerPalette.setColor(QPalette::Window, QColor(0xfd, 0xec, 0xea));
    bannerPalette.setColor(QPalette::WindowText, QColor(0x8b, 0x1a, 0x1a));
    m_errorBanner->setPalette(bannerPalette);
    m_errorLabel = new QLabel(m_errorBanner);
    m_errorLabel->setWordWrap(true);
    m_errorLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_errorClose = new QToolButton(m_errorBanner);
    m_errorClose->setIcon(icon(QStringLiteral("cancel")));
    m_errorClose->setAutoRaise(true);
    auto* bannerLayout = new QHBoxLayout(m_errorBanner);
    bannerLayout->setContentsMargins(10, 6, 6, 6);
    bannerLayout->addWidget(m_errorLabel, 1);
    bannerLayout->addWidget(m_errorClose, 0, Qt::AlignTop);
    m_errorBanner->hide();
    m_viewer = new ImageViewer(right);
    m_viewer->setOutputDirectory(settings.outputDirectory());
    m_progress = new QProgressBar(right);
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setTextVisible(true);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->setSpacing(4);
    rightLayout->addWidget(m_errorBanner);
    rightLayout->addWidget(m_viewer, 1);
    rightLayout->addWidget(m_progress);

    m_splitter = new QSplitter(Qt::Horizontal, this);
    m_splitter->setObjectName(QStringLiteral("mainSplitter"));
    m_splitter->addWidget(formScroll);
    m_splitter->addWidget(right);
    m_splitter->setStretchFactor(0, 0);
    m_splitter->setStretchFactor(1, 1);
    m_splitter->setChildrenCollapsible(false);
    m_splitter->setSizes({360, 640});
    setCentralWidget(m_splitter);

    m_gallery = new GalleryView(this);
    m_gallery->setDirectory(settings.outputDirectory());
    m_galleryDock = new QDockWidget(this);
    m_galleryDock->setObjectName(QStringLiteral("galleryDock"));
    m_galleryDock->setWidget(m_gallery);
    addDockWidget(Qt::RightDockWidgetArea, m_galleryDock);
    m_vram = new VramPanel(this);
    m_vramDock = new QDockWidget(this);
    m_vramDock->setObjectName(QStringLiteral("vramDock"));
    m_vramDock->setWidget(m_vram);
    addDockWidget(Qt::RightDockWidgetArea, m_vramDock);
    m_services = new ServicesPanel(this);
    m_servicesDock = new QDockWidget(this);
    m_servicesDock->setObjectName(QStringLiteral("servicesDock"));
    m_servicesDock->setWidget(m_services);
    addDockWidget(Qt::RightDockWidgetArea, m_servicesDock);
    tabifyDockWidget(m_vramDock, m_servicesDock);
    m_vramDock->raise();
    m_log = new LogView(this);
    addDockWidget(Qt::BottomDockWidgetArea, m_log);
    m_log->hide();
    resizeDocks({m_galleryDock, m_vramDock}, {300, 300}, Qt::Horizontal);
    resizeDocks({m_galleryDock, m_vramDock}, {320, 300}, Qt::Vertical);

    m_stateLabel = new QLabel(this);
    statusBar()->addPermanentWidget(m_stateLabel);

    createActions();
    createMenus();

    connect(m_form, &GenerationForm::generateRequested, this, &MainWindow::generate);
    connect(m_form, &GenerationForm::cancelRequested, this, &MainWindow::cancel);
    connect(m_form, &GenerationForm::problem, this, &MainWindow::showError);
    connect(m_vram, &VramPanel::freeMemoryRequested, this, &MainWindow::freeMemoryRequested);
    connect(m_vram, &VramPanel::unloadRequested, this, &MainWindow::unloadRequested);
    connect(m_gallery, &GalleryView::useSettingsRequested, this, &MainWindow::applyParameters);
    connect(m_gallery, &GalleryView::imageActivated, this, [this](const QString& path) {
        const QImage image(path);
        if (!image.isNull())
            m_viewer->setImages({image}, {path});
    });
    connect(m_viewer, &ImageViewer::saved, this,
            [this](const QString& path) { statusBar()->showMessage(tr("Saved %1").arg(path), 5000); });
    connect(m_viewer, &ImageViewer::saveFailed, this, &MainWindow::showError);
    connect(m_errorClose, &QToolButton::clicked, m_errorBanner, &QWidget::hide);
    connect(&m_settings, &Settings::changed, this, &MainWindow::settingChanged);

    retranslateUi();
    resize(1280, 720);
    restoreLayout();
    setBusy(false);
    m_form->promptEdit()->setFocus();
}

void MainWindow::createActions() {
    m_generateAction = new QAction(icon(QStringLiteral("generate")), QString(), this);
    m_generateAction->setShortcuts(
        {QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)});
    m_newImageAction = new QAction(this);
    m_newImageAction->setObjectName(QStringLiteral("newImage"));
    m_newImageAction->setShortcut(QKeySequence::New);
    connect(m_newImageAction, &QAction::triggered, this, &MainWindow::newImage);
    m_cancelAction = new QAction(icon(QStringLiteral("cancel")), QString(), this);
    m_cancelAction->setShortcut(QKeySequence(Qt::Key_Escape));
    m_openOutputAction = new QAction(icon(QStringLiteral("folder")), QString(), this);
    m_settingsAction = new QAction(icon(QStringLiteral("settings")), QString(), this);
    m_settingsAction->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Comma), QKeySequence::Preferences});
    m_settingsAction->setMenuRole(QAction::PreferencesRole);
    m_quitAction = new QAction(this);
    m_quitAction->setShortcut(QKeySequence::Quit);
    m_quitAction->setMenuRole(QAction::QuitRole);
    m_freeAction = new QAction(icon(QStringLiteral("free-memory")), QString(), this);
    m_unloadAction = new QAction(icon(QStringLiteral("unload")), QString(), this);
    m_guideAction = new QAction(this);
    m_guideAction->setShortcut(QKeySequence::HelpContents);
    m_troubleshootingAction = new QAction(this);
    m_welcomeAction = new QAction(this);
    connect(m_welcomeAction, &QAction::triggered, this, &MainWindow::firstRunRequested);
    connect(m_guideAction, &QAction::triggered, this, [this] { showHelp(QStringLiteral("README.md")); });
    connect(m_troubleshootingAction, &QAction::triggered, this,
            [this] { showHelp(QStringLiteral("GPU_MEMORY_TROUBLESHOOTING.md")); });
    m_aboutAction = new QAction(icon(QStringLiteral("twistedpic")), QString(), this);
    m_aboutAction->setMenuRole(QAction::AboutRole);

    connect(m_generateAction, &QAction::triggered, this, &MainWindow::generate);
    connect(m_cancelAction, &QAction::triggered, this, &MainWindow::cancel);
    connect(m_openOutputAction, &QAction::triggered, this,
            [this] { QDesktopServices::openUrl(QUrl::fromLocalFile(m_settings.outputDirectory())); });
    connect(m_settingsAction, &QAction::triggered, this, &MainWindow::showSettings);
    connect(m_quitAction, &QAction::triggered, this, &QWidget::close);
    connect(m_freeAction, &QAction::triggered, this, &MainWindow::freeMemoryRequested);
    connect(m_unloadAction, &QAction::triggered, this, &MainWindow::unloadRequested);
    connect(m_aboutAction, &QAction::triggered, this, [this] {
        QMessageBox::about(this, tr("About TwistedPic"),
                           tr("<h3>TwistedPic %1</h3><p>Stable Diffusion image generation on your own GPU, "
                              "sharing it politely with Ollama.</p>")
                               .arg(QStringLiteral(TWISTEDPIC_VERSION)));
    });
}

void MainWindow::createMenus() {
    m_fileMenu = menuBar()->addMenu(QString());
    m_fileMenu->addAction(m_newImageAction);
    m_fileMenu->addAction(m_generateAction);
    m_fileMenu->addAction(m_cancelAction);
    m_fileMenu->addSeparator();
    m_fileMenu->addAction(m_openOutputAction);
    m_fileMenu->addAction(m_settingsAction);
    m_fileMenu->addSeparator();
    m_fileMenu->addAction(m_quitAction);

    m_imageMenu = menuBar()->addMenu(QString());
    for (QAction* a : {m_viewer->fitAction(), m_viewer->actualSizeAction(), m_viewer->zoomInAction(),
                       m_viewer->zoomOutAction()})
        m_imageMenu->addAction(a);
    m_imageMenu->addSeparator();
    for (QAction* a : {m_viewer->copyAction(), m_viewer->saveAsAction(), m_viewer->openFolderAction()})
        m_imageMenu->addAction(a);
    m_imageMenu->addSeparator();
    m_imageMenu->addAction(m_viewer->previousAction());
    m_imageMenu->addAction(m_viewer->nextAction());
    m_imageMenu->addSeparator();
    m_imageMenu->addAction(m_gallery->useSettingsAction());

    m_gpuMenu = menuBar()->addMenu(QString());
    m_gpuMenu->addAction(m_freeAction);
    m_gpuMenu->addAction(m_unloadAction);

    m_viewMenu = menuBar()->addMenu(QString());
    QAction* galleryToggle = m_galleryDock->toggleViewAction();
    galleryToggle->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_G));
    QAction* vramToggle = m_vramDock->toggleViewAction();
    vramToggle->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    QAction* servicesToggle = m_servicesDock->toggleViewAction();
    servicesToggle->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_J));
    QAction* logToggle = m_log->toggleViewAction();
    logToggle->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
    m_viewMenu->addAction(galleryToggle);
    m_viewMenu->addAction(vramToggle);
    m_viewMenu->addAction(servicesToggle);
    m_viewMenu->addAction(logToggle);

    m_helpMenu = menuBar()->addMenu(QString());
    m_helpMenu->addAction(m_guideAction);
    m_helpMenu->addAction(m_troubleshootingAction);
    m_helpMenu->addAction(m_welcomeAction);
    m_helpMenu->addSeparator();
    m_helpMenu->addAction(m_aboutAction);
}

void MainWindow::retranslateUi() {
    setWindowTitle(tr("TwistedPic"));
    m_fileMenu->setTitle(tr("&File"));
    m_imageMenu->setTitle(tr("&Image"));
    m_gpuMenu->setTitle(tr("G&PU"));
    m_viewMenu->setTitle(tr("&View"));
    m_helpMenu->setTitle(tr("&Help"));
    m_generateAction->setText(tr("&Generate"));
    m_newImageAction->setText(tr("&New image"));
    m_cancelAction->setText(tr("&Cancel generation"));
    m_openOutputAction->setText(tr("&Open output folder"));
    m_settingsAction->setText(tr("&Settings…"));
    m_quitAction->setText(tr("&Quit"));
    m_freeAction->setText(tr("&Free GPU memory now"));
    m_unloadAction->setText(tr("&Unload model now"));
    m_aboutAction->setText(tr("&About TwistedPic"));
    m_guideAction->setText(tr("&User guide"));
    m_welcomeAction->setText(tr("&Welcome assistant…"));
    m_troubleshootingAction->setText(tr("GPU memory &troubleshooting"));
    m_galleryDock->setWindowTitle(tr("Gallery"));
    m_vramDock->setWindowTitle(tr("GPU memory"));
    m_servicesDock->setWindowTitle(tr("Services"));
    m_errorClose->setToolTip(tr("Dismiss"));
    m_errorClose->setAccessibleName(tr("Dismiss the error"));
    m_progress->setAccessibleName(tr("Progress"));
    m_stateLabel->setText(stateText());
    if (!isBusy())
        m_progress->setFormat(tr("Ready"));
}

void MainWindow::changeEvent(QEvent* event) {
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QMainWindow::changeEvent(event);
}

QString MainWindow::stateName(engine::State state) const {
    using S = engine::State;
    switch (state) {
    case S::Idle:
        return tr("Idle");
    case S::Loading:
        return tr("Loading the model");
    case S::Generating:
        return tr("Generating");
    case S::Cleaning:
        return tr("Freeing GPU memory");
    case S::Unloading:
        return tr("Unloading the model");
    case S::Reloading:
        return tr("Reloading the model");
    }
    return {};
}

QString MainWindow::stateText() const {
    return m_stateDetail.isEmpty() ? stateName(m_state)
                                   : tr("%1 · %2").arg(stateName(m_state), m_stateDetail);
}

QString MainWindow::errorText() const {
    return m_errorBanner->isHidden() ? QString() : m_errorLabel->text();
}

void MainWindow::setBusy(bool busy) {
    m_form->setBusy(busy);
    m_generateAction->setEnabled(!busy);
    m_cancelAction->setEnabled(busy);
}

void MainWindow::newImage() {
    if (isBusy())
        return;
    m_viewer->clear();
    m_errorBanner->hide();
    m_form->promptEdit()->clear();
    m_form->promptEdit()->setFocus();
    statusBar()->showMessage(tr("Ready for a new image: type a prompt."), 5000);
}

void MainWindow::generate() {
    if (isBusy())
        return;
    engine::GenerationRequest request = m_form->request();
    if (request.prompt.trimmed().isEmpty()) {
        showError(tr("The prompt is empty: describe what to draw, then generate."));
        m_form->promptEdit()->setFocus();
        return;
    }
    request.id = ++m_nextId;
    request.outputDir = m_settings.outputDirectory();
    m_pendingId = request.id;
    m_errorBanner->hide();
    m_progress->setRange(0, 0); // busy until the first step reports
    m_progress->setFormat(tr("Starting…"));
    setBusy(true);
    Q_EMIT generateRequested(request);
}

void MainWindow::cancel() {
    if (!isBusy())
        return;
    m_progress->setFormat(tr("Cancelling…"));
    Q_EMIT cancelRequested();
}

void MainWindow::onProgress(const engine::Progress& p) {
    if (p.id != m_pendingId || p.total <= 0)
        return;
    m_progress->setRange(0, p.total);
    m_progress->setValue(p.step);
    QString text = tr("Step %1 of %2").arg(p.step).arg(p.total);
    if (p.itPerSec > 0)
        text += tr(" · %1 it/s").arg(QLocale().toString(p.itPerSec, 'f', 1));
    if (p.step < p.total && p.secondsLeft > 0)
        text += tr(" · %1 left").arg(formatDuration(p.secondsLeft));
    m_progress->setFormat(text);
    if (!p.preview.isNull())
        m_viewer->showPreview(p.preview, tr("Preview · step %1 of %2").arg(p.step).arg(p.total));
}

void MainWindow::onFinished(const engine::GenerationResult& result) {
    if (result.request.id != m_pendingId)
        return;
    m_pendingId = 0;
    setBusy(false);
    m_viewer->setImages(result.images, result.files);
    const qint64 seed = result.seeds.isEmpty() ? result.request.seed : result.seeds.first();
    m_form->setLastSeed(seed);
    m_progress->setRange(0, 1);
    m_progress->setValue(1);
    const QString took = formatDuration(result.timings.totalMs / 1000.0);
    m_progress->setFormat(
        result.timings.itPerSec > 0
            ? tr("Done in %1 · %2 it/s").arg(took, QLocale().toString(result.timings.itPerSec, 'f', 1))
            : tr("Done in %1").arg(took));
    const QString device = result.device.isEmpty() ? result.request.device : result.device;
    QString made = result.images.size() == 1
                       ? tr("Image made with seed %1 on %2.").arg(seed).arg(device)
                       : tr("%1 images made with seeds from %2 on %3.").arg(result.images.size()).arg(seed).arg(device);
    for (const QString& note : result.notes)
        made += QLatin1Char(' ') + note;
    statusBar()->showMessage(made, result.notes.isEmpty() ? 10000 : 30000);
    m_gallery->refresh();
    if (!result.files.isEmpty())
        m_gallery->selectPath(result.files.first());
    if (!result.warning.isEmpty())
        showError(tr("%1 The image is shown here: use Save As to keep it.").arg(result.warning));
}

void MainWindow::onFailed(quint64 id, const QString& message) {
    if (id != 0 && id != m_pendingId)
        return;
    m_pendingId = 0;
    setBusy(false);
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(tr("Stopped"));
    showError(message);
}

void MainWindow::onCancelled(quint64 id) {
    if (id != 0 && id != m_pendingId)
        return;
    m_pendingId = 0;
    setBusy(false);
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_progress->setFormat(tr("Cancelled"));
    statusBar()->showMessage(tr("Generation cancelled."), 5000);
}

void MainWindow::showError(const QString& message) {
    m_errorLabel->setText(message);
    m_errorBanner->show();
    statusBar()->showMessage(message, 10000);
}

void MainWindow::onStateChanged(engine::State state, const QString& detail) {
    m_state = state;
    m_stateDetail = detail;
    m_stateLabel->setText(stateText());
    m_vram->setEngineState(state, detail);
    if (isBusy() && m_progress->maximum() == 0) {
        if (state == engine::State::Loading)
            m_progress->setFormat(tr("Loading the model…"));
        else if (state == engine::State::Reloading)
            m_progress->setFormat(tr("Reloading the model…"));
    }
}

void MainWindow::setModels(const QVector<ModelEntry>& models, const QString& current) {
    m_form->setModels(models, current);
}

void MainWindow::addVramSample(const gpu::VramSample& sample) {
    m_vram->addSample(sample);
}

void MainWindow::setVramHistory(const QVector<gpu::VramSample>& samples) {
    m_vram->setHistory(samples);
}

void MainWindow::addMemoryEvent(const engine::MemoryEvent& event) {
    m_vram->addEvent(event);
}

void MainWindow::onResidencyChanged(const QString& model, gpu::Residency where, qint64 weightBytes,
                                    int cudaDevice) {
    m_vram->setResidency(model, where, weightBytes);
    if (cudaDevice >= 0)
        m_vram->setDeviceIndex(cudaDevice); // the graph follows the device the engine uses
}

void MainWindow::applyParameters(const engine::ImageParameters& parameters) {
    const QString note = m_form->applyParameters(parameters);
    statusBar()->showMessage(note.isEmpty() ? tr("Settings of the selected image are in the form.") : note,
                             8000);
}

bool MainWindow::applyParametersFromFile(const QString& path) {
    const Result<QString> text = engine::readParametersText(path);
    if (!text) {
        showError(text.error());
        return false;
    }
    const Result<engine::ImageParameters> parameters = engine::parseParameters(*text);
    if (!parameters) {
        showError(QStringLiteral("%1: %2").arg(QFileInfo(path).fileName(), parameters.error()));
        return false;
    }
    applyParameters(*parameters);
    return true;
}

namespace {
QString droppedImage(const QMimeData* mime) {
    if (!mime || !mime->hasUrls())
        return {};
    for (const QUrl& url : mime->urls())
        if (url.isLocalFile() && url.toLocalFile().endsWith(QLatin1String(".png"), Qt::CaseInsensitive))
            return url.toLocalFile();
    return {};
}
} // namespace

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    if (!droppedImage(event->mimeData()).isEmpty())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    const QString path = droppedImage(event->mimeData());
    if (path.isEmpty())
        return;
    event->acceptProposedAction();
    applyParametersFromFile(path);
}

HelpViewer* MainWindow::showHelp(const QString& document) {
    if (!m_help)
        m_help = new HelpViewer(this);
    if (!m_help->showDocument(document)) {
        showError(tr("The document %1 is not installed.").arg(document));
        return nullptr;
    }
    m_help->show();
    m_help->raise();
    return m_help;
}

void MainWindow::showSettings() {
    SettingsDialog dialog(m_settings, this);
    dialog.exec();
}

void MainWindow::settingChanged(const QString& key) {
    if (key == keys::OutputDirectory) {
        m_gallery->setDirectory(m_settings.outputDirectory());
        m_viewer->setOutputDirectory(m_settings.outputDirectory());
    }
}

void MainWindow::saveLayout() {
    QByteArray state;
    QDataStream out(&state, QIODevice::WriteOnly);
    out << kLayoutMagic << kLayoutVersion << saveState(kLayoutVersion) << m_splitter->saveState();
    const Status s =
        m_settings.setMany({{keys::MainWindowGeometry, saveGeometry()}, {keys::MainWindowState, state}});
    if (!s)
        statusBar()->showMessage(s.error(), 5000);
}

void MainWindow::restoreLayout() {
    const QByteArray geometry = m_settings.value(keys::MainWindowGeometry).toByteArray();
    if (!geometry.isEmpty())
        restoreGeometry(geometry);
    QByteArray state = m_settings.value(keys::MainWindowState).toByteArray();
    QDataStream in(&state, QIODevice::ReadOnly);
    quint32 magic = 0;
    qint32 version = 0;
    QByteArray windowState, splitterState;
    in >> magic >> version >> windowState >> splitterState;
    if (in.status() != QDataStream::Ok || magic != kLayoutMagic || version != kLayoutVersion)
        return; // first start, or a layout of another version: the defaults stay
    restoreState(windowState, kLayoutVersion);
    m_splitter->restoreState(splitterState);
}

void MainWindow::closeEvent(QCloseEvent* event) {
    saveLayout();
    QMainWindow::closeEvent(event);
}

} // namespace tp::ui
