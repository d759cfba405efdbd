#include "core/engine/OutputWriter.h"

#include "core/common/Log.h"

#include <QBuffer>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImageWriter>
#include <QJsonArray>
#include <QJsonDocument>

#include <cerrno>
#include <cstring>
#include <functional>
#include <unistd.h>

namespace tp::engine {
namespace {

constexpr int kMaxSuffix = 10000;

QJsonObject memoryJson(const MemoryFigures& m) {
    return QJsonObject{
        {QStringLiteral("cuda"), m.cuda},
        {QStringLiteral("device"), m.device}, // the CUDA index these figures are of (-1: none)
        {QStringLiteral("deviceUsedBytes"), double(m.deviceUsedBytes)},
        {QStringLiteral("deviceTotalBytes"), double(m.deviceTotalBytes)},
        {QStringLiteral("allocatedBytes"), double(m.allocatedBytes)},
        {QStringLiteral("reservedBytes"), double(m.reservedBytes)},
        {QStringLiteral("peakAllocatedBytes"), double(m.peakAllocatedBytes)},
    };
}

QJsonObject timingsJson(const Timings& t) {
    return QJsonObject{
        {QStringLiteral("loadMs"), t.loadMs},           {QStringLiteral("encodeMs"), t.encodeMs},
        {QStringLiteral("denoiseMs"), t.denoiseMs},     {QStringLiteral("decodeMs"), t.decodeMs},
        {QStringLiteral("cleanupMs"), t.cleanupMs},     {QStringLiteral("totalMs"), t.totalMs},
        {QStringLiteral("firstStepMs"), t.firstStepMs}, {QStringLiteral("itPerSec"), t.itPerSec},
    };
}

QString writeFailure(const QString& path, const QString& why) {
    return QStringLiteral("Could not write %1: %2. Free some disk space or choose another output folder "
                          "in the settings.")
        .arg(QDir::toNativeSeparators(path), why);
}

// Writes all of `bytes` straight to the file's descriptor, so that a failure is the system's own
// words ("No space left on device", "File too large"), not a buffered "Unknown error".
bool writeAll(QFile& file, const QByteArray& bytes, QString* why) {
    const int fd = file.handle();
    qint64 done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.constData() + done, size_t(bytes.size() - done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *why = QString::fromLocal8Bit(std::strerror(n < 0 ? errno : ENOSPC));
            return false;
        }
        done += n;
    }
    if (::fsync(fd) != 0 && errno != EINVAL) { // a full disk may only say so here
        *why = QString::fromLocal8Bit(std::strerror(errno));
        return false;
    }
    return true;
}

// Writes `bytes` into a file that must not exist yet. Returns false with `*exists` set when
// the name is taken; on any other failure removes what it wrote and sets `*error`.
bool writeNew(const QString& path, const std::function<bool(QFile&, QString*)>& body, bool* exists,
              QString* error) {
    *exists = false;
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::NewOnly | QIODevice::Unbuffered)) {
        if (QFileInfo::exists(path)) {
            *exists = true;
        } else {
            *error = writeFailure(path, file.errorString());
        }
        return false;
    }
    QString why;
    bool ok = body(file, &why);
    if (ok && !file.flush()) {
        ok = false;
        why = file.errorString();
    }
    file.close();
    if (ok && file.error() != QFileDevice::NoError) {
        ok = false;
        why = file.errorString();
    }
    if (!ok) {
        file.remove(); // never leave half an image behind
        *error = writeFailure(path, why.isEmpty() ? QStringLiteral("unknown error") : why);
    }
    return ok;
}

} // namespace

OutputWriter::OutputWriter(QString directory)
    : m_directory(std::move(directory)) {}

QString OutputWriter::baseName(const QDateTime& created, qint64 seed) {
    const QString stamp = created.toString(QStringLiteral("yyyyMMdd-HHmmss"));
    if (seed < 0)
        return stamp + QStringLiteral("_image");
    return stamp + QStringLiteral("_seed") + QString::number(seed);
}

QJsonObject OutputWriter::sidecar(const GenerationResult& result, int index, const QString& modelHash,
                                  const QDateTime& created, const QString& imageFileName) {
    const GenerationRequest& r = result.request;
    const ImageParameters p = parametersFor(result, index, modelHash);
    return QJsonObject{
        {QStringLiteral("format"), QStringLiteral("twistedpic-sidecar")},
        {QStringLiteral("version"), SidecarVersion},
        {QStringLiteral("app"), QJsonObject{{QStringLiteral("name"), QStringLiteral("TwistedPic")},
                                            {QStringLiteral("version"), QStringLiteral(TWISTEDPIC_VERSION)}}},
        {QStringLiteral("created"), created.toString(Qt::ISODateWithMs)},
        {QStringLiteral("image"), QJsonObject{{QStringLiteral("file"), imageFileName},
                                              {QStringLiteral("index"), index},
                                              {QStringLiteral("count"), qMax(1, int(result.images.size()))}}},
        {QStringLiteral("requestId"), QString::number(r.id)},
        {QStringLiteral("prompt"), p.prompt},
        {QStringLiteral("negativePrompt"), p.negativePrompt},
        {QStringLiteral("model"),
         QJsonObject{{QStringLiteral("name"), p.modelName},
                     {QStringLiteral("folder"), result.modelFolder},
                     {QStringLiteral("hash"), modelHash},
                     {QStringLiteral("requested"), r.model},
                     {QStringLiteral("companions"), QJsonArray::fromStringList(result.companionFiles)}}},
        {QStringLiteral("sampler"), r.sampler},
        {QStringLiteral("samplerDisplayName"), samplerDisplayName(r.sampler)},
        {QStringLiteral("steps"), r.steps},
        {QStringLiteral("guidance"), r.guidance},
        {QStringLiteral("width"), p.width},
        {QStringLiteral("height"), p.height},
        {QStringLiteral("seed"), QJsonValue(p.seed)}, // exact: seeds are 64-bit
        {QStringLiteral("clipSkip"), r.clipSkip},
        {QStringLiteral("withoutT5"), r.withoutT5},
        {QStringLiteral("device"), result.device.isEmpty() ? r.device : result.device},
        {QStringLiteral("precision"), r.precision},
        {QStringLiteral("timings"), timingsJson(result.timings)},
        {QStringLiteral("memory"),
         QJsonObject{{QStringLiteral("beforeCleanup"), memoryJson(result.memoryBeforeCleanup)},
                     {QStringLiteral("afterCleanup"), memoryJson(result.memoryAfterCleanup)}}},
        {QStringLiteral("unloaded"), result.unloaded},
        {QStringLiteral("gpuPolicy"),
         QJsonObject{{QStringLiteral("cleanupAfterGeneration"), result.policy.cleanupAfterGeneration},
                     {QStringLiteral("unloadAfterGeneration"), result.policy.unloadAfterGeneration},
                     {QStringLiteral("idleUnloadMinutes"), result.policy.idleUnloadMinutes},
                     {QStringLiteral("vramBudget"), result.policy.vramBudget}}},
        {QStringLiteral("extra"), QJsonObject::fromVariantMap(r.extra)},
        {QStringLiteral("notes"), QJsonArray::fromStringList(result.notes)},
        {QStringLiteral("plan"), result.plan.isEmpty() ? QJsonValue() : QJsonValue(result.plan)},
        {QStringLiteral("parameters"), formatParameters(p)},
    };
}

Result<WrittenImage> OutputWriter::writeImage(const GenerationResult& result, int index,
                                              const QString& modelHash, const QDateTime& created) const {
    if (index < 0 || index >= result.images.size() || result.images[index].isNull())
        return Result<WrittenImage>::fail(QStringLiteral("There is no image %1 to write.").arg(index + 1));
    const QDir dir(m_directory);
    if (!QDir().mkpath(m_directory) || !QFileInfo(m_directory).isDir())
        return Result<WrittenImage>::fail(
            QStringLiteral(
                "Could not create the output folder %1. Choose another output folder in the settings.")
                .arg(QDir::toNativeSeparators(m_directory)));

    const QImage& image = result.images[index];
    const ImageParameters params = parametersFor(result, index, modelHash);
    const QString parameters = formatParameters(params);
    const QString base = baseName(created, params.seed);

    for (int suffix = 0; suffix < kMaxSuffix; ++suffix) {
        const QString stem = suffix == 0 ? base : QString(base + QLatin1Char('-') + QString::number(suffix));
        WrittenImage out{dir.filePath(stem + QStringLiteral(".png")),
                         dir.filePath(stem + QStringLiteral(".json"))};
        if (QFileInfo::exists(out.sidecarPath))
            continue; // a sidecar without its image still names that stem
        bool exists = false;
        QString error;
        const bool pngOk = writeNew(
            out.imagePath,
            [&](QFile& file, QString* why) {
                // QImage::setText keeps the text as is; QImageWriter::setText would fold its
                // newlines into spaces.
                QImage tagged = image;
                tagged.setText(kParametersChunk, parameters);
                tagged.setText(QStringLiteral("Software"), QStringLiteral("TwistedPic " TWISTEDPIC_VERSION));
                // Encoded in memory first: a full disk is then the file's own error ("No space
                // left on device"), not libpng's "Unknown error".
                QByteArray png;
                QBuffer buffer(&png);
                buffer.open(QIODevice::WriteOnly);
                QImageWriter writer(&buffer, "png");
                if (!writer.write(tagged)) {
                    *why = QStringLiteral("the PNG encoder failed (%1)").arg(writer.errorString());
                    return false;
                }
                return writeAll(file, png, why);
            },
            &exists, &error);
        if (exists)
            continue;
        if (!pngOk)
            return Result<WrittenImage>::fail(error);

        const QByteArray json =
            QJsonDocument(sidecar(result, index, modelHash, created, QFileInfo(out.imagePath).fileName()))
                .toJson();
        const bool jsonOk = writeNew(
            out.sidecarPath, [&json](QFile& file, QString* why) { return writeAll(file, json, why); },
            &exists, &error);
        if (jsonOk) {
            spdlog::info("wrote {}", out.imagePath);
            return Result<WrittenImage>::ok(out);
        }
        QFile::remove(out.imagePath); // image and sidecar go together
        if (!exists)
            return Result<WrittenImage>::fail(error);
    }
    return Result<WrittenImage>::fail(QStringLiteral("Could not find a free file name for %1 in %2.")
                                          .arg(base, QDir::toNativeSeparators(m_directory)));
}

Result<QVector<WrittenImage>> OutputWriter::write(const GenerationResult& result, const QString& modelHash,
                                                  const QDateTime& created,
                                                  QVector<WrittenImage>* writtenBeforeFailure) const {
    QVector<WrittenImage> written;
    for (int i = 0; i < result.images.size(); ++i) {
        Result<WrittenImage> one = writeImage(result, i, modelHash, created);
        if (!one) {
            if (writtenBeforeFailure)
                *writtenBeforeFailure = written;
            return Result<QVector<WrittenImage>>::fail(
                written.isEmpty() ? one.error()
                                  : QStringLiteral("%1 (image %2 of %3; the ones before it were written)")
                                        .arg(one.error())
                                        .arg(i + 1)
                                        .arg(result.images.size()));
        }
        written.push_back(*one);
    }
    return Result<QVector<WrittenImage>>::ok(written);
}

QString sidecarPathFor(const QString& imagePath) {
    const QFileInfo info(imagePath);
    return info.dir().filePath(info.completeBaseName() + QStringLiteral(".json"));
}

Result<QJsonObject> readSidecarJson(const QString& jsonPath) {
    QFile f(jsonPath);
    if (!f.open(QIODevice::ReadOnly))
        return Result<QJsonObject>::fail(
            QStringLiteral("Cannot read %1: %2.").arg(jsonPath, f.errorString()));
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        return Result<QJsonObject>::fail(QStringLiteral("%1 is not valid JSON: %2 at offset %3.")
                                             .arg(jsonPath, error.errorString())
                                             .arg(error.offset));
    if (doc.object().value(QStringLiteral("format")).toString() != QLatin1String("twistedpic-sidecar"))
        return Result<QJsonObject>::fail(QStringLiteral("%1 is not a TwistedPic sidecar.").arg(jsonPath));
    return Result<QJsonObject>::ok(doc.object());
}

Result<ImageParameters> parametersFromSidecar(const QJsonObject& o) {
    if (!o.contains(QStringLiteral("prompt")))
        return Result<ImageParameters>::fail(QStringLiteral("The sidecar has no prompt."));
    ImageParameters p;
    const QJsonObject model = o.value(QStringLiteral("model")).toObject();
    p.prompt = o.value(QStringLiteral("prompt")).toString();
    p.negativePrompt = o.value(QStringLiteral("negativePrompt")).toString();
    p.steps = o.value(QStringLiteral("steps")).toInt();
    p.sampler = o.value(QStringLiteral("sampler")).toString();
    p.guidance = o.value(QStringLiteral("guidance")).toDouble(-1);
    p.seed = o.value(QStringLiteral("seed")).toInteger(-1);
    p.width = o.value(QStringLiteral("width")).toInt();
    p.height = o.value(QStringLiteral("height")).toInt();
    p.modelHash = model.value(QStringLiteral("hash")).toString();
    p.modelName = model.value(QStringLiteral("name")).toString();
    p.modelFolder = model.value(QStringLiteral("folder")).toString();
    p.clipSkip = qMax(1, o.value(QStringLiteral("clipSkip")).toInt(1));
    p.withoutT5 = o.value(QStringLiteral("withoutT5")).toBool(false);
    return Result<ImageParameters>::ok(std::move(p));
}

Result<ImageParameters> readImageParameters(const QString& imagePath) {
    const QString sidecarPath = sidecarPathFor(imagePath);
    if (QFileInfo::exists(sidecarPath)) {
        const Result<QJsonObject> json = readSidecarJson(sidecarPath);
        if (json) {
            Result<ImageParameters> p = parametersFromSidecar(*json);
            if (p)
                return p;
            spdlog::debug("{}: {}", sidecarPath, p.error());
        } else {
            spdlog::debug("{}", json.error());
        }
    }
    const Result<QString> text = readParametersText(imagePath);
    if (!text)
        return Result<ImageParameters>::fail(text.error());
    return parseParameters(*text);
}

} // namespace tp::engine
