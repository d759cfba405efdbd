#include "tools/plot/LossPlot.h"

#include <QFile>
#include <QFontMetrics>
#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>
#include <limits>

namespace tp::plot {

namespace {

const QColor kColours[] = {QColor(31, 119, 180), QColor(255, 127, 14),  QColor(44, 160, 44),
                           QColor(214, 39, 40),  QColor(148, 103, 189), QColor(140, 86, 75)};

QString tickLabel(double v) {
    if (v == 0.0)
        return QStringLiteral("0");
    const double a = std::abs(v);
    if (a >= 1e5 || a < 1e-3)
        return QString::number(v, 'e', 0);
    return QString::number(v, 'g', 4);
}

} // namespace

Result<Chart> readCsv(const QString& path, const QStringList& columns, int smoothing) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text))
        return Result<Chart>::fail(QStringLiteral("Could not open %1: %2").arg(path, f.errorString()));
    const QStringList header = QString::fromUtf8(f.readLine()).trimmed().split(QLatin1Char(','));
    if (header.size() < 2)
        return Result<Chart>::fail(
            QStringLiteral("%1 has no CSV header with at least two columns.").arg(path));
    QVector<int> picked;
    for (int i = 1; i < header.size(); ++i) {
        const bool wanted =
            columns.isEmpty() ? header[i].contains(QLatin1String("loss")) : columns.contains(header[i]);
        if (wanted)
            picked.append(i);
    }
    for (const QString& c : columns)
        if (!header.contains(c))
            return Result<Chart>::fail(QStringLiteral("%1 has no column \"%2\" (columns: %3).")
                                           .arg(path, c, header.join(QLatin1String(", "))));
    if (picked.isEmpty())
        return Result<Chart>::fail(
            QStringLiteral("%1: no column to plot (name some with --columns).").arg(path));

    Chart chart;
    chart.xLabel = header.first();
    for (int i : picked)
        chart.series.append(Series{header[i], {}, {}});
    int lineNo = 1;
    while (!f.atEnd()) {
        ++lineNo;
        const QString line = QString::fromUtf8(f.readLine()).trimmed();
        if (line.isEmpty())
            continue;
        const QStringList cells = line.split(QLatin1Char(','));
        bool ok = false;
        const double x = cells.value(0).toDouble(&ok);
        if (!ok)
            return Result<Chart>::fail(QStringLiteral("%1, line %2: \"%3\" is not a number.")
                                           .arg(path)
                                           .arg(lineNo)
                                           .arg(cells.value(0)));
        for (int s = 0; s < picked.size(); ++s) {
            const double y = cells.value(picked[s]).toDouble(&ok);
            if (ok && std::isfinite(y))
                chart.series[s].points.append(QPointF(x, y));
        }
    }
    if (smoothing > 0) {
        const double keep = 1.0 - 1.0 / double(smoothing);
        for (Series& s : chart.series) {
            s.raw = s.points;
            double avg = 0.0;
            for (int i = 0; i < s.points.size(); ++i) {
                avg = keep * avg + (1.0 - keep) * s.points[i].y();
                // Bias correction, as in Adam, so the start is not pulled towards zero.
                s.points[i].setY(avg / (1.0 - std::pow(keep, i + 1)));
            }
        }
    }
    return Result<Chart>::ok(chart);
}

QVector<double> niceTicks(double lo, double hi, int count) {
    QVector<double> ticks;
    if (!(hi > lo) || count < 2)
        return {lo};
    const double raw = (hi - lo) / (count - 1);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    // The 1-2-5 step nearest (by ratio) to the raw one: about `count` ticks, never far fewer.
    double step = mag;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (std::abs(std::log(m * mag / raw)) < std::abs(std::log(step / raw)))
            step = m * mag;
    // Tick i is i * step, computed so that decimal steps give the shortest decimals (0.3, not
    // 0.30000000000000004): for steps below 1, as an integer count of 1/10^k.
    const double inverse = step < 1.0 ? std::round(1.0 / mag) : 0.0;
    const double units = step < 1.0 ? std::round(step * inverse) : step;
    for (long long i = static_cast<long long>(std::ceil(lo / step - 1e-9)); i * step <= hi + step * 1e-9;
         ++i) {
        const double v = step < 1.0 ? double(i) * units / inverse : double(i) * units;
        ticks.append(v == 0.0 ? 0.0 : v);
    }
    return ticks;
}

QImage renderCharts(const QVector<Chart>& charts, int panelWidth, int panelHeight) {
    QImage image(panelWidth, panelHeight * std::max(1, int(charts.size())), QImage::Format_RGB32);
    image.fill(Qt::white);
    QPainter p(&image);
    p.setRenderHint(QPainter::Antialiasing);
    const QFontMetrics fm(p.font());

    for (int c = 0; c < charts.size(); ++c) {
        const Chart& chart = charts[c];
        const QRectF area(70, c * panelHeight + 34, panelWidth - 90, panelHeight - 80);
        double x0 = std::numeric_limits<double>::max(), x1 = std::numeric_limits<double>::lowest();
        double y0 = x0, y1 = x1;
        for (const Series& s : chart.series)
            for (const QVector<QPointF>* pts : {&s.points, &s.raw})
                for (const QPointF& pt : *pts) {
                    if (chart.logY && pt.y() <= 0)
                        continue;
                    x0 = std::min(x0, pt.x());
                    x1 = std::max(x1, pt.x());
                    y0 = std::min(y0, pt.y());
                    y1 = std::max(y1, pt.y());
                }
        p.setPen(Qt::black);
        p.drawText(QRectF(0, c * panelHeight + 6, panelWidth, 24), Qt::AlignCenter, chart.title);
        if (x0 > x1) {
            p.drawText(area, Qt::AlignCenter, QStringLiteral("no data"));
            continue;
        }
        if (x1 == x0)
            x1 = x0 + 1;
        const bool logY = chart.logY;
        auto ty = [&](double v) { return logY ? std::log10(v) : v; };
        double ly0 = ty(y0), ly1 = ty(y1);
        if (logY) {
            ly0 = std::floor(ly0 * 4) / 4;
            ly1 = std::ceil(ly1 * 4) / 4;
        }
        if (ly1 <= ly0)
            ly1 = ly0 + 1;
        auto map = [&](const QPointF& pt) {
            return QPointF(area.left() + (pt.x() - x0) / (x1 - x0) * area.width(),
                           area.bottom() - (ty(pt.y()) - ly0) / (ly1 - ly0) * area.height());
        };

        // Grid and labels.
        p.setPen(QPen(QColor(225, 225, 225), 1));
        QVector<double> yTicks;
        if (logY) {
            for (double e = std::floor(ly0); e <= std::ceil(ly1); e += 1.0)
                for (double m : {1.0, 2.0, 5.0}) {
                    const double v = m * std::pow(10.0, e);
                    if (std::log10(v) >= ly0 - 1e-9 && std::log10(v) <= ly1 + 1e-9)
                        yTicks.append(v);
                }
        } else {
            yTicks = niceTicks(ly0, ly1);
        }
        for (double v : yTicks) {
            const double y = map(QPointF(x0, v)).y();
            p.setPen(QPen(QColor(225, 225, 225), 1));
            p.drawLine(QPointF(area.left(), y), QPointF(area.right(), y));
            p.setPen(Qt::black);
            p.drawText(QRectF(0, y - 8, area.left() - 6, 16), Qt::AlignRight | Qt::AlignVCenter,
                       tickLabel(v));
        }
        for (double v : niceTicks(x0, x1, 8)) {
            const double x = map(QPointF(v, logY ? y0 : ly0)).x();
            p.setPen(QPen(QColor(225, 225, 225), 1));
            p.drawLine(QPointF(x, area.top()), QPointF(x, area.bottom()));
            p.setPen(Qt::black);
            p.drawText(QRectF(x - 40, area.bottom() + 4, 80, 16), Qt::AlignHCenter | Qt::AlignTop,
                       tickLabel(v));
        }
        p.drawText(QRectF(area.left(), area.bottom() + 22, area.width(), 18), Qt::AlignHCenter, chart.xLabel);
        p.setPen(QPen(Qt::black, 1));
        p.drawRect(area);

        // Curves, then the legend.
        p.save();
        p.setClipRect(area);
        for (int s = 0; s < chart.series.size(); ++s) {
            const QColor colour = kColours[s % 6];
            for (bool faint : {true, false}) {
                const QVector<QPointF>& pts = faint ? chart.series[s].raw : chart.series[s].points;
                QPainterPath path;
                bool started = false;
                for (const QPointF& pt : pts) {
                    if (logY && pt.y() <= 0)
                        continue;
                    if (!started)
                        path.moveTo(map(pt));
                    else
                        path.lineTo(map(pt));
                    started = true;
                }
                QColor col = colour;
                if (faint)
                    col.setAlpha(60);
                p.setPen(QPen(col, faint ? 1.0 : 1.8));
                p.drawPath(path);
            }
        }
        p.restore();
        double lx = area.right() - 10;
        for (int s = int(chart.series.size()) - 1; s >= 0; --s) {
            const QString name = chart.series[s].name;
            const int w = fm.horizontalAdvance(name);
            lx -= w + 30;
            p.setPen(QPen(kColours[s % 6], 3));
            p.drawLine(QPointF(lx, area.top() + 14), QPointF(lx + 18, area.top() + 14));
            p.setPen(Qt::black);
            p.drawText(QPointF(lx + 22, area.top() + 14 + fm.ascent() / 2.0 - 1), name);
        }
    }
    p.end();
    return image;
}

} // namespace tp::plot
