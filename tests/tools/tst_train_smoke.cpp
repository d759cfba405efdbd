// twistedpic-train --smoke: both stages learn, the folder it writes loads back through the
// engine's readers, and a resumed run ends where an uninterrupted one does.
#include "core/io/SafeTensors.h"
#include "core/nn/AutoencoderKL.h"
#include "core/nn/ClipTextModel.h"
#include "core/nn/UNet2DCondition.h"
#include "core/nn/WeightLoader.h"
#include "core/text/ClipTokenizer.h"
#include "tests/support/TestUtil.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace tp;

namespace {

QString trainer() {
    return test::binaryPath(QStringLiteral("tools/train/twistedpic-train"));
}

// Column `name` of a CSV written by the trainer.
QVector<double> column(const QString& path, const QString& name) {
    QFile f(path);
    QVector<double> values;
    if (!f.open(QIODevice::ReadOnly))
        return values;
    const QList<QByteArray> lines = f.readAll().trimmed().split('\n');
    const int index = QString::fromUtf8(lines.value(0)).split(QLatin1Char(',')).indexOf(name);
    for (int i = 1; i < lines.size() && index >= 0; ++i)
        values.append(lines[i].split(',').value(index).toDouble());
    return values;
}

QJsonObject readJson(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

QByteArray fileBytes(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

class TestTrainSmoke final : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString m_model;
    QString m_work;

    test::ProcessResult train(const QString& model, const QString& work, const QStringList& extra = {}) {
        const QStringList args =
            QStringList{
                QStringLiteral("--smoke"), QStringLiteral("--out"), model, QStringLiteral("--work"), work,
                QStringLiteral("--seed"),  QStringLiteral("7")} +
            extra;
        test::ProcessResult r = test::runProcess(trainer(), args, {}, 240000);
        if (r.exitCode != 0)
            qWarning("%s\n%s", qPrintable(r.out), qPrintable(r.err));
        return r;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(QFile::exists(trainer()));
        m_model = m_dir.filePath(QStringLiteral("model"));
        m_work = m_dir.filePath(QStringLiteral("work"));
        const test::ProcessResult r = train(m_model, m_work);
        QVERIFY(r.finished);
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains(QStringLiteral("eval (2 prompts")));
    }

    void bothStagesLearn() {
        const QVector<double> vae = column(m_work + QStringLiteral("/vae_loss.csv"), QStringLiteral("loss"));
        const QVector<double> unet =
            column(m_work + QStringLiteral("/unet_loss.csv"), QStringLiteral("mse_loss"));
        QCOMPARE(vae.size(), 6); // every 5 of 30 steps
        QCOMPARE(unet.size(), 6);
        qInfo("vae loss %.4f -> %.4f, unet mse %.4f -> %.4f", vae.first(), vae.last(), unet.first(),
              unet.last());
        QVERIFY(vae.last() <
                0.85 * vae.first()); // 30 steps of a tiny autoencoder: a clear fall, not convergence
        QVERIFY(unet.last() < 0.8 * unet.first());
        for (double v : vae + unet)
            QVERIFY(std::isfinite(v));
    }

    void folderLoadsBack() {
        const QDir d(m_model);
        const QJsonObject index = readJson(d.filePath(QStringLiteral("model_index.json")));
        QCOMPARE(index.value(QStringLiteral("_class_name")).toString(),
                 QStringLiteral("StableDiffusionPipeline"));
        QCOMPARE(index.value(QStringLiteral("unet")).toArray().at(1).toString(),
                 QStringLiteral("UNet2DConditionModel"));
        const QJsonObject sched = readJson(d.filePath(QStringLiteral("scheduler/scheduler_config.json")));
        QCOMPARE(sched.value(QStringLiteral("beta_schedule")).toString(), QStringLiteral("scaled_linear"));
        QCOMPARE(sched.value(QStringLiteral("steps_offset")).toInt(), 1);

        auto tokenizer = text::ClipTokenizer::load(d.filePath(QStringLiteral("tokenizer")));
        QVERIFY2(tokenizer.isOk(), qPrintable(tokenizer.error()));

        auto teConfig = nn::ClipTextConfig::fromFile(d.filePath(QStringLiteral("text_encoder/config.json")));
        auto unetConfig = nn::UNet2DConditionConfig::fromFile(d.filePath(QStringLiteral("unet/config.json")));
        auto vaeConfig = nn::AutoencoderKLConfig::fromFile(d.filePath(QStringLiteral("vae/config.json")));
        QVERIFY2(teConfig.isOk(), qPrintable(teConfig.error()));
        QVERIFY2(unetConfig.isOk(), qPrintable(unetConfig.error()));
        QVERIFY2(vaeConfig.isOk(), qPrintable(vaeConfig.error()));
        QCOMPARE(teConfig->vocabSize, int64_t(tokenizer->vocabSize()));
        QCOMPARE(teConfig->eosTokenId, int64_t(tokenizer->eosId()));
        QVERIFY(vaeConfig->scalingFactor > 0.0);
        const QJsonObject vaeJson = readJson(d.filePath(QStringLiteral("vae/config.json")));
        QCOMPARE(vaeJson.value(QStringLiteral("latent_rgb_factors")).toArray().size(), 4);
        QCOMPARE(vaeJson.value(QStringLiteral("latent_rgb_factors")).toArray().at(0).toArray().size(), 3);
        QCOMPARE(vaeJson.value(QStringLiteral("latent_rgb_bias")).toArray().size(), 3);

        nn::ClipTextModel te(*teConfig);
        nn::UNet2DCondition unet(*unetConfig);
        nn::AutoencoderKL vae(*vaeConfig);
        const struct {
            torch::nn::Module* module;
            const char* file;
        } parts[] = {{te.get(), "text_encoder/model.safetensors"},
                     {unet.get(), "unet/diffusion_pytorch_model.safetensors"},
                     {vae.get(), "vae/diffusion_pytorch_model.safetensors"}};
        for (const auto& part : parts) {
            auto weights = io::SafeTensorsArchive::open(d.filePath(QLatin1String(part.file)));
            QVERIFY2(weights.isOk(), qPrintable(weights.error()));
            QCOMPARE(weights->dominantDType(), io::DType::F16);
            QCOMPARE(weights->metadata().value(QStringLiteral("format")), QStringLiteral("pt"));
            nn::LoadReport report;
            const Status s =
                nn::loadWeights(*part.module, *weights, QString(), at::kCPU, at::kFloat, &report);
            QVERIFY2(s.isOk(), qPrintable(s.error()));
            QVERIFY(report.unexpected.isEmpty());
        }

        // One denoising call and one decode with the loaded weights give finite numbers.
        c10::InferenceMode inference;
        const auto ids = tokenizer->tokenize(QStringLiteral("a red circle on a blue background"), 77).ids;
        const at::Tensor idTensor = at::tensor(ids, at::TensorOptions().dtype(at::kLong)).view({1, -1});
        const at::Tensor context = te->forward(idTensor).lastHiddenState;
        const int64_t latent = unetConfig->sampleSize;
        const at::Tensor x = at::randn({1, 4, latent, latent});
        const at::Tensor eps = unet->forward(x, at::tensor(500.0), context);
        QCOMPARE(eps.sizes(), x.sizes());
        const at::Tensor image = vae->decode(x / vaeConfig->scalingFactor);
        QCOMPARE(image.size(2), latent * vaeConfig->downscaleFactor());
        QVERIFY(at::isfinite(eps).all().item<bool>() && at::isfinite(image).all().item<bool>());
        QVERIFY(QFile::exists(m_work + QStringLiteral("/samples.png")));
    }

    void resumeEndsWhereAStraightRunEnds() {
        // Stop the UNet stage early, then resume to the full length: same weights, bit for bit.
        const QString model = m_dir.filePath(QStringLiteral("resumed"));
        const QString work = m_dir.filePath(QStringLiteral("resumed-work"));
        test::ProcessResult first =
            train(model, work, {QStringLiteral("--stop-after"), QStringLiteral("20")});
        QCOMPARE(first.exitCode, 0);
        QVERIFY(first.out.contains(QStringLiteral("stopped after UNet step 20")));
        QVERIFY(!QFile::exists(model + QStringLiteral("/unet/diffusion_pytorch_model.safetensors")));
        test::ProcessResult second = train(model, work, {QStringLiteral("--resume")});
        QCOMPARE(second.exitCode, 0);
        QVERIFY(second.out.contains(QStringLiteral("unet: resumed at step 20")));
        QVERIFY(second.out.contains(QStringLiteral("vae: resumed at step 30")));
        for (const char* file : {"unet/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
                                 "vae/diffusion_pytorch_model.safetensors", "vae/config.json"})
            QVERIFY2(fileBytes(model + QLatin1Char('/') + QLatin1String(file)) ==
                         fileBytes(m_model + QLatin1Char('/') + QLatin1String(file)),
                     file);
        const QVector<double> steps = column(work + QStringLiteral("/unet_loss.csv"), QStringLiteral("step"));
        QCOMPARE(steps, (QVector<double>{5, 10, 15, 20, 25, 30}));
    }
};

QTEST_GUILESS_MAIN(TestTrainSmoke)
#include "tst_train_smoke.moc"
