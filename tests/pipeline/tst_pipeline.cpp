// Full text-to-image runs of the fixture model against diffusers' outputs, by seed, for every
// sampler (with and without negative prompt, guidance 1.0 included). TWISTEDPIC_TEST_DEVICE=cuda
// runs the same on the GPU in float32 with a looser tolerance.
#include "core/io/SafeTensors.h"
#include "core/pipeline/TextToImage.h"
#include "tests/support/TestUtil.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include <torch/cuda.h>

using namespace tp;

class TestPipeline final : public QObject {
    Q_OBJECT

    std::shared_ptr<const io::SafeTensorsFile> m_ref;
    std::unique_ptr<pipeline::DiffusionModel> m_model;
    QJsonArray m_cases;
    QJsonObject m_schedulerConfig;
    bool m_cuda = false;

    at::Tensor ref(const QString& name) {
        Result<at::Tensor> t = m_ref->view(name);
        if (!t)
            qFatal("%s", qPrintable(t.error()));
        return *t;
    }

private Q_SLOTS:
    void initTestCase() {
        m_cuda = qEnvironmentVariable("TWISTEDPIC_TEST_DEVICE") == QLatin1String("cuda");
        if (m_cuda) { // exact float32: TF32 convolutions and matmuls would cost ~1e-2 in the latents
            at::globalContext().setAllowTF32CuDNN(false);
            at::globalContext().setFloat32MatmulPrecision("highest");
        }
        if (m_cuda && !torch::cuda::is_available())
            QSKIP("TWISTEDPIC_TEST_DEVICE=cuda but no CUDA device");
        auto file =
            io::SafeTensorsFile::open(test::dataPath(QStringLiteral("sd15-tiny/reference.safetensors")));
        QVERIFY2(file, qPrintable(file.error()));
        m_ref = *file;
        QFile cases(test::dataPath(QStringLiteral("sd15-tiny/cases.json")));
        QVERIFY(cases.open(QIODevice::ReadOnly));
        const QJsonObject all = QJsonDocument::fromJson(cases.readAll()).object();
        m_cases = all.value(QStringLiteral("pipeline")).toArray();
        // diffusers made the references with XScheduler.from_config(this config), which has no
        // timestep_spacing: the samplers' own defaults ("linspace" for Euler, LMS and DPM++),
        // not the folder's "leading".
        m_schedulerConfig = all.value(QStringLiteral("scheduler_config")).toObject();
        QCOMPARE(m_cases.size(), 8);

        pipeline::DeviceChoice device;
        device.device = m_cuda ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
        device.dtype = at::kFloat;
        device.description = m_cuda ? QStringLiteral("cuda:0 float32") : QStringLiteral("cpu float32");
        pipeline::initCpuRuntime();
        auto model = pipeline::loadModel(test::dataPath(QStringLiteral("sd15-tiny/pipeline")), device);
        QVERIFY2(model, qPrintable(model.error()));
        m_model = std::move(*model);
    }

    void matchesDiffusers_data() {
        QTest::addColumn<int>("index");
        for (int k = 0; k < 8; ++k) {
            const QJsonObject c = m_cases.at(k).toObject();
            QTest::newRow(qPrintable(
                QStringLiteral("%1 %2").arg(k).arg(c.value(QStringLiteral("scheduler")).toString())))
                << k;
        }
    }
    void matchesDiffusers() {
        QFETCH(int, index);
        const QJsonObject c = m_cases.at(index).toObject();
        pipeline::TextToImageParams p;
        p.prompt = c.value(QStringLiteral("prompt")).toString();
        if (!c.value(QStringLiteral("negative_prompt")).isNull())
            p.negativePrompt = c.value(QStringLiteral("negative_prompt")).toString();
        p.sampler = c.value(QStringLiteral("scheduler")).toString();
        p.steps = c.value(QStringLiteral("steps")).toInt();
        p.guidance = c.value(QStringLiteral("guidance_scale")).toDouble();
        p.width = c.value(QStringLiteral("width")).toInt();
        p.height = c.value(QStringLiteral("height")).toInt();
        p.seed = static_cast<uint64_t>(c.value(QStringLiteral("seed")).toInteger());
        p.schedulerConfig = m_schedulerConfig;

        int stepsSeen = 0;
        auto out = pipeline::textToImage(*m_model, p, [&](const pipeline::StepInfo& s) {
            stepsSeen = s.step;
            return true;
        });
        QVERIFY2(out, qPrintable(out.error()));
        QVERIFY(!out->cancelled);
        QCOMPARE(out->seeds, std::vector<uint64_t>{p.seed});
        QVERIFY(stepsSeen >= p.steps);

        const at::Tensor latents = ref(QStringLiteral("pipe.%1.latents").arg(index));
        const at::Tensor image = ref(QStringLiteral("pipe.%1.image").arg(index));
        const double latentErr = (out->latents[0] - latents).abs().max().item<double>();
        const double imageErr = (out->images[0] - image).abs().max().item<double>();
        qInfo("case %d (%s): max |latents - diffusers| = %.3g, max |image - diffusers| = %.3g", index,
              qPrintable(p.sampler), latentErr, imageErr);
        const double tolerance = m_cuda ? 1e-2 : 2e-3;
        QVERIFY2(latentErr <= tolerance, qPrintable(QString::number(latentErr)));
        QVERIFY2(imageErr <= tolerance, qPrintable(QString::number(imageErr)));
    }

    void batchImageEqualsItsSeedAlone() {
        pipeline::TextToImageParams p;
        p.prompt = QStringLiteral("a peaceful garden with blooming flowers");
        p.sampler = QStringLiteral("euler_a"); // ancestral: per-image noise every step
        p.steps = 4;
        p.width = p.height = 128;
        p.seed = 7;
        p.count = 2;
        auto batch = pipeline::textToImage(*m_model, p);
        QVERIFY2(batch, qPrintable(batch.error()));
        p.count = 1;
        p.seed = 8;
        auto alone = pipeline::textToImage(*m_model, p);
        QVERIFY2(alone, qPrintable(alone.error()));
        QCOMPARE(batch->seeds, (std::vector<uint64_t>{7, 8}));
        const double err = (batch->images[1] - alone->images[0]).abs().max().item<double>();
        QVERIFY2(err < 1e-4, qPrintable(QString::number(err)));
        QVERIFY((batch->images[0] - batch->images[1]).abs().max().item<double>() > 0.05);
    }

    void cancelStopsBetweenSteps() {
        pipeline::TextToImageParams p;
        p.prompt = QStringLiteral("cancel me");
        p.sampler = QStringLiteral("dpmpp_2m");
        p.steps = 10;
        p.width = p.height = 128;
        int calls = 0;
        auto out = pipeline::textToImage(*m_model, p, [&](const pipeline::StepInfo&) { return ++calls < 3; });
        QVERIFY(out);
        QVERIFY(out->cancelled);
        QCOMPARE(calls, 3);
        QVERIFY(!out->images.defined());
    }

    void rejectsBadParameters_data() {
        QTest::addColumn<int>("width");
        QTest::addColumn<int>("steps");
        QTest::addColumn<QString>("sampler");
        QTest::addColumn<QString>("expected");
        QTest::newRow("size") << 130 << 4 << QStringLiteral("euler") << QStringLiteral("multiple of 8");
        QTest::newRow("steps") << 128 << 0 << QStringLiteral("euler") << QStringLiteral("Steps");
        QTest::newRow("sampler") << 128 << 4 << QStringLiteral("magic") << QStringLiteral("magic");
    }
    void rejectsBadParameters() {
        QFETCH(int, width);
        QFETCH(int, steps);
        QFETCH(QString, sampler);
        QFETCH(QString, expected);
        pipeline::TextToImageParams p;
        p.prompt = QStringLiteral("x");
        p.width = width;
        p.height = 128;
        p.steps = steps;
        p.sampler = sampler;
        auto out = pipeline::textToImage(*m_model, p);
        QVERIFY(!out);
        QVERIFY2(out.error().contains(expected), qPrintable(out.error()));
    }

    void clipSkipUsesPenultimateLayer() {
        pipeline::TextToImageParams p;
        p.prompt = QStringLiteral("a castle on a mountain, digital art");
        p.sampler = QStringLiteral("ddim");
        p.steps = 3;
        p.width = p.height = 128;
        p.seed = 5;
        auto last = pipeline::textToImage(*m_model, p);
        p.clipSkip = 2;
        auto skip = pipeline::textToImage(*m_model, p);
        QVERIFY(last && skip);
        QVERIFY((last->latents - skip->latents).abs().max().item<double>() > 1e-3);
    }
};

QTEST_GUILESS_MAIN(TestPipeline)
#include "tst_pipeline.moc"
