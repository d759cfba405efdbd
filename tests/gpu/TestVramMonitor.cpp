// The VRAM monitor with scripted sources: what it emits, when, from which thread.
#include "core/gpu/SystemVramSource.h"
#include "core/gpu/VramMonitor.h"
#include "core/settings/Settings.h"
#include "tests/gpu/GpuTests.h"
#include "tests/support/ScriptedVramSource.h"

#include <QElapsedTimer>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

#include <algorithm>
#include <atomic>
#include <stdexcept>

using namespace tp::gpu;
using tp::test::ScriptedVramSource;

namespace {

constexpr qint64 MiB = 1024 * 1024;

VramSample sampleAt(const QSignalSpy& spy, int i) {
    return spy.at(i).at(0).value<VramSample>();
}

// Takes its time and remembers which thread asked.
class SlowSource final : public VramSource {
public:
    explicit SlowSource(int delayMs)
        : m_delayMs(delayMs) {}
    VramSample sample() override {
        m_thread = QThread::currentThread();
        QThread::msleep(static_cast<unsigned long>(m_delayMs));
        return ScriptedVramSource::gpuSample(1024);
    }
    QString name() const override { return QStringLiteral("slow"); }
    std::atomic<QThread*> m_thread{nullptr};

private:
    int m_delayMs;
};

class ThrowingSource final : public VramSource {
public:
    VramSample sample() override { throw std::runtime_error("driver went away"); }
    QString name() const override { return QStringLiteral("throwing"); }
};

} // namespace

class TestVramMonitor final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void emitsWhatTheSourceGivesInOrder() {
        QVector<VramSample> script;
        for (qint64 used : {100, 200, 300, 400, 500})
            script.push_back(ScriptedVramSource::gpuSample(used, 8192, used / 2));
        VramMonitor monitor(std::make_unique<ScriptedVramSource>(script));
        monitor.setInterval(20);
        QSignalSpy spy(&monitor, &VramMonitor::sampled);
        monitor.start();
        QTRY_VERIFY_WITH_TIMEOUT(spy.count() >= 6, 10000);
        monitor.stop();
        // Samples taken just before stop() may still be on their way (queued signals).
        QTRY_COMPARE(spy.count(), int(monitor.history().size()));

        qint64 previous = 0;
        for (int i = 0; i < spy.count(); ++i) {
            const VramSample s = sampleAt(spy, i);
            QVERIFY(s.gpuAvailable);
            QCOMPARE(s.devices.size(), 1);
            const qint64 expectedMiB = i < 5 ? 100 * (i + 1) : 500; // then the last one again
            QCOMPARE(s.devices[0].usedBytes, expectedMiB * MiB);
            QCOMPARE(s.devices[0].processes.size(), 1);
            QVERIFY(s.devices[0].processes[0].isOllama);
            QCOMPARE(s.devices[0].processes[0].usedBytes, expectedMiB / 2 * MiB);
            QVERIFY(s.msecsSinceEpoch >= previous && s.msecsSinceEpoch > 0); // stamped by the monitor
            previous = s.msecsSinceEpoch;
        }
        // The history holds the same samples, oldest first.
        const QVector<VramSample> history = monitor.history();
        QCOMPARE(history.size(), spy.count());
        for (int i = 0; i < history.size(); ++i)
            QCOMPARE(history[i].msecsSinceEpoch, sampleAt(spy, i).msecsSinceEpoch);
        QCOMPARE(monitor.latest()->devices[0].usedBytes, 500 * MiB);
    }

    void keepsTheSourcesTimestamps() {
        VramMonitor monitor(std::make_unique<ScriptedVramSource>(
            QVector<VramSample>{ScriptedVramSource::gpuSample(1, 8192, 0, 1234567)}));
        QSignalSpy spy(&monitor, &VramMonitor::sampled);
        monitor.start();
        QTRY_VERIFY(spy.count() >= 1);
        QCOMPARE(sampleAt(spy, 0).msecsSinceEpoch, 1234567);
    }

    void samplesAtTheInterval() {
        auto source =
            std::make_unique<ScriptedVramSource>(QVector<VramSample>{ScriptedVramSource::gpuSample(1)});
        ScriptedVramSource* raw = source.get();
        VramMonitor monitor(std::move(source));
        monitor.setInterval(50);
        QSignalSpy spy(&monitor, &VramMonitor::sampled);
        QElapsedTimer clock;
        clock.start();
        monitor.start();
        QTRY_VERIFY_WITH_TIMEOUT(spy.count() >= 11, 10000);
        const qint64 elapsed = clock.elapsed();
        monitor.stop();
        // 1 at start + 10 intervals of 50 ms: about 500 ms; a loaded machine may be slower, never faster.
        QVERIFY2(elapsed >= 450, qPrintable(QString::number(elapsed)));
        QVector<qint64> gaps;
        for (int i = 1; i < spy.count(); ++i)
            gaps.push_back(sampleAt(spy, i).msecsSinceEpoch - sampleAt(spy, i - 1).msecsSinceEpoch);
        std::sort(gaps.begin(), gaps.end());
        const qint64 median = gaps[gaps.size() / 2];
        QVERIFY2(median >= 40 && median <= 150, qPrintable(QStringLiteral("median gap %1 ms").arg(median)));
        // Stopped means stopped.
        const int calls = raw->calls();
        QTest::qWait(150);
        QCOMPARE(raw->calls(), calls);
        QVERIFY(!monitor.isRunning());
    }

    void intervalChangesWhileRunning() {
        VramMonitor monitor(
            std::make_unique<ScriptedVramSource>(QVector<VramSample>{ScriptedVramSource::gpuSample(1)}));
        monitor.setInterval(5000);
        QSignalSpy spy(&monitor, &VramMonitor::sampled);
        QSignalSpy changed(&monitor, &VramMonitor::intervalChanged);
        monitor.start();
        QTRY_COMPARE(spy.count(), 1); // the immediate one; the next would be in 5 s
        monitor.setInterval(20);
        QCOMPARE(changed.count(), 1);
        QCOMPARE(changed.at(0).at(0).toInt(), 20);
        QTRY_VERIFY_WITH_TIMEOUT(spy.count() >= 6, 3000);
    }

    void samplingNeverBlocksTheCallersThread() {
        auto source = std::make_unique<SlowSource>(400);
        SlowSource* raw = source.get();
        VramMonitor monitor(std::move(source));
        QSignalSpy spy(&monitor, &VramMonitor::sampled);
        QElapsedTimer clock;
        clock.start();
        monitor.start();
        QVERIFY2(clock.elapsed() < 200, "start() waited for the source");
        // The event loop keeps turning while the source sleeps in the monitor's thread.
        clock.restart();
        QTest::qWait(50);
        QVERIFY2(clock.elapsed() < 300, "the caller's event loop stalled");
        QTRY_VERIFY_WITH_TIMEOUT(spy.count() >= 1, 5000);
        QVERIFY(raw->m_thread.load() != nullptr);
        QVERIFY(raw->m_thread.load() != QThread::currentThread());
        monitor.stop();
    }

    void noGpuIsASampleWithAReason() {
        const QString reason = QStringLiteral("No NVIDIA driver (libnvidia-ml.so.1 not found)");
        VramMonitor monitor(std::make_unique<ScriptedVramSource>(
            QVector<VramSample>{ScriptedVramSource::noGpuSample(reason)}));
        QSignalSpy spy(&monitor, &VramMonitor::sampled);
        monitor.start();
        QTRY_VERIFY(spy.count() >= 1);
        const VramSample s = sampleAt(spy, 0);
        QVERIFY(!s.gpuAvailable);
        QCOMPARE(s.noGpuReason, reason);
        QVERIFY(s.devices.isEmpty());
    }

    void aThrowingSourceBecomesAReason() {
        VramMonitor monitor(std::make_unique<ThrowingSource>());
        QSignalSpy spy(&monitor, &VramMonitor::sampled);
        monitor.start();
        QTRY_VERIFY(spy.count() >= 1);
        const VramSample s = sampleAt(spy, 0);
        QVERIFY(!s.gpuAvailable);
        QCOMPARE(s.noGpuReason, QStringLiteral("VRAM sampling failed: driver went away"));
    }

    void restartContinuesWithTheSameSource() {
        QVector<VramSample> script;
        for (qint64 used = 1; used <= 50; ++used)
            script.push_back(ScriptedVramSource::gpuSample(used));
        auto source = std::make_unique<ScriptedVramSource>(script);
        ScriptedVramSource* raw = source.get();
        VramMonitor monitor(std::move(source));
        monitor.setInterval(20);
        QSignalSpy spy(&monitor, &VramMonitor::sampled);
        monitor.start();
        monitor.start(); // no second thread
        QTRY_VERIFY(spy.count() >= 2);
        monitor.stop();
        QCoreApplication::processEvents(); // deliver what was queued before stop
        const int before = spy.count();
        QCOMPARE(raw->calls(), before);
        monitor.start();
        QTRY_VERIFY(spy.count() >= before + 2);
        monitor.stop();
        QCoreApplication::processEvents();
        QCOMPARE(sampleAt(spy, before).devices[0].usedBytes, (before + 1) * MiB); // the script went on
        QCOMPARE(monitor.history().size(), spy.count());
    }

    void requestSampleTakesOneNow() {
        VramMonitor monitor(
            std::make_unique<ScriptedVramSource>(QVector<VramSample>{ScriptedVramSource::gpuSample(1)}));
        monitor.setInterval(60000);
        QSignalSpy spy(&monitor, &VramMonitor::sampled);
        monitor.start();
        QTRY_COMPARE(spy.count(), 1);
        monitor.requestSample();
        QTRY_COMPARE(spy.count(), 2);
    }

    void followsTheIntervalSetting() {
        QTemporaryDir dir;
        tp::Settings settings(dir.filePath(QStringLiteral("monitor.conf")));
        VramMonitor monitor(std::unique_ptr<VramSource>{});
        monitor.followSettings(settings);
        QCOMPARE(monitor.interval(), 500); // the default
        QVERIFY(settings.set(tp::keys::MonitorIntervalMs, 250).isOk());
        QCOMPARE(monitor.interval(), 250);
        QCOMPARE(monitor.historyCapacity(),
                 VramMonitor::capacityFor(250, VramMonitor::DefaultHistorySeconds));
    }

    void theSystemSourceNeverPretends() {
        // Whatever this machine has: a GPU with real figures, or no GPU and a reason.
        VramMonitor monitor;
        QSignalSpy spy(&monitor, &VramMonitor::sampled);
        monitor.start();
        QTRY_VERIFY_WITH_TIMEOUT(spy.count() >= 1, 10000);
        const VramSample s = sampleAt(spy, 0);
        if (s.gpuAvailable) {
            QVERIFY(!s.devices.isEmpty());
            QVERIFY(s.devices[0].totalBytes > 0);
            QVERIFY(s.noGpuReason.isEmpty());
        } else {
            QVERIFY(s.devices.isEmpty());
            QVERIFY(!s.noGpuReason.isEmpty());
            QVERIFY(!s.self.valid);
            qInfo("no GPU here: %s", qPrintable(s.noGpuReason));
        }
    }
};

TP_GPU_TEST_CLASS(TestVramMonitor);

#include "TestVramMonitor.moc"
