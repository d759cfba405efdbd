// Every `twistedpic-cli` command in docs/GPU_MEMORY_TROUBLESHOOTING.md's shell blocks runs as
// written (with a private config file and home) and succeeds: the guide must not rot.
#include "tests/support/TestUtil.h"

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

using namespace tp::test;

namespace {

// The lines of ```sh blocks that start with `command `.
QStringList shellLines(const QString& markdown, const QString& command) {
    QStringList lines;
    bool inShell = false;
    for (const QString& raw : markdown.split(QLatin1Char('\n'))) {
        const QString line = raw.trimmed();
        if (line.startsWith(QLatin1String("```"))) {
            inShell = !inShell && line.mid(3).trimmed() == QLatin1String("sh");
            continue;
        }
        if (inShell && line.startsWith(command + QLatin1Char(' ')))
            lines << line;
    }
    return lines;
}

} // namespace

class TestDocs final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

private Q_SLOTS:
    void troubleshootingCommandsRun_data() {
        QTest::addColumn<QString>("line");
        QFile f(QStringLiteral(TP_SOURCE_DIR "/docs/GPU_MEMORY_TROUBLESHOOTING.md"));
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QStringList lines =
            shellLines(QString::fromUtf8(f.readAll()), QStringLiteral("twistedpic-cli"));
        QVERIFY(lines.size() >= 8);
        for (const QString& line : lines)
            QTest::newRow(qPrintable(line)) << line;
    }
    void troubleshootingCommandsRun() {
        QFETCH(QString, line);
        QStringList args = QProcess::splitCommand(line);
        args.removeFirst(); // twistedpic-cli
        const ProcessResult r =
            runProcess(binaryPath(QStringLiteral("app/twistedpic-cli")), args,
                       {QStringLiteral("TWISTEDPIC_CONFIG=") + m_dir.filePath(QStringLiteral("docs.conf")),
                        QStringLiteral("HOME=") + m_dir.filePath(QStringLiteral("home")),
                        QStringLiteral("XDG_STATE_HOME=") + m_dir.filePath(QStringLiteral("state"))},
                       240000);
        QVERIFY2(r.finished, qPrintable(line));
        QVERIFY2(r.exitCode == 0, qPrintable(line + QStringLiteral("\n") + r.out + r.err));
        QVERIFY2(!QString(r.out + r.err).trimmed().isEmpty(), qPrintable(line));
    }
};

QTEST_GUILESS_MAIN(TestDocs)
#include "tst_docs.moc"
