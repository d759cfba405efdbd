#pragma once

// The benchmark framework: `twistedpic-bench SCENARIO [--quick] [--json FILE]`. A scenario is one
// file, bench/Scenario<Name>.cpp, that registers a function with TP_BENCH_SCENARIO; the function
// fills a Report (notes, result fields, tables) that main() prints and writes as JSON.

#include <QJsonObject>
#include <QJsonValue>
#include <QString>
#include <QStringList>
#include <QTextStream>
#include <QVariant>
#include <QVector>

#include <chrono>
#include <functional>
#include <list>
#include <vector>

namespace tp::bench {

struct Options {
    bool quick = false; // a short run (seconds), e.g. for the test suite
    QString jsonPath;   // where the JSON report goes; empty = none
    QStringList extra;  // arguments after the scenario name that main() did not know
};

// A table printed with aligned columns and written to JSON as an array of row objects. A cell
// holding an invalid QVariant prints "n/a" and becomes null; doubles print with the column's
// precision and stay full-precision in JSON.
class Table final {
public:
    struct Column {
        QString key;       // JSON field
        QString header;    // printed heading, with the unit: "unload (ms)"
        int precision = 1; // decimals for doubles
    };
    Table(QString title, QVector<Column> columns);

    const QString& title() const { return m_title; }
    const QVector<Column>& columns() const { return m_columns; }
    // One cell a column, in column order.
    void addRow(const QVariantList& cells);
    int rowCount() const { return static_cast<int>(m_rows.size()); }

    QString text() const;
    QJsonValue json() const; // [ {key: value, ...}, ... ]

private:
    QString cellText(const QVariant& v, int precision) const;
    QString m_title;
    QVector<Column> m_columns;
    std::vector<QVariantList> m_rows;
};

class Report final {
public:
    Report(QString scenario, Options options);

    const Options& options() const { return m_options; }
    // A line printed before the tables and kept in JSON "notes".
    void note(const QString& line);
    // A top-level JSON field of the scenario's results (e.g. "cuda", "cleanup").
    void set(const QString& key, const QJsonValue& value);
    QJsonValue value(const QString& key) const { return m_results.value(key); }
    // Adds a table; JSON: results[key] = rows.
    Table& addTable(const QString& key, QString title, QVector<Table::Column> columns);

    void print(QTextStream& out) const;
    // { scenario, quick, startedAt, durationS, host, torch, gpu, notes, results }
    QJsonObject json() const;
    bool writeJson(const QString& path, QString* error) const;

private:
    QString m_scenario;
    Options m_options;
    QStringList m_notes;
    QJsonObject m_results;
    std::list<std::pair<QString, Table>> m_tables; // stable references
    qint64 m_startedMs = 0;
    std::chrono::steady_clock::time_point m_started;
};

struct Scenario {
    QString name;
    QString summary;
    std::function<int(Report&)> run; // exit code; 0 = measured (or explained why not)
};

std::vector<Scenario>& scenarios();

struct ScenarioRegistrar {
    explicit ScenarioRegistrar(Scenario s) { scenarios().push_back(std::move(s)); }
};

// Small helpers for timing.
using Clock = std::chrono::steady_clock;
inline double msSince(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}
double median(std::vector<double> values);

} // namespace tp::bench

#define TP_BENCH_CONCAT2(a, b) a##b
#define TP_BENCH_CONCAT(a, b) TP_BENCH_CONCAT2(a, b)
#define TP_BENCH_SCENARIO(name, summary, fn)                                                                 \
    static const ::tp::bench::ScenarioRegistrar TP_BENCH_CONCAT(tp_bench_scenario_, __LINE__)(               \
        ::tp::bench::Scenario{QStringLiteral(name), QStringLiteral(summary), fn})
