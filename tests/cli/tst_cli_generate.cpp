// `twistedpic-cli generate` on the fixture model: the PNG's A1111 `parameters` chunk and the
// JSON sidecar say what was run; files are never overwritten; bad input is a clear error.
#include "tests/support/TestUtil.h"

#include <QDir>
#include <QFile>
#include <QImage>
#include <QImageReader>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

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
