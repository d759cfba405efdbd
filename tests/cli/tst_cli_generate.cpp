// `twistedpic-cli generate` on the fixture model: the PNG's A1111 `parameters` chunk and the
// JSON sidecar say what was run; files are never overwritten; bad input is a clear error.
#include "core/io/SafeTensorsHeader.h"
#include "tests/support/TestUtil.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QImage>
#include <QImageReader>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <limits>
#include <sys/types.h>

using namespace tp::test;

class TestCliGenerate final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    static QString fixtureModel() { return QStringLiteral(TP_TEST_DATA_DIR "/sd15-tiny/pipeline"); }
    ProcessResult generate(const QStringList& extra) {
        const QStringList args = QStringList{QStringLiteral("--config"),
                                             m_dir.filePath(QStringLiteral("cli.conf")),
                                             QStringLiteral("generate"),
                                             QStringLiteral("--model"),
                                             fixtureModel(),
                                             QStringLiteral("--device"),
                                             QStringLiteral("cpu"),
                                             QStringLiteral("--steps"),
                                             QStringLiteral("3"),
                                             QStringLiteral("--width"),
                                             QStringLiteral("64"),
                                             QStringLiteral("--height"),
                                             QStringLiteral("64"),
                                             QStringLiteral("--quiet")} +
                                 extra;
        return runProcess(binaryPath(QStringLiteral("app/twistedpic-cli")), args,
                          {QStringLiteral("XDG_STATE_HOME=") + m_dir.filePath(QStringLiteral("state"))},
                          180000);
    }
    static QStringList writtenFiles(const ProcessResult& r) {
        QStringList files;
        for (const QString& line : r.out.split(QLatin1Char('\n'), Qt::SkipEmptyParts))
            if (line.trimmed().endsWith(QLatin1String(".png")))
                files << line.trimmed();
        return files;
    }

private Q_SLOTS:
    void pngCarriesParametersAndSidecar() {
        const QString out = m_dir.filePath(QStringLiteral("out"));
        const ProcessResult r = generate(
            {QStringLiteral("--prompt"), QStringLiteral("a red circle on a blue background"),
             QStringLiteral("--negative"), QStringLiteral("blurry, text"), QStringLiteral("--sampler"),
             QStringLiteral("euler"), QStringLiteral("--cfg"), QStringLiteral("6.5"),
             QStringLiteral("--seed"), QStringLiteral("1234"), QStringLiteral("--output"), out});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        const QStringList files = writtenFiles(r);
        QCOMPARE(files.size(), 1);
        QVERIFY(files[0].startsWith(out));

        QImageReader reader(files[0]);
        QCOMPARE(reader.format(), QByteArray("png"));
        // QImageReader::text() "simplifies" values (newlines become spaces); the decoded image keeps them.
        const QImage image = reader.read();
        const QString parameters = image.text(QStringLiteral("parameters"));
        QCOMPARE(image.size(), QSize(64, 64));
        QVERIFY2(parameters.startsWith(
                     QStringLiteral("a red circle on a blue background\nNegative prompt: blurry, text\n")),
                 qPrintable(parameters));
        for (const QString& part :
             {QStringLiteral("Steps: 3"), QStringLiteral("Sampler: Euler"), QStringLiteral("CFG scale: 6.5"),
              QStringLiteral("Seed: 1234"), QStringLiteral("Size: 64x64"), QStringLiteral("Model: pipeline")})
            QVERIFY2(parameters.contains(part), qPrintable(part + QStringLiteral(" not in: ") + parameters));

        QFile sidecar(files[0].left(files[0].size() - 4) + QStringLiteral(".json"));
        QVERIFY(sidecar.open(QIODevice::ReadOnly));
        const QJsonObject o = QJsonDocument::fromJson(sidecar.readAll()).object();
        QCOMPARE(o.value(QStringLiteral("prompt")).toString(),
                 QStringLiteral("a red circle on a blue background"));
        QCOMPARE(o.value(QStringLiteral("negativePrompt")).toString(), QStringLiteral("blurry, text"));
        QCOMPARE(o.value(QStringLiteral("sampler")).toString(), QStringLiteral("euler"));
        QCOMPARE(o.value(QStringLiteral("steps")).toInt(), 3);
        QCOMPARE(o.value(QStringLiteral("guidance")).toDouble(), 6.5);
        QCOMPARE(o.value(QStringLiteral("seed")).toInteger(), 1234);
        QCOMPARE(o.value(QStringLiteral("width")).toInt(), 64);
        QVERIFY(o.value(QStringLiteral("timings")).toObject().value(QStringLiteral("denoiseMs")).toDouble() >
                0);
        QVERIFY(o.contains(QStringLiteral("memory")) || o.contains(QStringLiteral("memoryAfterCleanup")));
    }

    void sameNameIsNeverOverwritten() {
        const QString file = m_dir.filePath(QStringLiteral("fixed.png"));
        const QStringList args{QStringLiteral("--prompt"), QStringLiteral("x"),
                               QStringLiteral("--seed"),   QStringLiteral("5"),
                               QStringLiteral("--output"), file};
        ProcessResult r = generate(args);
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        QCOMPARE(writtenFiles(r), QStringList{file});
        const QByteArray first = [&] {
            QFile f(file);
            f.open(QIODevice::ReadOnly);
            return f.readAll();
        }();
        r = generate(args);
        QVERIFY(r.exitCode != 0);
        QVERIFY2(r.err.contains(QStringLiteral("never overwrites")), qPrintable(r.err));
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), first);
        // Into a folder, the same seed twice gives two files.
        const QString dir = m_dir.filePath(QStringLiteral("same-seed"));
        const QStringList toDir{QStringLiteral("--prompt"), QStringLiteral("x"),
                                QStringLiteral("--seed"),   QStringLiteral("5"),
                                QStringLiteral("--output"), dir};
        const QStringList a = writtenFiles(generate(toDir));
        const QStringList b = writtenFiles(generate(toDir));
        QCOMPARE(a.size(), 1);
        QCOMPARE(b.size(), 1);
        QVERIFY(a[0] != b[0]);
        QVERIFY(QFile::exists(a[0]) && QFile::exists(b[0]));
    }

    void countWritesOneFileEach() {
        const ProcessResult r =
            generate({QStringLiteral("--prompt"), QStringLiteral("x"), QStringLiteral("--seed"),
                      QStringLiteral("9"), QStringLiteral("--count"), QStringLiteral("2"),
                      QStringLiteral("--output"), m_dir.filePath(QStringLiteral("two"))});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        const QStringList files = writtenFiles(r);
        QCOMPARE(files.size(), 2);
        QVERIFY(QImage(files[0]) != QImage(files[1]));
    }

    // The README's headless main job: no model named, no size given -> the bundled model at the
    // size it was trained at.
    void bundledModelByDefaultAtItsOwnSize() {
        const QString out = m_dir.filePath(QStringLiteral("bundled"));
        const ProcessResult r =
            runProcess(binaryPath(QStringLiteral("app/twistedpic-cli")),
                       {QStringLiteral("--config"), m_dir.filePath(QStringLiteral("bundled.conf")),
                        QStringLiteral("generate"), QStringLiteral("--prompt"),
                        QStringLiteral("a red circle on a blue background"), QStringLiteral("--steps"),
                        QStringLiteral("4"), QStringLiteral("--device"), QStringLiteral("cpu"),
                        QStringLiteral("--output"), out},
                       {QStringLiteral("XDG_STATE_HOME=") + m_dir.filePath(QStringLiteral("state"))}, 180000);
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        const QStringList files = writtenFiles(r);
        QCOMPARE(files.size(), 1);
        QCOMPARE(QImage(files[0]).size(), QSize(128, 128));
        QVERIFY2(r.err.contains(QStringLiteral("twistedpic-shapes was trained at 128x128")),
                 qPrintable(r.err));
    }

    static QStringList baseArgs(const QString& config) {
        return {QStringLiteral("--config"),
                config,
                QStringLiteral("generate"),
                QStringLiteral("--model"),
                fixtureModel(),
                QStringLiteral("--device"),
                QStringLiteral("cpu"),
                QStringLiteral("--steps"),
                QStringLiteral("3"),
                QStringLiteral("--width"),
                QStringLiteral("64"),
                QStringLiteral("--height"),
                QStringLiteral("64"),
                QStringLiteral("--quiet"),
                QStringLiteral("--prompt"),
                QStringLiteral("x")};
    }
    // Runs the CLI in a private mount namespace after `setup` (a shell line: a tmpfs, a read-only
    // bind mount). Nothing outside the namespace changes; without user namespaces the test skips.
    ProcessResult generateInNamespace(const QString& setup, const QStringList& extra, bool* available) {
        QStringList quoted;
        for (const QString& a : baseArgs(m_dir.filePath(QStringLiteral("ns.conf"))) + extra)
            quoted << QLatin1Char('\'') + QString(a).replace(QLatin1Char('\''), QStringLiteral("'\\''")) +
                          QLatin1Char('\'');
        const QString script = setup + QStringLiteral(" || exit 97; exec '") +
                               binaryPath(QStringLiteral("app/twistedpic-cli")) + QStringLiteral("' ") +
                               quoted.join(QLatin1Char(' '));
        ProcessResult r =
            runProcess(QStringLiteral("unshare"),
                       {QStringLiteral("-rm"), QStringLiteral("sh"), QStringLiteral("-c"), script},
                       {QStringLiteral("XDG_STATE_HOME=") + m_dir.filePath(QStringLiteral("state"))}, 180000);
        *available = r.finished && r.exitCode != 97 && !r.err.contains(QStringLiteral("unshare:"));
        return r;
    }

    // A PNG that cannot be written is a failure: non-zero exit, the path and the cause named,
    // and every image that was written listed.
    void fullDiskIsAFailureThatListsWhatWasWritten() {
        // How much one image takes, to size a disk that holds one and a bit.
        const QString probe = m_dir.filePath(QStringLiteral("probe"));
        ProcessResult r = generate({QStringLiteral("--prompt"), QStringLiteral("x"), QStringLiteral("--seed"),
                                    QStringLiteral("11"), QStringLiteral("--output"), probe});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        qint64 pages = 0;
        for (const QFileInfo& f : QDir(probe).entryInfoList(QDir::Files))
            pages += (f.size() + 4095) / 4096;
        const QString disk = m_dir.filePath(QStringLiteral("tiny-disk"));
        QVERIFY(QDir().mkpath(disk));
        bool available = false;
        r = generateInNamespace(
            QStringLiteral("mount -t tmpfs -o size=%1k tpfull '%2'").arg((pages + 1) * 4).arg(disk),
            {QStringLiteral("--seed"), QStringLiteral("11"), QStringLiteral("--count"), QStringLiteral("3"),
             QStringLiteral("--output"), disk},
            &available);
        if (!available)
            QSKIP("no user and mount namespaces here (unshare -rm): cannot make a small disk");
        QCOMPARE(r.exitCode, 1);
        const QStringList written = writtenFiles(r);
        QCOMPARE(written.size(), 1);
        QVERIFY2(written[0].startsWith(disk) && written[0].contains(QStringLiteral("seed11")),
                 qPrintable(r.out));
        QVERIFY2(r.err.contains(QStringLiteral("No space left on device")), qPrintable(r.err));
        QVERIFY2(r.err.contains(disk + QLatin1Char('/')) && r.err.contains(QStringLiteral("seed12.png")),
                 qPrintable(r.err));
        QVERIFY2(r.err.contains(QStringLiteral("1 of 3 image(s) written")), qPrintable(r.err));
        QVERIFY(!r.err.contains(QStringLiteral("libpng")));
        QVERIFY(!r.err.contains(QStringLiteral("Unknown error")));
    }

    void readOnlyFolderIsAFailure() {
        const QString ro = m_dir.filePath(QStringLiteral("read-only"));
        QVERIFY(QDir().mkpath(ro));
        bool available = false;
        const ProcessResult r = generateInNamespace(
            QStringLiteral("mount --bind '%1' '%1' && mount -o remount,ro,bind '%1'").arg(ro),
            {QStringLiteral("--output"), ro}, &available);
        if (!available)
            QSKIP("no user and mount namespaces here (unshare -rm): cannot make a read-only folder");
        QCOMPARE(r.exitCode, 1);
        QVERIFY(writtenFiles(r).isEmpty());
        QVERIFY2(r.err.contains(ro + QLatin1Char('/')) &&
                     r.err.contains(QStringLiteral("Read-only file system")),
                 qPrintable(r.err));
        QVERIFY2(r.err.contains(QStringLiteral("0 of 1 image(s) written")), qPrintable(r.err));
        QVERIFY(!r.err.contains(QStringLiteral("image(s), seed")));
    }

    // Known before any work: an existing file that is not a folder, a sidecar name in use.
    void outputThatCannotBeUsedIsRefusedFirst() {
        const QString text = m_dir.filePath(QStringLiteral("notes.txt"));
        {
            QFile f(text);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("mine");
        }
        ProcessResult r =
            generate({QStringLiteral("--prompt"), QStringLiteral("x"), QStringLiteral("--output"), text});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(text + QStringLiteral(" is a file, not a folder")), qPrintable(r.err));

        const QString png = m_dir.filePath(QStringLiteral("new.png"));
        const QString json = m_dir.filePath(QStringLiteral("new.json"));
        {
            QFile f(json);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write("{}");
        }
        const QStringList before =
            QDir(m_dir.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot);
        r = generate({QStringLiteral("--prompt"), QStringLiteral("x"), QStringLiteral("--output"), png});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(json + QStringLiteral(" exists already")), qPrintable(r.err));
        QVERIFY(!QFile::exists(png));
        QCOMPARE(QDir(m_dir.path()).entryList(QDir::AllEntries | QDir::Hidden | QDir::NoDotAndDotDot),
                 before);
        QFile f(json);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), QByteArray("{}"));
    }

    // Seeds are 64-bit: every seed a request records is one --seed accepts again, exactly.
    void seedsAre64Bit() {
        const QString out = m_dir.filePath(QStringLiteral("seeds"));
        ProcessResult r = generate({QStringLiteral("--prompt"), QStringLiteral("x"), QStringLiteral("--seed"),
                                    QStringLiteral("4294967295"), QStringLiteral("--count"),
                                    QStringLiteral("2"), QStringLiteral("--output"), out});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QStringList files = writtenFiles(r);
        QCOMPARE(files.size(), 2);
        QVERIFY(files[1].contains(QStringLiteral("seed4294967296")));
        r = generate({QStringLiteral("--prompt"), QStringLiteral("x"), QStringLiteral("--seed"),
                      QStringLiteral("4294967296"), QStringLiteral("--output"), out});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(writtenFiles(r).value(0).contains(QStringLiteral("seed4294967296"))); // accepted again

        const QString big = QStringLiteral("9223372036854775806");
        r = generate({QStringLiteral("--prompt"), QStringLiteral("x"), QStringLiteral("--seed"), big,
                      QStringLiteral("--count"), QStringLiteral("2"), QStringLiteral("--output"), out});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        files = writtenFiles(r);
        QCOMPARE(files.size(), 2);
        QFile sidecar(files[1].chopped(4) + QStringLiteral(".json"));
        QVERIFY(sidecar.open(QIODevice::ReadOnly));
        const QJsonObject o = QJsonDocument::fromJson(sidecar.readAll()).object();
        QCOMPARE(o.value(QStringLiteral("seed")).toInteger(), std::numeric_limits<qint64>::max());
        QVERIFY(QImage(files[1])
                    .text(QStringLiteral("parameters"))
                    .contains(QStringLiteral("Seed: 9223372036854775807")));

        r = generate({QStringLiteral("--prompt"), QStringLiteral("x"), QStringLiteral("--seed"),
                      QStringLiteral("9223372036854775807"), QStringLiteral("--count"), QStringLiteral("2"),
                      QStringLiteral("--output"), out});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(r.err.contains(QStringLiteral("from 0 to 9223372036854775806 (image i uses seed + i)")),
                 qPrintable(r.err));
    }

    // fp8 weight storage where libtorch has float8 (2.1+); with Debian's 1.13 a message that says so.
    void fp8WeightsOrWhyNot() {
        const QString out = m_dir.filePath(QStringLiteral("fp8"));
        const ProcessResult r =
            generate({QStringLiteral("--prompt"), QStringLiteral("a red circle"),
                      QStringLiteral("--precision"), QStringLiteral("fp8"), QStringLiteral("--output"), out});
#ifdef TP_TORCH_HAS_FP8
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(QDir(out).entryList({QStringLiteral("*.png")}, QDir::Files).size(), 1);
#else
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("fp8 weights need libtorch 2.1 or newer")), qPrintable(r.err));
        QVERIFY(QDir(out).entryList({QStringLiteral("*.png")}, QDir::Files).isEmpty());
#endif
        // Not a precision at all: refused before anything loads.
        const ProcessResult bad = generate({QStringLiteral("--prompt"), QStringLiteral("x"),
                                            QStringLiteral("--precision"), QStringLiteral("fp4")});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY2(bad.err.contains(QStringLiteral("'fp4' is not a precision")), qPrintable(bad.err));
    }

    // Ctrl+C says what it waits for and ends the run; a second one ends the process at once.
    void ctrlCSaysWhatItWaitsFor() {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("XDG_STATE_HOME"), m_dir.filePath(QStringLiteral("state")));
        p.setProcessEnvironment(env);
        QStringList args = baseArgs(m_dir.filePath(QStringLiteral("ctrlc.conf")));
        args << QStringLiteral("--count") << QStringLiteral("16") << QStringLiteral("--output")
             << m_dir.filePath(QStringLiteral("ctrlc"));
        args[args.indexOf(QStringLiteral("--steps")) + 1] = QStringLiteral("150");
        p.start(binaryPath(QStringLiteral("app/twistedpic-cli")), args);
        QVERIFY(p.waitForStarted());
        QTest::qWait(2500);
        QVERIFY(p.state() == QProcess::Running);
        QElapsedTimer t;
        t.start();
        ::kill(pid_t(p.processId()), SIGINT);
        QVERIFY(p.waitForFinished(30000));
        const QString err = QString::fromUtf8(p.readAllStandardError());
        QCOMPARE(p.exitCode(), 130);
        QVERIFY2(err.contains(QStringLiteral("Cancelling: waiting for")), qPrintable(err));
        QVERIFY2(err.contains(QStringLiteral("Ctrl+C again")), qPrintable(err));
        QVERIFY2(err.contains(QStringLiteral("Cancelled.")), qPrintable(err));
        qInfo("Ctrl+C to exit: %lld ms", t.elapsed());
    }

    // --without-t5 reaches the SD 3 pipeline: the PNG is diffusers' image of sd3-tiny's case 3 (its
    // run without T5) to the rounding of 8 bits, and the PNG and sidecar say so. Flux refuses it.
    void withoutT5ReachesThePipeline() {
        const QString fixture = QStringLiteral(TP_TEST_DATA_DIR "/sd3-tiny");
        QFile casesFile(fixture + QStringLiteral("/cases.json"));
        QVERIFY(casesFile.open(QIODevice::ReadOnly));
        const QJsonObject c = QJsonDocument::fromJson(casesFile.readAll())
                                  .object()
                                  .value(QStringLiteral("pipeline"))
                                  .toArray()
                                  .at(3)
                                  .toObject();
        QCOMPARE(c.value(QStringLiteral("t5")).toBool(true), false);
        const QString png = m_dir.filePath(QStringLiteral("without-t5.png"));
        const ProcessResult r = generate(
            {QStringLiteral("--model"), fixture + QStringLiteral("/pipeline"), QStringLiteral("--prompt"),
             c.value(QStringLiteral("prompt")).toString(), QStringLiteral("--negative"),
             c.value(QStringLiteral("negative_prompt")).toString(), QStringLiteral("--steps"),
             QString::number(c.value(QStringLiteral("steps")).toInt()), QStringLiteral("--cfg"),
             QString::number(c.value(QStringLiteral("guidance_scale")).toDouble()), QStringLiteral("--seed"),
             QString::number(c.value(QStringLiteral("seed")).toInteger()), QStringLiteral("--sampler"),
             QStringLiteral("euler"), QStringLiteral("--without-t5"), QStringLiteral("--output"), png});
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        const QImage image = QImageReader(png).read();
        QCOMPARE(image.size(), QSize(64, 64));
        QVERIFY2(image.text(QStringLiteral("parameters")).contains(QStringLiteral("T5: off")),
                 qPrintable(image.text(QStringLiteral("parameters"))));
        QFile sidecar(m_dir.filePath(QStringLiteral("without-t5.json")));
        QVERIFY(sidecar.open(QIODevice::ReadOnly));
        QCOMPARE(
            QJsonDocument::fromJson(sidecar.readAll()).object().value(QStringLiteral("withoutT5")).toBool(),
            true);

        // diffusers' image (float32, 0..1, channels first) as 8-bit pixels.
        const QString reference = fixture + QStringLiteral("/reference.safetensors");
        const auto header = tp::io::readSafeTensorsHeader(reference);
        QVERIFY2(header, qPrintable(header.error()));
        const tp::io::TensorInfo* t = header->find(QStringLiteral("pipe.3.image"));
        QVERIFY(t && t->dtype == tp::io::DType::F32 && t->shape == (std::vector<qint64>{3, 64, 64}));
        QFile ref(reference);
        QVERIFY(ref.open(QIODevice::ReadOnly) && ref.seek(header->dataOffset + t->begin));
        const QByteArray bytes = ref.read(t->byteSize());
        const float* v = reinterpret_cast<const float*>(bytes.constData());
        int worst = 0;
        for (int y = 0; y < 64; ++y)
            for (int x = 0; x < 64; ++x) {
                const QRgb px = image.pixel(x, y);
                const int got[3] = {qRed(px), qGreen(px), qBlue(px)};
                for (int ch = 0; ch < 3; ++ch) {
                    const float f = std::clamp(v[(ch * 64 + y) * 64 + x], 0.0f, 1.0f);
                    worst = std::max(worst, std::abs(got[ch] - int(std::lround(f * 255.0f))));
                }
            }
        qInfo("--without-t5 vs diffusers without T5: max pixel difference %d", worst);
        QVERIFY2(worst <= 1, qPrintable(QString::number(worst)));

        const ProcessResult flux =
            generate({QStringLiteral("--model"), QStringLiteral(TP_TEST_DATA_DIR "/flux-tiny/pipeline"),
                      QStringLiteral("--prompt"), QStringLiteral("x"), QStringLiteral("--without-t5")});
        QCOMPARE(flux.exitCode, 1);
        QVERIFY2(flux.err.contains(QStringLiteral("cannot run without T5")), qPrintable(flux.err));
    }

    // --vae-tiling reaches the model and the PNG: with the default tile (512 px for sd15-tiny) a
    // 64 px image is one tile, the same pixels as without; 32 px tiles (2 x 2 with overlap) change
    // them. The parameters say "VAE tiling: on" / "VAE tiling: 32".
    void vaeTilingReachesTheModelAndThePng() {
        const auto run = [this](const QString& name, const QStringList& flags) {
            const QString png = m_dir.filePath(name + QStringLiteral(".png"));
            const ProcessResult r = generate(
                QStringList{QStringLiteral("--prompt"), QStringLiteral("a red circle"),
                            QStringLiteral("--seed"), QStringLiteral("77"), QStringLiteral("--output"), png} +
                flags);
            if (r.exitCode != 0)
                qWarning("%s", qPrintable(r.out + r.err));
            return QImageReader(png).read();
        };
        const QImage plain = run(QStringLiteral("vae-plain"), {});
        const QImage oneTile = run(QStringLiteral("vae-tiled"), {QStringLiteral("--vae-tiling")});
        const QImage small =
            run(QStringLiteral("vae-tiled-32"), {QStringLiteral("--vae-tile-size"), QStringLiteral("32")});
        QCOMPARE(plain.size(), QSize(64, 64));
        QCOMPARE(oneTile.size(), QSize(64, 64));
        QCOMPARE(small.size(), QSize(64, 64));
        QVERIFY(!plain.text(QStringLiteral("parameters")).contains(QStringLiteral("VAE tiling")));
        QVERIFY2(oneTile.text(QStringLiteral("parameters")).contains(QStringLiteral("VAE tiling: on")),
                 qPrintable(oneTile.text(QStringLiteral("parameters"))));
        QVERIFY2(small.text(QStringLiteral("parameters")).contains(QStringLiteral("VAE tiling: 32")),
                 qPrintable(small.text(QStringLiteral("parameters"))));
        const auto pixels = [](const QImage& i) { return i.convertToFormat(QImage::Format_RGB32); };
        QCOMPARE(pixels(oneTile), pixels(plain));
        QVERIFY(pixels(small) != pixels(plain));

        const ProcessResult bad = generate({QStringLiteral("--prompt"), QStringLiteral("x"),
                                            QStringLiteral("--vae-tile-size"), QStringLiteral("40")});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY2(bad.err.contains(QStringLiteral("--vae-tile-size")), qPrintable(bad.err));
    }

    // --cuda-graphs on|off (issue 17): either runs (same pixels: graphs change no number); anything
    // else is a usage error that names the option.
    void cudaGraphsOption() {
        QStringList pngs;
        for (const QString& value : {QStringLiteral("off"), QStringLiteral("ON")}) {
            pngs << m_dir.filePath(QStringLiteral("graphs-%1.png").arg(value));
            const ProcessResult r =
                generate({QStringLiteral("--prompt"), QStringLiteral("a red circle"),
                          QStringLiteral("--seed"), QStringLiteral("5"), QStringLiteral("--cuda-graphs"),
                          value, QStringLiteral("--output"), pngs.back()});
            QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        }
        QCOMPARE(QImageReader(pngs[0]).read().convertToFormat(QImage::Format_RGB32),
                 QImageReader(pngs[1]).read().convertToFormat(QImage::Format_RGB32));
        const ProcessResult bad = generate({QStringLiteral("--prompt"), QStringLiteral("x"),
                                            QStringLiteral("--cuda-graphs"), QStringLiteral("maybe")});
        QCOMPARE(bad.exitCode, 2);
        QVERIFY2(bad.err.contains(QStringLiteral("--cuda-graphs")), qPrintable(bad.err));
    }

    // A Flux transformer file alone: the error names the files it needs and where they go, and the
    // options that name them.
    void missingCompanionsAreNamed() {
        const QString models = m_dir.filePath(QStringLiteral("comfy/models"));
        const QString file = models + QStringLiteral("/diffusion_models/flux1-dev-tiny.safetensors");
        QVERIFY(QDir().mkpath(QFileInfo(file).path()));
        QVERIFY(QFile::copy(QStringLiteral(TP_TEST_DATA_DIR "/flux-tiny/single/flux1-dev-tiny.safetensors"),
                            file));
        const ProcessResult r =
            generate({QStringLiteral("--model"), file, QStringLiteral("--prompt"), QStringLiteral("x")});
        QCOMPARE(r.exitCode, 1);
        for (const QString& part :
             {QStringLiteral("flux1-dev-tiny.safetensors holds only the Flux transformer, not CLIP-L "
                             "(clip_l.safetensors)"),
              QStringLiteral("put the VAE in %1/vae and the text encoders in %1/text_encoders").arg(models),
              QStringLiteral("--text-encoder FILE"), QStringLiteral("--vae FILE")})
            QVERIFY2(r.err.contains(part), qPrintable(r.err));
        const ProcessResult wrong =
            generate({QStringLiteral("--model"), file, QStringLiteral("--prompt"), QStringLiteral("x"),
                      QStringLiteral("--vae"),
                      QStringLiteral(TP_TEST_DATA_DIR "/sd3-tiny/text_encoders/clip_l.safetensors")});
        QCOMPARE(wrong.exitCode, 1);
        QVERIFY2(wrong.err.contains(QStringLiteral("clip_l.safetensors is a CLIP-L text encoder, not a VAE")),
                 qPrintable(wrong.err));
    }

    void badInputIsAClearError() {
        ProcessResult r =
            generate({QStringLiteral("--prompt"), QStringLiteral("x"), QStringLiteral("--model"),
                      m_dir.filePath(QStringLiteral("no-such-model"))});
        QVERIFY(r.exitCode != 0);
        QVERIFY2(r.err.contains(QStringLiteral("no-such-model")), qPrintable(r.err));
        r = generate({QStringLiteral("--prompt"), QStringLiteral("x"), QStringLiteral("--width"),
                      QStringLiteral("65")});
        QVERIFY(r.exitCode != 0);
        QVERIFY2(r.err.contains(QStringLiteral("8")), qPrintable(r.err));
    }
};

QTEST_GUILESS_MAIN(TestCliGenerate)
#include "tst_cli_generate.moc"
