// The VRAM budget, the placement planner, its learned estimates and the model profile from
// safetensors headers: CPU only, scripted sizes (no GPU, no weights loaded).
#include "core/gpu/ModelProfile.h"
#include "core/gpu/PlacementPlanner.h"
#include "core/gpu/PlanMemory.h"
#include "core/gpu/VramBudget.h"
#include "core/io/SafeTensorsHeader.h"
#include "core/services/VramEstimate.h"
#include "core/settings/Settings.h"
#include "tests/support/TestUtil.h"

#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>

using namespace tp;
using namespace tp::gpu;

namespace {

constexpr qint64 MiB = 1024LL * 1024;
constexpr qint64 GiB = 1024 * MiB;
constexpr qint64 GB = 1000LL * 1000 * 1000;

qint64 gb(double v) {
    return qint64(v * double(GB));
}

// The estimator's figures for a 1024² request (fused attention, as on libtorch 2.x).
qint64 ditActivation(int hidden, int heads, int context, bool cfg) {
    services::GenerationShape g;
    g.denoiser = services::GenerationShape::Denoiser::Dit;
    g.width = g.height = 1024;
    g.guidance = cfg;
    g.ditHidden = hidden;
    g.attentionHeads = heads;
    g.contextTokens = context;
    g.materializedAttention = false;
    return services::estimateGenerationVram(g).unetBytes;
}

ComponentSize textEncoder(const QString& name, const QString& label, qint64 weights, int seq, int hidden,
                          int ffn, int heads, int prompts, bool t5 = false) {
    ComponentSize s;
    s.name = name;
    s.label = label;
    s.kind = t5 ? ComponentKind::T5 : ComponentKind::TextEncoder;
    s.weightBytes = weights;
    services::TextEncoderShape shape{seq, hidden, ffn, heads, prompts, 2};
    s.activationBytes = services::estimateTextEncoderVram(shape);
    return s;
}

ComponentSize vae(int side = 1024) {
    ComponentSize s;
    s.name = QStringLiteral("vae");
    s.label = QStringLiteral("VAE");
    s.kind = ComponentKind::Vae;
    s.weightBytes = gb(0.17);
    s.activationBytes = services::estimateVaeDecodeVram(side, side);
    s.tiledActivationBytes = services::estimateTiledVaeDecodeVram(side, side, 1, 512);
    return s;
}

void withFp8(ComponentSize& d) {
    for (qint64 b : d.blockBytes)
        d.fp8BlockBytes.push_back(b / 2);
    d.fp8NonBlockBytes = d.nonBlockBytes / 2;
}

// SD 3.5 Large in bf16 at 1024², CFG: MMDiT 16.3 GB in 38 blocks, T5-XXL 9.5 GB, CLIP-L, CLIP-G, VAE.
PlanInput sd35Large(qint64 budget) {
    PlanInput in;
    in.budgetBytes = budget;
    in.steps = 28;
    in.components.push_back(textEncoder(QStringLiteral("text_encoder"), QStringLiteral("CLIP-L"), gb(0.25),
                                        77, 768, 3072, 12, 2));
    in.components.push_back(textEncoder(QStringLiteral("text_encoder_2"), QStringLiteral("CLIP-G"), gb(1.4),
                                        77, 1280, 5120, 20, 2));
    in.components.push_back(textEncoder(QStringLiteral("text_encoder_3"), QStringLiteral("T5"), gb(9.5), 256,
                                        4096, 10240, 64, 2, true));
    ComponentSize d = ComponentSize::denoiser(QStringLiteral("transformer"), QStringLiteral("transformer"),
                                              38, gb(16.0) / 38, gb(0.3), ditActivation(2432, 38, 333, true));
    withFp8(d);
    in.components.push_back(d);
    in.components.push_back(vae());
    return in;
}

// Flux dev in bf16 at 1024² (no CFG pass): 19 double blocks of 0.68 GB, 38 single of 0.283 GB.
PlanInput fluxDev(qint64 budget) {
    PlanInput in;
    in.budgetBytes = budget;
    in.steps = 28;
    in.components.push_back(textEncoder(QStringLiteral("text_encoder"), QStringLiteral("CLIP-L"), gb(0.25),
                                        77, 768, 3072, 12, 1));
    in.components.push_back(textEncoder(QStringLiteral("text_encoder_2"), QStringLiteral("T5"), gb(9.5), 512,
                                        4096, 10240, 64, 1, true));
    ComponentSize d;
    d.name = d.label = QStringLiteral("transformer");
    d.kind = ComponentKind::Denoiser;
    for (int i = 0; i < 19; ++i)
        d.blockBytes.push_back(gb(0.68));
    for (int i = 0; i < 38; ++i)
        d.blockBytes.push_back(gb(0.283));
    d.nonBlockBytes = gb(23.8) - 19 * gb(0.68) - 38 * gb(0.283);
    d.weightBytes = gb(23.8);
    d.activationBytes = ditActivation(3072, 24, 512, false);
    withFp8(d);
    in.components.push_back(d);
    in.components.push_back(vae());
    return in;
}

// SDXL in fp16 at `side`², CFG: UNet 5.1 GB in 7 blocks (3 down, mid, 3 up) of unequal sizes.
PlanInput sdxl(qint64 budget, int side = 1024) {
    PlanInput in;
    in.budgetBytes = budget;
    in.components.push_back(textEncoder(QStringLiteral("text_encoder"), QStringLiteral("CLIP-L"), gb(0.246),
                                        77, 768, 3072, 12, 2));
    in.components.push_back(textEncoder(QStringLiteral("text_encoder_2"), QStringLiteral("CLIP-G"), gb(1.39),
                                        77, 1280, 5120, 20, 2));
    ComponentSize d;
    d.name = QStringLiteral("unet");
    d.label = QStringLiteral("UNet");
    d.kind = ComponentKind::Denoiser;
    d.blockBytes = {gb(0.05), gb(0.35), gb(1.3), gb(0.45), gb(2.0), gb(0.7), gb(0.15)};
    d.nonBlockBytes = gb(0.1);
    d.weightBytes = gb(5.1);
    services::GenerationShape g;
    g.width = g.height = side;
    g.materializedAttention = false;
    d.activationBytes = services::estimateGenerationVram(g).unetBytes;
    in.components.push_back(d);
    in.components.push_back(vae(side));
    return in;
}

Placement placementOf(const Plan& p, const QString& label) {
    for (const ComponentPlan& c : p.components)
        if (c.size.label == label)
            return c.placement;
    qFatal("no component %s", qPrintable(label));
    return Placement::Resident;
}

} // namespace

class TestMemory final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

    // Every plan: peaks add up, stay within the budget when it fits, and the phase figures agree.
    static void checkConsistent(const Plan& p) {
        QVERIFY(p.usableBytes <= p.budgetBytes);
        qint64 most = 0;
        for (const PhasePeak& ph : p.phases)
            most = std::max(most, ph.peak());
        QCOMPARE(p.predictedPeakBytes, most);
        if (p.fits) {
            QVERIFY2(p.predictedPeakBytes <= p.budgetBytes, qPrintable(p.summary()));
            QVERIFY(p.predictedPeakBytes <= p.usableBytes);
            QVERIFY(p.problem.isEmpty());
        } else {
            QVERIFY(!p.problem.isEmpty());
        }
        if (const ComponentPlan* d = p.denoiser(); d && d->placement == Placement::Streamed) {
            QVERIFY(d->residentBlocks >= 0 && d->residentBlocks < d->size.blocks());
            QVERIFY(p.streamedBytesPerStep > 0);
        }
    }

private Q_SLOTS:
    // --- the budget -------------------------------------------------------------------------

    void parseSizes_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<qint64>("bytes");
        QTest::newRow("GiB") << QStringLiteral("12GiB") << 12 * GiB;
        QTest::newRow("GB with a space") << QStringLiteral("12 GB") << 12 * GB;
        QTest::newRow("MiB") << QStringLiteral("12000MiB") << 12000 * MiB;
        QTest::newRow("plain number is GiB") << QStringLiteral("12") << 12 * GiB;
        QTest::newRow("decimal GiB") << QStringLiteral("11.5 GiB") << qint64(11.5 * double(GiB));
        QTest::newRow("lower case") << QStringLiteral("8gib") << 8 * GiB;
        QTest::newRow("MB") << QStringLiteral("500MB") << 500LL * 1000 * 1000;
        QTest::newRow("TiB") << QStringLiteral("1TiB") << 1024 * GiB;
        QTest::newRow("bytes") << QStringLiteral("1073741824 B") << GiB;
        QTest::newRow("padded") << QStringLiteral("  24GiB ") << 24 * GiB;
    }
    void parseSizes() {
        QFETCH(QString, text);
        QFETCH(qint64, bytes);
        const Result<qint64> r = parseByteSize(text);
        QVERIFY2(r, qPrintable(r.error()));
        QCOMPARE(*r, bytes);
        const Result<BudgetSetting> b = parseBudget(text);
        QVERIFY(b);
        QCOMPARE(b->mode, BudgetSetting::Mode::Size);
        QCOMPARE(b->bytes, bytes);
    }

    void parseRejects_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<QString>("message");
        QTest::newRow("word") << QStringLiteral("nonsense")
                              << QStringLiteral("--budget: 'nonsense' is not auto, all or a size");
        QTest::newRow("single letter unit")
            << QStringLiteral("12G")
            << QStringLiteral("'12G' is ambiguous: write GiB (powers of 1024) or GB");
        QTest::newRow("unknown unit") << QStringLiteral("12 GHz") << QStringLiteral("unknown unit 'GHz'");
        QTest::newRow("zero") << QStringLiteral("0") << QStringLiteral("is zero");
        QTest::newRow("negative") << QStringLiteral("-4GiB") << QStringLiteral("'-4GiB' is not a size");
        QTest::newRow("plain MiB-sized number")
            << QStringLiteral("12000") << QStringLiteral("did you mean 12000MiB?");
        QTest::newRow("two numbers") << QStringLiteral("12 12") << QStringLiteral("is not a size");
        QTest::newRow("comma") << QStringLiteral("12,5GiB") << QStringLiteral("is not a size");
        QTest::newRow("empty") << QStringLiteral("") << QStringLiteral("is empty");
    }
    void parseRejects() {
        QFETCH(QString, text);
        QFETCH(QString, message);
        const Result<BudgetSetting> b = parseBudget(text, QStringLiteral("--budget"));
        QVERIFY(!b);
        QVERIFY2(b.error().contains(message), qPrintable(b.error()));
        QVERIFY(b.error().startsWith(QLatin1String("--budget: ")));
    }

    void parseKeywords() {
        QCOMPARE(parseBudget(QStringLiteral("auto"))->mode, BudgetSetting::Mode::Auto);
        QCOMPARE(parseBudget(QStringLiteral(" ALL "))->mode, BudgetSetting::Mode::All);
        QCOMPARE(parseBudget(QStringLiteral("12GiB"))->text(), QStringLiteral("12 GiB"));
        QCOMPARE(parseBudget(QStringLiteral("1536MiB"))->text(), QStringLiteral("1536 MiB"));
    }

    void budgetFormula() {
        BudgetInputs in;
        in.deviceFreeBytes = 20 * GiB;
        in.deviceTotalBytes = 80 * GiB;
        in.ourReservedBytes = 4 * GiB; // our resident weights are ours to reuse
        in.ollamaMarginBytes = 512 * MiB;
        in.reserveBytes = 2 * GiB;
        // mistral fully on the GPU (needs nothing more); llama partly on the CPU: 5 GiB missing.
        in.ollama = {{QStringLiteral("mistral:latest"), 5 * GiB, 5 * GiB},
                     {QStringLiteral("llama3.1:8b"), 8 * GiB, 3 * GiB}};

        VramBudget b = computeBudget(in);
        QCOMPARE(b.usableBytes, 24 * GiB);
        QCOMPARE(b.ollamaBytes, 5 * GiB + 512 * MiB);
        QCOMPARE(b.reserveBytes, 2 * GiB);
        QCOMPARE(b.bytes, 24 * GiB - (5 * GiB + 512 * MiB) - 2 * GiB);
        QVERIFY2(b.explanation.contains(QLatin1String("llama3.1:8b needs 5.00 GiB more")),
                 qPrintable(b.explanation));

        // No Ollama model loaded: no margin either, only the reserve.
        in.ollama.clear();
        b = computeBudget(in);
        QCOMPARE(b.bytes, 22 * GiB);
        // A reserve larger than what is usable: nothing, not a negative budget.
        in.reserveBytes = 30 * GiB;
        QCOMPARE(computeBudget(in).bytes, 0);

        in.setting.mode = BudgetSetting::Mode::All;
        QCOMPARE(computeBudget(in).bytes, 24 * GiB);

        in.setting = *parseBudget(QStringLiteral("12GiB"));
        b = computeBudget(in);
        QCOMPARE(b.bytes, 12 * GiB);
        QVERIFY(!b.clamped);
        in.setting = *parseBudget(QStringLiteral("30GiB"));
        b = computeBudget(in);
        QCOMPARE(b.bytes, 24 * GiB);
        QVERIFY(b.clamped);
        QVERIFY2(b.explanation.contains(QLatin1String("30.00 GiB asked")), qPrintable(b.explanation));

        // Without a reading: a size is taken as given, auto and all are unknown.
        in.deviceFreeBytes = -1;
        QCOMPARE(computeBudget(in).bytes, 30 * GiB);
        in.setting.mode = BudgetSetting::Mode::Auto;
        QVERIFY(!computeBudget(in).known());
        in.setting.mode = BudgetSetting::Mode::All;
        QVERIFY(!computeBudget(in).known());
    }

    void budgetSettings() {
        Settings s(m_dir.filePath(QStringLiteral("budget.conf")));
        QCOMPARE(s.value(keys::VramBudget).toString(), QStringLiteral("auto"));
        QCOMPARE(s.value(keys::VramReserveMiB).toInt(), 2048);
        QVERIFY(s.set(keys::VramBudget, QStringLiteral("12 GB")));
        QCOMPARE(s.value(keys::VramBudget).toString(), QStringLiteral("12 GB"));
        const Status bad = s.set(keys::VramBudget, QStringLiteral("lots"));
        QVERIFY(!bad);
        QVERIFY2(bad.error().contains(QLatin1String("'lots' is not auto, all or a size")),
                 qPrintable(bad.error()));
        QCOMPARE(s.value(keys::VramBudget).toString(), QStringLiteral("12 GB"));
        QVERIFY(!s.set(keys::VramReserveMiB, -1));
        QVERIFY(s.set(keys::VramReserveMiB, 4096));
        Settings again(s.path());
        QCOMPARE(again.value(keys::VramBudget).toString(), QStringLiteral("12 GB"));
        QCOMPARE(again.value(keys::VramReserveMiB).toInt(), 4096);
    }

    // --- the estimator ----------------------------------------------------------------------

    void estimatorFamilies() {
        // The UNet figures did not change (tests/services pins SD 1.5's).
        services::GenerationShape sd15;
        QCOMPARE(services::estimateGenerationVram(sd15).unetBytes, 662700032LL);
        // DiT: n · T · b · 16 · D with T = patch tokens + context tokens.
        QCOMPARE(ditActivation(2432, 38, 333, true), 2LL * (4096 + 333) * 2 * 16 * 2432);
        QCOMPARE(ditActivation(3072, 24, 512, false), 1LL * (4096 + 512) * 2 * 16 * 3072);
        QCOMPARE(services::estimateVaeDecodeVram(1024, 1024), 2 * GiB);
        QCOMPARE(services::estimateTiledVaeDecodeVram(1024, 1024, 1, 512), 512 * MiB + 1024LL * 1024 * 12);
        services::TextEncoderShape t5{512, 4096, 10240, 64, 2, 2};
        QCOMPARE(services::estimateTextEncoderVram(t5), 152 * MiB);
    }

    // --- the planner ------------------------------------------------------------------------

    void sd35LargeBudgets() {
        // QStringLiteral("all") on an 80 GB card: everything stays.
        Plan all = planPlacement(sd35Large(78 * GiB));
        checkConsistent(all);
        QVERIFY(all.fits);
        for (const ComponentPlan& c : all.components)
            QCOMPARE(c.placement, Placement::Resident);
        QCOMPARE(all.description(),
                 QStringLiteral("CLIP-L: GPU · CLIP-G: GPU · T5: GPU · transformer: GPU · VAE: GPU"));

        // 24 GiB: the transformer fits alone; T5 does not fit beside it, so the transformer leaves
        // while T5 encodes; the CLIPs and the VAE stay.
        Plan p24 = planPlacement(sd35Large(24 * GiB));
        checkConsistent(p24);
        QVERIFY(p24.fits);
        QCOMPARE(placementOf(p24, QStringLiteral("T5")), Placement::RunThenRelease);
        QCOMPARE(placementOf(p24, QStringLiteral("transformer")), Placement::RunThenRelease);
        QCOMPARE(placementOf(p24, QStringLiteral("CLIP-L")), Placement::Resident);
        QCOMPARE(placementOf(p24, QStringLiteral("CLIP-G")), Placement::Resident);
        QCOMPARE(placementOf(p24, QStringLiteral("VAE")), Placement::Resident);
        QVERIFY(!p24.vaeTiled());
        QCOMPARE(p24.phase(Phase::Encode).runs, QStringLiteral("T5"));

        // 16, 12, 8 GiB: streamed, fewer blocks as the budget shrinks; T5 on the CPU only at 8.
        int previous = 38;
        for (const qint64 budget : {16 * GiB, 12 * GiB, 8 * GiB}) {
            const Plan p = planPlacement(sd35Large(budget));
            qInfo("SD 3.5 Large, %lld GiB: %s", budget / GiB, qPrintable(p.summary()));
            checkConsistent(p);
            QVERIFY2(p.fits, qPrintable(p.problem));
            const ComponentPlan* d = p.denoiser();
            QCOMPARE(d->placement, Placement::Streamed);
            QVERIFY(!d->fp8); // not allowed
            QVERIFY2(d->residentBlocks < previous, qPrintable(p.description()));
            previous = d->residentBlocks;
            QCOMPARE(placementOf(p, QStringLiteral("T5")),
                     budget == 8 * GiB ? Placement::Cpu : Placement::RunThenRelease);
        }
        const Plan p12 = planPlacement(sd35Large(12 * GiB));
        // usable 11.4 GiB: 0.3 GB + K · 0.421 GB + 2 in flight + 657 MiB of working memory → K = 24.
        // The VAE (0.17 GB) still fits beside them and stays; CLIP-L would cost a block: it does not.
        QCOMPARE(p12.denoiser()->residentBlocks, 24);
        QCOMPARE(p12.description(),
                 QStringLiteral("CLIP-L: on demand · CLIP-G: on demand · T5: on demand · "
                                "transformer: 24 of 38 blocks on the GPU, 14 streamed · VAE: GPU"));
        QCOMPARE(p12.streamedBytesPerStep, 14 * (gb(16.0) / 38));
        const Plan p8 = planPlacement(sd35Large(8 * GiB));
        QCOMPARE(p8.denoiser()->residentBlocks, 15);
        QCOMPARE(placementOf(p8, QStringLiteral("VAE")),
                 Placement::RunThenRelease); // it would cost the 15th block
    }

    void residentBlocksAreTheMostThatFit() {
        for (const qint64 budget : {8 * GiB, 12 * GiB, 16 * GiB}) {
            const Plan p = planPlacement(sd35Large(budget));
            const int k = p.denoiser()->residentBlocks;
            // The denoise phase with one block more: non-block + (k+1) blocks + 2 in flight + working.
            const qint64 block = gb(16.0) / 38;
            const qint64 others = p.phase(Phase::Denoise).weightBytes - p.denoiser()->runningBytes;
            const qint64 withOneMore =
                others + gb(0.3) + (k + 3) * block + p.denoiser()->size.activationBytes;
            QVERIFY2(withOneMore > p.usableBytes, qPrintable(p.summary()));
            QVERIFY(p.phase(Phase::Denoise).peak() <= p.usableBytes);
        }
    }

    void fluxDevBudgets() {
        const Plan all = planPlacement(fluxDev(78 * GiB));
        QVERIFY(all.fits);
        QCOMPARE(all.denoiser()->placement, Placement::Resident);

        const Plan p24 = planPlacement(fluxDev(24 * GiB));
        checkConsistent(p24);
        QVERIFY(p24.fits);
        QCOMPARE(placementOf(p24, QStringLiteral("transformer")),
                 Placement::RunThenRelease); // 22.2 GiB: fits alone
        QCOMPARE(placementOf(p24, QStringLiteral("T5")), Placement::RunThenRelease);

        for (const qint64 budget : {16 * GiB, 12 * GiB, 8 * GiB}) {
            const Plan p = planPlacement(fluxDev(budget));
            qInfo("Flux dev, %lld GiB: %s", budget / GiB, qPrintable(p.summary()));
            checkConsistent(p);
            QVERIFY2(p.fits, qPrintable(p.problem));
            QCOMPARE(p.denoiser()->placement, Placement::Streamed);
            QCOMPARE(placementOf(p, QStringLiteral("T5")),
                     budget == 8 * GiB ? Placement::Cpu : Placement::RunThenRelease);
        }
        // The resident blocks are spread over the sequence as the streamer spreads them (19 double-stream
        // blocks of 0.68 GB, then 38 single-stream ones of 0.283 GB); room for the two largest streamed
        // blocks is kept.
        const Plan p16 = planPlacement(fluxDev(16 * GiB));
        const int k = p16.denoiser()->residentBlocks;
        const std::vector<bool> kept = gpu::spreadResident(57, k);
        QCOMPARE(int(std::count(kept.begin(), kept.end(), true)), k);
        qint64 expected = gb(23.8) - 19 * gb(0.68) - 38 * gb(0.283);
        int doubleStreamed = 0;
        for (int i = 0; i < 57; ++i) {
            if (kept[size_t(i)])
                expected += i < 19 ? gb(0.68) : gb(0.283);
            else if (i < 19)
                ++doubleStreamed;
        }
        expected += doubleStreamed >= 2   ? 2 * gb(0.68)
                    : doubleStreamed == 1 ? gb(0.68) + gb(0.283)
                                          : 2 * gb(0.283);
        QCOMPARE(p16.denoiser()->runningBytes,
                 expected); // BlockStreamer keeps the same (gpu::spreadResident)

        // fp8 allowed: Flux at 16 GiB fits resident in fp8 instead of streaming.
        PlanInput in = fluxDev(16 * GiB);
        in.options.fp8Allowed = true;
        const Plan fp8 = planPlacement(in);
        checkConsistent(fp8);
        QVERIFY(fp8.fits);
        QVERIFY(fp8.denoiser()->fp8);
        QVERIFY(fp8.denoiser()->placement != Placement::Streamed);
        QVERIFY2(fp8.description().contains(QLatin1String("transformer: on the GPU while denoising (fp8)")) ||
                     fp8.description().contains(QLatin1String("transformer: GPU (fp8)")),
                 qPrintable(fp8.description()));
    }

    void sdxlBudgets() {
        // 12 GiB and up: everything resident.
        for (const qint64 budget : {12 * GiB, 16 * GiB, 24 * GiB, 78 * GiB}) {
            const Plan p = planPlacement(sdxl(budget));
            checkConsistent(p);
            QVERIFY(p.fits);
            for (const ComponentPlan& c : p.components)
                QCOMPARE(c.placement, Placement::Resident);
        }
        // 8 GiB: the fp32 VAE decode at 1024² (2 GiB) does not fit beside everything: CLIP-G, the
        // largest text encoder, is released; nothing streams.
        const Plan p8 = planPlacement(sdxl(8 * GiB));
        checkConsistent(p8);
        QVERIFY(p8.fits);
        QCOMPARE(p8.description(), QStringLiteral("CLIP-L: GPU · CLIP-G: on demand · UNet: GPU · VAE: GPU"));
        QCOMPARE(p8.phase(Phase::Decode).runs, QStringLiteral("VAE"));

        // 2048² at 8 GiB: the untiled decode (8 GiB) cannot fit: tiled.
        const Plan big = planPlacement(sdxl(8 * GiB, 2048));
        checkConsistent(big);
        QVERIFY(big.fits);
        QVERIFY(big.vaeTiled());
        QVERIFY(big.description().endsWith(QLatin1String("VAE: GPU, tiled")) ||
                big.description().endsWith(QLatin1String("VAE: on demand, tiled")));
        // ... unless tiling is not allowed: then it does not fit, and says why.
        PlanInput noTiles = sdxl(8 * GiB, 2048);
        noTiles.options.tilingAllowed = false;
        const Plan refused = planPlacement(noTiles);
        checkConsistent(refused);
        QVERIFY(!refused.fits);
        QVERIFY2(refused.problem.contains(QLatin1String("decode needs")), qPrintable(refused.problem));

        // 4 GiB: the UNet streams (its unequal blocks: the first K in order).
        const Plan p4 = planPlacement(sdxl(4 * GiB));
        checkConsistent(p4);
        QVERIFY(p4.fits);
        QCOMPARE(p4.denoiser()->placement, Placement::Streamed);
    }

    void tooSmall() {
        const Plan p = planPlacement(sd35Large(1 * GiB));
        checkConsistent(p);
        QVERIFY(!p.fits);
        QCOMPARE(p.denoiser()->residentBlocks, 0);
        QCOMPARE(placementOf(p, QStringLiteral("T5")), Placement::Cpu);
        QVERIFY2(p.problem.contains(QLatin1String("Raise the budget")), qPrintable(p.problem));
    }

    void shrinkSteps() {
        Plan p = planPlacement(sd35Large(24 * GiB));
        QCOMPARE(p.level, 0);
        // 1: everything resident beside the transformer is released.
        std::optional<Plan> s = shrink(p);
        QVERIFY(s);
        QCOMPARE(s->level, 1);
        QCOMPARE(s->description(),
                 QStringLiteral("CLIP-L: on demand · CLIP-G: on demand · T5: on demand · "
                                "transformer: on the GPU while denoising · VAE: on demand"));
        QVERIFY(s->predictedPeakBytes <= p.predictedPeakBytes);
        // 2: the decode is tiled.
        s = shrink(*s);
        QVERIFY(s->vaeTiled());
        QCOMPARE(s->level, 2);
        QCOMPARE(s->denoiser()->residentBlocks, 38);
        // 3: streaming starts, ceil(38 / 8) = 5 blocks fewer each step.
        s = shrink(*s);
        QCOMPARE(s->denoiser()->placement, Placement::Streamed);
        QCOMPARE(s->denoiser()->residentBlocks, 33);
        s = shrink(*s);
        QCOMPARE(s->denoiser()->residentBlocks, 28);
        qint64 last = s->predictedPeakBytes;
        int steps = 0;
        while (s->denoiser()->residentBlocks > 0) {
            s = shrink(*s);
            QVERIFY(s->predictedPeakBytes <= last);
            last = s->predictedPeakBytes;
            ++steps;
        }
        QCOMPARE(steps, 6); // 23, 18, 13, 8, 3, 0
        // Then T5 goes to the CPU, and nothing is lower.
        s = shrink(*s);
        QCOMPARE(placementOf(*s, QStringLiteral("T5")), Placement::Cpu);
        QCOMPARE(s->level, 11);
        QVERIFY(!shrink(*s));

        // An OOM in the denoise phase skips the steps that cannot help it (tiling).
        std::optional<Plan> d = shrink(*shrink(p), Phase::Denoise);
        QCOMPARE(d->denoiser()->residentBlocks, 33);
        QVERIFY(!d->vaeTiled());
        // An OOM while decoding tiles first.
        std::optional<Plan> v = shrink(*shrink(p), Phase::Decode);
        QVERIFY(v->vaeTiled());
        QCOMPARE(v->denoiser()->residentBlocks, 38);
        // An OOM while encoding, once nothing else is resident: T5 to the CPU, the blocks stay.
        const Plan p16 = planPlacement(sd35Large(16 * GiB));
        QCOMPARE(placementOf(p16, QStringLiteral("VAE")), Placement::Resident);
        std::optional<Plan> e = shrink(*shrink(p16), Phase::Encode);
        QCOMPARE(placementOf(*e, QStringLiteral("T5")), Placement::Cpu);
        QCOMPARE(e->denoiser()->residentBlocks, p16.denoiser()->residentBlocks);
        QVERIFY(!e->vaeTiled());

        // planAtLevel is the plan shrunk that many times.
        const Plan at3 = planAtLevel(sd35Large(24 * GiB), 3);
        QCOMPARE(at3.level, 3);
        QCOMPARE(at3.denoiser()->residentBlocks, 33);
        QCOMPARE(planAtLevel(sd35Large(24 * GiB), 100).level, 11);
    }

    void json() {
        const Plan p = planPlacement(sd35Large(12 * GiB));
        const QJsonObject o = p.toJson();
        QCOMPARE(o.value(QStringLiteral("description")).toString(), p.description());
        QCOMPARE(qint64(o.value(QStringLiteral("budgetBytes")).toDouble()), 12 * GiB);
        QCOMPARE(qint64(o.value(QStringLiteral("predictedPeakBytes")).toDouble()), p.predictedPeakBytes);
        QCOMPARE(o.value(QStringLiteral("fits")).toBool(), true);
        const QJsonArray comps = o.value(QStringLiteral("components")).toArray();
        QCOMPARE(comps.size(), 5);
        const QJsonObject t = comps.at(3).toObject();
        QCOMPARE(t.value(QStringLiteral("placement")).toString(), QStringLiteral("streamed"));
        QCOMPARE(t.value(QStringLiteral("blocks")).toInt(), 38);
        QCOMPARE(t.value(QStringLiteral("residentBlocks")).toInt(), 24);
        QCOMPARE(comps.at(2).toObject().value(QStringLiteral("placement")).toString(),
                 QStringLiteral("run-then-release"));
        QCOMPARE(qint64(o.value(QStringLiteral("phases"))
                            .toObject()
                            .value(QStringLiteral("denoise"))
                            .toObject()
                            .value(QStringLiteral("peakBytes"))
                            .toDouble()),
                 p.phase(Phase::Denoise).peak());
    }

    // --- learned estimates and levels -------------------------------------------------------

    void learnedEstimates() {
        const RequestSize size{1024, 1024, 1};
        QCOMPARE(PlanMemory::sizeBucket(size), QStringLiteral("px4"));
        QCOMPARE(PlanMemory::sizeBucket({1024, 768, 1}), QStringLiteral("px3"));
        QCOMPARE(PlanMemory::sizeBucket({512, 512, 2}), QStringLiteral("px2"));
        QCOMPARE(PlanMemory::sizeBucket({64, 64, 1}), QStringLiteral("px1"));

        const QString path = m_dir.filePath(QStringLiteral("state/plan-memory.json"));
        {
            PlanMemory m(path);
            QVERIFY(m.load()); // no file yet: empty
            QCOMPARE(m.learnedActivation(QStringLiteral("SD 3.x"), QStringLiteral("transformer"), size), 0);
            m.recordActivation(QStringLiteral("SD 3.x"), QStringLiteral("transformer"), size, 3 * GiB);
            m.recordActivation(QStringLiteral("SD 3.x"), QStringLiteral("transformer"), size,
                               2 * GiB); // the larger one is kept
            QVERIFY(m.save());
        }
        PlanMemory m(path);
        QVERIFY(m.load());
        QCOMPARE(m.learnedActivation(QStringLiteral("SD 3.x"), QStringLiteral("transformer"), size), 3 * GiB);
        QCOMPARE(m.learnedActivation(QStringLiteral("SD 3.x"), QStringLiteral("transformer"), {512, 512, 1}),
                 0); // another bucket
        QCOMPARE(m.learnedActivation(QStringLiteral("Flux"), QStringLiteral("transformer"), size),
                 0); // another family
        QCOMPARE(PlanMemory::adjusted(1 * GiB, 3 * GiB), qint64(std::ceil(3.0 * 1.1 * double(GiB))));
        QCOMPARE(PlanMemory::adjusted(5 * GiB, 3 * GiB), 5 * GiB); // the formula when it is larger

        // The planner sees the learned figure: fewer blocks fit at 12 GiB.
        PlanInput in = sd35Large(12 * GiB);
        const Plan before = planPlacement(in);
        m.applyLearned(in, QStringLiteral("SD 3.x"), size);
        QCOMPARE(in.components[3].activationBytes,
                 PlanMemory::adjusted(ditActivation(2432, 38, 333, true), 3 * GiB));
        QCOMPARE(in.components[2].activationBytes,
                 sd35Large(12 * GiB).components[2].activationBytes); // T5 unchanged
        const Plan after = planPlacement(in);
        checkConsistent(after);
        QVERIFY2(after.denoiser()->residentBlocks < before.denoiser()->residentBlocks,
                 qPrintable(after.summary()));

        // A measured phase peak is recorded as peak − the plan's weights of that phase.
        PlanMemory fresh(m_dir.filePath(QStringLiteral("fresh.json")));
        const Plan p = planPlacement(sd35Large(12 * GiB));
        fresh.recordPhasePeak(p, Phase::Denoise, p.phase(Phase::Denoise).weightBytes + 900 * MiB,
                              QStringLiteral("SD 3.x"), size);
        QCOMPARE(fresh.learnedActivation(QStringLiteral("SD 3.x"), QStringLiteral("transformer"), size),
                 900 * MiB);
        fresh.recordPhasePeak(p, Phase::Encode, p.phase(Phase::Encode).weightBytes + 100 * MiB,
                              QStringLiteral("SD 3.x"), size);
        QCOMPARE(fresh.learnedActivation(QStringLiteral("SD 3.x"), QStringLiteral("T5"), size), 100 * MiB);
    }

    void outOfMemoryLevels() {
        const QString path = m_dir.filePath(QStringLiteral("levels.json"));
        const RequestSize size{1024, 1024, 1};
        const QString model = QStringLiteral("/models/sd3.5_large");
        {
            PlanMemory m(path);
            QCOMPARE(m.level(model, size), 0);
            const Plan first = planAtLevel(sd35Large(24 * GiB), m.level(model, size));
            // The run fails: the retry is one step lower, and so is every later run.
            m.recordOutOfMemory(model, size, first);
            QCOMPARE(m.level(model, size), 1);
            const Plan retry = *shrink(first);
            m.recordOutOfMemory(model, size, retry); // the retry failed too
            QCOMPARE(m.level(model, size), 2);
            QVERIFY(m.save());
        }
        PlanMemory m(path);
        QVERIFY(m.load());
        QCOMPARE(m.level(model, size), 2);
        QCOMPARE(m.level(model, {512, 512, 1}), 0);
        QCOMPARE(m.level(QStringLiteral("/models/other"), size), 0);
        const Plan next = planAtLevel(sd35Large(24 * GiB), m.level(model, size));
        QCOMPARE(next.level, 2);
        QVERIFY(next.vaeTiled());
        m.resetLevels(model);
        QCOMPARE(m.level(model, size), 0);

        // A damaged file is refused and the store stays empty.
        QFile bad(m_dir.filePath(QStringLiteral("bad.json")));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("{ not json");
        bad.close();
        PlanMemory damaged(bad.fileName());
        const Status st = damaged.load();
        QVERIFY(!st);
        QVERIFY(st.error().contains(QLatin1String("not a JSON object")));
    }

    // --- model profiles from the fixtures' headers ------------------------------------------

    void profiles_data() {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("denoiser");
        QTest::addColumn<int>("blocks");
        QTest::addColumn<QStringList>("labels");
        QTest::newRow("sd15") << QStringLiteral("sd15-tiny/pipeline") << QStringLiteral("SD 1.x")
                              << QStringLiteral("unet") << 7
                              << QStringList{QStringLiteral("CLIP"), QStringLiteral("UNet"),
                                             QStringLiteral("VAE")};
        QTest::newRow("sd3") << QStringLiteral("sd3-tiny/pipeline") << QStringLiteral("SD 3.x")
                             << QStringLiteral("transformer") << 3
                             << QStringList{QStringLiteral("CLIP"), QStringLiteral("CLIP 2"),
                                            QStringLiteral("T5"), QStringLiteral("transformer"),
                                            QStringLiteral("VAE")};
        QTest::newRow("flux") << QStringLiteral("flux-tiny/pipeline") << QStringLiteral("Flux")
                              << QStringLiteral("transformer") << 3
                              << QStringList{QStringLiteral("CLIP"), QStringLiteral("T5"),
                                             QStringLiteral("transformer"), QStringLiteral("VAE")};
        QTest::newRow("flux single file")
            << QStringLiteral("flux-tiny/single/flux1-dev-tiny.safetensors") << QStringLiteral("Flux")
            << QStringLiteral("transformer") << 3 << QStringList{};
    }
    void profiles() {
        QFETCH(QString, model);
        QFETCH(QString, family);
        QFETCH(QString, denoiser);
        QFETCH(int, blocks);
        QFETCH(QStringList, labels);
        ProfileOptions o;
        o.precision = QStringLiteral("fp16");
        if (model.endsWith(QLatin1String(".safetensors")))
            o.vaeFile = test::dataPath(QStringLiteral("flux-tiny/single/ae.safetensors"));
        const Result<ModelProfile> p = profileModel(test::dataPath(model), o);
        QVERIFY2(p, qPrintable(p ? QString() : p.error()));
        QCOMPARE(p->familyName, family);
        // (The single file lacks its text encoders: a note says so; none about blocks.)
        QVERIFY2(p->notes.filter(QLatin1String("blocks")).isEmpty(),
                 qPrintable(p->notes.join(QLatin1Char('\n'))));
        QStringList got;
        for (const ComponentSize& c : p->components) {
            got << c.label;
            QVERIFY(c.weightBytes > 0);
            if (c.kind == ComponentKind::Denoiser) {
                QCOMPARE(c.name, denoiser);
                QCOMPARE(c.blocks(), blocks);
                qint64 sum = c.nonBlockBytes;
                for (qint64 b : c.blockBytes) {
                    QVERIFY(b > 0);
                    sum += b;
                }
                QCOMPARE(sum, c.weightBytes);
                QCOMPARE(int(c.fp8BlockBytes.size()), blocks);
                QVERIFY(c.fp8BlockBytes[0] < c.blockBytes[0]);
            }
        }
        if (!labels.isEmpty())
            QCOMPARE(got, labels);
    }

    void profileBytesMatchHeaders() {
        // The fixture's transformer is fp32 on disk: in fp16 every float tensor takes half.
        const QString file = test::dataPath(
            QStringLiteral("sd3-tiny/pipeline/transformer/diffusion_pytorch_model.safetensors"));
        const Result<io::Header> h = io::readSafeTensorsHeader(file);
        QVERIFY(h);
        ProfileOptions o;
        o.precision = QStringLiteral("fp16");
        const Result<ModelProfile> p = profileModel(test::dataPath(QStringLiteral("sd3-tiny/pipeline")), o);
        QVERIFY(p);
        const ComponentSize* d = nullptr;
        for (const ComponentSize& c : p->components)
            if (c.kind == ComponentKind::Denoiser)
                d = &c;
        QVERIFY(d);
        qint64 block0 = 0;
        qint64 all = 0;
        for (const io::TensorInfo& t : h->tensors) {
            QCOMPARE(t.dtype, io::DType::F32);
            all += t.numel() * 2;
            if (t.name.startsWith(QLatin1String("transformer_blocks.0.")))
                block0 += t.numel() * 2;
        }
        QCOMPARE(d->weightBytes, all);
        QCOMPARE(d->blockBytes[0], block0);
        // fp32: four bytes each. Without T5: left out.
        o.precision = QStringLiteral("fp32");
        o.withoutT5 = true;
        const Result<ModelProfile> p32 = profileModel(test::dataPath(QStringLiteral("sd3-tiny/pipeline")), o);
        QVERIFY(p32);
        for (const ComponentSize& c : p32->components) {
            QVERIFY(c.kind != ComponentKind::T5);
            if (c.kind == ComponentKind::Denoiser)
                QCOMPARE(c.weightBytes, 2 * all);
        }
        // The planner input of a request: the estimator's figures per component.
        PlanRequest r;
        r.size = {256, 256, 1};
        r.guidance = 5;
        const PlanInput in = planInput(*p, r, 8 * GiB, {});
        for (const ComponentSize& c : in.components) {
            QVERIFY(c.activationBytes > 0);
            if (c.kind == ComponentKind::Vae)
                QCOMPARE(c.activationBytes, services::estimateVaeDecodeVram(256, 256));
        }
        const Plan plan = planPlacement(in);
        QVERIFY(plan.fits);
    }
};

QTEST_GUILESS_MAIN(TestMemory)
#include "tst_memory.moc"
