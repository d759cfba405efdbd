#include "bench/Bench.h"

#include "core/gpu/GpuInfo.h"
#include "core/gpu/SystemVramSource.h"
#include "core/gpu/VramJson.h"

#include <QDateTime>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QSaveFile>
#include <QSysInfo>
#include <QThread>

#include <algorithm>

namespace tp::bench {

std::vector<Scenario>& scenarios() {
    static std::vector<Scenario> all;
    return all;
}

double median(std::vector<double> values) {
    if (values.empty())
        return 0;
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// ---- Table -------------------------------------------------------------------------------

Table::Table(QString title, QVector<Column> columns)
    : m_title(std::move(title))
    , m_columns(std::move(columns)) {}

void Table::addRow(const QVariantList& cells) {
    QVariantList row = cells;
    while (row.size() < m_columns.size())
        row.push_back(QVariant());
    m_rows.push_back(row.mid(0, m_columns.size()));
}

QString Table::cellText(const QVariant& v, int precision) const {
    if (!v.isValid() || v.isNull())
        return QStringLiteral("n/a");
    switch (v.typeId()) {
    case QMetaType::Double:
    case QMetaType::Float:
        return QString::number(v.toDouble(), 'f', precision);
    case QMetaType::Bool:
        return v.toBool() ? QStringLiteral("yes") : QStringLiteral("no");
    default:
        return v.toString();
    }
}

QString Table::text() const {
    QVector<QStringList> cells;
    QVector<int> widths;
    for (const Column& c : m_columns)
        widths.push_back(static_cast<int>(c.header.size()));
    for (const QVariantList& row : m_rows) {
        QStringList texts;
        for (int i = 0; i < m_columns.size(); ++i) {
            texts << cellText(row[i], m_columns[i].precision);
            widths[i] = std::max(widths[i], static_cast<int>(texts.last().size()));
        }
        cells.push_back(texts);
    }
    QString out = m_title + QLatin1Char('\n');
    QStringList header;
    QStringList rule;
    for (int i = 0; i < m_columns.size(); ++i) {
        header << m_columns[i].header.rightJustified(widths[i]);
        rule << QString(widths[i], QLatin1Char('-'));
    }
    out += header.join(QStringLiteral("  ")) + QLatin1Char('\n') + rule.join(QStringLiteral("  ")) +
           QLatin1Char('\n');
    for (const QStringList& row : cells) {
        QStringList padded;
        for (int i = 0; i < row.size(); ++i)
            padded << row[i].rightJustified(widths[i]);
        out += padded.join(QStringLiteral("  ")) + QLatin1Char('\n');
    }
    return out;
}

QJsonValue Table::json() const {
    QJsonArray rows;
    for (const QVariantList& row : m_rows) {
        QJsonObject o;
        for (int i = 0; i < m_columns.size(); ++i)
            o.insert(m_columns[i].key,
                     row[i].isValid() && !row[i].isNull() ? QJsonValue::fromVariant(row[i]) : QJsonValue());
        rows.append(o);
    }
    return rows;
}

// ---- Report ------------------------------------------------------------------------------

Report::Report(QString scenario, Options options)
    : m_scenario(std::move(scenario))
    , m_options(std::move(options))
    , m_startedMs(QDateTime::currentMSecsSinceEpoch())
    , m_started(Clock::now()) {}

void Report::note(const QString& line) {
    m_notes << line;
}

void Report::set(const QString& key, const QJsonValue& value) {
    m_results.insert(key, value);
}

Table& Report::addTable(const QString& key, QString title, QVector<Table::Column> columns) {
    m_tables.emplace_back(key, Table(std::move(title), std::move(columns)));
    return m_tables.back().second;
}

void Report::print(QTextStream& out) const {
    out << "== " << m_scenario << (m_options.quick ? " (quick)" : "") << " ==\n";
    for (const QString& n : m_notes)
        out << n << "\n";
    for (const auto& [key, table] : m_tables)
        out << "\n" << table.text();
    out.flush();
}

QJsonObject Report::json() const {
    QJsonObject results = m_results;
    for (const auto& [key, table] : m_tables)
        results.insert(key, table.json());

    const gpu::TorchBuildInfo t = gpu::torchBuildInfo();
    QFile meminfo(QStringLiteral("/proc/meminfo"));
    qint64 ramBytes = -1;
    if (meminfo.open(QIODevice::ReadOnly)) {
        const QByteArray first = meminfo.readLine(); // "MemTotal:  131072000 kB"
        ramBytes = first.simplified().split(' ').value(1).toLongLong() * 1024;
    }
    gpu::SystemVramSource gpuSource; // never creates a CUDA context
    return QJsonObject{
        {QStringLiteral("scenario"), m_scenario},
        {QStringLiteral("quick"), m_options.quick},
        {QStringLiteral("startedAt"),
         QDateTime::fromMSecsSinceEpoch(m_startedMs).toString(Qt::ISODateWithMs)},
        {QStringLiteral("durationS"), msSince(m_started) / 1000.0},
        {QStringLiteral("host"), QJsonObject{{QStringLiteral("name"), QSysInfo::machineHostName()},
                                             {QStringLiteral("os"), QSysInfo::prettyProductName()},
                                             {QStringLiteral("cpuThreads"), QThread::idealThreadCount()},
                                             {QStringLiteral("ramBytes"), static_cast<double>(ramBytes)}}},
        {QStringLiteral("torch"), QJsonObject{{QStringLiteral("version"), t.torchVersion},
                                              {QStringLiteral("cudaBuild"), t.cudaBuild},
                                              {QStringLiteral("cudaRuntime"), t.cudaRuntimeVersion},
                                              {QStringLiteral("cudaAvailable"), t.cudaAvailable},
                                              {QStringLiteral("noCudaReason"), t.noCudaReason}}},
        {QStringLiteral("gpu"), gpu::toJson(gpuSource.sample())},
        {QStringLiteral("notes"), QJsonArray::fromStringList(m_notes)},
        {QStringLiteral("results"), results}};
}

bool Report::writeJson(const QString& path, QString* error) const {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        *error = QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    file.write(QJsonDocument(json()).toJson(QJsonDocument::Indented));
    if (!file.commit()) {
        *error = QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

} // namespace tp::bench
