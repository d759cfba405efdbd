// OllamaClient and TwistedPairClient against fakes that speak the real JSON shapes.
#include "core/services/Format.h"
#include "core/services/OllamaClient.h"
#include "core/services/ServiceStatus.h"
#include "core/services/TwistedPairClient.h"
#include "tests/support/FakeOllamaServer.h"
#include "tests/support/FakeTwistedPairServer.h"

#include <QSignalSpy>
#include <QtTest>

#include <optional>

using namespace tp;
using namespace tp::services;
using namespace tp::test;

namespace {
constexpr qint64 GiB = 1024LL * 1024 * 1024;
}

class TestServicesClients final : public QObject {
    Q_OBJECT

    std::unique_ptr<FakeOllamaServer> m_ollamaServer;
    std::unique_ptr<FakeTwistedPairServer> m_tpServer;
    std::unique_ptr<OllamaClient> m_ollama;
    std::unique_ptr<TwistedPairClient> m_tp;

    template <typename T> static std::function<void(const T&)> into(std::optional<T>& slot) {
        return [&slot](const T& v) { slot = v; };
    }

private Q_SLOTS:
    void init() {
        m_ollamaServer = std::make_unique<FakeOllamaServer>();
        m_tpServer = std::make_unique<FakeTwistedPairServer>();
        QVERIFY(m_ollamaServer->listen());
        QVERIFY(m_tpServer->listen());
        m_ollama = std::make_unique<OllamaClient>(m_ollamaServer->url());
        m_tp = std::make_unique<TwistedPairClient>(m_tpServer->url());
    }
    void cleanup() {
        m_ollama.reset();
        m_tp.reset();
        m_ollamaServer.reset();
        m_tpServer.reset();
    }

    // --- Ollama ---------------------------------------------------------------

    void ollamaHealthAndVersion() {
        std::optional<Status> health;
        m_ollama->health(into(health));
        QTRY_VERIFY(health.has_value());
        QVERIFY2(health->isOk(), qPrintable(health->error()));

        m_ollamaServer->setVersion(QStringLiteral("0.12.3"));
        std::optional<Result<QString>> version;
        m_ollama->version(into(version));
        QTRY_VERIFY(version.has_value());
        QCOMPARE(version->value(), QStringLiteral("0.12.3"));

        // Something else answering on the port is not Ollama.
        m_ollamaServer->script(QStringLiteral("GET"), QStringLiteral("/"),
                               FakeResponse::text("Welcome to nginx!"));
        health.reset();
        m_ollama->health(into(health));
        QTRY_VERIFY(health.has_value());
        QVERIFY(!health->isOk());
        QVERIFY(health->error().contains(
            QStringLiteral("answered, but not like Ollama (\"Welcome to nginx!\")")));
    }

    void ollamaTags() {
        m_ollamaServer->setInstalled(
            {FakeOllamaServer::tagEntry(QStringLiteral("llama3.2:latest"), 2019393189,
                                        QStringLiteral("llama"), QStringLiteral("3.2B"),
                                        QStringLiteral("Q4_K_M")),
             FakeOllamaServer::tagEntry(QStringLiteral("mistral:latest"), 4113301824)});
        std::optional<Result<QVector<OllamaModel>>> got;
        m_ollama->installedModels(into(got));
        QTRY_VERIFY(got.has_value());
        QVERIFY2(got->isOk(), qPrintable(got->error()));
        QCOMPARE(got->value().size(), 2);
        const OllamaModel& m = got->value().first();
        QCOMPARE(m.name, QStringLiteral("llama3.2:latest"));
        QCOMPARE(m.size, qint64(2019393189));
        QCOMPARE(m.family, QStringLiteral("llama"));
        QCOMPARE(m.parameterSize, QStringLiteral("3.2B"));
        QCOMPARE(m.quantizationLevel, QStringLiteral("Q4_K_M"));
        QCOMPARE(m.format, QStringLiteral("gguf"));
        // 2025-05-04T17:37:44.706015396-07:00
        QCOMPARE(m.modifiedAt.toUTC(), QDateTime(QDate(2025, 5, 5), QTime(0, 37, 44, 706), QTimeZone::utc()));
    }

    void ollamaTagsWrongShape() {
        m_ollamaServer->script(QStringLiteral("GET"), QStringLiteral("/api/tags"),
                               FakeResponse::json({{QStringLiteral("tags"), QJsonArray()}}));
        std::optional<Result<QVector<OllamaModel>>> got;
        m_ollama->installedModels(into(got));
        QTRY_VERIFY(got.has_value());
        QVERIFY(!got->isOk());
        QVERIFY(got->error().contains(QStringLiteral("no \"models\" list")));
    }

    void ollamaPsFullAndPartial() {
        const QDateTime expires = QDateTime::currentDateTimeUtc().addSecs(240);
        m_ollamaServer->setLoaded(
            {FakeOllamaServer::psEntry(QStringLiteral("mistral:latest"), 5137025024, 5137025024, expires),
             // 38% on the CPU: size_vram = 62% of size
             FakeOllamaServer::psEntry(QStringLiteral("llama3.1:8b"), 10 * GiB, qint64(6.2 * GiB)),
             FakeOllamaServer::psEntry(QStringLiteral("tiny:cpu"), 1 * GiB, 0)});
        std::optional<Result<QVector<OllamaLoadedModel>>> got;
        m_ollama->loadedModels(into(got));
        QTRY_VERIFY(got.has_value());
        QVERIFY2(got->isOk(), qPrintable(got->error()));
        const QVector<OllamaLoadedModel> ms = got->value();
        QCOMPARE(ms.size(), 3);
        QCOMPARE(ms[0].sizeVram, qint64(5137025024));
        QCOMPARE(ms[0].gpuPercent(), 100);
        QVERIFY(!ms[0].partlyOnCpu());
        QCOMPARE(ms[0].processor(), QStringLiteral("100% GPU"));
        QCOMPARE(ms[0].shareText(), QStringLiteral("mistral:latest — 100% GPU"));
        QVERIFY(qAbs(ms[0].expiresAt.secsTo(expires)) <= 1);
        QCOMPARE(ms[0].contextLength, 4096);

        QVERIFY(ms[1].partlyOnCpu());
        QCOMPARE(ms[1].gpuPercent(), 62);
        QCOMPARE(ms[1].processor(), QStringLiteral("38%/62% CPU/GPU"));
        QCOMPARE(ms[1].shareText(), QStringLiteral("llama3.1:8b — 38% CPU / 62% GPU"));

        QCOMPARE(ms[2].processor(), QStringLiteral("100% CPU"));
        QCOMPARE(ms[2].shareText(), QStringLiteral("tiny:cpu — 100% CPU"));
    }

    void processorRoundsLikeOllamaPs_data() {
        QTest::addColumn<qint64>("size");
        QTest::addColumn<qint64>("vram");
        QTest::addColumn<QString>("processor");
        // cmd.go: cpu = round((size-vram)/size*100), gpu = 100-cpu; "Unknown" when vram > size.
        QTest::newRow("48/52") << qint64(1000) << qint64(520) << QStringLiteral("48%/52% CPU/GPU");
        QTest::newRow("round half up") << qint64(1000) << qint64(995) << QStringLiteral("1%/99% CPU/GPU");
        QTest::newRow("tiny cpu share") << qint64(1000) << qint64(999) << QStringLiteral("0%/100% CPU/GPU");
        QTest::newRow("all gpu") << qint64(1000) << qint64(1000) << QStringLiteral("100% GPU");
        QTest::newRow("all cpu") << qint64(1000) << qint64(0) << QStringLiteral("100% CPU");
        QTest::newRow("vram > size") << qint64(1000) << qint64(1001) << QStringLiteral("Unknown");
    }
    void processorRoundsLikeOllamaPs() {
        QFETCH(qint64, size);
        QFETCH(qint64, vram);
        QFETCH(QString, processor);
        OllamaLoadedModel m;
        m.size = size;
        m.sizeVram = vram;
        QCOMPARE(m.processor(), processor);
    }

    void rfc3339() {
        QCOMPARE(parseRfc3339(QStringLiteral("2024-06-04T14:38:31.83753-07:00")).toUTC(),
                 QDateTime(QDate(2024, 6, 4), QTime(21, 38, 31, 837), QTimeZone::utc()));
        QCOMPARE(parseRfc3339(QStringLiteral("2024-06-04T14:38:31Z")).toUTC(),
                 QDateTime(QDate(2024, 6, 4), QTime(14, 38, 31), QTimeZone::utc()));
        QVERIFY(!parseRfc3339(QStringLiteral("yesterday")).isValid());
        QCOMPARE(formatBytes(512LL * 1024 * 1024), QStringLiteral("512 MiB"));
        QCOMPARE(formatBytes(5137025024), QStringLiteral("4.8 GiB"));
    }

    void generateNonStreaming() {
        m_ollamaServer->setGenerateText(QStringLiteral("neon rain, wet asphalt"));
        GenerateOptions o;
        o.temperature = 0.3;
        o.numPredict = 150;
        o.keepAlive = QStringLiteral("5m");
        std::optional<Result<GenerateResult>> got;
        m_ollama->generate(QStringLiteral("mistral:latest"), QStringLiteral("Describe"), o, into(got));
        QTRY_VERIFY(got.has_value());
        QVERIFY2(got->isOk(), qPrintable(got->error()));
        QCOMPARE(got->value().response, QStringLiteral("neon rain, wet asphalt"));
        QCOMPARE(got->value().doneReason, QStringLiteral("stop"));
        QCOMPARE(got->value().totalDurationNs, qint64(5043500667LL));
        QCOMPARE(got->value().evalCount, qint64(290));
        QCOMPARE(got->value().promptEvalCount, qint64(26));
        QVERIFY(got->value().wallMs > 0);
        const QJsonObject body = m_ollamaServer->requests().last().json();
        QCOMPARE(body,
                 (QJsonObject{{QStringLiteral("model"), QStringLiteral("mistral:latest")},
                              {QStringLiteral("prompt"), QStringLiteral("Describe")},
                              {QStringLiteral("stream"), false},
                              {QStringLiteral("options"), QJsonObject{{QStringLiteral("temperature"), 0.3},
                                                                      {QStringLiteral("num_predict"), 150}}},
                              {QStringLiteral("keep_alive"), QStringLiteral("5m")}}));
    }

    void generateStreaming() {
        m_ollamaServer->setStreamChunks({QStringLiteral("neon "), QStringLiteral("rain, "),
                                         QStringLiteral("wet "), QStringLiteral("asphalt")},
                                        80);
        QStringList chunks;
        QVector<qint64> chunkTimes;
        QElapsedTimer clock;
        clock.start();
        std::optional<Result<GenerateResult>> got;
        qint64 doneAt = -1;
        m_ollama->generateStream(
            QStringLiteral("mistral:latest"), QStringLiteral("Describe"), {},
            [&](const QString& c) {
                chunks << c;
                chunkTimes << clock.elapsed();
            },
            [&](const Result<GenerateResult>& r) {
                got = r;
                doneAt = clock.elapsed();
            });
        QTRY_VERIFY_WITH_TIMEOUT(got.has_value(), 5000);
        QVERIFY2(got->isOk(), qPrintable(got->error()));
        QCOMPARE(chunks, (QStringList{QStringLiteral("neon "), QStringLiteral("rain, "),
                                      QStringLiteral("wet "), QStringLiteral("asphalt")}));
        // Signalled as they arrive, not all at the end.
        QVERIFY2(chunkTimes.first() + 150 < doneAt,
                 qPrintable(QStringLiteral("first %1 ms, done %2 ms").arg(chunkTimes.first()).arg(doneAt)));
        QCOMPARE(got->value().response, QStringLiteral("neon rain, wet asphalt"));
        QCOMPARE(got->value().doneReason, QStringLiteral("stop"));
        QCOMPARE(got->value().evalDurationNs, qint64(4709213000LL));
        QCOMPARE(m_ollamaServer->requests().last().json().value(QLatin1String("stream")).toBool(false), true);
    }

    void generateErrorInStream() {
        m_ollamaServer->script(QStringLiteral("POST"), QStringLiteral("/api/generate"),
                               FakeResponse::stream({"{\"response\":\"a\",\"done\":false}\n",
                                                     "{\"error\":\"llama runner process has terminated\"}\n"},
                                                    5));
        std::optional<Result<GenerateResult>> got;
        m_ollama->generateStream(QStringLiteral("m"), QStringLiteral("p"), {}, {}, into(got));
        QTRY_VERIFY(got.has_value());
        QVERIFY(!got->isOk());
        QCOMPARE(got->error(), QStringLiteral("Ollama could not run m: llama runner process has terminated"));
    }

    void generateUnknownModel() {
        m_ollamaServer->setInstalled({FakeOllamaServer::tagEntry(QStringLiteral("mistral:latest"), 1)});
        std::optional<Result<GenerateResult>> got;
        m_ollama->generate(QStringLiteral("nosuch:latest"), QStringLiteral("p"), {}, into(got));
        QTRY_VERIFY(got.has_value());
        QCOMPARE(got->error(),
                 QStringLiteral("Ollama answered HTTP 404: model 'nosuch:latest' not found (POST "
                                "/api/generate)"));
    }

    void unloadSendsExactBody() {
        m_ollamaServer->setLoaded(
            {FakeOllamaServer::psEntry(QStringLiteral("mistral:latest"), 5 * GiB, 3 * GiB)});
        std::optional<Result<GenerateResult>> got;
        m_ollama->unload(QStringLiteral("mistral:latest"), into(got));
        QTRY_VERIFY(got.has_value());
        QVERIFY2(got->isOk(), qPrintable(got->error()));
        QCOMPARE(got->value().doneReason, QStringLiteral("unload"));
        const HttpRequest req = m_ollamaServer->requests().last();
        QCOMPARE(req.line(), QStringLiteral("POST /api/generate"));
        QCOMPARE(req.json(), (QJsonObject{{QStringLiteral("model"), QStringLiteral("mistral:latest")},
                                          {QStringLiteral("keep_alive"), 0}}));
        QCOMPARE(req.json().value(QLatin1String("keep_alive")).type(), QJsonValue::Double);
        QVERIFY(m_ollamaServer->loaded().isEmpty());
    }

    // --- TwistedPair --------------------------------------------------------------

    void twistedPairHealth() {
        std::optional<Status> health;
        m_tp->health(into(health));
        QTRY_VERIFY(health.has_value());
        QVERIFY2(health->isOk(), qPrintable(health->error()));

        m_tpServer->script(QStringLiteral("GET"), QStringLiteral("/health"),
                           FakeResponse::text("Not Found", 404));
        health.reset();
        m_tp->health(into(health));
        QTRY_VERIFY(health.has_value());
        QVERIFY(health->error().contains(QStringLiteral("has no /health: TwistedPic needs TwistedPair V2")));
    }

    void knobsV2ShapeFallsBackForGain() {
        std::optional<Result<TwistedPairKnobs>> got;
        m_tp->knobs(into(got));
        QTRY_VERIFY(got.has_value());
        QVERIFY(got->isOk());
        QCOMPARE(got->value().modes, FakeTwistedPairServer::modes());
        QCOMPARE(got->value().tones, FakeTwistedPairServer::tones());
        QCOMPARE(got->value().gainMin, 1);
        QCOMPARE(got->value().gainMax, 10);
        QCOMPARE(got->value().notes,
                 QStringList{
                     QStringLiteral("TwistedPair's /knobs gives no usable gain range; using the documented "
                                    "1..10.")});
    }

    void knobsParsedDefensively() {
        // A richer answer: objects for modes, an explicit gain range, no tones.
        m_tpServer->setKnobs(
            {{QStringLiteral("modes"),
              QJsonArray{QJsonObject{{QStringLiteral("value"), QStringLiteral("echo_er")}},
                         QStringLiteral("new_er")}},
             {QStringLiteral("gain"), QJsonObject{{QStringLiteral("min"), 0}, {QStringLiteral("max"), 20}}}});
        std::optional<Result<TwistedPairKnobs>> got;
        m_tp->knobs(into(got));
        QTRY_VERIFY(got.has_value());
        const TwistedPairKnobs k = got->value();
        QCOMPARE(k.modes, (QStringList{QStringLiteral("echo_er"), QStringLiteral("new_er")}));
        QCOMPARE(k.tones, TwistedPairClient::documentedTones());
        QCOMPARE(k.gainMin, 0);
        QCOMPARE(k.gainMax, 20);
        QCOMPARE(k.notes.size(), 1);
        QVERIFY(k.notes.first().startsWith(
            QStringLiteral("TwistedPair's /knobs lists no tones; using the documented")));

        // Garbage fields: everything falls back, and says so.
        const TwistedPairKnobs empty =
            TwistedPairClient::parseKnobs(QJsonDocument(QJsonObject{{QStringLiteral("modes"), 3}}));
        QCOMPARE(empty.modes, TwistedPairClient::documentedModes());
        QCOMPARE(empty.notes.size(), 3);
    }

    void models() {
        std::optional<Result<TwistedPairModels>> got;
        m_tp->models(into(got));
        QTRY_VERIFY(got.has_value());
        QCOMPARE(got->value().models,
                 (QStringList{QStringLiteral("mistral:latest"), QStringLiteral("qwen3:latest")}));
        QCOMPARE(got->value().defaultModel, QStringLiteral("mistral:latest"));
    }

    void distort() {
        DistortRequest req;
        req.text = QStringLiteral("a quiet harbour");
        req.mode = QStringLiteral("invert_er");
        req.tone = QStringLiteral("poetic");
        req.gain = 7;
        req.model = QStringLiteral("mistral:latest");
        std::optional<Result<DistortResult>> got;
        m_tp->distort(req, into(got));
        QTRY_VERIFY(got.has_value());
        QVERIFY2(got->isOk(), qPrintable(got->error()));
        QCOMPARE(got->value().output,
                 QStringLiteral("a quiet harbour (invert_er, poetic, gain 7): a storm of lanterns "
                                "over a drowned city"));
        QCOMPARE(got->value().mode, QStringLiteral("invert_er"));
        QCOMPARE(got->value().gain, 7);
        QVERIFY(!got->value().signalId.isEmpty());
        QCOMPARE(m_tpServer->requests().last().json(),
                 (QJsonObject{{QStringLiteral("text"), QStringLiteral("a quiet harbour")},
                              {QStringLiteral("mode"), QStringLiteral("invert_er")},
                              {QStringLiteral("tone"), QStringLiteral("poetic")},
                              {QStringLiteral("gain"), 7},
                              {QStringLiteral("model"), QStringLiteral("mistral:latest")}}));

        // No model: the field is left out (TwistedPair uses its default).
        req.model.clear();
        m_tpServer->setPlainOutputShape(true);
        got.reset();
        m_tp->distort(req, into(got));
        QTRY_VERIFY(got.has_value());
        QVERIFY(got->isOk());
        QVERIFY(got->value().output.startsWith(QStringLiteral("a quiet harbour")));
        QVERIFY(!m_tpServer->requests().last().json().contains(QLatin1String("model")));
    }

    void distortValidatesBeforeSending() {
        DistortRequest req;
        req.text = QStringLiteral("x");
        req.mode = QStringLiteral("shout_er");
        std::optional<Result<DistortResult>> got;
        m_tp->distort(req, into(got));
        QVERIFY(!got.has_value()); // reported after the call returns, like a sent request
        QTRY_VERIFY(got.has_value());
        QVERIFY(got->error().startsWith(
            QStringLiteral("'shout_er' is not a TwistedPair mode. Choose one of: invert_er")));

        req.mode = QStringLiteral("echo_er");
        req.gain = 11;
        QCOMPARE(TwistedPairClient::validate(req).error(),
                 QStringLiteral("Gain 11 is outside TwistedPair's range 1..10."));
        req.gain = 5;
        req.tone = QStringLiteral("angry");
        QVERIFY(TwistedPairClient::validate(req).error().startsWith(
            QStringLiteral("'angry' is not a TwistedPair tone")));
        req.tone = QStringLiteral("neutral");
        req.text = QStringLiteral("   ");
        QVERIFY(!TwistedPairClient::validate(req).isOk());
        QTest::qWait(20);
        QVERIFY(m_tpServer->requests().isEmpty());
    }

    void distortServerErrors() {
        m_tpServer->script(
            QStringLiteral("POST"), QStringLiteral("/distort-manual"),
            FakeResponse::json({{QStringLiteral("detail"), QStringLiteral("Ollama model not available")}},
                               503));
        DistortRequest req;
        req.text = QStringLiteral("x");
        std::optional<Result<DistortResult>> got;
        m_tp->distort(req, into(got));
        QTRY_VERIFY(got.has_value());
        QCOMPARE(got->error(),
                 QStringLiteral(
                     "TwistedPair answered HTTP 503: Ollama model not available (POST /distort-manual)"));

        m_tpServer->clearScripts();
        m_tpServer->setOutput([](const QJsonObject&) { return QStringLiteral("  "); });
        got.reset();
        m_tp->distort(req, into(got));
        QTRY_VERIFY(got.has_value());
        QVERIFY(got->error().startsWith(QStringLiteral("TwistedPair returned empty text")));
    }

    void distortTimeoutNamesTheSetting() {
        m_tpServer->setDistortDelayMs(2000);
        m_tp->setDistortTimeoutMs(200);
        DistortRequest req;
        req.text = QStringLiteral("x");
        std::optional<Result<DistortResult>> got;
        m_tp->distort(req, into(got));
        QTRY_VERIFY_WITH_TIMEOUT(got.has_value(), 3000);
        QVERIFY2(got->error().contains(
                     QStringLiteral("did not answer POST /distort-manual within 0.2 s. Distortion can "
                                    "be slow; raise services/twistedPairTimeoutSec")),
                 qPrintable(got->error()));
    }

    // --- status poller (Services panel, `services` command) -------------------------

    void pollerOneRound() {
        m_ollamaServer->setInstalled(
            {FakeOllamaServer::tagEntry(QStringLiteral("mistral:latest"), 4113301824)});
        m_ollamaServer->setLoaded(
            {FakeOllamaServer::psEntry(QStringLiteral("mistral:latest"), 10 * GiB, 6 * GiB)});
        ServiceStatusPoller poller(m_ollama.get(), m_tp.get());
        QSignalSpy refreshed(&poller, &ServiceStatusPoller::refreshed);
        QSignalSpy ollamaUpdated(&poller, &ServiceStatusPoller::ollamaUpdated);
        QVERIFY(!poller.ollama().checked);
        poller.refresh();
        QVERIFY(poller.isRefreshing());
        QTRY_COMPARE(refreshed.size(), 1);
        QCOMPARE(ollamaUpdated.size(), 1);
        const OllamaStatus& o = poller.ollama();
        QVERIFY(o.checked && o.up);
        QCOMPARE(o.version, QStringLiteral("0.12.3"));
        QCOMPARE(o.installed.size(), 1);
        QCOMPARE(o.loaded.first().shareText(), QStringLiteral("mistral:latest — 40% CPU / 60% GPU"));
        QVERIFY(o.anyPartlyOnCpu());
        const TwistedPairStatus& t = poller.twistedPair();
        QVERIFY(t.up);
        QCOMPARE(t.models.defaultModel, QStringLiteral("mistral:latest"));
        QCOMPARE(t.knobs.modes.size(), 6);
        const QJsonObject j = toJson(o);
        QCOMPARE(j.value(QLatin1String("loaded"))
                     .toArray()
                     .first()
                     .toObject()
                     .value(QLatin1String("processor"))
                     .toString(),
                 QStringLiteral("40%/60% CPU/GPU"));
    }

    void pollerDownAndNoOverlap() {
        m_tp->setBaseUrl(QUrl(QStringLiteral("http://127.0.0.1:1")));
        m_ollamaServer->script(QStringLiteral("GET"), QStringLiteral("/api/ps"), FakeResponse::never());
        m_ollama->setShortTimeoutMs(500);
        ServiceStatusPoller poller(m_ollama.get(), m_tp.get());
        QSignalSpy ollamaUpdated(&poller, &ServiceStatusPoller::ollamaUpdated);
        poller.start(100);
        QTest::qWait(300); // three ticks while /api/ps hangs: no new round
        QCOMPARE(m_ollamaServer->requestLines().count(QStringLiteral("GET /")), 1);
        QTRY_VERIFY_WITH_TIMEOUT(ollamaUpdated.size() >= 1, 3000);
        QVERIFY(poller.ollama().up);
        QVERIFY2(
            poller.ollama().loadedError.contains(QStringLiteral("did not answer GET /api/ps within 0.5 s")),
            qPrintable(poller.ollama().loadedError));
        QVERIFY(!poller.twistedPair().up);
        QVERIFY(poller.twistedPair().error.contains(QStringLiteral("is not running (connection refused)")));
        QTRY_VERIFY_WITH_TIMEOUT(m_ollamaServer->requestLines().count(QStringLiteral("GET /")) >= 2, 3000);
        poller.stop();
    }
};

QTEST_GUILESS_MAIN(TestServicesClients)
#include "tst_services_clients.moc"
