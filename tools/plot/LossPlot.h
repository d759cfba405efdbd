#pragma once

#include "core/common/Result.h"

#include <QImage>
#include <QPointF>
#include <QString>
#include <QStringList>
#include <QVector>

// Loss curves from the trainer's CSV files, painted with QPainter (no Python needed).
namespace tp::plot {

struct Series {
    QString name;
    QVector<QPointF> points; // x = first CSV column (the step); smoothed when asked
    QVector<QPointF> raw;    // the unsmoothed values (empty when not smoothed)
};

struct Chart {
    QString title;
    QString xLabel;
    QVector<Series> series;
    bool logY = true;
};

// Reads a CSV with a header row; x is the first column. `columns` picks the series (empty:
// every column whose name contains "loss"). `smoothing` > 0 applies an exponential moving
// average with that many steps of memory (the raw values stay visible as a faint line).
Result<Chart> readCsv(const QString& path, const QStringList& columns = {}, int smoothing = 0);

// One panel per chart, stacked vertically, each `panelWidth` x `panelHeight` pixels.
QImage renderCharts(const QVector<Chart>& charts, int panelWidth = 900, int panelHeight = 420);

// "Nice" axis ticks (1, 2, 5 x 10^k) covering [lo, hi], about `count` of them.
QVector<double> niceTicks(double lo, double hi, int count = 6);

} // namespace tp::plot
