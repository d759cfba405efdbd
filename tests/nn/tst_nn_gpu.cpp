// The models on a CUDA device: float32 parity with the reference fixtures, float16/bfloat16
// runs close to them, fused vs manual attention, and device round trips. Skips without CUDA.
#include "core/io/SafeTensors.h"
#include "core/nn/Attention.h"
#include "core/nn/AutoencoderKL.h"
#include "core/nn/ClipTextModel.h"
#include "core/nn/ModuleUtils.h"
#include "core/nn/UNet2DCondition.h"
#include "core/nn/WeightLoader.h"
#include "tests/nn/NnTestUtil.h"
#include "tests/support/TestUtil.h"

#include <c10/core/InferenceMode.h>

#include <QtTest>

#include <optional>

using namespace tp::nn;
using tp::io::SafeTensorsArchive;
using tp::test::dataPath;
using tp::test::maxAbsError;

namespace {
QString pipelinePath(const QString& relative) {
    return dataPath(QStringLiteral("sd15-tiny/pipeline/") + relative);
}

template <typename Module> void load(Module& module, const QString& file, at::ScalarType dtype) {
    auto weights = SafeTensorsArchive::open(pipelinePath(file));
    if (!weights)
        qFatal("%s", qPrintable(weights.error()));
    const auto status = loadWeights(*module, *weights, QString(), at::Device(at::kCUDA), dtype);
    if (!status)
        qFatal("%s", qPrintable(status.error()));
}

double relativeError(const at::Tensor& actual, const at::Tensor& expected) {
    return maxAbsError(actual.cpu(), expected) / expected.abs().max().item<double>();
}
} // namespace

class TestNnGpu final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init() { setAttentionBackend(AttentionBackend::Auto); }
    void cleanupTestCase() { setAttentionBackend(AttentionBackend::Auto); }
    void models_data();
    void models();
    void moveRoundTrip();

private:
    at::Tensor reference(const char* name) const {
        auto t = m_reference->view(QLatin1String(name));
        if (!t)
            qFatal("%s", qPrintable(t.error()));
        return *t;
    }
    std::optional<SafeTensorsArchive> m_reference;
};

void TestNnGpu::initTestCase() {
    if (!at::hasCUDA())
        QSKIP("no CUDA device");
    // Exact float32 for the parity rows (TF32 would cost ~1e-3).
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setFloat32MatmulPrecision("highest");
    auto archive = SafeTensorsArchive::open(dataPath(QStringLiteral("sd15-tiny/reference.safetensors")));
    QVERIFY2(archive, qPrintable(archive.error()));
    m_reference = *archive;
}

void TestNnGpu::models_data() {
    QTest::addColumn<int>("dtype");
    QTest::addColumn<bool>("manual");
    QTest::addColumn<double>("tolerance"); // relative to the reference's largest magnitude
    QTest::newRow("float32") << int(at::kFloat) << false << 1e-5;
    QTest::newRow("float32 manual attention") << int(at::kFloat) << true << 1e-5;
    QTest::newRow("float16") << int(at::kHalf) << false << 1e-2;
    QTest::newRow("float16 manual attention") << int(at::kHalf) << true << 1e-2;
    QTest::newRow("bfloat16") << int(at::kBFloat16) << false << 5e-2;
}

void TestNnGpu::models() {
    QFETCH(int, dtype);
    QFETCH(bool, manual);
    QFETCH(double, tolerance);
    const auto type = at::ScalarType(dtype);
    const at::Device cuda(at::kCUDA);
    setAttentionBackend(manual ? AttentionBackend::Manual : AttentionBackend::Auto);

    ClipTextModel clip(*ClipTextConfig::fromFile(pipelinePath(QStringLiteral("text_encoder/config.json"))));
    load(clip, QStringLiteral("text_encoder/model.safetensors"), type);
    AutoencoderKL vae(*AutoencoderKLConfig::fromFile(pipelinePath(QStringLiteral("vae/config.json"))));
    load(vae, QStringLiteral("vae/diffusion_pytorch_model.safetensors"), type);
    UNet2DCondition unet(*UNet2DConditionConfig::fromFile(pipelinePath(QStringLiteral("unet/config.json"))));
    load(unet, QStringLiteral("unet/diffusion_pytorch_model.safetensors"), type);
    QCOMPARE(moduleDevice(*unet).type(), at::kCUDA);
    QCOMPARE(moduleDtype(*unet), type);

    c10::InferenceMode inference;
    const auto te = clip->forward(reference("te.input_ids").to(cuda), true);
    const auto decoded = vae->decode(reference("vae.latents").to(cuda, type));
    const auto posterior = vae->encode(reference("vae.image").to(cuda, type));
    const auto out = unet->forward(reference("unet.sample").to(cuda, type), at::scalar_tensor(500),
                                   reference("unet.encoder_hidden_states").to(cuda, type));
    QCOMPARE(out.scalar_type(), type);
    const std::pair<const char*, at::Tensor> results[] = {
        {"te.last_hidden_state", te.lastHiddenState},
        {"te.penultimate_hidden_state", te.hiddenStates[te.hiddenStates.size() - 2]},
        {"te.pooled", te.pooled},
        {"vae.decoded", decoded},
        {"vae.encoded_mean", posterior.mean},
        {"vae.encoded_std", posterior.std},
        {"unet.t500.out", out},
    };
    for (const auto& [name, actual] : results) {
        QVERIFY2(actual.isfinite().all().item<bool>(), name);
        const double error = relativeError(actual, reference(name));
        qInfo("%s %s: max abs error / max |reference| = %.3g", QTest::currentDataTag(), name, error);
        QVERIFY2(error <= tolerance,
                 qPrintable(QStringLiteral("%1: %2").arg(QLatin1String(name)).arg(error)));
    }
}

void TestNnGpu::moveRoundTrip() {
    UNet2DCondition unet(*UNet2DConditionConfig::fromFile(pipelinePath(QStringLiteral("unet/config.json"))));
    auto weights =
        SafeTensorsArchive::open(pipelinePath(QStringLiteral("unet/diffusion_pytorch_model.safetensors")));
    QVERIFY(weights);
    QVERIFY(loadWeights(*unet, *weights, QString(), at::kCPU, at::kFloat));
    const auto before = unet->named_parameters().find("conv_in.weight")->clone();
    moveModule(*unet, at::Device(at::kCUDA), at::kHalf);
    QCOMPARE(moduleDevice(*unet).type(), at::kCUDA);
    QCOMPARE(moduleSize(*unet).bytes, moduleSize(*unet).parameters * 2);
    moveModule(*unet, at::kCPU, at::kFloat);
    QCOMPARE(moduleDevice(*unet).type(), at::kCPU);
    QVERIFY(maxAbsError(*unet->named_parameters().find("conv_in.weight"), before) < 1e-3);
}

QTEST_GUILESS_MAIN(TestNnGpu)
#include "tst_nn_gpu.moc"
