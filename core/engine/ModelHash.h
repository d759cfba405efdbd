#pragma once

#include "core/common/Result.h"

#include <QHash>
#include <QMutex>
#include <QString>
#include <QStringList>

#include <optional>

// A1111's "Model hash": the first 10 hex digits of the SHA-256 of the model's weights. Hashing
// a multi-GB file takes seconds, so each result is cached (in memory and in a small JSON file)
// keyed by path, size and modification time. Torch-free.
namespace tp::engine {

// The files whose bytes name a model: a single-file checkpoint is itself; a diffusers folder
// names its denoiser's weights (unet/ or transformer/, full precision before fp16 variants;
// the shards of a sharded file in order).
Result<QStringList> modelHashFiles(const QString& modelPath);

// SHA-256 over the files' bytes in order, as the first `digits` hex digits. Slow; no cache.
Result<QString> sha256Prefix(const QStringList& files, int digits = 10);

class ModelHashCache final {
public:
    // `cacheFile` empty: memory only.
    explicit ModelHashCache(QString cacheFile = {});
    // The process's cache, kept in <cache dir>/TwistedPic/model-hashes.json.
    static ModelHashCache& shared();
    static QString defaultCacheFile();

    // The model's hash, computing it when not cached. Blocks for seconds on a large model the
    // first time: call it on the engine's worker thread, never on the UI thread.
    Result<QString> hash(const QString& modelPath);
    // The cached hash if the files have not changed since; never computes.
    std::optional<QString> cached(const QString& modelPath) const;

private:
    struct Entry {
        qint64 size = 0;
        qint64 mtimeMs = 0;
        QString hash;
    };
    static QString keyFor(const QStringList& files);
    static std::optional<Entry> stamp(const QStringList& files);
    void loadFile() const; // with m_mutex held
    void saveFile() const;

    QString m_cacheFile;
    mutable QMutex m_mutex;
    mutable QHash<QString, Entry> m_entries;
    mutable bool m_loaded = false;
};

} // namespace tp::engine
