// Single files with their companion files, as ComfyUI and Forge users keep them: BFL's Flux dev and
// schnell transformer files (tests/data/flux-tiny/single), a ComfyUI repack of dev
// (model.diffusion_model., made here from the BFL file) and an SD 3.5 file without its text
// encoders (sd3-tiny/single/sd35_tiny.safetensors), with ae.safetensors and ComfyUI's clip_l,
// clip_g and t5xxl_fp16 files (sd3-tiny/text_encoders; Flux's tiny text encoders are the same
// files), given by the caller or found in a ComfyUI-shaped folder tree, give images bit-identical
// to the diffusers folders they were converted from (tools/reference/make_flux_tiny.py,
// make_sd3_tiny.py). A missing companion is named, with where to put it.
#include "core/common/Json.h"
#include "core/io/SafeTensors.h"
#include "core/pipeline/ModelSource.h"
#include "core/pipeline/TextToImage.h"
#include "tests/pipeline/PipelineCases.h"
#include "tests/support/TestUtil.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <map>

using namespace tp;

namespace {

QString data(const QString& relative) {
    return test::dataPath(relative);
}

QString textEncoder(const char* name) {
    return data(QStringLiteral("sd3-tiny/text_encoders/") + QLatin1String(name));
}

// `from`'s tensors (those starting with `keep`, all when empty) written to `to` with `keep` replaced
// by `prefix`, in the stored dtype.
bool rewrite(const QString& from, const QString& to, const QString& keep, const QString& prefix) {
    auto file = io::SafeTensorsFile::open(from);
    if (!file)
        return false;
    std::vector<std::pair<QString, at::Tensor>> tensors;
    for (const QString& name : (*file)->names())
        if (name.startsWith(keep))
            tensors.emplace_back(prefix + name.mid(keep.size()), *(*file)->view(name));
    QDir().mkpath(QFileInfo(to).path());
    return !tensors.empty() && io::writeSafeTensors(to, tensors);
}

bool copy(const QString& from, const QString& to) {
    QDir().mkpath(QFileInfo(to).path());
    return QFile::copy(from, to);
}

QJsonObject pipelineCase(const QString& fixture, int index) {
    QFile f(data(fixture + QStringLiteral("/cases.json")));
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot read %s/cases.json", qPrintable(fixture));
    return parseJson(f.readAll()).object().value(QStringLiteral("pipeline")).toArray().at(index).toObject();
}

} // namespace

class TestPipelineCompanions final : public QObject {
    Q_OBJECT

    QTemporaryDir m_tmp;
    std::map<QString, QString> m_configFolders;                                 // "dev", "schnell", "sd35"
    std::map<QString, std::unique_ptr<pipeline::DiffusionModel>> m_fromFolders; // the same keys
    QString m_comfyRepack;

    pipeline::DiffusionModel& folderModel(const QString& key) { return *m_fromFolders.at(key); }

    static Result<std::unique_ptr<pipeline::DiffusionModel>>
    loadFile(const QString& path, const io::SingleFileOptions& options, QStringList* companions = nullptr) {
        Result<pipeline::ModelSource> source = pipeline::ModelSource::open(path, options);
        if (!source)
            return Result<std::unique_ptr<pipeline::DiffusionModel>>::fail(source.error());
        if (companions)
            *companions = source->companionFiles();
        return pipeline::loadModel(*source, test::float32Device(false));
    }

    // The file's images against the folder's, bit for bit, and the folder's against diffusers'.
    void sameImages(pipeline::DiffusionModel& fromFile, const QString& folderKey, const QString& fixture,
                    int index, bool withoutT5 = false) {
        pipeline::TextToImageParams p = test::caseParams(pipelineCase(fixture, index));
        p.sampler = QStringLiteral("euler");
        p.withoutT5 = withoutT5;
        auto a = pipeline::textToImage(folderModel(folderKey), p);
        auto b = pipeline::textToImage(fromFile, p);
        QVERIFY2(a && b, qPrintable(a ? b.error() : a.error()));
        QVERIFY(at::equal(a->latents, b->latents));
        QVERIFY(at::equal(a->images, b->images));
        if (withoutT5)
            return;
        auto ref = io::SafeTensorsFile::open(data(fixture + QStringLiteral("/reference.safetensors")));
        QVERIFY2(ref, qPrintable(ref.error()));
        const double err = (a->images[0] - *(*ref)->view(QStringLiteral("pipe.%1.image").arg(index)))
                               .abs()
                               .max()
                               .item<double>();
        qInfo("%s case %d: file + companions == folder bit for bit; folder vs diffusers %.3g",
              qPrintable(fixture), index, err);
        QVERIFY2(err <= 2e-3, qPrintable(QString::number(err)));
    }

private Q_SLOTS:
    void initTestCase() {
        pipeline::initCpuRuntime();
        QVERIFY(m_tmp.isValid());
        const QString flux = data(QStringLiteral("flux-tiny/pipeline"));
        const QString sd3 = data(QStringLiteral("sd3-tiny/pipeline"));
        m_configFolders[QStringLiteral("dev")] = flux;
        m_configFolders[QStringLiteral("schnell")] = m_tmp.filePath(QStringLiteral("schnell"));
        m_configFolders[QStringLiteral("sd35")] = m_tmp.filePath(QStringLiteral("sd35"));
        QVERIFY(test::linkVariant(
            flux,
            {{QStringLiteral("transformer"), data(QStringLiteral("flux-tiny/schnell/transformer"))},
             {QStringLiteral("scheduler"), data(QStringLiteral("flux-tiny/schnell/scheduler"))}},
            m_configFolders[QStringLiteral("schnell")]));
        QVERIFY(test::linkVariant(
            sd3, {{QStringLiteral("transformer"), data(QStringLiteral("sd3-tiny/transformer_35"))}},
            m_configFolders[QStringLiteral("sd35")]));
        for (const auto& [key, folder] : m_configFolders) {
            auto model = pipeline::loadModel(folder, test::float32Device(false));
            QVERIFY2(model, qPrintable(model.error()));
            m_fromFolders[key] = std::move(*model);
        }
        // ComfyUI's repack of BFL's file: the same tensors under model.diffusion_model.
        m_comfyRepack = m_tmp.filePath(QStringLiteral("flux1-dev-tiny-comfy.safetensors"));
        QVERIFY(rewrite(data(QStringLiteral("flux-tiny/single/flux1-dev-tiny.safetensors")), m_comfyRepack,
                        QString(), QStringLiteral("model.diffusion_model.")));
    }

    // The must-show: a BFL-layout single file and a diffusers folder of the same tiny model
    // give bit-identical images; so do the ComfyUI repack and schnell.
    void fluxFileWithGivenCompanions_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("model");
        QTest::addColumn<int>("index");
        const QString dev = data(QStringLiteral("flux-tiny/single/flux1-dev-tiny.safetensors"));
        QTest::newRow("BFL dev, 64x64, 512 tokens") << dev << "dev" << 0;
        QTest::newRow("BFL dev, 96x64, 256 tokens") << dev << "dev" << 1;
        QTest::newRow("ComfyUI repack of dev, 128x128") << QString() << "dev" << 2;
        QTest::newRow("BFL schnell") << data(
                                            QStringLiteral("flux-tiny/single/flux1-schnell-tiny.safetensors"))
                                     << "schnell" << 5;
    }
    void fluxFileWithGivenCompanions() {
        QFETCH(QString, file);
        QFETCH(QString, model);
        QFETCH(int, index);
        if (file.isEmpty())
            file = m_comfyRepack;
        io::SingleFileOptions options;
        options.configFolder = m_configFolders.at(model); // the tiny model's head counts and RoPE axes
        options.textEncoderFiles = {textEncoder("t5xxl_fp16.safetensors"), textEncoder("clip_l.safetensors")};
        options.vaeFile = data(QStringLiteral("flux-tiny/single/ae.safetensors"));
        options.findCompanions = false;
        QStringList companions;
        auto fromFile = loadFile(file, options, &companions);
        QVERIFY2(fromFile, qPrintable(fromFile.error()));
        QCOMPARE(companions.size(), 3);
        QCOMPARE((*fromFile)->family(), io::ModelFamily::Flux);
        QCOMPARE((*fromFile)->weightBytes(), folderModel(model).weightBytes());
        sameImages(**fromFile, model, QStringLiteral("flux-tiny"), index);
    }

    // sd35_tiny.safetensors holds the transformer and the VAE; ComfyUI's clip_l, clip_g and t5xxl
    // complete it. Without the T5 file it runs as the folder does without T5.
    void sd3FileWithGivenTextEncoders() {
        io::SingleFileOptions options;
        options.configFolder = m_configFolders.at(QStringLiteral("sd35"));
        options.findCompanions = false;
        options.textEncoderFiles = {textEncoder("clip_g.safetensors"), textEncoder("clip_l.safetensors"),
                                    textEncoder("t5xxl_fp16.safetensors")};
        const QString file = data(QStringLiteral("sd3-tiny/single/sd35_tiny.safetensors"));
        auto full = loadFile(file, options);
        QVERIFY2(full, qPrintable(full.error()));
        QCOMPARE((*full)->weightBytes(), folderModel(QStringLiteral("sd35")).weightBytes());
        sameImages(**full, QStringLiteral("sd35"), QStringLiteral("sd3-tiny"), 7);
        sameImages(**full, QStringLiteral("sd35"), QStringLiteral("sd3-tiny"), 8);

        options.textEncoderFiles.removeLast();
        auto noT5 = loadFile(file, options);
        QVERIFY2(noT5, qPrintable(noT5.error()));
        QVERIFY((*noT5)->weightBytes() < (*full)->weightBytes());
        sameImages(**noT5, QStringLiteral("sd35"), QStringLiteral("sd3-tiny"), 7, /*withoutT5=*/true);
    }

    // Nothing given: the companions are found in a ComfyUI tree (models/diffusion_models,
    // models/text_encoders, models/vae) by their contents; a decoy CLIP-G is not taken for Flux's
    // CLIP-L, nor an SD 3 VAE for Flux's.
    void foundInAComfyUiTree() {
        const QString models = m_tmp.filePath(QStringLiteral("ComfyUI/models"));
        const QString file = models + QStringLiteral("/diffusion_models/flux1-dev-tiny.safetensors");
        QVERIFY(copy(data(QStringLiteral("flux-tiny/single/flux1-dev-tiny.safetensors")), file));
        QVERIFY(copy(textEncoder("clip_g.safetensors"),
                     models + QStringLiteral("/text_encoders/clip_g.safetensors")));
        QVERIFY(copy(textEncoder("clip_l.safetensors"),
                     models + QStringLiteral("/text_encoders/clip_l.safetensors")));
        QVERIFY(copy(textEncoder("t5xxl_fp16.safetensors"),
                     models + QStringLiteral("/text_encoders/t5xxl_fp16.safetensors")));
        QVERIFY(rewrite(data(QStringLiteral("sd3-tiny/single/sd35_tiny.safetensors")),
                        models + QStringLiteral("/vae/sd3_vae.safetensors"),
                        QStringLiteral("first_stage_model."), QString()));
        io::SingleFileOptions options;
        options.configFolder = m_configFolders.at(QStringLiteral("dev"));

        // Without ae.safetensors the SD 3 VAE is not taken: the message says what to put where.
        QStringList companions;
        auto missing = loadFile(file, options);
        QVERIFY(!missing);
        QVERIFY2(missing.error().contains(QStringLiteral("flux1-dev-tiny.safetensors holds only the Flux "
                                                         "transformer, not the VAE (ae.safetensors)")),
                 qPrintable(missing.error()));
        QVERIFY2(
            missing.error().contains(QStringLiteral("put the VAE in %1/vae or next to the file").arg(models)),
            qPrintable(missing.error()));

        QVERIFY(copy(data(QStringLiteral("flux-tiny/single/ae.safetensors")),
                     models + QStringLiteral("/vae/ae.safetensors")));
        auto found = loadFile(file, options, &companions);
        QVERIFY2(found, qPrintable(found.error()));
        companions.sort();
        QCOMPARE(companions, (QStringList{models + QStringLiteral("/text_encoders/clip_l.safetensors"),
                                          models + QStringLiteral("/text_encoders/t5xxl_fp16.safetensors"),
                                          models + QStringLiteral("/vae/ae.safetensors")}));
        sameImages(**found, QStringLiteral("dev"), QStringLiteral("flux-tiny"), 0);
    }

    // A Forge tree (models/Stable-diffusion, models/text_encoder, models/VAE) and the SD 3 file with
    // its text encoders next to it.
    void foundInForgeTreeAndSameFolder() {
        const QString forge = m_tmp.filePath(QStringLiteral("forge/models"));
        const QString flux = forge + QStringLiteral("/Stable-diffusion/flux1-schnell-tiny.safetensors");
        QVERIFY(copy(data(QStringLiteral("flux-tiny/single/flux1-schnell-tiny.safetensors")), flux));
        QVERIFY(copy(data(QStringLiteral("flux-tiny/single/ae.safetensors")),
                     forge + QStringLiteral("/VAE/ae.safetensors")));
        // Renamed files are recognised by their tensors.
        QVERIFY(copy(textEncoder("clip_l.safetensors"),
                     forge + QStringLiteral("/text_encoder/clip-vit-l.safetensors")));
        QVERIFY(copy(textEncoder("t5xxl_fp16.safetensors"),
                     forge + QStringLiteral("/text_encoder/t5-v1_1-xxl.safetensors")));
        io::SingleFileOptions options;
        options.configFolder = m_configFolders.at(QStringLiteral("schnell"));
        QStringList companions;
        auto schnell = loadFile(flux, options, &companions);
        QVERIFY2(schnell, qPrintable(schnell.error()));
        QCOMPARE(companions.size(), 3);
        sameImages(**schnell, QStringLiteral("schnell"), QStringLiteral("flux-tiny"), 6);

        const QString folder = m_tmp.filePath(QStringLiteral("one-folder"));
        const QString sd3 = folder + QStringLiteral("/sd35_tiny.safetensors");
        QVERIFY(copy(data(QStringLiteral("sd3-tiny/single/sd35_tiny.safetensors")), sd3));
        for (const char* name : {"clip_l.safetensors", "clip_g.safetensors", "t5xxl_fp16.safetensors"})
            QVERIFY(copy(textEncoder(name), folder + QLatin1Char('/') + QLatin1String(name)));
        options.configFolder = m_configFolders.at(QStringLiteral("sd35"));
        auto sd35 = loadFile(sd3, options, &companions);
        QVERIFY2(sd35, qPrintable(sd35.error()));
        QCOMPARE(companions.size(), 3);
        sameImages(**sd35, QStringLiteral("sd35"), QStringLiteral("sd3-tiny"), 8);
    }

    // A given file that is not what it is given as is refused, saying so.
    void givenFilesAreChecked() {
        io::SingleFileOptions options;
        options.configFolder = m_configFolders.at(QStringLiteral("dev"));
        options.findCompanions = false;
        const QString file = data(QStringLiteral("flux-tiny/single/flux1-dev-tiny.safetensors"));
        options.textEncoderFiles = {textEncoder("clip_l.safetensors"),
                                    data(QStringLiteral("flux-tiny/single/ae.safetensors"))};
        auto vaeAsText = loadFile(file, options);
        QVERIFY(!vaeAsText);
        QVERIFY2(vaeAsText.error().contains(QStringLiteral("ae.safetensors is a VAE, not a text encoder")),
                 qPrintable(vaeAsText.error()));
        options.textEncoderFiles = {textEncoder("clip_l.safetensors"), textEncoder("t5xxl_fp16.safetensors")};
        options.vaeFile = textEncoder("clip_g.safetensors");
        auto textAsVae = loadFile(file, options);
        QVERIFY(!textAsVae);
        QVERIFY2(textAsVae.error().contains(
                     QStringLiteral("clip_g.safetensors is a CLIP-G text encoder, not a VAE")),
                 qPrintable(textAsVae.error()));
        options.vaeFile = data(QStringLiteral("flux-tiny/single/ae.safetensors"));
        options.textEncoderFiles = {textEncoder("clip_g.safetensors"), textEncoder("t5xxl_fp16.safetensors")};
        auto wrongClip = loadFile(file, options);
        QVERIFY(!wrongClip);
        QVERIFY2(wrongClip.error().contains(
                     QStringLiteral("clip_g.safetensors (CLIP-G) is not used: Flux models take one "
                                    "CLIP-L and one T5-XXL")),
                 qPrintable(wrongClip.error()));
    }
};

QTEST_GUILESS_MAIN(TestPipelineCompanions)
#include "tst_pipeline_companions.moc"
