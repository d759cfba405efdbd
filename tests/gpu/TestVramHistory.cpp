// The monitor's ring buffer: capacity, order, wrap-around and the time window.
#include "core/gpu/VramHistory.h"
#include "core/gpu/VramMonitor.h"
#include "tests/gpu/GpuTests.h"

#include <QtTest>

#include <atomic>
#include <thread>

using namespace tp::gpu;

namespace {

VramSample stamped(qint64 ms) {
    VramSample s;
    s.msecsSinceEpoch = ms;
    return s;
}

QVector<qint64> times(const QVector<VramSample>& samples) {
    QVector<qint64> t;
    for (const VramSample& s : samples)
        t.push_back(s.msecsSinceEpoch);
    return t;
}

} // namespace

class TestVramHistory final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void fillsThenWrapsOldestFirst() {
        VramHistory h(3);
        QCOMPARE(h.capacity(), 3);
        QVERIFY(h.isEmpty());
        QVERIFY(!h.latest());
        h.append(stamped(1));
        h.append(stamped(2));
        QCOMPARE(times(h.samples()), (QVector<qint64>{1, 2}));
        QCOMPARE(h.latest()->msecsSinceEpoch, 2);
        h.append(stamped(3));
        QCOMPARE(times(h.samples()), (QVector<qint64>{1, 2, 3}));
        h.append(stamped(4));
        h.append(stamped(5));
        QCOMPARE(h.size(), 3);
        QCOMPARE(times(h.samples()), (QVector<qint64>{3, 4, 5}));
        QCOMPARE(h.latest()->msecsSinceEpoch, 5);
        h.clear();
        QVERIFY(h.isEmpty());
    }

    void wrapsAroundManyTimes() {
        VramHistory h(7);
        for (qint64 i = 1; i <= 100; ++i) {
            h.append(stamped(i));
            QCOMPARE(h.latest()->msecsSinceEpoch, i);
        }
        QCOMPARE(times(h.samples()), (QVector<qint64>{94, 95, 96, 97, 98, 99, 100}));
    }

    void changingCapacityKeepsTheNewest() {
        VramHistory h(5);
        for (qint64 i = 1; i <= 8; ++i) // wrapped: 4..8
            h.append(stamped(i));
        h.setCapacity(3);
        QCOMPARE(times(h.samples()), (QVector<qint64>{6, 7, 8}));
        h.append(stamped(9));
        QCOMPARE(times(h.samples()), (QVector<qint64>{7, 8, 9}));
        h.setCapacity(6);
        QCOMPARE(times(h.samples()), (QVector<qint64>{7, 8, 9}));
        for (qint64 i = 10; i <= 13; ++i)
            h.append(stamped(i));
        QCOMPARE(times(h.samples()), (QVector<qint64>{8, 9, 10, 11, 12, 13}));
        QCOMPARE(h.latest()->msecsSinceEpoch, 13);
        h.setCapacity(0); // at least one
        QCOMPARE(times(h.samples()), (QVector<qint64>{13}));
    }

    void windowCountsBackFromTheNewest() {
        VramHistory h(100);
        for (qint64 t = 0; t <= 5000; t += 500)
            h.append(stamped(1000000 + t));
        QCOMPARE(times(h.window(2000)), (QVector<qint64>{1003000, 1003500, 1004000, 1004500, 1005000}));
        QCOMPARE(h.window(0).size(), 1);
        QCOMPARE(h.window(60000).size(), 11);
        QVERIFY(VramHistory(4).window(1000).isEmpty());
    }

    void holdsFifteenMinutesAtTheInterval() {
        for (int interval : {100, 250, 500, 1000, 2000, 10000}) {
            const int capacity = VramMonitor::capacityFor(interval, VramMonitor::DefaultHistorySeconds);
            QVERIFY2(qint64(capacity - 1) * interval >= 15 * 60 * 1000,
                     qPrintable(QString::number(interval)));
        }
        QCOMPARE(VramMonitor::capacityFor(500, 1200), 2401);
        QCOMPARE(VramMonitor::capacityFor(1, 1200), VramMonitor::MaxHistorySamples);

        VramMonitor monitor(std::unique_ptr<VramSource>{});
        QCOMPARE(monitor.historyCapacity(), 2401);
        monitor.setInterval(1000);
        QCOMPARE(monitor.interval(), 1000);
        QCOMPARE(monitor.historyCapacity(), 1201);
        monitor.setInterval(1); // clamped
        QCOMPARE(monitor.interval(), VramMonitor::MinIntervalMs);
        monitor.setHistorySeconds(60);
        QCOMPARE(monitor.historyCapacity(), VramMonitor::capacityFor(VramMonitor::MinIntervalMs, 60));
    }

    void readersSeeOrderedCopiesWhileAWriterAppends() {
        VramHistory h(64);
        std::atomic<bool> done{false};
        std::thread writer([&] {
            for (qint64 i = 1; i <= 20000; ++i)
                h.append(stamped(i));
            done = true;
        });
        int reads = 0;
        bool ordered = true;
        while (!done || reads == 0) {
            const QVector<VramSample> copy = h.samples();
            for (int i = 1; i < copy.size(); ++i)
                ordered = ordered && copy[i].msecsSinceEpoch == copy[i - 1].msecsSinceEpoch + 1;
            ++reads;
        }
        writer.join();
        QVERIFY(ordered);
        QCOMPARE(h.latest()->msecsSinceEpoch, 20000);
        QCOMPARE(h.samples().first().msecsSinceEpoch, 20000 - 63);
    }
};

TP_GPU_TEST_CLASS(TestVramHistory);

#include "TestVramHistory.moc"
