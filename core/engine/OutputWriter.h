#pragma once

#include "core/common/Result.h"
#include "core/engine/EngineTypes.h"
#include "core/engine/ImageMetadata.h"

#include <QDateTime>
#include <QJsonObject>
#include <QString>
#include <QVector>

// Writes generated images: a PNG carrying the A1111 `parameters` text chunk, and beside it a
// JSON sidecar with everything known about the run. Torch-free; safe on any thread.
namespace tp::engine {

struct WrittenImage {
    QString imagePath;   // .../20261127-142233_seed1234.png
    QString sidecarPath; // .../20261127-142233_seed1234.json
};

class OutputWriter final {
public:
    static constexpr int SidecarVersion = 1;

    explicit OutputWriter(QString directory);
    QString directory() const { return m_directory; }

    // Writes every image of `result` (names from `created` and each image's seed; a name in use
    // gets "-1", "-2", ... and nothing is ever overwritten). The folder is created if missing.
    // Stops at the first failure: the images written before it stay (listed in
    // *writtenBeforeFailure), the failed one leaves no partial file, and the message names the
    // path and the cause ("No space left on device").
    Result<QVector<WrittenImage>> write(const GenerationResult& result, const QString& modelHash = {},
                                        const QDateTime& created = QDateTime::currentDateTime(),
                                        QVector<WrittenImage>* writtenBeforeFailure = nullptr) const;
    Result<WrittenImage> writeImage(const GenerationResult& result, int index, const QString& modelHash,
                                    const QDateTime& created) const;

    // The sidecar of image `index`, as written.
    static QJsonObject sidecar(const GenerationResult& result, int index, const QString& modelHash,
                               const QDateTime& created, const QString& imageFileName);
    // "20261127-142233_seed1234" (without suffix or extension).
    static QString baseName(const QDateTime& created, qint64 seed);

private:
    QString m_directory;
};

// x.png -> x.json
QString sidecarPathFor(const QString& imagePath);
Result<QJsonObject> readSidecarJson(const QString& jsonPath);
// The parameters recorded in a sidecar written by OutputWriter.
Result<ImageParameters> parametersFromSidecar(const QJsonObject& sidecar);
// An image's parameters: from its JSON sidecar when there is one, else its `parameters` chunk.
Result<ImageParameters> readImageParameters(const QString& imagePath);

} // namespace tp::engine
