#include "tools/train/CsvLog.h"

#include <QTextStream>

#include <algorithm>
#include <cmath>

namespace tp::train {

Status CsvLog::open(const QString& path, const QStringList& columns, bool resume, int64_t resumeStep) {
    m_columns = int(columns.size());
    const QByteArray header = (QStringLiteral("step,") + columns.join(QLatin1Char(','))).toUtf8() + '\n';
    QByteArray kept = header;
    if (resume && m_file.fileName().isEmpty()) {
        QFile old(path);
        if (old.open(QIODevice::ReadOnly)) {
            const QList<QByteArray> lines = old.readAll().split('\n');
            for (int i = 1; i < lines.size(); ++i) {
                bool ok = false;
                const qint64 step = lines[i].split(',').value(0).toLongLong(&ok);
                if (ok && step <= resumeStep)
                    kept += lines[i] + '\n';
            }
        }
    }
    m_file.setFileName(path);
    if (!m_file.open(QIODevice::WriteOnly | QIODevice::Truncate) || m_file.write(kept) != kept.size())
        return Status::fail(
            QStringLiteral("Could not write the loss log %1: %2").arg(path, m_file.errorString()));
    m_file.flush();
    return Status::ok();
}

void CsvLog::row(int64_t step, const QVector<double>& values) {
    QByteArray line = QByteArray::number(qint64(step));
    for (int i = 0; i < m_columns; ++i)
        line += ',' + QByteArray::number(values.value(i), 'g', 7);
    line += '\n';
    m_file.write(line);
    m_file.flush();
}

double learningRate(double peak, int64_t step, int64_t total, int64_t warmup, double floor) {
    if (warmup > 0 && step < warmup)
        return peak * double(step + 1) / double(warmup);
    const double span = double(std::max<int64_t>(1, total - warmup));
    const double progress = std::clamp(double(step - warmup) / span, 0.0, 1.0);
    const double pi = 3.14159265358979323846;
    return peak * (floor + (1.0 - floor) * 0.5 * (1.0 + std::cos(pi * progress)));
}

} // namespace tp::train
