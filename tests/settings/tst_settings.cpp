#include "core/settings/Settings.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

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
