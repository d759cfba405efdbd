#include "core/text/TokenizerJson.h"

#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

namespace tp::text {

namespace {

// A post-processor's special token: ["<|startoftext|>", 49406] (RobertaProcessing's cls/sep)
// or TemplateProcessing's {"SpecialToken": {"id": "<|startoftext|>"}} first/last entry.
QString specialToken(const QJsonValue& v) {
    if (v.isArray() && v.toArray().size() >= 1 && v.toArray().at(0).isString())
        return v.toArray().at(0).toString();
    const QJsonObject special = v.toObject().value(QStringLiteral("SpecialToken")).toObject();
    return special.value(QStringLiteral("id")).toString();
}

} // namespace

Result<TokenizerJson> TokenizerJson::read(const QString& path) {
    using R = Result<TokenizerJson>;
    const QString name = QFileInfo(path).fileName();
    auto damaged = [&](const QString& what) {
        return R::fail(
            QStringLiteral("%1 (%2) %3; copy the model's tokenizer folder again").arg(name, path, what));
    };
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return R::fail(QStringLiteral("cannot read %1 (%2): %3").arg(name, path, file.errorString()));
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &error);
    if (error.error != QJsonParseError::NoError)
        return damaged(
            QStringLiteral("is not valid JSON (%1 at byte %2)").arg(error.errorString()).arg(error.offset));
    const QJsonObject root = doc.object();
    const QJsonObject model = root.value(QStringLiteral("model")).toObject();
    const QString type = model.value(QStringLiteral("type")).toString();
    if (type != QLatin1String("BPE"))
        return R::fail(QStringLiteral("%1 (%2) holds a %3 tokenizer model, not CLIP's byte-level BPE")
                           .arg(name, path, type.isEmpty() ? QStringLiteral("missing") : type));
    const QJsonValue suffix = model.value(QStringLiteral("end_of_word_suffix"));
    if (!suffix.isUndefined() && !suffix.isNull() && suffix.toString() != QLatin1String("</w>"))
        return R::fail(QStringLiteral("%1 (%2): end_of_word_suffix is \"%3\", not CLIP's \"</w>\"")
                           .arg(name, path, suffix.toString()));

    TokenizerJson t;
    const QJsonObject vocab = model.value(QStringLiteral("vocab")).toObject();
    if (vocab.isEmpty())
        return damaged(QStringLiteral("has no model.vocab"));
    t.vocab.entries.reserve(size_t(vocab.size()));
    for (auto it = vocab.constBegin(); it != vocab.constEnd(); ++it) {
        if (!it.value().isDouble() || it.value().toDouble() < 0 || it.value().toDouble() > 2147483647.0 ||
            it.value().toDouble() != double(qint64(it.value().toDouble())))
            return damaged(QStringLiteral("gives the token \"%1\" an id that is not a non-negative integer")
                               .arg(it.key()));
        const QByteArray utf8 = it.key().toUtf8();
        VocabJson::Entry e;
        e.offset = std::uint32_t(t.vocab.arena.size());
        e.length = std::uint32_t(utf8.size());
        e.id = std::int32_t(it.value().toInteger());
        t.vocab.arena.append(utf8.constData(), size_t(utf8.size()));
        t.vocab.entries.push_back(e);
    }

    const QJsonArray merges = model.value(QStringLiteral("merges")).toArray();
    t.merges.reserve(size_t(merges.size()));
    for (qsizetype i = 0; i < merges.size(); ++i) {
        const QJsonValue m = merges.at(i);
        QString left, right;
        if (m.isString()) {
            const QStringList parts = m.toString().split(QLatin1Char(' '));
            if (parts.size() == 2) {
                left = parts[0];
                right = parts[1];
            }
        } else if (m.isArray() && m.toArray().size() == 2) {
            left = m.toArray().at(0).toString();
            right = m.toArray().at(1).toString();
        }
        if (left.isEmpty() || right.isEmpty())
            return damaged(
                QStringLiteral("merge %1 is neither \"left right\" nor [\"left\", \"right\"]").arg(i));
        t.merges.emplace_back(left.toStdString(), right.toStdString());
    }

    t.unkToken = model.value(QStringLiteral("unk_token")).toString();
    const QJsonObject post = root.value(QStringLiteral("post_processor")).toObject();
    if (post.contains(QStringLiteral("cls"))) {
        t.bosToken = specialToken(post.value(QStringLiteral("cls")));
        t.eosToken = specialToken(post.value(QStringLiteral("sep")));
    } else if (post.value(QStringLiteral("single")).isArray()) {
        const QJsonArray single = post.value(QStringLiteral("single")).toArray();
        if (!single.isEmpty()) {
            t.bosToken = specialToken(single.first());
            t.eosToken = specialToken(single.last());
        }
    }
    t.padToken =
        root.value(QStringLiteral("padding")).toObject().value(QStringLiteral("pad_token")).toString();
    for (const QJsonValue& v : root.value(QStringLiteral("added_tokens")).toArray()) {
        const QJsonObject a = v.toObject();
        const QString content = a.value(QStringLiteral("content")).toString();
        const double id = a.value(QStringLiteral("id")).toDouble(-1);
        if (content.isEmpty() || id < 0)
            return damaged(QStringLiteral("has an added token without content or id"));
        t.addedTokens.push_back(
            {content, std::int64_t(id), a.value(QStringLiteral("normalized")).toBool(false)});
    }
    return R::ok(std::move(t));
}

} // namespace tp::text
