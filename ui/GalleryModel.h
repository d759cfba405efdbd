#pragma once

#include "core/engine/ImageMetadata.h"

#include <QAbstractListModel>
#include <QFileSystemWatcher>
#include <QPixmap>
#include <QThreadPool>
#include <QTimer>

namespace tp::ui {

// The images of one folder, newest first, with thumbnails and parsed parameters loaded on a
// worker pool (never on the UI thread). Watches the folder: new images appear, deleted ones go.
class GalleryModel final : public QAbstractListModel {
    Q_OBJECT
public:
    static constexpr int PathRole = Qt::UserRole + 1;
    static constexpr int HasParametersRole = Qt::UserRole + 2;

    explicit GalleryModel(QObject* parent = nullptr);
    ~GalleryModel() override;

    void setDirectory(const QString& directory);
    QString directory() const { return m_directory; }
    void setThumbnailSize(int pixels);
    int thumbnailSize() const { return m_thumbSize; }

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;

    QString pathAt(int row) const;
    int rowOf(const QString& path) const;
    // The parameters of an image (sidecar, else the PNG chunk); nullptr while loading or when
    // the image has none.
    const engine::ImageParameters* parametersAt(int row) const;
    // Thumbnails still being loaded (tests wait for 0).
    int pendingCount() const { return m_pending; }

public Q_SLOTS:
    // Lists the folder again now (the watcher does this by itself after changes).
    void rescan();

Q_SIGNALS:
    void loadingFinished();

private:
    struct Item {
        QString path;
        qint64 mtimeMs = 0;
        qint64 size = 0;
        QPixmap thumbnail;
        bool loaded = false;
        bool failed = false;
        bool hasParameters = false;
        engine::ImageParameters parameters;
    };
    static bool newerFirst(const Item& a, const Item& b);
    void queueLoad(const Item& item);
    void thumbnailReady(quint64 generation, const QString& path, qint64 mtimeMs, const QImage& image,
                        bool hasParameters, const engine::ImageParameters& parameters);
    QString tooltipFor(const Item& item) const;

    QString m_directory;
    QVector<Item> m_items;
    QThreadPool m_pool;
    QFileSystemWatcher m_watcher;
    QTimer m_rescanTimer;
    QPixmap m_placeholder;
    int m_thumbSize = 128;
    int m_pending = 0;
    quint64 m_generation = 0;
};

} // namespace tp::ui
