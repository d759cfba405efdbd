// HttpJson: timeouts, size limits, cancellation and the messages people read, against
// a local fake server (and a port where nothing listens).
#include "core/services/HttpJson.h"
#include "core/services/OllamaClient.h"
#include "core/services/TwistedPairClient.h"
#include "tests/support/FakeOllamaServer.h"

#include <QElapsedTimer>
#include <QTcpServer>
#include <QtTest>

#include <memory>
#include <optional>

using namespace tp;
using namespace tp::services;
using namespace tp::test;

namespace {

// A port that was free a moment ago: nothing listens there.
quint16 deadPort() {
    QTcpServer s;
    s.listen(QHostAddress::LocalHost, 0);
    const quint16 port = s.serverPort();
    s.close();
    return port;
}

struct Caught {
    bool done = false;
    int calls = 0;
    HttpReply reply;
};

HttpJson::Callback catcher(const std::shared_ptr<Caught>& c) {
    return [c](const HttpReply& r) {
        c->done = true;
        ++c->calls;
        c->reply = r;
    };
}

} // namespace

class TestServicesHttp final : public QObject {
    Q_OBJECT

    std::unique_ptr<FakeOllamaServer> m_server;
    std::unique_ptr<HttpJson> m_http;

private Q_SLOTS:
    void init() {
        m_server = std::make_unique<FakeOllamaServer>();
        QVERIFY(m_server->listen());
        m_http = std::make_unique<HttpJson>(QStringLiteral("Ollama"), m_server->url(),
                                            QStringLiteral("Start it with `ollama serve`"));
    }
    void cleanup() {
        m_http.reset();
        m_server.reset();
    }

    void getJson() {
        m_server->setInstalled({FakeOllamaServer::tagEntry(QStringLiteral("llama3.2:latest"), 2019393189)});
        auto c = std::make_shared<Caught>();
        m_http->get(QStringLiteral("/api/tags"), catcher(c));
        QTRY_VERIFY(c->done);
        QVERIFY2(c->reply.isOk(), qPrintable(c->reply.error));
        QCOMPARE(c->reply.httpStatus, 200);
        QCOMPARE(c->reply.json.object().value(QLatin1String("models")).toArray().size(), 1);
        QCOMPARE(m_server->requestLines(), QStringList{QStringLiteral("GET /api/tags")});
        QCOMPARE(m_server->requests().first().headers.value("accept"), QByteArray("application/json"));
    }

    void postSendsJsonBody() {
        auto c = std::make_shared<Caught>();
        m_http->post(QStringLiteral("/api/generate"),
                     {{QStringLiteral("model"), QStringLiteral("m")}, {QStringLiteral("keep_alive"), 0}},
                     catcher(c));
        QTRY_VERIFY(c->done);
        const HttpRequest req = m_server->requests().first();
        QCOMPARE(req.headers.value("content-type"), QByteArray("application/json"));
        QCOMPARE(req.json(), (QJsonObject{{QStringLiteral("model"), QStringLiteral("m")},
                                          {QStringLiteral("keep_alive"), 0}}));
    }

    void connectionRefused() {
        const quint16 port = deadPort();
        OllamaClient ollama(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)));
        std::optional<Result<QVector<OllamaModel>>> got;
        ollama.installedModels([&](const Result<QVector<OllamaModel>>& r) { got = r; });
        QTRY_VERIFY(got.has_value());
        QVERIFY(!got->isOk());
        QCOMPARE(got->error(),
                 QStringLiteral("Ollama at http://127.0.0.1:%1 is not running (connection refused). "
                                "Start it with `ollama serve`, or change the URL in Settings → "
                                "Services.")
                     .arg(port));

        TwistedPairClient tp(QUrl(QStringLiteral("http://127.0.0.1:%1/").arg(port)));
        std::optional<tp::Status> health;
        tp.health([&](tp::Status s) { health = s; });
        QTRY_VERIFY(health.has_value());
        QVERIFY(health->error().startsWith(
            QStringLiteral(
                "TwistedPair at http://127.0.0.1:%1 is not running (connection refused). Start it in "
                "TwistedPair's V2 folder with `uvicorn server:app --port 8001`")
                .arg(port)));
    }

    void timeout() {
        m_server->script(QStringLiteral("GET"), QStringLiteral("/api/tags"), FakeResponse::never());
        auto c = std::make_shared<Caught>();
        HttpJson::Options o;
        o.timeoutMs = 300;
        QElapsedTimer clock;
        clock.start();
        m_http->get(QStringLiteral("/api/tags"), catcher(c), o);
        QTRY_VERIFY_WITH_TIMEOUT(c->done, 5000);
        QCOMPARE(c->reply.kind, HttpErrorKind::Timeout);
        QVERIFY(clock.elapsed() >= 290);
        QVERIFY2(clock.elapsed() < 3000, "the time limit did not stop the request");
        QVERIFY2(c->reply.error.startsWith(
                     QStringLiteral("Ollama at %1 did not answer GET /api/tags within 0.3 s.")
                         .arg(m_server->url().toString())),
                 qPrintable(c->reply.error));
        QTRY_COMPARE(m_server->openConnections(), 0); // the connection was dropped, not left hanging
    }

    void streamTimeoutIsOnSilence() {
        // 6 lines 150 ms apart = 900 ms in all, longer than the 400 ms limit, but never
        // silent for 400 ms: the stream must complete.
        QList<QByteArray> lines;
        for (int i = 0; i < 5; ++i)
            lines << QByteArray("{\"response\":\"x\",\"done\":false}\n");
        lines << QByteArray("{\"response\":\"\",\"done\":true}\n");
        m_server->script(QStringLiteral("POST"), QStringLiteral("/s"), FakeResponse::stream(lines, 150));
        auto c = std::make_shared<Caught>();
        int seen = 0;
        HttpJson::Options o;
        o.timeoutMs = 400;
        m_http->postStream(
            QStringLiteral("/s"), {}, [&](const QJsonObject&) { ++seen; }, catcher(c), o);
        QTRY_VERIFY_WITH_TIMEOUT(c->done, 5000);
        QVERIFY2(c->reply.isOk(), qPrintable(c->reply.error));
        QCOMPARE(seen, 6);
        QCOMPARE(c->reply.json.object().value(QLatin1String("done")).toBool(), true);
    }

    void garbageBody() {
        m_server->script(QStringLiteral("GET"), QStringLiteral("/api/tags"), FakeResponse::garbage());
        auto c = std::make_shared<Caught>();
        m_http->get(QStringLiteral("/api/tags"), catcher(c));
        QTRY_VERIFY(c->done);
        QCOMPARE(c->reply.kind, HttpErrorKind::NotJson);
        QVERIFY2(c->reply.error.startsWith(
                     QStringLiteral("Ollama sent something that is not JSON (GET /api/tags: ")),
                 qPrintable(c->reply.error));
        QVERIFY(c->reply.error.contains(QStringLiteral("began with \"<html><body><h1>It works!")));
    }

    void garbageLineInStream() {
        m_server->script(
            QStringLiteral("POST"), QStringLiteral("/s"),
            FakeResponse::stream(
                {"{\"response\":\"a\",\"done\":false}\n", "oops not json\n", "{\"done\":true}\n"}, 10));
        auto c = std::make_shared<Caught>();
        int seen = 0;
        m_http->postStream(QStringLiteral("/s"), {}, [&](const QJsonObject&) { ++seen; }, catcher(c), {});
        QTRY_VERIFY(c->done);
        QCOMPARE(seen, 1);
        QCOMPARE(c->reply.kind, HttpErrorKind::NotJson);
        QVERIFY(c->reply.error.contains(QStringLiteral("the line began with \"oops not json\"")));
    }

    void httpStatus500() {
        m_server->script(QStringLiteral("GET"), QStringLiteral("/api/tags"),
                         FakeResponse::text(QByteArray(300, 'z').prepend("boom "), 500));
        auto c = std::make_shared<Caught>();
        m_http->get(QStringLiteral("/api/tags"), catcher(c));
        QTRY_VERIFY(c->done);
        QCOMPARE(c->reply.kind, HttpErrorKind::HttpStatus);
        QCOMPARE(c->reply.httpStatus, 500);
        // First 200 characters of the body, then where.
        QCOMPARE(c->reply.error, QStringLiteral("Ollama answered HTTP 500: boom ") +
                                     QString(195, QLatin1Char('z')) + QStringLiteral("… (GET /api/tags)"));
    }

    void httpStatusWithJsonError() {
        m_server->script(
            QStringLiteral("POST"), QStringLiteral("/api/generate"),
            FakeResponse::json({{QStringLiteral("error"), QStringLiteral("model 'x' not found")}}, 404));
        auto c = std::make_shared<Caught>();
        m_http->post(QStringLiteral("/api/generate"), {}, catcher(c));
        QTRY_VERIFY(c->done);
        QCOMPARE(c->reply.error,
                 QStringLiteral("Ollama answered HTTP 404: model 'x' not found (POST /api/generate)"));
        QVERIFY(c->reply.body.contains("not found"));
    }

    void sizeLimitDeclaredLength() {
        m_server->script(QStringLiteral("GET"), QStringLiteral("/api/tags"),
                         FakeResponse::huge(50LL * 1024 * 1024));
        auto c = std::make_shared<Caught>();
        m_http->get(QStringLiteral("/api/tags"), catcher(c));
        QTRY_VERIFY_WITH_TIMEOUT(c->done, 10000);
        QCOMPARE(c->reply.kind, HttpErrorKind::TooLarge);
        QVERIFY2(c->reply.error.contains(
                     QStringLiteral("answer larger than 8 MiB to GET /api/tags, stopped reading")),
                 qPrintable(c->reply.error));
    }

    void sizeLimitCountsBytesWithoutLength() {
        // No Content-Length: only counting what arrives can stop it.
        m_server->script(QStringLiteral("GET"), QStringLiteral("/api/tags"),
                         FakeResponse::huge(50LL * 1024 * 1024, false));
        auto c = std::make_shared<Caught>();
        QElapsedTimer clock;
        clock.start();
        m_http->get(QStringLiteral("/api/tags"), catcher(c));
        QTRY_VERIFY_WITH_TIMEOUT(c->done, 20000);
        QCOMPARE(c->reply.kind, HttpErrorKind::TooLarge);
        QVERIFY(c->reply.error.contains(QStringLiteral("larger than 8 MiB")));
        QVERIFY(c->reply.body.isEmpty());
        QTRY_COMPARE(m_server->openConnections(), 0);
        // The server writes only as fast as we read: it must have stopped far short of 50 MB.
        QVERIFY2(m_server->hugeBytesWritten() < 30LL * 1024 * 1024,
                 qPrintable(QString::number(m_server->hugeBytesWritten())));
        qInfo("stopped after %lld ms, server wrote %lld bytes", clock.elapsed(),
              m_server->hugeBytesWritten());
    }

    void sizeLimitCountsWholeStream() {
        QList<QByteArray> lines;
        for (int i = 0; i < 40; ++i)
            lines << "{\"response\":\"" + QByteArray(100, 'a') + "\",\"done\":false}\n";
        m_server->script(QStringLiteral("POST"), QStringLiteral("/s"), FakeResponse::stream(lines, 1));
        auto c = std::make_shared<Caught>();
        int seen = 0;
        HttpJson::Options o;
        o.maxBytes = 2048;
        m_http->postStream(
            QStringLiteral("/s"), {}, [&](const QJsonObject&) { ++seen; }, catcher(c), o);
        QTRY_VERIFY(c->done);
        QCOMPARE(c->reply.kind, HttpErrorKind::TooLarge);
        QVERIFY(c->reply.error.contains(QStringLiteral("larger than 2 KiB")));
        QVERIFY(seen > 0 && seen < 40);
    }

    void cancellation() {
        m_server->script(QStringLiteral("GET"), QStringLiteral("/api/tags"), FakeResponse::never());
        auto c = std::make_shared<Caught>();
        RequestHandle h = m_http->get(QStringLiteral("/api/tags"), catcher(c));
        QTRY_COMPARE(m_server->requests().size(), 1);
        QVERIFY(h.isRunning());
        QCOMPARE(m_http->requestsInFlight(), 1);
        h.cancel();
        QTRY_VERIFY(c->done);
        QCOMPARE(c->reply.kind, HttpErrorKind::Cancelled);
        QCOMPARE(c->reply.error, QStringLiteral("Cancelled: Ollama GET /api/tags."));
        QVERIFY(!h.isRunning());
        h.cancel(); // harmless now
        QTest::qWait(50);
        QCOMPARE(c->calls, 1);
        QCOMPARE(m_http->requestsInFlight(), 0);
        QTRY_COMPARE(m_server->openConnections(), 0);
    }

    void cancelAllAndDestruction() {
        m_server->script(QStringLiteral("GET"), QStringLiteral("/api/ps"), FakeResponse::never());
        auto a = std::make_shared<Caught>();
        auto b = std::make_shared<Caught>();
        m_http->get(QStringLiteral("/api/ps"), catcher(a));
        m_http->get(QStringLiteral("/api/ps"), catcher(b));
        QTRY_COMPARE(m_server->requests().size(), 2);
        m_http->cancelAll();
        QTRY_VERIFY(a->done && b->done);
        QCOMPARE(a->reply.kind, HttpErrorKind::Cancelled);

        // A client destroyed with a request in flight never calls back.
        auto c = std::make_shared<Caught>();
        m_http->get(QStringLiteral("/api/ps"), catcher(c));
        QTRY_COMPARE(m_server->requests().size(), 3);
        m_http.reset();
        QTest::qWait(100);
        QVERIFY(!c->done);
        QTRY_COMPARE(m_server->openConnections(), 0);
    }

    void hangup() {
        m_server->script(QStringLiteral("GET"), QStringLiteral("/api/version"), FakeResponse::hangup());
        auto c = std::make_shared<Caught>();
        m_http->get(QStringLiteral("/api/version"), catcher(c));
        QTRY_VERIFY(c->done);
        QCOMPARE(c->reply.kind, HttpErrorKind::Network);
        QVERIFY2(
            c->reply.error.contains(QStringLiteral("closed the connection without a complete answer to GET "
                                                   "/api/version")),
            qPrintable(c->reply.error));
    }

    void baseUrlWithPathPrefixAndSlash() {
        m_http->setBaseUrl(QUrl(m_server->url().toString() + QStringLiteral("/")));
        auto c = std::make_shared<Caught>();
        m_http->get(QStringLiteral("/api/version"), catcher(c));
        QTRY_VERIFY(c->done);
        QVERIFY(c->reply.isOk());
        QCOMPARE(m_server->requestLines(), QStringList{QStringLiteral("GET /api/version")});
        QCOMPARE(m_http->where(), QStringLiteral("Ollama at ") + m_server->url().toString());
    }
};

QTEST_GUILESS_MAIN(TestServicesHttp)
#include "tst_services_http.moc"
