#include "ui/ImageViewer.h"

#include "ui/Icons.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QDesktopServices>
#include <QDir>
#include <QEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QPainter>
#include <QScrollArea>
#include <QScrollBar>
#include <QStyle>
#include <QToolBar>
#include <QUrl>
#include <QVBoxLayout>
#include <QWheelEvent>

#include <cmath>

namespace tp::ui {

// Paints one image centred: scaled to fit, or at a zoom factor (then it has that size and
// the scroll area scrolls it).
class ImageCanvas final : public QWidget {
public:
    explicit ImageCanvas(QWidget* parent)
        : QWidget(parent) {
        setAttribute(Qt::WA_OpaquePaintEvent);
    }

    void show(const QImage& image, bool preview, const QString& caption) {
        m_image = image;
        m_preview = preview;
        m_caption = caption;
        update();
    }
    void setPlaceholder(const QString& text) {
        m_placeholder = text;
        update();
    }
    void setFit(bool fit, double zoom) {
        m_fit = fit;
        m_zoom = zoom;
        updateGeometry();
        update();
    }
    const QImage& image() const { return m_image; }
    bool isPreview() const { return m_preview; }
    double fitZoom(const QSize& area) const {
        if (m_image.isNull())
            return 1.0;
        return std::min(double(area.width()) / m_image.width(), double(area.height()) / m_image.height());
    }
    QSize sizeHint() const override {
        if (m_fit || m_image.isNull())
            return {320, 320};
        return m_image.size() * m_zoom;
    }

protected:
    void paintEvent(QPaintEvent*) override {
        QPainter p(this);
        p.fillRect(rect(), palette().color(QPalette::Window).darker(104));
        if (m_image.isNull()) {
            const QRect iconRect(width() / 2 - 32, height() / 2 - 72, 64, 64);
            icon(QStringLiteral("image")).paint(&p, iconRect, Qt::AlignCenter, QIcon::Disabled);
            p.setPen(palette().color(QPalette::PlaceholderText));
            p.drawText(rect().adjusted(24, height() / 2 + 4, -24, -8),
                       Qt::AlignHCenter | Qt::AlignTop | Qt::TextWordWrap, m_placeholder);
            return;
        }
        // Fit scales both ways, so a small preview fills the space the result will take.
        const double scale = m_fit ? fitZoom(size()) : m_zoom;
        const QSizeF s = QSizeF(m_image.size()) * scale;
        const QRectF target((width() - s.width()) / 2, (height() - s.height()) / 2, s.width(), s.height());
        p.setRenderHint(QPainter::SmoothPixmapTransform, scale < 2.0 || m_preview);
        p.drawImage(target, m_image);
        if (m_preview && !m_caption.isEmpty()) {
            const QFontMetrics fm = p.fontMetrics();
            const QRectF box(target.left() + 8, target.bottom() - fm.height() - 16,
                             fm.horizontalAdvance(m_caption) + 16, fm.height() + 8);
            p.setPen(Qt::NoPen);
            p.setBrush(QColor(0, 0, 0, 150));
            p.drawRoundedRect(box, 4, 4);
            p.setPen(Qt::white);
            p.drawText(box, Qt::AlignCenter, m_caption);
        }
    }

private:
    QImage m_image;
    bool m_preview = false;
    QString m_caption;
    QString m_placeholder;
    bool m_fit = true;
    double m_zoom = 1.0;
};

ImageViewer::ImageViewer(QWidget* parent)
    : QWidget(parent) {
    m_canvas = new ImageCanvas(this);
    m_scroll = new QScrollArea(this);
    m_scroll->setWidget(m_canvas);
    m_scroll->setWidgetResizable(true);
    m_scroll->setAlignment(Qt::AlignCenter);
    m_scroll->setFrameShape(QFrame::NoFrame);
    m_scroll->viewport()->installEventFilter(this);
    m_canvas->installEventFilter(this);

    auto makeAction = [this](const char* iconName, const QKeySequence& key) {
        auto* a = new QAction(icon(QString::fromLatin1(iconName)), QString(), this);
        if (!key.isEmpty())
            a->setShortcut(key);
        a->setShortcutContext(Qt::WindowShortcut);
        return a;
    };
    m_fitAction = makeAction("zoom-fit", QKeySequence(Qt::CTRL | Qt::Key_0));
    m_fitAction->setCheckable(true);
    m_fitAction->setChecked(true);
    m_actualAction = makeAction("zoom-original", QKeySequence(Qt::CTRL | Qt::Key_1));
    m_zoomInAction = makeAction("zoom-in", QKeySequence::ZoomIn);
    m_zoomOutAction = makeAction("zoom-out", QKeySequence::ZoomOut);
    m_copyAction = makeAction("copy", QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
    m_saveAction = makeAction("save", QKeySequence::Save);
    m_folderAction = makeAction("folder", QKeySequence());
    m_prevAction = new QAction(style()->standardIcon(QStyle::SP_ArrowBack), QString(), this);
    m_prevAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_PageUp));
    m_nextAction = new QAction(style()->standardIcon(QStyle::SP_ArrowForward), QString(), this);
    m_nextAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_PageDown));

    m_toolbar = new QToolBar(this);
    m_toolbar->setIconSize(QSize(20, 20));
    m_toolbar->addAction(m_fitAction);
    m_toolbar->addAction(m_actualAction);
    m_toolbar->addAction(m_zoomInAction);
    m_toolbar->addAction(m_zoomOutAction);
    m_toolbar->addSeparator();
    m_toolbar->addAction(m_copyAction);
    m_toolbar->addAction(m_saveAction);
    m_toolbar->addAction(m_folderAction);
    m_toolbar->addSeparator();
    m_toolbar->addAction(m_prevAction);
    m_position = new QLabel(this);
    m_position->setContentsMargins(6, 0, 6, 0);
    m_positionAction = m_toolbar->addWidget(m_position);
    m_toolbar->addAction(m_nextAction);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);
    layout->addWidget(m_toolbar);
    layout->addWidget(m_scroll, 1);

    connect(m_fitAction, &QAction::toggled, this, &ImageViewer::setFit);
    connect(m_actualAction, &QAction::triggered, this, &ImageViewer::actualSize);
    connect(m_zoomInAction, &QAction::triggered, this, &ImageViewer::zoomIn);
    connect(m_zoomOutAction, &QAction::triggered, this, &ImageViewer::zoomOut);
    connect(m_copyAction, &QAction::triggered, this, &ImageViewer::copy);
    connect(m_saveAction, &QAction::triggered, this, &ImageViewer::saveAs);
    connect(m_folderAction, &QAction::triggered, this, &ImageViewer::openFolder);
    connect(m_prevAction, &QAction::triggered, this, [this] { setCurrentIndex(m_index - 1); });
    connect(m_nextAction, &QAction::triggered, this, [this] { setCurrentIndex(m_index + 1); });
    retranslateUi();
    updateView();
}

void ImageViewer::retranslateUi() {
    m_fitAction->setText(tr("&Fit to window"));
    m_actualAction->setText(tr("&Actual size"));
    m_zoomInAction->setText(tr("Zoom &in"));
    m_zoomOutAction->setText(tr("Zoom &out"));
    m_copyAction->setText(tr("&Copy image"));
    m_saveAction->setText(tr("&Save image as…"));
    m_folderAction->setText(tr("Open the image's fol&der"));
    m_prevAction->setText(tr("&Previous image"));
    m_nextAction->setText(tr("&Next image"));
    m_canvas->setPlaceholder(tr("Your images appear here.\nWrite a prompt and press Generate (Ctrl+Enter)."));
    m_canvas->setAccessibleName(tr("Image"));
    updateView();
}

void ImageViewer::changeEvent(QEvent* event) {
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

bool ImageViewer::eventFilter(QObject* watched, QEvent* event) {
    if (event->type() == QEvent::Wheel) {
        auto* wheel = static_cast<QWheelEvent*>(event);
        if (wheel->modifiers() & Qt::ControlModifier) {
            if (wheel->angleDelta().y() > 0)
                zoomIn();
            else if (wheel->angleDelta().y() < 0)
                zoomOut();
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

void ImageViewer::setImages(const QVector<QImage>& images, const QStringList& files) {
    m_previewActive = false;
    m_images = images;
    m_files = files;
    m_index = images.isEmpty() ? -1 : 0;
    updateView();
}

void ImageViewer::showPreview(const QImage& preview, const QString& caption) {
    if (preview.isNull())
        return;
    m_previewActive = true;
    m_canvas->show(preview, true, caption);
    updateView();
}

bool ImageViewer::showsPreview() const {
    return m_previewActive;
}

void ImageViewer::clear() {
    setImages({}, {});
}

QImage ImageViewer::currentImage() const {
    return m_index >= 0 ? m_images.value(m_index) : QImage();
}

QString ImageViewer::currentFile() const {
    return m_index >= 0 ? m_files.value(m_index) : QString();
}

void ImageViewer::setCurrentIndex(int index) {
    if (index < 0 || index >= m_images.size())
        return;
    m_index = index;
    m_previewActive = false;
    updateView();
}

void ImageViewer::updateView() {
    if (!m_previewActive)
        m_canvas->show(currentImage(), false, {});
    const bool have = !m_previewActive && !currentImage().isNull();
    m_copyAction->setEnabled(have);
    m_saveAction->setEnabled(have);
    m_folderAction->setEnabled(!currentFile().isEmpty() || !m_outputDir.isEmpty());
    m_zoomInAction->setEnabled(have);
    m_zoomOutAction->setEnabled(have);
    m_actualAction->setEnabled(have);
    const bool several = m_images.size() > 1;
    m_prevAction->setVisible(several);
    m_nextAction->setVisible(several);
    m_positionAction->setVisible(several); // a toolbar shows its widgets through their actions
    m_prevAction->setEnabled(m_index > 0);
    m_nextAction->setEnabled(m_index + 1 < m_images.size());
    m_position->setText(tr("%1 of %2").arg(m_index + 1).arg(m_images.size()));
    m_scroll->setWidgetResizable(m_fit);
    m_canvas->setFit(m_fit, m_zoom);
    if (!m_fit)
        m_canvas->resize(m_canvas->sizeHint().expandedTo(m_scroll->viewport()->size()));
}

void ImageViewer::setFit(bool fit) {
    m_fit = fit;
    m_fitAction->setChecked(fit);
    updateView();
}

void ImageViewer::setZoom(double zoom) {
    m_zoom = std::clamp(zoom, 0.05, 16.0);
    m_fit = false;
    m_fitAction->setChecked(false);
    updateView();
}

void ImageViewer::zoomIn() {
    const double from = m_fit ? std::min(1.0, m_canvas->fitZoom(m_scroll->viewport()->size())) : m_zoom;
    setZoom(from * 1.25);
}

void ImageViewer::zoomOut() {
    const double from = m_fit ? std::min(1.0, m_canvas->fitZoom(m_scroll->viewport()->size())) : m_zoom;
    setZoom(from / 1.25);
}

void ImageViewer::actualSize() {
    setZoom(1.0);
}

void ImageViewer::copy() {
    if (!currentImage().isNull())
        QApplication::clipboard()->setImage(currentImage());
}

bool ImageViewer::saveTo(const QString& path) {
    const QString source = currentFile();
    if (QFileInfo::exists(path))
        QFile::remove(path); // the dialog asked already
    const bool ok =
        !source.isEmpty() && QFileInfo(path).suffix().compare(QLatin1String("png"), Qt::CaseInsensitive) == 0
            ? QFile::copy(source, path)
            : currentImage().save(path);
    if (ok)
        Q_EMIT saved(path);
    return ok;
}

void ImageViewer::saveAs() {
    if (currentImage().isNull())
        return;
    const QString suggested = currentFile().isEmpty()
                                  ? QDir(m_outputDir.isEmpty() ? QDir::homePath() : m_outputDir)
                                        .filePath(QStringLiteral("image.png"))
                                  : currentFile();
    const QString path =
        QFileDialog::getSaveFileName(this, tr("Save image as"), suggested,
                                     tr("PNG image (*.png);;JPEG image (*.jpg *.jpeg);;WebP image (*.webp)"));
    if (!path.isEmpty() && !saveTo(path))
        Q_EMIT saveFailed(tr("Could not save the image as %1.").arg(QDir::toNativeSeparators(path)));
}

void ImageViewer::openFolder() {
    const QString file = currentFile();
    const QString dir = file.isEmpty() ? m_outputDir : QFileInfo(file).absolutePath();
    if (!dir.isEmpty())
        QDesktopServices::openUrl(QUrl::fromLocalFile(dir));
}

} // namespace tp::ui
