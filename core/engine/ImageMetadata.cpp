#include "core/engine/ImageMetadata.h"

#include "core/common/Samplers.h"

#include "core/settings/Settings.h"

#include <QFileInfo>
#include <QImage>
#include <QImageReader>
#include <QJsonArray>
#include <QJsonDocument>
#include <QRegularExpression>

namespace tp::engine {
namespace {

const QString kNegativePrefix = QStringLiteral("Negative prompt:");
const QString kSteps = QStringLiteral("Steps");
const QString kSampler = QStringLiteral("Sampler");
const QString kScheduleType = QStringLiteral("Schedule type");
const QString kCfg = QStringLiteral("CFG scale");
const QString kSeed = QStringLiteral("Seed");
const QString kSize = QStringLiteral("Size");
const QString kModelHash = QStringLiteral("Model hash");
const QString kModel = QStringLiteral("Model");
const QString kClipSkip = QStringLiteral("Clip skip");
const QString kTrueCfg = QStringLiteral("True CFG scale"); // Flux with a negative pass (kept in extra)
const QString kT5 = QStringLiteral("T5"); // "T5: off" for a run without T5; nothing when it ran
// "VAE tiling: on" (the default tile) or the tile size in pixels (kept in extra)
const QString kVaeTiling = QStringLiteral("VAE tiling");

// One "Key: value" of the settings line; a value is a JSON string or runs to the next comma
// (A1111's re_param).
const QRegularExpression& paramPattern() {
    static const QRegularExpression re(
        QStringLiteral(R"re(\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$))re"),
        QRegularExpression::UseUnicodePropertiesOption);
    return re;
}

QVector<QPair<QString, QString>> splitParams(const QString& line) {
    QVector<QPair<QString, QString>> out;
    auto it = paramPattern().globalMatch(line);
    while (it.hasNext()) {
        const QRegularExpressionMatch m = it.next();
        out.push_back({m.captured(1).trimmed(), m.captured(2)});
    }
    return out;
}

QString unquote(const QString& value) {
    if (value.size() < 2 || !value.startsWith(QLatin1Char('"')) || !value.endsWith(QLatin1Char('"')))
        return value.trimmed();
    const QJsonDocument doc = QJsonDocument::fromJson(QByteArray("[") + value.toUtf8() + QByteArray("]"));
    if (!doc.isArray() || doc.array().size() != 1 || !doc.array().at(0).isString())
        return value; // not JSON after all: keep it as written
    return doc.array().at(0).toString();
}

QString jsonQuote(const QString& s) {
    QString out;
    out.reserve(s.size() + 2);
    out += QLatin1Char('"');
    for (const QChar c : s) {
        switch (c.unicode()) {
        case '"':
            out += QLatin1String("\\\"");
            break;
        case '\\':
            out += QLatin1String("\\\\");
            break;
        case '\n':
            out += QLatin1String("\\n");
            break;
        case '\r':
            out += QLatin1String("\\r");
            break;
        case '\t':
            out += QLatin1String("\\t");
            break;
        case '\b':
            out += QLatin1String("\\b");
            break;
        case '\f':
            out += QLatin1String("\\f");
            break;
        default:
            if (c.unicode() < 0x20)
                out += QStringLiteral("\\u%1").arg(c.unicode(), 4, 16, QLatin1Char('0'));
            else
                out += c;
        }
    }
    out += QLatin1Char('"');
    return out;
}

QString formatNumber(double v) {
    return QString::number(v, 'g', 12);
}

} // namespace

QString ImageParameters::extraValue(const QString& key) const {
    for (const auto& kv : extra)
        if (kv.first == key)
            return kv.second;
    return {};
}

QString samplerDisplayName(const QString& engineName) {
    for (const SamplerInfo& s : samplers()) // A1111's display names
        if (engineName == s.name)
            return s.displayName;
    return engineName;
}

QString samplerEngineName(const QString& displayName, const QString& scheduleType) {
    QString name = displayName.trimmed();
    if (scheduleType.trimmed().compare(QLatin1String("Karras"), Qt::CaseInsensitive) == 0 &&
        !name.endsWith(QLatin1String(" Karras"), Qt::CaseInsensitive))
        name += QLatin1String(" Karras");
    for (const SamplerInfo& s : samplers()) {
        if (name.compare(s.displayName, Qt::CaseInsensitive) == 0 || name == s.name)
            return s.name;
    }
    return {};
}

QString quoteParameterValue(const QString& value) {
    if (!value.contains(QLatin1Char(',')) && !value.contains(QLatin1Char(':')) &&
        !value.contains(QLatin1Char('\n')))
        return value;
    return jsonQuote(value);
}

ImageParameters parametersFor(const GenerationResult& result, int index, const QString& modelHash) {
    const GenerationRequest& r = result.request;
    ImageParameters p;
    p.prompt = r.prompt;
    p.negativePrompt = r.negativePrompt;
    p.steps = r.steps;
    p.sampler = r.sampler;
    p.guidance = r.guidance;
    if (index >= 0 && index < result.seeds.size())
        p.seed = result.seeds[index];
    else if (r.seed >= 0)
        p.seed = r.seed + qMax(index, 0);
    const bool haveImage = index >= 0 && index < result.images.size() && !result.images[index].isNull();
    p.width = haveImage ? result.images[index].width() : r.width;
    p.height = haveImage ? result.images[index].height() : r.height;
    p.modelHash = modelHash;
    p.modelFolder = result.modelFolder;
    p.modelName = result.modelName;
    if (p.modelName.isEmpty())
        p.modelName = QFileInfo(result.modelFolder.isEmpty() ? r.model : result.modelFolder).fileName();
    p.clipSkip = r.clipSkip;
    if (r.trueCfgScale > 1.0)
        p.extra.push_back({kTrueCfg, formatNumber(r.trueCfgScale)});
    if (r.vaeTiling)
        p.extra.push_back(
            {kVaeTiling, r.vaeTileSize > 0 ? QString::number(r.vaeTileSize) : QStringLiteral("on")});
    p.withoutT5 = r.withoutT5;
    return p;
}

GenerationRequest requestFrom(const ImageParameters& p, const GenerationRequest& base) {
    GenerationRequest r = base;
    r.prompt = p.prompt;
    r.negativePrompt = p.negativePrompt;
    if (p.steps > 0)
        r.steps = p.steps;
    if (tp::samplerNames().contains(p.sampler))
        r.sampler = p.sampler;
    if (p.guidance >= 0)
        r.guidance = p.guidance;
    if (p.seed >= 0)
        r.seed = p.seed;
    if (p.width > 0 && p.height > 0) {
        r.width = p.width;
        r.height = p.height;
    }
    r.clipSkip = qMax(1, p.clipSkip);
    bool trueCfgOk = false;
    const double trueCfg = p.extraValue(kTrueCfg).toDouble(&trueCfgOk);
    r.trueCfgScale = trueCfgOk && trueCfg > 1.0 ? trueCfg : 1.0;
    r.withoutT5 = p.withoutT5;
    const QString tiling = p.extraValue(kVaeTiling);
    const int tileSize = tiling.toInt();
    r.vaeTiling = tiling.compare(QLatin1String("on"), Qt::CaseInsensitive) == 0 || tileSize > 0;
    r.vaeTileSize = qMax(0, tileSize);
    if (!p.modelFolder.isEmpty())
        r.model = p.modelFolder;
    else if (!p.modelName.isEmpty())
        r.model = p.modelName;
    return r;
}

QString formatParameters(const ImageParameters& p) {
    QStringList fields;
    auto add = [&fields](const QString& key, const QString& value) {
        fields << key + QStringLiteral(": ") + quoteParameterValue(value);
    };
    if (p.steps > 0)
        add(kSteps, QString::number(p.steps));
    if (!p.sampler.isEmpty())
        add(kSampler, samplerDisplayName(p.sampler));
    if (p.guidance >= 0)
        add(kCfg, formatNumber(p.guidance));
    if (p.seed >= 0)
        add(kSeed, QString::number(p.seed));
    if (p.width > 0 && p.height > 0)
        add(kSize, QStringLiteral("%1x%2").arg(p.width).arg(p.height));
    if (!p.modelHash.isEmpty())
        add(kModelHash, p.modelHash);
    if (!p.modelName.isEmpty())
        add(kModel, p.modelName);
    if (p.clipSkip > 1)
        add(kClipSkip, QString::number(p.clipSkip));
    if (p.withoutT5)
        add(kT5, QStringLiteral("off"));
    for (const auto& kv : p.extra)
        add(kv.first, kv.second);

    QString text = p.prompt;
    if (!p.negativePrompt.isEmpty())
        text += QLatin1Char('\n') + kNegativePrefix + QLatin1Char(' ') + p.negativePrompt;
    if (!fields.isEmpty())
        text += QLatin1Char('\n') + fields.join(QStringLiteral(", "));
    return text.trimmed();
}

Result<ImageParameters> parseParameters(const QString& input) {
    QString text = input;
    text.replace(QStringLiteral("\r\n"), QStringLiteral("\n"));
    text = text.trimmed();
    if (text.isEmpty())
        return Result<ImageParameters>::fail(QStringLiteral("The parameters text is empty."));

    QStringList lines = text.split(QLatin1Char('\n'));
    QVector<QPair<QString, QString>> fields = splitParams(lines.last());
    if (fields.size() >= 3)
        lines.removeLast();
    else
        fields.clear(); // a prompt line that happens to hold a colon

    ImageParameters p;
    bool inNegative = false;
    QStringList prompt, negative;
    for (QString line : lines) {
        if (line.startsWith(kNegativePrefix)) {
            inNegative = true;
            line = line.mid(kNegativePrefix.size()).trimmed();
        }
        (inNegative ? negative : prompt) << line;
    }
    p.prompt = prompt.join(QLatin1Char('\n')).trimmed();
    p.negativePrompt = negative.join(QLatin1Char('\n')).trimmed();

    QString samplerText, scheduleType;
    for (const auto& kv : fields) {
        const QString& key = kv.first;
        const QString value = unquote(kv.second);
        bool ok = true;
        if (key == kSteps) {
            const int v = value.toInt(&ok);
            if (ok && v > 0)
                p.steps = v;
            else
                ok = false;
        } else if (key == kSampler) {
            samplerText = value;
        } else if (key == kScheduleType) {
            scheduleType = value;
        } else if (key == kCfg) {
            const double v = value.toDouble(&ok);
            if (ok && v >= 0)
                p.guidance = v;
            else
                ok = false;
        } else if (key == kSeed) {
            const qint64 v = value.toLongLong(&ok);
            if (ok && v >= 0)
                p.seed = v;
            else
                ok = false;
        } else if (key == kSize) {
            static const QRegularExpression size(QStringLiteral(R"(^(\d+)x(\d+)$)"));
            const QRegularExpressionMatch m = size.match(value);
            ok = m.hasMatch();
            if (ok) {
                p.width = m.captured(1).toInt();
                p.height = m.captured(2).toInt();
            }
        } else if (key == kModelHash) {
            p.modelHash = value;
        } else if (key == kModel) {
            p.modelName = value;
        } else if (key == kT5 && (value.compare(QLatin1String("off"), Qt::CaseInsensitive) == 0 ||
                                  value.compare(QLatin1String("on"), Qt::CaseInsensitive) == 0)) {
            p.withoutT5 = value.compare(QLatin1String("off"), Qt::CaseInsensitive) == 0;
        } else if (key == kClipSkip) {
            const int v = value.toInt(&ok);
            if (ok && v >= 1)
                p.clipSkip = v;
            else
                ok = false;
        } else {
            ok = false;
        }
        if (!ok)
            p.extra.push_back({key, value}); // unknown or unreadable: kept, never lost
    }
    if (!samplerText.isEmpty()) {
        const QString engine = samplerEngineName(samplerText, scheduleType);
        p.sampler = engine.isEmpty() ? samplerText : engine;
        // "Schedule type: Karras" is folded into the sampler's name; any other type stays.
        const bool folded = engine.endsWith(QLatin1String("_karras")) &&
                            !samplerText.endsWith(QLatin1String("Karras"), Qt::CaseInsensitive);
        if (!scheduleType.isEmpty() && !folded)
            p.extra.push_back({kScheduleType, scheduleType});
    } else if (!scheduleType.isEmpty()) {
        p.extra.push_back({kScheduleType, scheduleType});
    }
    return Result<ImageParameters>::ok(std::move(p));
}

Result<QString> readParametersText(const QString& imagePath) {
    QImageReader reader(imagePath);
    if (!reader.canRead())
        return Result<QString>::fail(
            QStringLiteral("Cannot read %1 as an image: %2.").arg(imagePath, reader.errorString()));
    // QImageReader::text() returns values "simplified" (newlines become spaces) and misses
    // chunks after the image data; the decoded QImage keeps every chunk as written.
    const QString text = reader.read().text(kParametersChunk);
    if (text.isEmpty())
        return Result<QString>::fail(
            QStringLiteral("%1 has no \"parameters\" text: it was not made by TwistedPic or AUTOMATIC1111.")
                .arg(imagePath));
    return Result<QString>::ok(text);
}

} // namespace tp::engine
