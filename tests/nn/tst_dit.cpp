// The diffusion transformers (SD 3.x MMDiT, Flux) and their building blocks against diffusers' own
// code run on the CPU (tests/data/dit-cpu: make_dit_cpu.py runs diffusers' classes on torch 1.13),
// plus configs, weight loading and the Flux latent packing.
#include "core/io/SafeTensors.h"
#include "core/nn/DiTLayers.h"
#include "core/nn/FluxTransformer2D.h"
#include "core/nn/ModuleUtils.h"
#include "core/nn/SD3Transformer2D.h"
#include "core/nn/WeightLoader.h"
#include "tests/nn/NnTestUtil.h"
#include "tests/support/TestUtil.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <c10/core/InferenceMode.h>

#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <optional>

using namespace tp::nn;
using tp::io::SafeTensorsArchive;
using tp::test::dataPath;
using tp::test::maxAbsError;
using tp::test::namedTensors;
using tp::test::randomizeModule;

namespace {

// float32 on the CPU runs the same torch kernels in the same order as the reference: measured
// errors are 0 to ~1e-6 (see the printed figures); 2e-5 leaves a margin for libtorch 2.x's fused
// attention and other BLAS builds. bfloat16 outputs (values up to ~5) are compared relative to
// the output's largest magnitude.
constexpr double kFloatTolerance = 2e-5;
constexpr double kBFloat16RelativeTolerance = 2e-2;

// TWISTEDPIC_TEST_DEVICE=cuda runs the same checks on the GPU (float32, TF32 off).
at::Device testDevice() {
    if (qEnvironmentVariable("TWISTEDPIC_TEST_DEVICE") == QLatin1String("cuda") && at::hasCUDA())
        return at::Device(at::kCUDA);
    return at::Device(at::kCPU);
}

at::Tensor randn(at::IntArrayRef shape, uint64_t seed) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    return at::randn(shape, gen, at::TensorOptions(at::kFloat));
}

QJsonObject readCases() {
    QFile f(dataPath(QStringLiteral("dit-cpu/cases.json")));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object().value(QLatin1String("cases")).toObject();
}

at::ScalarType dtypeNamed(const QString& name) {
    return name == QLatin1String("bfloat16") ? at::kBFloat16 : at::kFloat;
}

} // namespace

class TestDiT final : public QObject {
    Q_OBJECT

private:
    std::optional<SafeTensorsArchive> m_ref;
    QJsonObject m_cases;
    at::Device m_device{at::kCPU};

    at::Tensor ref(const QString& name) const {
        auto t = m_ref->view(name);
        if (!t)
            qFatal("%s", qPrintable(t.error()));
        return t.value();
    }
    at::Tensor input(const QString& name, at::ScalarType dtype = at::kFloat) const {
        return ref(name).to(m_device, dtype);
    }
    QJsonObject config(const char* name) const {
        return m_cases.value(QLatin1String(name)).toObject().value(QLatin1String("config")).toObject();
    }
    // Loads `module` from the case's weights; verifies that names match the file's both ways.
    bool load(torch::nn::Module& module, const char* name, at::ScalarType dtype) const {
        LoadReport report;
        const QString prefix = QLatin1String(name) + QStringLiteral(".transformer.");
        const tp::Status st = loadWeights(module, *m_ref, prefix, m_device, dtype, &report);
        if (!st) {
            qWarning("%s", qPrintable(st.error()));
            return false;
        }
        // The reference file holds other cases too: only names under this case's prefix count.
        if (!report.unexpected.isEmpty() || !report.missingBuffers.isEmpty()) {
            qWarning("unexpected %s; missing buffers %s",
                     qPrintable(report.unexpected.join(QLatin1Char(' '))),
                     qPrintable(report.missingBuffers.join(QLatin1Char(' '))));
            return false;
        }
        return true;
    }
    void compare(const QString& what, const at::Tensor& actual, const at::Tensor& expected,
                 at::ScalarType dtype) {
        QCOMPARE(actual.sizes().vec(), expected.sizes().vec());
        QCOMPARE(actual.scalar_type(), dtype);
        const double err = maxAbsError(actual.cpu(), expected);
        const double scale = expected.to(at::kDouble).abs().max().item<double>();
        qInfo("%s: max abs error %.3g (outputs up to %.3g)", qPrintable(what), err, scale);
        const double tolerance =
            dtype == at::kBFloat16 ? kBFloat16RelativeTolerance * scale : kFloatTolerance;
        QVERIFY2(err <= tolerance,
                 qPrintable(QStringLiteral("%1: error %2 > %3").arg(what).arg(err).arg(tolerance)));
    }

private Q_SLOTS:
    void initTestCase() {
        auto archive = SafeTensorsArchive::open(dataPath(QStringLiteral("dit-cpu/reference.safetensors")));
        QVERIFY2(archive, qPrintable(archive.error()));
        m_ref = archive.value();
        m_cases = readCases();
        QVERIFY(!m_cases.isEmpty());
        m_device = testDevice();
        if (m_device.is_cuda())
            at::globalContext().setAllowTF32CuDNN(false);
        qInfo("device: %s", m_device.str().c_str());
    }

    // --- building blocks ---------------------------------------------------------------------

    void sincosPositionEmbedding() {
        const auto pe = sincosPosEmbed2d(16, 6, 4);
        QCOMPARE(pe.scalar_type(), at::kFloat);
        const double err = maxAbsError(pe, ref(QStringLiteral("blocks.sincos_16_6_4")));
        qInfo("get_2d_sincos_pos_embed: max abs error %.3g", err);
        QVERIFY(err <= 1e-7);
        // row 0, column 1: the first half encodes the column (sin(1) in its first entry)
        const double one = double(1.0f / 1.5f); // grid position 1: arange(6) / (6 / 4) in float32
        QCOMPARE(pe[1][0].item<float>(), float(std::sin(one)));
        QCOMPARE(pe[6][8].item<float>(), float(std::sin(one)));

        // A larger table (96² positions × 1536, SD 3.0 Medium's width) built from its 1-D rows:
        // row i, column j holds the 1-D embeddings of j (first half) and i (second half).
        QElapsedTimer timer;
        timer.start();
        const auto large = sincosPosEmbed2d(1536, 96, 64);
        qInfo("96x96x1536 table in %lld ms", timer.elapsed());
        QCOMPARE(large.sizes().vec(), (std::vector<int64_t>{96 * 96, 1536}));
        const auto line = large.narrow(0, 0, 96).narrow(1, 0, 768); // row 0: columns 0..95
        QCOMPARE(maxAbsError(large[91 * 96 + 57].narrow(0, 0, 768), line[57]), 0.0);
        QCOMPARE(maxAbsError(large[57 * 96 + 3].narrow(0, 768, 768), line[57]), 0.0);
        const double pos = double(57.0f / 1.5f); // arange(96) / (96 / 64)
        const double omega = 1.0 / std::pow(10000.0, 5.0 / 384.0);
        QVERIFY(std::abs(line[57][5].item<double>() - std::sin(pos * omega)) <= 1e-7);
    }

    void croppedPositionEmbedding() {
        c10::InferenceMode guard;
        PatchEmbed patch(4, 16, 2, 6, 4, at::TensorOptions());
        const auto a = patch->croppedPosEmbed(3, 2);
        const auto b = patch->croppedPosEmbed(6, 5);
        QVERIFY(maxAbsError(a, ref(QStringLiteral("blocks.crop_3x2"))) <= 1e-7);
        QVERIFY(maxAbsError(b, ref(QStringLiteral("blocks.crop_6x5"))) <= 1e-7);
        // centred: a 3x2 crop of the 6x6 grid starts at row 1, column 2
        const auto full = sincosPosEmbed2d(16, 6, 4);
        QCOMPARE(maxAbsError(a[0][0], full[1 * 6 + 2]), 0.0);
        QVERIFY_THROWS_EXCEPTION(c10::Error, patch->croppedPosEmbed(7, 2));
    }

    void rotaryEmbedding() {
        const auto ids = ref(QStringLiteral("blocks.rope_ids"));
        const auto rope = tp::nn::rotaryEmbedding(ids.to(m_device), {16, 56, 56}, kFluxRopeTheta);
        const double errCos = maxAbsError(rope.cos.cpu(), ref(QStringLiteral("blocks.rope_cos")));
        const double errSin = maxAbsError(rope.sin.cpu(), ref(QStringLiteral("blocks.rope_sin")));
        qInfo("FluxPosEmbed (16, 56, 56), positions up to 300: cos %.3g, sin %.3g", errCos, errSin);
        QVERIFY(errCos <= 1e-6 && errSin <= 1e-6);
        // The txt position (0, 0, 0) is the identity rotation; each frequency appears twice in a row.
        QCOMPARE(rope.cos[0].cpu().min().item<float>(), 1.0f);
        QCOMPARE(rope.sin[1][2].item<float>(), rope.sin[1][3].item<float>());

        // apply_rotary_emb on [B, S, H, D] (sequence_dim=1, as FluxAttnProcessor) and on [B, H, S, D]
        const auto q = ref(QStringLiteral("blocks.rope_q")).to(m_device);
        const auto expected = ref(QStringLiteral("blocks.rope_q_rotated"));
        const double err = maxAbsError(applyRotaryEmbedding(q, rope, 1).cpu(), expected);
        const double errTransposed =
            maxAbsError(applyRotaryEmbedding(q.transpose(1, 2), rope).transpose(1, 2).cpu(), expected);
        const auto rotatedBf16 = applyRotaryEmbedding(q.to(at::kBFloat16), rope, 1);
        QCOMPARE(rotatedBf16.scalar_type(), at::kBFloat16);
        const double errBf16 =
            maxAbsError(rotatedBf16.cpu(), ref(QStringLiteral("blocks.rope_q_rotated_bf16")));
        qInfo("apply_rotary_emb: float32 %.3g (on [B, H, S, D]: %.3g), bfloat16 %.3g", err, errTransposed,
              errBf16);
        QVERIFY(errTransposed <= 1e-5);
        QVERIFY(err <= 1e-5);
        QVERIFY(errBf16 <= 0.02);
    }

    void rmsNormKinds() {
        RMSNorm diffusersNorm(8, 1e-6, RmsNormKind::Diffusers, at::TensorOptions());
        RMSNorm torchNorm(8, 1e-6, RmsNormKind::Torch, at::TensorOptions());
        randomizeModule(*diffusersNorm, 3);
        randomizeModule(*torchNorm, 3);
        const auto x = randn({2, 3, 8}, 4);
        const auto w = diffusersNorm->named_parameters()["weight"];
        const auto expected = x * at::rsqrt(x.pow(2).mean(-1, true) + 1e-6) * w;
        QVERIFY(maxAbsError(diffusersNorm->forward(x), expected) <= 1e-6);
        QVERIFY(maxAbsError(torchNorm->forward(x), expected) <= 1e-6);
        // dtypes: diffusers' norm returns float32 for bf16 input with float32 weights; with bf16
        // weights both return bf16.
        QCOMPARE(diffusersNorm->forward(x.to(at::kBFloat16)).scalar_type(), at::kFloat);
        moveModule(*diffusersNorm, at::kCPU, at::kBFloat16);
        moveModule(*torchNorm, at::kCPU, at::kBFloat16);
        QCOMPARE(diffusersNorm->forward(x.to(at::kBFloat16)).scalar_type(), at::kBFloat16);
        QCOMPARE(torchNorm->forward(x.to(at::kBFloat16)).scalar_type(), at::kBFloat16);
    }

    // --- SD 3 --------------------------------------------------------------------------------

    void sd3MatchesDiffusers_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("dtype");
        for (const char* name : {"sd3", "sd35"})
            for (const QJsonValue& dt :
                 m_cases.value(QLatin1String(name)).toObject().value(QLatin1String("dtypes")).toArray())
                QTest::newRow(qPrintable(QLatin1String(name) + QLatin1Char('/') + dt.toString()))
                    << QString::fromLatin1(name) << dt.toString();
    }
    void sd3MatchesDiffusers() {
        QFETCH(QString, name);
        QFETCH(QString, dtype);
        const at::ScalarType dt = dtypeNamed(dtype);
        const auto cfg = SD3Transformer2DConfig::fromJson(config(qPrintable(name)));
        QVERIFY2(cfg, qPrintable(cfg.error()));
        SD3Transformer2D model(*cfg);
        // The computed position table is the one diffusers saves in the checkpoint.
        const auto computed = model->named_buffers()["pos_embed.pos_embed"];
        QVERIFY(maxAbsError(computed, ref(name + QStringLiteral(".transformer.pos_embed.pos_embed"))) <=
                1e-7);
        QVERIFY(load(*model, qPrintable(name), dt));

        c10::InferenceMode guard;
        const auto in = [&](const char* what, at::ScalarType t) {
            return input(name + QStringLiteral(".in.") + QLatin1String(what), t);
        };
        const auto out = model->forward(in("hidden_states", dt), in("encoder_hidden_states", dt),
                                        in("pooled_projections", dt), in("timestep", at::kFloat));
        compare(name + QLatin1Char('/') + dtype, out, ref(name + QStringLiteral(".out.") + dtype), dt);
    }

    void sd3Structure() {
        const auto cfg = SD3Transformer2DConfig::fromJson(config("sd35"));
        QVERIFY(cfg);
        QCOMPARE(cfg->dualAttentionLayers, (std::vector<int64_t>{0, 1}));
        QVERIFY(cfg->qkNorm);
        SD3Transformer2D model(*cfg);
        const auto params = model->named_parameters();
        // the last block is context_pre_only: continuous adaLN for the context, no context output
        QCOMPARE(params["transformer_blocks.2.norm1_context.linear.weight"].size(0), 2 * 32);
        QCOMPARE(params["transformer_blocks.1.norm1_context.linear.weight"].size(0), 6 * 32);
        QVERIFY(!params.find("transformer_blocks.2.attn.to_add_out.weight"));
        QVERIFY(!params.find("transformer_blocks.2.ff_context.net.0.proj.weight"));
        QVERIFY(params.find("transformer_blocks.2.attn.add_q_proj.weight"));
        // dual attention: 9 modulation vectors and attn2 in blocks 0 and 1 only
        QCOMPARE(params["transformer_blocks.1.norm1.linear.weight"].size(0), 9 * 32);
        QCOMPARE(params["transformer_blocks.2.norm1.linear.weight"].size(0), 6 * 32);
        QVERIFY(params.find("transformer_blocks.1.attn2.norm_k.weight"));
        QVERIFY(!params.find("transformer_blocks.1.attn2.add_q_proj.weight"));
        QVERIFY(!params.find("transformer_blocks.2.attn2.to_q.weight"));
        QCOMPARE(model->maxLatentSize(), int64_t(12));
        // larger latents than pos_embed_max_size patches are refused with the reason
        c10::InferenceMode guard;
        try {
            model->forward(at::zeros({1, 4, 14, 4}), at::zeros({1, 3, 24}), at::zeros({1, 20}),
                           at::zeros({1}));
            QFAIL("a 14-pixel latent passed a 12-pixel position table");
        } catch (const c10::Error& e) {
            QVERIFY2(QString::fromStdString(e.what()).contains(QLatin1String("pos_embed_max_size")),
                     e.what());
        }
    }

    void sd3ConfigErrors_data() {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QJsonValue>("value");
        QTest::addColumn<QString>("message");
        const auto row = [](const char* tag, const char* key, const QJsonValue& value, const char* message) {
            QTest::newRow(tag) << QString::fromLatin1(key) << value << QString::fromLatin1(message);
        };
        row("caption dim", "caption_projection_dim", 48, "caption_projection_dim");
        row("qk_norm", "qk_norm", QStringLiteral("layer_norm"), "layer_norm");
        row("pos max null", "pos_embed_max_size", QJsonValue(QJsonValue::Null), "pos_embed_max_size");
        row("dual index", "dual_attention_layers", QJsonArray{0, 5}, "block 5");
        row("layers", "num_layers", 0, "num_layers");
    }
    void sd3ConfigErrors() {
        QFETCH(QString, key);
        QFETCH(QJsonValue, value);
        QFETCH(QString, message);
        QJsonObject c = config("sd35");
        c.insert(key, value);
        const auto r = SD3Transformer2DConfig::fromJson(c);
        QVERIFY(!r);
        QVERIFY2(r.error().contains(message) && r.error().contains(QLatin1String("transformer")),
                 qPrintable(r.error()));
    }

    // --- Flux --------------------------------------------------------------------------------

    void fluxMatchesDiffusers_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("dtype");
        for (const char* name : {"flux_dev", "flux_schnell"})
            for (const QJsonValue& dt :
                 m_cases.value(QLatin1String(name)).toObject().value(QLatin1String("dtypes")).toArray())
                QTest::newRow(qPrintable(QLatin1String(name) + QLatin1Char('/') + dt.toString()))
                    << QString::fromLatin1(name) << dt.toString();
    }
    void fluxMatchesDiffusers() {
        QFETCH(QString, name);
        QFETCH(QString, dtype);
        const at::ScalarType dt = dtypeNamed(dtype);
        const QJsonObject meta = m_cases.value(name).toObject();
        const auto cfg = FluxTransformer2DConfig::fromJson(meta.value(QLatin1String("config")).toObject());
        QVERIFY2(cfg, qPrintable(cfg.error()));
        FluxTransformer2D model(*cfg);
        QVERIFY(load(*model, qPrintable(name), dt));

        c10::InferenceMode guard;
        const auto in = [&](const char* what, at::ScalarType t) {
            return input(name + QStringLiteral(".in.") + QLatin1String(what), t);
        };
        const auto latents = in("latents", dt);
        const auto packed = packLatents(latents);
        const auto imgIds =
            latentImageIds(latents.size(2) / 2, latents.size(3) / 2, at::TensorOptions(m_device).dtype(dt));
        const int textTokens = meta.value(QLatin1String("text_tokens")).toInt();
        const auto txtIds = at::zeros({textTokens, 3}, at::TensorOptions(m_device).dtype(dt));
        // FluxPipeline: timestep = t.expand(B).to(latents.dtype) / 1000; guidance float32
        const auto timestep = in("t", dt) / 1000;
        at::Tensor guidance;
        if (meta.value(QLatin1String("guidance")).isDouble())
            guidance = at::full({latents.size(0)}, meta.value(QLatin1String("guidance")).toDouble(),
                                at::TensorOptions(m_device).dtype(at::kFloat));
        const auto out = model->forward(packed, in("encoder_hidden_states", dt), in("pooled_projections", dt),
                                        timestep, imgIds, txtIds, guidance);
        compare(name + QLatin1Char('/') + dtype, out, ref(name + QStringLiteral(".out.") + dtype), dt);
    }

    void fluxGuidanceIsChecked() {
        const auto dev = FluxTransformer2DConfig::fromJson(config("flux_dev"));
        const auto schnell = FluxTransformer2DConfig::fromJson(config("flux_schnell"));
        QVERIFY(dev && schnell);
        QVERIFY(dev->guidanceEmbeds && !schnell->guidanceEmbeds);
        FluxTransformer2D withGuidance(*dev);
        FluxTransformer2D without(*schnell);
        QVERIFY(withGuidance->named_parameters().find("time_text_embed.guidance_embedder.linear_2.bias"));
        QVERIFY(!without->named_parameters().find("time_text_embed.guidance_embedder.linear_1.weight"));
        QVERIFY(without->named_parameters().find("single_transformer_blocks.2.proj_out.weight"));
        QCOMPARE(without->named_parameters()["single_transformer_blocks.0.proj_out.weight"].size(1),
                 32 + 4 * 32);
        c10::InferenceMode guard;
        const auto x = at::zeros({1, 4, 16});
        const auto ctx = at::zeros({1, 2, 24});
        const auto pooled = at::zeros({1, 12});
        const auto ids = latentImageIds(2, 2);
        const auto txt = at::zeros({2, 3});
        QVERIFY_THROWS_EXCEPTION(c10::Error, withGuidance->forward(x, ctx, pooled, at::ones({1}), ids, txt));
        QVERIFY_THROWS_EXCEPTION(c10::Error,
                                 without->forward(x, ctx, pooled, at::ones({1}), ids, txt, at::ones({1})));
    }

    void fluxConfigErrors() {
        QJsonObject c = config("flux_dev");
        c.insert(QStringLiteral("axes_dims_rope"), QJsonArray{4, 6, 8});
        auto r = FluxTransformer2DConfig::fromJson(c);
        QVERIFY(!r);
        QVERIFY2(r.error().contains(QLatin1String("axes_dims_rope")), qPrintable(r.error()));
        c = config("flux_dev");
        c.insert(QStringLiteral("axes_dims_rope"), QJsonArray{5, 5, 6});
        QVERIFY(!FluxTransformer2DConfig::fromJson(c));
        c = config("flux_dev");
        c.insert(QStringLiteral("out_channels"), QJsonValue::Null);
        r = FluxTransformer2DConfig::fromJson(c);
        QVERIFY(r);
        QCOMPARE(r->outChannels, int64_t(16));
    }

    void packing() {
        const auto latents = ref(QStringLiteral("flux_dev.in.latents")); // [2, 4, 6, 8]
        const auto packed = packLatents(latents);
        QCOMPARE(maxAbsError(packed, ref(QStringLiteral("flux_dev.packed"))), 0.0);
        // token (row r, column c) holds channel ch's 2x2 patch at ch·4 + dy·2 + dx
        QCOMPARE(packed[1][2 * 4 + 3][2 * 4 + 1 * 2 + 0].item<float>(),
                 latents[1][2][2 * 2 + 1][3 * 2 + 0].item<float>());
        QCOMPARE(maxAbsError(unpackLatents(packed, 6, 8), latents), 0.0);
        QVERIFY_THROWS_EXCEPTION(c10::Error, unpackLatents(packed, 6, 6));
        QVERIFY_THROWS_EXCEPTION(c10::Error, packLatents(at::zeros({1, 4, 5, 8})));
        const auto ids = latentImageIds(3, 4);
        QCOMPARE(maxAbsError(ids, ref(QStringLiteral("flux_dev.img_ids"))), 0.0);
        QCOMPARE(ids[7][1].item<float>(), 1.0f); // row 1, column 3
        QCOMPARE(ids[7][2].item<float>(), 3.0f);
        QCOMPARE(latentImageIds(3, 4, at::TensorOptions(at::kBFloat16)).scalar_type(), at::kBFloat16);
    }

    // --- loading round trips (random weights, through a safetensors file) ----------------------

    void roundTripThroughSafetensors() {
        QTemporaryDir dir;
        const auto sd3Config = SD3Transformer2DConfig::fromJson(config("sd35"));
        const auto fluxConfig = FluxTransformer2DConfig::fromJson(config("flux_dev"));
        QVERIFY(sd3Config && fluxConfig);
        SD3Transformer2D a(*sd3Config), b(*sd3Config);
        FluxTransformer2D fa(*fluxConfig), fb(*fluxConfig);
        randomizeModule(*a, 11);
        randomizeModule(*fa, 12);
        const auto path = dir.filePath(QStringLiteral("model.safetensors"));
        auto tensors = namedTensors(*a, QStringLiteral("transformer."));
        for (auto& t : namedTensors(*fa, QStringLiteral("flux.")))
            tensors.push_back(std::move(t));
        QVERIFY(tp::io::writeSafeTensors(path, tensors));
        auto weights = SafeTensorsArchive::open(path);
        QVERIFY(weights);
        LoadReport report;
        QVERIFY(loadWeights(*b, *weights, QStringLiteral("transformer."), at::kCPU, at::kFloat, &report));
        QCOMPARE(report.tensors, int(namedTensors(*a).size()));
        QVERIFY(report.unexpected.isEmpty());
        QVERIFY(loadWeights(*fb, *weights, QStringLiteral("flux."), at::kCPU, at::kFloat));

        c10::InferenceMode guard;
        const auto latents = randn({1, 4, 8, 6}, 1);
        const auto ctx = randn({1, 5, 24}, 2);
        const auto pooled = randn({1, 20}, 3);
        const auto out = a->forward(latents, ctx, pooled, at::tensor({500.0f}));
        QCOMPARE(maxAbsError(b->forward(latents, ctx, pooled, at::tensor({500.0f})), out), 0.0);
        // the timestep and the pooled vector are wired in
        QVERIFY(maxAbsError(b->forward(latents, ctx, pooled, at::tensor({20.0f})), out) > 1e-3);
        QVERIFY(maxAbsError(b->forward(latents, ctx, pooled * 2, at::tensor({500.0f})), out) > 1e-3);

        const auto packed = packLatents(randn({1, 4, 4, 6}, 4));
        const auto fctx = randn({1, 3, 24}, 5);
        const auto fpooled = randn({1, 12}, 6);
        const auto ids = latentImageIds(2, 3);
        const auto txt = at::zeros({3, 3});
        const auto fout =
            fa->forward(packed, fctx, fpooled, at::tensor({0.5f}), ids, txt, at::tensor({3.5f}));
        QCOMPARE(
            maxAbsError(fb->forward(packed, fctx, fpooled, at::tensor({0.5f}), ids, txt, at::tensor({3.5f})),
                        fout),
            0.0);
        QVERIFY(
            maxAbsError(fb->forward(packed, fctx, fpooled, at::tensor({0.5f}), ids, txt, at::tensor({1.0f})),
                        fout) > 1e-3);
        // positions matter: the same tokens with other ids give another output
        QVERIFY(maxAbsError(fb->forward(packed, fctx, fpooled, at::tensor({0.5f}), latentImageIds(3, 2), txt,
                                        at::tensor({3.5f})),
                            fout) > 1e-3);
    }
};

QTEST_GUILESS_MAIN(TestDiT)
#include "tst_dit.moc"
