// `twistedpic-cli models` run as a process against a fake Hugging Face cache.
#include "tests/io/FakeCheckpoints.h"
#include "tests/io/FakeModels.h"
#include "tests/support/TestUtil.h"

#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace tp::test;

class TestCliModels final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_cache;

    ProcessResult models(const QStringList& extra, const QString& cache, const QStringList& env = {}) {
        return runProcess(
            binaryPath(QStringLiteral("app/twistedpic-cli")),
            QStringList{QStringLiteral("--config"), m_dir.filePath(QStringLiteral("cli.conf")),
                        QStringLiteral("models")} +
                extra,
            QStringList{QStringLiteral("HF_HUB_CACHE=") + cache,
                        QStringLiteral("TWISTEDPIC_DATA_DIR=") + m_dir.filePath(QStringLiteral("data")),
                        QStringLiteral("XDG_STATE_HOME=") + m_dir.filePath(QStringLiteral("state"))} +
                env);
    }

    // The source tree's resources/models is always among the bundled folders; once the project
    // ships a default model there, "nothing found" cannot happen.
    static bool sourceTreeHasBundledModels() {
        const QDir d(QStringLiteral(TP_SOURCE_DIR "/resources/models"));
        for (const QString& sub : d.entryList(QDir::Dirs | QDir::NoDotAndDotDot))
            if (QFileInfo::exists(d.filePath(sub + QStringLiteral("/model_index.json"))))
                return true;
        return false;
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        const QDir t(m_dir.path());
        m_cache = t.filePath(QStringLiteral("hub"));
        FakeModelOptions fp16;
        fp16.dtype = QStringLiteral("F16");
        QVERIFY(makeFakeModel(t.filePath(QStringLiteral("s/sd15")), FakeFamily::SD1, fp16));
        QVERIFY(!addToFakeHfCache(m_cache, QStringLiteral("runwayml/stable-diffusion-v1-5"),
                                  t.filePath(QStringLiteral("s/sd15")),
                                  QStringLiteral("39593d5650112b4cc580433f6b0435385882d819"))
                     .isEmpty());
        QVERIFY(makeFakeModel(t.filePath(QStringLiteral("s/flux")), FakeFamily::Flux));
        FakeModelOptions inpainting;
        inpainting.unetInChannels = 9;
        QVERIFY(makeFakeModel(t.filePath(QStringLiteral("s/inpaint")), FakeFamily::SD1, inpainting));
        QVERIFY(!addToFakeHfCache(m_cache, QStringLiteral("runwayml/stable-diffusion-inpainting"),
                                  t.filePath(QStringLiteral("s/inpaint")),
                                  QStringLiteral("51388a731f57604945fddd703ecb5c50e8e7b49d"))
                     .isEmpty());
        QVERIFY(!addToFakeHfCache(m_cache, QStringLiteral("black-forest-labs/FLUX.1-dev"),
                                  t.filePath(QStringLiteral("s/flux")),
                                  QStringLiteral("0ef5fff789c832c5c7f4e127f94c8b54bbcced44"))
                     .isEmpty());
    }

    void table() {
        const ProcessResult r = models({}, m_cache);
        QVERIFY2(r.finished, qPrintable(r.err));
        QCOMPARE(r.exitCode, 0);
        const QStringList lines = r.out.split(QLatin1Char('\n'));
        QVERIFY2(lines.first().startsWith(QStringLiteral("NAME")), qPrintable(r.out));
        QVERIFY(lines.first().contains(QStringLiteral("FAMILY")));
        const QString sd = *std::find_if(lines.begin(), lines.end(), [](const QString& l) {
            return l.startsWith(QStringLiteral("runwayml/stable-diffusion-v1-5 "));
        });
        QVERIFY2(
            sd.contains(QRegularExpression(QStringLiteral("SD 1\\.x +yes +[0-9.]+ KiB +fp16 +hf-cache +/"))),
            qPrintable(sd));
        QVERIFY(sd.endsWith(QStringLiteral("snapshots/39593d5650112b4cc580433f6b0435385882d819")));
        QVERIFY2(
            r.out.contains(QRegularExpression(QStringLiteral("black-forest-labs/FLUX.1-dev +Flux +yes "))),
            qPrintable(r.out));
        // What cannot run is listed with the reason below it.
        QVERIFY2(r.out.contains(QRegularExpression(
                     QStringLiteral("runwayml/stable-diffusion-inpainting +SD 1\\.x +no "))),
                 qPrintable(r.out));
        QVERIFY2(r.out.contains(QStringLiteral("an inpainting or image-editing model")), qPrintable(r.out));
        // The bundled model is listed first, as the default, when the source tree ships it.
        const bool bundled = sourceTreeHasBundledModels();
        QVERIFY2(r.out.contains(bundled ? QStringLiteral("3 supported.") : QStringLiteral("2 supported.")),
                 qPrintable(r.out));
        if (bundled)
            QVERIFY2(lines.value(1).startsWith(QStringLiteral("twistedpic-shapes ")) &&
                         lines.value(1).contains(QStringLiteral("bundled")),
                     qPrintable(r.out));
    }

    void json() {
        const ProcessResult r = models({QStringLiteral("--json")}, m_cache);
        QCOMPARE(r.exitCode, 0);
        QJsonParseError err{};
        const QJsonDocument doc = QJsonDocument::fromJson(r.out.toUtf8(), &err);
        QVERIFY2(err.error == QJsonParseError::NoError, qPrintable(r.out));
        QJsonObject sd, flux;
        for (const QJsonValue v : doc.object().value(QLatin1String("models")).toArray()) {
            const QJsonObject m = v.toObject();
            if (m.value(QLatin1String("repoId")) == QLatin1String("runwayml/stable-diffusion-v1-5"))
                sd = m;
            if (m.value(QLatin1String("repoId")) == QLatin1String("black-forest-labs/FLUX.1-dev"))
                flux = m;
        }
        QCOMPARE(sd.value(QLatin1String("family")).toString(), QStringLiteral("SD 1.x"));
        QCOMPARE(sd.value(QLatin1String("supported")).toBool(), true);
        QCOMPARE(sd.value(QLatin1String("precision")).toString(), QStringLiteral("fp16"));
        QCOMPARE(sd.value(QLatin1String("source")).toString(), QStringLiteral("hf-cache"));
        QCOMPARE(qint64(sd.value(QLatin1String("sizeBytes")).toDouble()),
                 totalFileSize(QDir(m_cache).filePath(
                     QStringLiteral("models--runwayml--stable-diffusion-v1-5/snapshots"))));
        QCOMPARE(flux.value(QLatin1String("supported")).toBool(), true);
        QCOMPARE(flux.value(QLatin1String("family")).toString(), QStringLiteral("Flux"));
        const QJsonArray searched = doc.object().value(QLatin1String("searched")).toArray();
        QVERIFY(!searched.isEmpty());
        QCOMPARE(searched.last().toObject().value(QLatin1String("path")).toString(), m_cache);
        QCOMPARE(searched.first().toObject().value(QLatin1String("path")).toString(),
                 m_dir.filePath(QStringLiteral("data/models")));
    }

    void searchPathsFromSettings() {
        // models/searchPaths set through the CLI is scanned (the fixture folder is a model).
        const QString fixture = dataPath(QStringLiteral("sd15-tiny/pipeline"));
        ProcessResult r = runProcess(binaryPath(QStringLiteral("app/twistedpic-cli")),
                                     {QStringLiteral("--config"), m_dir.filePath(QStringLiteral("cli.conf")),
                                      QStringLiteral("settings"), QStringLiteral("set"),
                                      QStringLiteral("models/searchPaths"), fixture});
        QCOMPARE(r.exitCode, 0);
        r = models({}, m_cache);
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains(QRegularExpression(
                     QStringLiteral("\npipeline +SD 1\\.x +yes +[0-9.]+ MiB +fp32 +folder +"))),
                 qPrintable(r.out));
        QVERIFY(QFile::remove(m_dir.filePath(QStringLiteral("cli.conf"))));
    }

    // A folder of single-file checkpoints (A1111's models/Stable-diffusion/) as a search path.
    void singleFiles() {
        const QString folder = m_dir.filePath(QStringLiteral("Stable-diffusion"));
        QVERIFY(QDir().mkpath(folder));
        QVERIFY(writeSparseSafeTensors(folder + QStringLiteral("/v1-5-pruned-emaonly.safetensors"),
                                       fakeCheckpointTensors(FakeCheckpointKind::SD1)));
        QVERIFY(writeSparseSafeTensors(folder + QStringLiteral("/sd_xl_refiner_1.0.safetensors"),
                                       fakeCheckpointTensors(FakeCheckpointKind::SDXLRefiner)));
        QVERIFY(writeText(folder + QStringLiteral("/old.ckpt"), "PK"));
        ProcessResult r = runProcess(binaryPath(QStringLiteral("app/twistedpic-cli")),
                                     {QStringLiteral("--config"), m_dir.filePath(QStringLiteral("cli.conf")),
                                      QStringLiteral("settings"), QStringLiteral("set"),
                                      QStringLiteral("models/searchPaths"), folder});
        QCOMPARE(r.exitCode, 0);
        r = models({}, m_cache);
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains(QRegularExpression(
                     QStringLiteral("\nv1-5-pruned-emaonly +SD 1\\.x +yes +[0-9.]+ MiB "
                                    "+fp16 +folder +%1/v1-5-pruned-emaonly\\.safetensors\n")
                         .arg(QRegularExpression::escape(folder)))),
                 qPrintable(r.out));
        QVERIFY2(r.out.contains(
                     QRegularExpression(QStringLiteral("\nsd_xl_refiner_1\\.0 +SDXL +no .*\n    An SDXL "
                                                       "refiner checkpoint"))),
                 qPrintable(r.out));
        QVERIFY2(
            r.out.contains(QStringLiteral("    PyTorch pickle checkpoints are not supported (loading one can "
                                          "run code): convert it to .safetensors.\n")),
            qPrintable(r.out));
        r = models({QStringLiteral("--json")}, m_cache);
        QCOMPARE(r.exitCode, 0);
        bool found = false;
        for (const QJsonValue v :
             QJsonDocument::fromJson(r.out.toUtf8()).object().value(QLatin1String("models")).toArray())
            if (v.toObject().value(QLatin1String("name")).toString() ==
                QLatin1String("v1-5-pruned-emaonly")) {
                found = true;
                QCOMPARE(v.toObject().value(QLatin1String("format")).toString(),
                         QStringLiteral("single-file"));
                QCOMPARE(v.toObject().value(QLatin1String("family")).toString(), QStringLiteral("SD 1.x"));
            }
        QVERIFY(found);
        QVERIFY(QFile::remove(m_dir.filePath(QStringLiteral("cli.conf"))));
    }

    // A ComfyUI models/ folder: the Flux transformer file is usable with the text encoder and VAE
    // files beside it (listed under it), which are not listed as models; a lone one says what it lacks.
    void singleFilesWithCompanions() {
        FakeDitOptions d;
        d.prefix.clear();
        d.hidden = 256;
        d.headDim = 128;
        d.clipLWidth = 768;
        d.t5Width = 4096;
        const std::vector<FakeTensor> all = fakeFluxTensors(d);
        const QString root = m_dir.filePath(QStringLiteral("ComfyUI/models"));
        const auto write = [&](const QString& relative, const QString& keep, bool strip) {
            std::vector<FakeTensor> out;
            for (const FakeTensor& t : all) {
                const bool part = t.name.startsWith(QLatin1String("text_encoders.")) ||
                                  t.name.startsWith(QLatin1String("first_stage_model."));
                if (keep.isEmpty() ? !part : t.name.startsWith(keep))
                    out.push_back({strip ? t.name.mid(keep.size()) : t.name, t.dtype, t.shape});
            }
            QDir().mkpath(QFileInfo(root + relative).path());
            return writeSparseSafeTensors(root + relative, out);
        };
        QVERIFY(write(QStringLiteral("/diffusion_models/flux1-dev.safetensors"), QString(), false));
        QVERIFY(write(QStringLiteral("/checkpoints/flux1-schnell.safetensors"), QString(), false));
        QVERIFY(write(QStringLiteral("/text_encoders/clip_l.safetensors"),
                      QStringLiteral("text_encoders.clip_l.transformer."), true));
        QVERIFY(write(QStringLiteral("/text_encoders/t5xxl_fp16.safetensors"),
                      QStringLiteral("text_encoders.t5xxl.transformer."), true));
        QVERIFY(write(QStringLiteral("/vae/ae.safetensors"), QStringLiteral("first_stage_model."), true));
        const QString lonely = m_dir.filePath(QStringLiteral("lonely"));
        QVERIFY(QDir().mkpath(lonely));
        QVERIFY(QFile::copy(root + QStringLiteral("/diffusion_models/flux1-dev.safetensors"),
                            lonely + QStringLiteral("/flux1-dev-alone.safetensors")));
        ProcessResult r =
            runProcess(binaryPath(QStringLiteral("app/twistedpic-cli")),
                       {QStringLiteral("--config"), m_dir.filePath(QStringLiteral("cli.conf")),
                        QStringLiteral("settings"), QStringLiteral("set"),
                        QStringLiteral("models/searchPaths"), root + QLatin1Char(',') + lonely});
        QCOMPARE(r.exitCode, 0);
        r = models({}, m_cache);
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(
            r.out.contains(QRegularExpression(
                QStringLiteral("\nflux1-dev +Flux +yes .*\n    with %1/text_encoders/clip_l\\.safetensors, "
                               "%1/text_encoders/t5xxl_fp16\\.safetensors, %1/vae/ae\\.safetensors\n")
                    .arg(QRegularExpression::escape(root)))),
            qPrintable(r.out));
        QVERIFY2(r.out.contains(QRegularExpression(QStringLiteral("\nflux1-schnell +Flux +yes "))),
                 qPrintable(r.out));
        QVERIFY2(r.out.contains(QRegularExpression(QStringLiteral(
                     "\nflux1-dev-alone +Flux +no .*\n    flux1-dev-alone\\.safetensors holds only the Flux "
                     "transformer, not CLIP-L"))),
                 qPrintable(r.out));
        for (const char* part : {"\nclip_l ", "\nt5xxl_fp16 ", "\nae "})
            QVERIFY2(!r.out.contains(QLatin1String(part)), qPrintable(r.out));
        r = models({QStringLiteral("--json")}, m_cache);
        QCOMPARE(r.exitCode, 0);
        int seen = 0;
        for (const QJsonValue v :
             QJsonDocument::fromJson(r.out.toUtf8()).object().value(QLatin1String("models")).toArray()) {
            const QJsonObject m = v.toObject();
            if (m.value(QLatin1String("name")).toString() == QLatin1String("flux1-dev")) {
                ++seen;
                QCOMPARE(m.value(QLatin1String("companions")).toArray().size(), 3);
            } else if (m.value(QLatin1String("name")).toString() == QLatin1String("flux1-dev-alone")) {
                ++seen;
                QCOMPARE(
                    m.value(QLatin1String("missing")).toArray(),
                    (QJsonArray{QStringLiteral("CLIP-L"), QStringLiteral("T5-XXL"), QStringLiteral("VAE")}));
            }
        }
        QCOMPARE(seen, 2);
        QVERIFY(QFile::remove(m_dir.filePath(QStringLiteral("cli.conf"))));
    }

    void nothingFound() {
        if (sourceTreeHasBundledModels())
            QSKIP("resources/models holds a bundled model, so the catalogue is never empty");
        const QString empty = m_dir.filePath(QStringLiteral("empty-cache"));
        const ProcessResult r = models({}, empty);
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.startsWith(QStringLiteral("No models found. Looked in:\n")), qPrintable(r.out));
        QVERIFY(r.out.contains(QStringLiteral("  bundled models: ") +
                               m_dir.filePath(QStringLiteral("data/models")) +
                               QStringLiteral("  (does not exist)\n")));
        QVERIFY(r.out.contains(QStringLiteral("  Hugging Face cache: ") + empty +
                               QStringLiteral("  (does not exist)\n")));
        QVERIFY(r.out.contains(QStringLiteral("twistedpic-cli settings set models/searchPaths")));
    }

    void rejectsArguments() {
        const ProcessResult r = models({QStringLiteral("extra")}, m_cache);
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains(QStringLiteral("Usage: twistedpic-cli models [--json]")));
    }
};

QTEST_GUILESS_MAIN(TestCliModels)
#include "tst_cli_models.moc"
