// GPU co-tenancy: diagnosing "Ollama partly on the CPU while we hold the GPU", fixing
// it in the right order, making room before generating, and the VRAM estimate.
#include "core/services/CoTenancy.h"
#include "core/services/OllamaClient.h"
#include "core/services/VramEstimate.h"
#include "tests/support/FakeOllamaServer.h"

#include <QSignalSpy>
#include <QThread>
#include <QtTest>

#include <optional>

using namespace tp;
using namespace tp::services;
using namespace tp::test;

namespace {

constexpr qint64 MiB = 1024LL * 1024;
constexpr qint64 GiB = 1024 * MiB;

gpu::VramSample sample(qint64 total, qint64 free) {
    gpu::VramSample s;
    s.gpuAvailable = true;
    gpu::DeviceSample d;
    d.index = 0;
    d.name = QStringLiteral("Test GPU");
    d.totalBytes = total;
    d.freeBytes = free;
    d.usedBytes = total - free;
    s.devices << d;
    return s;
}

OllamaLoadedModel loaded(const QString& name, qint64 size, qint64 vram) {
    OllamaLoadedModel m;
    m.name = name;
    m.model = name;
    m.size = size;
    m.sizeVram = vram;
    return m;
}

} // namespace

class TestServicesCoTenancy final : public QObject {
    Q_OBJECT

    std::unique_ptr<FakeOllamaServer> m_server;
    std::unique_ptr<OllamaClient> m_ollama;
    QStringList m_events;            // our hooks and the fake server's requests, in order
    qint64 m_deviceFree = 0;         // what the "device" reports now
    QHash<QString, qint64> m_vramOf; // what an Ollama unload gives back to the "device"

    CoTenancyHooks hooks(bool cacheOk = true) {
        CoTenancyHooks h;
        // The engine would do this on its worker thread and answer from there.
        h.freeCache = [this, cacheOk](CoTenancyHooks::Done done) {
            m_events << QStringLiteral("ours: free cache");
            if (cacheOk)
                m_deviceFree += 1 * GiB; // the cache we held
            QThread* t = QThread::create([done, cacheOk] {
                done(cacheOk ? Status::ok() : Status::fail(QStringLiteral("CUDA error: busy")));
            });
            connect(t, &QThread::finished, t, &QObject::deleteLater);
            t->start();
        };
        h.unloadModel = [this](CoTenancyHooks::Done done) {
            m_events << QStringLiteral("ours: unload model");
            m_deviceFree += 2 * GiB; // the weights
            done(Status::ok());
        };
        h.deviceFreeBytes = [this] { return m_deviceFree; };
        return h;
    }

private Q_SLOTS:
    void init() {
        m_server = std::make_unique<FakeOllamaServer>();
        QVERIFY(m_server->listen());
        m_ollama = std::make_unique<OllamaClient>(m_server->url());
        m_events.clear();
        m_vramOf = {{QStringLiteral("mistral:latest"), 3 * GiB}};
        connect(m_server.get(), &FakeHttpServer::requestReceived, this, [this](const HttpRequest& r) {
            const QJsonObject b = r.json();
            if (r.line() == QLatin1String("POST /api/generate") &&
                b.value(QLatin1String("keep_alive")).isDouble()) {
                const QString model = b.value(QLatin1String("model")).toString();
                m_events << QStringLiteral("ollama: unload %1").arg(model);
                m_deviceFree += m_vramOf.value(model);
            } else
                m_events << QStringLiteral("ollama: ") + r.line();
        });
    }
    void cleanup() {
        m_ollama.reset();
        m_server.reset();
    }

    // --- diagnosis ------------------------------------------------------------------

    void fineWhenFullyOnGpu() {
        OurGpuUse ours{3 * GiB, 2 * GiB, true, false, QStringLiteral("sd15")};
        const auto d = diagnoseCoTenancy({loaded(QStringLiteral("mistral:latest"), 5 * GiB, 5 * GiB)}, ours,
                                         sample(24 * GiB, 10 * GiB));
        QCOMPARE(d.verdict, CoTenancyDiagnosis::Verdict::Fine);
        QVERIFY(!d.problem());
        QCOMPARE(d.summary, QStringLiteral("Ollama runs fully on the GPU: mistral:latest — 100% GPU."));
    }

    void noGpu() {
        gpu::VramSample s;
        s.noGpuReason = QStringLiteral("CPU-only libtorch");
        const auto d = diagnoseCoTenancy({loaded(QStringLiteral("m"), 5 * GiB, 0)}, {}, s);
        QCOMPARE(d.verdict, CoTenancyDiagnosis::Verdict::NoGpu);
        QVERIFY(!d.canFix());
        QVERIFY(d.summary.contains(QStringLiteral("CPU-only libtorch")));
    }

    void partlyOnCpuProposals_data() {
        QTest::addColumn<qint64>("free");
        QTest::addColumn<qint64>("reserved");
        QTest::addColumn<qint64>("allocated");
        QTest::addColumn<int>("fix");
        // Ollama model: 5 GiB, 3 GiB of it on the GPU; it needs 5 GiB + 457 MiB.
        // free + 3 GiB + cache >= need → cache is enough.
        QTest::newRow("cache enough")
            << 2 * GiB << 6 * GiB << 2 * GiB << int(CoTenancyDiagnosis::Fix::FreeCacheThenReload);
        // free + 3 + 1 (cache) = 4.5 < 5.45; + 3 (all) = 6.5 >= 5.45 → unload ours too.
        QTest::newRow("unload needed")
            << GiB / 2 << 3 * GiB << 2 * GiB << int(CoTenancyDiagnosis::Fix::UnloadThenReload);
        // free + 3 + 1 = 4 < 5.45 even with everything.
        QTest::newRow("still short") << 0LL << 1 * GiB << 0LL
                                     << int(CoTenancyDiagnosis::Fix::ReleaseAllStillShort);
    }
    void partlyOnCpuProposals() {
        QFETCH(qint64, free);
        QFETCH(qint64, reserved);
        QFETCH(qint64, allocated);
        QFETCH(int, fix);
        OurGpuUse ours{reserved, allocated, allocated > 0, false, QStringLiteral("sd15")};
        const auto d = diagnoseCoTenancy({loaded(QStringLiteral("tiny"), GiB, GiB),
                                          loaded(QStringLiteral("mistral:latest"), 5 * GiB, 3 * GiB)},
                                         ours, sample(24 * GiB, free));
        QCOMPARE(d.verdict, CoTenancyDiagnosis::Verdict::PartlyOnCpu);
        QVERIFY(d.problem());
        QCOMPARE(int(d.fix), fix);
        QCOMPARE(d.ollamaModel, QStringLiteral("mistral:latest"));
        QCOMPARE(d.gpuPercent, 60);
        QCOMPARE(d.ollamaNeedBytes, 5 * GiB + kOllamaGpuReserveBytes);
        QCOMPARE(d.freeIfOllamaUnloads, free + 3 * GiB);
        QVERIFY2(d.summary.startsWith(
                     QStringLiteral("mistral:latest runs partly on the CPU (40%/60% CPU/GPU) while "
                                    "TwistedPic holds")),
                 qPrintable(d.summary));
        QVERIFY(d.proposal.contains(QStringLiteral("ask Ollama to unload mistral:latest")) ||
                d.proposal.contains(QStringLiteral("letting Ollama reload mistral:latest")));
        QVERIFY(!d.details.isEmpty());
    }

    void partlyOnCpuButNotUs() {
        const auto fits = diagnoseCoTenancy({loaded(QStringLiteral("m"), 5 * GiB, 3 * GiB)}, {},
                                            sample(24 * GiB, 10 * GiB));
        QCOMPARE(fits.verdict, CoTenancyDiagnosis::Verdict::PartlyOnCpuNotUs);
        QCOMPARE(fits.fix, CoTenancyDiagnosis::Fix::ReloadOnly);
        const auto tooBig = diagnoseCoTenancy({loaded(QStringLiteral("m"), 30 * GiB, 20 * GiB)}, {},
                                              sample(24 * GiB, 1 * GiB));
        QCOMPARE(tooBig.fix, CoTenancyDiagnosis::Fix::None);
        QVERIFY(tooBig.proposal.contains(QStringLiteral("too small")));
    }

    // --- the fix, end to end against the fake Ollama ----------------------------------

    void giveBackRunsOurCleanupFirst() {
        // The symptom as the fake reports it: mistral 60% on the GPU.
        m_server->setLoaded({FakeOllamaServer::psEntry(QStringLiteral("mistral:latest"), 5 * GiB, 3 * GiB)});
        std::optional<Result<QVector<OllamaLoadedModel>>> ps;
        m_ollama->loadedModels([&](const Result<QVector<OllamaLoadedModel>>& r) { ps = r; });
        QTRY_VERIFY(ps.has_value());
        m_deviceFree = 2 * GiB;
        OurGpuUse ours{6 * GiB, 2 * GiB, true, false, QStringLiteral("sd15")};
        const auto d = diagnoseCoTenancy(ps->value(), ours, sample(24 * GiB, m_deviceFree));
        QCOMPARE(d.fix, CoTenancyDiagnosis::Fix::FreeCacheThenReload);

        CoTenancy co(m_ollama.get(), hooks());
        QSignalSpy steps(&co, &CoTenancy::step);
        std::optional<CoTenancyReport> report;
        co.giveGpuBackToOllama(d, [&](const CoTenancyReport& r) { report = r; });
        QTRY_VERIFY_WITH_TIMEOUT(report.has_value(), 5000);
        QVERIFY2(report->ok, qPrintable(report->error));
        // OUR cleanup, THEN Ollama's unload, then the check that it is gone.
        QCOMPARE(m_events,
                 (QStringList{QStringLiteral("ollama: GET /api/ps"), QStringLiteral("ours: free cache"),
                              QStringLiteral("ollama: unload mistral:latest"),
                              QStringLiteral("ollama: GET /api/ps")}));
        QVERIFY(report->freedOurCache);
        QVERIFY(!report->unloadedOurModel);
        QCOMPARE(report->unloadedOllamaModels, QStringList{QStringLiteral("mistral:latest")});
        QCOMPARE(report->freeBytesAfter, 6 * GiB); // 2 + 1 (our cache) + 3 (mistral's share)
        QVERIFY(
            report->steps.last().contains(QStringLiteral("its next request loads it fully onto the GPU")));
        QCOMPARE(steps.size(), report->steps.size());
        QVERIFY(report->steps.first().startsWith(QStringLiteral("mistral:latest runs partly on the CPU")));
        QVERIFY(report->steps.join(QLatin1Char('\n'))
                    .contains(QStringLiteral("Asking Ollama to unload mistral:latest")));
        QVERIFY(!co.isBusy());
    }

    void giveBackUnloadsOursWhenTheCacheIsNotEnough() {
        m_server->setLoaded({FakeOllamaServer::psEntry(QStringLiteral("mistral:latest"), 5 * GiB, 3 * GiB)});
        m_deviceFree = GiB / 2;
        OurGpuUse ours{3 * GiB, 2 * GiB, true, false, QStringLiteral("sd15")};
        const auto d = diagnoseCoTenancy({loaded(QStringLiteral("mistral:latest"), 5 * GiB, 3 * GiB)}, ours,
                                         sample(24 * GiB, m_deviceFree));
        QCOMPARE(d.fix, CoTenancyDiagnosis::Fix::UnloadThenReload);
        CoTenancy co(m_ollama.get(), hooks());
        std::optional<CoTenancyReport> report;
        co.giveGpuBackToOllama(d, [&](const CoTenancyReport& r) { report = r; });
        QTRY_VERIFY_WITH_TIMEOUT(report.has_value(), 5000);
        QVERIFY2(report->ok, qPrintable(report->error));
        QCOMPARE(m_events,
                 (QStringList{QStringLiteral("ours: free cache"), QStringLiteral("ours: unload model"),
                              QStringLiteral("ollama: unload mistral:latest"),
                              QStringLiteral("ollama: GET /api/ps")}));
        QVERIFY(report->unloadedOurModel);
        // 0.5 + 1 + 2 = 3.5 GiB free, + mistral's 3 GiB when it goes = enough for it.
        QVERIFY(
            report->steps.last().contains(QStringLiteral("its next request loads it fully onto the GPU")));
    }

    void freshReadingCanSpareOurModel() {
        // The diagnosis expected an unload, but after the cleanup the device has room.
        m_deviceFree = 2 * GiB;
        OurGpuUse ours{3 * GiB, 2 * GiB, true, false, {}};
        auto d = diagnoseCoTenancy({loaded(QStringLiteral("mistral:latest"), 5 * GiB, 3 * GiB)}, ours,
                                   sample(24 * GiB, GiB / 2));
        QCOMPARE(d.fix, CoTenancyDiagnosis::Fix::UnloadThenReload);
        CoTenancy co(m_ollama.get(), hooks());
        std::optional<CoTenancyReport> report;
        co.giveGpuBackToOllama(d, [&](const CoTenancyReport& r) { report = r; });
        QTRY_VERIFY_WITH_TIMEOUT(report.has_value(), 5000);
        QVERIFY(report->ok);
        QVERIFY(!m_events.contains(QStringLiteral("ours: unload model")));
        QVERIFY(
            report->steps.contains(QStringLiteral("That is enough: TwistedPic's model stays on the GPU.")));
    }

    void failedCleanupLeavesOllamaAlone() {
        OurGpuUse ours{6 * GiB, 2 * GiB, true, false, {}};
        const auto d = diagnoseCoTenancy({loaded(QStringLiteral("mistral:latest"), 5 * GiB, 3 * GiB)}, ours,
                                         sample(24 * GiB, 2 * GiB));
        CoTenancy co(m_ollama.get(), hooks(false));
        std::optional<CoTenancyReport> report;
        co.giveGpuBackToOllama(d, [&](const CoTenancyReport& r) { report = r; });
        QTRY_VERIFY_WITH_TIMEOUT(report.has_value(), 5000);
        QVERIFY(!report->ok);
        QCOMPARE(report->error,
                 QStringLiteral("Could not free TwistedPic's cached GPU memory: CUDA error: busy. "
                                "Ollama was left as it is."));
        QCOMPARE(m_events, QStringList{QStringLiteral("ours: free cache")});
    }

    void ollamaDownDuringFix() {
        OurGpuUse ours{6 * GiB, 2 * GiB, true, false, {}};
        const auto d = diagnoseCoTenancy({loaded(QStringLiteral("mistral:latest"), 5 * GiB, 3 * GiB)}, ours,
                                         sample(24 * GiB, 2 * GiB));
        m_server->script(QStringLiteral("POST"), QStringLiteral("/api/generate"),
                         FakeResponse::text("boom", 500));
        CoTenancy co(m_ollama.get(), hooks());
        std::optional<CoTenancyReport> report;
        co.giveGpuBackToOllama(d, [&](const CoTenancyReport& r) { report = r; });
        QTRY_VERIFY_WITH_TIMEOUT(report.has_value(), 5000);
        QVERIFY(!report->ok);
        QCOMPARE(report->error,
                 QStringLiteral("Could not ask Ollama to unload mistral:latest: Ollama answered HTTP 500: "
                                "boom (POST /api/generate)"));
        QVERIFY(report->freedOurCache);
    }

    // --- make room before generating --------------------------------------------------

    void makeRoomNothingToDo() {
        CoTenancy co(m_ollama.get(), hooks());
        std::optional<CoTenancyReport> report;
        co.makeRoom(4 * GiB, 6 * GiB, [&](const CoTenancyReport& r) { report = r; });
        QTRY_VERIFY(report.has_value());
        QVERIFY(report->ok);
        QCOMPARE(report->steps,
                 QStringList{QStringLiteral("Enough room: 6.0 GiB free, 4.0 GiB needed. Nothing to do.")});
        QVERIFY(m_server->requests().isEmpty());
    }

    void makeRoomUnloadsTheSmallestThatCovers() {
        m_server->setLoaded({FakeOllamaServer::psEntry(QStringLiteral("big"), 8 * GiB, 8 * GiB),
                             FakeOllamaServer::psEntry(QStringLiteral("mid"), 3 * GiB, 3 * GiB),
                             FakeOllamaServer::psEntry(QStringLiteral("small"), GiB, GiB),
                             FakeOllamaServer::psEntry(QStringLiteral("cpu-only"), 4 * GiB, 0)});
        CoTenancy co(m_ollama.get(), {}); // no fresh readings: projected figures
        std::optional<CoTenancyReport> report;
        // 2.5 GiB short: "mid" (3 GiB) covers it alone.
        co.makeRoom(4 * GiB, GiB + GiB / 2, [&](const CoTenancyReport& r) { report = r; });
        QTRY_VERIFY_WITH_TIMEOUT(report.has_value(), 5000);
        QVERIFY2(report->ok, qPrintable(report->error));
        QCOMPARE(report->unloadedOllamaModels, QStringList{QStringLiteral("mid")});
        QCOMPARE(m_events,
                 (QStringList{QStringLiteral("ollama: GET /api/ps"), QStringLiteral("ollama: unload mid"),
                              QStringLiteral("ollama: GET /api/ps")}));
        const QString log = report->steps.join(QLatin1Char('\n'));
        QVERIFY(log.contains(QStringLiteral("cannot tell whether a model is answering a request right now")));
        QVERIFY(log.contains(QStringLiteral("Room made: 4.5 GiB free (expected) for 4.0 GiB needed.")));
    }

    void makeRoomLargestFirstWhenNoneCoversAlone() {
        m_server->setLoaded({FakeOllamaServer::psEntry(QStringLiteral("a"), 3 * GiB, 3 * GiB),
                             FakeOllamaServer::psEntry(QStringLiteral("b"), 2 * GiB, 2 * GiB),
                             FakeOllamaServer::psEntry(QStringLiteral("c"), GiB, GiB)});
        m_deviceFree = 0;
        CoTenancyHooks h;
        h.deviceFreeBytes = [this] { return m_deviceFree; };
        CoTenancy co(m_ollama.get(), h);
        m_vramOf = {
            {QStringLiteral("a"), 3 * GiB}, {QStringLiteral("b"), 2 * GiB}, {QStringLiteral("c"), GiB}};
        std::optional<CoTenancyReport> report;
        co.makeRoom(4 * GiB, 0, [&](const CoTenancyReport& r) { report = r; });
        QTRY_VERIFY_WITH_TIMEOUT(report.has_value(), 5000);
        QVERIFY2(report->ok, qPrintable(report->error));
        QCOMPARE(report->unloadedOllamaModels, (QStringList{QStringLiteral("a"), QStringLiteral("b")}));
        QCOMPARE(report->freeBytesAfter, 5 * GiB);
    }

    void makeRoomStillShort() {
        m_server->setLoaded({FakeOllamaServer::psEntry(QStringLiteral("a"), GiB, GiB)});
        CoTenancy co(m_ollama.get(), {});
        std::optional<CoTenancyReport> report;
        co.makeRoom(10 * GiB, GiB, [&](const CoTenancyReport& r) { report = r; });
        QTRY_VERIFY_WITH_TIMEOUT(report.has_value(), 5000);
        QVERIFY(!report->ok);
        QCOMPARE(report->unloadedOllamaModels, QStringList{QStringLiteral("a")});
        QVERIFY(report->error.startsWith(
            QStringLiteral("Still short after unloading Ollama's models: 2.0 GiB free")));
    }

    void makeRoomWithOllamaDown() {
        m_server->script(QStringLiteral("GET"), QStringLiteral("/api/ps"), FakeResponse::garbage());
        CoTenancy co(m_ollama.get(), {});
        std::optional<CoTenancyReport> report;
        co.makeRoom(10 * GiB, GiB, [&](const CoTenancyReport& r) { report = r; });
        QTRY_VERIFY_WITH_TIMEOUT(report.has_value(), 5000);
        QVERIFY(!report->ok);
        QVERIFY(report->error.startsWith(
            QStringLiteral("Could not make room: Ollama sent something that is not JSON")));
    }

    void bytesNeeded() {
        GenerationShape s;
        s.weightsBytes = 2 * GiB;
        const GenerationVramEstimate e = estimateGenerationVram(s);
        OurGpuUse notLoaded;
        QCOMPARE(CoTenancy::bytesNeededBeforeGenerating(e, notLoaded, 512 * MiB),
                 2 * GiB + e.workingBytes + 512 * MiB);
        OurGpuUse resident{2 * GiB + 300 * MiB, 2 * GiB, true, false, {}};
        QCOMPARE(CoTenancy::bytesNeededBeforeGenerating(e, resident, 0), e.workingBytes - 300 * MiB);
        OurGpuUse bigCache{8 * GiB, 2 * GiB, true, false, {}};
        QCOMPARE(CoTenancy::bytesNeededBeforeGenerating(e, bigCache, 0), 0LL);
    }

    void estimate() {
        GenerationShape sd15;
        sd15.weightsBytes = 2 * GiB;
        const GenerationVramEstimate e = estimateGenerationVram(sd15);
        // tokens 64·64 = 4096; UNet = 2·4096·2·(24·320 + 8·4096) = 662,700,032 bytes.
        QCOMPARE(e.unetBytes, 662700032LL);
        QCOMPARE(e.vaeBytes, 512 * MiB);
        QCOMPARE(e.workingBytes, e.unetBytes);
        QCOMPARE(e.totalBytes, 2 * GiB + 662700032LL);
        QVERIFY(e.explanation.startsWith(
            QStringLiteral("512x512, batch 1: weights 2.0 GiB + working memory 632 MiB")));

        // Doubling the side quadruples the tokens; the score matrix grows with their square.
        GenerationShape big = sd15;
        big.width = big.height = 1024;
        QVERIFY(estimateGenerationVram(big).unetBytes > 10 * e.unetBytes);
        big.materializedAttention = false; // SDPA: linear in the tokens
        QCOMPARE(estimateGenerationVram(big).unetBytes, 2LL * 16384 * 2 * 24 * 320);
        // Batch 4 without guidance = the same UNet batch as 2 with it.
        GenerationShape b4 = sd15;
        b4.batch = 4;
        b4.guidance = false;
        GenerationShape b2 = sd15;
        b2.batch = 2;
        QCOMPARE(estimateGenerationVram(b4).unetBytes, estimateGenerationVram(b2).unetBytes);
    }
};

QTEST_GUILESS_MAIN(TestServicesCoTenancy)
#include "tst_services_cotenancy.moc"
