// The planner's glue (core/engine/PlanExecution.h) on the tiny fixtures: a plan for a budget that holds
// nothing (everything released, the denoiser streamed with no block resident, T5 on the CPU) is carried
// out on the loaded model and gives the same latents and image, bit for bit, as the model left whole;
// clearPlan() brings it back. No CUDA device or the budget "all" make no plan; a bad budget is refused.
// The device figures are scripted (a CUDA snapshot), so the planning runs on the CPU; the model's
// placements and the streamer then work as they do on the CPU (synchronous copies).
#include "core/engine/PlanExecution.h"
#include "core/pipeline/DiffusionModel.h"
#include "core/pipeline/TextToImage.h"
#include "tests/pipeline/PipelineCases.h"
#include "tests/support/TestUtil.h"

#include <QtTest>

using namespace tp;

namespace {
gpu::MemorySnapshot scriptedCuda() {
    gpu::MemorySnapshot s;
    s.cuda = true;
    s.device = 0;
    s.deviceTotalBytes = 80LL << 30;
    s.deviceUsedBytes = 1LL << 30;
    s.allocatedBytes = 0;
    s.reservedBytes = 0;
    return s;
}

engine::PlanContext context(const QString& fixture, const pipeline::TextToImageParams& p,
                            const QString& budget) {
    engine::PlanContext c;
    c.modelPath = test::dataPath(fixture);
    c.precision = QStringLiteral("fp32");
    c.width = p.width;
    c.height = p.height;
    c.steps = p.steps;
    c.guidance = p.guidance;
    c.budget = budget;
    c.snapshot = scriptedCuda();
    return c;
}
} // namespace

class TestPlanExecution final : public QObject {
    Q_OBJECT

    gpu::PlanMemory m_memory{QDir::temp()
                                 .filePath(QStringLiteral("tp-plan-execution-%1.json"))
                                 .arg(QCoreApplication::applicationPid())};

private Q_SLOTS:
    void initTestCase() { pipeline::initCpuRuntime(); }

    void noPlanWithoutCudaOrWithAll() {
        pipeline::TextToImageParams p;
        engine::PlanContext c = context(QStringLiteral("sd15-tiny/pipeline"), p, QStringLiteral("8GiB"));
        c.snapshot = gpu::MemorySnapshot{}; // no CUDA
        auto none = engine::makePlan(c, m_memory);
        QVERIFY2(none, qPrintable(none.error()));
        QVERIFY(!none->has_value());
        c = context(QStringLiteral("sd15-tiny/pipeline"), p, QStringLiteral("all"));
        auto all = engine::makePlan(c, m_memory);
        QVERIFY2(all, qPrintable(all.error()));
        QVERIFY(!all->has_value());
        c.budget = QStringLiteral("lots");
        auto bad = engine::makePlan(c, m_memory);
        QVERIFY(!bad);
        QVERIFY2(bad.error().contains(QStringLiteral("VRAM budget")), qPrintable(bad.error()));
        auto missing =
            engine::makePlan(context(QStringLiteral("no-such-model"), p, QStringLiteral("8GiB")), m_memory);
        QVERIFY(!missing);
    }

    // Issue 16: "auto" leaves free what Ollama's loaded models still miss on the GPU (size −
    // size_vram, the part the device's free memory still includes) plus the margin, on top of the
    // reserve. What a model holds on the GPU already is not in the free memory and costs nothing
    // more. This is what the engine plans with once the request carries /api/ps's figures.
    void autoBudgetLeavesOllamaItsRoom() {
        constexpr qint64 GiB = 1LL << 30;
        constexpr qint64 MiB = 1LL << 20;
        pipeline::TextToImageParams p;
        engine::PlanContext c = context(QStringLiteral("sd15-tiny/pipeline"), p, QStringLiteral("auto"));
        c.reserveBytes = 2 * GiB;
        c.ollamaMarginBytes = 512 * MiB;
        QString line;
        auto budget = [&](const QVector<gpu::OllamaVram>& ollama) -> qint64 {
            c.ollama = ollama;
            line.clear();
            auto made = engine::makePlan(c, m_memory, &line);
            if (!made || !made->has_value())
                return -1;
            return (*made)->budgetBytes;
        };
        const qint64 free = 79 * GiB; // scriptedCuda(): 80 GiB, 1 GiB used, nothing of ours
        const gpu::OllamaVram llama{QStringLiteral("llama3.1:8b"), 10 * GiB, 6 * GiB};
        const gpu::OllamaVram onGpu{QStringLiteral("mistral:latest"), 5 * GiB, 5 * GiB};
        const gpu::OllamaVram evicted{QStringLiteral("qwen3:8b"), 7 * GiB, 0};

        QCOMPARE(budget({}), free - 2 * GiB);
        QVERIFY2(line.contains(QStringLiteral("Ollama 0 (no model loaded)")), qPrintable(line));
        QCOMPARE(budget({llama}), free - 2 * GiB - 4 * GiB - 512 * MiB);
        QVERIFY2(line.contains(QStringLiteral("llama3.1:8b needs 4.00 GiB more")), qPrintable(line));
        QCOMPARE(budget({onGpu}), free - 2 * GiB - 512 * MiB);
        QCOMPARE(budget({evicted}), free - 2 * GiB - 7 * GiB - 512 * MiB);
        // The margin once, however many models.
        QCOMPARE(budget({llama, onGpu, evicted}), free - 2 * GiB - 11 * GiB - 512 * MiB);
        // A size or "all" does not leave Ollama anything.
        c.budget = QStringLiteral("8GiB");
        QCOMPARE(budget({llama}), 8 * GiB);
    }

    void phases() {
        QCOMPARE(engine::phaseOf(pipeline::Stage::Encode), std::optional<gpu::Phase>(gpu::Phase::Encode));
        QCOMPARE(engine::phaseOf(pipeline::Stage::Denoise), std::optional<gpu::Phase>(gpu::Phase::Denoise));
        QCOMPARE(engine::phaseOf(pipeline::Stage::Decode), std::optional<gpu::Phase>(gpu::Phase::Decode));
        QVERIFY(!engine::phaseOf(pipeline::Stage::Idle));
    }

    void lowestPlanMatchesWhole_data() {
        QTest::addColumn<QString>("fixture");
        QTest::newRow("sd15") << QStringLiteral("sd15-tiny");
        QTest::newRow("sd3") << QStringLiteral("sd3-tiny");
        QTest::newRow("flux") << QStringLiteral("flux-tiny");
    }
    void lowestPlanMatchesWhole() {
        QFETCH(QString, fixture);
        pipeline::TextToImageParams p = test::caseParams(
            test::readCases(fixture).value(QStringLiteral("pipeline")).toArray().at(0).toObject());
        p.sampler =
            fixture == QLatin1String("sd15-tiny") ? QStringLiteral("euler_a") : QStringLiteral("euler");
        p.steps = 3;
        auto model = pipeline::loadModel(test::dataPath(fixture + QStringLiteral("/pipeline")),
                                         test::float32Device(false));
        QVERIFY2(model, qPrintable(model.error()));
        auto whole = pipeline::textToImage(**model, p);
        QVERIFY2(whole, qPrintable(whole.error()));

        // 256 MiB is all headroom (5 % of the budget, at least 256 MiB): nothing fits, the lowest plan.
        auto made = engine::makePlan(
            context(fixture + QStringLiteral("/pipeline"), p, QStringLiteral("256MiB")), m_memory);
        QVERIFY2(made, qPrintable(made.error()));
        QVERIFY(made->has_value());
        const gpu::Plan& plan = **made;
        qInfo("%s: %s", qPrintable(fixture), qPrintable(plan.summary()));
        QVERIFY(plan.denoiser());
        QCOMPARE(plan.denoiser()->placement, gpu::Placement::Streamed);
        QCOMPARE(plan.denoiser()->residentBlocks, 0);
        QVERIFY(!plan.toJson().isEmpty());

        const Status applied = engine::applyPlan(**model, plan);
        QVERIFY2(applied, qPrintable(applied.error()));
        QVERIFY((*model)->streamer());
        for (const gpu::ComponentPlan& c : plan.components)
            if ((*model)->hasComponent(c.size.name) && c.placement == gpu::Placement::RunThenRelease)
                QCOMPARE((*model)->placement(c.size.name), pipeline::ComponentPlacement::RunThenRelease);
        auto planned = pipeline::textToImage(**model, p);
        QVERIFY2(planned, qPrintable(planned.error()));
        QCOMPARE(test::maxAbs(planned->latents, whole->latents), 0.0);
        QCOMPARE(test::maxAbs(planned->images, whole->images), 0.0);

        const Status cleared = engine::clearPlan(**model);
        QVERIFY2(cleared, qPrintable(cleared.error()));
        QVERIFY(!(*model)->streamer());
        for (const pipeline::ModelComponentRef& c : (*model)->components())
            QCOMPARE((*model)->placement(c.name), pipeline::ComponentPlacement::Resident);
        auto again = pipeline::textToImage(**model, p);
        QVERIFY2(again, qPrintable(again.error()));
        QCOMPARE(test::maxAbs(again->latents, whole->latents), 0.0);
    }

    // A model loaded into host memory (DeviceChoice::loadOnHost, what the engine does when the plan
    // keeps anything off the device) reaches the device only as far as the plan says: after the
    // lowest plan, no weight of a run-then-release component and no streamed block is on the
    // device; the images are the whole model's, bit for bit; clearPlan() then brings everything
    // onto the device. On the CPU the same calls run (the host is the device).
    void hostLoadedModelFollowsThePlan_data() { lowestPlanMatchesWhole_data(); }
    void hostLoadedModelFollowsThePlan() {
        QFETCH(QString, fixture);
        pipeline::TextToImageParams p = test::caseParams(
            test::readCases(fixture).value(QStringLiteral("pipeline")).toArray().at(0).toObject());
        p.sampler = QStringLiteral("euler");
        p.steps = 3;
        const QString path = test::dataPath(fixture + QStringLiteral("/pipeline"));
        pipeline::DeviceChoice device = test::float32Device(false);
        auto whole = pipeline::loadModel(path, device);
        QVERIFY2(whole, qPrintable(whole.error()));
        auto expected = pipeline::textToImage(**whole, p);
        QVERIFY2(expected, qPrintable(expected.error()));
        whole->reset();

        device.loadOnHost = true;
        auto model = pipeline::loadModel(path, device);
        QVERIFY2(model, qPrintable(model.error()));
        for (const pipeline::ModelComponentRef& c : (*model)->components())
            for (const auto& item : c.module->named_parameters())
                QVERIFY2(item.value().device().is_cpu(), qPrintable(c.name));
        auto made = engine::makePlan(
            context(fixture + QStringLiteral("/pipeline"), p, QStringLiteral("256MiB")), m_memory);
        QVERIFY2(made && made->has_value(), made ? "no plan" : qPrintable(made.error()));
        QVERIFY(!engine::keepsEverythingResident(**made));
        const Status applied = engine::applyPlan(**model, **made);
        QVERIFY2(applied, qPrintable(applied.error()));
        for (const pipeline::ModelComponentRef& c : (*model)->components()) {
            if ((*model)->placement(c.name) == pipeline::ComponentPlacement::Resident)
                continue;
            for (const auto& item : c.module->named_parameters()) // released or parked: host memory
                QVERIFY2(!item.value().is_cuda(),
                         qPrintable(c.name + QLatin1Char('.') + QString::fromStdString(item.key())));
        }
        auto planned = pipeline::textToImage(**model, p);
        QVERIFY2(planned, qPrintable(planned.error()));
        QCOMPARE(test::maxAbs(planned->latents, expected->latents), 0.0);
        QCOMPARE(test::maxAbs(planned->images, expected->images), 0.0);

        const Status cleared = engine::clearPlan(**model);
        QVERIFY2(cleared, qPrintable(cleared.error()));
        (*model)->beforeStage(pipeline::Stage::Idle);
        for (const pipeline::ModelComponentRef& c : (*model)->components())
            for (const auto& item : c.module->named_parameters())
                QCOMPARE(item.value().device(), device.device);
        auto again = pipeline::textToImage(**model, p);
        QVERIFY2(again, qPrintable(again.error()));
        QCOMPARE(test::maxAbs(again->latents, expected->latents), 0.0);
    }
};

QTEST_GUILESS_MAIN(TestPlanExecution)
#include "tst_plan_execution.moc"
