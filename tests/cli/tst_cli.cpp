// Runs the real twistedpic-cli binary and checks exit codes and output.
#include "tests/support/TestUtil.h"

#include <QDir>
#include <QProcess>
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>
#include <vector>

using namespace tp::test;

class TestCli final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString config() const { return m_dir.filePath(QStringLiteral("cli.conf")); }
    ProcessResult cli(const QStringList& args) {
        return runProcess(binaryPath(QStringLiteral("app/twistedpic-cli")),
                          QStringList{QStringLiteral("--config"), config()} + args,
                          {QStringLiteral("XDG_STATE_HOME=") + m_dir.filePath(QStringLiteral("state"))});
    }

private Q_SLOTS:
    void helpListsCommands() {
        const ProcessResult r = cli({QStringLiteral("--help")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains(QStringLiteral("Usage: twistedpic-cli")));
        QVERIFY(r.out.contains(QStringLiteral("settings")));
    }

    void version() {
        const ProcessResult r = cli({QStringLiteral("--version")});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out.trimmed(), QStringLiteral("twistedpic-cli " TWISTEDPIC_VERSION));
    }

    void unknownCommandIsUsageError() {
        const ProcessResult r = cli({QStringLiteral("frobnicate")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains(QStringLiteral("Unknown command 'frobnicate'")));
    }

    void noCommandIsUsageError() {
        const ProcessResult r = cli({});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains(QStringLiteral("Commands:")));
    }

    void settingsSetGetList() {
        ProcessResult r = cli({QStringLiteral("settings"), QStringLiteral("set"),
                               QStringLiteral("gpu/unloadAfterGeneration"), QStringLiteral("true")});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out.trimmed(), QStringLiteral("gpu/unloadAfterGeneration = true"));
        QCOMPARE(QSettings(config(), QSettings::IniFormat)
                     .value(QStringLiteral("gpu/unloadAfterGeneration"))
                     .toBool(),
                 true);

        r = cli(
            {QStringLiteral("settings"), QStringLiteral("get"), QStringLiteral("gpu/unloadAfterGeneration")});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out.trimmed(), QStringLiteral("true"));

        r = cli({QStringLiteral("settings"), QStringLiteral("list")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains(QStringLiteral("gpu/unloadAfterGeneration = true    (default: false)")));
        QVERIFY(r.out.contains(QStringLiteral("gpu/cleanupAfterGeneration = true\n")));
        QVERIFY(!r.out.contains(QStringLiteral("mainWindowGeometry")));

        r = cli({QStringLiteral("settings"), QStringLiteral("reset"),
                 QStringLiteral("gpu/unloadAfterGeneration")});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out.trimmed(), QStringLiteral("gpu/unloadAfterGeneration = false"));
    }

    void settingsRejectsBadInput() {
        ProcessResult r = cli({QStringLiteral("settings"), QStringLiteral("set"),
                               QStringLiteral("generation/steps"), QStringLiteral("0")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.contains(QStringLiteral("outside 1..150")));
        r = cli({QStringLiteral("settings"), QStringLiteral("get"), QStringLiteral("no/such")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.contains(QStringLiteral("Unknown setting")));
        r = cli({QStringLiteral("settings"), QStringLiteral("frob")});
        QCOMPARE(r.exitCode, 2);
        r = cli({QStringLiteral("settings"), QStringLiteral("--bogus")});
        QCOMPARE(r.exitCode, 2);
    }

    // 20 `settings set` of different keys of one file at once: none may be lost (the 20 x 20
    // storm runs in tst_settings through the same Settings class without libtorch's start-up).
    void settingsWriteStormLosesNothing() {
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
        const QString cliPath = binaryPath(QStringLiteral("app/twistedpic-cli"));
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("XDG_STATE_HOME"), m_dir.filePath(QStringLiteral("state")));
        for (int trial = 0; trial < 1; ++trial) {
            const QString path = m_dir.filePath(QStringLiteral("storm-%1.conf").arg(trial));
            std::vector<std::unique_ptr<QProcess>> procs;
            for (const auto& [key, value] : keyValues) {
                auto p = std::make_unique<QProcess>();
                p->setProcessEnvironment(env);
                p->start(cliPath, {QStringLiteral("--config"), path, QStringLiteral("settings"),
                                   QStringLiteral("set"), key, value});
                procs.push_back(std::move(p));
            }
            for (auto& p : procs) {
                QVERIFY(p->waitForFinished(600000)); // 20 libtorch-linked starts on a busy machine
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
                QDir(m_dir.path())
                    .entryList({QStringLiteral("storm-%1.conf*").arg(trial)}, QDir::Files | QDir::Hidden),
                QStringList{QStringLiteral("storm-%1.conf").arg(trial)});
        }
    }

    // `settings get` on a damaged file: the answer on stdout alone, warnings on stderr, the file
    // and its folder untouched; the next `set` keeps one backup and every valid key.
    void readOnlyCommandsNeverWrite() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("TwistedPic.conf"));
        const QByteArray text = "[gpu]\nmemoryCleanup=false\nidleUnloadMinutes=-5\n[generation]\nsteps=33\n"
                                "sampler=ddim\ngarbage\n[generation]\nwidt";
        {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(text);
        }
        const QStringList env{QStringLiteral("XDG_STATE_HOME=") + dir.filePath(QStringLiteral("state"))};
        const QString cliPath = binaryPath(QStringLiteral("app/twistedpic-cli"));
        for (int i = 0; i < 2; ++i) {
            const ProcessResult r = runProcess(cliPath,
                                               {QStringLiteral("--config"), path, QStringLiteral("settings"),
                                                QStringLiteral("get"), QStringLiteral("generation/steps")},
                                               env);
            QCOMPARE(r.exitCode, 0);
            QCOMPARE(r.out, QStringLiteral("33\n")); // $(twistedpic-cli settings get K) is the value alone
            QVERIFY2(r.err.contains(QStringLiteral("warning: Settings file")), qPrintable(r.err));
            QVERIFY(r.err.contains(QStringLiteral("gpu/idleUnloadMinutes")));
            QCOMPARE(r.err.count(QStringLiteral("gpu/idleUnloadMinutes")), 1);
        }
        ProcessResult r = runProcess(
            cliPath, {QStringLiteral("--config"), path, QStringLiteral("settings"), QStringLiteral("list")},
            env);
        QCOMPARE(r.exitCode, 0);
        QVERIFY(!r.out.contains(QStringLiteral("warning")));
        QFile f(path);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), text);
        f.close();
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files | QDir::Hidden),
                 QStringList{QStringLiteral("TwistedPic.conf")});

        r = runProcess(cliPath,
                       {QStringLiteral("--config"), path, QStringLiteral("settings"), QStringLiteral("set"),
                        QStringLiteral("generation/height"), QStringLiteral("768")},
                       env);
        QCOMPARE(r.exitCode, 0);
        r = runProcess(cliPath,
                       {QStringLiteral("--config"), path, QStringLiteral("settings"), QStringLiteral("set"),
                        QStringLiteral("generation/steps"), QStringLiteral("34")},
                       env);
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(
            QDir(dir.path()).entryList({QStringLiteral("TwistedPic.conf.corrupt-*")}, QDir::Files).size(), 1);
        QSettings ini(path, QSettings::IniFormat);
        QCOMPARE(ini.value(QStringLiteral("gpu/cleanupAfterGeneration")).toString(), QStringLiteral("false"));
        QCOMPARE(ini.value(QStringLiteral("generation/sampler")).toString(), QStringLiteral("ddim"));
        QCOMPARE(ini.value(QStringLiteral("generation/steps")).toInt(), 34);
        QCOMPARE(ini.value(QStringLiteral("generation/height")).toInt(), 768);
    }

    void configThatIsNoFileIsRefused() {
        const ProcessResult r =
            runProcess(binaryPath(QStringLiteral("app/twistedpic-cli")),
                       {QStringLiteral("--config"), QStringLiteral("/dev/zero"), QStringLiteral("settings"),
                        QStringLiteral("get"), QStringLiteral("generation/steps")},
                       {}, 20000);
        QVERIFY(r.finished);
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out, QStringLiteral("20\n"));
        QVERIFY(r.err.contains(QStringLiteral("not a regular file")));
    }

    void settingsValuesThatLookLikeOptions() {
        ProcessResult r = cli({QStringLiteral("settings"), QStringLiteral("set"),
                               QStringLiteral("generation/seed"), QStringLiteral("-1")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("-1 is outside 0..9223372036854775807")), qPrintable(r.err));
        QVERIFY(!r.err.contains(QStringLiteral("Unknown option")));
        r = cli({QStringLiteral("settings"), QStringLiteral("set"), QStringLiteral("generation/seed"),
                 QStringLiteral("4294967296")});
        QCOMPARE(r.exitCode, 0);
        r = cli({QStringLiteral("settings"), QStringLiteral("set"), QStringLiteral("generation/guidance"),
                 QStringLiteral("-2.5")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("-2.5 is outside 0..30")), qPrintable(r.err));
        const QString huge(100000, QLatin1Char('7')); // one argument may be 128 KiB at most
        r = cli(
            {QStringLiteral("settings"), QStringLiteral("set"), QStringLiteral("generation/steps"), huge});
        QCOMPARE(r.exitCode, 1);
        QVERIFY(r.err.size() < 400);
    }

    void configFromEnvironment() {
        const QString envConfig = m_dir.filePath(QStringLiteral("env.conf"));
        const ProcessResult r = runProcess(binaryPath(QStringLiteral("app/twistedpic-cli")),
                                           {QStringLiteral("settings"), QStringLiteral("path")},
                                           {QStringLiteral("TWISTEDPIC_CONFIG=") + envConfig});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out.trimmed(), envConfig);
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
