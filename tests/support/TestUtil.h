#pragma once

#include <QString>
#include <QStringList>

namespace tp::test {

// tests/data/<relative>
QString dataPath(const QString& relative);
// A built executable of this project, e.g. "app/twistedpic-cli".
QString binaryPath(const QString& relative);

struct ProcessResult {
    int exitCode = -1;
    QString out;
    QString err;
    bool finished = false;
};
// Runs a program to completion (default 120 s) with extra environment "VAR=value" entries.
ProcessResult runProcess(const QString& program, const QStringList& args, const QStringList& env = {},
                         int timeoutMs = 120000);

} // namespace tp::test
