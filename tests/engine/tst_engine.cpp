// The engine on its worker thread with the fixture model on the CPU: a generation end to end
// (PNG + sidecar), the queue, cancellation mid-run, errors (a model file that disappears, bad
// parameters, a corrupt weight file) that leave the engine usable, and the unload policy.
#include "core/engine/Engine.h"
#include "tests/support/TestUtil.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <memory>
#include <new>
#include <stdexcept>

using namespace tp::engine;

namespace {

QString fixtureModel() {
    return QStringLiteral(TP_TEST_DATA_DIR "/sd15-tiny/pipeline");
}

bool copyTree(const QString& from, const QString& to) {
    QDir().mkpath(to);
    const QDir src(from);
    for (const QFileInfo& fi : src.entryInfoList(QDir::Files | QDir::Dirs | QDir::NoDotAndDotDot)) {
        const QString target = QDir(to).filePath(fi.fileName());
        if (fi.isDir() ? !copyTree(fi.filePath(), target) : !QFile::copy(fi.filePath(), target))
            return false;
    }
    return true;
}

GenerationRequest request(const QString& model, int steps = 3) {
    GenerationRequest r;
    r.model = model;
    r.prompt = QStringLiteral("a red circle on a blue background");
    r.negativePrompt = QStringLiteral("blurry");
    r.sampler = QStringLiteral("euler");
    r.steps = steps;
    r.width = 64;
    r.height = 64;
    r.seed = 42;
    r.device = QStringLiteral("cpu");
    r.precision = QStringLiteral("fp32");
    return r;
}

// Waits until the engine has answered request `id` one way or the other.
QString outcome(QSignalSpy& finished, QSignalSpy& failed, QSignalSpy& cancelled, quint64 id,
                int timeoutMs = 120000) {
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < timeoutMs) {
        for (const auto& args : std::as_const(finished))
            if (args.at(0).value<GenerationResult>().request.id == id)
                return QStringLiteral("finished");
        for (const auto& args : std::as_const(failed))
            if (args.at(0).toULongLong() == id)
                return QStringLiteral("failed: ") + args.at(1).toString();
        for (const auto& args : std::as_const(cancelled))
            if (args.at(0).toULongLong() == id)
                return QStringLiteral("cancelled");
        QTest::qWait(20);
    }
    return QStringLiteral("timeout");
}

} // namespace

class TestEngine final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::unique_ptr<Engine> m_engine;
    std::unique_ptr<QSignalSpy> m_finished, m_failed, m_cancelled, m_progress;

    QString run(const GenerationRequest& r) {
        const quint64 id = m_engine->submit(r);
        return outcome(*m_finished, *m_failed, *m_cancelled, id);
    }
    GenerationResult lastResult() const { return m_finished->last().at(0).value<GenerationResult>(); }

private Q_SLOTS:
    void init() {
        m_engine = std::make_unique<Engine>();
        m_engine->setModelSources({}, {});
        m_finished = std::make_unique<QSignalSpy>(m_engine.get(), &Engine::finished);
        m_failed = std::make_unique<QSignalSpy>(m_engine.get(), &Engine::failed);
        m_cancelled = std::make_unique<QSignalSpy>(m_engine.get(), &Engine::cancelled);
        m_progress = std::make_unique<QSignalSpy>(m_engine.get(), &Engine::progress);
    }
    void cleanup() {
        m_progress.reset();
        m_cancelled.reset();
        m_failed.reset();
        m_finished.reset();
        m_engine.reset();
    }

    void generatesAndWritesPngAndSidecar() {
        GenerationRequest r = request(fixtureModel());
        r.outputDir = m_dir.filePath(QStringLiteral("out"));
        QCOMPARE(run(r), QStringLiteral("finished"));
        const GenerationResult res = lastResult();
        QCOMPARE(res.images.size(), 1);
        QCOMPARE(res.images[0].size(), QSize(64, 64));
        QCOMPARE(res.seeds, QVector<qint64>{42});
        QCOMPARE(res.files.size(), 1);
        QVERIFY(QFile::exists(res.files[0]));
        QVERIFY(res.timings.denoiseMs > 0);
        QCOMPARE(m_progress->size(), 3);
        // The first step brings a preview; later ones only when 200 ms have passed (each waits for the GPU).
        QVERIFY(!m_progress->at(0).at(0).value<Progress>().preview.isNull());
        const QString sidecar = res.files[0].left(res.files[0].size() - 4) + QStringLiteral(".json");
        QFile f(sidecar);
        QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(sidecar));
        const QJsonObject o = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(o.value(QStringLiteral("prompt")).toString(), r.prompt);
        QCOMPARE(o.value(QStringLiteral("negativePrompt")).toString(), r.negativePrompt);
        QCOMPARE(o.value(QStringLiteral("seed")).toInteger(), 42);
        QCOMPARE(o.value(QStringLiteral("steps")).toInt(), 3);
        QTRY_COMPARE(m_engine->state(), State::Idle);
    }

    // Where nothing shows a preview (the CLI), none is rendered: the loop never waits for the GPU.
    void noPreviewWhenNotWanted() {
        GenerationRequest r = request(fixtureModel());
        r.preview = false;
        QCOMPARE(run(r), QStringLiteral("finished"));
        QCOMPARE(m_progress->size(), 3);
        for (const QList<QVariant>& args : *m_progress)
            QVERIFY(args.at(0).value<Progress>().preview.isNull());
    }

    void sameSeedSameImage() {
        QCOMPARE(run(request(fixtureModel())), QStringLiteral("finished"));
        const QImage a = lastResult().images.value(0);
        QCOMPARE(run(request(fixtureModel())), QStringLiteral("finished"));
        QCOMPARE(lastResult().images.value(0), a);
        GenerationRequest other = request(fixtureModel());
        other.seed = 43;
        QCOMPARE(run(other), QStringLiteral("finished"));
        QVERIFY(lastResult().images.value(0) != a);
    }

    void queuedRequestsRunInOrder() {
        const quint64 a = m_engine->submit(request(fixtureModel()));
        const quint64 b = m_engine->submit(request(fixtureModel()));
        QCOMPARE(outcome(*m_finished, *m_failed, *m_cancelled, b), QStringLiteral("finished"));
        QCOMPARE(m_finished->size(), 2);
        QCOMPARE(m_finished->at(0).at(0).value<GenerationResult>().request.id, a);
        QCOMPARE(m_finished->at(1).at(0).value<GenerationResult>().request.id, b);
    }

    void cancelMidRunLeavesEngineUsable() {
        const GenerationRequest r = request(fixtureModel(), 200);
        const quint64 id = m_engine->submit(r);
        QVERIFY(m_progress->wait(60000)); // running: at least one step done
        m_engine->cancel(id);
        QCOMPARE(outcome(*m_finished, *m_failed, *m_cancelled, id), QStringLiteral("cancelled"));
        QVERIFY(m_progress->size() < 200);
        QTRY_COMPARE(m_engine->state(), State::Idle);
        QCOMPARE(run(request(fixtureModel())), QStringLiteral("finished"));
    }

    void cancelAllSparesLaterRequests() {
        const quint64 a = m_engine->submit(request(fixtureModel(), 200));
        QVERIFY(m_progress->wait(60000));
        m_engine->cancel(0); // what the window's Cancel button does
        QCOMPARE(outcome(*m_finished, *m_failed, *m_cancelled, a), QStringLiteral("cancelled"));
        QCOMPARE(run(request(fixtureModel())), QStringLiteral("finished"));
    }

    void cancelQueuedRequest() {
        const quint64 a = m_engine->submit(request(fixtureModel(), 50));
        const quint64 b = m_engine->submit(request(fixtureModel()));
        m_engine->cancel(b);
        QCOMPARE(outcome(*m_finished, *m_failed, *m_cancelled, b), QStringLiteral("cancelled"));
        QCOMPARE(outcome(*m_finished, *m_failed, *m_cancelled, a), QStringLiteral("finished"));
    }

    void missingModelFileIsReportedAndEngineStaysUsable() {
        const QString copy = m_dir.filePath(QStringLiteral("vanishing"));
        QVERIFY(copyTree(fixtureModel(), copy));
        const QString weights = copy + QStringLiteral("/unet/diffusion_pytorch_model.safetensors");
        const QString moved = m_dir.filePath(QStringLiteral("unet-weights.moved"));
        QVERIFY(QFile::rename(weights, moved));
        const QString answer = run(request(copy));
        QVERIFY2(answer.startsWith(QStringLiteral("failed: ")), qPrintable(answer));
        QVERIFY2(answer.contains(QStringLiteral("unet")), qPrintable(answer));
        QTRY_COMPARE(m_engine->state(), State::Idle);
        // The same engine runs the next request, and the model once the file is back.
        QCOMPARE(run(request(fixtureModel())), QStringLiteral("finished"));
        QVERIFY(QFile::rename(moved, weights));
        QCOMPARE(run(request(copy)), QStringLiteral("finished"));
    }

    void corruptWeightsAreReported() {
        const QString copy = m_dir.filePath(QStringLiteral("corrupt"));
        QVERIFY(copyTree(fixtureModel(), copy));
        QFile f(copy + QStringLiteral("/vae/diffusion_pytorch_model.safetensors"));
        QVERIFY(f.open(QIODevice::ReadWrite));
        f.resize(f.size() / 2); // truncated download
        f.close();
        const QString answer = run(request(copy));
        QVERIFY2(answer.startsWith(QStringLiteral("failed: ")), qPrintable(answer));
        QVERIFY2(answer.contains(QStringLiteral("vae")), qPrintable(answer));
        QCOMPARE(run(request(fixtureModel())), QStringLiteral("finished"));
    }

    void badParametersAreReported() {
        GenerationRequest r = request(fixtureModel());
        r.width = 60; // not a multiple of 8
        const QString answer = run(r);
        QVERIFY2(answer.startsWith(QStringLiteral("failed: ")), qPrintable(answer));
        QVERIFY2(answer.contains(QStringLiteral("8")), qPrintable(answer));
        QCOMPARE(run(request(fixtureModel())), QStringLiteral("finished"));
    }

    void unloadPolicyOnTheCpuIsHarmless() {
        GpuPolicy p;
        p.cleanupAfterGeneration = true;
        p.unloadAfterGeneration = true;
        m_engine->setPolicy(p);
        QCOMPARE(run(request(fixtureModel())), QStringLiteral("finished"));
        const QImage a = lastResult().images.value(0);
        QVERIFY(!lastResult().unloaded); // CPU weights have nowhere cheaper to go
        QCOMPARE(run(request(fixtureModel())), QStringLiteral("finished"));
        QCOMPARE(lastResult().images.value(0), a);
    }

    // Every engine-thread path survives a libtorch error or a failed (pinned) allocation: the
    // failure is reported and the next generation works.
    void injectedFailuresLeaveTheEngineRunning_data() {
        QTest::addColumn<QString>("point");
        QTest::addColumn<bool>("badAlloc");
        for (const char* point :
             {"load", "generate", "policy", "write", "cleanup", "unload", "idle-unload"}) {
            QTest::newRow(QByteArray(point).append(" bad_alloc").constData())
                << QString::fromLatin1(point) << true;
            QTest::newRow(QByteArray(point).append(" error").constData())
                << QString::fromLatin1(point) << false;
        }
    }
    void injectedFailuresLeaveTheEngineRunning() {
        QFETCH(QString, point);
        QFETCH(bool, badAlloc);
        auto armed = std::make_shared<std::atomic<bool>>(false);
        m_engine->setFaultInjector([armed, point, badAlloc](const QString& at) {
            if (at != point || !armed->exchange(false))
                return;
            if (badAlloc)
                throw std::bad_alloc();
            throw std::runtime_error("CUDA error: an illegal memory access was encountered (injected)");
        });
        // A model in memory first, so that every path has something to work on.
        QCOMPARE(run(request(fixtureModel())), QStringLiteral("finished"));
        m_failed->clear();
        const QString cause =
            badAlloc ? QStringLiteral("ran out of memory") : QStringLiteral("illegal memory access");
        auto failedWithoutId = [this](const QString& what) {
            for (const auto& args : std::as_const(*m_failed))
                if (args.at(0).toULongLong() == 0 && args.at(1).toString().contains(what))
                    return true;
            return false;
        };
        armed->store(true);
        if (point == QLatin1String("load")) {
            const QString copy = m_dir.filePath(QStringLiteral("fault-load-model"));
            QVERIFY(QFileInfo::exists(copy) || copyTree(fixtureModel(), copy)); // another model: a load
            const QString o = run(request(copy));
            QVERIFY2(o.startsWith(QStringLiteral("failed: ")) && (o.contains(cause) || badAlloc),
                     qPrintable(o));
        } else if (point == QLatin1String("generate")) {
            const QString o = run(request(fixtureModel()));
            QVERIFY2(o.startsWith(QStringLiteral("failed: ")), qPrintable(o));
            QVERIFY2(badAlloc ? o.contains(QStringLiteral("out of memory")) : o.contains(cause),
                     qPrintable(o));
        } else if (point == QLatin1String("policy")) {
            QCOMPARE(run(request(fixtureModel())), QStringLiteral("finished"));
            QCOMPARE(lastResult().images.size(), 1); // the image is not lost
            QTRY_VERIFY(failedWithoutId(QStringLiteral("after-generation GPU memory policy failed")));
            QTRY_VERIFY(failedWithoutId(cause));
        } else if (point == QLatin1String("write")) {
            GenerationRequest r = request(fixtureModel());
            r.outputDir = m_dir.filePath(QStringLiteral("fault-write"));
            QCOMPARE(run(r), QStringLiteral("finished"));
            QVERIFY2(lastResult().writeError.contains(r.outputDir), qPrintable(lastResult().writeError));
            QVERIFY(lastResult().files.isEmpty());
            QCOMPARE(lastResult().images.size(), 1);
        } else if (point == QLatin1String("cleanup") || point == QLatin1String("unload")) {
            auto done = std::make_shared<std::atomic<bool>>(false);
            if (point == QLatin1String("cleanup"))
                m_engine->cleanupNow([done] { *done = true; });
            else
                m_engine->unloadNow([done] { *done = true; });
            QTRY_VERIFY(done->load()); // the caller (make room, the Services panel) is not left waiting
            QTRY_VERIFY(failedWithoutId(point == QLatin1String("cleanup")
                                            ? QStringLiteral("Freeing GPU memory failed")
                                            : QStringLiteral("Unloading the model failed")));
            QVERIFY(failedWithoutId(cause));
        } else if (point == QLatin1String("idle-unload")) {
            GpuPolicy policy;
            policy.idleUnloadMinutes = 0.001; // 60 ms
            m_engine->setPolicy(policy);
            QTRY_VERIFY(failedWithoutId(QStringLiteral("Unloading the idle model failed")));
            QVERIFY(failedWithoutId(cause));
            m_engine->setPolicy(GpuPolicy());
        }
        QVERIFY(!armed->load()); // the failure was injected
        QTRY_COMPARE(m_engine->state(), State::Idle);
        QCOMPARE(run(request(fixtureModel())), QStringLiteral("finished"));
        QCOMPARE(lastResult().images.size(), 1);
    }

    // Where the weights live is the enum, with the device: a model running on the CPU is "on the
    // CPU" (Residency::Cpu, device -1), never "unloaded to RAM"; the sidecar's memory figures say
    // which device they are of.
    void residencyIsTheEnumWithTheDevice() {
        qRegisterMetaType<tp::gpu::Residency>();
        QSignalSpy residency(m_engine.get(), &Engine::residencyChanged);
        GenerationRequest r = request(fixtureModel());
        r.outputDir = m_dir.filePath(QStringLiteral("residency"));
        QCOMPARE(run(r), QStringLiteral("finished"));
        QTRY_VERIFY(!residency.isEmpty());
        const QList<QVariant> last = residency.last();
        QCOMPARE(last.at(0).toString(), QStringLiteral("pipeline"));
        QCOMPARE(last.at(1).value<tp::gpu::Residency>(), tp::gpu::Residency::Cpu);
        QVERIFY(last.at(2).toLongLong() > 0);
        QCOMPARE(last.at(3).toInt(), -1);
        QFile f(lastResult().files.value(0).chopped(4) + QStringLiteral(".json"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject memory =
            QJsonDocument::fromJson(f.readAll()).object().value(QStringLiteral("memory")).toObject();
        QVERIFY(memory.value(QStringLiteral("afterCleanup")).toObject().contains(QStringLiteral("device")));
        QCOMPARE(
            memory.value(QStringLiteral("afterCleanup")).toObject().value(QStringLiteral("cuda")).toBool(),
            false);
    }

    // SD 3 without T5: T5 is not loaded; a run with it loads the model anew; a run without it then
    // drops T5 from the loaded model (its weights leave, an event says so) and draws the same image
    // as the model loaded without it. Flux cannot run without T5 and says so.
    void withoutT5LeavesT5Out() {
        qRegisterMetaType<tp::gpu::Residency>();
        QSignalSpy residency(m_engine.get(), &Engine::residencyChanged);
        QSignalSpy events(m_engine.get(), &Engine::memoryEvent);
        GenerationRequest r = request(QStringLiteral(TP_TEST_DATA_DIR "/sd3-tiny/pipeline"), 2);
        r.withoutT5 = true;
        r.outputDir = m_dir.filePath(QStringLiteral("without-t5"));
        const auto weights = [&] { return residency.last().at(2).toLongLong(); };
        QCOMPARE(run(r), QStringLiteral("finished"));
        const GenerationResult first = lastResult();
        QVERIFY(first.request.withoutT5);
        const qint64 withoutT5 = weights();
        QFile f(first.files.value(0).chopped(4) + QStringLiteral(".json"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QJsonObject sidecar = QJsonDocument::fromJson(f.readAll()).object();
        QCOMPARE(sidecar.value(QStringLiteral("withoutT5")).toBool(), true);
        QVERIFY2(sidecar.value(QStringLiteral("parameters")).toString().contains(QStringLiteral("T5: off")),
                 qPrintable(sidecar.value(QStringLiteral("parameters")).toString()));

        r.withoutT5 = false;
        QCOMPARE(run(r), QStringLiteral("finished"));
        const qint64 withT5 = weights();
        QVERIFY2(withT5 > withoutT5, qPrintable(QStringLiteral("%1 vs %2").arg(withT5).arg(withoutT5)));
        QVERIFY(lastResult().images[0] != first.images[0]); // T5 changes the picture

        events.clear();
        r.withoutT5 = true;
        QCOMPARE(run(r), QStringLiteral("finished"));
        QCOMPARE(weights(), withoutT5);
        QCOMPARE(lastResult().images[0], first.images[0]);
        bool released = false;
        for (const auto& args : std::as_const(events))
            released = released || args.at(0).value<MemoryEvent>().detail.contains(
                                       QStringLiteral("text_encoder_3 released"));
        QVERIFY(released);

        GenerationRequest flux = request(QStringLiteral(TP_TEST_DATA_DIR "/flux-tiny/pipeline"), 2);
        flux.withoutT5 = true;
        const QString refused = run(flux);
        QVERIFY2(refused.contains(QStringLiteral("cannot run without T5")), qPrintable(refused));
    }

    void failureAtShutdownIsContained() {
        auto hits = std::make_shared<std::atomic<int>>(0);
        QCOMPARE(run(request(fixtureModel())), QStringLiteral("finished"));
        m_engine->setFaultInjector([hits](const QString& at) {
            if (at == QLatin1String("shutdown")) {
                ++*hits;
                throw std::bad_alloc();
            }
        });
        cleanup(); // ~Engine: the worker's shutdown throws inside
        QCOMPARE(hits->load(), 1);
        init();
        QCOMPARE(run(request(fixtureModel())), QStringLiteral("finished"));
    }
};

QTEST_GUILESS_MAIN(TestEngine)
#include "tst_engine.moc"
