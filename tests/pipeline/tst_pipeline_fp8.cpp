// fp8 weights against diffusers' layerwise casting (tests/data/flux-tiny, made by
// tools/reference/make_flux_tiny.py on the GPU machine): the tiny Flux dev transformer with its linear
// layers stored as float8_e4m3fn exactly as `transformer.enable_layerwise_casting(storage_dtype=
// torch.float8_e4m3fn, compute_dtype=torch.float32)` stores them, computed in float32.
//
//  - fp8 in the file (fp8/flux1-dev-tiny-fp8.safetensors: that state dict in Black Forest Labs' layout,
//    40 F8_E4M3 tensors): on every libtorch, the same images as diffusers. libtorch 1.13 decodes the
//    codes when loading (compared with diffusers on the CPU with the fp8 weights upcast); 2.1+ keeps them
//    8-bit and upcasts per layer (on CUDA compared with diffusers' own layerwise run).
//  - fp8 storage of a bf16/fp32 model (precision "fp8"): the layers diffusers rounds, and only those,
//    become 8-bit, and the images match; libtorch 1.13 refuses with a message.
// TWISTEDPIC_TEST_DEVICE=cuda runs the same on the GPU.
#include "core/io/Fp8.h"
#include "core/io/SafeTensors.h"
#include "core/pipeline/ModelSource.h"
#include "core/pipeline/TextToImage.h"
#include "tests/pipeline/PipelineCases.h"
#include "tests/support/TestUtil.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSet>
#include <QtTest>

#include <torch/cuda.h>

using namespace tp;

namespace {
// The names of `module`'s parameters held in fp8, and their bytes.
QSet<QString> fp8Parameters(torch::nn::Module& module) {
    QSet<QString> names;
    for (const auto& p : module.named_parameters(/*recurse=*/true))
        if (io::isFp8(p.value().scalar_type()))
            names.insert(QString::fromStdString(p.key()));
    return names;
}

const pipeline::ModelComponentRef* componentRef(pipeline::DiffusionModel& model, const QString& name) {
    for (const auto& c : model.components())
        if (c.name == name)
            return &c;
    return nullptr;
}
torch::nn::Module* componentOf(pipeline::DiffusionModel& model, const QString& name) {
    const pipeline::ModelComponentRef* c = componentRef(model, name);
    return c ? c->module : nullptr;
}
} // namespace

class TestPipelineFp8 final : public QObject {
    Q_OBJECT

    std::shared_ptr<const io::SafeTensorsFile> m_ref;
    QJsonObject m_cases;
    bool m_cuda = false;

    pipeline::DeviceChoice device(bool fp8Weights) const {
        pipeline::DeviceChoice d = test::float32Device(m_cuda);
        d.fp8Weights = fp8Weights;
        return d;
    }
    QString folder() const { return test::dataPath(QStringLiteral("flux-tiny/pipeline")); }
    // The transformer's tensors that diffusers' layerwise casting stored in fp8.
    QSet<QString> fp8TensorNames() const {
        QSet<QString> names;
        for (const QJsonValue& v :
             m_cases.value(QStringLiteral("fp8")).toObject().value(QStringLiteral("fp8_tensors")).toArray())
            names.insert(v.toString());
        return names;
    }

    // Pipeline case `index` of cases.json on `model`, against the fp8 references: diffusers' CUDA run,
    // or on the CPU its run with the fp8 weights upcast to float32 (the same numbers, computed there).
    void checkCase(pipeline::DiffusionModel& model, int index) {
        const QJsonObject c = m_cases.value(QStringLiteral("pipeline")).toArray().at(index).toObject();
        pipeline::TextToImageParams p = test::caseParams(c);
        p.sampler = QStringLiteral("euler");
        auto out = pipeline::textToImage(model, p);
        QVERIFY2(out, qPrintable(out.error()));
        const QString suffix = m_cuda ? QString() : QStringLiteral("_cpu_dequant");
        const at::Tensor latents = *m_ref->view(QStringLiteral("fp8.%1.latents%2").arg(index).arg(suffix));
        const at::Tensor image = *m_ref->view(QStringLiteral("fp8.%1.image%2").arg(index).arg(suffix));
        const double latentErr = test::maxAbs(out->latents[0], latents);
        const double imageErr = test::maxAbs(out->images[0], image);
        // How far fp8 moves the image from the float32 model's, for scale.
        const double fromFp32 =
            test::maxAbs(out->images[0], *m_ref->view(QStringLiteral("pipe.%1.image").arg(index)));
        qInfo("fp8 case %d (%dx%d): latents %.3g, image %.3g from diffusers' fp8 run; %.3g from the fp32 "
              "model's image",
              index, p.width, p.height, latentErr, imageErr, fromFp32);
        QVERIFY2(latentErr <= 1e-4 && imageErr <= 1e-4,
                 qPrintable(QStringLiteral("latents %1, image %2").arg(latentErr).arg(imageErr)));
        QVERIFY(fromFp32 > 1e-3); // the references differ: this compares fp8 with fp8
    }

private Q_SLOTS:
    void initTestCase() {
        const test::TestDevice where = test::testDevice();
        if (where == test::TestDevice::CudaMissing)
            QSKIP("TWISTEDPIC_TEST_DEVICE=cuda but no CUDA device");
        m_cuda = where == test::TestDevice::Cuda;
        pipeline::initCpuRuntime();
        auto file =
            io::SafeTensorsFile::open(test::dataPath(QStringLiteral("flux-tiny/reference.safetensors")));
        QVERIFY2(file, qPrintable(file.error()));
        m_ref = *file;
        m_cases = test::readCases(QStringLiteral("flux-tiny"));
        QVERIFY(m_cases.value(QStringLiteral("fp8")).isObject());
    }

    // A Flux transformer file with F8_E4M3 tensors (a "flux1-dev-fp8" checkpoint, BFL layout) in place of
    // the folder's transformer.
    void fp8FileMatchesDiffusers() {
        auto model = pipeline::loadModel(folder(), device(false));
        QVERIFY2(model, qPrintable(model.error()));
        torch::nn::Module* transformer = componentOf(**model, QStringLiteral("transformer"));
        QVERIFY(transformer);
        const qint64 fp32Bytes = componentRef(**model, QStringLiteral("transformer"))->bytes;

        io::SingleFileOptions options;
        options.configFolder = folder();
        auto file = pipeline::ModelSource::open(
            test::dataPath(QStringLiteral("flux-tiny/fp8/flux1-dev-tiny-fp8.safetensors")), options);
        QVERIFY2(file, qPrintable(file.error()));
        QCOMPARE(file->family(), io::ModelFamily::Flux);
        qint64 bytes = 0;
        const Status loaded = file->loadWeights(QStringLiteral("transformer"), *transformer,
                                                device(false).device, at::kFloat, &bytes);
        QVERIFY2(loaded, qPrintable(loaded.error()));

        // The file's 40 F8_E4M3 tensors (fused qkv in BFL's layout) are diffusers' 60 (to_q, to_k, to_v).
        const QSet<QString> expectedFp8 = fp8TensorNames();
        QCOMPARE(expectedFp8.size(), 60);
        const QSet<QString> kept = fp8Parameters(*transformer);
        if (io::fp8StorageAvailable()) {
            QCOMPARE(kept, expectedFp8); // 8-bit on the device, upcast per layer
            QVERIFY2(bytes < fp32Bytes / 2, qPrintable(QStringLiteral("%1 of %2").arg(bytes).arg(fp32Bytes)));
        } else {
            QVERIFY(kept.isEmpty()); // decoded when loaded
        }
        for (int index : {0, 1})
            checkCase(**model, index);
    }

    // precision "fp8": the denoiser's layers rounded to float8_e4m3fn at load, as diffusers' layerwise
    // casting does (the same tensors: norms, modulation, proj_out and embeddings kept).
    void fp8StorageMatchesDiffusers() {
        auto model = pipeline::loadModel(folder(), device(true));
        if (!io::fp8StorageAvailable()) {
            QVERIFY(!model);
            QVERIFY2(model.error().contains(QStringLiteral("needs libtorch 2.1 or newer")),
                     qPrintable(model.error()));
            return;
        }
        QVERIFY2(model, qPrintable(model.error()));
        torch::nn::Module* transformer = componentOf(**model, QStringLiteral("transformer"));
        QVERIFY(transformer);
        QCOMPARE(fp8Parameters(*transformer), fp8TensorNames());
        // Text encoders and VAE stay as they are.
        QVERIFY(fp8Parameters(*componentOf(**model, QStringLiteral("vae"))).isEmpty());
        QVERIFY(fp8Parameters(*componentOf(**model, QStringLiteral("text_encoder_2"))).isEmpty());
        for (int index : {0, 1})
            checkCase(**model, index);
    }

    // precision "fp8mm" (opt-in): the linear layers multiply in fp8 with `_scaled_mm`. Refused with a
    // reason where it cannot run (the CPU, libtorch < 2.4, GPUs before compute capability 8.9); where it
    // runs, the image stays close to the upcast path's (the input is quantised to fp8 too, so not equal).
    void fp8MatMulNearUpcast() {
        auto refused = pipeline::resolveDevice(QStringLiteral("cpu"), QStringLiteral("fp8mm"));
        QVERIFY(!refused);
        QVERIFY2(refused.error().contains(QStringLiteral("Use precision fp8")) ||
                     refused.error().contains(QStringLiteral("libtorch 2.1")),
                 qPrintable(refused.error()));
        if (!m_cuda)
            QSKIP("fp8 matrix multiplication runs on CUDA only (TWISTEDPIC_TEST_DEVICE=cuda)");
        auto mm = pipeline::resolveDevice(QStringLiteral("cuda"), QStringLiteral("fp8mm:bf16"));
        if (!mm)
            QSKIP(qPrintable(QStringLiteral("not on this GPU/libtorch: %1").arg(mm.error())));
        QVERIFY(mm->fp8Weights && mm->fp8MatMul);
        auto upcast = pipeline::resolveDevice(QStringLiteral("cuda"), QStringLiteral("fp8:bf16"));
        QVERIFY2(upcast, qPrintable(upcast.error()));
        auto mmModel = pipeline::loadModel(folder(), *mm);
        QVERIFY2(mmModel, qPrintable(mmModel.error()));
        auto upcastModel = pipeline::loadModel(folder(), *upcast);
        QVERIFY2(upcastModel, qPrintable(upcastModel.error()));
        for (int index : {0, 1}) {
            pipeline::TextToImageParams p =
                test::caseParams(m_cases.value(QStringLiteral("pipeline")).toArray().at(index).toObject());
            p.sampler = QStringLiteral("euler");
            auto a = pipeline::textToImage(**mmModel, p);
            QVERIFY2(a, qPrintable(a.error()));
            auto b = pipeline::textToImage(**upcastModel, p);
            QVERIFY2(b, qPrintable(b.error()));
            const double diff = test::maxAbs(a->images[0], b->images[0]);
            const double mean = (a->images[0] - b->images[0]).abs().mean().item<double>();
            qInfo("fp8mm case %d: image max %.3g, mean %.3g from the fp8 upcast path (bf16)", index, diff,
                  mean);
            QVERIFY2(diff > 0, "the fp8 matmul path did not run"); // it quantises the input: never equal
            QVERIFY2(mean < 0.02 && diff < 0.15,
                     qPrintable(QStringLiteral("max %1, mean %2").arg(diff).arg(mean)));
        }
    }
};

QTEST_GUILESS_MAIN(TestPipelineFp8)
#include "tst_pipeline_fp8.moc"
