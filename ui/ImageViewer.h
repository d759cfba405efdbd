#pragma once

#include <QImage>
#include <QStringList>
#include <QVector>
#include <QWidget>

class QAction;
class QLabel;
class QScrollArea;
class QToolBar;

namespace tp::ui {

class ImageCanvas;

// Shows the live preview while an image is made, then the results: fit to the window or
// zoomed, one at a time when there are several; copy, save as, open the folder.
class ImageViewer final : public QWidget {
    Q_OBJECT
public:
    explicit ImageViewer(QWidget* parent = nullptr);

    void setImages(const QVector<QImage>& images, const QStringList& files = {});
    void showPreview(const QImage& preview, const QString& caption = {});
    void clear();
    void setOutputDirectory(const QString& directory) { m_outputDir = directory; }

    int count() const { return m_images.size(); }
    int currentIndex() const { return m_index; }
    QImage currentImage() const;
    QString currentFile() const;
    bool isFit() const { return m_fit; }
    double zoom() const { return m_zoom; }
    bool showsPreview() const;

    QAction* fitAction() const { return m_fitAction; }
    QAction* actualSizeAction() const { return m_actualAction; }
    QAction* zoomInAction() const { return m_zoomInAction; }
    QAction* zoomOutAction() const { return m_zoomOutAction; }
    QAction* copyAction() const { return m_copyAction; }
    QAction* saveAsAction() const { return m_saveAction; }
    QAction* openFolderAction() const { return m_folderAction; }
    QAction* previousAction() const { return m_prevAction; }
    QAction* nextAction() const { return m_nextAction; }

public Q_SLOTS:
    void setCurrentIndex(int index);
    void setFit(bool fit);
    void zoomIn();
    void zoomOut();
    void actualSize();
    void copy();
    // Asks where; keeps the PNG's text chunks by copying the written file when there is one.
    void saveAs();
    bool saveTo(const QString& path);
    void openFolder();

Q_SIGNALS:
    void saved(const QString& path);
    void saveFailed(const QString& message);

protected:
    void changeEvent(QEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void retranslateUi();
    void updateView();
    void setZoom(double zoom);

    ImageCanvas* m_canvas = nullptr;
    QScrollArea* m_scroll = nullptr;
    QToolBar* m_toolbar = nullptr;
    QLabel* m_position = nullptr;
    QAction* m_positionAction = nullptr;
    QAction* m_fitAction = nullptr;
    QAction* m_actualAction = nullptr;
    QAction* m_zoomInAction = nullptr;
    QAction* m_zoomOutAction = nullptr;
    QAction* m_copyAction = nullptr;
    QAction* m_saveAction = nullptr;
    QAction* m_folderAction = nullptr;
    QAction* m_prevAction = nullptr;
    QAction* m_nextAction = nullptr;

    QVector<QImage> m_images;
    QStringList m_files;
    int m_index = -1;
    bool m_previewActive = false; // a preview replaces the results until the next ones arrive
    bool m_fit = true;
    double m_zoom = 1.0;
    QString m_outputDir;
};

} // namespace tp::ui
