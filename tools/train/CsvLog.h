#pragma once

#include "core/common/Result.h"

#include <QFile>
#include <QStringList>
#include <QVector>

namespace tp::train {

// One CSV file of loss curves (header row, then one row per logged step). On resume the
// rows after the checkpoint's step are dropped, so the curve has no duplicates.
class CsvLog final {
public:
    Status open(const QString& path, const QStringList& columns, bool resume, int64_t resumeStep);
    void row(int64_t step, const QVector<double>& values);

private:
    QFile m_file;
    int m_columns = 0;
};

// Peak learning rate with linear warm-up, then cosine decay to `floor` x peak.
double learningRate(double peak, int64_t step, int64_t total, int64_t warmup, double floor = 0.05);

} // namespace tp::train
