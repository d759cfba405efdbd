// CUDA graphs for the denoiser step and a step loop without host syncs (issue 17,
// core/pipeline/DenoiserGraph.h), on the tiny fixtures of SD 1.5, SD 3 and Flux.
//
// On every device: textToImage() — its timesteps prepared on the device once, every step through
// DenoiserGraphs — gives bit for bit the latents of the loop as it was written before (written out here:
// timestepTensor(i).to(device) and model.denoise() each step). Graphs turned off (the request, the
// environment), hooked (streamed) blocks and a forced capture failure run eagerly, give the same
// latents, and say why. The step counters show which path each step took. The live preview's
// asynchronous copy gives the images of the synchronous render; channels-last convolutions give the
// same latents within rounding.
//
// With TWISTEDPIC_TEST_DEVICE=cuda (label gpu) the same comparisons are graph replay against that eager
// loop, bit for bit (the same kernels with the same inputs; only the launches differ), plus: a second
// generation of the same shape replays without capturing again; weights that move (releaseAll() and
// back, or moved behind the model's back) are recaptured; another guidance scale is another graph for
// Flux (its guidance is an input of the graph) but not for SD 1.5 (classifier-free guidance is outside
// the denoiser); a failed capture is not retried for that shape until the weights change.
#include "core/gpu/BlockStreamer.h"
#include "core/nn/BlockSequence.h"
#include "core/pipeline/DenoiserGraph.h"
#include "core/pipeline/ImageConvert.h"
#include "core/pipeline/TextToImage.h"
#include "core/pipeline/WarmUp.h"
#include "core/sched/Random.h"
#include "tests/pipeline/PipelineCases.h"
#include "tests/support/TestUtil.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <torch/version.h>

#include <QJsonArray>
#include <QtTest>

#include <map>

using namespace tp;
using pipeline::DenoiserGraphs;
using pipeline::DenoiserGraphStats;
using pipeline::Stage;

namespace {

// The sampling loop as textToImage() ran it before issue 17, step for step: the reference the new
// loop must reproduce bit for bit.
at::Tensor plainLoop(pipeline::DiffusionModel& model, const pipeline::TextToImageParams& p) {
    std::vector<std::unique_ptr<sched::Scheduler>> schedulers;
    const QJsonObject& config = p.schedulerConfig ? *p.schedulerConfig : model.schedulerConfig();
    for (int i = 0; i < p.count; ++i) {
        auto made = model.makeScheduler(p.sampler, config, p.steps, p.width, p.height);
        if (!made)
            qFatal("%s", qPrintable(made.error()));
        schedulers.push_back(std::move(*made));
    }
    sched::Scheduler& first = *schedulers.front();
    c10::InferenceMode inference;
    const at::Device device = model.device().device;
    model.beforeStage(Stage::Encode);
    const double cfg = model.cfgScale(p);
    const bool guided = cfg > 1.0;
    Result<pipeline::EncodedPrompts> encoded = model.encodePrompts(p, guided);
    if (!encoded)
        qFatal("%s", qPrintable(encoded.error()));
    pipeline::Conditioning cond = encoded->cond.repeated(p.count);
    if (guided)
        cond = pipeline::Conditioning::concat(encoded->uncond.repeated(p.count), cond);
    const pipeline::LatentShape ls = *model.latentShape(p.width, p.height);
    std::vector<at::Generator> generators;
    std::vector<at::Tensor> noise;
    for (int i = 0; i < p.count; ++i) {
        generators.push_back(sched::makeCpuGenerator(p.seed + static_cast<uint64_t>(i)));
        noise.push_back(
            sched::randnCpu({1, ls.channels, ls.height, ls.width}, generators.back(), model.noiseDtype()));
    }
    at::Tensor latents = at::cat(noise).to(device) * first.initNoiseSigma();
    model.beforeStage(Stage::Denoise);
    for (int i = 0; i < first.size(); ++i) {
        at::Tensor input = guided ? at::cat({latents, latents}) : latents;
        input = first.scaleModelInput(input, i);
        at::Tensor prediction = model.denoise(input, first.timestepTensor(i).to(device), cond, p.guidance);
        if (guided) {
            const std::vector<at::Tensor> halves = prediction.chunk(2);
            prediction = halves[0] + cfg * (halves[1] - halves[0]);
        }
        std::vector<at::Tensor> next;
        for (int j = 0; j < p.count; ++j)
            next.push_back(schedulers[j]->step(prediction.slice(0, j, j + 1), i, latents.slice(0, j, j + 1),
                                               &generators[j]));
        latents = p.count == 1 ? next.front() : at::cat(next);
    }
    model.beforeStage(Stage::Idle);
    return latents.to(at::kCPU, at::kFloat);
}

// Counts the blocks the denoiser runs (hooks without a streamer).
struct CountingHooks final : nn::BlockHooks {
    int before = 0;
    void beforeBlock(int) override { ++before; }
    void afterBlock(int) override {}
};

} // namespace

class TestPipelineGraphs final : public QObject {
    Q_OBJECT

    struct Family {
        std::unique_ptr<pipeline::DiffusionModel> model;
        pipeline::TextToImageParams params;
        at::Tensor plain; // plainLoop(params)
    };
    std::map<QString, Family> m_families;
    bool m_cuda = false;
    // Whether this build and device capture graphs at all (CUDA and libtorch 2.x).
    bool m_graphs = false;

    Family& family(const QString& name) { return m_families.at(name); }

    struct Run {
        at::Tensor latents;
        QString eagerReason;
        DenoiserGraphStats delta; // what this run added to the model's counters
        int steps = 0;            // onStep calls
    };
    Run run(pipeline::DiffusionModel& model, const pipeline::TextToImageParams& p) {
        const DenoiserGraphStats before = model.denoiserGraphs().stats();
        Run r;
        Result<pipeline::TextToImageOutput> out =
            pipeline::textToImage(model, p, [&](const pipeline::StepInfo& s) {
                ++r.steps;
                return s.latents.defined();
            });
        if (!out)
            qFatal("%s", qPrintable(out.error()));
        const DenoiserGraphStats after = model.denoiserGraphs().stats();
        r.latents = out->latents;
        r.eagerReason = out->eagerReason;
        r.delta.captures = after.captures - before.captures;
        r.delta.replays = after.replays - before.replays;
        r.delta.eagerSteps = after.eagerSteps - before.eagerSteps;
        r.delta.failedCaptures = after.failedCaptures - before.failedCaptures;
        r.delta.dropped = after.dropped - before.dropped;
        return r;
    }

    // `r`'s latents equal `expected` bit for bit.
    static bool same(const Run& r, const at::Tensor& expected) {
        if (at::equal(r.latents, expected))
            return true;
        qWarning("latents differ by %g", test::maxAbs(r.latents, expected));
        return false;
    }

    // Every step of `r` (steps of them) replayed a graph, or (without graph support) ran eagerly
    // saying why.
    void checkReplayed(const Run& r, int steps) {
        if (m_graphs) {
            QVERIFY2(r.eagerReason.isEmpty(), qPrintable(r.eagerReason));
            QCOMPARE(r.delta.replays, steps);
            QCOMPARE(r.delta.eagerSteps, 0);
        } else {
            QVERIFY(!r.eagerReason.isEmpty());
            QVERIFY2(r.eagerReason.contains(m_cuda ? QStringLiteral("libtorch") : QStringLiteral("CPU")),
                     qPrintable(r.eagerReason));
            QCOMPARE(r.delta.replays, 0);
            QCOMPARE(r.delta.captures, 0);
            QCOMPARE(r.delta.eagerSteps, steps);
        }
    }

private Q_SLOTS:
    void initTestCase() {
        const test::TestDevice where = test::testDevice();
        if (where == test::TestDevice::CudaMissing)
            QSKIP("TWISTEDPIC_TEST_DEVICE=cuda but no CUDA device");
        m_cuda = where == test::TestDevice::Cuda;
        m_graphs = m_cuda && TORCH_VERSION_MAJOR >= 2;
        pipeline::initCpuRuntime();
        const pipeline::DeviceChoice device = test::float32Device(m_cuda);
        for (const QString& key : {QStringLiteral("sd15"), QStringLiteral("sd3"), QStringLiteral("flux")}) {
            const QString fixture = key + QStringLiteral("-tiny");
            Family f;
            auto model = pipeline::loadModel(test::dataPath(fixture + QStringLiteral("/pipeline")), device);
            QVERIFY2(model, qPrintable(model.error()));
            f.model = std::move(*model);
            const QJsonObject c =
                test::readCases(fixture).value(QStringLiteral("pipeline")).toArray().at(0).toObject();
            f.params = test::caseParams(c);
            if (key == QLatin1String("sd15")) {
                // Euler a: noise from the CPU generators every step (uploaded asynchronously on CUDA).
                f.params.sampler = QStringLiteral("euler_a");
                f.params.negativePrompt = QStringLiteral("blurry"); // a guided batch of two
                f.params.width = f.params.height = 64; // a latent of 8×8 (the UNet halves it twice): seconds
            } else {
                f.params.sampler = QStringLiteral("euler");
            }
            f.params.steps = 3;
            f.plain = plainLoop(*f.model, f.params);
            QVERIFY(at::isfinite(f.plain).all().item<bool>());
            m_families[key] = std::move(f);
        }
    }

    void loopMatchesPlainLoop_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("count");
        QTest::newRow("sd15") << QStringLiteral("sd15") << 1;
        QTest::newRow("sd15 batch of 2") << QStringLiteral("sd15") << 2;
        QTest::newRow("sd3") << QStringLiteral("sd3") << 1;
        QTest::newRow("flux") << QStringLiteral("flux") << 1;
    }
    void loopMatchesPlainLoop() {
        QFETCH(QString, name);
        QFETCH(int, count);
        Family& f = family(name);
        pipeline::TextToImageParams p = f.params;
        p.count = count;
        const at::Tensor expected = count == 1 ? f.plain : plainLoop(*f.model, p);
        const Run r = run(*f.model, p);
        QCOMPARE(r.steps, p.steps);
        QVERIFY(same(r, expected));
        checkReplayed(r, p.steps);
        if (m_graphs)
            QVERIFY(f.model->denoiserGraphs().size() >= 1);
    }

    // The cache: the same shape replays without a new capture, another shape gets its own graph.
    void secondGenerationReplays() {
        Family& f = family(QStringLiteral("sd15"));
        f.model->releaseGraphs();
        QCOMPARE(f.model->denoiserGraphs().size(), 0);
        pipeline::TextToImageParams p = f.params;
        const Run first = run(*f.model, p);
        QVERIFY(same(first, f.plain));
        QCOMPARE(first.delta.captures, m_graphs ? 1 : 0);
        p.seed += 17; // other noise, same shapes
        const Run second = run(*f.model, p);
        QCOMPARE(second.delta.captures, 0);
        checkReplayed(second, p.steps);
        QVERIFY(same(second, plainLoop(*f.model, p)));
        QVERIFY(!at::equal(second.latents, first.latents));
        // Another size: a second graph beside the first, which still replays afterwards.
        pipeline::TextToImageParams wide = f.params;
        wide.width += 64;
        const Run other = run(*f.model, wide);
        QCOMPARE(other.delta.captures, m_graphs ? 1 : 0);
        QVERIFY(same(other, plainLoop(*f.model, wide)));
        QCOMPARE(f.model->denoiserGraphs().size(), m_graphs ? 2 : 0);
        const Run again = run(*f.model, f.params);
        QCOMPARE(again.delta.captures, 0);
        QVERIFY(same(again, f.plain));
        if (m_graphs)
            QVERIFY(f.model->denoiserGraphs().poolBytes() > 0);
    }

    // SD 1.5's guidance scale is applied outside the denoiser: one graph serves every scale. Flux
    // embeds it: each scale has its own graph.
    void guidance_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("embedded");
        QTest::newRow("sd15") << QStringLiteral("sd15") << false;
        QTest::newRow("flux") << QStringLiteral("flux") << true;
    }
    void guidance() {
        QFETCH(QString, name);
        QFETCH(bool, embedded);
        Family& f = family(name);
        QCOMPARE(f.model->denoiserEmbedsGuidance(), embedded);
        QVERIFY(same(run(*f.model, f.params), f.plain)); // its graph exists
        pipeline::TextToImageParams p = f.params;
        p.guidance += 1.5;
        const at::Tensor expected = plainLoop(*f.model, p);
        QVERIFY(!at::equal(expected, f.plain));
        const Run r = run(*f.model, p);
        QVERIFY(same(r, expected));
        checkReplayed(r, p.steps);
        QCOMPARE(r.delta.captures, m_graphs && embedded ? 1 : 0);
    }

    // Weights that move never replay a graph captured for the old ones.
    void movedWeightsRecapture() {
        Family& f = family(QStringLiteral("sd15"));
        pipeline::DiffusionModel& m = *f.model;
        m.releaseGraphs();
        QVERIFY(same(run(m, f.params), f.plain));
        QCOMPARE(m.denoiserGraphs().size(), m_graphs ? 1 : 0);
        // Through the model: releaseAll() frees the graphs before the weights go.
        const int droppedBefore = m.denoiserGraphs().stats().dropped;
        m.releaseAll();
        QCOMPARE(m.denoiserGraphs().size(), 0);
        QCOMPARE(m.denoiserGraphs().stats().dropped - droppedBefore, m_graphs ? 1 : 0);
        m.beforeStage(Stage::Encode);
        const Run back = run(m, f.params);
        QVERIFY(same(back, f.plain));
        QCOMPARE(back.delta.captures, m_graphs ? 1 : 0);
        checkReplayed(back, f.params.steps);

        // Behind its back (as the engine's whole-model unload and reload does): every parameter of the
        // denoiser copied to new memory while the old is still held, so that no address can repeat.
        {
            const at::NoGradGuard noGrad;
            std::vector<at::Tensor> old;
            for (at::Tensor& t : m.denoiserModule()->parameters()) {
                old.push_back(t.data());
                t.set_data(t.data().clone());
            }
        }
        const Run moved = run(m, f.params);
        QVERIFY(same(moved, f.plain));
        QCOMPARE(moved.delta.dropped, m_graphs ? 1 : 0);
        QCOMPARE(moved.delta.captures, m_graphs ? 1 : 0);
        checkReplayed(moved, f.params.steps);
    }

    // Where a graph must not or cannot be used, the steps run eagerly with the same numbers and the
    // run says why.
    void fallbacks() {
        Family& f = family(QStringLiteral("sd15"));
        pipeline::DiffusionModel& m = *f.model;
        const int steps = f.params.steps;

        // Turned off by the request (the setting gpu/cudaGraphs).
        pipeline::TextToImageParams off = f.params;
        off.cudaGraphs = false;
        Run r = run(m, off);
        QVERIFY(same(r, f.plain));
        QVERIFY2(r.eagerReason.contains(QStringLiteral("gpu/cudaGraphs")), qPrintable(r.eagerReason));
        QCOMPARE(r.delta.eagerSteps, steps);
        QCOMPARE(r.delta.replays, 0);
        QCOMPARE(m.denoiserGraphs().size(), 0); // not kept while off

        // Turned off by the environment.
        qputenv("TWISTEDPIC_CUDA_GRAPHS", "0");
        r = run(m, f.params);
        qunsetenv("TWISTEDPIC_CUDA_GRAPHS");
        QVERIFY(same(r, f.plain));
        QVERIFY2(r.eagerReason.contains(QStringLiteral("TWISTEDPIC_CUDA_GRAPHS=0")),
                 qPrintable(r.eagerReason));
        QCOMPARE(r.delta.eagerSteps, steps);

        // Block hooks (what streaming sets): they must see every block of every step.
        nn::BlockSequence* blocks = m.denoiserBlocks();
        QVERIFY(blocks);
        CountingHooks hooks;
        blocks->setBlockHooks(&hooks);
        r = run(m, f.params);
        blocks->setBlockHooks(nullptr);
        QVERIFY(same(r, f.plain));
        QVERIFY2(r.eagerReason.contains(QStringLiteral("hooks")), qPrintable(r.eagerReason));
        QCOMPARE(hooks.before, steps * static_cast<int>(blocks->blocks().size()));
        QCOMPARE(r.delta.eagerSteps, steps);

        // A capture that fails: caught, the step runs eagerly, and that shape is not tried again until
        // the weights change (releaseGraphs() stands for that here).
        m.releaseGraphs();
        m.denoiserGraphs().setFailCapture(true);
        r = run(m, f.params);
        QVERIFY(same(r, f.plain));
        QCOMPARE(r.delta.eagerSteps, steps);
        QCOMPARE(r.delta.replays, 0);
        if (m_graphs) {
            QVERIFY2(r.eagerReason.contains(QStringLiteral("failed")) &&
                         r.eagerReason.contains(QStringLiteral("on purpose")),
                     qPrintable(r.eagerReason));
            QCOMPARE(r.delta.failedCaptures, 1);
            QCOMPARE(m.denoiserGraphs().size(), 0);
            const Run again = run(m, f.params);
            QCOMPARE(again.delta.failedCaptures, 0);
            QVERIFY(again.eagerReason.contains(QStringLiteral("on purpose")));
            QVERIFY(same(again, f.plain));
        } else {
            QVERIFY2(r.eagerReason.contains(m_cuda ? QStringLiteral("libtorch") : QStringLiteral("CPU")),
                     qPrintable(r.eagerReason));
            QCOMPARE(r.delta.failedCaptures, 0);
        }
        m.denoiserGraphs().setFailCapture(false);
        m.releaseGraphs();
        r = run(m, f.params);
        QVERIFY(same(r, f.plain));
        checkReplayed(r, steps);
        QCOMPARE(r.delta.captures, m_graphs ? 1 : 0);
    }

    // Streaming the blocks: eager (the streamer's hooks), the same latents, and the graphs freed.
    void streamedRunsEagerly() {
        Family& f = family(QStringLiteral("flux"));
        pipeline::DiffusionModel& m = *f.model;
        QVERIFY(same(run(m, f.params), f.plain));
        gpu::BlockStreamerOptions o;
        o.residentBlocks = 1;
        Status s = m.setStreaming(o);
        QVERIFY2(s, qPrintable(s.error()));
        QCOMPARE(m.denoiserGraphs().size(), 0);
        const Run r = run(m, f.params);
        QVERIFY(same(r, f.plain));
        QVERIFY2(r.eagerReason.contains(QStringLiteral("streamed")), qPrintable(r.eagerReason));
        QCOMPARE(r.delta.eagerSteps, f.params.steps);
        s = m.stopStreaming();
        QVERIFY2(s, qPrintable(s.error()));
        const Run after = run(m, f.params);
        QVERIFY(same(after, f.plain));
        checkReplayed(after, f.params.steps);
    }

    // A cancelled generation leaves the cache usable and says how its steps ran.
    void cancelKeepsCache() {
        Family& f = family(QStringLiteral("sd3"));
        pipeline::DiffusionModel& m = *f.model;
        int seen = 0;
        Result<pipeline::TextToImageOutput> out =
            pipeline::textToImage(m, f.params, [&](const pipeline::StepInfo& s) {
                ++seen;
                return s.step < 2;
            });
        QVERIFY(out);
        QVERIFY(out->cancelled);
        QCOMPARE(seen, 2);
        QCOMPARE(out->eagerReason.isEmpty(), m_graphs);
        QVERIFY(same(run(m, f.params), f.plain));
    }

    // Channels-last convolutions (an issue-17 switch, off by default): the UNet's convolution weights
    // laid out NHWC give the same latents up to the convolutions' rounding, on graphs as eagerly, and
    // switching back gives the contiguous run's latents bit for bit.
    void channelsLast() {
        Family& f = family(QStringLiteral("sd15"));
        pipeline::DiffusionModel& m = *f.model;
        QVERIFY(!m.channelsLast());
        QVERIFY(m.setChannelsLast(true));
        QVERIFY(m.channelsLast());
        int laidOut = 0;
        for (const at::Tensor& p : m.denoiserModule()->parameters())
            if (p.dim() == 4) {
                QVERIFY(p.is_contiguous(at::MemoryFormat::ChannelsLast));
                ++laidOut;
            }
        QVERIFY(laidOut > 0);
        const Run r = run(m, f.params);
        checkReplayed(r, f.params.steps);
        const double diff = test::maxAbs(r.latents, f.plain);
        QVERIFY2(at::allclose(r.latents, f.plain, 1e-3, 1e-3), qPrintable(QString::number(diff)));
        QVERIFY(m.setChannelsLast(false));
        for (const at::Tensor& p : m.denoiserModule()->parameters())
            QVERIFY(p.is_contiguous());
        QVERIFY(same(run(m, f.params), f.plain));
    }

    // The device warm-up (issue 17.3) runs every operator it names on the model's device and dtype,
    // draws from a generator of its own (libtorch's default generators, the CPU's and the device's, stay
    // where they were) and leaves the next generation's result exactly as it was.
    void warmUpLeavesResultsAlone() {
        Family& f = family(QStringLiteral("sd15"));
        pipeline::DiffusionModel& m = *f.model;
        const at::Generator& cpuGen = at::globalContext().defaultGenerator(at::kCPU);
        const at::Generator& deviceGen = at::globalContext().defaultGenerator(m.device().device);
        const at::Tensor cpuBefore = cpuGen.get_state();
        const at::Tensor deviceBefore = deviceGen.get_state();
        const double ms = pipeline::warmUpDevice(m.device().device, m.device().dtype);
        QVERIFY(ms > 0);
        qInfo("warm-up on %s: %.1f ms", qPrintable(m.device().description), ms);
        QVERIFY(at::equal(cpuGen.get_state(), cpuBefore));
        QVERIFY(at::equal(deviceGen.get_state(), deviceBefore));
        QVERIFY(same(run(m, f.params), f.plain));
    }

    // The live preview without a host sync: the steps' previews, taken as the engine takes them
    // (start, then poll), are the images the synchronous render gives for those steps' latents, and
    // the copy never waits (on CUDA it may land a step or two later; on the CPU at once).
    void previewWithoutSync() {
        Family& f = family(QStringLiteral("sd15"));
        pipeline::DiffusionModel& m = *f.model;
        QVERIFY(m.preview().available());
        pipeline::AsyncLatentPreview preview(m.preview());
        QVERIFY(preview.take().isNull()); // nothing started
        std::vector<QImage> expected;     // render() of each started step's latents, in order
        std::vector<QImage> shown;
        Result<pipeline::TextToImageOutput> out =
            pipeline::textToImage(m, f.params, [&](const pipeline::StepInfo& s) {
                if (!preview.pending()) {
                    preview.start(s.latents);
                    expected.push_back(m.preview().render(s.latents));
                }
                if (QImage image = preview.take(); !image.isNull())
                    shown.push_back(image);
                return true;
            });
        QVERIFY2(out, qPrintable(out.error()));
        if (preview.pending()) { // the last copy, still in flight: wait for it as a viewer would
            QImage image;
            for (int i = 0; i < 1000 && (image = preview.take()).isNull(); ++i)
                QTest::qWait(1);
            QVERIFY(!image.isNull());
            shown.push_back(image);
        }
        QVERIFY(!preview.pending());
        QCOMPARE(shown.size(), expected.size());
        QVERIFY(!shown.empty());
        if (!m_cuda)
            QCOMPARE(int(shown.size()), f.params.steps); // on the CPU every step's copy is done at once
        for (size_t i = 0; i < shown.size(); ++i)
            QCOMPARE(shown[i], expected[i]);
        // A start while a copy is pending is ignored: the pending copy is the one delivered.
        const at::Tensor a =
            at::zeros({1, 4, 8, 8}, at::TensorOptions().device(m.device().device).dtype(m.noiseDtype()));
        preview.start(a);
        preview.start(a + 1);
        QImage first;
        for (int i = 0; i < 1000 && (first = preview.take()).isNull(); ++i)
            QTest::qWait(1);
        QCOMPARE(first, m.preview().render(a));
    }
};

QTEST_MAIN(TestPipelineGraphs)
#include "tst_pipeline_graphs.moc"
