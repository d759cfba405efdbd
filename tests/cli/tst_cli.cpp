// Runs the real twistedpic-cli binary and checks exit codes and output.
#include "tests/support/TestUtil.h"

#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>

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
