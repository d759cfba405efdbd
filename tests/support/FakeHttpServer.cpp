#include "tests/support/FakeHttpServer.h"

#include <QDateTime>
#include <QHostAddress>
#include <QPointer>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTimer>

namespace tp::test {

namespace {

QByteArray reason(int status) {
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 422:
        return "Unprocessable Entity";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

constexpr qint64 kHugeBlock = 1024 * 1024;

} // namespace

FakeResponse FakeResponse::json(const QJsonObject& o, int status) {
    FakeResponse r;
    r.status = status;
    r.body = QJsonDocument(o).toJson(QJsonDocument::Compact);
    return r;
}

FakeResponse FakeResponse::text(const QByteArray& body, int status, const QByteArray& contentType) {
    FakeResponse r;
    r.status = status;
    r.body = body;
    r.contentType = contentType;
    return r;
}

FakeResponse FakeResponse::stream(const QList<QByteArray>& chunks, int chunkDelayMs,
                                  const QByteArray& contentType) {
    FakeResponse r;
    r.kind = Kind::Stream;
    r.chunks = chunks;
    r.chunkDelayMs = chunkDelayMs;
    r.contentType = contentType;
    return r;
}

FakeResponse FakeResponse::garbage() {
    FakeResponse r;
    r.body = "<html><body><h1>It works!</h1> (this is not JSON)</body></html>";
    return r;
}

FakeResponse FakeResponse::never() {
    FakeResponse r;
    r.kind = Kind::Never;
    return r;
}

FakeResponse FakeResponse::huge(qint64 bytes, bool declareLength) {
    FakeResponse r;
    r.kind = Kind::Huge;
    r.hugeBytes = bytes;
    r.declareLength = declareLength;
    return r;
}

FakeResponse FakeResponse::hangup() {
    FakeResponse r;
    r.kind = Kind::Hangup;
    return r;
}

FakeHttpServer::FakeHttpServer(QObject* parent)
    : QObject(parent)
    , m_server(new QTcpServer(this)) {
    qRegisterMetaType<tp::test::HttpRequest>();
    connect(m_server, &QTcpServer::newConnection, this, &FakeHttpServer::onNewConnection);
}

FakeHttpServer::~FakeHttpServer() = default;

bool FakeHttpServer::listen() {
    return m_server->listen(QHostAddress::LocalHost, 0);
}

quint16 FakeHttpServer::port() const {
    return m_server->serverPort();
}

QUrl FakeHttpServer::url() const {
    return QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port()));
}

void FakeHttpServer::route(const QString& method, const QString& path, Handler handler) {
    m_routes.insert(method + QLatin1Char(' ') + path, std::move(handler));
}

void FakeHttpServer::script(const QString& method, const QString& path, const FakeResponse& response,
                            int times) {
    m_scripts.insert(method + QLatin1Char(' ') + path, Script{response, times});
}

void FakeHttpServer::clearScripts() {
    m_scripts.clear();
}

QStringList FakeHttpServer::requestLines() const {
    QStringList out;
    for (const HttpRequest& r : m_requests)
        out << r.line();
    return out;
}

int FakeHttpServer::openConnections() const {
    return int(m_buffers.size());
}

void FakeHttpServer::onNewConnection() {
    while (QTcpSocket* socket = m_server->nextPendingConnection()) {
        m_buffers.insert(socket, {});
        connect(socket, &QTcpSocket::readyRead, this, [this, socket] { onReadyRead(socket); });
        connect(socket, &QTcpSocket::disconnected, this, [this, socket] {
            m_buffers.remove(socket);
            m_hugeSent.remove(socket);
            socket->deleteLater();
        });
    }
}

void FakeHttpServer::onReadyRead(QTcpSocket* socket) {
    if (!m_buffers.contains(socket))
        return;
    QByteArray& buf = m_buffers[socket];
    buf += socket->readAll();
    const qsizetype headerEnd = buf.indexOf("\r\n\r\n");
    if (headerEnd < 0)
        return;
    const QList<QByteArray> lines = buf.left(headerEnd).split('\n');
    const QList<QByteArray> requestLine = lines.value(0).trimmed().split(' ');
    HttpRequest req;
    req.method = QString::fromLatin1(requestLine.value(0));
    req.path = QString::fromLatin1(requestLine.value(1));
    for (int i = 1; i < lines.size(); ++i) {
        const qsizetype colon = lines[i].indexOf(':');
        if (colon > 0)
            req.headers.insert(lines[i].left(colon).trimmed().toLower(), lines[i].mid(colon + 1).trimmed());
    }
    const qint64 length = req.headers.value("content-length").toLongLong();
    if (buf.size() - (headerEnd + 4) < length)
        return; // the body is still coming
    req.body = buf.mid(headerEnd + 4, length);
    req.receivedAtMs = QDateTime::currentMSecsSinceEpoch();
    buf.clear();
    m_requests << req;
    Q_EMIT requestReceived(req);

    const QString key = req.method + QLatin1Char(' ') + req.path.section(QLatin1Char('?'), 0, 0);
    if (auto it = m_scripts.find(key); it != m_scripts.end()) {
        const FakeResponse r = it->response;
        if (it->times > 0 && --it->times == 0)
            m_scripts.erase(it);
        return answer(socket, r);
    }
    if (auto it = m_routes.constFind(key); it != m_routes.constEnd())
        return answer(socket, it.value()(req));
    answer(socket, FakeResponse::text("404 page not found", 404));
}

void FakeHttpServer::answer(QTcpSocket* socket, const FakeResponse& r) {
    if (r.delayMs > 0) {
        QPointer<QTcpSocket> s(socket);
        QTimer::singleShot(r.delayMs, this, [this, s, r] {
            if (s && s->state() == QAbstractSocket::ConnectedState)
                send(s, r);
        });
        return;
    }
    send(socket, r);
}

void FakeHttpServer::send(QTcpSocket* socket, const FakeResponse& r) {
    const QByteArray status = "HTTP/1.1 " + QByteArray::number(r.status) + ' ' + reason(r.status) + "\r\n";
    switch (r.kind) {
    case FakeResponse::Kind::Never:
        return;
    case FakeResponse::Kind::Hangup:
        socket->disconnectFromHost();
        return;
    case FakeResponse::Kind::Normal:
        socket->write(status + "Content-Type: " + r.contentType + "\r\nContent-Length: " +
                      QByteArray::number(r.body.size()) + "\r\nConnection: close\r\n\r\n" + r.body);
        socket->disconnectFromHost(); // after the pending bytes are written
        return;
    case FakeResponse::Kind::Stream: {
        socket->write(status + "Content-Type: " + r.contentType +
                      "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
        socket->flush();
        QPointer<QTcpSocket> s(socket);
        for (int i = 0; i <= r.chunks.size(); ++i) {
            const bool last = i == r.chunks.size();
            const QByteArray data = last ? QByteArray() : r.chunks[i];
            QTimer::singleShot(r.chunkDelayMs * (i + 1), this, [s, data, last] {
                if (!s || s->state() != QAbstractSocket::ConnectedState)
                    return;
                if (last) {
                    s->write("0\r\n\r\n");
                    s->disconnectFromHost();
                } else {
                    s->write(QByteArray::number(data.size(), 16) + "\r\n" + data + "\r\n");
                    s->flush();
                }
            });
        }
        return;
    }
    case FakeResponse::Kind::Huge: {
        QByteArray head = status + "Content-Type: application/json\r\n";
        if (r.declareLength)
            head += "Content-Length: " + QByteArray::number(r.hugeBytes) + "\r\n";
        socket->write(head + "Connection: close\r\n\r\n");
        m_hugeSent.insert(socket, 0);
        const qint64 total = r.hugeBytes;
        connect(socket, &QTcpSocket::bytesWritten, this, [this, socket, total] { pumpHuge(socket, total); });
        pumpHuge(socket, total);
        return;
    }
    }
}

void FakeHttpServer::pumpHuge(QTcpSocket* socket, qint64 total) {
    if (!m_hugeSent.contains(socket) || socket->state() != QAbstractSocket::ConnectedState)
        return;
    qint64& sent = m_hugeSent[socket];
    // Write only as fast as the client reads: a client that stops reading stops us.
    while (sent < total && socket->bytesToWrite() < kHugeBlock) {
        const qint64 n = std::min(kHugeBlock, total - sent);
        socket->write(QByteArray(int(n), ' '));
        sent += n;
        m_hugeWritten += n;
    }
    if (sent >= total) {
        m_hugeSent.remove(socket);
        socket->disconnectFromHost();
    }
}

} // namespace tp::test
