#pragma once

#include "core/common/Result.h"
#include "core/engine/EngineTypes.h"

#include <QMetaType>
#include <QPair>
#include <QString>
#include <QVector>

// What an image was made with, in the form other tools read: AUTOMATIC1111's PNG text chunk
// `parameters` ("{prompt}\nNegative prompt: {negative}\nSteps: 20, Sampler: Euler a, ...").
// Civitai, A1111's "PNG Info" and many viewers parse it. Torch-free.
namespace tp::engine {

inline const QString kParametersChunk = QStringLiteral("parameters");

struct ImageParameters {
    QString prompt;
    QString negativePrompt;
    int steps = 0;        // 0: not recorded
    QString sampler;      // the engine's name (euler_a) when known, else the text as found
    double guidance = -1; // CFG scale; negative: not recorded
    qint64 seed = -1;     // -1: not recorded
    int width = 0;        // 0: not recorded
    int height = 0;
    QString modelHash; // first 10 hex digits of the weights' SHA-256
    QString modelName;
    QString modelFolder; // from the JSON sidecar only; A1111 text has no such field
    int clipSkip = 1;
    bool withoutT5 = false; // SD 3.x run without its T5 text encoder: "T5: off"
    // Fields this project does not model ("Hires upscale: 2", "Version: v1.6.0", ...),
    // in their order, values unquoted. Written back as they were.
    QVector<QPair<QString, QString>> extra;

    QString extraValue(const QString& key) const;
};

// "euler_a" -> "Euler a", ...; an unknown name is returned as is.
QString samplerDisplayName(const QString& engineName);
// "Euler a" -> "euler_a"; "DPM++ 2M" with `scheduleType` "Karras" -> "dpmpp_2m_karras".
// Returns an empty string for a sampler this engine does not have.
QString samplerEngineName(const QString& displayName, const QString& scheduleType = {});

// A1111 quoting: values holding ',' ':' or a newline are written as JSON strings.
QString quoteParameterValue(const QString& value);

// The parameters of image `index` of a result (its own seed, its size).
ImageParameters parametersFor(const GenerationResult& result, int index, const QString& modelHash = {});

// The request that would make this image again (model by folder when known, else by name).
GenerationRequest requestFrom(const ImageParameters& params, const GenerationRequest& base = {});

QString formatParameters(const ImageParameters& params);

// Parses A1111 `parameters` text, also from other tools: extra fields are kept, prompts may span
// lines, the negative prompt may be missing, an unknown sampler is kept as text. Fails only on
// empty text.
Result<ImageParameters> parseParameters(const QString& text);

// The `parameters` text chunk of a PNG (or any image format Qt reads text from).
Result<QString> readParametersText(const QString& imagePath);

} // namespace tp::engine

Q_DECLARE_METATYPE(tp::engine::ImageParameters)
