// ModelFolder (diffusers folders) and ModelCatalogue (bundled, search paths, Hugging Face cache).
#include "core/io/ModelCatalogue.h"
#include "core/io/ModelFolder.h"
#include "tests/io/FakeCheckpoints.h"
#include "tests/io/FakeModels.h"
#include "tests/support/TestUtil.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>

#include <QtTest>
#include <limits>

using namespace tp::io;
using namespace tp::test;

Q_DECLARE_METATYPE(tp::test::FakeFamily)
Q_DECLARE_METATYPE(tp::io::ModelFamily)

namespace {

// Restores an environment variable when the test ends.
struct EnvGuard {
    QByteArray name, old;
    bool had;
    EnvGuard(const char* n, const QString& value)
        : name(n)
        , old(qgetenv(n))
        , had(qEnvironmentVariableIsSet(n)) {
        if (value.isNull())
            qunsetenv(n);
        else
            qputenv(n, value.toUtf8());
    }
    ~EnvGuard() {
        if (had)
            qputenv(name.constData(), old);
        else
            qunsetenv(name.constData());
    }
};

const ModelInfo* byName(const ModelCatalogue& c, const QString& name) {
    for (const ModelInfo& m : c.models())
        if (m.name == name)
            return &m;
    return nullptr;
}

} // namespace

class TestModels final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // Python's json writes non-finite floats as bare tokens; diffusers saves DPM-Solver configs so.
    void readsPythonNonFiniteNumbers() {
        QTemporaryDir tmp;
        const QString path = tmp.filePath(QStringLiteral("scheduler_config.json"));
        QVERIFY(writeText(path, "{\"lambda_min_clipped\": -Infinity, \"x\": NaN, \"y\": Infinity, "
                                "\"s\": \"NaN -Infinity \\\" Infinity\"}"));
        const tp::Result<QJsonObject> cfg = readJsonObject(path);
        QVERIFY2(cfg, qPrintable(cfg.error()));
        QCOMPARE(cfg->value(QStringLiteral("lambda_min_clipped")).toDouble(),
                 -std::numeric_limits<double>::max());
        QVERIFY(cfg->value(QStringLiteral("x")).isNull());
        QCOMPARE(cfg->value(QStringLiteral("y")).toDouble(), std::numeric_limits<double>::max());
        QCOMPARE(cfg->value(QStringLiteral("s")).toString(), QStringLiteral("NaN -Infinity \" Infinity"));
    }

    // Per-model defaults: the Python original's settings per family, distilled variants by name.
    // "auto" and "fp8" follow the family (bf16 where fp16 overflows); explicit words stay.
    void familyPrecision() {
        using tp::io::ModelFamily;
        QCOMPARE(tp::io::familyPrecision(QStringLiteral("auto"), ModelFamily::SD3), QStringLiteral("bf16"));
        QCOMPARE(tp::io::familyPrecision(QString(), ModelFamily::Flux), QStringLiteral("bf16"));
        QCOMPARE(tp::io::familyPrecision(QStringLiteral("auto"), ModelFamily::SDXL), QStringLiteral("fp16"));
        QCOMPARE(tp::io::familyPrecision(QStringLiteral("fp8"), ModelFamily::Flux), QStringLiteral("fp8:bf16"));
        QCOMPARE(tp::io::familyPrecision(QStringLiteral("fp8"), ModelFamily::SD1), QStringLiteral("fp8:fp16"));
        QCOMPARE(tp::io::familyPrecision(QStringLiteral("fp32"), ModelFamily::Flux), QStringLiteral("fp32"));
    }

    void modelDefaults_data() {
        QTest::addColumn<ModelFamily>("family");
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("native");
        QTest::addColumn<int>("steps");
        QTest::addColumn<double>("guidance");
        QTest::addColumn<QString>("sampler");
        QTest::addColumn<QSize>("size");
        QTest::addColumn<bool>("negative");
        QTest::newRow("sd15") << ModelFamily::SD1 << "runwayml/stable-diffusion-v1-5" << 512 << 20 << 7.5
                              << "euler_a" << QSize(512, 512) << true;
        QTest::newRow("sdxl") << ModelFamily::SDXL << "stabilityai/stable-diffusion-xl-base-1.0" << 1024 << 30
                              << 7.5 << "euler" << QSize(1024, 1024) << true;
        QTest::newRow("sdxl-turbo") << ModelFamily::SDXL << "stabilityai/sdxl-turbo" << 512 << 4 << 0.0
                                    << "euler_a" << QSize(512, 512) << false;
        QTest::newRow("sd35-large") << ModelFamily::SD3 << "stabilityai/stable-diffusion-3.5-large" << 1024 << 28
                                    << 4.5 << "euler" << QSize(1024, 768) << true;
        QTest::newRow("sd35-large-turbo") << ModelFamily::SD3 << "stabilityai/stable-diffusion-3.5-large-turbo"
                                          << 1024 << 4 << 0.0 << "euler" << QSize(1024, 768) << false;
        QTest::newRow("sd35-medium") << ModelFamily::SD3 << "stabilityai/stable-diffusion-3.5-medium" << 1024 << 40
                                     << 4.5 << "euler" << QSize(1024, 1024) << true;
        QTest::newRow("flux-dev") << ModelFamily::Flux << "black-forest-labs/FLUX.1-dev" << 0 << 25 << 3.5
                                  << "euler" << QSize(1024, 1024) << false;
        QTest::newRow("flux-schnell") << ModelFamily::Flux << "black-forest-labs/FLUX.1-schnell" << 0 << 4 << 0.0
                                      << "euler" << QSize(1024, 1024) << false;
    }
    void modelDefaults() {
        QFETCH(ModelFamily, family);
        QFETCH(QString, name);
        QFETCH(int, native);
        QFETCH(int, steps);
        QFETCH(double, guidance);
        QFETCH(QString, sampler);
        QFETCH(QSize, size);
        QFETCH(bool, negative);
        const GenerationDefaults d = tp::io::modelDefaults(family, name, {}, native);
        QCOMPARE(d.steps, steps);
        QCOMPARE(d.guidance, guidance);
        QCOMPARE(d.sampler, sampler);
        QCOMPARE(QSize(d.width, d.height), size);
        QCOMPARE(d.negativePrompt, negative);
        QVERIFY(familyTraits(family).samplers.contains(d.sampler));
        QVERIFY(familyTraits(family).sizePresets.contains(size) || native > 0);
    }

    // ---------------------------------------------------------------- ModelFolder

    void fixtureFolderIsSd1() {
        const QString dir = dataPath(QStringLiteral("sd15-tiny/pipeline"));
        const auto m = ModelFolder::open(dir);
        QVERIFY2(m, qPrintable(m.error()));
        QCOMPARE(m->pipelineClass(), QStringLiteral("StableDiffusionPipeline"));
        QCOMPARE(m->family(), ModelFamily::SD1);
        QVERIFY2(m->supported(), qPrintable(m->problem()));
        QCOMPARE(m->componentNames(),
                 (QStringList{QStringLiteral("scheduler"), QStringLiteral("text_encoder"),
                              QStringLiteral("tokenizer"), QStringLiteral("unet"), QStringLiteral("vae")}));
        const ModelComponent* unet = m->component(QStringLiteral("unet"));
        QVERIFY(unet);
        QCOMPARE(unet->className, QStringLiteral("UNet2DConditionModel"));
        QCOMPARE(unet->folder, QFileInfo(dir).absoluteFilePath() + QStringLiteral("/unet"));
        QCOMPARE(unet->library, QStringLiteral("diffusers"));
        QCOMPARE(QFileInfo(unet->weightsPath).fileName(),
                 QStringLiteral("diffusion_pytorch_model.safetensors"));
        QCOMPARE(unet->weightFiles, QStringList{unet->weightsPath});
        QCOMPARE(unet->config.value(QLatin1String("cross_attention_dim")).toInt(), 32);
        QVERIFY(!unet->fp16Variant);
        QCOMPARE(QFileInfo(m->component(QStringLiteral("text_encoder"))->weightsPath).fileName(),
                 QStringLiteral("model.safetensors"));
        const ModelComponent* tok = m->component(QStringLiteral("tokenizer"));
        QVERIFY(!tok->hasWeights());
        QCOMPARE(QFileInfo(tok->configPath).fileName(), QStringLiteral("tokenizer_config.json"));
        QCOMPARE(QFileInfo(m->component(QStringLiteral("scheduler"))->configPath).fileName(),
                 QStringLiteral("scheduler_config.json"));
        QCOMPARE(
            m->component(QStringLiteral("scheduler"))->config.value(QLatin1String("_class_name")).toString(),
            QStringLiteral("PNDMScheduler"));
        QCOMPARE(m->component(QStringLiteral("safety_checker")), nullptr);

        // Every file of the fixture counts (configs, tokenizer files, weights).
        QCOMPARE(m->sizeOnDisk(), totalFileSize(dir));
        const auto w = m->inspectWeights();
        QVERIFY2(w, qPrintable(w.error()));
        QCOMPARE(w->precision, QStringLiteral("fp32"));
        QVERIFY(w->tensorBytes > 10'000'000);
        QCOMPARE(w->bytesByDType.value(DType::F32), w->tensorBytes);
    }

    void detectsFamily_data() {
        QTest::addColumn<QString>("cls");
        QTest::addColumn<int>("cross");
        QTest::addColumn<int>("hidden");
        QTest::addColumn<QString>("act");
        QTest::addColumn<QString>("family");
        QTest::newRow("sd1 by cross") << "StableDiffusionPipeline" << 768 << 0 << ""
                                      << "SD 1.x";
        QTest::newRow("sd2 by cross") << "StableDiffusionPipeline" << 1024 << 768 << "quick_gelu"
                                      << "SD 2.x";
        QTest::newRow("sd2 by hidden") << "StableDiffusionPipeline" << 0 << 1024 << ""
                                       << "SD 2.x";
        QTest::newRow("sd1 by hidden") << "StableDiffusionPipeline" << 32 << 768 << "gelu"
                                       << "SD 1.x";
        QTest::newRow("sd2 by act") << "StableDiffusionPipeline" << 32 << 32 << "gelu"
                                    << "SD 2.x";
        QTest::newRow("tiny quick_gelu") << "StableDiffusionPipeline" << 32 << 32 << "quick_gelu"
                                         << "SD 1.x";
        QTest::newRow("img2img") << "StableDiffusionImg2ImgPipeline" << 1024 << 0 << ""
                                 << "SD 2.x";
        QTest::newRow("sdxl") << "StableDiffusionXLPipeline" << 2048 << 0 << ""
                              << "SDXL";
        QTest::newRow("sd3") << "StableDiffusion3Pipeline" << 0 << 0 << ""
                             << "SD 3.x";
        QTest::newRow("flux") << "FluxPipeline" << 0 << 0 << ""
                              << "Flux";
        QTest::newRow("kandinsky") << "KandinskyV22Pipeline" << 0 << 0 << ""
                                   << "unknown";
    }

    void detectsFamily() {
        QFETCH(QString, cls);
        QFETCH(int, cross);
        QFETCH(int, hidden);
        QFETCH(QString, act);
        QFETCH(QString, family);
        QJsonObject unet, te;
        if (cross)
            unet.insert(QStringLiteral("cross_attention_dim"), cross);
        if (hidden)
            te.insert(QStringLiteral("hidden_size"), hidden);
        if (!act.isEmpty())
            te.insert(QStringLiteral("hidden_act"), act);
        QCOMPARE(familyName(detectFamily(cls, unet, te)), family);
    }

    void fakeFamilies_data() {
        QTest::addColumn<FakeFamily>("family");
        QTest::addColumn<QString>("name");
        QTest::addColumn<bool>("supported");
        QTest::addColumn<QString>("problem");
        QTest::newRow("sd1") << FakeFamily::SD1 << "SD 1.x" << true << "";
        QTest::newRow("sd2") << FakeFamily::SD2 << "SD 2.x" << true << "";
        QTest::newRow("sdxl") << FakeFamily::SDXL << "SDXL" << true << "";
        QTest::newRow("sd3") << FakeFamily::SD3 << "SD 3.x" << true << "";
        QTest::newRow("flux") << FakeFamily::Flux << "Flux" << true << "";
    }

    void fakeFamilies() {
        QFETCH(FakeFamily, family);
        QFETCH(QString, name);
        QFETCH(bool, supported);
        QFETCH(QString, problem);
        QTemporaryDir tmp;
        QVERIFY(makeFakeModel(tmp.path(), family));
        const auto m = ModelFolder::open(tmp.path());
        QVERIFY2(m, qPrintable(m.error()));
        QCOMPARE(familyName(m->family()), name);
        QCOMPARE(m->supported(), supported);
        QCOMPARE(m->problem(), problem);
        QCOMPARE(m->sizeOnDisk(), totalFileSize(tmp.path()));
        QCOMPARE(m->inspectWeights()->precision, QStringLiteral("fp32"));
    }

    void weightChoice() {
        QTemporaryDir tmp;
        FakeModelOptions o;
        o.withFp16Variant = true;
        QVERIFY(makeFakeModel(tmp.path(), FakeFamily::SD1, o));
        auto m = ModelFolder::open(tmp.path());
        QVERIFY2(m, qPrintable(m.error()));
        QCOMPARE(QFileInfo(m->component(QStringLiteral("vae"))->weightsPath).fileName(),
                 QStringLiteral("diffusion_pytorch_model.safetensors"));
        QCOMPARE(m->inspectWeights()->precision, QStringLiteral("fp32"));
        // Only the chosen files count toward the size.
        QVERIFY(m->sizeOnDisk() < totalFileSize(tmp.path()));

        m = ModelFolder::open(tmp.path(), ModelFolderOptions{true});
        QVERIFY2(m, qPrintable(m.error()));
        const ModelComponent* vae = m->component(QStringLiteral("vae"));
        QCOMPARE(QFileInfo(vae->weightsPath).fileName(),
                 QStringLiteral("diffusion_pytorch_model.fp16.safetensors"));
        QVERIFY(vae->fp16Variant);
        QCOMPARE(QFileInfo(m->component(QStringLiteral("text_encoder"))->weightsPath).fileName(),
                 QStringLiteral("model.fp16.safetensors"));
        QCOMPARE(m->inspectWeights()->precision, QStringLiteral("fp16"));

        QTemporaryDir only;
        o = {};
        o.fp16VariantOnly = true;
        QVERIFY(makeFakeModel(only.path(), FakeFamily::SD1, o));
        m = ModelFolder::open(only.path());
        QVERIFY2(m, qPrintable(m.error()));
        QVERIFY(m->component(QStringLiteral("vae"))->fp16Variant);
        QCOMPARE(m->inspectWeights()->precision, QStringLiteral("fp16"));
    }

    void shardedWeights() {
        QTemporaryDir tmp;
        FakeModelOptions o;
        o.shardedUnet = true;
        QVERIFY(makeFakeModel(tmp.path(), FakeFamily::SD1, o));
        auto m = ModelFolder::open(tmp.path());
        QVERIFY2(m, qPrintable(m.error()));
        const ModelComponent* unet = m->component(QStringLiteral("unet"));
        QCOMPARE(QFileInfo(unet->weightsPath).fileName(),
                 QStringLiteral("diffusion_pytorch_model.safetensors.index.json"));
        QCOMPARE(unet->weightFiles.size(), 2);
        QVERIFY(m->files().contains(unet->weightsPath));
        QCOMPARE(m->sizeOnDisk(), totalFileSize(tmp.path()));

        QVERIFY(QFile::remove(
            QDir(tmp.path())
                .filePath(QStringLiteral("unet/diffusion_pytorch_model-00002-of-00002.safetensors"))));
        m = ModelFolder::open(tmp.path());
        QVERIFY(!m);
        QVERIFY2(m.error().contains(
                     QStringLiteral("unet/diffusion_pytorch_model.safetensors.index.json names the shard "
                                    "diffusion_pytorch_model-00002-of-00002.safetensors, which is missing")),
                 qPrintable(m.error()));
    }

    void mixedPrecision() {
        QTemporaryDir tmp;
        FakeModelOptions o;
        o.dtype = QStringLiteral("F16");
        o.vaeDtype = QStringLiteral("F32");
        QVERIFY(makeFakeModel(tmp.path(), FakeFamily::SD1, o));
        QCOMPARE(ModelFolder::open(tmp.path())->inspectWeights()->precision, QStringLiteral("mixed"));
        QTemporaryDir bf;
        o = {};
        o.dtype = QStringLiteral("BF16");
        QVERIFY(makeFakeModel(bf.path(), FakeFamily::SD1, o));
        QCOMPARE(ModelFolder::open(bf.path())->inspectWeights()->precision, QStringLiteral("bf16"));
    }

    void inpaintingIsNotSupported() {
        QTemporaryDir tmp;
        FakeModelOptions o;
        o.unetInChannels = 9;
        QVERIFY(makeFakeModel(tmp.path(), FakeFamily::SD1, o));
        const auto m = ModelFolder::open(tmp.path());
        QVERIFY2(m, qPrintable(m.error()));
        QCOMPARE(m->family(), ModelFamily::SD1);
        QVERIFY(!m->supported());
        QVERIFY2(m->problem().contains(QStringLiteral("UNet takes 9 input channels but the VAE makes 4")),
                 qPrintable(m->problem()));
    }

    void folderErrors_data() {
        QTest::addColumn<QString>("damage");
        QTest::addColumn<QString>("message");
        QTest::newRow("no model_index") << "rm model_index.json"
                                        << "has no model_index.json: it is not a diffusers model folder";
        QTest::newRow("bad model_index") << "garble model_index.json"
                                         << "model_index.json: invalid JSON";
        QTest::newRow("model_index array") << "array model_index.json"
                                           << "model_index.json: expected a JSON object";
        QTest::newRow("bad unet config") << "garble unet/config.json"
                                         << "unet/config.json: invalid JSON";
        QTest::newRow("no unet config") << "rm unet/config.json"
                                        << "unet/config.json is missing";
        QTest::newRow("no vae folder") << "rmdir vae"
                                       << "lists the component 'vae', but the folder vae/ is missing";
        QTest::newRow("pickle only")
            << "pickle unet"
            << "unet/ has only PyTorch pickle weights (diffusion_pytorch_model.bin). PyTorch "
               "pickle weights are not loaded for safety; convert to safetensors.";
        QTest::newRow("no weights") << "rm unet/diffusion_pytorch_model.safetensors"
                                    << "unet/ has no weights";
        QTest::newRow("dangling link")
            << "dangle vae/diffusion_pytorch_model.safetensors"
            << "vae/diffusion_pytorch_model.safetensors is a link to a file that does not exist";
    }

    void folderErrors() {
        QFETCH(QString, damage);
        QFETCH(QString, message);
        QTemporaryDir tmp;
        QVERIFY(makeFakeModel(tmp.path(), FakeFamily::SD1));
        const QDir d(tmp.path());
        const QString what = damage.section(QLatin1Char(' '), 0, 0);
        const QString file = d.filePath(damage.section(QLatin1Char(' '), 1));
        if (what == QLatin1String("rm")) {
            QVERIFY(QFile::remove(file));
        } else if (what == QLatin1String("garble")) {
            QVERIFY(writeText(file, "{\"a\": "));
        } else if (what == QLatin1String("array")) {
            QVERIFY(writeText(file, "[1]"));
        } else if (what == QLatin1String("rmdir")) {
            QVERIFY(QDir(file).removeRecursively());
        } else if (what == QLatin1String("pickle")) {
            QVERIFY(QFile::rename(file + QStringLiteral("/diffusion_pytorch_model.safetensors"),
                                  file + QStringLiteral("/diffusion_pytorch_model.bin")));
        } else if (what == QLatin1String("dangle")) {
            QVERIFY(QFile::remove(file));
            QVERIFY(QFile::link(QStringLiteral("../../blobs/gone"), file));
        }
        const auto m = ModelFolder::open(tmp.path());
        QVERIFY(!m);
        QVERIFY2(m.error().contains(message), qPrintable(m.error()));
    }

    void optionalComponentsMayBeMissing() {
        QTemporaryDir tmp;
        QVERIFY(makeFakeModel(tmp.path(), FakeFamily::SD1));
        QVERIFY(QDir(QDir(tmp.path()).filePath(QStringLiteral("feature_extractor"))).removeRecursively());
        const auto m = ModelFolder::open(tmp.path());
        QVERIFY2(m, qPrintable(m.error()));
        QVERIFY(m->supported());
        QCOMPARE(m->notes(),
                 QStringList{QStringLiteral("feature_extractor/ is missing (optional, left out)")});
    }

    void damagedWeightsFailInspection() {
        QTemporaryDir tmp;
        QVERIFY(makeFakeModel(tmp.path(), FakeFamily::SD1));
        QVERIFY(
            writeText(QDir(tmp.path()).filePath(QStringLiteral("vae/diffusion_pytorch_model.safetensors")),
                      "garbage!"));
        const auto m = ModelFolder::open(tmp.path());
        QVERIFY2(m, qPrintable(m.error()));
        const auto w = m->inspectWeights();
        QVERIFY(!w);
        QVERIFY2(w.error().startsWith(QStringLiteral("vae/diffusion_pytorch_model.safetensors: ")),
                 qPrintable(w.error()));
    }

    // ---------------------------------------------------------------- ModelCatalogue

    void hfCacheDirFromEnvironment() {
        {
            EnvGuard hub("HF_HUB_CACHE", QStringLiteral("/x/hub-cache"));
            EnvGuard home("HF_HOME", QStringLiteral("/y/hf-home"));
            QCOMPARE(ModelCatalogue::defaultHfCacheDir(), QStringLiteral("/x/hub-cache"));
        }
        {
            EnvGuard hub("HF_HUB_CACHE", QString());
            EnvGuard home("HF_HOME", QStringLiteral("/y/hf-home"));
            QCOMPARE(ModelCatalogue::defaultHfCacheDir(), QStringLiteral("/y/hf-home/hub"));
        }
        {
            EnvGuard hub("HF_HUB_CACHE", QString());
            EnvGuard home("HF_HOME", QString());
            QCOMPARE(ModelCatalogue::defaultHfCacheDir(),
                     QDir::homePath() + QStringLiteral("/.cache/huggingface/hub"));
        }
    }

    void repoIds() {
        QCOMPARE(repoIdFromCacheFolder(QStringLiteral("models--stabilityai--stable-diffusion-3.5-large")),
                 QStringLiteral("stabilityai/stable-diffusion-3.5-large"));
        QCOMPARE(repoIdFromCacheFolder(QStringLiteral("models--gpt2")), QStringLiteral("gpt2"));
        QCOMPARE(repoIdFromCacheFolder(QStringLiteral("datasets--a--b")), QString());
        QCOMPARE(formatSize(512), QStringLiteral("512 B"));
        QCOMPARE(formatSize(3 * 1024 * 1024 + 512 * 1024), QStringLiteral("3.5 MiB"));
        QCOMPARE(formatSize(qint64(2) << 30), QStringLiteral("2.0 GiB"));
    }

    void scansHfCache() {
        QTemporaryDir tmp;
        const QDir t(tmp.path());
        const QString cache = t.filePath(QStringLiteral("hub"));
        struct Entry {
            const char* repo;
            FakeFamily family;
            FakeModelOptions options;
        };
        FakeModelOptions fp16;
        fp16.dtype = QStringLiteral("F16");
        FakeModelOptions sharded;
        sharded.shardedUnet = true;
        const std::vector<Entry> entries{
            {"runwayml/stable-diffusion-v1-5", FakeFamily::SD1, fp16},
            {"stabilityai/stable-diffusion-2-1", FakeFamily::SD2, {}},
            {"stabilityai/stable-diffusion-xl-base-1.0", FakeFamily::SDXL, fp16},
            {"stabilityai/stable-diffusion-3.5-large", FakeFamily::SD3, sharded},
            {"black-forest-labs/FLUX.1-schnell", FakeFamily::Flux, sharded},
        };
        QHash<QString, qint64> expectedSize;
        for (const Entry& e : entries) {
            const QString staging = t.filePath(QStringLiteral("staging/") + QLatin1String(e.repo));
            QVERIFY(makeFakeModel(staging, e.family, e.options));
            expectedSize.insert(QLatin1String(e.repo), totalFileSize(staging));
            const QString snap =
                addToFakeHfCache(cache, QLatin1String(e.repo), staging, QStringLiteral("1234abcd"));
            QVERIFY(!snap.isEmpty());
            QVERIFY(QFileInfo(QDir(snap).filePath(QStringLiteral("unet/config.json"))).isSymLink() ||
                    QFileInfo(QDir(snap).filePath(QStringLiteral("transformer/config.json"))).isSymLink());
        }
        // A language model (no model_index.json) is not listed.
        QVERIFY(QDir().mkpath(t.filePath(QStringLiteral("llm"))));
        QVERIFY(writeJson(t.filePath(QStringLiteral("llm/config.json")),
                          QJsonObject{{QStringLiteral("model_type"), QStringLiteral("llama")}}));
        QVERIFY(!addToFakeHfCache(cache, QStringLiteral("meta/llama"), t.filePath(QStringLiteral("llm")),
                                  QStringLiteral("r1"))
                     .isEmpty());
        // No refs/main, two snapshots: the newest is used.
        const QString oldStaging = t.filePath(QStringLiteral("staging/old"));
        const QString newStaging = t.filePath(QStringLiteral("staging/new"));
        QVERIFY(makeFakeModel(oldStaging, FakeFamily::SD2));
        QVERIFY(makeFakeModel(newStaging, FakeFamily::SD1));
        const QString oldSnap = addToFakeHfCache(cache, QStringLiteral("org/two-snapshots"), oldStaging,
                                                 QStringLiteral("aaaa"), false);
        QTest::qWait(1100); // distinct modification times
        const QString newSnap = addToFakeHfCache(cache, QStringLiteral("org/two-snapshots"), newStaging,
                                                 QStringLiteral("bbbb"), false);
        QVERIFY(!oldSnap.isEmpty() && !newSnap.isEmpty());
        // An interrupted download: the UNet's blob is gone.
        const QString brokenStaging = t.filePath(QStringLiteral("staging/broken"));
        QVERIFY(makeFakeModel(brokenStaging, FakeFamily::SD1));
        const QString brokenSnap =
            addToFakeHfCache(cache, QStringLiteral("org/broken"), brokenStaging, QStringLiteral("cccc"));
        QVERIFY(QFile::remove(
            QFileInfo(QDir(brokenSnap).filePath(QStringLiteral("unet/diffusion_pytorch_model.safetensors")))
                .symLinkTarget()));

        const ModelCatalogue c = ModelCatalogue::scan({}, {}, cache);
        QCOMPARE(c.models().size(), 7);
        // Nothing bundled: the first supported model (names sort: black-forest-labs, org/broken,
        // org/two-snapshots; every family runs now).
        QVERIFY(c.defaultModel());
        QCOMPARE(c.defaultModel()->name, QStringLiteral("black-forest-labs/FLUX.1-schnell"));
        QCOMPARE(c.searched().size(), 1);
        QCOMPARE(c.searched().first().kind, QStringLiteral("hf-cache"));
        QVERIFY(c.searched().first().exists);

        const ModelInfo* sd15 = byName(c, QStringLiteral("runwayml/stable-diffusion-v1-5"));
        QVERIFY(sd15);
        QCOMPARE(sd15->repoId, QStringLiteral("runwayml/stable-diffusion-v1-5"));
        QCOMPARE(sd15->family, QStringLiteral("SD 1.x"));
        QVERIFY(sd15->supported);
        QCOMPARE(sd15->problem, QString());
        QCOMPARE(sd15->source, QStringLiteral("hf-cache"));
        QCOMPARE(sd15->precision, QStringLiteral("fp16"));
        QCOMPARE(sd15->folder, QDir(cache).filePath(QStringLiteral(
                                   "models--runwayml--stable-diffusion-v1-5/snapshots/1234abcd")));
        // Sizes follow the links into blobs/ (symbolic links themselves are a few bytes).
        QCOMPARE(sd15->sizeBytes, expectedSize.value(QStringLiteral("runwayml/stable-diffusion-v1-5")));

        const ModelInfo* sd21 = byName(c, QStringLiteral("stabilityai/stable-diffusion-2-1"));
        QCOMPARE(sd21->family, QStringLiteral("SD 2.x"));
        QVERIFY(sd21->supported);
        QCOMPARE(sd21->precision, QStringLiteral("fp32"));

        for (const char* repo :
             {"stabilityai/stable-diffusion-xl-base-1.0", "stabilityai/stable-diffusion-3.5-large",
              "black-forest-labs/FLUX.1-schnell"}) {
            const ModelInfo* m = byName(c, QLatin1String(repo));
            QVERIFY2(m, repo);
            QVERIFY2(m->supported, qPrintable(m->problem));
            QCOMPARE(m->problem, QString());
            QCOMPARE(m->sizeBytes, expectedSize.value(QLatin1String(repo)));
        }
        QCOMPARE(byName(c, QStringLiteral("stabilityai/stable-diffusion-3.5-large"))->family,
                 QStringLiteral("SD 3.x"));
        QCOMPARE(byName(c, QStringLiteral("black-forest-labs/FLUX.1-schnell"))->family,
                 QStringLiteral("Flux"));
        QCOMPARE(byName(c, QStringLiteral("stabilityai/stable-diffusion-xl-base-1.0"))->precision,
                 QStringLiteral("fp16"));

        const ModelInfo* two = byName(c, QStringLiteral("org/two-snapshots"));
        QVERIFY(two);
        QCOMPARE(two->folder, newSnap);
        QCOMPARE(two->family, QStringLiteral("SD 1.x"));

        const ModelInfo* broken = byName(c, QStringLiteral("org/broken"));
        QVERIFY(broken);
        QVERIFY(!broken->supported);
        QCOMPARE(broken->family, QStringLiteral("SD 1.x"));
        QVERIFY2(broken->problem.contains(
                     QStringLiteral("unet/diffusion_pytorch_model.safetensors is a link to a file "
                                    "that does not exist")),
                 qPrintable(broken->problem));
        QVERIFY(!byName(c, QStringLiteral("meta/llama")));

        // find(): repo ids (any case), cache folder names, snapshot paths.
        QCOMPARE(c.find(QStringLiteral("StabilityAI/Stable-Diffusion-2-1"))->name,
                 QStringLiteral("stabilityai/stable-diffusion-2-1"));
        QCOMPARE(c.find(QStringLiteral("models--black-forest-labs--FLUX.1-schnell"))->family,
                 QStringLiteral("Flux"));
        QCOMPARE(c.find(sd15->folder)->name, sd15->name);
        QCOMPARE(c.find(QStringLiteral("nope/nothing")), nullptr);
        QCOMPARE(c.resolve(QStringLiteral("runwayml/stable-diffusion-v1-5"))->folder, sd15->folder);
        const auto none = c.resolve(QStringLiteral("nope/nothing"));
        QVERIFY(!none);
        QVERIFY2(none.error().contains(QStringLiteral("No model named 'nope/nothing'. Known: ")),
                 qPrintable(none.error()));
        QVERIFY(none.error().contains(QStringLiteral("runwayml/stable-diffusion-v1-5")));
        qInfo("scanned %d cache entries in %lld ms", int(c.models().size()), c.scanMilliseconds());
    }

    void scansBundledAndSearchPaths() {
        QTemporaryDir tmp;
        const QDir t(tmp.path());
        // bundled/default-model; search path A is a model folder itself; B holds two models and a
        // folder that is not a model; C does not exist; the fixture is a search path too.
        QVERIFY(makeFakeModel(t.filePath(QStringLiteral("bundled/default-model")), FakeFamily::SD1));
        QVERIFY(makeFakeModel(t.filePath(QStringLiteral("a")), FakeFamily::SD2));
        QVERIFY(makeFakeModel(t.filePath(QStringLiteral("b/zeta")), FakeFamily::SDXL));
        QVERIFY(makeFakeModel(t.filePath(QStringLiteral("b/alpha")), FakeFamily::SD1));
        QVERIFY(QDir().mkpath(t.filePath(QStringLiteral("b/notes"))));
        QVERIFY(makeFakeModel(t.filePath(QStringLiteral("b/broken")), FakeFamily::SD1));
        QVERIFY(writeText(t.filePath(QStringLiteral("b/broken/model_index.json")), "{oops"));
        const QString fixture = dataPath(QStringLiteral("sd15-tiny/pipeline"));

        const QStringList search{t.filePath(QStringLiteral("a")), t.filePath(QStringLiteral("b")),
                                 t.filePath(QStringLiteral("c")), fixture, t.filePath(QStringLiteral("a"))};
        const ModelCatalogue c = ModelCatalogue::scan(search, {t.filePath(QStringLiteral("bundled"))},
                                                      t.filePath(QStringLiteral("no-cache")));
        QStringList names;
        for (const ModelInfo& m : c.models())
            names << m.name;
        QCOMPARE(names,
                 (QStringList{QStringLiteral("default-model"), QStringLiteral("a"), QStringLiteral("alpha"),
                              QStringLiteral("broken"), QStringLiteral("zeta"), QStringLiteral("pipeline")}));
        QCOMPARE(c.models().first().source, QStringLiteral("bundled"));
        QCOMPARE(c.models().at(1).source, QStringLiteral("folder"));

        const ModelInfo* broken = byName(c, QStringLiteral("broken"));
        QVERIFY(!broken->supported);
        QCOMPARE(broken->family, QStringLiteral("unknown"));
        QVERIFY2(broken->problem.contains(QStringLiteral("model_index.json: invalid JSON")),
                 qPrintable(broken->problem));
        QVERIFY(broken->sizeBytes > 0);

        const ModelInfo* pipeline = byName(c, QStringLiteral("pipeline"));
        QCOMPARE(pipeline->family, QStringLiteral("SD 1.x"));
        QCOMPARE(pipeline->precision, QStringLiteral("fp32"));
        QVERIFY(pipeline->supported);
        QCOMPARE(pipeline->sizeBytes, totalFileSize(fixture));
        QCOMPARE(byName(c, QStringLiteral("a"))->family, QStringLiteral("SD 2.x"));

        // Where it looked: bundled, five search paths (one missing), the cache (missing).
        QCOMPARE(c.searched().size(), 7);
        QCOMPARE(c.searched().at(0).kind, QStringLiteral("bundled"));
        QCOMPARE(c.searched().at(3).path, t.filePath(QStringLiteral("c")));
        QVERIFY(!c.searched().at(3).exists);
        QCOMPARE(c.searched().last().kind, QStringLiteral("hf-cache"));
        QVERIFY(!c.searched().last().exists);

        // find(): names, paths of folders outside the catalogue, and non-model folders.
        QCOMPARE(c.find(QStringLiteral("ALPHA"))->folder, t.filePath(QStringLiteral("b/alpha")));
        QCOMPARE(c.find(t.filePath(QStringLiteral("b/alpha"))), &c.models().at(2));
        QCOMPARE(c.defaultModel(), &c.models().first());
        QVERIFY(QDir().mkpath(t.filePath(QStringLiteral("elsewhere"))));
        QVERIFY(makeFakeModel(t.filePath(QStringLiteral("elsewhere/extra")), FakeFamily::SD2));
        QCOMPARE(c.find(t.filePath(QStringLiteral("elsewhere/extra"))), nullptr);
        const auto extra = c.resolve(t.filePath(QStringLiteral("elsewhere/extra")));
        QVERIFY2(extra, qPrintable(extra.error()));
        QCOMPARE(extra->family, QStringLiteral("SD 2.x"));
        QCOMPARE(extra->source, QStringLiteral("folder"));
        const auto notModel = c.resolve(t.filePath(QStringLiteral("b/notes")));
        QVERIFY(!notModel);
        QVERIFY(notModel.error().contains(QStringLiteral("has no model_index.json")));
    }

    // A1111's models/Stable-diffusion/: single files, in subfolders too, listed from their
    // headers; pickles listed as not supported; a single file can be a search path itself.
    void scansSingleFiles() {
        QTemporaryDir tmp;
        const QDir t(tmp.path());
        const QString sd = t.filePath(QStringLiteral("Stable-diffusion"));
        QVERIFY(QDir().mkpath(sd + QStringLiteral("/xl")));
        FakeCheckpointOptions fp32;
        fp32.dtype = QStringLiteral("F32");
        QVERIFY(writeSparseSafeTensors(sd + QStringLiteral("/v1-5-pruned-emaonly.safetensors"),
                                       fakeCheckpointTensors(FakeCheckpointKind::SD1, fp32)));
        QVERIFY(writeSparseSafeTensors(sd + QStringLiteral("/v2-1_768-ema-pruned.safetensors"),
                                       fakeCheckpointTensors(FakeCheckpointKind::SD2)));
        QVERIFY(writeSparseSafeTensors(sd + QStringLiteral("/xl/sd_xl_base_1.0.safetensors"),
                                       fakeCheckpointTensors(FakeCheckpointKind::SDXL)));
        QVERIFY(writeSparseSafeTensors(sd + QStringLiteral("/xl/sd_xl_refiner_1.0.safetensors"),
                                       fakeCheckpointTensors(FakeCheckpointKind::SDXLRefiner)));
        QVERIFY(writeText(sd + QStringLiteral("/old-model.ckpt"), "PK\x03\x04"));
        QVERIFY(writeText(sd + QStringLiteral("/cut.safetensors"),
                          QByteArray("\xff\x00\x00\x00\x00\x00\x00\x00{}", 10)));
        QVERIFY(writeText(sd + QStringLiteral("/notes.txt"), "not a model"));
        QVERIFY(makeFakeModel(sd + QStringLiteral("/diffusers-model"), FakeFamily::SD1));
        const QString lone = t.filePath(QStringLiteral("elsewhere.safetensors"));
        QVERIFY(writeSparseSafeTensors(lone, fakeCheckpointTensors(FakeCheckpointKind::SD1)));

        const ModelCatalogue c =
            ModelCatalogue::scan({sd, lone, sd}, {}, t.filePath(QStringLiteral("no-cache")));
        QStringList names;
        for (const ModelInfo& m : c.models())
            names << m.name;
        QCOMPARE(names,
                 (QStringList{QStringLiteral("cut"), QStringLiteral("old-model"),
                              QStringLiteral("v1-5-pruned-emaonly"), QStringLiteral("v2-1_768-ema-pruned"),
                              QStringLiteral("diffusers-model"), QStringLiteral("sd_xl_base_1.0"),
                              QStringLiteral("sd_xl_refiner_1.0"), QStringLiteral("elsewhere")}));

        const ModelInfo* sd1 = byName(c, QStringLiteral("v1-5-pruned-emaonly"));
        QCOMPARE(sd1->format, QStringLiteral("single-file"));
        QCOMPARE(sd1->family, QStringLiteral("SD 1.x"));
        QVERIFY2(sd1->supported, qPrintable(sd1->problem));
        QCOMPARE(sd1->precision, QStringLiteral("fp32"));
        QCOMPARE(sd1->folder, sd + QStringLiteral("/v1-5-pruned-emaonly.safetensors"));
        QCOMPARE(sd1->sizeBytes, QFileInfo(sd1->folder).size());
        QCOMPARE(sd1->nativeSize, 512);
        QCOMPARE(sd1->source, QStringLiteral("folder"));
        const ModelInfo* sd2 = byName(c, QStringLiteral("v2-1_768-ema-pruned"));
        QCOMPARE(sd2->family, QStringLiteral("SD 2.x"));
        QCOMPARE(sd2->nativeSize, 768);
        QCOMPARE(sd2->precision, QStringLiteral("fp16"));
        const ModelInfo* xl = byName(c, QStringLiteral("sd_xl_base_1.0"));
        QCOMPARE(xl->family, QStringLiteral("SDXL"));
        QCOMPARE(xl->supported, familySupported(ModelFamily::SDXL));
        const ModelInfo* refiner = byName(c, QStringLiteral("sd_xl_refiner_1.0"));
        QVERIFY(!refiner->supported);
        QVERIFY(refiner->problem.contains(QStringLiteral("SDXL refiner")));
        const ModelInfo* pickle = byName(c, QStringLiteral("old-model"));
        QCOMPARE(pickle->format, QStringLiteral("pickle"));
        QVERIFY(!pickle->supported);
        QVERIFY2(pickle->problem.contains(QStringLiteral("pickle checkpoints are not supported")) &&
                     pickle->problem.contains(QStringLiteral("convert it to .safetensors")),
                 qPrintable(pickle->problem));
        const ModelInfo* cut = byName(c, QStringLiteral("cut"));
        QVERIFY(!cut->supported);
        QVERIFY2(cut->problem.contains(QStringLiteral("cut.safetensors")) &&
                     cut->problem.contains(QStringLiteral("truncated or damaged")),
                 qPrintable(cut->problem));
        QCOMPARE(byName(c, QStringLiteral("diffusers-model"))->format, QStringLiteral("diffusers"));

        // find() and resolve() take checkpoint paths; resolve() reads one outside the catalogue.
        QCOMPARE(c.find(sd + QStringLiteral("/xl/sd_xl_base_1.0.safetensors")), xl);
        QCOMPARE(c.find(QStringLiteral("v1-5-pruned-emaonly")), sd1);
        const QString outside = t.filePath(QStringLiteral("later.safetensors"));
        QVERIFY(writeSparseSafeTensors(outside, fakeCheckpointTensors(FakeCheckpointKind::SD2)));
        const auto later = c.resolve(outside);
        QVERIFY2(later, qPrintable(later.error()));
        QCOMPARE(later->family, QStringLiteral("SD 2.x"));
        QCOMPARE(later->format, QStringLiteral("single-file"));
        QCOMPARE(ModelCatalogue::inspect(outside, QStringLiteral("folder")).family, QStringLiteral("SD 2.x"));
    }

    void nothingFound() {
        QTemporaryDir tmp;
        const ModelCatalogue c = ModelCatalogue::scan({tmp.filePath(QStringLiteral("x"))}, {}, tmp.path());
        QVERIFY(c.isEmpty());
        QCOMPARE(c.searched().size(), 2);
        QCOMPARE(c.defaultModel(), nullptr);
        const auto f = c.resolve(QStringLiteral("anything"));
        QVERIFY(!f);
        QVERIFY(f.error().contains(QStringLiteral("No models were found.")));
    }
};

QTEST_GUILESS_MAIN(TestModels)
#include "tst_models.moc"
