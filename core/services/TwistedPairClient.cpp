#include "core/services/TwistedPairClient.h"

#include <QJsonArray>
#include <QTimer>

namespace tp::services {

const QStringList& TwistedPairClient::documentedModes() {
    static const QStringList modes = {QStringLiteral("invert_er"), QStringLiteral("so_what_er"),
                                      QStringLiteral("echo_er"),   QStringLiteral("what_if_er"),
                                      QStringLiteral("cucumb_er"), QStringLiteral("archiv_er")};
    return modes;
}

const QStringList& TwistedPairClient::documentedTones() {
    static const QStringList tones = {QStringLiteral("neutral"), QStringLiteral("technical"),
                                      QStringLiteral("primal"), QStringLiteral("poetic"),
                                      QStringLiteral("satirical")};
    return tones;
}

TwistedPairKnobs TwistedPairKnobs::documented() {
    TwistedPairKnobs k;
    k.modes = TwistedPairClient::documentedModes();
    k.tones = TwistedPairClient::documentedTones();
    return k;
}

TwistedPairClient::TwistedPairClient(const QUrl& baseUrl, QObject* parent)
    : QObject(parent)
    , m_http(new HttpJson(
          QStringLiteral("TwistedPair"), baseUrl,
          QStringLiteral("Start it in TwistedPair's V2 folder with `uvicorn server:app --port 8001`"),
          this)) {
    m_http->setTimeoutHint(QStringLiteral("Distortion can be slow; raise services/twistedPairTimeoutSec in "
                                          "Settings → Services if it needs longer."));
}

namespace {

// Strings, or objects naming a value ({"value": "echo_er"}, {"name": ...}, {"id": ...}).
QStringList stringList(const QJsonValue& v) {
    QStringList out;
    for (const QJsonValue& item : v.toArray()) {
        QString s = item.toString();
        if (s.isEmpty() && item.isObject()) {
            const QJsonObject o = item.toObject();
            for (const char* key : {"value", "name", "id"})
                if (s.isEmpty())
                    s = o.value(QLatin1String(key)).toString();
        }
        if (!s.trimmed().isEmpty() && !out.contains(s.trimmed()))
            out << s.trimmed();
    }
    return out;
}

bool readRange(const QJsonObject& o, int* lo, int* hi) {
    auto fromPair = [&](const QJsonValue& v) {
        if (v.isArray() && v.toArray().size() == 2 && v.toArray().at(0).isDouble() &&
            v.toArray().at(1).isDouble()) {
            *lo = v.toArray().at(0).toInt();
            *hi = v.toArray().at(1).toInt();
            return true;
        }
        if (v.isObject() && v.toObject().value(QLatin1String("min")).isDouble() &&
            v.toObject().value(QLatin1String("max")).isDouble()) {
            *lo = v.toObject().value(QLatin1String("min")).toInt();
            *hi = v.toObject().value(QLatin1String("max")).toInt();
            return true;
        }
        return false;
    };
    if (fromPair(o.value(QLatin1String("gain"))) || fromPair(o.value(QLatin1String("gain_range"))))
        return true;
    if (o.value(QLatin1String("gain_min")).isDouble() && o.value(QLatin1String("gain_max")).isDouble()) {
        *lo = o.value(QLatin1String("gain_min")).toInt();
        *hi = o.value(QLatin1String("gain_max")).toInt();
        return true;
    }
    return false;
}

} // namespace

TwistedPairKnobs TwistedPairClient::parseKnobs(const QJsonDocument& doc) {
    TwistedPairKnobs k = TwistedPairKnobs::documented();
    const QJsonObject o = doc.object();
    const QStringList modes = stringList(o.value(QLatin1String("modes")));
    if (!modes.isEmpty())
        k.modes = modes;
    else
        k.notes << QStringLiteral("TwistedPair's /knobs lists no modes; using the documented %1.")
                       .arg(documentedModes().join(QStringLiteral(", ")));
    const QStringList tones = stringList(o.value(QLatin1String("tones")));
    if (!tones.isEmpty())
        k.tones = tones;
    else
        k.notes << QStringLiteral("TwistedPair's /knobs lists no tones; using the documented %1.")
                       .arg(documentedTones().join(QStringLiteral(", ")));
    int lo = 0, hi = 0;
    if (readRange(o, &lo, &hi) && lo >= 0 && lo < hi && hi <= 1000) {
        k.gainMin = lo;
        k.gainMax = hi;
    } else {
        k.notes << QStringLiteral(
            "TwistedPair's /knobs gives no usable gain range; using the documented 1..10.");
    }
    return k;
}

Result<TwistedPairModels> TwistedPairClient::parseModels(const QJsonDocument& doc) {
    TwistedPairModels m;
    if (doc.isArray()) {
        m.models = stringList(doc.array());
    } else {
        const QJsonObject o = doc.object();
        if (!o.value(QLatin1String("models")).isArray())
            return Result<TwistedPairModels>::fail(
                QStringLiteral("TwistedPair's answer to GET /models has no \"models\" list."));
        m.models = stringList(o.value(QLatin1String("models")));
        m.defaultModel = o.value(QLatin1String("default")).toString();
    }
    return Result<TwistedPairModels>::ok(std::move(m));
}

Status TwistedPairClient::validate(const DistortRequest& r, const TwistedPairKnobs& knobs) {
    if (r.text.trimmed().isEmpty())
        return Status::fail(QStringLiteral("There is no text to distort: type a prompt first."));
    if (!knobs.modes.contains(r.mode))
        return Status::fail(QStringLiteral("'%1' is not a TwistedPair mode. Choose one of: %2.")
                                .arg(r.mode, knobs.modes.join(QStringLiteral(", "))));
    if (!knobs.tones.contains(r.tone))
        return Status::fail(QStringLiteral("'%1' is not a TwistedPair tone. Choose one of: %2.")
                                .arg(r.tone, knobs.tones.join(QStringLiteral(", "))));
    if (r.gain < knobs.gainMin || r.gain > knobs.gainMax)
        return Status::fail(QStringLiteral("Gain %1 is outside TwistedPair's range %2..%3.")
                                .arg(r.gain)
                                .arg(knobs.gainMin)
                                .arg(knobs.gainMax));
    return Status::ok();
}

QJsonObject TwistedPairClient::distortBody(const DistortRequest& r) {
    QJsonObject body{{QStringLiteral("text"), r.text},
                     {QStringLiteral("mode"), r.mode},
                     {QStringLiteral("tone"), r.tone},
                     {QStringLiteral("gain"), r.gain}};
    if (!r.model.trimmed().isEmpty())
        body.insert(QStringLiteral("model"), r.model.trimmed());
    return body;
}

Result<DistortResult> TwistedPairClient::parseDistort(const QJsonDocument& doc,
                                                      const DistortRequest& request) {
    using R = Result<DistortResult>;
    const QJsonObject o = doc.object();
    DistortResult d;
    d.mode = request.mode;
    d.tone = request.tone;
    d.gain = request.gain;
    d.model = request.model;
    d.signalId = o.value(QLatin1String("signal_id")).toString();
    const QJsonValue out = o.value(QLatin1String("output"));
    // V2 answers {"output": {"response": ..., "mode": ..., ...}}; older or simpler
    // servers put the text in "output" directly, or in "output"."text".
    QJsonObject meta = o;
    if (out.isString()) {
        d.output = out.toString();
    } else if (out.isObject()) {
        meta = out.toObject();
        d.output =
            meta.value(QLatin1String("response")).toString(meta.value(QLatin1String("text")).toString());
    } else {
        return R::fail(
            QStringLiteral("TwistedPair's answer to POST /distort-manual holds no \"output\". Is the "
                           "server TwistedPair V2?"));
    }
    if (meta.value(QLatin1String("mode")).isString())
        d.mode = meta.value(QLatin1String("mode")).toString();
    if (meta.value(QLatin1String("tone")).isString())
        d.tone = meta.value(QLatin1String("tone")).toString();
    if (meta.value(QLatin1String("gain")).isDouble())
        d.gain = meta.value(QLatin1String("gain")).toInt();
    if (meta.value(QLatin1String("model")).isString())
        d.model = meta.value(QLatin1String("model")).toString();
    d.output = d.output.trimmed();
    if (d.output.isEmpty())
        return R::fail(
            QStringLiteral("TwistedPair returned empty text for mode %1, tone %2. Check TwistedPair's "
                           "log (is its Ollama model available?).")
                .arg(request.mode, request.tone));
    return R::ok(std::move(d));
}

RequestHandle TwistedPairClient::health(std::function<void(Status)> done) {
    HttpJson::Options o;
    o.timeoutMs = m_shortTimeoutMs;
    o.expectJson = false;
    return m_http->get(
        QStringLiteral("/health"),
        [this, done = std::move(done)](const HttpReply& r) {
            if (r.kind == HttpErrorKind::HttpStatus && r.httpStatus == 404)
                return done(
                    Status::fail(QStringLiteral("%1 answered, but has no /health: TwistedPic needs "
                                                "TwistedPair V2. Check the URL in Settings → Services.")
                                     .arg(m_http->where())));
            done(r.isOk() ? Status::ok() : Status::fail(r.error));
        },
        o);
}

RequestHandle TwistedPairClient::knobs(std::function<void(Result<TwistedPairKnobs>)> done) {
    HttpJson::Options o;
    o.timeoutMs = m_shortTimeoutMs;
    return m_http->get(
        QStringLiteral("/knobs"),
        [done = std::move(done)](const HttpReply& r) {
            if (!r.isOk())
                return done(Result<TwistedPairKnobs>::fail(r.error));
            done(Result<TwistedPairKnobs>::ok(parseKnobs(r.json)));
        },
        o);
}

RequestHandle TwistedPairClient::models(std::function<void(Result<TwistedPairModels>)> done) {
    HttpJson::Options o;
    o.timeoutMs = m_shortTimeoutMs;
    return m_http->get(
        QStringLiteral("/models"),
        [done = std::move(done)](const HttpReply& r) {
            if (!r.isOk())
                return done(Result<TwistedPairModels>::fail(r.error));
            done(parseModels(r.json));
        },
        o);
}

RequestHandle TwistedPairClient::distort(const DistortRequest& request,
                                         std::function<void(Result<DistortResult>)> done,
                                         const TwistedPairKnobs& knobs) {
    if (const Status valid = validate(request, knobs); !valid) {
        // Same contract as a sent request: the callback runs after this returns.
        QTimer::singleShot(0, this, [done = std::move(done), error = valid.error()] {
            done(Result<DistortResult>::fail(error));
        });
        return {};
    }
    HttpJson::Options o;
    o.timeoutMs = m_distortTimeoutMs;
    return m_http->post(
        QStringLiteral("/distort-manual"), distortBody(request),
        [request, done = std::move(done)](const HttpReply& r) {
            if (!r.isOk())
                return done(Result<DistortResult>::fail(r.error));
            Result<DistortResult> d = parseDistort(r.json, request);
            if (d)
                d->wallMs = r.elapsedMs;
            done(std::move(d));
        },
        o);
}

} // namespace tp::services
