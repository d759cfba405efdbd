#pragma once

#include <QByteArray>
#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QList>
#include <QObject>
#include <QString>
#include <QUrl>
#include <QVector>

#include <functional>

class QTcpServer;
class QTcpSocket;

namespace tp::test {

// One request as the fake server received it.
struct HttpRequest {
    QString method;
    QString path;                          // with the query, as sent
    QHash<QByteArray, QByteArray> headers; // names in lower case
    QByteArray body;
    qint64 receivedAtMs = 0;

    QJsonObject json() const { return QJsonDocument::fromJson(body).object(); }
    QString line() const { return method + QLatin1Char(' ') + path; } // "POST /api/generate"
};

// How to answer a request.
struct FakeResponse {
    enum class Kind {
        Normal, // status + body, Content-Length, then close
        Stream, // chunked transfer: each chunk after `chunkDelayMs`
        Never,  // keep the connection open and say nothing (timeouts)
        Huge,   // `hugeBytes` of filler, written as the client reads
        Hangup, // close the connection without a word
    };
    Kind kind = Kind::Normal;
    int status = 200;
    QByteArray contentType = "application/json; charset=utf-8";
    QByteArray body;
    QList<QByteArray> chunks;
    int chunkDelayMs = 0;
    qint64 hugeBytes = 0;
    bool declareLength = true; // Huge: send Content-Length (false: the close ends it)
    int delayMs = 0;           // wait before answering

    static FakeResponse json(const QJsonObject& o, int status = 200);
    static FakeResponse text(const QByteArray& body, int status = 200,
                             const QByteArray& contentType = "text/plain; charset=utf-8");
    static FakeResponse stream(const QList<QByteArray>& chunks, int chunkDelayMs,
                               const QByteArray& contentType = "application/x-ndjson");
    static FakeResponse garbage(); // 200, "application/json", but HTML
    static FakeResponse never();
    static FakeResponse huge(qint64 bytes, bool declareLength = true);
    static FakeResponse hangup();
    FakeResponse delayed(int ms) const {
        FakeResponse r = *this;
        r.delayMs = ms;
        return r;
    }
};

// A tiny HTTP/1.1 server on 127.0.0.1 (random port) for tests: routes by method and
// path, one request per connection (answers close the connection), records every
// request in order, and can be scripted to misbehave per route.
class FakeHttpServer : public QObject {
    Q_OBJECT
public:
    using Handler = std::function<FakeResponse(const HttpRequest&)>;

    explicit FakeHttpServer(QObject* parent = nullptr);
    ~FakeHttpServer() override;

    bool listen();
    quint16 port() const;
    QUrl url() const; // http://127.0.0.1:PORT

    void route(const QString& method, const QString& path, Handler handler);
    // Answers `method path` with `response` the next `times` times (-1: until cleared),
    // ahead of the route.
    void script(const QString& method, const QString& path, const FakeResponse& response, int times = -1);
    void clearScripts();

    QVector<HttpRequest> requests() const { return m_requests; }
    QStringList requestLines() const;
    void clearRequests() { m_requests.clear(); }
    int openConnections() const;
    // Bytes of Huge answers actually written (to check that the client stopped reading).
    qint64 hugeBytesWritten() const { return m_hugeWritten; }

Q_SIGNALS:
    void requestReceived(const tp::test::HttpRequest& request);

private:
    struct Script {
        FakeResponse response;
        int times = -1;
    };
    void onNewConnection();
    void onReadyRead(QTcpSocket* socket);
    void answer(QTcpSocket* socket, const FakeResponse& r);
    void send(QTcpSocket* socket, const FakeResponse& r);
    void pumpHuge(QTcpSocket* socket, qint64 total);

    QTcpServer* m_server = nullptr;
    QHash<QString, Handler> m_routes; // "GET /api/tags"
    QHash<QString, Script> m_scripts;
    QHash<QTcpSocket*, QByteArray> m_buffers;
    QHash<QTcpSocket*, qint64> m_hugeSent;
    QVector<HttpRequest> m_requests;
    qint64 m_hugeWritten = 0;
};

} // namespace tp::test

Q_DECLARE_METATYPE(tp::test::HttpRequest)
