#include "core/engine/ModelHash.h"

#include "core/common/Log.h"

#include <QCryptographicHash>
#include <QDateTime>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>
#include <QStandardPaths>

#include <set>

namespace tp::engine {
namespace {

// Shards of "<file>.index.json" (its weight_map's values), in name order.
Result<QStringList> shardsOf(const QString& indexPath) {
    QFile f(indexPath);
    if (!f.open(QIODevice::ReadOnly))
        return Result<QStringList>::fail(
            QStringLiteral("Cannot read %1: %2.").arg(indexPath, f.errorString()));
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &error);
    const QJsonObject map = doc.object().value(QStringLiteral("weight_map")).toObject();
    if (error.error != QJsonParseError::NoError || map.isEmpty())
        return Result<QStringList>::fail(QStringLiteral("%1 is not a weights index (no \"weight_map\"): %2.")
                                             .arg(indexPath, error.errorString()));
    std::set<QString> names;
    for (auto it = map.begin(); it != map.end(); ++it)
        names.insert(it.value().toString());
    const QDir dir = QFileInfo(indexPath).dir();
    QStringList files;
    for (const QString& name : names) {
        const QString path = dir.filePath(name);
        if (name.isEmpty() || name.contains(QLatin1String("..")) || !QFileInfo(path).isFile())
            return Result<QStringList>::fail(
                QStringLiteral("%1 names the shard \"%2\", which is missing.").arg(indexPath, name));
        files << path;
    }
    return Result<QStringList>::ok(files);
}

} // namespace

Result<QStringList> modelHashFiles(const QString& modelPath) {
    const QFileInfo info(modelPath);
    if (info.isFile())
        return Result<QStringList>::ok({info.absoluteFilePath()});
    if (!info.isDir())
        return Result<QStringList>::fail(QStringLiteral("The model %1 does not exist.").arg(modelPath));
    const QDir root(info.absoluteFilePath());
    const QStringList names = {
        QStringLiteral("diffusion_pytorch_model.safetensors"),
        QStringLiteral("diffusion_pytorch_model.safetensors.index.json"),
        QStringLiteral("diffusion_pytorch_model.fp16.safetensors"),
        QStringLiteral("diffusion_pytorch_model.fp16.safetensors.index.json"),
        QStringLiteral("diffusion_pytorch_model.bin"),
        QStringLiteral("diffusion_pytorch_model.fp16.bin"),
    };
    for (const QString& component : {QStringLiteral("unet"), QStringLiteral("transformer")}) {
        for (const QString& name : names) {
            const QString path = root.filePath(component + QLatin1Char('/') + name);
            if (!QFileInfo(path).isFile())
                continue;
            if (name.endsWith(QLatin1String(".index.json")))
                return shardsOf(path);
            return Result<QStringList>::ok({QFileInfo(path).absoluteFilePath()});
        }
    }
    return Result<QStringList>::fail(
        QStringLiteral("No UNet or transformer weights found in %1 (looked for unet/ and transformer/ "
                       "diffusion_pytorch_model files).")
            .arg(modelPath));
}

Result<QString> sha256Prefix(const QStringList& files, int digits) {
    QCryptographicHash hash(QCryptographicHash::Sha256);
    for (const QString& path : files) {
        QFile f(path);
        if (!f.open(QIODevice::ReadOnly))
            return Result<QString>::fail(QStringLiteral("Cannot read %1: %2.").arg(path, f.errorString()));
        if (!hash.addData(&f))
            return Result<QString>::fail(QStringLiteral("Reading %1 failed: %2.").arg(path, f.errorString()));
    }
    return Result<QString>::ok(QString::fromLatin1(hash.result().toHex().left(digits)));
}

ModelHashCache::ModelHashCache(QString cacheFile)
    : m_cacheFile(std::move(cacheFile)) {}

ModelHashCache& ModelHashCache::shared() {
    static ModelHashCache cache(defaultCacheFile());
    return cache;
}

QString ModelHashCache::defaultCacheFile() {
    return QDir(QStandardPaths::writableLocation(QStandardPaths::GenericCacheLocation))
        .filePath(QStringLiteral("TwistedPic/model-hashes.json"));
}

QString ModelHashCache::keyFor(const QStringList& files) {
    return files.join(QLatin1Char('|'));
}

std::optional<ModelHashCache::Entry> ModelHashCache::stamp(const QStringList& files) {
    Entry e;
    for (const QString& path : files) {
        const QFileInfo info(path);
        if (!info.isFile())
            return std::nullopt;
        e.size += info.size();
        e.mtimeMs = qMax(e.mtimeMs, info.lastModified().toMSecsSinceEpoch());
    }
    return e;
}

std::optional<QString> ModelHashCache::cached(const QString& modelPath) const {
    const Result<QStringList> files = modelHashFiles(modelPath);
    if (!files)
        return std::nullopt;
    const std::optional<Entry> now = stamp(*files);
    if (!now)
        return std::nullopt;
    QMutexLocker lock(&m_mutex);
    loadFile();
    const auto it = m_entries.constFind(keyFor(*files));
    if (it == m_entries.constEnd() || it->size != now->size || it->mtimeMs != now->mtimeMs)
        return std::nullopt;
    return it->hash;
}

Result<QString> ModelHashCache::hash(const QString& modelPath) {
    if (const std::optional<QString> known = cached(modelPath))
        return Result<QString>::ok(*known);
    const Result<QStringList> files = modelHashFiles(modelPath);
    if (!files)
        return Result<QString>::fail(files.error());
    std::optional<Entry> entry = stamp(*files);
    if (!entry)
        return Result<QString>::fail(
            QStringLiteral("The weights of %1 disappeared while hashing.").arg(modelPath));

    QElapsedTimer timer;
    timer.start();
    const Result<QString> digest = sha256Prefix(*files); // without the lock: takes seconds
    if (!digest)
        return digest;
    spdlog::info("model hash of {}: {} ({} MiB in {:.1f} s)", modelPath, *digest, entry->size >> 20,
                 timer.elapsed() / 1000.0);
    entry->hash = *digest;
    QMutexLocker lock(&m_mutex);
    loadFile();
    m_entries.insert(keyFor(*files), *entry);
    saveFile();
    return digest;
}

void ModelHashCache::loadFile() const {
    if (m_loaded)
        return;
    m_loaded = true;
    if (m_cacheFile.isEmpty())
        return;
    QFile f(m_cacheFile);
    if (!f.exists() || !f.open(QIODevice::ReadOnly))
        return;
    const QJsonObject models =
        QJsonDocument::fromJson(f.readAll()).object().value(QStringLiteral("models")).toObject();
    for (auto it = models.begin(); it != models.end(); ++it) {
        const QJsonObject o = it.value().toObject();
        Entry e;
        e.size = qint64(o.value(QStringLiteral("size")).toDouble());
        e.mtimeMs = qint64(o.value(QStringLiteral("mtimeMs")).toDouble());
        e.hash = o.value(QStringLiteral("hash")).toString();
        if (!e.hash.isEmpty())
            m_entries.insert(it.key(), e);
    }
}

void ModelHashCache::saveFile() const {
    if (m_cacheFile.isEmpty())
        return;
    QJsonObject models;
    for (auto it = m_entries.cbegin(); it != m_entries.cend(); ++it)
        models.insert(it.key(), QJsonObject{{QStringLiteral("size"), double(it->size)},
                                            {QStringLiteral("mtimeMs"), double(it->mtimeMs)},
                                            {QStringLiteral("hash"), it->hash}});
    QDir().mkpath(QFileInfo(m_cacheFile).absolutePath());
    QSaveFile f(m_cacheFile);
    if (!f.open(QIODevice::WriteOnly) ||
        f.write(QJsonDocument(QJsonObject{{QStringLiteral("version"), 1}, {QStringLiteral("models"), models}})
                    .toJson()) < 0 ||
        !f.commit())
        spdlog::warn("could not save the model hash cache {}: {} (hashes are computed again next time)",
                     m_cacheFile, f.errorString());
}

} // namespace tp::engine
