#include "ui/GalleryModel.h"

#include "core/engine/OutputWriter.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QHash>
#include <QImageReader>
#include <QLocale>
#include <QPainter>
#include <QRunnable>
#include <QSet>

#include <algorithm>
#include <functional>

namespace tp::ui {
namespace {

const QStringList kImageFilters = {QStringLiteral("*.png"), QStringLiteral("*.jpg"), QStringLiteral("*.jpeg"),
                                   QStringLiteral("*.webp")};

// Decodes a thumbnail and reads the parameters on a pool thread, then hands both to the
// model on its own thread. The model waits for its pool before it goes, so `model` is alive.
class ThumbnailJob final : public QRunnable {
public:
    ThumbnailJob(GalleryModel* model, std::function<void(QImage, bool, engine::ImageParameters)> done,
                 QString path, int size)
        : m_model(model)
        , m_done(std::move(done))
        , m_path(std::move(path))
        , m_size(size) {}

    void run() override {
        QImageReader reader(m_path);
        reader.setAutoTransform(true);
        const QSize full = reader.size();
        if (full.isValid())
            reader.setScaledSize(full.scaled(m_size, m_size, Qt::KeepAspectRatio));
        QImage image = reader.read();
        if (!image.isNull() && (image.width() > m_size || image.height() > m_size))
            image = image.scaled(m_size, m_size, Qt::KeepAspectRatio, Qt::SmoothTransformation);
        const Result<engine::ImageParameters> params = engine::readImageParameters(m_path);
        const engine::ImageParameters p = params ? *params : engine::ImageParameters();
        const bool has = params.isOk();
        QMetaObject::invokeMethod(
            m_model, [done = m_done, image, has, p] { done(image, has, p); }, Qt::QueuedConnection);
    }

private:
    GalleryModel* m_model;
    std::function<void(QImage, bool, engine::ImageParameters)> m_done;
    QString m_path;
    int m_size;
};

} // namespace

GalleryModel::GalleryModel(QObject* parent)
    : QAbstractListModel(parent) {
    qRegisterMetaType<tp::engine::ImageParameters>();
    m_pool.setMaxThreadCount(1); // decoding is I/O and memory bound; one worker keeps the UI smooth
    m_rescanTimer.setSingleShot(true);
    m_rescanTimer.setInterval(250); // a burst of writes (PNG, then sidecar) is one rescan
    connect(&m_rescanTimer, &QTimer::timeout, this, &GalleryModel::rescan);
    connect(&m_watcher, &QFileSystemWatcher::directoryChanged, this, [this] { m_rescanTimer.start(); });
    setThumbnailSize(m_thumbSize);
}

GalleryModel::~GalleryModel() {
    m_pool.clear();
    m_pool.waitForDone();
}

void GalleryModel::setThumbnailSize(int pixels) {
    m_thumbSize = pixels;
    m_placeholder = QPixmap(pixels, pixels);
    m_placeholder.fill(Qt::transparent);
    QPainter p(&m_placeholder);
    p.setPen(QPen(QColor(128, 128, 128, 90), 1, Qt::DashLine));
    p.drawRoundedRect(QRectF(4.5, 4.5, pixels - 9, pixels - 9), 6, 6);
}

void GalleryModel::setDirectory(const QString& directory) {
    if (directory == m_directory)
        return;
    if (!m_watcher.directories().isEmpty())
        m_watcher.removePaths(m_watcher.directories());
    m_pool.clear();
    ++m_generation;
    m_pending = 0;
    beginResetModel();
    m_items.clear();
    endResetModel();
    m_directory = directory;
    rescan();
}

bool GalleryModel::newerFirst(const Item& a, const Item& b) {
    if (a.mtimeMs != b.mtimeMs)
        return a.mtimeMs > b.mtimeMs;
    return a.path > b.path;
}

void GalleryModel::rescan() {
    if (m_directory.isEmpty())
        return;
    const QDir dir(m_directory);
    if (dir.exists() && !m_watcher.directories().contains(m_directory))
        m_watcher.addPath(m_directory);

    QVector<Item> found;
    const QFileInfoList infos =
        dir.exists() ? dir.entryInfoList(kImageFilters, QDir::Files | QDir::Readable) : QFileInfoList();
    found.reserve(infos.size());
    for (const QFileInfo& info : infos) {
        Item item;
        item.path = info.absoluteFilePath();
        item.mtimeMs = info.lastModified().toMSecsSinceEpoch();
        item.size = info.size();
        found.push_back(std::move(item));
    }
    std::sort(found.begin(), found.end(), newerFirst);

    // Remove what went away or changed; keep rows (and the selection) of everything else.
    QHash<QString, const Item*> byPath;
    for (const Item& f : found)
        byPath.insert(f.path, &f);
    for (int row = m_items.size() - 1; row >= 0; --row) {
        const Item& old = m_items[row];
        const Item* now = byPath.value(old.path);
        if (!now || now->mtimeMs != old.mtimeMs || now->size != old.size) {
            beginRemoveRows({}, row, row);
            m_items.remove(row);
            endRemoveRows();
        }
    }
    // Insert the new ones where the order puts them.
    QSet<QString> present;
    for (const Item& item : m_items)
        present.insert(item.path);
    for (const Item& f : found) {
        if (present.contains(f.path))
            continue;
        const auto at = std::lower_bound(m_items.begin(), m_items.end(), f, newerFirst);
        const int row = int(at - m_items.begin());
        beginInsertRows({}, row, row);
        m_items.insert(row, f);
        endInsertRows();
        queueLoad(f);
    }
}

void GalleryModel::queueLoad(const Item& item) {
    ++m_pending;
    const quint64 generation = m_generation;
    const QString path = item.path;
    const qint64 mtime = item.mtimeMs;
    m_pool.start(new ThumbnailJob(
        this,
        [this, generation, path, mtime](QImage image, bool has, engine::ImageParameters params) {
            thumbnailReady(generation, path, mtime, image, has, params);
        },
        path, m_thumbSize));
}

void GalleryModel::thumbnailReady(quint64 generation, const QString& path, qint64 mtimeMs,
                                  const QImage& image, bool hasParameters,
                                  const engine::ImageParameters& parameters) {
    if (generation != m_generation)
        return;
    m_pending = std::max(0, m_pending - 1);
    const int row = rowOf(path);
    if (row >= 0 && m_items[row].mtimeMs == mtimeMs) {
        Item& item = m_items[row];
        item.loaded = true;
        item.failed = image.isNull();
        if (!image.isNull())
            item.thumbnail = QPixmap::fromImage(image);
        item.hasParameters = hasParameters;
        item.parameters = parameters;
        const QModelIndex i = index(row);
        Q_EMIT dataChanged(i, i);
    }
    if (m_pending == 0)
        Q_EMIT loadingFinished();
}

int GalleryModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : m_items.size();
}

int GalleryModel::rowOf(const QString& path) const {
    for (int i = 0; i < m_items.size(); ++i)
        if (m_items[i].path == path)
            return i;
    return -1;
}

QString GalleryModel::pathAt(int row) const {
    return row >= 0 && row < m_items.size() ? m_items[row].path : QString();
}

const engine::ImageParameters* GalleryModel::parametersAt(int row) const {
    if (row < 0 || row >= m_items.size() || !m_items[row].hasParameters)
        return nullptr;
    return &m_items[row].parameters;
}

QString GalleryModel::tooltipFor(const Item& item) const {
    QString tip = QFileInfo(item.path).fileName();
    if (item.failed)
        return tip + QLatin1Char('\n') + tr("This file could not be read as an image.");
    if (!item.hasParameters)
        return item.loaded ? QString(tip + QLatin1Char('\n') + tr("No generation parameters recorded."))
                           : tip;
    const engine::ImageParameters& p = item.parameters;
    QString prompt = p.prompt;
    if (prompt.size() > 300)
        prompt = prompt.left(300) + QStringLiteral("…");
    tip += QLatin1Char('\n') + prompt;
    tip += QLatin1Char('\n') + tr("%1 × %2 · %3 · %4 steps · seed %5")
                                   .arg(p.width)
                                   .arg(p.height)
                                   .arg(engine::samplerDisplayName(p.sampler))
                                   .arg(p.steps)
                                   .arg(p.seed);
    if (!p.modelName.isEmpty())
        tip += QLatin1Char('\n') + tr("Model: %1").arg(p.modelName);
    return tip;
}

QVariant GalleryModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= m_items.size())
        return {};
    const Item& item = m_items[index.row()];
    switch (role) {
    case Qt::DisplayRole: {
        const QDateTime when = QDateTime::fromMSecsSinceEpoch(item.mtimeMs);
        const QLocale locale;
        return when.date() == QDate::currentDate() ? locale.toString(when.time(), QLocale::ShortFormat)
                                                   : locale.toString(when, QLocale::ShortFormat);
    }
    case Qt::DecorationRole:
        return item.thumbnail.isNull() ? m_placeholder : item.thumbnail;
    case Qt::ToolTipRole:
        return tooltipFor(item);
    case PathRole:
        return item.path;
    case HasParametersRole:
        return item.hasParameters;
    default:
        return {};
    }
}

} // namespace tp::ui
