#include "tests/support/TestUtil.h"

#include <QDir>
#include <QProcess>
#include <QProcessEnvironment>

namespace tp::test {

QString dataPath(const QString& relative) {
    return QDir(QStringLiteral(TP_TEST_DATA_DIR)).filePath(relative);
}

QString binaryPath(const QString& relative) {
    return QDir(QStringLiteral(TP_BINARY_DIR)).filePath(relative);
}

ProcessResult runProcess(const QString& program, const QStringList& args, const QStringList& env,
                         int timeoutMs) {
    QProcess p;
    QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
    for (const QString& kv : env)
        e.insert(kv.section(QLatin1Char('='), 0, 0), kv.section(QLatin1Char('='), 1));
    p.setProcessEnvironment(e);
    p.start(program, args);
    ProcessResult r;
    r.finished = p.waitForFinished(timeoutMs);
    if (!r.finished)
        p.kill();
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

} // namespace tp::test
