// Placement mechanisms (issue 16) on the tiny fixtures: the denoiser's blocks streamed through device
// slots (K of N resident) give the same latents bit for bit as the resident denoiser for SD 1.x, SD 3
// and Flux; run-then-release text encoders and VAE give the same images and are out of the device
// between their stages; T5 on the CPU gives the same result. The streamed runs use poisoned parked
// weights (NaN) on the CPU, so a block run without being brought in shows. With
// TWISTEDPIC_TEST_DEVICE=cuda the same runs on the GPU, plus the peak-memory check (label gpu).
#include "core/gpu/BlockStreamer.h"
#include "core/gpu/GpuMemory.h"
#include "core/nn/BlockSequence.h"
#include "core/pipeline/TextToImage.h"
#include "tests/pipeline/PipelineCases.h"
#include "tests/support/TestUtil.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <QJsonArray>
#include <QtTest>

#include <map>

using namespace tp;
using pipeline::ComponentPlacement;
using pipeline::Stage;

namespace {

// Checks the BlockSequence contract (every block once per forward, in order) and passes the calls on.
struct CountingHooks final : nn::BlockHooks {
    nn::BlockHooks* inner = nullptr;
    int count = 0;
    int forwards = 0;
    int next = 0; // the block expected next
    bool ordered = true;
    void beforeBlock(int index) override {
        if (index == 0) {
            ordered = ordered && next == 0;
            ++forwards;
        }
        ordered = ordered && index == next;
        if (inner)
            inner->beforeBlock(index);
    }
    void afterBlock(int index) override {
        ordered = ordered && index == next;
        next = (index + 1) % count;
        if (inner)
            inner->afterBlock(index);
    }
};

struct Run {
    at::Tensor latents;
    at::Tensor images;
};

std::vector<at::Tensor> weightCopies(torch::nn::Module& m) {
    std::vector<at::Tensor> out;
    for (const auto& p : m.named_parameters())
        out.push_back(p.value().to(at::kCPU, /*non_blocking=*/false, /*copy=*/true));
    return out;
}

} // namespace

class TestPipelineStreaming final : public QObject {
    Q_OBJECT

    struct Family {
        std::unique_ptr<pipeline::DiffusionModel> model;
        pipeline::TextToImageParams params;
        Run resident;
        QStringList encoders;
        QString denoiser;
        QString t5;
    };
    std::map<QString, Family> m_families; // "sd15", "sd3", "flux"
    bool m_cuda = false;
    static constexpr int kAll = 1000;

    Run run(pipeline::DiffusionModel& model, const pipeline::TextToImageParams& p,
            const std::function<bool(const pipeline::StepInfo&)>& onStep = {}) {
        Result<pipeline::TextToImageOutput> out = pipeline::textToImage(model, p, onStep);
        if (!out)
            qFatal("%s", qPrintable(out.error()));
        return {out->latents, out->images};
    }

    Family& family(const QString& name) { return m_families.at(name); }

    // Streams `f`'s denoiser, counts its forwards, and restores it.
    void checkStreamed(Family& f, int resident, int slots) {
        nn::BlockSequence* seq = f.model->denoiserBlocks();
        QVERIFY(seq);
        const int n = static_cast<int>(seq->blocks().size());
        const std::vector<qint64> bytes = f.model->blockBytes();
        QCOMPARE(static_cast<int>(bytes.size()), n);
        gpu::BlockStreamerOptions o;
        o.residentBlocks = resident == kAll ? n : resident < 0 ? n + resident : resident;
        o.slots = slots;
        o.poisonParked = true;
        std::vector<at::Tensor> before;
        for (torch::nn::Module* block : seq->blocks())
            for (at::Tensor& t : weightCopies(*block))
                before.push_back(t);
        QVERIFY(o.residentBlocks >= 0 && o.residentBlocks <= n);
        Status s = f.model->setStreaming(o);
        QVERIFY2(s, qPrintable(s.error()));
        gpu::BlockStreamer* streamer = f.model->streamer();
        QVERIFY(streamer);
        QCOMPARE(streamer->residentCount(), o.residentBlocks);
        const int streamed = n - o.residentBlocks;
        qint64 streamedBytes = 0;
        for (int i = 0; i < n; ++i)
            if (!streamer->isResident(i))
                streamedBytes += bytes[static_cast<size_t>(i)];
        QVERIFY(streamer->hostBytes() >= streamedBytes);
        if (!m_cuda && streamed > 0) {
            // Parked weights are poison on the CPU: a streamed block holds NaN until brought in.
            for (int i = 0; i < n; ++i)
                if (!streamer->isResident(i))
                    for (const auto& p : seq->blocks()[static_cast<size_t>(i)]->named_parameters())
                        if (p.value().is_floating_point() && p.value().numel() > 0)
                            QVERIFY(at::isnan(p.value()).all().item<bool>());
        }

        CountingHooks counting;
        counting.inner = streamer;
        counting.count = n;
        seq->setBlockHooks(&counting);
        const Run r = run(*f.model, f.params);
        seq->setBlockHooks(streamer);
        QVERIFY(counting.ordered);
        QVERIFY(counting.forwards >= f.params.steps);
        const gpu::BlockStreamerStats stats = streamer->stats();
        qInfo("%s: %s; %d forwards, %lld copies (%lld reused), %s copied", qPrintable(f.model->source()),
              qPrintable(streamer->describe()), counting.forwards, static_cast<long long>(stats.copies),
              static_cast<long long>(stats.reused), qPrintable(formatBytes(stats.bytesCopied)));
        const int usedSlots = std::min(slots, streamed);
        if (streamed > usedSlots) {
            // Every streamed block is copied once per forward, plus what was prefetched for a next one.
            QVERIFY(stats.copies >= qint64(streamed) * counting.forwards);
            QVERIFY(stats.copies <= qint64(streamed) * counting.forwards + usedSlots);
        } else {
            QCOMPARE(stats.copies, qint64(streamed)); // they stay in their slots
        }
        QVERIFY2(
            at::equal(r.latents, f.resident.latents),
            qPrintable(
                QStringLiteral("latents differ by %1").arg(test::maxAbs(r.latents, f.resident.latents))));
        QVERIFY(at::equal(r.images, f.resident.images));

        s = f.model->stopStreaming();
        QVERIFY2(s, qPrintable(s.error()));
        QVERIFY(!f.model->streamer());
        QVERIFY(!seq->blockHooks());
        std::vector<at::Tensor> after;
        for (torch::nn::Module* block : seq->blocks())
            for (at::Tensor& t : weightCopies(*block))
                after.push_back(t);
        QCOMPARE(after.size(), before.size());
        for (size_t i = 0; i < after.size(); ++i)
            QVERIFY(at::equal(after[i], before[i]));
        for (const auto& p : seq->blocks().back()->named_parameters())
            QCOMPARE(p.value().device(), f.model->device().device);
    }

private Q_SLOTS:
    void initTestCase() {
        const test::TestDevice where = test::testDevice();
        if (where == test::TestDevice::CudaMissing)
            QSKIP("TWISTEDPIC_TEST_DEVICE=cuda but no CUDA device");
        m_cuda = where == test::TestDevice::Cuda;
        pipeline::initCpuRuntime();
        const pipeline::DeviceChoice device = test::float32Device(m_cuda);
        struct Spec {
            QString key, fixture;
            QStringList encoders;
            QString denoiser, t5;
        };
        const std::vector<Spec> specs = {
            {QStringLiteral("sd15"),
             QStringLiteral("sd15-tiny"),
             {QStringLiteral("text_encoder")},
             QStringLiteral("unet"),
             {}},
            {QStringLiteral("sd3"),
             QStringLiteral("sd3-tiny"),
             {QStringLiteral("text_encoder"), QStringLiteral("text_encoder_2"),
              QStringLiteral("text_encoder_3")},
             QStringLiteral("transformer"),
             QStringLiteral("text_encoder_3")},
            {QStringLiteral("flux"),
             QStringLiteral("flux-tiny"),
             {QStringLiteral("text_encoder"), QStringLiteral("text_encoder_2")},
             QStringLiteral("transformer"),
             QStringLiteral("text_encoder_2")},
        };
        for (const Spec& spec : specs) {
            Family f;
            auto model =
                pipeline::loadModel(test::dataPath(spec.fixture + QStringLiteral("/pipeline")), device);
            QVERIFY2(model, qPrintable(model.error()));
            f.model = std::move(*model);
            const QJsonObject c =
                test::readCases(spec.fixture).value(QStringLiteral("pipeline")).toArray().at(0).toObject();
            f.params = test::caseParams(c);
            if (spec.key != QLatin1String("sd15"))
                f.params.sampler = QStringLiteral("euler");
            else
                f.params.negativePrompt = QStringLiteral("blurry"); // a guided batch of two
            f.params.steps = 3;
            f.encoders = spec.encoders;
            f.denoiser = spec.denoiser;
            f.t5 = spec.t5;
            f.resident = run(*f.model, f.params);
            QVERIFY(at::isfinite(f.resident.latents).all().item<bool>());
            m_families[spec.key] = std::move(f);
        }
    }

    void blockSizes_data() {
        QTest::addColumn<QString>("name");
        QTest::newRow("sd15") << QStringLiteral("sd15"); // down blocks + mid + up blocks
        QTest::newRow("sd3") << QStringLiteral("sd3");   // transformer_blocks
        QTest::newRow("flux") << QStringLiteral("flux"); // double + single blocks
    }
    void blockSizes() {
        QFETCH(QString, name);
        Family& f = family(name);
        const std::vector<qint64> bytes = f.model->blockBytes();
        QVERIFY(!bytes.empty());
        qint64 blocks = 0;
        for (qint64 b : bytes) {
            QVERIFY(b > 0);
            blocks += b;
        }
        const qint64 nonBlock = f.model->denoiserNonBlockBytes();
        QVERIFY(nonBlock > 0);
        qint64 denoiser = 0;
        for (const pipeline::ModelComponentRef& c : f.model->components())
            if (c.name == f.denoiser)
                denoiser = gpu::moduleBytes(*c.module);
        QCOMPARE(blocks + nonBlock, denoiser);
        // The block count the configs give.
        const QJsonObject config = [&] {
            QFile file(f.model->source() + QLatin1Char('/') + f.denoiser + QStringLiteral("/config.json"));
            file.open(QIODevice::ReadOnly);
            return QJsonDocument::fromJson(file.readAll()).object();
        }();
        int expected = 0;
        if (name == QLatin1String("sd15"))
            expected = 2 * config.value(QStringLiteral("block_out_channels")).toArray().size() + 1;
        else if (name == QLatin1String("sd3"))
            expected = config.value(QStringLiteral("num_layers")).toInt();
        else
            expected = config.value(QStringLiteral("num_layers")).toInt() +
                       config.value(QStringLiteral("num_single_layers")).toInt();
        QCOMPARE(static_cast<int>(bytes.size()), expected);
        qInfo("%s: %zu blocks, %s in blocks, %s outside", qPrintable(name), bytes.size(),
              qPrintable(formatBytes(blocks)), qPrintable(formatBytes(nonBlock)));
    }

    void streamedMatchesResident_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("resident"); // negative: N + resident; kAll: N
        QTest::addColumn<int>("slots");
        for (const QString& name : {QStringLiteral("sd15"), QStringLiteral("sd3"), QStringLiteral("flux")}) {
            QTest::newRow(qPrintable(name + QStringLiteral(" K=0"))) << name << 0 << 2;
            QTest::newRow(qPrintable(name + QStringLiteral(" K=1"))) << name << 1 << 2;
            QTest::newRow(qPrintable(name + QStringLiteral(" K=N-1"))) << name << -1 << 2;
        }
        QTest::newRow("sd15 K=0 one slot") << QStringLiteral("sd15") << 0 << 1;
        QTest::newRow("flux K=0 three slots") << QStringLiteral("flux") << 0 << 3;
        QTest::newRow("flux K=N") << QStringLiteral("flux") << kAll << 2;
    }
    void streamedMatchesResident() {
        QFETCH(QString, name);
        QFETCH(int, resident);
        QFETCH(int, slots);
        checkStreamed(family(name), resident, slots);
    }

    // The poison is what makes the CPU runs above prove something: without the streamer's hooks the
    // parked blocks are never brought in, and the output is NaN.
    void unstreamedBlocksShow() {
        if (m_cuda)
            QSKIP("on CUDA a parked block fails with a device mismatch instead");
        Family& f = family(QStringLiteral("sd3"));
        gpu::BlockStreamerOptions o;
        o.residentBlocks = 1;
        o.poisonParked = true;
        QVERIFY(f.model->setStreaming(o));
        nn::BlockSequence* seq = f.model->denoiserBlocks();
        seq->setBlockHooks(nullptr);
        Result<pipeline::TextToImageOutput> out = pipeline::textToImage(*f.model, f.params);
        seq->setBlockHooks(f.model->streamer());
        // NaN latents, which the VAE turns into NaN pixels: the pipeline refuses the image.
        QVERIFY(!out);
        QVERIFY2(out.error().contains(QStringLiteral("NaN")), qPrintable(out.error()));
        QVERIFY(f.model->stopStreaming());
        QVERIFY(at::equal(run(*f.model, f.params).latents, f.resident.latents));
    }

    void runThenRelease_data() {
        QTest::addColumn<QString>("name");
        QTest::newRow("sd15") << QStringLiteral("sd15");
        QTest::newRow("sd3") << QStringLiteral("sd3");
        QTest::newRow("flux") << QStringLiteral("flux");
    }
    void runThenRelease() {
        QFETCH(QString, name);
        Family& f = family(name);
        pipeline::DiffusionModel& m = *f.model;
        QStringList released = f.encoders;
        released << QStringLiteral("vae");
        for (const QString& c : released)
            QVERIFY(m.setPlacement(c, ComponentPlacement::RunThenRelease));
        QCOMPARE(m.placement(QStringLiteral("vae")), ComponentPlacement::RunThenRelease);
        QCOMPARE(m.placement(f.denoiser), ComponentPlacement::Resident);
        QCOMPARE(m.componentStage(f.denoiser), Stage::Denoise);
        QCOMPARE(m.componentStage(QStringLiteral("vae")), Stage::Decode);
        for (const QString& c : f.encoders)
            QCOMPARE(m.componentStage(c), Stage::Encode);

        for (int cycle = 0; cycle < 2; ++cycle) {
            int steps = 0;
            bool statesOk = true;
            const Run r = run(m, f.params, [&](const pipeline::StepInfo&) {
                ++steps;
                // During denoising: only the denoiser in; the others in pinned RAM on CUDA.
                statesOk = statesOk && m.stage() == Stage::Denoise && m.componentOnDevice(f.denoiser) &&
                           !m.componentOnDevice(QStringLiteral("vae"));
                for (const QString& c : f.encoders) {
                    statesOk = statesOk && !m.componentOnDevice(c);
                    if (m_cuda)
                        statesOk = statesOk && m.residency(c)->residency() == gpu::Residency::PinnedCpu;
                }
                if (m_cuda)
                    statesOk = statesOk &&
                               m.residency(QStringLiteral("vae"))->residency() == gpu::Residency::PinnedCpu &&
                               m.residency(f.denoiser)->residency() == gpu::Residency::OnGpu;
                return true;
            });
            QCOMPARE(steps, f.params.steps);
            QVERIFY(statesOk);
            QVERIFY(at::equal(r.latents, f.resident.latents));
            QVERIFY(at::equal(r.images, f.resident.images));
            // After the generation: the VAE went out again; the last stage's report says so.
            QCOMPARE(m.stage(), Stage::Idle);
            QVERIFY(!m.componentOnDevice(QStringLiteral("vae")));
            QCOMPARE(m.lastTransfers().size(), size_t(1));
            QCOMPARE(m.lastTransfers().front().moved, m_cuda);
            if (m_cuda) {
                for (const QString& c : released) {
                    QCOMPARE(m.residency(c)->residency(), gpu::Residency::PinnedCpu);
                    QVERIFY(m.residency(c)->pinnedBytes() >= m.residency(c)->bytes());
                }
                QCOMPARE(m.lastTransfers().front().to, gpu::Residency::PinnedCpu);
                if (cycle == 1) // the pinned buffers of the first cycle are reused
                    QCOMPARE(m.lastTransfers().front().pinnedAllocatedBytes, qint64(0));
            }
        }
        // Each stage by hand: what comes in and what goes out.
        m.beforeStage(Stage::Encode);
        for (const QString& c : f.encoders)
            QVERIFY(m.componentOnDevice(c));
        QVERIFY(!m.componentOnDevice(QStringLiteral("vae")));
        m.beforeStage(Stage::Decode);
        QVERIFY(m.componentOnDevice(QStringLiteral("vae")));
        for (const QString& c : f.encoders)
            QVERIFY(!m.componentOnDevice(c));
        QCOMPARE(m.lastTransfers().size(), size_t(f.encoders.size() + 1)); // encoders out, VAE in

        for (const QString& c : released)
            QVERIFY(m.setPlacement(c, ComponentPlacement::Resident));
        m.beforeStage(Stage::Encode);
        for (const pipeline::ModelComponentRef& c : m.components()) {
            QVERIFY(m.componentOnDevice(c.name));
            if (m_cuda)
                QCOMPARE(m.residency(c.name)->residency(), gpu::Residency::OnGpu);
        }
        QVERIFY(at::equal(run(m, f.params).latents, f.resident.latents));
    }

    void releaseAllAndBack() {
        Family& f = family(QStringLiteral("sd15"));
        pipeline::DiffusionModel& m = *f.model;
        const std::vector<gpu::TransferReport> reports = m.releaseAll();
        QCOMPARE(reports.size(), m.components().size());
        for (const pipeline::ModelComponentRef& c : m.components()) {
            QVERIFY(!m.componentOnDevice(c.name));
            if (m_cuda)
                QCOMPARE(m.residency(c.name)->residency(), gpu::Residency::PinnedCpu);
        }
        const Run r = run(m, f.params); // beforeStage(Encode) brings the resident ones back
        QVERIFY(at::equal(r.latents, f.resident.latents));
        for (const pipeline::ModelComponentRef& c : m.components())
            QVERIFY(m.componentOnDevice(c.name));
    }

    void streamingWithRunThenRelease() {
        // The denoiser streamed and released between generations, the encoders and VAE run then released.
        Family& f = family(QStringLiteral("flux"));
        pipeline::DiffusionModel& m = *f.model;
        gpu::BlockStreamerOptions o;
        o.residentBlocks = 1;
        o.poisonParked = true;
        QVERIFY(m.setStreaming(o));
        for (const QString& c : f.encoders)
            QVERIFY(m.setPlacement(c, ComponentPlacement::RunThenRelease));
        QVERIFY(m.setPlacement(QStringLiteral("vae"), ComponentPlacement::RunThenRelease));
        QVERIFY(m.setPlacement(f.denoiser, ComponentPlacement::RunThenRelease));
        for (int cycle = 0; cycle < 2; ++cycle) {
            const Run r = run(m, f.params);
            QVERIFY(at::equal(r.latents, f.resident.latents));
            QVERIFY(at::equal(r.images, f.resident.images));
            QVERIFY(!m.componentOnDevice(f.denoiser));
            QCOMPARE(m.streamer()->deviceSlotBytes(), qint64(0)); // slots freed outside denoising
        }
        m.beforeStage(Stage::Denoise);
        QVERIFY(m.stopStreaming());
        for (const pipeline::ModelComponentRef& c : m.components())
            QVERIFY(m.setPlacement(c.name, ComponentPlacement::Resident));
        QVERIFY(at::equal(run(m, f.params).latents, f.resident.latents));
    }

    void t5OnCpu_data() {
        QTest::addColumn<QString>("name");
        QTest::newRow("sd3") << QStringLiteral("sd3");
        QTest::newRow("flux") << QStringLiteral("flux");
    }
    void t5OnCpu() {
        QFETCH(QString, name);
        Family& f = family(name);
        pipeline::DiffusionModel& m = *f.model;
        QVERIFY(!m.setPlacement(f.denoiser, ComponentPlacement::Cpu)); // T5 only
        QVERIFY(!m.setPlacement(QStringLiteral("text_encoder"), ComponentPlacement::Cpu));
        // bfloat16 asked of float32 weights would lose bits: they stay float32 (reversible).
        Status s = m.setPlacement(f.t5, ComponentPlacement::Cpu, at::kBFloat16);
        QVERIFY2(s, qPrintable(s.error()));
        QCOMPARE(m.componentDevice(f.t5), at::Device(at::kCPU));
        QVERIFY(!m.componentOnDevice(f.t5));
        torch::nn::Module* t5 = nullptr;
        for (const pipeline::ModelComponentRef& c : m.components())
            if (c.name == f.t5)
                t5 = c.module;
        QVERIFY(t5);
        for (const auto& p : t5->named_parameters()) {
            QVERIFY(p.value().device().is_cpu());
            QCOMPARE(p.value().scalar_type(), at::kFloat);
        }
        const Run r = run(m, f.params);
        if (m_cuda) { // CPU and GPU float32 kernels differ in their last bits
            const double err = test::maxAbs(r.latents, f.resident.latents);
            qInfo("%s: T5 on the CPU, latents differ by %.3g", qPrintable(name), err);
            QVERIFY(err < 1e-3);
        } else {
            QVERIFY(at::equal(r.latents, f.resident.latents));
        }
        QVERIFY(m.setPlacement(f.t5, ComponentPlacement::Resident));
        for (const auto& p : t5->named_parameters())
            QCOMPARE(p.value().device(), m.device().device);
        QVERIFY(at::equal(run(m, f.params).latents, f.resident.latents));
    }

    // A bfloat16 model: T5 on the CPU in float32 is a different computation; back on the device it
    // is the same model bit for bit (bfloat16 -> float32 -> bfloat16 is exact).
    void t5OnCpuIsReversible() {
        pipeline::DeviceChoice device = test::float32Device(m_cuda);
        device.dtype = at::kBFloat16;
        auto model = pipeline::loadModel(test::dataPath(QStringLiteral("flux-tiny/pipeline")), device);
        QVERIFY2(model, qPrintable(model.error()));
        pipeline::DiffusionModel& m = **model;
        const pipeline::TextToImageParams& p = family(QStringLiteral("flux")).params;
        const Run bf16 = run(m, p);
        QVERIFY(m.setPlacement(QStringLiteral("text_encoder_2"), ComponentPlacement::Cpu, at::kFloat));
        const Run cpu = run(m, p);
        const double err = test::maxAbs(cpu.latents, bf16.latents);
        qInfo("flux bf16: T5 on the CPU in float32, latents differ by %.3g", err);
        QVERIFY(err < 0.1);
        QVERIFY(m.setPlacement(QStringLiteral("text_encoder_2"), ComponentPlacement::Resident));
        QVERIFY(at::equal(run(m, p).latents, bf16.latents));
    }

    // CUDA only: with blocks streamed the allocator's peak is lower than fully resident, by about
    // what the streamed blocks hold less the slots.
    void streamingLowersPeak_data() {
        QTest::addColumn<QString>("name");
        QTest::newRow("sd15") << QStringLiteral("sd15");
        QTest::newRow("sd3") << QStringLiteral("sd3");
        QTest::newRow("flux") << QStringLiteral("flux");
    }
    void streamingLowersPeak() {
        if (!m_cuda)
            QSKIP("needs CUDA (TWISTEDPIC_TEST_DEVICE=cuda)");
        QFETCH(QString, name);
        Family& f = family(name);
        pipeline::DiffusionModel& m = *f.model;
        gpu::MemoryManager memory(0);
        auto peakOf = [&] {
            memory.cleanup();
            gpu::resetPeak(0);
            const Run r = run(m, f.params);
            const qint64 peak = memory.snapshot().peakAllocatedBytes;
            if (!at::equal(r.latents, f.resident.latents))
                qFatal("streamed latents differ on CUDA by %g", test::maxAbs(r.latents, f.resident.latents));
            return peak;
        };
        const qint64 resident = peakOf();
        gpu::BlockStreamerOptions o;
        o.residentBlocks = 0;
        o.slots = 1;
        QVERIFY(m.setStreaming(o));
        const qint64 streamed = peakOf();
        const qint64 expectedSaving = m.streamer()->hostBytes() - m.streamer()->slotBytes();
        qInfo("%s: peak allocated %s resident, %s with %s (expected saving about %s)", qPrintable(name),
              qPrintable(formatBytes(resident)), qPrintable(formatBytes(streamed)),
              qPrintable(m.streamer()->describe()), qPrintable(formatBytes(expectedSaving)));
        QVERIFY(m.stopStreaming());
        QVERIFY(streamed < resident);
        QVERIFY(resident - streamed >= expectedSaving / 2);
    }
};

QTEST_GUILESS_MAIN(TestPipelineStreaming)
#include "tst_pipeline_streaming.moc"
