#include "tests/support/FakeOllamaServer.h"

#include <QJsonDocument>

namespace tp::test {

namespace {

QString rfc3339(const QDateTime& t) {
    // Go's layout with nanoseconds and an offset, e.g. 2024-06-04T14:38:31.837530000-07:00.
    const QDateTime local = t.toOffsetFromUtc(-7 * 3600);
    return local.toString(QStringLiteral("yyyy-MM-ddTHH:mm:ss.zzz")) + QStringLiteral("530000-07:00");
}

QString nowText() {
    return rfc3339(QDateTime::currentDateTimeUtc());
}

QJsonObject details(const QString& family, const QString& parameterSize, const QString& quantization) {
    return {{QStringLiteral("parent_model"), QString()},
            {QStringLiteral("format"), QStringLiteral("gguf")},
            {QStringLiteral("family"), family},
            {QStringLiteral("families"), QJsonArray{family}},
            {QStringLiteral("parameter_size"), parameterSize},
            {QStringLiteral("quantization_level"), quantization}};
}

} // namespace

FakeOllamaServer::FakeOllamaServer(QObject* parent)
    : FakeHttpServer(parent) {
    route(QStringLiteral("GET"), QStringLiteral("/"),
          [](const HttpRequest&) { return FakeResponse::text("Ollama is running"); });
    route(QStringLiteral("GET"), QStringLiteral("/api/version"), [this](const HttpRequest&) {
        return FakeResponse::json({{QStringLiteral("version"), m_version}});
    });
    route(QStringLiteral("GET"), QStringLiteral("/api/tags"), [this](const HttpRequest&) {
        return FakeResponse::json({{QStringLiteral("models"), m_installed}});
    });
    route(QStringLiteral("GET"), QStringLiteral("/api/ps"), [this](const HttpRequest&) {
        return FakeResponse::json({{QStringLiteral("models"), m_loaded}});
    });
    route(QStringLiteral("POST"), QStringLiteral("/api/generate"),
          [this](const HttpRequest& req) { return generate(req); });
}

QJsonObject FakeOllamaServer::tagEntry(const QString& name, qint64 size, const QString& family,
                                       const QString& parameterSize, const QString& quantization) {
    return {{QStringLiteral("name"), name},
            {QStringLiteral("model"), name},
            {QStringLiteral("modified_at"), QStringLiteral("2025-05-04T17:37:44.706015396-07:00")},
            {QStringLiteral("size"), size},
            {QStringLiteral("digest"),
             QStringLiteral("a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72")},
            {QStringLiteral("details"), details(family, parameterSize, quantization)}};
}

QJsonObject FakeOllamaServer::psEntry(const QString& name, qint64 size, qint64 sizeVram,
                                      const QDateTime& expiresAt) {
    return {{QStringLiteral("name"), name},
            {QStringLiteral("model"), name},
            {QStringLiteral("size"), size},
            {QStringLiteral("digest"),
             QStringLiteral("2ae6f6dd7a3dd734790bbbf58b8909a606e0e7e97e94b7604e0aa7ae4490e6d8")},
            {QStringLiteral("details"),
             details(QStringLiteral("llama"), QStringLiteral("7.2B"), QStringLiteral("Q4_0"))},
            {QStringLiteral("expires_at"), rfc3339(expiresAt)},
            {QStringLiteral("size_vram"), sizeVram},
            {QStringLiteral("context_length"), 4096}};
}

QJsonObject FakeOllamaServer::finalObject(const QString& model, const QString& response,
                                          const QString& reason) const {
    QJsonObject o{{QStringLiteral("model"), model},
                  {QStringLiteral("created_at"), nowText()},
                  {QStringLiteral("response"), response},
                  {QStringLiteral("done"), true},
                  {QStringLiteral("done_reason"), reason}};
    if (reason != QLatin1String("unload")) {
        o.insert(QStringLiteral("context"), QJsonArray{1, 2, 3});
        o.insert(QStringLiteral("total_duration"), 5043500667LL);
        o.insert(QStringLiteral("load_duration"), 5025959LL);
        o.insert(QStringLiteral("prompt_eval_count"), 26);
        o.insert(QStringLiteral("prompt_eval_duration"), 325953000LL);
        o.insert(QStringLiteral("eval_count"), 290);
        o.insert(QStringLiteral("eval_duration"), 4709213000LL);
    }
    return o;
}

FakeResponse FakeOllamaServer::generate(const HttpRequest& req) {
    const QJsonObject body = req.json();
    const QString model = body.value(QLatin1String("model")).toString();
    if (model.isEmpty())
        return FakeResponse::json({{QStringLiteral("error"), QStringLiteral("model is required")}}, 400);
    if (!m_installed.isEmpty()) {
        bool known = false;
        for (const QJsonValue& v : m_installed)
            known = known || v.toObject().value(QLatin1String("name")).toString() == model;
        if (!known)
            return FakeResponse::json(
                {{QStringLiteral("error"), QStringLiteral("model '%1' not found").arg(model)}}, 404);
    }
    const QJsonValue keepAlive = body.value(QLatin1String("keep_alive"));
    const bool unload = body.value(QLatin1String("prompt")).toString().isEmpty() && keepAlive.isDouble() &&
                        keepAlive.toDouble() == 0;
    if (unload) {
        QJsonArray rest;
        for (const QJsonValue& v : m_loaded)
            if (v.toObject().value(QLatin1String("name")).toString() != model)
                rest << v;
        m_loaded = rest;
        return FakeResponse::json(finalObject(model, QString(), QStringLiteral("unload")));
    }
    // "stream" defaults to true in Ollama.
    const bool stream = body.value(QLatin1String("stream")).toBool(true);
    if (!stream)
        return FakeResponse::json(finalObject(model, m_text, QStringLiteral("stop")));
    const QStringList pieces = m_chunks.isEmpty() ? QStringList{m_text} : m_chunks;
    QList<QByteArray> lines;
    for (const QString& piece : pieces) {
        const QJsonObject o{{QStringLiteral("model"), model},
                            {QStringLiteral("created_at"), nowText()},
                            {QStringLiteral("response"), piece},
                            {QStringLiteral("done"), false}};
        lines << QJsonDocument(o).toJson(QJsonDocument::Compact) + '\n';
    }
    lines << QJsonDocument(finalObject(model, QString(), QStringLiteral("stop")))
                     .toJson(QJsonDocument::Compact) +
                 '\n';
    return FakeResponse::stream(lines, m_chunkDelayMs);
}

} // namespace tp::test
