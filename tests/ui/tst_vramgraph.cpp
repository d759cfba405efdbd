// The VRAM graph and panel draw what scripted samples say: checked on the rendered pixels.
#include "tests/ui/UiTestUtil.h"
#include "ui/VramGraph.h"
#include "ui/VramPanel.h"

#include <QApplication>
#include <QPushButton>
#include <QSignalSpy>
#include <QtTest>

using namespace tp;
using namespace tp::test;
using tp::ui::VramGraph;
using tp::ui::VramPanel;
using Series = VramGraph::Series;

namespace {

constexpr qint64 T0 = 1'800'000'000'000; // a fixed clock: tests never read the real one

// A minute of samples: 8 GiB card, 4 GiB used, TwistedPic 1 GiB reserved / 0.5 GiB allocated,
// one Ollama runner with 2 GiB and another process with 256 MiB.
QVector<gpu::VramSample> steadyMinute(bool withProcesses = true, bool withAllocator = true) {
    QVector<gpu::VramSample> out;
    for (int i = 0; i <= 60; ++i) {
        gpu::VramSample s = gpuSample(T0 + i * 1000, 8 * GiB, 4 * GiB, withAllocator ? 1 * GiB : -1,
                                      withAllocator ? 512 * MiB : -1);
        if (withProcesses) {
            addProcess(s, 4242, QStringLiteral("ollama_llama_se"), 2 * GiB, true);
            addProcess(s, 777, QStringLiteral("firefox"), 256 * MiB, false);
            addProcess(s, 1000, QStringLiteral("twistedpic"), 1200 * MiB, false, true);
        }
        out << s;
    }
    return out;
}

// The y of the series line within 3 px of `expected` in column x, or -1000 when absent.
int lineNear(const QImage& img, const VramGraph& g, int x, const QColor& color, double expected) {
    const QRectF plot = g.plotRect();
    int best = -1000;
    for (int y : rowsWithColor(img, x, int(plot.top()) + 1, int(plot.bottom()) - 1, color, 45))
        if (std::abs(y - expected) <= 3 && std::abs(y - expected) < std::abs(best - expected))
            best = y;
    return best;
}

} // namespace

class TestVramGraph final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void drawsEachSeriesAtItsHeight() {
        VramGraph g;
        g.resize(640, 320);
        g.setWindowSeconds(60);
        g.setHistory(steadyMinute());
        const QImage img = render(g);
        QCOMPARE(g.yMaximum(), double(8 * GiB)); // the total is the ceiling of a "nice" scale
        const QRectF plot = g.plotRect();
        QVERIFY(plot.width() > 400 && plot.height() > 150);
        const int x = int(g.xForTime(T0 + 40'000));
        QVERIFY(x > plot.left() + 10 && x < plot.right() - 10);

        struct Expect {
            QColor color;
            qint64 bytes;
        } expects[] = {{VramGraph::seriesColor(Series::DeviceUsed), 4 * GiB},
                       {VramGraph::seriesColor(Series::SelfReserved), 1 * GiB},
                       {VramGraph::seriesColor(Series::SelfAllocated), 512 * MiB},
                       {VramGraph::seriesColor(Series::Ollama, 0), 2 * GiB},
                       {VramGraph::seriesColor(Series::Other), 256 * MiB}};
        for (const Expect& e : expects) {
            const double y = g.yForBytes(double(e.bytes));
            const int found = lineNear(img, g, x, e.color, y);
            QVERIFY2(
                std::abs(found - y) <= 2.0,
                qPrintable(
                    QStringLiteral("%1 expected at y=%2, found %3").arg(e.color.name()).arg(y).arg(found)));
        }
        // Used memory sits at half the height of an 8 GiB scale.
        QVERIFY(std::abs(g.yForBytes(double(4 * GiB)) - (plot.top() + plot.height() / 2)) < 1.0);
        // Newest sample on the right: the line reaches the right edge, not beyond.
        const int right = int(g.xForTime(T0 + 60'000)) - 2;
        QVERIFY(lineNear(img, g, right, VramGraph::seriesColor(Series::DeviceUsed), g.yForBytes(4.0 * GiB)) >
                0);
        saveScreenshot(g, QStringLiteral("vram-graph-steady"));
    }

    void missingMetricIsNotDrawnAsZero() {
        VramGraph g;
        g.resize(640, 320);
        g.setWindowSeconds(60);
        g.setHistory(steadyMinute(false, false)); // no process list, no allocator figures
        const QImage img = render(g);
        const QRect plot = g.plotRect().toRect().adjusted(1, 1, -1, -1);
        QCOMPARE(countColor(img, plot, VramGraph::seriesColor(Series::SelfAllocated), 30), 0);
        QCOMPARE(countColor(img, plot, VramGraph::seriesColor(Series::SelfReserved), 30), 0);
        QCOMPARE(countColor(img, plot, VramGraph::seriesColor(Series::Other), 30), 0);
        QCOMPARE(countColor(img, plot, VramGraph::seriesColor(Series::Ollama, 0), 30), 0);
        QVERIFY(countColor(img, plot, VramGraph::seriesColor(Series::DeviceUsed), 30) > 100);
        // ...and no legend entry for them either: the legend's reserved swatch is absent everywhere.
        QCOMPARE(countColor(img, img.rect(), VramGraph::seriesColor(Series::SelfReserved), 30), 0);
    }

    void gapWhereSamplesLackTheMetric() {
        VramGraph g;
        g.resize(640, 320);
        g.setWindowSeconds(60);
        QVector<gpu::VramSample> samples = steadyMinute(false, true);
        for (int i = 20; i < 40; ++i)
            samples[i].self.valid = false; // the allocator could not be asked for 20 s
        g.setHistory(samples);
        const QImage img = render(g);
        const QColor reserved = VramGraph::seriesColor(Series::SelfReserved);
        const double y = g.yForBytes(double(1 * GiB));
        QVERIFY(lineNear(img, g, int(g.xForTime(T0 + 10'000)), reserved, y) > 0);
        QCOMPARE(lineNear(img, g, int(g.xForTime(T0 + 30'000)), reserved, y), -1000);
        QVERIFY(lineNear(img, g, int(g.xForTime(T0 + 50'000)), reserved, y) > 0);
    }

    void eventMarkerAtItsTime() {
        VramGraph g;
        g.resize(640, 320);
        g.setWindowSeconds(60);
        g.setHistory(steadyMinute());
        engine::MemoryEvent cleanup;
        cleanup.kind = engine::MemoryEvent::Kind::Cleanup;
        cleanup.msecsSinceEpoch = T0 + 25'000;
        cleanup.before.deviceUsedBytes = 5 * GiB;
        cleanup.after.deviceUsedBytes = 4 * GiB;
        g.addEvent(cleanup);
        const QImage img = render(g);
        const QRectF plot = g.plotRect();
        const int x = qRound(g.xForTime(cleanup.msecsSinceEpoch));
        const QColor marker = VramGraph::markerColor(cleanup.kind);
        const int rows = rowsWithColor(img, x, int(plot.top()), int(plot.bottom()), marker, 60).size();
        QVERIFY2(rows > plot.height() * 0.5, qPrintable(QString::number(rows)));
        // Ten pixels beside it there is no marker line.
        QVERIFY(rowsWithColor(img, x + 10, int(plot.top()) + 40, int(plot.bottom()), marker, 60).size() < 3);
    }

    void niceScale_data() {
        QTest::addColumn<qint64>("total");
        QTest::addColumn<qint64>("expectedTop");
        QTest::newRow("80 GB H100") << qint64(81559 * MiB) << 80 * GiB;
        QTest::newRow("24 GB card") << qint64(24564 * MiB) << 25 * GiB;
        QTest::newRow("8 GB card") << qint64(7800 * MiB) << 8 * GiB;
        QTest::newRow("16 GB card") << qint64(16376 * MiB) << 16 * GiB;
    }

    void niceScale() {
        QFETCH(qint64, total);
        QFETCH(qint64, expectedTop);
        VramGraph g;
        g.resize(500, 260);
        g.addSample(gpuSample(T0, total, total / 3));
        render(g);
        QCOMPARE(qint64(g.yMaximum()), expectedTop);
    }

    // A 140 GiB card holding 3 GiB: the scale follows the use, the total line is not drawn.
    void bigCardScalesToTheUse() {
        VramGraph g;
        g.resize(500, 260);
        g.addSample(gpuSample(T0, 140 * GiB, 3 * GiB, 2 * GiB, 2 * GiB));
        render(g);
        QVERIFY(g.totalOffScale());
        QVERIFY(g.yMaximum() <= 5.0 * GiB);
        QVERIFY(g.yMaximum() >= 3.0 * GiB);
        g.addSample(gpuSample(T0 + 1000, 140 * GiB, 60 * GiB, 2 * GiB, 2 * GiB));
        render(g);
        QVERIFY(!g.totalOffScale());
        QVERIFY(g.yMaximum() >= 140.0 * GiB);
    }

    void windowSelection() {
        VramGraph g;
        g.resize(640, 320);
        QVector<gpu::VramSample> samples;
        for (int i = 0; i <= 900; i += 5)
            samples << gpuSample(T0 + i * 1000LL, 8 * GiB, (i < 600 ? 2 : 6) * GiB);
        g.setHistory(samples);
        for (int window : {60, 300, 900}) {
            g.setWindowSeconds(window);
            render(g);
            const QRectF plot = g.plotRect();
            const double mid = g.xForTime(T0 + 900'000LL - window * 500LL);
            QVERIFY(std::abs(mid - (plot.left() + plot.width() / 2)) < 1.0);
        }
        // A one-minute window shows only the last minute: 6 GiB everywhere.
        g.setWindowSeconds(60);
        const QImage img = render(g);
        const QColor used = VramGraph::seriesColor(Series::DeviceUsed);
        QCOMPARE(lineNear(img, g, int(g.plotRect().left()) + 5, used, g.yForBytes(2.0 * GiB)), -1000);
        QVERIFY(lineNear(img, g, int(g.plotRect().left()) + 5, used, g.yForBytes(6.0 * GiB)) > 0);
    }

    void noGpuState() {
        VramPanel panel;
        panel.resize(640, 320);
        gpu::VramSample s;
        s.msecsSinceEpoch = T0;
        s.gpuAvailable = false;
        s.noGpuReason = QStringLiteral("libnvidia-ml.so.1 was not found: no NVIDIA driver is installed.");
        panel.addSample(s);
        QCOMPARE(panel.stateText(), QStringLiteral("No NVIDIA GPU — running on CPU"));
        QVERIFY(!panel.freeEnabled());
        QVERIFY(!panel.unloadEnabled());
        VramGraph* g = panel.graph();
        const QImage img = render(*g);
        // No series, and the message in the middle (dark text pixels).
        QCOMPARE(countColor(img, img.rect(), VramGraph::seriesColor(Series::DeviceUsed), 30), 0);
        const QColor text = g->palette().color(QPalette::Text);
        const QRect middle(0, img.height() / 4, img.width(), img.height() / 2);
        QVERIFY(countColor(img, middle, text, 60) > 50);
        QCOMPARE(countColor(img, QRect(0, 0, img.width(), img.height() / 6), text, 60), 0);
        saveScreenshot(panel, QStringLiteral("vram-panel-no-gpu"));
    }

    void panelStatesAndButtons() {
        VramPanel panel;
        QCOMPARE(panel.stateText(), QStringLiteral("Waiting for GPU memory figures…"));
        panel.addSample(gpuSample(T0, 8 * GiB, 1 * GiB, 512 * MiB, 0));
        QCOMPARE(panel.stateText(), QStringLiteral("Idle — 512 MiB reserved"));
        QVERIFY(panel.freeEnabled());
        QVERIFY(!panel.unloadEnabled());

        engine::MemoryEvent load;
        load.kind = engine::MemoryEvent::Kind::Load;
        load.msecsSinceEpoch = T0 + 500;
        panel.addEvent(load);
        panel.addSample(gpuSample(T0 + 1000, 8 * GiB, 3 * GiB, 2200 * MiB, 2150 * MiB));
        QCOMPARE(panel.stateText(), QStringLiteral("Model on GPU · 2.1 GiB"));
        QVERIFY(panel.unloadEnabled());
        QVERIFY(panel.detailText().contains(QStringLiteral("3.0 GiB of 8.0 GiB in use")));

        panel.setEngineState(engine::State::Generating);
        QVERIFY(panel.stateText().startsWith(QStringLiteral("Generating")));
        QVERIFY(!panel.freeEnabled());
        panel.setEngineState(engine::State::Idle);

        QSignalSpy freeSpy(&panel, &VramPanel::freeMemoryRequested);
        QSignalSpy unloadSpy(&panel, &VramPanel::unloadRequested);
        auto buttons = panel.findChildren<QPushButton*>();
        QCOMPARE(buttons.size(), 2);
        for (QPushButton* b : buttons)
            QTest::mouseClick(b, Qt::LeftButton);
        QCOMPARE(freeSpy.count(), 1);
        QCOMPARE(unloadSpy.count(), 1);

        engine::MemoryEvent unload;
        unload.kind = engine::MemoryEvent::Kind::Unload;
        unload.msecsSinceEpoch = T0 + 2000;
        panel.addEvent(unload);
        QCOMPARE(panel.stateText(), QStringLiteral("Model unloaded to RAM"));
        QVERIFY(!panel.unloadEnabled());

        // What the engine says about the weights wins over the allocator's figures.
        panel.setResidency(QStringLiteral("sd15"), gpu::Residency::OnGpu, 1600 * MiB);
        QCOMPARE(panel.stateText(), QStringLiteral("Model on GPU · 1.6 GiB"));
        QVERIFY(panel.detailText().endsWith(QStringLiteral(" · model sd15")));
        QVERIFY(panel.unloadEnabled());
        panel.setResidency(QStringLiteral("sd15"), gpu::Residency::PinnedCpu, 1600 * MiB);
        QCOMPARE(panel.stateText(), QStringLiteral("Model unloaded to RAM"));
        // A model that runs on the CPU on a GPU machine is not "unloaded to RAM".
        panel.setResidency(QStringLiteral("sd15"), gpu::Residency::Cpu, 1600 * MiB);
        QCOMPARE(panel.stateText(), QStringLiteral("Model on the CPU"));
        panel.setResidency(QString(), gpu::Residency::Cpu, 0);
        QCOMPARE(panel.stateText(), QStringLiteral("Idle — 2.1 GiB reserved"));
    }

    // A realistic five minutes for people to look at: Ollama answers, an image is made,
    // cleanup frees the cache, the model is unloaded for the LLM, then reloaded.
    void screenshotOfAGenerationCycle() {
        VramPanel panel;
        panel.resize(760, 400);
        QVector<gpu::VramSample> samples;
        QVector<engine::MemoryEvent> events;
        auto event = [&](engine::MemoryEvent::Kind kind, int second, qint64 before, qint64 after) {
            engine::MemoryEvent e;
            e.kind = kind;
            e.msecsSinceEpoch = T0 + second * 1000LL;
            e.before.deviceUsedBytes = before;
            e.after.deviceUsedBytes = after;
            events << e;
        };
        // Seconds: load at 20, an image 30-42 with cleanup at 43, unload at 90 so that a large
        // Ollama model fits (100-200), reload at 225, an image 230-242, cleanup at 243.
        const qint64 context = 560 * MiB, weights = 2150 * MiB, activations = 1500 * MiB, cache = 1800 * MiB;
        for (int s = 0; s <= 300; ++s) {
            const bool onGpu = (s >= 20 && s < 90) || s >= 225;
            const bool generating = (s >= 30 && s < 42) || (s >= 230 && s < 242);
            const bool cached = (s >= 30 && s < 43) || (s >= 230 && s < 243);
            const qint64 allocated = (onGpu ? weights : 0) + (generating ? activations : 0);
            const qint64 reserved = s < 20 ? 0 : (onGpu ? weights : 40 * MiB) + (cached ? cache : 0);
            const qint64 ollama = (s >= 100 && s < 200) ? 9800 * MiB : 1800 * MiB;
            const qint64 other = 350 * MiB;
            const qint64 used = context + reserved + ollama + other;
            gpu::VramSample sample = gpuSample(T0 + s * 1000LL, 24564 * MiB, used, reserved, allocated);
            addProcess(sample, 4242, QStringLiteral("ollama_llama_se"), ollama, true);
            addProcess(sample, 1234, QStringLiteral("Xorg"), other, false);
            addProcess(sample, 999, QStringLiteral("twistedpic"), context + reserved, false, true);
            samples << sample;
        }
        const qint64 base = context + 1800 * MiB + 350 * MiB;
        event(engine::MemoryEvent::Kind::Load, 20, base, base + weights);
        event(engine::MemoryEvent::Kind::GenerationStart, 30, 0, 0);
        event(engine::MemoryEvent::Kind::GenerationEnd, 42, 0, 0);
        event(engine::MemoryEvent::Kind::Cleanup, 43, base + weights + cache, base + weights);
        event(engine::MemoryEvent::Kind::Unload, 90, base + weights, base + 40 * MiB);
        event(engine::MemoryEvent::Kind::Reload, 225, base + 40 * MiB, base + weights);
        event(engine::MemoryEvent::Kind::GenerationStart, 230, 0, 0);
        event(engine::MemoryEvent::Kind::GenerationEnd, 242, 0, 0);
        event(engine::MemoryEvent::Kind::Cleanup, 243, base + weights + cache, base + weights);
        panel.setHistory(samples);
        for (const engine::MemoryEvent& e : events)
            panel.addEvent(e);
        QCOMPARE(panel.stateText(), QStringLiteral("Model on GPU · 2.1 GiB"));
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        // Hover while Ollama's large model runs: the overlay lists the values.
        VramGraph* g = panel.graph();
        QTest::mouseMove(g, QPoint(int(g->xForTime(T0 + 150'000)), int(g->plotRect().center().y())));
        QCoreApplication::processEvents();
        const QImage img = render(*g);
        QVERIFY(countColor(img, g->plotRect().toRect(), g->palette().color(QPalette::ToolTipBase), 8) > 500);
        saveScreenshot(panel, QStringLiteral("vram-panel"));
    }
};

QTEST_MAIN(TestVramGraph)
#include "tst_vramgraph.moc"
