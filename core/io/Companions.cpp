#include "core/io/Companions.h"

#include "core/io/CheckpointKeyMap.h"
#include "core/io/SingleFileCheckpoint.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QHash>
#include <QMutex>
#include <QMutexLocker>

#include <algorithm>

namespace tp::io {

namespace {

bool anyStartsWith(const Header& h, const QString& prefix) {
    const auto it = std::lower_bound(h.tensors.begin(), h.tensors.end(), prefix,
                                     [](const TensorInfo& t, const QString& p) { return t.name < p; });
    return it != h.tensors.end() && it->name.startsWith(prefix);
}

qint64 dim(const Header& h, const QString& name, size_t i) {
    const TensorInfo* t = h.find(name);
    return t && i < t->shape.size() ? t->shape[i] : 0;
}

bool isFp8(DType d) {
    return d == DType::F8_E4M3 || d == DType::F8_E5M2;
}

bool nameHas(const QString& lowerName, std::initializer_list<const char*> parts) {
    return std::any_of(parts.begin(), parts.end(),
                       [&](const char* p) { return lowerName.contains(QLatin1String(p)); });
}

// CLIP-L or CLIP-G from the width (the real models), else from the name (tiny and renamed ones).
CompanionKind clipKind(qint64 width, const QString& lowerName, bool openClip) {
    if (width == 768)
        return CompanionKind::ClipL;
    if (width == 1280)
        return CompanionKind::ClipG;
    if (nameHas(lowerName, {"clip_l", "clip-l", "clipl", "vit-l", "vit_l"}))
        return CompanionKind::ClipL;
    if (nameHas(lowerName, {"clip_g", "clip-g", "clipg", "bigg"}))
        return CompanionKind::ClipG;
    return openClip ? CompanionKind::ClipG : CompanionKind::Clip;
}

struct CacheEntry {
    qint64 size = -1;
    QDateTime modified;
    std::optional<CompanionFile> companion;
};

QMutex g_cacheMutex;
QHash<QString, CacheEntry>& cache() {
    static QHash<QString, CacheEntry> c;
    return c;
}

} // namespace

QString companionKindName(CompanionKind kind) {
    switch (kind) {
    case CompanionKind::ClipL:
        return QStringLiteral("CLIP-L");
    case CompanionKind::ClipG:
        return QStringLiteral("CLIP-G");
    case CompanionKind::Clip:
        return QStringLiteral("CLIP");
    case CompanionKind::T5:
        return QStringLiteral("T5-XXL");
    case CompanionKind::Vae:
        return QStringLiteral("VAE");
    }
    return {};
}

QString CompanionFile::fileName() const {
    return QFileInfo(path).fileName();
}

std::optional<CompanionFile> identifyCompanion(const QString& path, const Header& h) {
    // Anything with a denoiser is a checkpoint, not a companion.
    for (const char* denoiser : {"model.diffusion_model.", "joint_blocks.", "double_blocks.", "input_blocks.",
                                 "down_blocks.", "unet."})
        if (anyStartsWith(h, QLatin1String(denoiser)))
            return std::nullopt;
    CompanionFile c;
    c.path = QFileInfo(path).absoluteFilePath();
    c.sizeBytes = QFileInfo(path).size();
    const QString lowerName = QFileInfo(path).completeBaseName().toLower();

    for (const QString& p : {QString(), QStringLiteral("transformer.")}) {
        const QString q = p + QStringLiteral("encoder.block.0.layer.0.SelfAttention.q.weight");
        if (const TensorInfo* t = h.find(q); t && t->shape.size() == 2) {
            c.kind = CompanionKind::T5;
            c.prefix = p;
            c.width = t->shape[1];
            c.fp8 = isFp8(t->dtype);
            return c;
        }
        const qint64 width = keymap::textEncoderWidth(h, p);
        if (width > 0 && (anyStartsWith(h, p + QStringLiteral("text_model.encoder.layers.")) ||
                          anyStartsWith(h, p + QStringLiteral("encoder.layers.")))) {
            c.prefix = p;
            c.width = width;
            c.projection = keymap::textProjectionWidth(h, p);
            c.kind = clipKind(width, lowerName, false);
            const QString q0 = anyStartsWith(h, p + QStringLiteral("text_model."))
                                   ? p + QStringLiteral("text_model.encoder.layers.0.self_attn.q_proj.weight")
                                   : p + QStringLiteral("encoder.layers.0.self_attn.q_proj.weight");
            if (const TensorInfo* t = h.find(q0))
                c.fp8 = isFp8(t->dtype);
            return c;
        }
    }
    if (h.find(QStringLiteral("token_embedding.weight")) &&
        anyStartsWith(h, QStringLiteral("transformer.resblocks."))) {
        c.openClip = true;
        c.width = dim(h, QStringLiteral("token_embedding.weight"), 1);
        c.projection = keymap::textProjectionWidth(h, QString());
        c.kind = clipKind(c.width, lowerName, true);
        return c;
    }
    for (const QString& p : {QString(), QStringLiteral("first_stage_model."), QStringLiteral("vae.")}) {
        const qint64 latent = dim(h, p + QStringLiteral("decoder.conv_in.weight"), 1);
        if (latent > 0 && anyStartsWith(h, p + QStringLiteral("decoder.up.")) &&
            anyStartsWith(h, p + QStringLiteral("encoder.down."))) {
            c.kind = CompanionKind::Vae;
            c.prefix = p;
            c.width = latent;
            return c;
        }
    }
    return std::nullopt;
}

Result<std::optional<CompanionFile>> identifyCompanionFile(const QString& path) {
    using R = Result<std::optional<CompanionFile>>;
    const QFileInfo fi(path);
    const QString key = fi.absoluteFilePath();
    {
        QMutexLocker lock(&g_cacheMutex);
        const auto it = cache().constFind(key);
        if (it != cache().constEnd() && it->size == fi.size() && it->modified == fi.lastModified())
            return R::ok(it->companion);
    }
    Result<Header> header = readSafeTensorsHeader(path);
    if (!header)
        return R::fail(header.error());
    std::optional<CompanionFile> c = identifyCompanion(path, *header);
    if (c)
        c->header = std::make_shared<const Header>(std::move(*header));
    QMutexLocker lock(&g_cacheMutex);
    cache().insert(key, CacheEntry{fi.size(), fi.lastModified(), c});
    return R::ok(std::move(c));
}

QStringList companionFolders(const QString& checkpointPath) {
    const QDir own = QFileInfo(checkpointPath).absoluteDir();
    QStringList out{own.absolutePath()};
    QDir parent = own;
    if (!parent.cdUp())
        return out;
    // ComfyUI: models/text_encoders (older: models/clip), models/vae; Forge/A1111: models/text_encoder,
    // models/VAE.
    static const char* const kSiblings[] = {"text_encoders", "clip", "text_encoder", "vae"};
    const QFileInfoList subs = parent.entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
    for (const char* wanted : kSiblings)
        for (const QFileInfo& sub : subs)
            if (sub.fileName().compare(QLatin1String(wanted), Qt::CaseInsensitive) == 0 &&
                sub.absoluteFilePath() != own.absolutePath() && !out.contains(sub.absoluteFilePath()))
                out << sub.absoluteFilePath();
    return out;
}

std::vector<CompanionFile> findCompanions(const QString& checkpointPath) {
    std::vector<CompanionFile> out;
    QStringList seen{QFileInfo(checkpointPath).canonicalFilePath()};
    for (const QString& folder : companionFolders(checkpointPath)) {
        const QFileInfoList files =
            QDir(folder).entryInfoList(QDir::Files | QDir::NoDotAndDotDot, QDir::Name);
        for (const QFileInfo& f : files) {
            if (!isSafeTensorsFileName(f.fileName()))
                continue;
            const QString canonical = f.canonicalFilePath();
            if (seen.contains(canonical))
                continue;
            seen << canonical;
            Result<std::optional<CompanionFile>> c = identifyCompanionFile(f.absoluteFilePath());
            if (c && *c)
                out.push_back(**c);
        }
    }
    return out;
}

} // namespace tp::io
