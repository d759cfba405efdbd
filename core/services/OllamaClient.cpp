#include "core/services/OllamaClient.h"

#include "core/services/Format.h"

#include <QJsonArray>

#include <cmath>
#include <memory>

namespace tp::services {

double OllamaLoadedModel::gpuFraction() const {
    if (size <= 0)
        return 0;
    return std::clamp(double(sizeVram) / double(size), 0.0, 1.0);
}

int OllamaLoadedModel::gpuPercent() const {
    if (size <= 0 || sizeVram <= 0)
        return 0;
    if (sizeVram >= size)
        return 100;
    // `ollama ps` rounds the CPU share and gives the GPU the rest.
    return 100 - int(std::lround(double(size - sizeVram) / double(size) * 100.0));
}

QString OllamaLoadedModel::processor() const {
    if (sizeVram == 0)
        return QStringLiteral("100% CPU");
    if (sizeVram == size)
        return QStringLiteral("100% GPU");
    if (sizeVram > size || size == 0)
        return QStringLiteral("Unknown");
    const int gpu = gpuPercent();
    return QStringLiteral("%1%/%2% CPU/GPU").arg(100 - gpu).arg(gpu);
}

QString OllamaLoadedModel::shareText() const {
    QString where;
    if (sizeVram == 0)
        where = QStringLiteral("100% CPU");
    else if (sizeVram == size)
        where = QStringLiteral("100% GPU");
    else if (sizeVram > size || size == 0)
        where = QStringLiteral("placement unknown");
    else
        where = QStringLiteral("%1% CPU / %2% GPU").arg(100 - gpuPercent()).arg(gpuPercent());
    return name + QStringLiteral(" — ") + where;
}

OllamaClient::OllamaClient(const QUrl& baseUrl, QObject* parent)
    : QObject(parent)
    , m_http(new HttpJson(QStringLiteral("Ollama"), baseUrl, QStringLiteral("Start it with `ollama serve`"),
                          this)) {}

HttpJson::Options OllamaClient::shortOptions() const {
    HttpJson::Options o;
    o.timeoutMs = m_shortTimeoutMs;
    return o;
}

namespace {

// A reply that arrived but does not have the documented shape.
QString shapeError(const QString& what, const QString& problem) {
    return QStringLiteral(
               "Ollama's answer to %1 has an unexpected shape (%2). Is the server a recent Ollama?")
        .arg(what, problem);
}

qint64 toInt64(const QJsonValue& v) {
    return v.isDouble() ? qint64(v.toDouble()) : v.toString().toLongLong();
}

} // namespace

RequestHandle OllamaClient::health(std::function<void(Status)> done) {
    HttpJson::Options o = shortOptions();
    o.expectJson = false;
    return m_http->get(
        QStringLiteral("/"),
        [this, done = std::move(done)](const HttpReply& r) {
            if (!r.isOk())
                return done(Status::fail(r.error));
            if (!r.body.contains("Ollama is running"))
                return done(
                    Status::fail(QStringLiteral("%1 answered, but not like Ollama (\"%2\"). Check the URL "
                                                "in Settings → Services.")
                                     .arg(m_http->where(), QString::fromUtf8(r.body.left(80)).simplified())));
            done(Status::ok());
        },
        o);
}

RequestHandle OllamaClient::version(std::function<void(Result<QString>)> done) {
    return m_http->get(
        QStringLiteral("/api/version"),
        [done = std::move(done)](const HttpReply& r) {
            if (!r.isOk())
                return done(Result<QString>::fail(r.error));
            const QString v = r.json.object().value(QLatin1String("version")).toString();
            if (v.isEmpty())
                return done(Result<QString>::fail(
                    shapeError(QStringLiteral("GET /api/version"), QStringLiteral("no \"version\" text"))));
            done(Result<QString>::ok(v));
        },
        shortOptions());
}

Result<QVector<OllamaModel>> OllamaClient::parseTags(const QJsonDocument& doc) {
    using R = Result<QVector<OllamaModel>>;
    if (!doc.isObject() || !doc.object().value(QLatin1String("models")).isArray())
        return R::fail(shapeError(QStringLiteral("GET /api/tags"), QStringLiteral("no \"models\" list")));
    QVector<OllamaModel> out;
    for (const QJsonValue& v : doc.object().value(QLatin1String("models")).toArray()) {
        const QJsonObject o = v.toObject();
        OllamaModel m;
        m.name = o.value(QLatin1String("name")).toString();
        m.model = o.value(QLatin1String("model")).toString(m.name);
        if (m.name.isEmpty())
            m.name = m.model;
        if (m.name.isEmpty())
            continue; // nothing to call it by: skip rather than show a blank row
        m.size = toInt64(o.value(QLatin1String("size")));
        m.digest = o.value(QLatin1String("digest")).toString();
        m.modifiedAt = parseRfc3339(o.value(QLatin1String("modified_at")).toString());
        const QJsonObject d = o.value(QLatin1String("details")).toObject();
        m.format = d.value(QLatin1String("format")).toString();
        m.family = d.value(QLatin1String("family")).toString();
        m.parameterSize = d.value(QLatin1String("parameter_size")).toString();
        m.quantizationLevel = d.value(QLatin1String("quantization_level")).toString();
        out.push_back(std::move(m));
    }
    return R::ok(std::move(out));
}

Result<QVector<OllamaLoadedModel>> OllamaClient::parseLoaded(const QJsonDocument& doc) {
    using R = Result<QVector<OllamaLoadedModel>>;
    if (!doc.isObject() || !doc.object().value(QLatin1String("models")).isArray())
        return R::fail(shapeError(QStringLiteral("GET /api/ps"), QStringLiteral("no \"models\" list")));
    QVector<OllamaLoadedModel> out;
    for (const QJsonValue& v : doc.object().value(QLatin1String("models")).toArray()) {
        const QJsonObject o = v.toObject();
        OllamaLoadedModel m;
        m.name = o.value(QLatin1String("name")).toString();
        m.model = o.value(QLatin1String("model")).toString(m.name);
        if (m.name.isEmpty())
            m.name = m.model;
        if (m.name.isEmpty())
            continue;
        m.size = toInt64(o.value(QLatin1String("size")));
        m.sizeVram = toInt64(o.value(QLatin1String("size_vram")));
        m.digest = o.value(QLatin1String("digest")).toString();
        m.expiresAt = parseRfc3339(o.value(QLatin1String("expires_at")).toString());
        m.contextLength = o.value(QLatin1String("context_length")).toInt();
        const QJsonObject d = o.value(QLatin1String("details")).toObject();
        m.family = d.value(QLatin1String("family")).toString();
        m.parameterSize = d.value(QLatin1String("parameter_size")).toString();
        m.quantizationLevel = d.value(QLatin1String("quantization_level")).toString();
        out.push_back(std::move(m));
    }
    return R::ok(std::move(out));
}

RequestHandle OllamaClient::installedModels(std::function<void(Result<QVector<OllamaModel>>)> done) {
    return m_http->get(
        QStringLiteral("/api/tags"),
        [done = std::move(done)](const HttpReply& r) {
            if (!r.isOk())
                return done(Result<QVector<OllamaModel>>::fail(r.error));
            done(parseTags(r.json));
        },
        shortOptions());
}

RequestHandle OllamaClient::loadedModels(std::function<void(Result<QVector<OllamaLoadedModel>>)> done,
                                         int timeoutMs) {
    HttpJson::Options options = shortOptions();
    if (timeoutMs > 0)
        options.timeoutMs = timeoutMs;
    return m_http->get(
        QStringLiteral("/api/ps"),
        [done = std::move(done)](const HttpReply& r) {
            if (!r.isOk())
                return done(Result<QVector<OllamaLoadedModel>>::fail(r.error));
            done(parseLoaded(r.json));
        },
        options);
}

QJsonObject OllamaClient::generateBody(const QString& model, const QString& prompt,
                                       const GenerateOptions& options, bool stream) {
    QJsonObject body{{QStringLiteral("model"), model},
                     {QStringLiteral("prompt"), prompt},
                     {QStringLiteral("stream"), stream}};
    QJsonObject opts;
    if (!std::isnan(options.temperature))
        opts.insert(QStringLiteral("temperature"), options.temperature);
    if (options.numPredict >= 0)
        opts.insert(QStringLiteral("num_predict"), options.numPredict);
    if (!opts.isEmpty())
        body.insert(QStringLiteral("options"), opts);
    if (!options.keepAlive.isUndefined() && !options.keepAlive.isNull())
        body.insert(QStringLiteral("keep_alive"), options.keepAlive);
    if (!options.system.isEmpty())
        body.insert(QStringLiteral("system"), options.system);
    return body;
}

GenerateResult OllamaClient::parseGenerateFinal(const QJsonObject& o) {
    GenerateResult g;
    g.model = o.value(QLatin1String("model")).toString();
    g.response = o.value(QLatin1String("response")).toString();
    g.doneReason = o.value(QLatin1String("done_reason")).toString();
    g.totalDurationNs = toInt64(o.value(QLatin1String("total_duration")));
    g.loadDurationNs = toInt64(o.value(QLatin1String("load_duration")));
    g.promptEvalCount = toInt64(o.value(QLatin1String("prompt_eval_count")));
    g.promptEvalDurationNs = toInt64(o.value(QLatin1String("prompt_eval_duration")));
    g.evalCount = toInt64(o.value(QLatin1String("eval_count")));
    g.evalDurationNs = toInt64(o.value(QLatin1String("eval_duration")));
    return g;
}

RequestHandle OllamaClient::generate(const QString& model, const QString& prompt,
                                     const GenerateOptions& options,
                                     std::function<void(Result<GenerateResult>)> done) {
    HttpJson::Options o;
    o.timeoutMs = m_generateTimeoutMs;
    return m_http->post(
        QStringLiteral("/api/generate"), generateBody(model, prompt, options, false),
        [model, done = std::move(done)](const HttpReply& r) {
            if (!r.isOk())
                return done(Result<GenerateResult>::fail(r.error));
            const QJsonObject obj = r.json.object();
            if (obj.value(QLatin1String("error")).isString())
                return done(Result<GenerateResult>::fail(
                    QStringLiteral("Ollama could not run %1: %2")
                        .arg(model, obj.value(QLatin1String("error")).toString())));
            if (!obj.value(QLatin1String("done")).toBool())
                return done(Result<GenerateResult>::fail(shapeError(QStringLiteral("POST /api/generate"),
                                                                    QStringLiteral("\"done\" is not true"))));
            GenerateResult g = parseGenerateFinal(obj);
            g.wallMs = r.elapsedMs;
            done(Result<GenerateResult>::ok(std::move(g)));
        },
        o);
}

RequestHandle OllamaClient::generateStream(const QString& model, const QString& prompt,
                                           const GenerateOptions& options,
                                           std::function<void(const QString& chunk)> onChunk,
                                           std::function<void(Result<GenerateResult>)> done) {
    struct State {
        QString text;
        QString error;
        bool sawDone = false;
    };
    auto state = std::make_shared<State>();
    HttpJson::Options o;
    o.timeoutMs = m_generateTimeoutMs;
    return m_http->postStream(
        QStringLiteral("/api/generate"), generateBody(model, prompt, options, true),
        [state, onChunk = std::move(onChunk)](const QJsonObject& line) {
            if (line.value(QLatin1String("error")).isString()) {
                state->error = line.value(QLatin1String("error")).toString();
                return;
            }
            const QString chunk = line.value(QLatin1String("response")).toString();
            state->text += chunk;
            if (line.value(QLatin1String("done")).toBool())
                state->sawDone = true;
            if (!chunk.isEmpty() && onChunk)
                onChunk(chunk);
        },
        [model, state, done = std::move(done)](const HttpReply& r) {
            if (!r.isOk())
                return done(Result<GenerateResult>::fail(r.error));
            if (!state->error.isEmpty())
                return done(Result<GenerateResult>::fail(
                    QStringLiteral("Ollama could not run %1: %2").arg(model, state->error)));
            if (!state->sawDone)
                return done(Result<GenerateResult>::fail(
                    QStringLiteral(
                        "Ollama's stream for %1 ended before its last (\"done\": true) line. Check "
                        "Ollama's log.")
                        .arg(model)));
            GenerateResult g = parseGenerateFinal(r.json.object());
            g.response = state->text;
            g.wallMs = r.elapsedMs;
            done(Result<GenerateResult>::ok(std::move(g)));
        },
        o);
}

RequestHandle OllamaClient::unload(const QString& model, std::function<void(Result<GenerateResult>)> done) {
    const QJsonObject body{{QStringLiteral("model"), model}, {QStringLiteral("keep_alive"), 0}};
    HttpJson::Options o;
    o.timeoutMs = std::max(m_shortTimeoutMs, 30000); // unloading waits for a running request to end
    return m_http->post(
        QStringLiteral("/api/generate"), body,
        [model, done = std::move(done)](const HttpReply& r) {
            if (!r.isOk())
                return done(Result<GenerateResult>::fail(
                    QStringLiteral("Could not ask Ollama to unload %1: %2").arg(model, r.error)));
            GenerateResult g = parseGenerateFinal(r.json.object());
            g.wallMs = r.elapsedMs;
            done(Result<GenerateResult>::ok(std::move(g)));
        },
        o);
}

} // namespace tp::services
