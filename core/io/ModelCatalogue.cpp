#include "core/io/ModelCatalogue.h"

#include "core/common/Bytes.h"

#include "core/common/Log.h"
#include "core/common/Paths.h"
#include "core/io/ModelFolder.h"
#include "core/io/SingleFileCheckpoint.h"

#include <QDateTime>
#include <QDir>
#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>

namespace tp::io {

namespace {

bool looksLikeModelFolder(const QString& dir) {
    const QFileInfo fi(QDir(dir).filePath(QStringLiteral("model_index.json")));
    return fi.exists() || fi.isSymLink();
}

QString canonical(const QString& path) {
    const QString c = QFileInfo(path).canonicalFilePath();
    return c.isEmpty() ? QDir::cleanPath(QFileInfo(path).absoluteFilePath()) : c;
}

// Size of every file below `dir`, following links: for folders that could not be read as models.
qint64 folderSize(const QString& dir) {
    qint64 sum = 0;
    QDirIterator it(dir, QDir::Files | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        sum += std::max<qint64>(0, it.fileInfo().size());
    }
    return sum;
}

// The family of a folder that ModelFolder::open refused, from whatever JSON is readable.
QString guessFamily(const QString& folder) {
    const QDir d(folder);
    const Result<QJsonObject> index = readJsonObject(d.filePath(QStringLiteral("model_index.json")));
    if (!index)
        return familyName(ModelFamily::Unknown);
    const QString cls = index->value(QLatin1String("_class_name")).toString();
    const QJsonObject unet = readJsonObject(d.filePath(QStringLiteral("unet/config.json"))).valueOr({});
    const QJsonObject te = readJsonObject(d.filePath(QStringLiteral("text_encoder/config.json"))).valueOr({});
    return familyName(detectFamily(cls, unet, te));
}

// What the tensors under `prefix` take on the GPU in half precision (fp8 stays one byte).
qint64 halfPrecisionBytes(const Header& h, const QString& prefix) {
    qint64 sum = 0;
    for (const TensorInfo& t : h.tensors)
        if (t.name.startsWith(prefix) && dtypeIsFloat(t.dtype))
            sum += t.numel() * std::min(2, dtypeSize(t.dtype));
    return sum;
}

} // namespace

QString repoIdFromCacheFolder(const QString& folderName) {
    const QLatin1String prefix("models--");
    if (!folderName.startsWith(prefix) || folderName.size() == prefix.size())
        return {};
    const QString rest = folderName.mid(prefix.size());
    const int sep = rest.indexOf(QLatin1String("--"));
    if (sep < 0)
        return rest; // a repo without an organisation ("gpt2")
    return rest.left(sep) + QLatin1Char('/') + rest.mid(sep + 2);
}

QString hfSnapshotFolder(const QString& repoCacheDir, QString* why) {
    const QDir repo(repoCacheDir);
    QFile ref(repo.filePath(QStringLiteral("refs/main")));
    QString note;
    if (ref.open(QIODevice::ReadOnly)) {
        const QString revision = QString::fromUtf8(ref.read(256)).trimmed();
        const QString snap = repo.filePath(QStringLiteral("snapshots/") + revision);
        if (!revision.isEmpty() && !revision.contains(QLatin1Char('/')) && QFileInfo(snap).isDir())
            return snap;
        note = QStringLiteral("refs/main names revision %1, which has no snapshot").arg(revision.left(40));
    } else {
        note = QStringLiteral("refs/main is missing");
    }
    const QFileInfoList snaps = QDir(repo.filePath(QStringLiteral("snapshots")))
                                    .entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Time);
    if (snaps.isEmpty())
        return {};
    if (why)
        *why = note +
               (snaps.size() == 1 ? QStringLiteral("; using the only snapshot ")
                                  : QStringLiteral("; using the newest snapshot ")) +
               snaps.first().fileName();
    return snaps.first().absoluteFilePath();
}

QString formatSize(qint64 bytes) {
    return tp::formatBytes(bytes); // the one byte formatter
}

QString ModelCatalogue::defaultHfCacheDir() {
    const QString hub = qEnvironmentVariable("HF_HUB_CACHE");
    if (!hub.isEmpty())
        return paths::expandHome(hub);
    const QString home = qEnvironmentVariable("HF_HOME");
    if (!home.isEmpty())
        return QDir(paths::expandHome(home)).filePath(QStringLiteral("hub"));
    return QDir::home().filePath(QStringLiteral(".cache/huggingface/hub"));
}

ModelInfo ModelCatalogue::inspectFile(const QString& path, const QString& source,
                                      const SingleFileOptions& options) {
    const QFileInfo fi(path);
    ModelInfo info;
    info.folder = fi.absoluteFilePath();
    info.source = source;
    info.name = fi.completeBaseName();
    info.sizeBytes = std::max<qint64>(0, fi.size());
    info.family = familyName(ModelFamily::Unknown);
    if (isPickleCheckpointFileName(fi.fileName())) {
        info.format = QStringLiteral("pickle");
        info.problem =
            QStringLiteral("PyTorch pickle checkpoints are not supported (loading one can run code): "
                           "convert it to .safetensors.");
        return info;
    }
    info.format = QStringLiteral("single-file");
    const Result<SingleFileCheckpoint> c = SingleFileCheckpoint::open(path, options);
    if (!c) {
        info.problem = c.error();
        return info;
    }
    info.companions = c->companionFiles();
    info.missingParts = c->missingParts();
    info.sizeBytes = c->totalSize();
    const QString t5 = familyTraits(c->family()).optionalT5;
    if (const Result<ComponentMapping> m =
            t5.isEmpty() ? Result<ComponentMapping>::fail(QString()) : c->mapping(t5)) {
        if (m->file.isEmpty()) {
            info.t5Bytes = halfPrecisionBytes(c->header(), m->prefix);
        } else if (const auto part = identifyCompanionFile(m->file); part && *part && (*part)->header) {
            info.t5Bytes = halfPrecisionBytes(*(*part)->header, m->prefix);
        }
    }
    info.family = familyName(c->family());
    info.familyId = c->family();
    info.precision = c->precision();
    info.nativeSize = c->nativeSize();
    info.defaults = modelDefaults(c->family(), info.name, c->schedulerConfig(), c->nativeSize());
    info.problem = c->problem();
    info.supported = c->supported();
    return info;
}

ModelInfo ModelCatalogue::inspect(const QString& folder, const QString& source, const QString& name,
                                  const QString& repoId) {
    if (QFileInfo(folder).isFile()) {
        ModelInfo info = inspectFile(folder, source);
        if (!name.isEmpty())
            info.name = name;
        info.repoId = repoId;
        return info;
    }
    ModelInfo info;
    info.folder = QFileInfo(folder).absoluteFilePath();
    info.source = source;
    info.repoId = repoId;
    info.name = name.isEmpty() ? QDir(info.folder).dirName() : name;
    const Result<ModelFolder> m = ModelFolder::open(folder);
    if (!m) {
        info.problem = m.error();
        info.family = guessFamily(folder);
        info.sizeBytes = folderSize(folder);
        return info;
    }
    info.familyId = m->family();
    info.family = familyName(m->family());
    info.sizeBytes = m->sizeOnDisk();
    const ModelComponent* denoiser = m->component(familyTraits(m->family()).denoiserComponent);
    const ModelComponent* vae = m->component(QStringLiteral("vae"));
    if (denoiser && vae) {
        const int sample = denoiser->config.value(QStringLiteral("sample_size")).toInt();
        const int levels = int(vae->config.value(QStringLiteral("block_out_channels")).toArray().size());
        if (sample > 0 && levels > 0)
            info.nativeSize = sample << (levels - 1);
    }
    if (const QString t5 = familyTraits(m->family()).optionalT5; !t5.isEmpty())
        if (const ModelComponent* c = m->component(t5))
            for (const QString& file : c->weightFiles)
                if (const Result<Header> h = readSafeTensorsHeader(file))
                    info.t5Bytes += halfPrecisionBytes(*h, QString());
    const ModelComponent* scheduler = m->component(QStringLiteral("scheduler"));
    info.defaults = modelDefaults(m->family(), repoId.isEmpty() ? info.name : repoId,
                                  scheduler ? scheduler->config : QJsonObject(), info.nativeSize);
    const Result<WeightSummary> w = m->inspectWeights();
    if (!w) {
        info.problem = w.error();
        return info;
    }
    info.precision = w->precision;
    info.problem = m->problem();
    info.supported = m->supported();
    return info;
}

ModelCatalogue ModelCatalogue::scan(const QStringList& searchPaths, const QStringList& bundledDirs) {
    return scan(searchPaths, bundledDirs, defaultHfCacheDir());
}

ModelCatalogue ModelCatalogue::scan(const QStringList& searchPaths, const QStringList& bundledDirs,
                                    const QString& hfCacheDir) {
    QElapsedTimer timer;
    timer.start();
    ModelCatalogue c;
    for (const QString& dir : bundledDirs)
        c.scanContainer(dir, QStringLiteral("bundled"));
    for (const QString& dir : searchPaths)
        c.scanContainer(paths::expandHome(dir), QStringLiteral("folder"));
    if (!hfCacheDir.isEmpty())
        c.scanHfCache(hfCacheDir);
    c.m_scanMs = timer.elapsed();
    spdlog::debug("model catalogue: {} models in {} ms", c.m_models.size(), c.m_scanMs);
    return c;
}

void ModelCatalogue::add(ModelInfo info) {
    const QString key = canonical(info.folder);
    if (m_seenFolders.contains(key))
        return;
    m_seenFolders << key;
    if (!info.problem.isEmpty())
        spdlog::debug("model {} ({}): {}", info.name, info.folder, info.problem);
    m_models.push_back(std::move(info));
}

void ModelCatalogue::scanContainer(const QString& dir, const QString& source) {
    if (dir.isEmpty())
        return;
    const QFileInfo fi(dir);
    if (fi.isFile() && (isSafeTensorsFileName(fi.fileName()) || isPickleCheckpointFileName(fi.fileName()))) {
        m_searched.push_back({source, fi.absoluteFilePath(), true});
        add(inspectFile(dir, source));
        return;
    }
    m_searched.push_back({source, fi.absoluteFilePath(), fi.isDir()});
    if (!fi.isDir())
        return;
    if (looksLikeModelFolder(dir)) {
        add(inspect(dir, source));
        return;
    }
    scanFiles(dir, source);
    const QFileInfoList subs = QDir(dir).entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
    for (const QFileInfo& sub : subs) {
        if (looksLikeModelFolder(sub.absoluteFilePath()))
            add(inspect(sub.absoluteFilePath(), source));
        else
            scanFiles(sub.absoluteFilePath(), source); // A1111 users sort checkpoints into subfolders
    }
}

void ModelCatalogue::scanFiles(const QString& dir, const QString& source) {
    const QFileInfoList files = QDir(dir).entryInfoList(QDir::Files | QDir::NoDotAndDotDot, QDir::Name);
    for (const QFileInfo& f : files) {
        if (!isSafeTensorsFileName(f.fileName()) && !isPickleCheckpointFileName(f.fileName()))
            continue;
        // Text encoder and VAE files (clip_l, t5xxl, ae.safetensors …) are parts, not models.
        if (isSafeTensorsFileName(f.fileName())) {
            const Result<std::optional<CompanionFile>> part = identifyCompanionFile(f.absoluteFilePath());
            if (part && *part) {
                spdlog::debug("{}: a {} file, not a model", f.absoluteFilePath(),
                              companionKindName((*part)->kind));
                continue;
            }
        }
        add(inspectFile(f.absoluteFilePath(), source));
    }
}

void ModelCatalogue::scanHfCache(const QString& cacheDir) {
    const QFileInfo fi(cacheDir);
    m_searched.push_back({QStringLiteral("hf-cache"), fi.absoluteFilePath(), fi.isDir()});
    if (!fi.isDir())
        return;
    const QFileInfoList repos = QDir(cacheDir).entryInfoList(QStringList{QStringLiteral("models--*")},
                                                             QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
    for (const QFileInfo& repo : repos) {
        const QString repoId = repoIdFromCacheFolder(repo.fileName());
        if (repoId.isEmpty())
            continue;
        QString why;
        const QString snapshot = hfSnapshotFolder(repo.absoluteFilePath(), &why);
        if (snapshot.isEmpty() || !looksLikeModelFolder(snapshot))
            continue; // not downloaded, or not a diffusers pipeline (a language model, a LoRA, ...)
        if (!why.isEmpty())
            spdlog::info("{}: {}", repoId, why);
        add(inspect(snapshot, QStringLiteral("hf-cache"), repoId, repoId));
    }
}

const ModelInfo* ModelCatalogue::find(const QString& nameOrPath) const {
    const QString wanted = nameOrPath.trimmed();
    if (wanted.isEmpty())
        return nullptr;
    for (const ModelInfo& m : m_models)
        if (m.name == wanted)
            return &m;
    const QString fromCacheName = repoIdFromCacheFolder(wanted);
    for (const ModelInfo& m : m_models) {
        if (m.repoId.isEmpty())
            continue;
        if (m.repoId.compare(wanted, Qt::CaseInsensitive) == 0 ||
            (!fromCacheName.isEmpty() && m.repoId.compare(fromCacheName, Qt::CaseInsensitive) == 0))
            return &m;
    }
    for (const ModelInfo& m : m_models)
        if (m.name.compare(wanted, Qt::CaseInsensitive) == 0)
            return &m;
    const QString path = paths::expandHome(wanted);
    if (QFileInfo(path).isDir() || QFileInfo(path).isFile()) {
        const QString key = canonical(path);
        for (const ModelInfo& m : m_models)
            if (canonical(m.folder) == key)
                return &m;
    }
    return nullptr;
}

const ModelInfo* ModelCatalogue::defaultModel() const {
    for (const ModelInfo& m : m_models)
        if (m.supported && m.source == QLatin1String("bundled"))
            return &m;
    for (const ModelInfo& m : m_models)
        if (m.supported)
            return &m;
    return nullptr;
}

Result<ModelInfo> ModelCatalogue::resolve(const QString& nameOrPath,
                                          const SingleFileOptions& companions) const {
    using R = Result<ModelInfo>;
    const QString wanted = nameOrPath.trimmed();
    if (wanted.isEmpty())
        return R::fail(QStringLiteral("No model was named."));
    const bool given = !companions.textEncoderFiles.isEmpty() || !companions.vaeFile.isEmpty();
    if (const ModelInfo* m = find(wanted)) {
        if (given && m->format == QLatin1String("single-file")) {
            ModelInfo again = inspectFile(m->folder, m->source, companions);
            again.name = m->name;
            again.repoId = m->repoId;
            return R::ok(std::move(again));
        }
        return R::ok(*m);
    }
    const QString path = paths::expandHome(wanted);
    if (QFileInfo(path).isFile() && (isSafeTensorsFileName(QFileInfo(path).fileName()) ||
                                     isPickleCheckpointFileName(QFileInfo(path).fileName())))
        return R::ok(inspectFile(path, QStringLiteral("folder"), companions));
    if (QFileInfo(path).isDir()) {
        if (looksLikeModelFolder(path))
            return R::ok(inspect(path, QStringLiteral("folder")));
        return R::fail(
            QStringLiteral("%1 has no model_index.json: it is not a diffusers model folder.").arg(path));
    }
    QStringList names;
    for (const ModelInfo& m : m_models)
        names << m.name;
    return R::fail(
        QStringLiteral("No model named '%1'. %2 Give a name from 'twistedpic-cli models', a Hugging "
                       "Face repo id, a model folder or a .safetensors checkpoint.")
            .arg(wanted, names.isEmpty()
                             ? QStringLiteral("No models were found.")
                             : QStringLiteral("Known: %1.").arg(names.join(QStringLiteral(", ")))));
}

} // namespace tp::io
