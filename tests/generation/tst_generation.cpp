// The generation coordinator: one path for the GUI and the CLI (prompt pipeline -> make room ->
// engine), one cancel that reaches every stage, and the one place for model names, size-follows-
// model and limits. Real engine on the fixture model (CPU), fake TwistedPair and Ollama servers.
#include "core/engine/Engine.h"
#include "core/generation/GenerationCoordinator.h"
#include "core/services/OllamaClient.h"
#include "core/services/ServiceStatus.h"
#include "core/services/TwistedPairClient.h"
#include "tests/support/FakeOllamaServer.h"
#include "tests/support/FakeTwistedPairServer.h"
#include "tests/support/TestUtil.h"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

using namespace tp;
using namespace tp::generation;
using namespace tp::test;

namespace {

constexpr qint64 GiB = 1LL << 30;

QString fixtureModel() {
    return QStringLiteral(TP_TEST_DATA_DIR "/sd15-tiny/pipeline");
}

engine::GenerationRequest request() {
    engine::GenerationRequest r;
    r.model = fixtureModel();
    r.prompt = QStringLiteral("a red circle on a blue background");
    r.sampler = QStringLiteral("euler");
    r.steps = 2;
    r.width = 64;
    r.height = 64;
    r.seed = 5;
    r.device = QStringLiteral("cpu");
    r.precision = QStringLiteral("fp32");
    return r;
}

} // namespace

class TestGeneration final : public QObject {
    Q_OBJECT

    std::unique_ptr<FakeOllamaServer> m_ollamaServer;
    std::unique_ptr<FakeTwistedPairServer> m_tpServer;
    std::unique_ptr<services::OllamaClient> m_ollama;
    std::unique_ptr<services::TwistedPairClient> m_tp;
    std::unique_ptr<engine::Engine> m_engine;
    std::unique_ptr<GenerationCoordinator> m_coordinator;
    std::unique_ptr<QSignalSpy> m_submitted, m_cancelled, m_failed, m_engineFinished, m_engineFailed,
        m_engineCancelled, m_notice;
    qint64 m_freeBytes = -1;

    GenerationCoordinator::Job distortJob() {
        GenerationCoordinator::Job job;
        job.request = request();
        job.pipeline.distortEnabled = true;
        job.pipeline.mode = QStringLiteral("invert_er");
        job.pipeline.tone = QStringLiteral("poetic");
        job.pipeline.gain = 5;
        return job;
    }
    // A request the engine may plan within an "auto" budget (on a machine without CUDA the engine
    // then fails it: what matters here is what the coordinator submitted).
    static GenerationCoordinator::Job gpuJob() {
        GenerationCoordinator::Job job;
        job.request = request();
        job.request.device = QStringLiteral("cuda:0");
        return job;
    }
    engine::GenerationRequest submittedRequest() const {
        return m_submitted->first().at(0).value<engine::GenerationRequest>();
    }
    int psRequests() const {
        return int(m_ollamaServer->requestLines().count(QStringLiteral("GET /api/ps")));
    }
    // What the app's Services poller passes on after a round.
    services::OllamaStatus pollerSaw(const QVector<services::OllamaLoadedModel>& loaded) const {
        services::OllamaStatus s;
        s.url = m_ollama->baseUrl().toString();
        s.checked = true;
        s.up = true;
        s.loaded = loaded;
        return s;
    }
    static services::OllamaLoadedModel loadedModel(const QString& name, qint64 size, qint64 sizeVram) {
        services::OllamaLoadedModel m;
        m.name = name;
        m.model = name;
        m.size = size;
        m.sizeVram = sizeVram;
        return m;
    }
    // The submitted request has run or failed in the engine (so that cleanup() finds it idle).
    bool engineDone() const {
        return QTest::qWaitFor([this] { return m_engineFinished->size() + m_engineFailed->size() > 0; },
                               120000);
    }
    bool engineGotNothing() const {
        return m_submitted->isEmpty() && m_engineFinished->isEmpty() && m_engineFailed->isEmpty() &&
               m_engineCancelled->isEmpty();
    }
    // Cancels once `server` has received a request on `path`; returns how long the cancel took to
    // be answered with cancelled().
    qint64 cancelWhenRequested(FakeHttpServer& server, const QString& path, quint64 id) {
        if (!QTest::qWaitFor(
                [&] {
                    for (const HttpRequest& r : server.requests())
                        if (r.path == path)
                            return true;
                    return false;
                },
                10000))
            return -1;
        QTest::qWait(100); // the request is really in flight
        QElapsedTimer t;
        t.start();
        m_coordinator->cancel();
        if (!QTest::qWaitFor([&] { return !m_cancelled->isEmpty(); }, 1000))
            return -1;
        const qint64 ms = t.elapsed();
        if (m_cancelled->first().at(0).toULongLong() != id)
            return -1;
        qInfo("cancel answered after %lld ms", ms);
        return ms;
    }

private Q_SLOTS:
    void init() {
        m_ollamaServer = std::make_unique<FakeOllamaServer>();
        m_tpServer = std::make_unique<FakeTwistedPairServer>();
        QVERIFY(m_ollamaServer->listen());
        QVERIFY(m_tpServer->listen());
        m_ollama = std::make_unique<services::OllamaClient>(m_ollamaServer->url());
        m_tp = std::make_unique<services::TwistedPairClient>(m_tpServer->url());
        m_engine = std::make_unique<engine::Engine>();
        m_engine->setModelSources({}, {});
        m_freeBytes = -1;
        m_coordinator = std::make_unique<GenerationCoordinator>(*m_engine, m_tp.get(), m_ollama.get(),
                                                                [this](int) { return m_freeBytes; });
        m_coordinator->coTenancy().setUnloadWaitMs(500);
        m_submitted = std::make_unique<QSignalSpy>(m_coordinator.get(), &GenerationCoordinator::submitted);
        m_cancelled = std::make_unique<QSignalSpy>(m_coordinator.get(), &GenerationCoordinator::cancelled);
        m_failed = std::make_unique<QSignalSpy>(m_coordinator.get(), &GenerationCoordinator::failed);
        m_notice = std::make_unique<QSignalSpy>(m_coordinator.get(), &GenerationCoordinator::notice);
        m_engineFinished = std::make_unique<QSignalSpy>(m_engine.get(), &engine::Engine::finished);
        m_engineFailed = std::make_unique<QSignalSpy>(m_engine.get(), &engine::Engine::failed);
        m_engineCancelled = std::make_unique<QSignalSpy>(m_engine.get(), &engine::Engine::cancelled);
    }
    void cleanup() {
        m_notice.reset();
        m_engineCancelled.reset();
        m_engineFailed.reset();
        m_engineFinished.reset();
        m_failed.reset();
        m_cancelled.reset();
        m_submitted.reset();
        m_coordinator.reset();
        m_engine.reset();
        m_tp.reset();
        m_ollama.reset();
        m_tpServer.reset();
        m_ollamaServer.reset();
    }

    void plainJobReachesTheEngine() {
        GenerationCoordinator::Job job;
        job.request = request();
        const quint64 id = m_coordinator->start(job);
        QTRY_COMPARE_WITH_TIMEOUT(m_engineFinished->size(), 1, 120000);
        QCOMPARE(m_engineFinished->first().at(0).value<engine::GenerationResult>().request.id, id);
        QCOMPARE(m_submitted->size(), 1);
        QTRY_COMPARE(m_coordinator->stage(), Stage::Idle);
    }

    void cancelDuringDistortion() {
        m_tpServer->setDistortDelayMs(20000);
        const quint64 id = m_coordinator->start(distortJob());
        const qint64 ms = cancelWhenRequested(*m_tpServer, QStringLiteral("/distort-manual"), id);
        QVERIFY2(ms >= 0 && ms < 1000, qPrintable(QString::number(ms)));
        QCOMPARE(m_coordinator->stage(), Stage::Idle);
        QTRY_COMPARE_WITH_TIMEOUT(m_tpServer->openConnections(), 0, 1000); // the request was aborted
        QTest::qWait(300);
        QVERIFY(engineGotNothing());
        QVERIFY(m_failed->isEmpty());
    }

    void cancelDuringRefinement() {
        m_ollamaServer->script(QStringLiteral("POST"), QStringLiteral("/api/generate"),
                               FakeResponse::never());
        const quint64 id = m_coordinator->start(distortJob());
        const qint64 ms = cancelWhenRequested(*m_ollamaServer, QStringLiteral("/api/generate"), id);
        QVERIFY2(ms >= 0 && ms < 1000, qPrintable(QString::number(ms)));
        QTRY_COMPARE_WITH_TIMEOUT(m_ollamaServer->openConnections(), 0, 1000);
        QTest::qWait(300);
        QVERIFY(engineGotNothing());
        QVERIFY(m_failed->isEmpty());
    }

    void cancelDuringMakeRoom() {
        m_freeBytes = 64LL << 20; // far too little: make room asks Ollama
        m_ollamaServer->setLoaded(
            {FakeOllamaServer::psEntry(QStringLiteral("mistral:latest"), 5LL << 30, 5LL << 30)});
        m_ollamaServer->script(QStringLiteral("GET"), QStringLiteral("/api/ps"), FakeResponse::never());
        GenerationCoordinator::Job job;
        job.request = request();
        job.request.device = QStringLiteral("cuda:0");
        job.makeRoom = true;
        const quint64 id = m_coordinator->start(job);
        const qint64 ms = cancelWhenRequested(*m_ollamaServer, QStringLiteral("/api/ps"), id);
        QVERIFY2(ms >= 0 && ms < 1000, qPrintable(QString::number(ms)));
        QTRY_COMPARE_WITH_TIMEOUT(m_ollamaServer->openConnections(), 0, 1000);
        QVERIFY(!m_coordinator->coTenancy().isBusy());
        QTest::qWait(300);
        QVERIFY(engineGotNothing());
        // Nothing was unloaded.
        for (const HttpRequest& r : m_ollamaServer->requests())
            QVERIFY(r.path != QLatin1String("/api/generate"));
    }

    void makeRoomUnloadsThenSubmits() {
        m_freeBytes = 64LL << 20;
        m_ollamaServer->setLoaded(
            {FakeOllamaServer::psEntry(QStringLiteral("mistral:latest"), 5LL << 30, 5LL << 30)});
        GenerationCoordinator::Job job;
        job.request = request();
        job.request.device = QStringLiteral("cuda:0");
        job.makeRoom = true;
        m_coordinator->start(job);
        QTRY_COMPARE_WITH_TIMEOUT(m_submitted->size(), 1, 5000);
        bool unloaded = false;
        for (const HttpRequest& r : m_ollamaServer->requests())
            unloaded =
                unloaded || (r.path == QLatin1String("/api/generate") && r.body.contains("keep_alive"));
        QVERIFY(unloaded);
    }

    // Issue 16: an "auto" VRAM budget leaves Ollama's loaded models their room, so the request goes
    // to the engine with what GET /api/ps listed just before.
    void requestCarriesOllamasLoadedModels() {
        m_ollamaServer->setLoaded(
            {FakeOllamaServer::psEntry(QStringLiteral("llama3.1:8b"), 10 * GiB, 6 * GiB),
             FakeOllamaServer::psEntry(QStringLiteral("mistral:latest"), 5 * GiB, 5 * GiB)});
        m_coordinator->start(gpuJob());
        QTRY_COMPARE_WITH_TIMEOUT(m_submitted->size(), 1, 5000);
        const engine::GenerationRequest r = submittedRequest();
        QVERIFY(r.ollamaVramKnown);
        QCOMPARE(r.ollamaVram.size(), 2);
        QCOMPARE(r.ollamaVram[0].name, QStringLiteral("llama3.1:8b"));
        QCOMPARE(r.ollamaVram[0].sizeBytes, 10 * GiB);
        QCOMPARE(r.ollamaVram[0].vramBytes, 6 * GiB);
        QCOMPARE(r.ollamaVram[0].missingBytes(), 4 * GiB);
        QCOMPARE(r.ollamaVram[1].name, QStringLiteral("mistral:latest"));
        QCOMPARE(r.ollamaVram[1].missingBytes(), 0);
        QCOMPARE(psRequests(), 1);
        QVERIFY(engineDone());
        QVERIFY(m_failed->isEmpty());
    }

    // Ollama not running, answering garbage or an error, or not answering in time: the request
    // goes without figures (the budget leaves the reserve alone, as before), and is not held up.
    void noFiguresWhenOllamaFails_data() {
        QTest::addColumn<QString>("how");
        QTest::newRow("down") << QStringLiteral("down");
        QTest::newRow("garbage") << QStringLiteral("garbage");
        QTest::newRow("http 500") << QStringLiteral("500");
        QTest::newRow("no models list") << QStringLiteral("shape");
        QTest::newRow("silent") << QStringLiteral("never");
    }
    void noFiguresWhenOllamaFails() {
        QFETCH(QString, how);
        m_ollamaServer->setLoaded(
            {FakeOllamaServer::psEntry(QStringLiteral("llama3.1:8b"), 10 * GiB, 6 * GiB)});
        const QString ps = QStringLiteral("/api/ps");
        if (how == QLatin1String("down")) {
            QTcpServer dead;
            QVERIFY(dead.listen(QHostAddress::LocalHost, 0));
            const quint16 port = dead.serverPort();
            dead.close();
            m_ollama->setBaseUrl(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)));
        } else if (how == QLatin1String("garbage")) {
            m_ollamaServer->script(QStringLiteral("GET"), ps, FakeResponse::garbage());
        } else if (how == QLatin1String("500")) {
            m_ollamaServer->script(
                QStringLiteral("GET"), ps,
                FakeResponse::json(QJsonObject{{QStringLiteral("error"), QStringLiteral("boom")}}, 500));
        } else if (how == QLatin1String("shape")) {
            m_ollamaServer->script(QStringLiteral("GET"), ps,
                                   FakeResponse::json(QJsonObject{{QStringLiteral("models"), 3}}));
        } else {
            m_ollamaServer->script(QStringLiteral("GET"), ps, FakeResponse::never());
        }
        m_coordinator->setOllamaVramTimings(10000, 300);
        QElapsedTimer t;
        t.start();
        m_coordinator->start(gpuJob());
        QTRY_COMPARE_WITH_TIMEOUT(m_submitted->size(), 1, 5000);
        const qint64 ms = t.elapsed();
        const engine::GenerationRequest r = submittedRequest();
        QVERIFY(!r.ollamaVramKnown);
        QVERIFY(r.ollamaVram.isEmpty());
        QVERIFY2(ms < 2000, qPrintable(QString::number(ms))); // the silent one: the 300 ms limit
        if (how == QLatin1String("never"))
            QVERIFY2(ms >= 300, qPrintable(QString::number(ms)));
        if (how != QLatin1String("down"))
            QCOMPARE(psRequests(), 1);
        QVERIFY(engineDone());
        QVERIFY(m_failed->isEmpty());
        QVERIFY(m_notice->isEmpty());
    }

    // The app polls Ollama every few seconds: a recent round's figures go with the request, and
    // /api/ps is not asked again.
    void recentFiguresOfThePollerAreUsed() {
        m_ollamaServer->setLoaded({}); // what /api/ps would say: must not be asked
        m_coordinator->noteOllamaStatus(
            pollerSaw({loadedModel(QStringLiteral("mistral:latest"), 5 * GiB, 3 * GiB)}));
        m_coordinator->start(gpuJob());
        QTRY_COMPARE_WITH_TIMEOUT(m_submitted->size(), 1, 5000);
        const engine::GenerationRequest r = submittedRequest();
        QVERIFY(r.ollamaVramKnown);
        QCOMPARE(r.ollamaVram.size(), 1);
        QCOMPARE(r.ollamaVram[0].name, QStringLiteral("mistral:latest"));
        QCOMPARE(r.ollamaVram[0].sizeBytes, 5 * GiB);
        QCOMPARE(r.ollamaVram[0].vramBytes, 3 * GiB);
        QCOMPARE(psRequests(), 0);
        QVERIFY(engineDone());
    }

    // Figures too old, from a round that could not read /api/ps, or of another Ollama URL: asked anew.
    void staleFiguresOfThePollerAreNot_data() {
        QTest::addColumn<QString>("why");
        QTest::newRow("too old") << QStringLiteral("old");
        QTest::newRow("round failed") << QStringLiteral("failed");
        QTest::newRow("other url") << QStringLiteral("url");
    }
    void staleFiguresOfThePollerAreNot() {
        QFETCH(QString, why);
        m_ollamaServer->setLoaded(
            {FakeOllamaServer::psEntry(QStringLiteral("llama3.1:8b"), 10 * GiB, 6 * GiB)});
        services::OllamaStatus seen =
            pollerSaw({loadedModel(QStringLiteral("mistral:latest"), 5 * GiB, 3 * GiB)});
        if (why == QLatin1String("old")) {
            m_coordinator->setOllamaVramTimings(50, 1500);
            m_coordinator->noteOllamaStatus(seen);
            QTest::qWait(150);
        } else if (why == QLatin1String("failed")) {
            m_coordinator->noteOllamaStatus(seen);
            services::OllamaStatus failed = pollerSaw({});
            failed.loadedError = QStringLiteral("Ollama at … did not answer GET /api/ps within 5 s");
            m_coordinator->noteOllamaStatus(failed);
        } else {
            seen.url = QStringLiteral("http://127.0.0.1:1");
            m_coordinator->noteOllamaStatus(seen);
        }
        m_coordinator->start(gpuJob());
        QTRY_COMPARE_WITH_TIMEOUT(m_submitted->size(), 1, 5000);
        const engine::GenerationRequest r = submittedRequest();
        QVERIFY(r.ollamaVramKnown);
        QCOMPARE(r.ollamaVram.size(), 1);
        QCOMPARE(r.ollamaVram[0].name, QStringLiteral("llama3.1:8b"));
        QCOMPARE(psRequests(), 1);
        QVERIFY(engineDone());
    }

    // Only an "auto" budget uses the figures: a size, "all" or a CPU run do not ask Ollama.
    void noReadWithoutAnAutoBudget_data() {
        QTest::addColumn<QString>("budget");
        QTest::addColumn<QString>("device");
        QTest::newRow("size") << QStringLiteral("8GiB") << QStringLiteral("cuda:0");
        QTest::newRow("all") << QStringLiteral("all") << QStringLiteral("cuda:0");
        QTest::newRow("cpu") << QString() << QStringLiteral("cpu");
    }
    void noReadWithoutAnAutoBudget() {
        QFETCH(QString, budget);
        QFETCH(QString, device);
        m_ollamaServer->setLoaded(
            {FakeOllamaServer::psEntry(QStringLiteral("llama3.1:8b"), 10 * GiB, 6 * GiB)});
        GenerationCoordinator::Job job = gpuJob();
        job.request.vramBudget = budget;
        job.request.device = device;
        m_coordinator->start(job);
        QTRY_COMPARE_WITH_TIMEOUT(m_submitted->size(), 1, 5000);
        QVERIFY(!submittedRequest().ollamaVramKnown);
        QVERIFY(submittedRequest().ollamaVram.isEmpty());
        QCOMPARE(psRequests(), 0);
        QVERIFY(engineDone());
    }

    // After make room has unloaded a model, the poller's figures (which list it) are out of date:
    // the request carries /api/ps as it is after the unload.
    void makeRoomReadsOllamaAgain() {
        m_freeBytes = 64LL << 20;
        m_ollamaServer->setLoaded(
            {FakeOllamaServer::psEntry(QStringLiteral("mistral:latest"), 5 * GiB, 5 * GiB)});
        m_coordinator->noteOllamaStatus(
            pollerSaw({loadedModel(QStringLiteral("mistral:latest"), 5 * GiB, 5 * GiB)}));
        GenerationCoordinator::Job job = gpuJob();
        job.makeRoom = true;
        m_coordinator->start(job);
        QTRY_COMPARE_WITH_TIMEOUT(m_submitted->size(), 1, 5000);
        const engine::GenerationRequest r = submittedRequest();
        QVERIFY(m_ollamaServer->loaded().isEmpty()); // make room unloaded it
        QVERIFY(r.ollamaVramKnown);
        QVERIFY(r.ollamaVram.isEmpty());
        QVERIFY(engineDone());
    }

    void cancelWhileReadingOllama() {
        m_ollamaServer->script(QStringLiteral("GET"), QStringLiteral("/api/ps"), FakeResponse::never());
        const quint64 id = m_coordinator->start(gpuJob());
        const qint64 ms = cancelWhenRequested(*m_ollamaServer, QStringLiteral("/api/ps"), id);
        QVERIFY2(ms >= 0 && ms < 1000, qPrintable(QString::number(ms)));
        QTRY_COMPARE_WITH_TIMEOUT(m_ollamaServer->openConnections(), 0, 1000); // the request was aborted
        QTest::qWait(300);
        QVERIFY(engineGotNothing());
        QVERIFY(m_failed->isEmpty());
    }

    // As the original: a failing refiner does not stop the image; the distorted text is used.
    void refinerFailureGoesOnWithTheDistortedText() {
        m_ollamaServer->script(
            QStringLiteral("POST"), QStringLiteral("/api/generate"),
            FakeResponse::json(QJsonObject{{QStringLiteral("error"), QStringLiteral("model crashed")}}, 500));
        GenerationCoordinator::Job job = distortJob();
        m_coordinator->start(job);
        QTRY_COMPARE_WITH_TIMEOUT(m_submitted->size(), 1, 10000);
        const auto submitted = m_submitted->first().at(0).value<engine::GenerationRequest>();
        QVERIFY2(submitted.prompt.startsWith(QStringLiteral(" ;")) && submitted.prompt.size() > 4,
                 qPrintable(submitted.prompt));
        QCOMPARE(m_notice->size(), 1);
        QVERIFY(m_notice->first().at(0).toString().contains(
            QStringLiteral("generating from the distorted text")));
        const QVariantMap record = submitted.extra.value(QStringLiteral("promptPipeline")).toMap();
        QCOMPARE(record.value(QStringLiteral("refinerFailedUsedDistortedText")).toBool(), true);
        QCOMPARE(record.value(QStringLiteral("finalPromptUsed")).toString(), submitted.prompt);
        QTRY_COMPARE_WITH_TIMEOUT(m_engineFinished->size(), 1, 120000);
    }

    void failedDistortionWithoutReviewStops() {
        m_tpServer->script(
            QStringLiteral("POST"), QStringLiteral("/distort-manual"),
            FakeResponse::json(QJsonObject{{QStringLiteral("detail"), QStringLiteral("boom")}}, 500));
        m_coordinator->start(distortJob());
        QTRY_COMPARE_WITH_TIMEOUT(m_failed->size(), 1, 10000);
        QVERIFY2(m_failed->first().at(1).toString().contains(QStringLiteral("TwistedPair")),
                 qPrintable(m_failed->first().at(1).toString()));
        QTest::qWait(200);
        QVERIFY(engineGotNothing());
    }

    void reviewCanEditOrStop() {
        QString shown;
        GenerationCoordinator::Job job = distortJob();
        job.review = [&shown](const services::PromptPipelineResult& r, auto proceed) {
            shown = r.finalPrompt;
            proceed(QStringLiteral("my own words"));
        };
        m_coordinator->start(job);
        QTRY_COMPARE_WITH_TIMEOUT(m_submitted->size(), 1, 10000);
        QVERIFY(!shown.isEmpty());
        const auto r = m_submitted->first().at(0).value<engine::GenerationRequest>();
        QCOMPARE(r.prompt, QStringLiteral("my own words"));
        QCOMPARE(r.extra.value(QStringLiteral("promptPipeline"))
                     .toMap()
                     .value(QStringLiteral("finalPromptEdited"))
                     .toBool(),
                 true);
        QTRY_COMPARE_WITH_TIMEOUT(m_engineFinished->size(), 1, 120000);
        // The spy records Engine::finished on the worker thread; the coordinator hears it queued on
        // this one. Starting before it has would be refused as "still being prepared".
        QTRY_VERIFY(!m_coordinator->busy());

        job.review = [](const services::PromptPipelineResult&, auto proceed) { proceed(std::nullopt); };
        const quint64 id = m_coordinator->start(job);
        QTRY_COMPARE_WITH_TIMEOUT(m_cancelled->size(), 1, 10000);
        QCOMPARE(m_cancelled->first().at(0).toULongLong(), id);
        QCOMPARE(m_submitted->size(), 1);
    }

    // Model names, size-follows-model and the limits: one place for every front end.
    void prepareResolvesAndChecks() {
        const io::ModelCatalogue catalogue =
            io::ModelCatalogue::scan({QStringLiteral(TP_TEST_DATA_DIR "/sd15-tiny")}, {});
        engine::GenerationRequest r = request();
        r.model = QStringLiteral("pipeline"); // by name
        Result<PreparedRequest> p = prepareRequest(r, catalogue, true);
        QVERIFY2(p, qPrintable(p.error()));
        QCOMPARE(QFileInfo(p->request.model).canonicalFilePath(),
                 QFileInfo(fixtureModel()).canonicalFilePath());
        QVERIFY(p->note.isEmpty());

        const int native = p->model.nativeSize;
        QVERIFY(native > 0);
        r.width = r.height = native * 4; // far off, not chosen: the native size
        p = prepareRequest(r, catalogue, false);
        QVERIFY(p);
        QCOMPARE(p->request.width, native);
        QCOMPARE(p->request.height, native);
        QVERIFY(p->note.contains(QStringLiteral("was trained at")));
        p = prepareRequest(r, catalogue, true); // chosen: kept
        QVERIFY(p);
        QCOMPARE(p->request.width, native * 4);

        r = request();
        r.steps = 0;
        QCOMPARE(prepareRequest(r, catalogue, true).error(), QStringLiteral("steps: 0 is outside 1..150"));
        r = request();
        r.precision = QStringLiteral("fp8");
        QVERIFY(prepareRequest(r, catalogue, true)); // the engine says whether its libtorch has fp8
        r.precision = QStringLiteral("int4");
        QVERIFY(
            prepareRequest(r, catalogue, true).error().contains(QStringLiteral("'int4' is not a precision")));
        r = request();
        r.model = QStringLiteral("no-such-model");
        QVERIFY(prepareRequest(r, catalogue, true).error().contains(QStringLiteral("no-such-model")));
        r = request();
        r.prompt = QStringLiteral("   ");
        QVERIFY(prepareRequest(r, catalogue, true).error().contains(QStringLiteral("prompt is empty")));
    }
};

QTEST_GUILESS_MAIN(TestGeneration)
#include "tst_generation.moc"
