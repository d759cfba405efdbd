// The C++ models against the reference numbers of diffusers/transformers (float32, CPU) for
// the tiny SD 1.x fixture in tests/data/sd15-tiny.
#include "core/io/SafeTensors.h"
#include "core/nn/Attention.h"
#include "core/nn/AutoencoderKL.h"
#include "core/nn/ClipTextModel.h"
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
// The fixtures' README asks for 1e-4. Measured (each test prints its figure): up to 9.1e-6
// for the VAE decoder (outputs up to 2.75), about 1e-6 elsewhere; 3e-5 keeps a 3x margin.
constexpr double kTolerance = 3e-5;

QString pipelinePath(const QString& relative) {
    return dataPath(QStringLiteral("sd15-tiny/pipeline/") + relative);
}

// TWISTEDPIC_TEST_DEVICE=cuda runs the same checks on the GPU (float32, TF32 off).
at::Device testDevice() {
    if (qEnvironmentVariable("TWISTEDPIC_TEST_DEVICE") == QLatin1String("cuda") && at::hasCUDA())
        return at::Device(at::kCUDA);
    return at::Device(at::kCPU);
}
} // namespace

class TestNnParity final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void textEncoder_data();
    void textEncoder();
    void vaeDecode();
    void vaeEncode();
    void unet_data();
    void unet();
    void cleanupTestCase();

private:
    at::Tensor reference(const char* name) const;
    void check(const char* what, const at::Tensor& actual, const char* referenceName) const;
    at::Tensor input(const char* name) const { return reference(name).to(m_device); }
    std::optional<SafeTensorsArchive> m_reference;
    at::Device m_device{at::kCPU};
};

at::Tensor TestNnParity::reference(const char* name) const {
    auto t = m_reference->view(QLatin1String(name));
    if (!t)
        qFatal("%s", qPrintable(t.error()));
    return *t;
}

void TestNnParity::check(const char* what, const at::Tensor& actual, const char* referenceName) const {
    const auto expected = reference(referenceName);
    QCOMPARE(actual.sizes().vec(), expected.sizes().vec());
    const double error = maxAbsError(actual.cpu(), expected);
    qInfo("%s: max abs error %.3g (|max| %.3g)", what, error, expected.abs().max().item<double>());
    QVERIFY2(error <= kTolerance,
             qPrintable(QStringLiteral("%1: max abs error %2").arg(QLatin1String(what)).arg(error)));
}

void TestNnParity::initTestCase() {
    auto archive = SafeTensorsArchive::open(dataPath(QStringLiteral("sd15-tiny/reference.safetensors")));
    QVERIFY2(archive, qPrintable(archive.error()));
    m_reference = *archive;
    m_device = testDevice();
    if (m_device.is_cuda()) {
        at::globalContext().setAllowTF32CuDNN(false);
        at::globalContext().setFloat32MatmulPrecision("highest");
    }
    qInfo("device: %s", m_device.str().c_str());
}

void TestNnParity::cleanupTestCase() {
    setAttentionBackend(AttentionBackend::Auto);
}

void TestNnParity::textEncoder_data() {
    QTest::addColumn<bool>("manual");
    QTest::newRow("auto") << false;
    QTest::newRow("manual") << true;
}

void TestNnParity::textEncoder() {
    QFETCH(bool, manual);
    setAttentionBackend(manual ? AttentionBackend::Manual : AttentionBackend::Auto);
    auto config = ClipTextConfig::fromFile(pipelinePath(QStringLiteral("text_encoder/config.json")));
    QVERIFY2(config, qPrintable(config.error()));
    QCOMPARE(config->eosTokenId, 791);
    ClipTextModel model(*config);
    auto weights = SafeTensorsArchive::open(pipelinePath(QStringLiteral("text_encoder/model.safetensors")));
    QVERIFY2(weights, qPrintable(weights.error()));
    LoadReport report;
    const auto status = loadWeights(*model, *weights, QString(), m_device, at::kFloat, &report);
    QVERIFY2(status, qPrintable(status.error()));
    QCOMPARE(report.tensors, int(model->parameters().size()));

    c10::InferenceMode guard;
    const auto out = model->forward(input("te.input_ids"), /*outputHiddenStates=*/true);
    QCOMPARE(int(out.hiddenStates.size()), int(config->numHiddenLayers + 1));
    check("te.last_hidden_state", out.lastHiddenState, "te.last_hidden_state");
    check("te.penultimate_hidden_state", out.hiddenStates[out.hiddenStates.size() - 2],
          "te.penultimate_hidden_state");
    check("te.pooled", out.pooled, "te.pooled");
    // The last hidden state is the final layer norm of the last layer's output.
    QVERIFY(maxAbsError(model->finalLayerNorm(out.hiddenStates.back()), out.lastHiddenState) == 0.0);
}

void TestNnParity::vaeDecode() {
    auto config = AutoencoderKLConfig::fromFile(pipelinePath(QStringLiteral("vae/config.json")));
    QVERIFY2(config, qPrintable(config.error()));
    QCOMPARE(config->downscaleFactor(), 8);
    QCOMPARE(config->scalingFactor, 0.18215);
    AutoencoderKL vae(*config);
    auto weights =
        SafeTensorsArchive::open(pipelinePath(QStringLiteral("vae/diffusion_pytorch_model.safetensors")));
    QVERIFY2(weights, qPrintable(weights.error()));
    const auto status = loadWeights(*vae, *weights, QString(), m_device, at::kFloat);
    QVERIFY2(status, qPrintable(status.error()));
    c10::InferenceMode guard;
    check("vae.decoded", vae->decode(input("vae.latents")), "vae.decoded");
}

void TestNnParity::vaeEncode() {
    auto config = AutoencoderKLConfig::fromFile(pipelinePath(QStringLiteral("vae/config.json")));
    QVERIFY2(config, qPrintable(config.error()));
    AutoencoderKL vae(*config);
    auto weights =
        SafeTensorsArchive::open(pipelinePath(QStringLiteral("vae/diffusion_pytorch_model.safetensors")));
    QVERIFY2(weights, qPrintable(weights.error()));
    const auto status = loadWeights(*vae, *weights, QString(), m_device, at::kFloat);
    QVERIFY2(status, qPrintable(status.error()));
    c10::InferenceMode guard;
    const auto posterior = vae->encode(input("vae.image"));
    check("vae.encoded_mean", posterior.mean, "vae.encoded_mean");
    check("vae.encoded_std", posterior.std, "vae.encoded_std");
}

void TestNnParity::unet_data() {
    QTest::addColumn<int>("timestep");
    QTest::addColumn<bool>("tensorPerSample");
    QTest::newRow("t999") << 999 << false;
    QTest::newRow("t500") << 500 << true;
    QTest::newRow("t1") << 1 << false;
}

void TestNnParity::unet() {
    QFETCH(int, timestep);
    QFETCH(bool, tensorPerSample);
    auto config = UNet2DConditionConfig::fromFile(pipelinePath(QStringLiteral("unet/config.json")));
    QVERIFY2(config, qPrintable(config.error()));
    // SD 1.x legacy naming: attention_head_dim 8 means 8 heads.
    QCOMPARE(config->attentionHeads, (std::vector<int64_t>{8, 8, 8}));
    UNet2DCondition unet(*config);
    auto weights =
        SafeTensorsArchive::open(pipelinePath(QStringLiteral("unet/diffusion_pytorch_model.safetensors")));
    QVERIFY2(weights, qPrintable(weights.error()));
    LoadReport report;
    const auto status = loadWeights(*unet, *weights, QString(), m_device, at::kFloat, &report);
    QVERIFY2(status, qPrintable(status.error()));
    QVERIFY2(report.unexpected.isEmpty(), qPrintable(report.unexpected.join(QLatin1Char(' '))));
    QCOMPARE(report.tensors, int(weights->names().size()));

    c10::InferenceMode guard;
    const auto sample = input("unet.sample");
    const auto t = tensorPerSample ? at::full({sample.size(0)}, timestep, at::kLong)
                                   : at::scalar_tensor(timestep, at::kLong);
    const auto out = unet->forward(sample, t, input("unet.encoder_hidden_states"));
    const auto name = QStringLiteral("unet.t%1.out").arg(timestep).toLatin1();
    check(name.constData(), out, name.constData());
}

QTEST_GUILESS_MAIN(TestNnParity)
#include "tst_nn_parity.moc"
