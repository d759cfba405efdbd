// The flow-matching families against diffusers on their tiny fixtures (tests/data/sd3-tiny and
// flux-tiny, made by tools/reference/make_sd3_tiny.py and make_flux_tiny.py): prompt encoding
// (SD 3: CLIP-L + CLIP-G + T5 at 77 and 256 tokens, with and without T5; Flux: pooled CLIP + T5 at
// 256/512) and full text-to-image runs by seed (SD 3 with guidance 1 and > 1, negative prompts,
// without T5, non-square, the SD 3.5 transformer with qk_norm and dual attention, Heun; Flux dev
// with its guidance embedding and schnell without, several shifts and sizes).
// TWISTEDPIC_TEST_DEVICE=cuda runs the same on the GPU in float32.
#include "core/common/Json.h"
#include "core/io/SafeTensors.h"
#include "core/pipeline/ModelSource.h"
#include "core/pipeline/TextToImage.h"
#include "tests/pipeline/PipelineCases.h"
#include "tests/support/TestUtil.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <torch/cuda.h>

#include <map>

using namespace tp;

namespace {
constexpr double kEncodeTolerance = 1e-4;
constexpr double kPipelineTolerance = 2e-3;

} // namespace

class TestPipelineFlow final : public QObject {
    Q_OBJECT

    struct Fixture {
        std::shared_ptr<const io::SafeTensorsFile> ref;
        QJsonObject cases;
    };
    std::map<QString, Fixture> m_fixtures;                                 // "sd3", "flux"
    std::map<QString, std::unique_ptr<pipeline::DiffusionModel>> m_models; // "sd3", "sd35", "dev", "schnell"
    QTemporaryDir m_variants;
    bool m_cuda = false;

    at::Tensor ref(const QString& fixture, const QString& name) {
        Result<at::Tensor> t = m_fixtures.at(fixture).ref->view(name);
        if (!t)
            qFatal("%s", qPrintable(t.error()));
        return *t;
    }
    void check(const QString& fixture, const char* what, const at::Tensor& actual, const QString& name,
               double tolerance) {
        const at::Tensor expected = ref(fixture, name);
        QCOMPARE(actual.sizes().vec(), expected.sizes().vec());
        const double err = test::maxAbs(actual, expected);
        qInfo("%s %s: max abs error %.3g (|max| %.3g)", qPrintable(fixture), what, err,
              expected.abs().max().item<double>());
        QVERIFY2(err <= tolerance, qPrintable(QStringLiteral("%1: %2").arg(QLatin1String(what)).arg(err)));
    }
    Result<std::unique_ptr<pipeline::DiffusionModel>> load(const QString& folder) {
        return pipeline::loadModel(folder, test::float32Device(m_cuda));
    }

private Q_SLOTS:
    void initTestCase() {
        const test::TestDevice where = test::testDevice();
        if (where == test::TestDevice::CudaMissing)
            QSKIP("TWISTEDPIC_TEST_DEVICE=cuda but no CUDA device");
        m_cuda = where == test::TestDevice::Cuda;
        pipeline::initCpuRuntime();
        for (const auto& [key, dir] : {std::pair{QStringLiteral("sd3"), QStringLiteral("sd3-tiny")},
                                       std::pair{QStringLiteral("flux"), QStringLiteral("flux-tiny")}}) {
            auto file =
                io::SafeTensorsFile::open(test::dataPath(dir + QStringLiteral("/reference.safetensors")));
            QVERIFY2(file, qPrintable(file.error()));
            QFile cases(test::dataPath(dir + QStringLiteral("/cases.json")));
            QVERIFY(cases.open(QIODevice::ReadOnly));
            m_fixtures[key] = Fixture{*file, parseJson(cases.readAll()).object()};
        }
        QVERIFY(m_variants.isValid());
        const QString sd3 = test::dataPath(QStringLiteral("sd3-tiny/pipeline"));
        const QString flux = test::dataPath(QStringLiteral("flux-tiny/pipeline"));
        const QString sd35 = m_variants.filePath(QStringLiteral("sd35"));
        const QString schnell = m_variants.filePath(QStringLiteral("schnell"));
        QVERIFY(test::linkVariant(
            sd3, {{QStringLiteral("transformer"), test::dataPath(QStringLiteral("sd3-tiny/transformer_35"))}},
            sd35));
        QVERIFY(test::linkVariant(
            flux,
            {{QStringLiteral("transformer"), test::dataPath(QStringLiteral("flux-tiny/schnell/transformer"))},
             {QStringLiteral("scheduler"), test::dataPath(QStringLiteral("flux-tiny/schnell/scheduler"))}},
            schnell));
        for (const auto& [key, folder] :
             {std::pair{QStringLiteral("sd3"), sd3}, std::pair{QStringLiteral("sd35"), sd35},
              std::pair{QStringLiteral("dev"), flux}, std::pair{QStringLiteral("schnell"), schnell}}) {
            auto model = load(folder);
            QVERIFY2(model, qPrintable(model.error()));
            m_models[key] = std::move(*model);
        }
        QCOMPARE(m_models.at(QStringLiteral("sd3"))->family(), io::ModelFamily::SD3);
        QCOMPARE(m_models.at(QStringLiteral("dev"))->family(), io::ModelFamily::Flux);
    }

    void sd3EncodePrompt_data() {
        QTest::addColumn<int>("index");
        const QJsonArray cases =
            m_fixtures.at(QStringLiteral("sd3")).cases.value(QStringLiteral("encode_prompt")).toArray();
        QVERIFY(cases.size() >= 3);
        for (int k = 0; k < cases.size(); ++k)
            QTest::newRow(qPrintable(QString::number(k))) << k;
    }
    void sd3EncodePrompt() {
        QFETCH(int, index);
        const QJsonObject c = m_fixtures.at(QStringLiteral("sd3"))
                                  .cases.value(QStringLiteral("encode_prompt"))
                                  .toArray()
                                  .at(index)
                                  .toObject();
        pipeline::TextToImageParams p = test::caseParams(c);
        c10::InferenceMode guard;
        auto e = m_models.at(QStringLiteral("sd3"))->encodePrompts(p, /*guided=*/true);
        QVERIFY2(e, qPrintable(e.error()));
        const QString base = QStringLiteral("enc.%1.").arg(index);
        check(QStringLiteral("sd3"), "prompt_embeds", e->cond.context, base + QStringLiteral("prompt_embeds"),
              kEncodeTolerance);
        check(QStringLiteral("sd3"), "pooled", e->cond.pooled, base + QStringLiteral("pooled_prompt_embeds"),
              kEncodeTolerance);
        check(QStringLiteral("sd3"), "negative_prompt_embeds", e->uncond.context,
              base + QStringLiteral("negative_prompt_embeds"), kEncodeTolerance);
        check(QStringLiteral("sd3"), "negative pooled", e->uncond.pooled,
              base + QStringLiteral("negative_pooled_prompt_embeds"), kEncodeTolerance);
    }

    void fluxEncodePrompt_data() {
        QTest::addColumn<int>("index");
        const QJsonArray cases =
            m_fixtures.at(QStringLiteral("flux")).cases.value(QStringLiteral("encode_prompt")).toArray();
        QVERIFY(cases.size() >= 2);
        for (int k = 0; k < cases.size(); ++k)
            QTest::newRow(qPrintable(QString::number(k))) << k;
    }
    void fluxEncodePrompt() {
        QFETCH(int, index);
        const QJsonObject c = m_fixtures.at(QStringLiteral("flux"))
                                  .cases.value(QStringLiteral("encode_prompt"))
                                  .toArray()
                                  .at(index)
                                  .toObject();
        c10::InferenceMode guard;
        auto e = m_models.at(QStringLiteral("dev"))->encodePrompts(test::caseParams(c), /*guided=*/false);
        QVERIFY2(e, qPrintable(e.error()));
        const QString base = QStringLiteral("enc.%1.").arg(index);
        check(QStringLiteral("flux"), "prompt_embeds", e->cond.context,
              base + QStringLiteral("prompt_embeds"), kEncodeTolerance);
        check(QStringLiteral("flux"), "pooled", e->cond.pooled, base + QStringLiteral("pooled_prompt_embeds"),
              kEncodeTolerance);
    }

    void matchesDiffusers_data() {
        QTest::addColumn<QString>("fixture");
        QTest::addColumn<int>("index");
        for (const QString& fixture : {QStringLiteral("sd3"), QStringLiteral("flux")}) {
            const QJsonArray cases = m_fixtures.at(fixture).cases.value(QStringLiteral("pipeline")).toArray();
            QVERIFY(cases.size() >= 4);
            for (int k = 0; k < cases.size(); ++k) {
                const QJsonObject c = cases.at(k).toObject();
                const QString model = c.value(fixture == QLatin1String("sd3") ? QStringLiteral("transformer")
                                                                              : QStringLiteral("model"))
                                          .toString();
                QTest::newRow(qPrintable(QStringLiteral("%1 %2 %3 %4x%5")
                                             .arg(fixture)
                                             .arg(k)
                                             .arg(model)
                                             .arg(c.value(QStringLiteral("width")).toInt())
                                             .arg(c.value(QStringLiteral("height")).toInt())))
                    << fixture << k;
            }
        }
    }
    void matchesDiffusers() {
        QFETCH(QString, fixture);
        QFETCH(int, index);
        const QJsonObject c =
            m_fixtures.at(fixture).cases.value(QStringLiteral("pipeline")).toArray().at(index).toObject();
        pipeline::TextToImageParams p = test::caseParams(c);
        p.trueCfgScale = c.value(QStringLiteral("true_cfg_scale")).toDouble(1.0); // Flux's true CFG
        QString model;
        if (fixture == QLatin1String("sd3")) {
            model = c.value(QStringLiteral("transformer")).toString();
            p.sampler = c.value(QStringLiteral("scheduler")).toString(); // euler / heun
        } else {
            model = c.value(QStringLiteral("model")).toString();
            p.sampler = QStringLiteral("euler");
            p.schedulerConfig = c.value(QStringLiteral("scheduler_config")).toObject();
        }
        auto out = pipeline::textToImage(*m_models.at(model), p);
        QVERIFY2(out, qPrintable(out.error()));
        const double latentErr =
            test::maxAbs(out->latents[0], ref(fixture, QStringLiteral("pipe.%1.latents").arg(index)));
        const double imageErr =
            test::maxAbs(out->images[0], ref(fixture, QStringLiteral("pipe.%1.image").arg(index)));
        qInfo("%s case %d (%s, %dx%d, guidance %.1f, %d T5 tokens%s): latents %.3g, image %.3g",
              qPrintable(fixture), index, qPrintable(model), p.width, p.height, p.guidance,
              p.maxSequenceLength, p.withoutT5 ? ", without T5" : "", latentErr, imageErr);
        const double tolerance = m_cuda ? 1e-2 : kPipelineTolerance;
        QVERIFY2(latentErr <= tolerance, qPrintable(QString::number(latentErr)));
        QVERIFY2(imageErr <= tolerance, qPrintable(QString::number(imageErr)));
    }

    // The same tiny SD 3 model three ways, same images bit for bit: the diffusers folder; a copy whose
    // transformer and T5 are sharded (index.json + two shards each, as the 8 B models ship); the SAI
    // single file with the text encoders inside (sd3.5_large.safetensors' layout), read through the
    // folder's configs for what the shapes cannot tell.
    void shardedAndSingleFileGiveTheSameImage() {
        const QString folder = test::dataPath(QStringLiteral("sd3-tiny/pipeline"));
        const QString sharded = m_variants.filePath(QStringLiteral("sd3-sharded"));
        QVERIFY(test::linkVariant(folder,
                                  {{QStringLiteral("transformer"), sharded + QStringLiteral("-transformer")},
                                   {QStringLiteral("text_encoder_3"), sharded + QStringLiteral("-t5")}},
                                  sharded));
        for (const auto& [component, fileName] :
             {std::pair{QStringLiteral("transformer"), QStringLiteral("diffusion_pytorch_model")},
              std::pair{QStringLiteral("text_encoder_3"), QStringLiteral("model")}}) {
            const QString target =
                sharded + (component == QLatin1String("transformer") ? QStringLiteral("-transformer")
                                                                     : QStringLiteral("-t5"));
            QVERIFY(QDir().mkpath(target));
            QVERIFY(QFile::copy(QDir(folder).filePath(component + QStringLiteral("/config.json")),
                                QDir(target).filePath(QStringLiteral("config.json"))));
            auto whole = io::SafeTensorsFile::open(QDir(folder).filePath(
                component + QLatin1Char('/') + fileName + QStringLiteral(".safetensors")));
            QVERIFY2(whole, qPrintable(whole.error()));
            std::vector<std::pair<QString, at::Tensor>> halves[2];
            QJsonObject weightMap;
            const QStringList names = (*whole)->names();
            for (int i = 0; i < names.size(); ++i) {
                const int shard = i < names.size() / 2 ? 0 : 1;
                halves[shard].emplace_back(names[i], *(*whole)->view(names[i]));
                weightMap.insert(
                    names[i], QStringLiteral("%1-0000%2-of-00002.safetensors").arg(fileName).arg(shard + 1));
            }
            for (int shard = 0; shard < 2; ++shard)
                QVERIFY(io::writeSafeTensors(
                    QDir(target).filePath(
                        QStringLiteral("%1-0000%2-of-00002.safetensors").arg(fileName).arg(shard + 1)),
                    halves[shard]));
            QFile index(QDir(target).filePath(fileName + QStringLiteral(".safetensors.index.json")));
            QVERIFY(index.open(QIODevice::WriteOnly));
            index.write(QJsonDocument(QJsonObject{{QStringLiteral("metadata"), QJsonObject()},
                                                  {QStringLiteral("weight_map"), weightMap}})
                            .toJson());
        }
        auto fromShards = load(sharded);
        QVERIFY2(fromShards, qPrintable(fromShards.error()));
        io::SingleFileOptions options;
        options.configFolder = folder;
        auto single = pipeline::ModelSource::open(
            test::dataPath(QStringLiteral("sd3-tiny/single/sd3_tiny_incl_clips_t5.safetensors")), options);
        QVERIFY2(single, qPrintable(single.error()));
        QCOMPARE(single->family(), io::ModelFamily::SD3);
        auto fromFile = pipeline::loadModel(*single, test::float32Device(m_cuda));
        QVERIFY2(fromFile, qPrintable(fromFile.error()));

        const QJsonObject c = m_fixtures.at(QStringLiteral("sd3"))
                                  .cases.value(QStringLiteral("pipeline"))
                                  .toArray()
                                  .at(1)
                                  .toObject();
        pipeline::TextToImageParams p = test::caseParams(c);
        p.sampler = QStringLiteral("euler");
        auto a = pipeline::textToImage(*m_models.at(QStringLiteral("sd3")), p);
        auto b = pipeline::textToImage(**fromShards, p);
        auto s = pipeline::textToImage(**fromFile, p);
        QVERIFY2(a && b && s, qPrintable(!a ? a.error() : !b ? b.error() : s.error()));
        QVERIFY(at::equal(a->images, b->images));
        QVERIFY(at::equal(a->images, s->images));
        QVERIFY(test::maxAbs(a->images[0], ref(QStringLiteral("sd3"), QStringLiteral("pipe.1.image"))) <=
                kPipelineTolerance);
    }

    // SD 3 and Flux take sizes in steps of 16 (8x VAE, 2x2 patches); their samplers are Euler and Heun.
    void rejectsWhatTheFamilyCannotDo() {
        pipeline::TextToImageParams p;
        p.prompt = QStringLiteral("x");
        p.steps = 2;
        p.width = 72;
        p.height = 64;
        p.sampler = QStringLiteral("euler");
        auto size = pipeline::textToImage(*m_models.at(QStringLiteral("sd3")), p);
        QVERIFY(!size);
        QVERIFY2(size.error().contains(QStringLiteral("multiple of 16")), qPrintable(size.error()));
        p.width = 64;
        p.sampler = QStringLiteral("dpmpp_2m");
        auto sampler = pipeline::textToImage(*m_models.at(QStringLiteral("dev")), p);
        QVERIFY(!sampler);
        QVERIFY2(sampler.error().contains(QStringLiteral("euler or heun")), qPrintable(sampler.error()));
    }
};

QTEST_GUILESS_MAIN(TestPipelineFlow)
#include "tst_pipeline_flow.moc"
