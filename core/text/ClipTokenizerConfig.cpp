#include "core/text/ClipTokenizerConfig.h"

#include "core/common/Log.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>

namespace tp::text {

namespace {

constexpr int kLargestMaxLength = 1 << 20; // "no limit" configs say 1e30

// The file's JSON object; an empty object when the file does not exist.
Result<QJsonObject> readOptionalObject(const QString& path) {
    using R = Result<QJsonObject>;
    QFile file(path);
    if (!file.exists())
        return R::ok({});
    if (!file.open(QIODevice::ReadOnly))
        return R::fail(QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &error);
    if (error.error != QJsonParseError::NoError)
        return R::fail(
            QStringLiteral("%1 is not valid JSON (%2 at byte %3); fix or re-download the tokenizer folder")
                .arg(path, error.errorString())
                .arg(error.offset));
    if (!doc.isObject())
        return R::fail(
            QStringLiteral("%1 is not a JSON object; fix or re-download the tokenizer folder").arg(path));
    return R::ok(doc.object());
}

// A token given as "text" or {"content": "text", "normalized": …}; null or absent leaves `token` alone.
Status readToken(const QJsonObject& object, const QString& key, const QString& path,
                 ClipTokenizerConfig::Token& token) {
    const QJsonValue value = object.value(key);
    if (value.isUndefined() || value.isNull())
        return Status::ok();
    QString content;
    bool normalized = false;
    if (value.isString()) {
        content = value.toString();
    } else if (value.isObject() && value.toObject().value(QStringLiteral("content")).isString()) {
        content = value.toObject().value(QStringLiteral("content")).toString();
        normalized = value.toObject().value(QStringLiteral("normalized")).toBool(false);
    } else {
        return Status::fail(
            QStringLiteral("%1: \"%2\" must be a string or an object with \"content\"").arg(path, key));
    }
    if (content.isEmpty())
        return Status::fail(QStringLiteral("%1: \"%2\" is empty").arg(path, key));
    token = {content, normalized, QFileInfo(path).fileName(), false};
    return Status::ok();
}

Status readTokens(const QJsonObject& object, const QString& path, ClipTokenizerConfig& config) {
    for (auto [key, token] : {std::pair{QStringLiteral("bos_token"), &config.bos},
                              std::pair{QStringLiteral("eos_token"), &config.eos},
                              std::pair{QStringLiteral("unk_token"), &config.unk},
                              std::pair{QStringLiteral("pad_token"), &config.pad}}) {
        if (Status s = readToken(object, key, path, *token); !s)
            return s;
    }
    return Status::ok();
}

} // namespace

Result<ClipTokenizerConfig> ClipTokenizerConfig::read(const QString& folder) {
    using R = Result<ClipTokenizerConfig>;
    const QDir dir(folder);
    ClipTokenizerConfig config;

    const QString configPath = dir.filePath(QStringLiteral("tokenizer_config.json"));
    auto tokenizerConfig = readOptionalObject(configPath);
    if (!tokenizerConfig)
        return R::fail(tokenizerConfig.error());
    if (Status s = readTokens(*tokenizerConfig, configPath, config); !s)
        return R::fail(s.error());

    const QJsonValue maxLength = tokenizerConfig->value(QStringLiteral("model_max_length"));
    if (maxLength.isDouble()) {
        const double n = maxLength.toDouble();
        if (n >= 2 && n <= kLargestMaxLength && n == double(int(n)))
            config.modelMaxLength = int(n);
        else
            spdlog::warn("{}: model_max_length {} is not a usable length; using {}", configPath, n,
                         config.modelMaxLength);
    } else if (!maxLength.isUndefined() && !maxLength.isNull()) {
        return R::fail(QStringLiteral("%1: \"model_max_length\" must be a number").arg(configPath));
    }

    const QJsonValue added = tokenizerConfig->value(QStringLiteral("added_tokens_decoder"));
    if (added.isObject()) {
        const QJsonObject entries = added.toObject();
        for (auto it = entries.constBegin(); it != entries.constEnd(); ++it) {
            bool isNumber = false;
            const qlonglong id = it.key().toLongLong(&isNumber);
            const QJsonObject entry = it.value().toObject();
            const QString content = entry.value(QStringLiteral("content")).toString();
            if (!isNumber || id < 0 || content.isEmpty())
                return R::fail(
                    QStringLiteral(
                        "%1: added_tokens_decoder entry \"%2\" needs a numeric id and a \"content\"")
                        .arg(configPath, it.key()));
            config.addedTokens.push_back(
                {content, id, entry.value(QStringLiteral("normalized")).toBool(false)});
        }
    } else if (!added.isUndefined() && !added.isNull()) {
        return R::fail(QStringLiteral("%1: \"added_tokens_decoder\" must be an object").arg(configPath));
    }

    const QString mapPath = dir.filePath(QStringLiteral("special_tokens_map.json"));
    auto specialTokensMap = readOptionalObject(mapPath);
    if (!specialTokensMap)
        return R::fail(specialTokensMap.error());
    if (Status s = readTokens(*specialTokensMap, mapPath, config); !s)
        return R::fail(s.error());
    return R::ok(std::move(config));
}

} // namespace tp::text
