#include "core/services/HttpJson.h"

#include "core/common/Log.h"

#include <QElapsedTimer>
#include <QHostAddress>
#include <QJsonArray>
#include <QJsonParseError>
#include <QNetworkAccessManager>
#include <QNetworkProxy>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QTimer>

namespace tp::services {

struct HttpJson::Pending {
    QString method;
    QString path;
    Options options;
    Callback done;
    LineCallback onLine; // set for NDJSON streams
    QElapsedTimer clock;
    QTimer* timer = nullptr;
    QByteArray buffer; // the body, or the unfinished line of a stream
    qint64 received = 0;
    QJsonObject lastLine;
    QString lineError;
    bool timedOut = false;
    bool tooLarge = false;
    bool finished = false;
};

RequestHandle::RequestHandle(QNetworkReply* reply)
    : m_reply(reply) {}

void RequestHandle::cancel() {
    if (m_reply && m_reply->isRunning())
        m_reply->abort();
}

bool RequestHandle::isRunning() const {
    return m_reply && m_reply->isRunning();
}

QString formatByteLimit(qint64 bytes) {
    if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0)
        return QStringLiteral("%1 MiB").arg(bytes / (1024 * 1024));
    if (bytes >= 1024 && bytes % 1024 == 0)
        return QStringLiteral("%1 KiB").arg(bytes / 1024);
    return QStringLiteral("%1 bytes").arg(bytes);
}

namespace {

bool isLoopback(const QUrl& url) {
    const QString host = url.host();
    if (host.compare(QLatin1String("localhost"), Qt::CaseInsensitive) == 0)
        return true;
    const QHostAddress address(host);
    return !address.isNull() && address.isLoopback();
}

// The first characters of a body, on one line, for messages.
QString preview(const QByteArray& body, int maxChars) {
    QString text = QString::fromUtf8(body.left(maxChars * 4)).simplified();
    if (text.size() > maxChars)
        text = text.left(maxChars) + QStringLiteral("…");
    return text;
}

// The base URL as text, without a trailing slash (QUrl keeps a lone "/").
QString baseText(const QUrl& url) {
    QString text = url.toString(QUrl::StripTrailingSlash);
    while (text.endsWith(QLatin1Char('/')))
        text.chop(1);
    return text;
}

} // namespace

HttpJson::HttpJson(QString service, QUrl baseUrl, QString startHint, QObject* parent)
    : QObject(parent)
    , m_service(std::move(service))
    , m_baseUrl(std::move(baseUrl))
    , m_startHint(std::move(startHint))
    , m_nam(new QNetworkAccessManager(this)) {}

HttpJson::~HttpJson() {
    // No callback runs from here on: the caller may be half destroyed too.
    const auto replies = m_pending.keys();
    for (QNetworkReply* reply : replies) {
        reply->disconnect(this);
        reply->abort();
    }
    m_pending.clear();
}

QString HttpJson::where() const {
    return QStringLiteral("%1 at %2").arg(m_service, baseText(m_baseUrl));
}

int HttpJson::requestsInFlight() const {
    return int(m_pending.size());
}

void HttpJson::cancelAll() {
    const auto replies = m_pending.keys();
    for (QNetworkReply* reply : replies)
        if (m_pending.contains(reply))
            reply->abort();
}

RequestHandle HttpJson::get(const QString& path, Callback done, const Options& options) {
    return start(QStringLiteral("GET"), path, {}, std::move(done), {}, options);
}

RequestHandle HttpJson::post(const QString& path, const QJsonObject& body, Callback done,
                             const Options& options) {
    return start(QStringLiteral("POST"), path, QJsonDocument(body).toJson(QJsonDocument::Compact),
                 std::move(done), {}, options);
}

RequestHandle HttpJson::postStream(const QString& path, const QJsonObject& body, LineCallback onLine,
                                   Callback done, const Options& options) {
    if (!onLine)
        onLine = [](const QJsonObject&) {};
    return start(QStringLiteral("POST"), path, QJsonDocument(body).toJson(QJsonDocument::Compact),
                 std::move(done), std::move(onLine), options);
}

RequestHandle HttpJson::start(const QString& method, const QString& path, const QByteArray& body,
                              Callback done, LineCallback onLine, const Options& options) {
    const QUrl url(baseText(m_baseUrl) + path);
    QNetworkRequest request(url);
    request.setRawHeader("Accept", onLine ? "application/x-ndjson" : "application/json");
    request.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
    // Local services must not go through a proxy taken from the environment.
    m_nam->setProxy(isLoopback(url) ? QNetworkProxy(QNetworkProxy::NoProxy)
                                    : QNetworkProxy(QNetworkProxy::DefaultProxy));

    auto p = std::make_shared<Pending>();
    p->method = method;
    p->path = path;
    p->options = options;
    p->done = std::move(done);
    p->onLine = std::move(onLine);
    p->clock.start();

    QNetworkReply* reply = nullptr;
    if (method == QLatin1String("POST")) {
        request.setHeader(QNetworkRequest::ContentTypeHeader, QByteArrayLiteral("application/json"));
        reply = m_nam->post(request, body);
    } else {
        reply = m_nam->get(request);
    }
    // Bounded buffering: QtNetwork stops reading the socket while we have not taken
    // what it holds, so the size limit also stops the transfer, not just our copy.
    reply->setReadBufferSize(256 * 1024);
    m_pending.insert(reply, p);
    spdlog::debug("{}: {} {}", m_service, method, url.toString());

    if (options.timeoutMs > 0) {
        p->timer = new QTimer(reply);
        p->timer->setSingleShot(true);
        p->timer->setInterval(options.timeoutMs);
        connect(p->timer, &QTimer::timeout, this, [p, reply] {
            p->timedOut = true;
            reply->abort();
        });
        p->timer->start();
    }

    connect(reply, &QNetworkReply::metaDataChanged, this, [p, reply] {
        const QVariant length = reply->header(QNetworkRequest::ContentLengthHeader);
        if (length.isValid() && p->options.maxBytes > 0 && length.toLongLong() > p->options.maxBytes) {
            p->tooLarge = true;
            reply->abort();
        }
    });
    connect(reply, &QNetworkReply::readyRead, this, [p, reply] {
        const QByteArray chunk = reply->readAll();
        p->received += chunk.size();
        if (p->options.maxBytes > 0 && p->received > p->options.maxBytes) {
            p->tooLarge = true;
            reply->abort();
            return;
        }
        p->buffer += chunk;
        // HTTP errors keep their body whole for the message.
        if (!p->onLine || reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt() >= 400)
            return;
        if (p->timer)
            p->timer->start(); // streams: the limit is on silence, not on the whole answer
        // Hand over every complete line; keep the unfinished rest.
        qsizetype newline;
        while (!p->finished && (newline = p->buffer.indexOf('\n')) >= 0) {
            const QByteArray line = p->buffer.left(newline).trimmed();
            p->buffer.remove(0, newline + 1);
            if (line.isEmpty())
                continue;
            QJsonParseError err;
            const QJsonDocument doc = QJsonDocument::fromJson(line, &err);
            if (err.error != QJsonParseError::NoError || !doc.isObject()) {
                p->lineError =
                    QStringLiteral("a line of the stream is not a JSON object (%1; the line began "
                                   "with \"%2\")")
                        .arg(err.error != QJsonParseError::NoError ? err.errorString()
                                                                   : QStringLiteral("not an object"),
                             preview(line, 60));
                reply->abort();
                return;
            }
            p->lastLine = doc.object();
            p->onLine(p->lastLine); // may cancel: the loop checks `finished`
        }
    });
    connect(reply, &QNetworkReply::finished, this, [this, reply] { finish(reply); });
    return RequestHandle(reply);
}

void HttpJson::finish(QNetworkReply* reply) {
    const auto it = m_pending.find(reply);
    if (it == m_pending.end())
        return;
    const std::shared_ptr<Pending> p = it.value();
    m_pending.erase(it);
    reply->deleteLater();
    if (p->finished)
        return;
    p->finished = true;
    if (p->timer)
        p->timer->stop();

    const QNetworkReply::NetworkError netError = reply->error();
    if (!p->tooLarge && !p->timedOut && netError != QNetworkReply::OperationCanceledError) {
        const QByteArray rest = reply->readAll();
        p->received += rest.size();
        p->buffer += rest;
    }

    HttpReply r;
    r.elapsedMs = double(p->clock.nsecsElapsed()) / 1e6;
    r.httpStatus = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
    const QString request = p->method + QLatin1Char(' ') + p->path;

    if (p->tooLarge) {
        r.kind = HttpErrorKind::TooLarge;
        r.error = QStringLiteral("%1 sent an answer larger than %2 to %3, stopped reading. Check that %4 is "
                                 "%1's URL.")
                      .arg(m_service, formatByteLimit(p->options.maxBytes), request, baseText(m_baseUrl));
    } else if (p->timedOut) {
        r.kind = HttpErrorKind::Timeout;
        const double seconds = p->options.timeoutMs / 1000.0;
        r.error =
            (p->onLine && p->received > 0 ? QStringLiteral("%1 stopped sending for more than %2 s (%3).")
                                          : QStringLiteral("%1 did not answer %3 within %2 s."))
                .arg(where(), QString::number(seconds, 'g', 4), request);
        r.error += m_timeoutHint.isEmpty() ? QStringLiteral(" It may be busy (loading a model?); try again.")
                                           : QLatin1Char(' ') + m_timeoutHint;
    } else if (!p->lineError.isEmpty()) {
        r.kind = HttpErrorKind::NotJson;
        r.error = QStringLiteral("%1 sent something that is not JSON (%2: %3).")
                      .arg(m_service, request, p->lineError);
    } else if (netError == QNetworkReply::OperationCanceledError) {
        r.kind = HttpErrorKind::Cancelled;
        r.error = QStringLiteral("Cancelled: %1 %2.").arg(m_service, request);
    } else if (r.httpStatus >= 400) {
        r.kind = HttpErrorKind::HttpStatus;
        r.body = p->buffer;
        r.error = describeHttpStatus(r.httpStatus, p->buffer) + QStringLiteral(" (%1)").arg(request);
    } else if (netError != QNetworkReply::NoError) {
        r.error = describeNetworkError(reply, *p);
        r.kind = netError == QNetworkReply::ConnectionRefusedError ? HttpErrorKind::ConnectionRefused
                 : netError == QNetworkReply::HostNotFoundError    ? HttpErrorKind::HostNotFound
                 : netError == QNetworkReply::TimeoutError         ? HttpErrorKind::Timeout
                                                                   : HttpErrorKind::Network;
    } else if (p->onLine) {
        // A last line without a newline still counts.
        const QByteArray line = p->buffer.trimmed();
        if (!line.isEmpty()) {
            QJsonParseError err;
            const QJsonDocument doc = QJsonDocument::fromJson(line, &err);
            if (err.error != QJsonParseError::NoError || !doc.isObject()) {
                r.kind = HttpErrorKind::NotJson;
                r.error = QStringLiteral("%1 sent something that is not JSON (%2: the last line began with "
                                         "\"%3\").")
                              .arg(m_service, request, preview(line, 60));
            } else {
                p->lastLine = doc.object();
                p->onLine(p->lastLine);
            }
        }
        if (r.isOk())
            r.json = QJsonDocument(p->lastLine);
    } else {
        r.body = p->buffer;
        if (p->options.expectJson) {
            QJsonParseError err;
            r.json = QJsonDocument::fromJson(r.body, &err);
            if (err.error != QJsonParseError::NoError) {
                r.kind = HttpErrorKind::NotJson;
                r.error =
                    QStringLiteral("%1 sent something that is not JSON (%2: %3 at byte %4; the answer began "
                                   "with \"%5\"). Check that %6 is %1's URL.")
                        .arg(m_service, request, err.errorString(), QString::number(err.offset),
                             preview(r.body, 60), baseText(m_baseUrl));
            }
        }
    }

    if (r.isOk())
        spdlog::debug("{}: {} → HTTP {} ({} bytes, {:.0f} ms)", m_service, request, r.httpStatus, p->received,
                      r.elapsedMs);
    else
        spdlog::info("{}: {} failed: {}", m_service, request, r.error);
    if (p->done)
        p->done(r);
}

QString HttpJson::describeNetworkError(QNetworkReply* reply, const Pending& p) const {
    const QString base = baseText(m_baseUrl);
    switch (reply->error()) {
    case QNetworkReply::ConnectionRefusedError:
        return QStringLiteral("%1 is not running (connection refused). %2, or change the URL in Settings → "
                              "Services.")
            .arg(where(), m_startHint);
    case QNetworkReply::HostNotFoundError:
        return QStringLiteral(
                   "%1 cannot be reached: host '%2' not found. Check the URL in Settings → Services.")
            .arg(where(), m_baseUrl.host());
    case QNetworkReply::RemoteHostClosedError:
        return QStringLiteral("%1 closed the connection without a complete answer to %2 %3. Check that %4 is "
                              "%5's URL, and look at %5's log.")
            .arg(where(), p.method, p.path, base, m_service);
    case QNetworkReply::TimeoutError:
        return QStringLiteral("%1 did not answer %2 %3 in time.").arg(where(), p.method, p.path);
    default:
        return QStringLiteral("%1: %2 %3 failed: %4.").arg(where(), p.method, p.path, reply->errorString());
    }
}

QString HttpJson::describeHttpStatus(int status, const QByteArray& body) const {
    // Ollama says {"error": "..."}, FastAPI {"detail": ...}: show that rather than raw JSON.
    QString detail;
    const QJsonDocument doc = QJsonDocument::fromJson(body);
    if (doc.isObject()) {
        const QJsonObject o = doc.object();
        const QJsonValue v = o.contains(QLatin1String("error")) ? o.value(QLatin1String("error"))
                                                                : o.value(QLatin1String("detail"));
        if (v.isString())
            detail = v.toString();
        else if (!v.isUndefined())
            detail = QString::fromUtf8(
                QJsonDocument(v.isArray() ? QJsonDocument(v.toArray()) : QJsonDocument(v.toObject()))
                    .toJson(QJsonDocument::Compact));
    }
    if (detail.isEmpty())
        detail = QString::fromUtf8(body.left(800)).simplified();
    if (detail.size() > 200)
        detail = detail.left(200) + QStringLiteral("…");
    if (detail.isEmpty())
        detail = QStringLiteral("(no details)");
    return QStringLiteral("%1 answered HTTP %2: %3").arg(m_service, QString::number(status), detail);
}

} // namespace tp::services
