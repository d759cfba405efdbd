#include "core/settings/Settings.h"
#include "tests/support/TestUtil.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <memory>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

using namespace tp;

class TestSettings final : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    QString file(const QString& name = QStringLiteral("TwistedPic.conf")) const {
        return m_dir.filePath(name);
    }
    static void writeText(const QString& path, const QByteArray& text) {
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(text);
    }

private Q_SLOTS:
    void defaults() {
        Settings s(file(QStringLiteral("absent.conf")));
        QVERIFY(s.loadWarnings().isEmpty());
        QCOMPARE(s.cleanupAfterGeneration(), true);
        QCOMPARE(s.unloadAfterGeneration(), false);
        QCOMPARE(s.idleUnloadMinutes(), 0);
        QCOMPARE(s.device(), QStringLiteral("auto"));
        QCOMPARE(s.verboseLogging(), false);
        QCOMPARE(s.ollamaUrl(), QStringLiteral("http://localhost:11434"));
        QCOMPARE(s.twistedPairUrl(), QStringLiteral("http://localhost:8001"));
        QVERIFY(s.outputDirectory().endsWith(QStringLiteral("Pictures/TwistedPic")));
        QCOMPARE(s.value(keys::Steps).toInt(), 20);
        QCOMPARE(s.value(keys::Guidance).toDouble(), 7.5);
        QCOMPARE(s.value(keys::Width).toInt(), 512);
        QCOMPARE(s.value(keys::SeedMode).toString(), QStringLiteral("random"));
        QVERIFY(samplerNames().contains(s.value(keys::Sampler).toString()));
        QVERIFY(!QFile::exists(file(QStringLiteral("absent.conf")))); // nothing written until a change
    }

    void roundTrip() {
        const QString path = file(QStringLiteral("round.conf"));
        {
            Settings s(path);
            QVERIFY(s.set(keys::UnloadAfterGeneration, true));
            QVERIFY(s.set(keys::IdleUnloadMinutes, 15));
            QVERIFY(s.set(keys::Guidance, 4.25));
            QVERIFY(
                s.set(keys::ModelSearchPaths, QStringList{QStringLiteral("/a"), QStringLiteral("/b, c")}));
            QVERIFY(s.set(keys::OllamaUrl, QStringLiteral("http://gpu-box:11434")));
            QVERIFY(s.set(keys::Device, QStringLiteral("cuda:1")));
            QVERIFY(s.set(keys::Seed, qint64(4000000000)));
        }
        Settings again(path);
        QVERIFY2(again.loadWarnings().isEmpty(), qPrintable(again.loadWarnings().join(QLatin1Char('\n'))));
        QCOMPARE(again.unloadAfterGeneration(), true);
        QCOMPARE(again.idleUnloadMinutes(), 15);
        QCOMPARE(again.value(keys::Guidance).toDouble(), 4.25);
        QCOMPARE(again.modelSearchPaths(), (QStringList{QStringLiteral("/a"), QStringLiteral("/b, c")}));
        QCOMPARE(again.ollamaUrl(), QStringLiteral("http://gpu-box:11434"));
        QCOMPARE(again.device(), QStringLiteral("cuda:1"));
        QCOMPARE(again.value(keys::Seed).toLongLong(), qint64(4000000000));
        // Defaults are not written, so a better default in a later version reaches everyone.
        QSettings raw(path, QSettings::IniFormat);
        QVERIFY(!raw.contains(keys::CleanupAfterGeneration));
        QCOMPARE(raw.value(QStringLiteral("meta/schemaVersion")).toInt(), Settings::SchemaVersion);
        QVERIFY(!QFile::exists(path + QStringLiteral(".saving")));
    }

    void changeSignalPerKey() {
        Settings s(file(QStringLiteral("signal.conf")));
        QSignalSpy spy(&s, &Settings::changed);
        QVERIFY(s.set(keys::CleanupAfterGeneration, true)); // unchanged: no signal
        QCOMPARE(spy.count(), 0);
        QVERIFY(s.setMany({{keys::UnloadAfterGeneration, true}, {keys::Steps, 30}, {keys::Width, 512}}));
        QCOMPARE(spy.count(), 2);
        QStringList keysSeen;
        for (const auto& args : spy)
            keysSeen << args.at(0).toString();
        keysSeen.sort();
        QCOMPARE(keysSeen, (QStringList{keys::Steps, keys::UnloadAfterGeneration}));
        spy.clear();
        QVERIFY(s.resetToDefault(keys::Steps));
        QCOMPARE(spy.count(), 1);
        QCOMPARE(spy.at(0).at(1).toInt(), 20);
    }

    void invalidValuesRejectedOnSet_data() {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QVariant>("value");
        QTest::newRow("bool") << keys::CleanupAfterGeneration << QVariant(QStringLiteral("perhaps"));
        QTest::newRow("int text") << keys::Steps << QVariant(QStringLiteral("many"));
        QTest::newRow("int range") << keys::Steps << QVariant(0);
        QTest::newRow("width not /8") << keys::Width << QVariant(500);
        QTest::newRow("guidance nan") << keys::Guidance << QVariant(QStringLiteral("nan"));
        QTest::newRow("device") << keys::Device << QVariant(QStringLiteral("tpu"));
        QTest::newRow("device prefix only") << keys::Device << QVariant(QStringLiteral("cuda:"));
        QTest::newRow("url scheme") << keys::OllamaUrl << QVariant(QStringLiteral("ftp://x"));
        QTest::newRow("url garbage") << keys::OllamaUrl << QVariant(QStringLiteral("not a url"));
        QTest::newRow("sampler") << keys::Sampler << QVariant(QStringLiteral("magic"));
        QTest::newRow("unknown key") << QStringLiteral("gpu/nonsense") << QVariant(1);
    }
    void invalidValuesRejectedOnSet() {
        QFETCH(QString, key);
        QFETCH(QVariant, value);
        Settings s(file(QStringLiteral("invalid-set.conf")));
        const QVariant before = s.value(key);
        QSignalSpy spy(&s, &Settings::changed);
        const Status st = s.set(key, value);
        QVERIFY(!st);
        QVERIFY(!st.error().isEmpty());
        QCOMPARE(s.value(key), before);
        QCOMPARE(spy.count(), 0);
    }

    void setManyIsAllOrNothing() {
        Settings s(file(QStringLiteral("many.conf")));
        QVERIFY(!s.setMany({{keys::Steps, 33}, {keys::Width, 7}}));
        QCOMPARE(s.value(keys::Steps).toInt(), 20);
    }

    void invalidValuesInFileFallBackWithWarning() {
        const QString path = file(QStringLiteral("bad-values.conf"));
        writeText(path, "[meta]\nschemaVersion=2\n[gpu]\ncleanupAfterGeneration=maybe\nidleUnloadMinutes=-5\n"
                        "unloadAfterGeneration=true\n[generation]\nsteps=abc\n");
        Settings s(path);
        QCOMPARE(s.cleanupAfterGeneration(), true);
        QCOMPARE(s.idleUnloadMinutes(), 0);
        QCOMPARE(s.value(keys::Steps).toInt(), 20);
        QCOMPARE(s.unloadAfterGeneration(), true); // the valid one is kept
        QCOMPARE(s.loadWarnings().size(), 3);
        QVERIFY(s.loadWarnings().join(QLatin1Char(' ')).contains(keys::IdleUnloadMinutes));
    }

    static QByteArray readAll(const QString& path) {
        QFile f(path);
        return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
    }
    QStringList backupsOf(const QString& name) const {
        return QDir(m_dir.path()).entryList({name + QStringLiteral(".corrupt-*")}, QDir::Files);
    }
    QStringList filesIn(const QString& dir) const { return QDir(dir).entryList(QDir::Files | QDir::Hidden); }

    void corruptFileKeptAsBackupOnce() {
        const QString path = file(QStringLiteral("corrupt.conf"));
        const QByteArray garbage("\x89PNG\r\n\x1a\n\0\0\0 this is not an ini file", 35);
        writeText(path, garbage);
        {
            Settings s(path);
            QCOMPARE(s.cleanupAfterGeneration(), true);
            QCOMPARE(s.loadWarnings().size(), 1);
            QVERIFY(s.loadWarnings().first().contains(QStringLiteral("kept aside")));
        }
        // Reading twice makes no backup and leaves the file as it was.
        Settings again(path);
        QVERIFY(backupsOf(QStringLiteral("corrupt.conf")).isEmpty());
        QCOMPARE(readAll(path), garbage);
        // The first change keeps the damaged file aside, once.
        QVERIFY(again.set(keys::Steps, 25));
        QVERIFY(again.set(keys::Steps, 26));
        QVERIFY(Settings(path).set(keys::Steps, 27));
        const QStringList backups = backupsOf(QStringLiteral("corrupt.conf"));
        QCOMPARE(backups.size(), 1);
        QCOMPARE(readAll(m_dir.filePath(backups.first())), garbage);
        QCOMPARE(Settings(path).value(keys::Steps).toInt(), 27);
        QVERIFY(Settings(path).loadWarnings().isEmpty());
    }

    void readingNeverWrites() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("TwistedPic.conf"));
        // Schema 1 names, an invalid value, an unknown key and a damaged line.
        const QByteArray text = "[gpu]\nmemoryCleanup=false\nidleUnloadMinutes=-5\n[generation]\nsteps=33\n"
                                "garbage line\n[future]\nsomething=kept\n";
        writeText(path, text);
        const QDateTime mtime = QFileInfo(path).lastModified();
        {
            Settings s(path);
            QCOMPARE(s.cleanupAfterGeneration(), false);
            QCOMPARE(s.value(keys::Steps).toInt(), 33);
            QCOMPARE(s.loadWarnings().size(), 2);
        }
        QCOMPARE(readAll(path), text);
        QCOMPARE(QFileInfo(path).lastModified(), mtime);
        QCOMPARE(filesIn(dir.path()), QStringList{QStringLiteral("TwistedPic.conf")});
    }

    void truncatedFileKeepsWhatParses() {
        const QString path = file(QStringLiteral("truncated.conf"));
        writeText(path, "[meta]\nschemaVersion=2\n[generation]\nsteps=33\nsampler=ddim\nwidth=640\n[gpu]\n"
                        "unloadAfterGeneration=true\nidleUnl");
        Settings s(path);
        QCOMPARE(s.value(keys::Steps).toInt(), 33);
        QCOMPARE(s.value(keys::Sampler).toString(), QStringLiteral("ddim"));
        QVERIFY(s.set(keys::Height, 768));
        Settings reread(path);
        QCOMPARE(reread.value(keys::Steps).toInt(), 33);
        QCOMPARE(reread.value(keys::Sampler).toString(), QStringLiteral("ddim"));
        QCOMPARE(reread.value(keys::Width).toInt(), 640);
        QCOMPARE(reread.unloadAfterGeneration(), true);
        QCOMPARE(reread.value(keys::Height).toInt(), 768);
        QCOMPARE(backupsOf(QStringLiteral("truncated.conf")).size(), 1);
    }

    void invalidValueStaysUntilChanged() {
        const QString path = file(QStringLiteral("invalid-kept.conf"));
        writeText(path, "[meta]\nschemaVersion=2\n[generation]\nsteps=abc\n");
        Settings s(path);
        QVERIFY(s.set(keys::Width, 640));
        QCOMPARE(QSettings(path, QSettings::IniFormat).value(keys::Steps).toString(), QStringLiteral("abc"));
        QVERIFY(s.set(keys::Steps, 30));
        QCOMPARE(QSettings(path, QSettings::IniFormat).value(keys::Steps).toInt(), 30);
    }

    void otherWritersAreMerged() {
        const QString path = file(QStringLiteral("merge.conf"));
        Settings a(path);
        Settings b(path);
        QVERIFY(a.set(keys::Steps, 31));
        QVERIFY(b.set(keys::Width, 640)); // b never saw steps=31; it must not drop it
        Settings c(path);
        QCOMPARE(c.value(keys::Steps).toInt(), 31);
        QCOMPARE(c.value(keys::Width).toInt(), 640);
        QCOMPARE(b.value(keys::Steps).toInt(), 31); // b now knows what the file holds
        // Setting a key back to its default removes it from the file.
        QVERIFY(a.set(keys::Steps, 20));
        QVERIFY(!QSettings(path, QSettings::IniFormat).contains(keys::Steps));
        QCOMPARE(Settings(path).value(keys::Width).toInt(), 640);
        QCOMPARE(filesIn(m_dir.path()).filter(QStringLiteral("merge.conf")),
                 QStringList{QStringLiteral("merge.conf")}); // no temporary or lock file left
    }

    void oversizedOrSpecialFileIsNotUsed() {
        const QString big = file(QStringLiteral("big.conf"));
        writeText(big, "[generation]\nsteps=33\n" + QByteArray(2 * 1024 * 1024, ';'));
        Settings s(big);
        QVERIFY(s.isReadOnly());
        QCOMPARE(s.value(keys::Steps).toInt(), 20);
        QVERIFY(s.loadWarnings().value(0).contains(QStringLiteral("at most 1048576")));
        QVERIFY(!s.set(keys::Steps, 40));
        QCOMPARE(QFileInfo(big).size(), qint64(2 * 1024 * 1024 + 22));

        Settings dev(QStringLiteral("/dev/zero"));
        QVERIFY(dev.isReadOnly());
        QVERIFY(dev.loadWarnings().value(0).contains(QStringLiteral("not a regular file")));
    }

    void longValuesAreRefusedAndNotEchoed() {
        Settings s(file(QStringLiteral("long.conf")));
        const QString huge(10 * 1024 * 1024, QLatin1Char('x'));
        const Status st = s.set(keys::NegativePrompt, huge);
        QVERIFY(!st);
        QVERIFY(st.error().size() < 300);
        const Result<QVariant> parsed = s.parse(keys::Steps, huge);
        QVERIFY(!parsed);
        QVERIFY(parsed.error().size() < 300);
        QVERIFY(!s.parse(keys::Sampler, QString(100000, QLatin1Char('y'))));
        QVERIFY(s.parse(keys::Sampler, QString(1000, QLatin1Char('y'))).error().size() < 300);
    }

    void rangesPrintAsIntegers() {
        Settings s(file(QStringLiteral("ranges.conf")));
        Result<QVariant> r = s.parse(keys::Seed, QStringLiteral("-1"));
        QVERIFY(!r);
        QVERIFY2(r.error().startsWith(QStringLiteral("-1 is outside 0..9223372036854775807")),
                 qPrintable(r.error()));
        QVERIFY(r.error().contains(QStringLiteral("seedMode")));
        r = s.parse(keys::Seed, QStringLiteral("9223372036854775808"));
        QVERIFY(!r);
        QVERIFY(r.error().contains(QStringLiteral("outside 0..9223372036854775807")));
        QCOMPARE(s.parse(keys::Seed, QStringLiteral("9223372036854775807"))->toLongLong(),
                 std::numeric_limits<qint64>::max());
        QCOMPARE(s.parse(keys::Seed, QStringLiteral("4294967296"))->toLongLong(), 4294967296LL);
        r = s.parse(keys::Guidance, QStringLiteral("31"));
        QCOMPARE(r.error(), QStringLiteral("31 is outside 0..30"));
        r = s.parse(keys::Width, QStringLiteral("8192"));
        QCOMPARE(r.error(), QStringLiteral("8192 is outside 64..4096"));
    }

    void malformedLinesAreCorrupt() {
        const QString path = file(QStringLiteral("lines.conf"));
        writeText(path, "[gpu]\nthis line has no equals sign\n");
        Settings s(path);
        QCOMPARE(s.loadWarnings().size(), 1);
        QVERIFY(s.loadWarnings().first().contains(QStringLiteral("line 2")));
        QVERIFY(s.loadWarnings().first().contains(QStringLiteral("the rest is used")));
    }

    void migratesRenamedKeys() {
        const QString path = file(QStringLiteral("v1.conf"));
        // Schema 1 had no version key and the Python original's names.
        writeText(path,
                  "[gpu]\nmemoryCleanup=false\nunloadModelAfterGeneration=true\n[output]\ndir=/tmp/old-out\n"
                  "[future]\nsomething=kept\n");
        Settings s(path);
        QVERIFY(s.loadWarnings().isEmpty());
        QCOMPARE(s.cleanupAfterGeneration(), false);
        QCOMPARE(s.unloadAfterGeneration(), true);
        QCOMPARE(s.outputDirectory(), QStringLiteral("/tmp/old-out"));
        QVERIFY(!QSettings(path, QSettings::IniFormat).contains(QStringLiteral("meta/schemaVersion")));
        QVERIFY(s.set(keys::Steps, 30)); // the next change writes the new schema
        QSettings raw(path, QSettings::IniFormat);
        QCOMPARE(raw.value(QStringLiteral("meta/schemaVersion")).toInt(), Settings::SchemaVersion);
        QVERIFY(!raw.contains(QStringLiteral("gpu/memoryCleanup")));
        QCOMPARE(raw.value(keys::CleanupAfterGeneration).toBool(), false);
        QCOMPARE(raw.value(QStringLiteral("future/something")).toString(), QStringLiteral("kept"));
    }

    void newerSchemaIsNotOverwritten() {
        const QString path = file(QStringLiteral("newer.conf"));
        const QByteArray text = "[meta]\nschemaVersion=99\n[gpu]\nunloadAfterGeneration=true\n";
        writeText(path, text);
        Settings s(path);
        QVERIFY(s.isReadOnly());
        QCOMPARE(s.unloadAfterGeneration(), true);
        QVERIFY(!s.set(keys::Steps, 30));
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), text);
    }

    void unwritableLocationKeepsValues() {
        // A path below a regular file can never be created, even as root.
        writeText(file(QStringLiteral("plainfile")), "x");
        Settings s(file(QStringLiteral("plainfile/sub/TwistedPic.conf")));
        QSignalSpy spy(&s, &Settings::changed);
        const Status st = s.set(keys::Steps, 40);
        QVERIFY(!st);
        QVERIFY(st.error().contains(QStringLiteral("plainfile")));
        QCOMPARE(s.value(keys::Steps).toInt(), 20);
        QCOMPARE(spy.count(), 0);
    }

    // The probe: 20 processes set 20 different keys of one file at once, 20 times. With
    // a shared temporary name and no lock, 8-16 keys were lost per trial; now none may be.
    void writeStormLosesNothing() {
        const QList<QPair<QString, QString>> keyValues = {
            {QStringLiteral("gpu/cleanupAfterGeneration"), QStringLiteral("false")},
            {QStringLiteral("gpu/unloadAfterGeneration"), QStringLiteral("true")},
            {QStringLiteral("gpu/idleUnloadMinutes"), QStringLiteral("7")},
            {QStringLiteral("gpu/device"), QStringLiteral("cpu")},
            {QStringLiteral("gpu/precision"), QStringLiteral("fp32")},
            {QStringLiteral("gpu/makeRoomBeforeGenerating"), QStringLiteral("true")},
            {QStringLiteral("monitor/intervalMs"), QStringLiteral("700")},
            {QStringLiteral("log/verbose"), QStringLiteral("true")},
            {QStringLiteral("models/default"), QStringLiteral("storm-model")},
            {QStringLiteral("output/directory"), QStringLiteral("/tmp/storm-out")},
            {QStringLiteral("services/twistedPairTimeoutSec"), QStringLiteral("33")},
            {QStringLiteral("services/ollamaTimeoutSec"), QStringLiteral("44")},
            {QStringLiteral("services/makeRoomMarginMiB"), QStringLiteral("100")},
            {QStringLiteral("prompt/distortEnabled"), QStringLiteral("true")},
            {QStringLiteral("prompt/distortGain"), QStringLiteral("7")},
            {QStringLiteral("generation/steps"), QStringLiteral("33")},
            {QStringLiteral("generation/guidance"), QStringLiteral("5.5")},
            {QStringLiteral("generation/width"), QStringLiteral("640")},
            {QStringLiteral("generation/sampler"), QStringLiteral("ddim")},
            {QStringLiteral("generation/count"), QStringLiteral("3")},
        };
        QCOMPARE(keyValues.size(), 20);
        const QString writer = test::binaryPath(QStringLiteral("tests/settings/tp_settings_writer"));
        QTemporaryDir dir;
        for (int trial = 0; trial < 20; ++trial) {
            const QString path = dir.filePath(QStringLiteral("storm-%1.conf").arg(trial));
            std::vector<std::unique_ptr<QProcess>> procs;
            for (const auto& [key, value] : keyValues) {
                auto p = std::make_unique<QProcess>();
                p->start(writer, {path, key, value});
                procs.push_back(std::move(p));
            }
            for (auto& p : procs) {
                QVERIFY(p->waitForFinished(120000));
                QVERIFY2(p->exitCode() == 0, qPrintable(QString::fromLocal8Bit(p->readAllStandardError())));
            }
            QSettings result(path, QSettings::IniFormat);
            QStringList lost;
            for (const auto& [key, value] : keyValues)
                if (result.value(key).toString() != value)
                    lost << key;
            QVERIFY2(
                lost.isEmpty(),
                qPrintable(QStringLiteral("trial %1 lost %2").arg(trial).arg(lost.join(QLatin1Char(' ')))));
            QCOMPARE(
                QDir(dir.path())
                    .entryList({QStringLiteral("storm-%1.conf*").arg(trial)}, QDir::Files | QDir::Hidden),
                QStringList{QStringLiteral("storm-%1.conf").arg(trial)});
        }
    }

    // setOrWarn (the widgets' path) never writes on the caller's thread: the value is there at
    // once, the file follows in the background, a run of changes is one write.
    void widgetChangesAreSavedInTheBackground() {
        const QString path = file(QStringLiteral("background.conf"));
        Settings s(path);
        QSignalSpy changed(&s, &Settings::changed);
        for (int steps = 21; steps <= 40; ++steps)
            s.setOrWarn(keys::Steps, steps);
        s.setOrWarn(keys::Width, 640);
        QCOMPARE(s.value(keys::Steps).toInt(), 40);
        QCOMPARE(changed.count(), 21);
        QVERIFY(!QFile::exists(path));     // nothing written on this thread yet
        QVERIFY(s.set(keys::Height, 768)); // a synchronous set meanwhile keeps the pending values
        QCOMPARE(s.value(keys::Steps).toInt(), 40);
        QTRY_COMPARE(QSettings(path, QSettings::IniFormat).value(keys::Steps).toInt(), 40);
        s.flush();
        QSettings ini(path, QSettings::IniFormat);
        QCOMPARE(ini.value(keys::Width).toInt(), 640);
        QCOMPARE(ini.value(keys::Height).toInt(), 768);
        // Invalid values never reach memory or the file.
        s.setOrWarn(keys::Steps, 0);
        QCOMPARE(s.value(keys::Steps).toInt(), 40);
        // A failing background save is reported.
        writeText(file(QStringLiteral("plain")), "x");
        Settings bad(file(QStringLiteral("plain/sub/x.conf")));
        QSignalSpy failed(&bad, &Settings::saveFailed);
        bad.setOrWarn(keys::Steps, 30);
        QTRY_COMPARE(failed.count(), 1);
        QVERIFY(failed.first().at(0).toString().contains(QStringLiteral("plain")));
    }

    // Reading the value of a failed Result stops the program (release builds too) with its error.
    void failedResultValueIsFatal() {
        const pid_t child = ::fork();
        if (child == 0) {
            ::close(2);                      // keep the test's output clean
            qInstallMessageHandler(nullptr); // Qt's own handler: qFatal aborts, Qt Test does not report
            const Result<int> r = Result<int>::fail(QStringLiteral("no such thing"));
            volatile int v = *r;
            (void)v;
            ::_exit(0); // not reached
        }
        QVERIFY(child > 0);
        int status = 0;
        QCOMPARE(::waitpid(child, &status, 0), child);
        QVERIFY(WIFSIGNALED(status));
        QCOMPARE(WTERMSIG(status), SIGABRT);
        const Result<int> ok = Result<int>::ok(3);
        QCOMPARE(*ok, 3);
        QCOMPARE(Result<int>::fail(QStringLiteral("x")).valueOr(7), 7);
    }

    void parseFromText() {
        Settings s(file(QStringLiteral("parse.conf")));
        QCOMPARE(s.parse(keys::CleanupAfterGeneration, QStringLiteral("off"))->toBool(), false);
        QCOMPARE(s.parse(keys::ModelSearchPaths, QStringLiteral("/x, /y"))->toStringList(),
                 (QStringList{QStringLiteral("/x"), QStringLiteral("/y")}));
        QVERIFY(!s.parse(QStringLiteral("nope/key"), QStringLiteral("1")));
    }
};

QTEST_GUILESS_MAIN(TestSettings)
#include "tst_settings.moc"
