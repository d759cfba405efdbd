#pragma once

#include <QByteArray>
#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QUrl>

#include <functional>
#include <memory>
#include <utility>

class QNetworkAccessManager;
class QNetworkReply;

namespace tp::services {

// Why an HTTP exchange failed, for code that reacts differently (the text is in
// HttpReply::error).
enum class HttpErrorKind {
    None,
    ConnectionRefused, // nothing listens at the URL
    HostNotFound,
    Timeout,    // no answer within the request's time limit
    HttpStatus, // the server answered 4xx/5xx
    NotJson,    // 2xx, but the body is not the JSON we asked for
    TooLarge,   // the answer passed the size limit; reading stopped
    Cancelled,  // RequestHandle::cancel() or the client went away
    Network,    // anything else QtNetwork reports
};

// The outcome of one request. `error` is a sentence a person can act on.
struct HttpReply {
    HttpErrorKind kind = HttpErrorKind::None;
    int httpStatus = 0;
    QByteArray body;    // what arrived (also on HTTP errors); empty for streams
    QJsonDocument json; // parsed body when the request expected JSON
    QString error;
    double elapsedMs = 0;

    bool isOk() const { return kind == HttpErrorKind::None; }
};

// A request in flight. Copyable; cancel() is safe after the request has finished
// or after the client is gone.
class RequestHandle final {
public:
    RequestHandle() = default;
    explicit RequestHandle(QNetworkReply* reply);
    // Aborts the request; its callback then runs once with HttpErrorKind::Cancelled.
    void cancel();
    bool isRunning() const;

private:
    QPointer<QNetworkReply> m_reply;
};

// Small JSON-over-HTTP plumbing shared by the service clients: one
// QNetworkAccessManager, a time limit per request, a limit on the answer's size,
// cancellation, and error messages that name the service, its URL and what to do.
// Asynchronous: callbacks run on this object's thread once per request; nothing
// waits on a nested event loop. Callbacks do not run after this object is destroyed.
class HttpJson final : public QObject {
    Q_OBJECT
public:
    static constexpr qint64 DefaultMaxBytes = 8 * 1024 * 1024;
    static constexpr int DefaultTimeoutMs = 30000;

    // `service` names it in messages ("Ollama"); `startHint` says how to start it
    // ("Start it with `ollama serve`").
    HttpJson(QString service, QUrl baseUrl, QString startHint, QObject* parent = nullptr);
    ~HttpJson() override;

    QString service() const { return m_service; }
    QUrl baseUrl() const { return m_baseUrl; }
    void setBaseUrl(const QUrl& url) { m_baseUrl = url; }
    // Appended to timeout messages, e.g. "raise services/twistedPairTimeoutSec".
    void setTimeoutHint(const QString& hint) { m_timeoutHint = hint; }

    struct Options {
        int timeoutMs = DefaultTimeoutMs;  // whole request; for streams: longest silence
        qint64 maxBytes = DefaultMaxBytes; // streams count every byte received
        bool expectJson = true;            // false: body handed over as is
    };

    using Callback = std::function<void(const HttpReply&)>;
    // One parsed line of a newline-delimited JSON stream.
    using LineCallback = std::function<void(const QJsonObject&)>;

    RequestHandle get(const QString& path, Callback done, const Options& options);
    RequestHandle get(const QString& path, Callback done) { return get(path, std::move(done), Options()); }
    RequestHandle post(const QString& path, const QJsonObject& body, Callback done, const Options& options);
    RequestHandle post(const QString& path, const QJsonObject& body, Callback done) {
        return post(path, body, std::move(done), Options());
    }
    // POST whose answer is NDJSON: `onLine` runs for each object as it arrives;
    // `done` runs once at the end (its `json` is the last object). A line that is
    // not a JSON object ends the request with NotJson.
    RequestHandle postStream(const QString& path, const QJsonObject& body, LineCallback onLine, Callback done,
                             const Options& options);

    // Aborts every request in flight (each callback runs with Cancelled).
    void cancelAll();
    int requestsInFlight() const;

    // "Ollama at http://localhost:11434" — the start of most messages.
    QString where() const;

private:
    struct Pending;
    RequestHandle start(const QString& method, const QString& path, const QByteArray& body, Callback done,
                        LineCallback onLine, const Options& options);
    void finish(QNetworkReply* reply);
    QString describeNetworkError(QNetworkReply* reply, const Pending& p) const;
    QString describeHttpStatus(int status, const QByteArray& body) const;

    QString m_service;
    QUrl m_baseUrl;
    QString m_startHint;
    QString m_timeoutHint;
    QNetworkAccessManager* m_nam = nullptr;
    QHash<QNetworkReply*, std::shared_ptr<Pending>> m_pending;
};

// The message for a human-readable byte count in limits ("8 MiB").
QString formatByteLimit(qint64 bytes);

// Wraps a callback so that it does nothing once `context` is destroyed: for callbacks
// that capture `this` of an object that may go before the client it called.
template <typename F> auto guarded(QObject* context, F f) {
    return [p = QPointer<QObject>(context), f = std::move(f)](auto&&... args) {
        if (p)
            f(std::forward<decltype(args)>(args)...);
    };
}

} // namespace tp::services
