#pragma once

#include "core/common/Result.h"
#include "core/services/HttpJson.h"

#include <QObject>
#include <QString>
#include <QStringList>

#include <functional>

namespace tp::services {

// What GET /knobs offers. TwistedPair V2 answers {"modes": [...], "tones": [...]} and
// no gain range; missing fields fall back to the documented values, and `notes` says
// which did.
struct TwistedPairKnobs {
    QStringList modes;
    QStringList tones;
    int gainMin = 1;
    int gainMax = 10;
    QStringList notes; // "TwistedPair's /knobs lists no gain range; using the documented 1..10."

    static TwistedPairKnobs documented();
};

// GET /models: {"models": [...], "default": "..."}.
struct TwistedPairModels {
    QStringList models;
    QString defaultModel;
};

struct DistortRequest {
    QString text;
    QString mode = QStringLiteral("echo_er");
    QString tone = QStringLiteral("neutral");
    int gain = 5;
    QString model; // empty: TwistedPair's default
};

struct DistortResult {
    QString output; // the distorted text
    QString mode;   // as TwistedPair reports them (or as requested)
    QString tone;
    int gain = 0;
    QString model;    // as requested (TwistedPair V2 does not echo it)
    QString signalId; // TwistedPair's id for the request, when given
    double wallMs = 0;
};

// Talks to the TwistedPair V2 rhetorical distortion service (default
// http://localhost:8001). Asynchronous like OllamaClient.
class TwistedPairClient final : public QObject {
    Q_OBJECT
public:
    static QUrl defaultUrl() { return QUrl(QStringLiteral("http://localhost:8001")); }
    static const QStringList& documentedModes();
    static const QStringList& documentedTones();

    explicit TwistedPairClient(const QUrl& baseUrl = defaultUrl(), QObject* parent = nullptr);

    QUrl baseUrl() const { return m_http->baseUrl(); }
    void setBaseUrl(const QUrl& url) { m_http->setBaseUrl(url); }
    // How long a distortion may take (the setting services/twistedPairTimeoutSec).
    void setDistortTimeoutMs(int ms) { m_distortTimeoutMs = ms; }
    void setShortTimeoutMs(int ms) { m_shortTimeoutMs = ms; }
    HttpJson& http() { return *m_http; }

    // GET /health (V2: {"status": "healthy", ...}).
    RequestHandle health(std::function<void(Status)> done);
    RequestHandle knobs(std::function<void(Result<TwistedPairKnobs>)> done);
    RequestHandle models(std::function<void(Result<TwistedPairModels>)> done);
    // POST /distort-manual. The request is validated first (against `knobs`, by
    // default the documented lists); an invalid one fails at once, nothing is sent.
    RequestHandle distort(const DistortRequest& request, std::function<void(Result<DistortResult>)> done,
                          const TwistedPairKnobs& knobs = TwistedPairKnobs::documented());

    static Status validate(const DistortRequest& request,
                           const TwistedPairKnobs& knobs = TwistedPairKnobs::documented());
    static TwistedPairKnobs parseKnobs(const QJsonDocument& doc);
    static Result<TwistedPairModels> parseModels(const QJsonDocument& doc);
    static Result<DistortResult> parseDistort(const QJsonDocument& doc, const DistortRequest& request);
    static QJsonObject distortBody(const DistortRequest& request);

private:
    HttpJson* m_http = nullptr;
    int m_distortTimeoutMs = 120000;
    int m_shortTimeoutMs = 5000;
};

} // namespace tp::services
