#include "ui/VramGraph.h"

#include "ui/Units.h"

#include <QDateTime>
#include <QEvent>
#include <QLocale>
#include <QMouseEvent>
#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>

namespace tp::ui {
namespace {

constexpr double MiB = 1024.0 * 1024.0;
constexpr double GiB = 1024.0 * MiB;
constexpr int kMargin = 6;
constexpr size_t kMaxPoints = 40000; // 15 min at 25 samples a second

// A top value and a tick step from 1, 2, 2.5, 4, 5 x 10^n of MiB or GiB, about 5 ticks.
void niceScale(double maxBytes, double* top, double* step, bool* gib) {
    *gib = maxBytes >= 1.5 * GiB;
    const double unit = *gib ? GiB : MiB;
    const double v = std::max(maxBytes / unit, *gib ? 1.0 : 64.0);
    const double raw = v / 5.0;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double s = 10 * mag;
    for (double m : {1.0, 2.0, 2.5, 4.0, 5.0, 10.0}) {
        if (m * mag >= raw) {
            s = m * mag;
            break;
        }
    }
    if (!*gib)
        s = std::max(s, 1.0);
    *step = s * unit;
    *top = std::ceil(v / s - 1e-9) * s * unit;
}

QString tickLabel(double bytes, bool gib) {
    const QLocale locale;
    if (gib)
        return VramGraph::tr("%1 GiB").arg(locale.toString(bytes / GiB, 'g', 4));
    return VramGraph::tr("%1 MiB").arg(locale.toString(qRound64(bytes / MiB)));
}

QString relativeTime(qint64 ms) {
    const qint64 s = qRound64(ms / 1000.0);
    if (s == 0)
        return VramGraph::tr("now");
    if (s % 60 == 0)
        return VramGraph::tr("−%1 min").arg(s / 60);
    return VramGraph::tr("−%1 s").arg(s);
}

} // namespace

VramGraph::VramGraph(QWidget* parent)
    : QWidget(parent) {
    setMouseTracking(true);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setAccessibleName(tr("GPU memory graph"));
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

QColor VramGraph::seriesColor(Series series, int ollamaIndex) {
    switch (series) {
    case Series::DeviceUsed:
        return QColor(0x2f, 0x6f, 0xd6);
    case Series::DeviceTotal:
        return QColor(0x70, 0x70, 0x70);
    case Series::SelfReserved:
        return QColor(0xe6, 0x7e, 0x22);
    case Series::SelfAllocated:
        return QColor(0x9b, 0x4d, 0xca);
    case Series::Other:
        return QColor(0x8d, 0x6e, 0x63);
    case Series::Ollama: {
        static const QColor palette[] = {QColor(0x2e, 0x9e, 0x5b), QColor(0x00, 0xa0, 0xa8),
                                         QColor(0x7c, 0xb3, 0x42), QColor(0x00, 0x79, 0x6b),
                                         QColor(0x55, 0x8b, 0x2f)};
        return palette[ollamaIndex % int(std::size(palette))];
    }
    }
    return Qt::black;
}

QColor VramGraph::markerColor(engine::MemoryEvent::Kind kind) {
    using K = engine::MemoryEvent::Kind;
    switch (kind) {
    case K::GenerationStart:
    case K::GenerationEnd:
        return QColor(0x54, 0x6e, 0x7a);
    case K::Cleanup:
        return QColor(0xd8, 0x1b, 0x60);
    case K::Unload:
        return QColor(0xc6, 0x28, 0x28);
    case K::Load:
    case K::Reload:
        return QColor(0xf9, 0xa8, 0x25);
    case K::OutOfMemory:
        return QColor(0xb7, 0x1c, 0x1c);
    }
    return Qt::black;
}

QColor VramGraph::budgetColor() {
    return QColor(0xe5, 0x39, 0x35);
}

void VramGraph::setBudget(qint64 budgetBytes, qint64 predictedPeakBytes) {
    budgetBytes = budgetBytes < 0 ? -1 : budgetBytes;
    predictedPeakBytes = budgetBytes < 0 || predictedPeakBytes < 0 ? -1 : predictedPeakBytes;
    if (budgetBytes == m_budget && predictedPeakBytes == m_predictedPeak)
        return;
    m_budget = budgetBytes;
    m_predictedPeak = predictedPeakBytes;
    update();
}

void VramGraph::setWindowSeconds(int seconds) {
    seconds = std::clamp(seconds, 10, MaxWindowSeconds);
    if (seconds == m_windowSeconds)
        return;
    m_windowSeconds = seconds;
    update();
}

void VramGraph::setDeviceIndex(int index) {
    m_deviceIndex = index;
    update();
}

VramGraph::Point VramGraph::toPoint(const gpu::VramSample& s) {
    Point p;
    p.t = s.msecsSinceEpoch;
    p.gpu = s.gpuAvailable && !s.devices.isEmpty();
    if (!s.gpuAvailable)
        m_noGpuReason = s.noGpuReason;
    if (!p.gpu)
        return p;
    const gpu::DeviceSample* dev = &s.devices.first();
    for (const gpu::DeviceSample& d : s.devices)
        if (d.index == m_deviceIndex)
            dev = &d;
    m_deviceName = dev->name;
    if (dev->totalBytes > 0) {
        p.total = dev->totalBytes;
        p.used = dev->usedBytes;
    }
    if (s.self.valid) {
        p.reserved = s.self.reservedBytes;
        p.allocated = s.self.allocatedBytes;
    }
    if (dev->processesValid) {
        qint64 other = 0;
        for (const gpu::GpuProcess& proc : dev->processes) {
            if (proc.isSelf || proc.usedBytes < 0)
                continue;
            if (!proc.isOllama) {
                other += proc.usedBytes;
                continue;
            }
            int index = -1;
            for (int i = 0; i < m_ollama.size(); ++i)
                if (m_ollama[i].pid == proc.pid)
                    index = i;
            if (index < 0) {
                m_ollama.push_back({proc.pid, proc.name});
                index = m_ollama.size() - 1;
            }
            p.ollama.push_back({index, proc.usedBytes});
        }
        p.other = other;
    }
    return p;
}

void VramGraph::append(Point p) {
    // Samples come in time order; one from the past (clock change) restarts the history.
    if (!m_points.empty() && p.t < m_points.back().t)
        m_points.clear();
    m_points.push_back(std::move(p));
}

void VramGraph::trim() {
    const qint64 newest = rightTime();
    const qint64 keepFrom = newest - qint64(MaxWindowSeconds + 5) * 1000;
    while (m_points.size() > 1 && (m_points.front().t < keepFrom || m_points.size() > kMaxPoints))
        m_points.pop_front();
    while (!m_events.empty() && m_events.front().msecsSinceEpoch < keepFrom)
        m_events.pop_front();
}

void VramGraph::addSample(const gpu::VramSample& sample) {
    append(toPoint(sample));
    trim();
    if (!m_points.empty() && m_points.back().gpu && m_points.back().used >= 0)
        setAccessibleDescription(tr("%1 of %2 in use on %3")
                                     .arg(formatBytes(double(m_points.back().used)),
                                          formatBytes(double(m_points.back().total)), m_deviceName));
    update();
}

void VramGraph::setHistory(const QVector<gpu::VramSample>& samples) {
    m_points.clear();
    for (const gpu::VramSample& s : samples)
        append(toPoint(s));
    trim();
    update();
}

void VramGraph::addEvent(const engine::MemoryEvent& event) {
    auto at = std::upper_bound(m_events.begin(), m_events.end(), event.msecsSinceEpoch,
                               [](qint64 t, const engine::MemoryEvent& e) { return t < e.msecsSinceEpoch; });
    m_events.insert(at, event);
    trim();
    update();
}

void VramGraph::clear() {
    m_points.clear();
    m_events.clear();
    m_ollama.clear();
    update();
}

qint64 VramGraph::rightTime() const {
    qint64 t = m_points.empty() ? 0 : m_points.back().t;
    if (!m_events.empty())
        t = std::max(t, m_events.back().msecsSinceEpoch);
    return t;
}

QRectF VramGraph::plotRect() const {
    return m_plot;
}

double VramGraph::xForTime(qint64 t) const {
    return m_plot.left() + double(t - leftTime()) / (m_windowSeconds * 1000.0) * m_plot.width();
}

double VramGraph::yForBytes(double bytes) const {
    return m_plot.bottom() - bytes / m_yMax * m_plot.height();
}

QString VramGraph::seriesName(Series s) const {
    switch (s) {
    case Series::DeviceUsed:
        return tr("Device used");
    case Series::DeviceTotal:
        return tr("Total");
    case Series::SelfReserved:
        return tr("TwistedPic reserved");
    case Series::SelfAllocated:
        return tr("TwistedPic allocated");
    case Series::Other:
        return tr("Other processes");
    case Series::Ollama:
        return tr("Ollama");
    }
    return {};
}

QVector<VramGraph::LegendItem> VramGraph::legendItems() const {
    const qint64 left = leftTime();
    bool used = false, total = false, reserved = false, allocated = false, other = false;
    QVector<bool> ollama(m_ollama.size(), false);
    for (auto it = m_points.rbegin(); it != m_points.rend() && it->t >= left; ++it) {
        used |= it->used >= 0;
        total |= it->total >= 0;
        reserved |= it->reserved >= 0;
        allocated |= it->allocated >= 0;
        other |= it->other >= 0;
        for (const auto& o : it->ollama)
            ollama[o.first] = true;
    }
    QVector<LegendItem> items;
    if (used)
        items.push_back({seriesName(Series::DeviceUsed), seriesColor(Series::DeviceUsed)});
    if (total && !m_totalOffScale)
        items.push_back({seriesName(Series::DeviceTotal), seriesColor(Series::DeviceTotal), true});
    if (reserved)
        items.push_back({seriesName(Series::SelfReserved), seriesColor(Series::SelfReserved)});
    if (allocated)
        items.push_back({seriesName(Series::SelfAllocated), seriesColor(Series::SelfAllocated)});
    for (int i = 0; i < ollama.size(); ++i)
        if (ollama[i])
            items.push_back({tr("Ollama (pid %1)").arg(m_ollama[i].pid), seriesColor(Series::Ollama, i)});
    if (other)
        items.push_back({seriesName(Series::Other), seriesColor(Series::Other)});
    return items;
}

void VramGraph::layout(const QFontMetrics& fm, const QVector<LegendItem>& legend) {
    // Legend rows across the top.
    const double lineH = fm.height();
    double x = 0, rows = legend.isEmpty() ? 0 : 1;
    const double avail = width() - 2 * kMargin;
    for (const LegendItem& item : legend) {
        const double w = 18 + fm.horizontalAdvance(item.text) + 14;
        if (x > 0 && x + w > avail) {
            rows += 1;
            x = 0;
        }
        x += w;
    }
    m_legendRect = QRectF(kMargin, kMargin, avail, rows * lineH);

    // Y scale over what is visible (the total, when known, is the ceiling).
    // On a card far larger than what is in use (a 140 GiB H200 holding 3 GiB) the scale follows
    // the use instead, and the total line, off the scale, is not drawn (the panel states it).
    double maxBytes = 0, maxTotal = 0;
    const qint64 left = leftTime();
    for (auto it = m_points.rbegin(); it != m_points.rend() && it->t >= left - 60000; ++it) {
        maxBytes = std::max(
            {maxBytes, double(it->used), double(it->reserved), double(it->allocated), double(it->other)});
        maxTotal = std::max(maxTotal, double(it->total));
        for (const auto& o : it->ollama)
            maxBytes = std::max(maxBytes, double(o.second));
    }
    m_totalOffScale = maxBytes > 0 && maxTotal > 16 * maxBytes;
    double scaleBytes = m_totalOffScale ? maxBytes * 1.25 : std::max(maxBytes, maxTotal);
    // The budget is on the scale (normally below the total already), unless the scale follows the
    // use and the budget is as far above it as the total: then it is a note at the top.
    m_budgetOffScale = false;
    if (m_budget >= 0) {
        if (m_totalOffScale && double(m_budget) > 16 * maxBytes)
            m_budgetOffScale = true;
        else
            scaleBytes = std::max(scaleBytes, m_totalOffScale ? m_budget * 1.1 : double(m_budget));
    }
    niceScale(scaleBytes, &m_yMax, &m_yStep, &m_gib);

    double labelW = 0;
    for (double v = 0; v <= m_yMax + 1; v += m_yStep)
        labelW = std::max(labelW, double(fm.horizontalAdvance(tickLabel(v, m_gib))));
    const double top = m_legendRect.bottom() + (rows > 0 ? 8 : 2) + lineH / 2;
    const double bottom = height() - kMargin - lineH * 1.5;
    m_plot = QRectF(QPointF(kMargin + labelW + 6, top),
                    QPointF(width() - kMargin - fm.horizontalAdvance(tr("now")) / 2.0, bottom));
}

void VramGraph::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.fillRect(rect(), palette().base());
    p.setRenderHint(QPainter::Antialiasing, true);

    if (m_points.empty()) {
        paintMessage(p, tr("Waiting for the first memory sample…"), QString());
        return;
    }
    if (!m_points.back().gpu) {
        paintMessage(p, tr("No NVIDIA GPU — running on CPU"), m_noGpuReason);
        return;
    }
    const QVector<LegendItem> legend = legendItems();
    layout(p.fontMetrics(), legend);
    if (m_plot.width() < 20 || m_plot.height() < 20)
        return;
    paintAxes(p);
    paintSeries(p);
    paintBudget(p);
    paintEvents(p);
    paintLegend(p, legend);
    paintHover(p);
}

void VramGraph::paintMessage(QPainter& p, const QString& title, const QString& detail) {
    QFont big = font();
    big.setPointSizeF(big.pointSizeF() * 1.3);
    big.setBold(true);
    const QRectF r = rect().adjusted(12, 12, -12, -12);
    p.setPen(palette().color(QPalette::Text));
    p.setFont(big);
    const QFontMetrics fm(big);
    QRectF titleRect = r;
    if (!detail.isEmpty())
        titleRect.setBottom(r.center().y());
    p.drawText(titleRect,
               Qt::AlignHCenter | (detail.isEmpty() ? Qt::AlignVCenter : Qt::AlignBottom) | Qt::TextWordWrap,
               title);
    if (!detail.isEmpty()) {
        p.setFont(font());
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(r.adjusted(0, r.height() / 2 + 6, 0, 0),
                   Qt::AlignHCenter | Qt::AlignTop | Qt::TextWordWrap, detail);
    }
}

void VramGraph::paintAxes(QPainter& p) {
    const QColor text = palette().color(QPalette::Text);
    QColor grid = text;
    grid.setAlphaF(0.12);
    p.setPen(QPen(grid, 1));
    const QFontMetrics fm = p.fontMetrics();
    for (double v = 0; v <= m_yMax + 1; v += m_yStep) {
        const double y = std::round(yForBytes(v)) + 0.5;
        p.setPen(QPen(grid, 1));
        p.drawLine(QPointF(m_plot.left(), y), QPointF(m_plot.right(), y));
        p.setPen(text);
        const QString label = tickLabel(v, m_gib);
        p.drawText(QRectF(kMargin, y - fm.height() / 2.0, m_plot.left() - 6 - kMargin, fm.height()),
                   Qt::AlignRight | Qt::AlignVCenter, label);
    }
    // Time ticks: six intervals of the window.
    const qint64 windowMs = qint64(m_windowSeconds) * 1000;
    const qint64 stepMs = windowMs / 6;
    for (qint64 back = 0; back <= windowMs; back += stepMs) {
        const double x = std::round(xForTime(rightTime() - back)) + 0.5;
        p.setPen(QPen(grid, 1));
        p.drawLine(QPointF(x, m_plot.top()), QPointF(x, m_plot.bottom()));
        p.setPen(text);
        const QString label = relativeTime(back);
        const double w = fm.horizontalAdvance(label);
        const double lx = std::clamp(x - w / 2, 0.0, width() - w);
        p.drawText(QPointF(lx, m_plot.bottom() + fm.height() / 2.0 + fm.ascent()), label);
    }
    QColor frame = text;
    frame.setAlphaF(0.35);
    p.setPen(QPen(frame, 1));
    p.setBrush(Qt::NoBrush);
    p.drawRect(m_plot.adjusted(0.5, 0.5, -0.5, -0.5));
}

void VramGraph::paintSeries(QPainter& p) {
    p.save();
    p.setClipRect(m_plot.adjusted(0, -2, 0, 0));
    const qint64 left = leftTime();
    // First point drawn: the last one before the window, so lines enter from the edge.
    auto first = std::lower_bound(m_points.begin(), m_points.end(), left,
                                  [](const Point& pt, qint64 t) { return pt.t < t; });
    if (first != m_points.begin())
        --first;

    // One path per series with gaps where the value is unknown.
    auto buildPath = [&](auto value) {
        QPainterPath path;
        bool open = false;
        for (auto it = first; it != m_points.end(); ++it) {
            const double v = double(value(*it));
            if (v < 0 || !it->gpu) {
                open = false;
                continue;
            }
            const QPointF pt(xForTime(it->t), yForBytes(v));
            if (open)
                path.lineTo(pt);
            else
                path.moveTo(pt);
            open = true;
        }
        return path;
    };
    auto stroke = [&](const QPainterPath& path, const QColor& c, double w,
                      Qt::PenStyle style = Qt::SolidLine) {
        QPen pen(c, w, style, Qt::RoundCap, Qt::RoundJoin);
        p.setPen(pen);
        p.setBrush(Qt::NoBrush);
        p.drawPath(path);
    };

    // Device used: filled area under the line.
    const QPainterPath used = buildPath([](const Point& pt) { return pt.used; });
    QColor fill = seriesColor(Series::DeviceUsed);
    fill.setAlpha(40);
    for (const QPolygonF& poly : used.toSubpathPolygons()) {
        if (poly.isEmpty())
            continue;
        QPolygonF area = poly;
        area << QPointF(poly.last().x(), m_plot.bottom()) << QPointF(poly.first().x(), m_plot.bottom());
        p.setPen(Qt::NoPen);
        p.setBrush(fill);
        p.drawPolygon(area);
    }
    if (!m_totalOffScale)
        stroke(buildPath([](const Point& pt) { return pt.total; }), seriesColor(Series::DeviceTotal), 1.5,
               Qt::DashLine);
    stroke(buildPath([](const Point& pt) { return pt.other; }), seriesColor(Series::Other), 1.5);
    for (int i = 0; i < m_ollama.size(); ++i) {
        stroke(buildPath([i](const Point& pt) {
                   for (const auto& o : pt.ollama)
                       if (o.first == i)
                           return o.second;
                   return qint64(-1);
               }),
               seriesColor(Series::Ollama, i), 2);
    }
    stroke(buildPath([](const Point& pt) { return pt.reserved; }), seriesColor(Series::SelfReserved), 2);
    stroke(buildPath([](const Point& pt) { return pt.allocated; }), seriesColor(Series::SelfAllocated), 2);
    stroke(used, seriesColor(Series::DeviceUsed), 2);
    p.restore();
}

void VramGraph::paintBudget(QPainter& p) {
    if (m_budget < 0)
        return;
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    p.setFont(small);
    const QFontMetrics fm(small);
    const QColor c = budgetColor();
    const QString label = m_budgetOffScale ? tr("budget %1 ▲").arg(formatBytes(double(m_budget)))
                                           : tr("budget %1").arg(formatBytes(double(m_budget)));
    const double w = fm.horizontalAdvance(label) + 6;
    QRectF box;
    if (m_budgetOffScale) {
        box = QRectF(m_plot.right() - 4 - w, m_plot.top() + 2, w, fm.height());
    } else {
        const double y = std::round(yForBytes(double(m_budget))) + 0.5;
        QPen pen(c, 1.5, Qt::CustomDashLine, Qt::FlatCap);
        pen.setDashPattern({5, 3});
        p.setPen(pen);
        p.drawLine(QPointF(m_plot.left(), y), QPointF(m_plot.right(), y));
        // The label sits on the line's left end, over the oldest samples (above the line; below it
        // when the line is at the top).
        const double top = y - 2 - fm.height() < m_plot.top() + 1 ? y + 3 : y - 2 - fm.height();
        box = QRectF(m_plot.left() + 4, top, w, fm.height());
    }
    QColor bg = palette().color(QPalette::Base);
    bg.setAlpha(215);
    p.setPen(Qt::NoPen);
    p.setBrush(bg);
    p.drawRoundedRect(box, 2, 2);
    p.setPen(c.darker(120));
    p.drawText(box, Qt::AlignCenter, label);
    p.setFont(font());
}

QString VramGraph::eventLabel(const engine::MemoryEvent& e) const {
    using K = engine::MemoryEvent::Kind;
    auto delta = [&e]() -> double {
        if (e.before.deviceUsedBytes >= 0 && e.after.deviceUsedBytes >= 0)
            return double(e.after.deviceUsedBytes - e.before.deviceUsedBytes);
        if (e.before.reservedBytes >= 0 && e.after.reservedBytes >= 0)
            return double(e.after.reservedBytes - e.before.reservedBytes);
        return 0;
    };
    auto withDelta = [&](const QString& label) {
        const double d = delta();
        if (std::abs(d) < MiB)
            return label;
        return tr("%1 %2%3").arg(label, d < 0 ? QStringLiteral("−") : QStringLiteral("+"),
                                 formatBytes(std::abs(d)));
    };
    switch (e.kind) {
    case K::GenerationStart:
        return tr("start");
    case K::GenerationEnd:
        return tr("done");
    case K::Cleanup:
        return withDelta(tr("cleanup"));
    case K::Unload:
        return withDelta(tr("unload"));
    case K::Reload:
        return withDelta(tr("reload"));
    case K::Load:
        return withDelta(tr("load"));
    case K::OutOfMemory:
        return tr("out of memory");
    }
    return {};
}

void VramGraph::paintEvents(QPainter& p) {
    QFont small = font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    p.setFont(small);
    const QFontMetrics fm(small);
    const qint64 left = leftTime();
    QVector<double> rowEnds(4, -1e9);
    for (const engine::MemoryEvent& e : m_events) {
        if (e.msecsSinceEpoch < left)
            continue;
        const double x = std::round(xForTime(e.msecsSinceEpoch)) + 0.5;
        const QColor c = markerColor(e.kind);
        const bool oom = e.kind == engine::MemoryEvent::Kind::OutOfMemory;
        p.setPen(QPen(c, oom ? 2 : 1, Qt::SolidLine));
        p.drawLine(QPointF(x, m_plot.top()), QPointF(x, m_plot.bottom()));

        // Labels in up to four rows, each placed in the first row where it fits.
        const QString label = eventLabel(e);
        const double w = fm.horizontalAdvance(label) + 6;
        double lx = x + 2;
        if (lx + w > m_plot.right())
            lx = x - 2 - w;
        int row = 0;
        while (row < rowEnds.size() - 1 && rowEnds[row] > lx)
            ++row;
        rowEnds[row] = lx + w + 2;
        const QRectF box(lx, m_plot.top() + 2 + row * (fm.height() + 1), w, fm.height());
        QColor bg = palette().color(QPalette::Base);
        bg.setAlpha(215);
        p.setPen(Qt::NoPen);
        p.setBrush(bg);
        p.drawRoundedRect(box, 2, 2);
        p.setPen(c.darker(115));
        p.drawText(box, Qt::AlignCenter, label);
    }
    p.setFont(font());
}

void VramGraph::paintLegend(QPainter& p, const QVector<LegendItem>& legend) {
    const QFontMetrics fm = p.fontMetrics();
    double x = m_legendRect.left(), y = m_legendRect.top();
    for (const LegendItem& item : legend) {
        const double w = 18 + fm.horizontalAdvance(item.text) + 14;
        if (x > m_legendRect.left() && x + w > m_legendRect.right()) {
            x = m_legendRect.left();
            y += fm.height();
        }
        const double cy = y + fm.height() / 2.0;
        p.setPen(QPen(item.color, 3, item.dashed ? Qt::DashLine : Qt::SolidLine, Qt::FlatCap));
        p.drawLine(QPointF(x, cy), QPointF(x + 14, cy));
        p.setPen(palette().color(QPalette::Text));
        p.drawText(QPointF(x + 18, y + fm.ascent()), item.text);
        x += w;
    }
}

const VramGraph::Point* VramGraph::pointNear(qint64 t) const {
    if (m_points.empty())
        return nullptr;
    auto it = std::lower_bound(m_points.begin(), m_points.end(), t,
                               [](const Point& pt, qint64 v) { return pt.t < v; });
    if (it == m_points.end())
        return &m_points.back();
    if (it != m_points.begin() && (t - std::prev(it)->t) < (it->t - t))
        --it;
    return &*it;
}

void VramGraph::paintHover(QPainter& p) {
    if (m_hoverX < m_plot.left() || m_hoverX > m_plot.right())
        return;
    const qint64 t =
        leftTime() + qint64((m_hoverX - m_plot.left()) / m_plot.width() * m_windowSeconds * 1000.0);
    const Point* pt = pointNear(t);
    if (!pt || pt->t < leftTime() || !pt->gpu)
        return;
    const double x = std::round(xForTime(pt->t)) + 0.5;
    QColor hair = palette().color(QPalette::Text);
    hair.setAlphaF(0.5);
    p.setPen(QPen(hair, 1, Qt::DotLine));
    p.drawLine(QPointF(x, m_plot.top()), QPointF(x, m_plot.bottom()));

    QVector<QPair<QColor, QString>> rows;
    const QString when = QDateTime::fromMSecsSinceEpoch(pt->t).toString(QStringLiteral("HH:mm:ss"));
    rows.push_back({QColor(), tr("%1 (%2)").arg(when, relativeTime(rightTime() - pt->t))});
    auto add = [&](Series s, qint64 v, const QString& name) {
        if (v >= 0)
            rows.push_back({seriesColor(s), tr("%1: %2").arg(name, formatBytes(double(v), 2))});
    };
    add(Series::DeviceUsed, pt->used, seriesName(Series::DeviceUsed));
    add(Series::DeviceTotal, pt->total, seriesName(Series::DeviceTotal));
    add(Series::SelfReserved, pt->reserved, seriesName(Series::SelfReserved));
    add(Series::SelfAllocated, pt->allocated, seriesName(Series::SelfAllocated));
    for (const auto& o : pt->ollama)
        rows.push_back({seriesColor(Series::Ollama, o.first), tr("%1 (pid %2): %3")
                                                                  .arg(m_ollama[o.first].name)
                                                                  .arg(m_ollama[o.first].pid)
                                                                  .arg(formatBytes(double(o.second), 2))});
    add(Series::Other, pt->other, seriesName(Series::Other));
    if (m_budget >= 0) {
        rows.push_back({budgetColor(), tr("Budget: %1").arg(formatBytes(double(m_budget), 2))});
        if (m_predictedPeak >= 0)
            rows.push_back(
                {QColor(), tr("Plan's predicted peak: %1").arg(formatBytes(double(m_predictedPeak), 2))});
    }

    const QFontMetrics fm = p.fontMetrics();
    double w = 0;
    for (const auto& r : rows)
        w = std::max(w, double(fm.horizontalAdvance(r.second)));
    w += 28;
    const double h = rows.size() * fm.height() + 8;
    double bx = x + 10;
    if (bx + w > m_plot.right())
        bx = x - 10 - w;
    const QRectF box(std::max(bx, 0.0), m_plot.top() + 4, w, h);
    QColor bg = palette().color(QPalette::ToolTipBase);
    bg.setAlpha(235);
    p.setPen(QPen(palette().color(QPalette::Mid), 1));
    p.setBrush(bg);
    p.drawRoundedRect(box, 4, 4);
    double y = box.top() + 4;
    for (const auto& r : rows) {
        if (r.first.isValid()) {
            p.setPen(Qt::NoPen);
            p.setBrush(r.first);
            p.drawRect(QRectF(box.left() + 6, y + fm.height() / 2.0 - 4, 10, 8));
        }
        p.setPen(palette().color(QPalette::ToolTipText));
        p.drawText(QPointF(box.left() + 22, y + fm.ascent()), r.second);
        y += fm.height();
    }
}

void VramGraph::mouseMoveEvent(QMouseEvent* event) {
    m_hoverX = int(event->position().x());
    update();
}

void VramGraph::leaveEvent(QEvent*) {
    m_hoverX = -1;
    update();
}

void VramGraph::changeEvent(QEvent* event) {
    if (event->type() == QEvent::LanguageChange) {
        setAccessibleName(tr("GPU memory graph"));
        update();
    }
    QWidget::changeEvent(event);
}

} // namespace tp::ui
