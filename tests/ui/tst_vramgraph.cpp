// The VRAM graph and panel draw what scripted samples say: checked on the rendered pixels.
// The budget line and the plan line are fed a plan from the real planner (SD 3.5 Large scripted as
// in tests/memory).
#include "core/gpu/PlacementPlanner.h"
#include "core/gpu/VramBudget.h"
#include "core/services/VramEstimate.h"
#include "tests/ui/UiTestUtil.h"
#include "ui/Units.h"
#include "ui/VramGraph.h"
#include "ui/VramPanel.h"

#include <QApplication>
#include <QLabel>
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

constexpr qint64 GB = 1000LL * 1000 * 1000;

qint64 gb(double v) {
    return qint64(v * double(GB));
}

gpu::ComponentSize textEncoder(const QString& name, const QString& label, qint64 weights, int seq, int hidden,
                               int ffn, int heads, bool t5 = false) {
    gpu::ComponentSize s;
    s.name = name;
    s.label = label;
    s.kind = t5 ? gpu::ComponentKind::T5 : gpu::ComponentKind::TextEncoder;
    s.weightBytes = weights;
    s.activationBytes = services::estimateTextEncoderVram({seq, hidden, ffn, heads, 2, 2});
    return s;
}

// SD 3.5 Large in bf16 at 1024², CFG (tests/memory's profile): MMDiT 16.3 GB in 38 blocks,
// T5-XXL 9.5 GB, CLIP-L, CLIP-G, VAE.
gpu::PlanInput sd35Large(qint64 budget) {
    gpu::PlanInput in;
    in.budgetBytes = budget;
    in.steps = 28;
    in.components.push_back(
        textEncoder(QStringLiteral("text_encoder"), QStringLiteral("CLIP-L"), gb(0.25), 77, 768, 3072, 12));
    in.components.push_back(
        textEncoder(QStringLiteral("text_encoder_2"), QStringLiteral("CLIP-G"), gb(1.4), 77, 1280, 5120, 20));
    in.components.push_back(textEncoder(QStringLiteral("text_encoder_3"), QStringLiteral("T5"), gb(9.5), 256,
                                        4096, 10240, 64, true));
    services::GenerationShape g;
    g.denoiser = services::GenerationShape::Denoiser::Dit;
    g.width = g.height = 1024;
    g.guidance = true;
    g.ditHidden = 2432;
    g.attentionHeads = 38;
    g.contextTokens = 333;
    g.materializedAttention = false;
    in.components.push_back(
        gpu::ComponentSize::denoiser(QStringLiteral("transformer"), QStringLiteral("transformer"), 38,
                                     gb(16.0) / 38, gb(0.3), services::estimateGenerationVram(g).unetBytes));
    gpu::ComponentSize vae;
    vae.name = QStringLiteral("vae");
    vae.label = QStringLiteral("VAE");
    vae.kind = gpu::ComponentKind::Vae;
    vae.weightBytes = gb(0.17);
    vae.activationBytes = services::estimateVaeDecodeVram(1024, 1024);
    vae.tiledActivationBytes = services::estimateTiledVaeDecodeVram(1024, 1024, 1, 512);
    in.components.push_back(vae);
    return in;
}

// What Engine::planned carries: the plan and how its budget was reached.
QJsonObject planJson(const gpu::Plan& plan, const QString& budgetExplanation) {
    QJsonObject json = plan.toJson();
    json.insert(QStringLiteral("budgetExplanation"), budgetExplanation);
    return json;
}

// Pixels of the budget colour in row y across the plot, and the most in any row 3 or more away.
QPair<int, int> budgetRowPixels(const QImage& img, const VramGraph& g, int y) {
    const QRect plot = g.plotRect().toRect().adjusted(1, 1, -1, -1);
    const QColor c = VramGraph::budgetColor();
    const int on = countColor(img, QRect(plot.left(), y, plot.width(), 1), c, 40);
    int elsewhere = 0;
    for (int row = plot.top(); row <= plot.bottom(); ++row)
        if (std::abs(row - y) >= 3)
            elsewhere = std::max(elsewhere, countColor(img, QRect(plot.left(), row, plot.width(), 1), c, 40));
    return {on, elsewhere};
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

    // The budget: a dashed line across the plot at its height on the series' scale.
    void budgetLineAtItsHeight() {
        VramGraph g;
        g.resize(640, 320);
        g.setWindowSeconds(60);
        g.setHistory(steadyMinute());
        g.setBudget(6 * GiB, 5 * GiB);
        QImage img = render(g);
        QCOMPARE(g.yMaximum(), double(8 * GiB)); // the budget is below the total: the scale stays
        const QRectF plot = g.plotRect();
        const double y6 = g.yForBytes(double(6 * GiB));
        QVERIFY(std::abs(y6 - (plot.bottom() - plot.height() * 0.75)) < 1.0);
        auto [on, elsewhere] = budgetRowPixels(img, g, int(std::round(y6)));
        // Dashes of 5 on, 3 off over the plot's width (the label covers a little of it).
        QVERIFY2(on > plot.width() * 0.45, qPrintable(QStringLiteral("%1 of %2").arg(on).arg(plot.width())));
        QVERIFY2(elsewhere < plot.width() * 0.15, qPrintable(QString::number(elsewhere)));
        // In a column right of the label, the line's colour only at the budget's row.
        const int x = int(plot.left() + plot.width() * 0.7);
        for (int dx = 0; dx < 8; ++dx) // one of 8 neighbouring columns is on a dash
            for (int row : rowsWithColor(img, x + dx, int(plot.top()) + 1, int(plot.bottom()) - 1,
                                         VramGraph::budgetColor(), 40))
                QVERIFY2(std::abs(row - y6) <= 1.5,
                         qPrintable(QStringLiteral("row %1, budget at %2").arg(row).arg(y6)));

        // Another budget, another height; none, no line.
        g.setBudget(2 * GiB);
        img = render(g);
        const double y2 = g.yForBytes(double(2 * GiB));
        QVERIFY(std::abs(y2 - (plot.bottom() - plot.height() * 0.25)) < 1.0);
        std::tie(on, elsewhere) = budgetRowPixels(img, g, int(std::round(y2)));
        QVERIFY(on > plot.width() * 0.45);
        QVERIFY(elsewhere < plot.width() * 0.15);
        g.setBudget(-1);
        img = render(g);
        QCOMPARE(countColor(img, img.rect(), VramGraph::budgetColor(), 40), 0);
    }

    // A 140 GiB card holding 3 GiB: the scale follows the use but takes in a 12 GiB budget; a
    // budget as far above the use as the total is a note at the top instead of a line.
    void budgetOnABigCard() {
        VramGraph g;
        g.resize(500, 260);
        g.addSample(gpuSample(T0, 140 * GiB, 3 * GiB, 2 * GiB, 2 * GiB));
        g.setBudget(12 * GiB);
        QImage img = render(g);
        QVERIFY(g.totalOffScale());
        QVERIFY(!g.budgetOffScale());
        QVERIFY(g.yMaximum() >= 12.0 * GiB && g.yMaximum() <= 16.0 * GiB);
        QVERIFY(budgetRowPixels(img, g, int(std::round(g.yForBytes(12.0 * GiB)))).first >
                g.plotRect().width() * 0.45);

        g.setBudget(130 * GiB);
        img = render(g);
        QVERIFY(g.budgetOffScale());
        QVERIFY(g.yMaximum() <= 5.0 * GiB);
        const QRect plot = g.plotRect().toRect();
        // No line in the lower three quarters; the note's text in the top-right corner.
        QCOMPARE(countColor(img, plot.adjusted(1, plot.height() / 4, -1, -1), VramGraph::budgetColor(), 40),
                 0);
        QVERIFY(countColor(img, QRect(plot.center().x(), plot.top(), plot.width() / 2, 24),
                           VramGraph::budgetColor().darker(120), 60) > 10);
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
        // Under a placement plan part of the weights stay in RAM: what the GPU holds, of all.
        panel.setResidency(QStringLiteral("sd35"), gpu::Residency::Mixed, 25 * GiB);
        QCOMPARE(panel.stateText(), QStringLiteral("Model partly on GPU · 2.1 GiB"));
        QVERIFY(panel.unloadEnabled());
        panel.setResidency(QStringLiteral("sd15"), gpu::Residency::PinnedCpu, 1600 * MiB);
        QCOMPARE(panel.stateText(), QStringLiteral("Model unloaded to RAM"));
        // A model that runs on the CPU on a GPU machine is not "unloaded to RAM".
        panel.setResidency(QStringLiteral("sd15"), gpu::Residency::Cpu, 1600 * MiB);
        QCOMPARE(panel.stateText(), QStringLiteral("Model on the CPU"));
        panel.setResidency(QString(), gpu::Residency::Cpu, 0);
        QCOMPARE(panel.stateText(), QStringLiteral("Idle — 2.1 GiB reserved"));
    }

    // The plan line: "No plan yet" before any, the budget and the planner's description with one,
    // its problem in the warning colour when it does not fit, and why there is none after a
    // generation without one.
    void panelShowsThePlan() {
        VramPanel panel;
        panel.resize(520, 420);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        auto* line = panel.findChild<QLabel*>(QStringLiteral("planLine"));
        QVERIFY(line);
        const QString noPlanYet =
            QStringLiteral("No plan yet: each generation on the GPU gets one that fits the VRAM budget.");
        QCOMPARE(panel.planText(), noPlanYet);
        QCOMPARE(line->text(), noPlanYet);
        QVERIFY(line->isVisible());
        QVERIFY(!panel.hasPlan());
        QCOMPARE(panel.graph()->budgetBytes(), qint64(-1));
        panel.addSample(gpuSample(T0, 24564 * MiB, 14 * GiB, 10 * GiB, 9 * GiB));

        // 12 GiB set by hand (the figures of tests/memory's sd35LargeBudgets).
        gpu::BudgetInputs in;
        in.setting.mode = gpu::BudgetSetting::Mode::Size;
        in.setting.bytes = 12 * GiB;
        in.deviceFreeBytes = 13 * GiB;
        in.deviceTotalBytes = 24564 * MiB;
        in.ourReservedBytes = 1 * GiB;
        const gpu::VramBudget budget = gpu::computeBudget(in);
        QCOMPARE(budget.bytes, 12 * GiB);
        const gpu::Plan plan = gpu::planPlacement(sd35Large(budget.bytes));
        QVERIFY(plan.fits);
        const QString description =
            QStringLiteral("CLIP-L: on demand · CLIP-G: on demand · T5: on demand · "
                           "transformer: 24 of 38 blocks on the GPU, 14 streamed · VAE: GPU");
        QCOMPARE(plan.description(), description);
        panel.setPlan(planJson(plan, budget.explanation));
        QVERIFY(panel.hasPlan());
        QCOMPARE(panel.planText(), QStringLiteral("Budget 12.0 GiB — ") + description);
        QCOMPARE(line->text(), panel.planText());
        QVERIFY(!panel.planWarning());
        QCOMPARE(line->foregroundRole(), QPalette::WindowText);
        QVERIFY(line->palette().color(QPalette::WindowText) != VramPanel::warningColor());
        // The tooltip: how the budget was reached, the predicted peak, what streams per step.
        const QString tip = line->toolTip();
        QVERIFY2(tip.contains(QStringLiteral("How the budget was reached: ") + budget.explanation),
                 qPrintable(tip));
        QVERIFY(budget.explanation.startsWith(QLatin1String("budget 12")));
        QVERIFY2(tip.contains(QStringLiteral("Predicted peak: %1 of the 12.0 GiB budget")
                                  .arg(ui::formatBytes(double(plan.predictedPeakBytes)))),
                 qPrintable(tip));
        QVERIFY(tip.contains(QStringLiteral("Streamed from RAM: %1 per denoiser call")
                                 .arg(ui::formatBytes(double(14 * (gb(16.0) / 38))))));
        QVERIFY(!tip.contains(QStringLiteral("Lowered")));
        // The graph draws that budget.
        QCOMPARE(panel.graph()->budgetBytes(), 12 * GiB);
        QCOMPARE(panel.graph()->predictedPeakBytes(), plan.predictedPeakBytes);

        // 1 GiB: nothing fits; the planner's problem on a second line, in the warning colour.
        const gpu::Plan tiny = gpu::planPlacement(sd35Large(1 * GiB));
        QVERIFY(!tiny.fits);
        panel.setPlan(planJson(tiny, QStringLiteral("budget 1.00 GiB (set)")));
        QVERIFY(panel.planWarning());
        QCOMPARE(panel.planText(),
                 QStringLiteral("Budget 1.0 GiB — %1\n⚠ %2").arg(tiny.description(), tiny.problem));
        QVERIFY(tiny.problem.startsWith(QLatin1String("Even the smallest plan does not fit")));
        QCOMPARE(line->palette().color(QPalette::WindowText), VramPanel::warningColor());
        QCOMPARE(panel.graph()->budgetBytes(), 1 * GiB);
        QCoreApplication::processEvents(); // the longer text's new height
        saveScreenshot(panel, QStringLiteral("vram-plan-does-not-fit"));
        // An out-of-memory retry's lower plan says so in the tooltip.
        gpu::Plan lower = gpu::planAtLevel(sd35Large(12 * GiB), 2);
        QCOMPARE(lower.level, 2);
        panel.setPlan(planJson(lower, budget.explanation));
        QVERIFY(!panel.planWarning());
        QVERIFY(line->palette().color(QPalette::WindowText) != VramPanel::warningColor());
        QVERIFY(line->toolTip().contains(
            QStringLiteral("Lowered 2 steps from the first plan after the GPU ran out of memory.")));

        // A generation without a plan: why, and no budget line.
        panel.clearPlan(VramPanel::NoPlan::BudgetAll);
        QCOMPARE(panel.planText(),
                 QStringLiteral("No plan: the budget is “all”, so the whole model stays on the GPU."));
        QCOMPARE(line->foregroundRole(), QPalette::PlaceholderText);
        QCOMPARE(panel.graph()->budgetBytes(), qint64(-1));
        panel.clearPlan(VramPanel::NoPlan::Cpu);
        QCOMPARE(panel.planText(), QStringLiteral("No plan: the model runs on the CPU."));

        // No GPU: no plan line at all.
        gpu::VramSample cpu;
        cpu.msecsSinceEpoch = T0 + 1000;
        panel.addSample(cpu);
        QCOMPARE(panel.planText(), QString());
        QVERIFY(!line->isVisible());
    }

    // For people to look at (docs/screenshots/vram-plan.png): SD 3.5 Large streamed within the auto
    // budget that an RTX 4090 leaves beside a 9 GiB Ollama model, at about the dock's size. A
    // minute: the generation starts at 12 s (text encoders in turn, the loop, the decode), ends at
    // 49 s, cleanup at 50 s.
    void screenshotWithAPlan() {
        const qint64 total = 24564 * MiB, context = 560 * MiB, ollama = 9 * GiB, xorg = 350 * MiB;
        gpu::BudgetInputs in; // auto, as the engine computes it at the generation's start
        in.deviceFreeBytes = total - context - ollama - xorg;
        in.deviceTotalBytes = total;
        in.ollama = {{QStringLiteral("qwen2.5:14b"), ollama, ollama}};
        const gpu::VramBudget budget = gpu::computeBudget(in);
        const gpu::Plan plan = gpu::planPlacement(sd35Large(budget.bytes));
        QVERIFY2(plan.fits, qPrintable(plan.problem));
        QCOMPARE(plan.denoiser()->placement, gpu::Placement::Streamed);

        // Our allocated memory follows the plan's phases; after the run what stays on the GPU.
        qint64 staying = 0;
        for (const gpu::ComponentPlan& c : plan.components)
            staying += c.stayingBytes;
        QVector<gpu::VramSample> samples;
        for (int s = 0; s <= 60; ++s) {
            qint64 allocated = staying;
            if (s >= 12 && s < 16)
                allocated = plan.phase(gpu::Phase::Encode).peak() * (s % 2 ? 9 : 10) / 10;
            else if (s >= 16 && s < 46)
                allocated = plan.phase(gpu::Phase::Denoise).peak() - (s % 3) * 400 * MiB;
            else if (s >= 46 && s < 49)
                allocated = plan.phase(gpu::Phase::Decode).peak();
            const bool cached = s >= 12 && s < 50;
            const qint64 reserved =
                cached ? std::max(allocated, plan.phase(gpu::Phase::Denoise).peak()) + 64 * MiB : allocated;
            gpu::VramSample sample =
                gpuSample(T0 + s * 1000LL, total, context + reserved + ollama + xorg, reserved, allocated);
            addProcess(sample, 4242, QStringLiteral("ollama_llama_se"), ollama, true);
            addProcess(sample, 1234, QStringLiteral("Xorg"), xorg, false);
            addProcess(sample, 999, QStringLiteral("twistedpic"), context + reserved, false, true);
            samples << sample;
        }
        VramPanel panel;
        panel.resize(372, 360);
        panel.setWindowSeconds(60);
        panel.setHistory(samples);
        qint64 weights = 0;
        for (const gpu::ComponentPlan& c : plan.components)
            weights += c.size.weightBytes;
        panel.setResidency(QStringLiteral("stable-diffusion-3.5-large"), gpu::Residency::Mixed, weights);
        auto event = [&](engine::MemoryEvent::Kind kind, int second) {
            engine::MemoryEvent e;
            e.kind = kind;
            e.msecsSinceEpoch = T0 + second * 1000LL;
            panel.addEvent(e);
        };
        event(engine::MemoryEvent::Kind::GenerationStart, 12);
        event(engine::MemoryEvent::Kind::GenerationEnd, 49);
        event(engine::MemoryEvent::Kind::Cleanup, 50);
        panel.setPlan(planJson(plan, budget.explanation));
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        QCOMPARE(
            panel.planText(),
            QStringLiteral("Budget %1 — %2").arg(ui::formatBytes(double(budget.bytes)), plan.description()));
        // Our reserved memory peaks under the budget line, as planned.
        VramGraph* g = panel.graph();
        const QImage img = render(*g);
        const double yBudget = g->yForBytes(double(budget.bytes));
        QVERIFY(budgetRowPixels(img, *g, int(std::round(yBudget))).first > g->plotRect().width() * 0.45);
        const int x = int(g->xForTime(T0 + 31'000));
        const double yReserved = g->yForBytes(double(samples[31].self.reservedBytes));
        QVERIFY(yReserved > yBudget + 1); // below it on the screen
        QVERIFY(lineNear(img, *g, x, VramGraph::seriesColor(Series::SelfReserved), yReserved) > 0);
        saveScreenshot(panel, QStringLiteral("vram-plan"));
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
