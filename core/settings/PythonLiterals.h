#pragma once

// A reader for the literal assignments of a Python file (the original app's config.py), without
// executing anything: `NAME = <literal>` where the literal is a string (quoted, triple-quoted,
// implicitly concatenated), a number, True/False/None, or a tuple, list or dict of literals.
// Every other statement (imports, calls such as os.makedirs(...), expressions, blocks) is
// skipped and reported.

#include <QString>
#include <QVariant>
#include <QVector>

namespace tp {

struct PythonAssignment {
    QString name;
    QVariant value; // QString, qint64, double, bool, invalid (None), QVariantList (tuple/list), QVariantMap
    int line = 0;
    QStringList order; // a dict value's keys in the order the file has them (QVariantMap sorts)
};

struct PythonSkipped {
    int line = 0;
    QString text;   // the statement's first line
    QString reason; // "not a literal (a call)", "not an assignment", ...
};

struct PythonLiterals {
    QVector<PythonAssignment> assignments; // in file order; a later one with the same name wins
    QVector<PythonSkipped> skipped;
    QString error; // non-empty: the file could not be read as Python at all (unterminated string, brackets)
    int errorLine = 0;
};

PythonLiterals parsePythonLiterals(const QString& source);

} // namespace tp
