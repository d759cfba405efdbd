#pragma once

#include "core/engine/EngineTypes.h"
#include "core/gpu/VramTypes.h"

#include <QColor>
#include <QWidget>

#include <deque>

namespace tp::ui {

// A live graph of GPU memory, painted by hand (after qBittorrent's speed plot): the whole
// device's use under its total, this process's reserved and allocated memory, each Ollama
// process, and everything else; newest sample on the right, memory events as marked lines, and
// the VRAM budget of the last placement plan as a dashed horizontal line ("budget 12.0 GiB").
// Sampling is not its job: samples arrive through addSample().
class VramGraph final : public QWidget {
    Q_OBJECT
public:
    enum class Series { DeviceUsed, DeviceTotal, SelfReserved, SelfAllocated, Other, Ollama };

    explicit VramGraph(QWidget* parent = nullptr);

    void setWindowSeconds(int seconds); // 60, 300 or 900 are offered; anything from 10 s works
    int windowSeconds() const { return m_windowSeconds; }
    // Which device's figures to show (DeviceSample::index); the first device when absent.
    void setDeviceIndex(int index);
    int sampleCount() const { return int(m_points.size()); }
    // The budget the last generation was planned in (Engine::planned), drawn across the plot on
    // the same scale as the series; its predicted peak shows in the hover box. A negative budget
    // removes the line (no plan).
    void setBudget(qint64 budgetBytes, qint64 predictedPeakBytes = -1);
    qint64 budgetBytes() const { return m_budget; }
    qint64 predictedPeakBytes() const { return m_predictedPeak; }

    static QColor seriesColor(Series series, int ollamaIndex = 0);
    static QColor markerColor(engine::MemoryEvent::Kind kind);
    static QColor budgetColor();
    static constexpr int MaxWindowSeconds = 15 * 60;

    // Geometry of the last layout, for tests and tooltips.
    QRectF plotRect() const;
    double yMaximum() const { return m_yMax; }
    bool totalOffScale() const { return m_totalOffScale; }
    // The budget is far above what is in use on a card whose total is off the scale too: no
    // line, a "budget … ▲" note at the top of the plot instead.
    bool budgetOffScale() const { return m_budgetOffScale; }
    double xForTime(qint64 msecsSinceEpoch) const;
    double yForBytes(double bytes) const;

    QSize sizeHint() const override { return {560, 240}; }
    QSize minimumSizeHint() const override { return {260, 140}; }

public Q_SLOTS:
    void addSample(const tp::gpu::VramSample& sample);
    void setHistory(const QVector<tp::gpu::VramSample>& samples);
    void addEvent(const tp::engine::MemoryEvent& event);
    void clear();

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void leaveEvent(QEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    struct Point {
        qint64 t = 0;
        bool gpu = false;
        qint64 used = -1; // -1: not known, not drawn
        qint64 total = -1;
        qint64 reserved = -1;
        qint64 allocated = -1;
        qint64 other = -1;
        QVector<QPair<int, qint64>> ollama; // (index into m_ollama, bytes)
    };
    struct OllamaProcess {
        qint64 pid = 0;
        QString name;
    };
    struct LegendItem {
        QString text;
        QColor color;
        bool dashed = false;
    };

    Point toPoint(const gpu::VramSample& sample);
    void append(Point p);
    void trim();
    qint64 rightTime() const;
    qint64 leftTime() const { return rightTime() - qint64(m_windowSeconds) * 1000; }
    QVector<LegendItem> legendItems() const;
    void layout(const QFontMetrics& fm, const QVector<LegendItem>& legend);
    void paintMessage(QPainter& p, const QString& title, const QString& detail);
    void paintAxes(QPainter& p);
    void paintSeries(QPainter& p);
    void paintBudget(QPainter& p);
    void paintEvents(QPainter& p);
    void paintLegend(QPainter& p, const QVector<LegendItem>& legend);
    void paintHover(QPainter& p);
    QString eventLabel(const engine::MemoryEvent& e) const;
    QString seriesName(Series s) const;
    const Point* pointNear(qint64 t) const;

    std::deque<Point> m_points;
    std::deque<engine::MemoryEvent> m_events;
    QVector<OllamaProcess> m_ollama;
    QString m_noGpuReason;
    QString m_deviceName;
    int m_windowSeconds = 300;
    int m_deviceIndex = 0;
    qint64 m_budget = -1;
    qint64 m_predictedPeak = -1;

    // layout
    QRectF m_plot;
    QRectF m_legendRect;
    double m_yMax = 1;
    bool m_totalOffScale = false; // the card's total is far above the use: scale to the use
    bool m_budgetOffScale = false;
    double m_yStep = 1;
    bool m_gib = true;
    int m_hoverX = -1;
};

} // namespace tp::ui
