#pragma once

// Torch-free: the UI includes this.
#include "core/gpu/VramHistory.h"
#include "core/gpu/VramSource.h"
#include "core/gpu/VramTypes.h"

#include <QObject>
#include <QPointer>

#include <functional>
#include <memory>
#include <optional>

class QThread;

namespace tp {
class Settings;
}

namespace tp::gpu {

class VramSampler;
struct VramSourceSlot;

// Samples VRAM on a timer in its own thread (a slow driver call never stalls the UI), keeps the
// history in a ring buffer and announces each sample. `sampled` is emitted from the thread the
// monitor lives in, so receivers there get it directly and receivers elsewhere queued.
class VramMonitor final : public QObject {
    Q_OBJECT
public:
    static constexpr int DefaultIntervalMs = 500;
    static constexpr int MinIntervalMs = 10;
    static constexpr int MaxIntervalMs = 60 * 1000;
    static constexpr int DefaultHistorySeconds = 20 * 60; // the graph offers up to 15 minutes
    static constexpr int MaxHistorySamples = 24000;       // 20 minutes at 50 ms

    using SourceFactory = std::function<std::unique_ptr<VramSource>()>;

    // Samples the system (SystemVramSource: NVML, else CUDA, else "no GPU").
    explicit VramMonitor(QObject* parent = nullptr);
    // Samples what `factory` makes; it is called in the sampling thread on the first start(), so
    // that a slow driver initialisation does not stall the caller either.
    explicit VramMonitor(SourceFactory factory, QObject* parent = nullptr);
    // Samples `source` (tests, other back-ends).
    explicit VramMonitor(std::unique_ptr<VramSource> source, QObject* parent = nullptr);
    ~VramMonitor() override;

    // Starts sampling: one sample at once, then one per interval. Does nothing when running.
    void start();
    // Stops sampling and waits for the sampling thread. History stays.
    void stop();
    bool isRunning() const;

    // Clamped to [MinIntervalMs, MaxIntervalMs]; the history keeps its time span.
    void setInterval(int ms);
    int interval() const { return m_intervalMs; }
    void setHistorySeconds(int seconds);
    int historySeconds() const { return m_historySeconds; }
    // Samples the history holds: enough for historySeconds() at interval().
    int historyCapacity() const { return m_history->capacity(); }
    static int capacityFor(int intervalMs, int historySeconds);

    // Follows the setting monitor/intervalMs (now and when it changes).
    void followSettings(const Settings& settings);
    // Takes one extra sample soon (e.g. right after a cleanup, so the graph shows it at once).
    void requestSample();
    // One reading now, on the caller's thread, from the same source (a decision such as "make
    // room" needs the memory as it is, not the last sample). Not added to the history. The
    // source must exist (start() made it); otherwise the sample says there is none.
    VramSample readNow();

    // Copies, oldest first.
    QVector<VramSample> history() const { return m_history->samples(); }
    // The samples of the last `spanMs` milliseconds (counted back from the newest sample).
    QVector<VramSample> history(qint64 spanMs) const { return m_history->window(spanMs); }
    std::optional<VramSample> latest() const { return m_history->latest(); }

Q_SIGNALS:
    void sampled(const tp::gpu::VramSample& sample);
    void intervalChanged(int ms);

private:
    std::shared_ptr<VramSourceSlot> m_source;
    std::shared_ptr<VramHistory> m_history;
    QThread* m_thread = nullptr;
    QPointer<VramSampler> m_sampler;
    int m_intervalMs = DefaultIntervalMs;
    int m_historySeconds = DefaultHistorySeconds;
};

} // namespace tp::gpu
