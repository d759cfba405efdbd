#include "core/gpu/VramMonitor.h"

#include "core/common/Log.h"
#include "core/gpu/SystemVramSource.h"
#include "core/settings/Settings.h"

#include <QDateTime>
#include <QThread>
#include <QTimer>

#include <algorithm>
#include <mutex>

namespace tp::gpu {

// The source, made on first use in the sampling thread and kept across stop()/start().
struct VramSourceSlot {
    std::mutex mutex;
    VramMonitor::SourceFactory factory;
    std::unique_ptr<VramSource> source;
};

// Lives in the monitor's thread; owns the timer.
class VramSampler final : public QObject {
    Q_OBJECT
public:
    VramSampler(std::shared_ptr<VramSourceSlot> source, std::shared_ptr<VramHistory> history, int intervalMs)
        : m_source(std::move(source))
        , m_history(std::move(history))
        , m_intervalMs(intervalMs) {}

    void begin() {
        m_timer = new QTimer(this);
        m_timer->setTimerType(Qt::PreciseTimer);
        connect(m_timer, &QTimer::timeout, this, &VramSampler::sampleOnce);
        sampleOnce(); // makes the source on the first start; can take a while with NVML
        m_timer->start(m_intervalMs);
    }

    void setInterval(int ms) {
        m_intervalMs = ms;
        if (m_timer)
            m_timer->setInterval(ms); // restarts the period: the next sample comes after `ms`
    }

    void sampleOnce() {
        VramSample s;
        {
            std::lock_guard lock(m_source->mutex);
            try {
                if (!m_source->source && m_source->factory)
                    m_source->source = m_source->factory();
                if (m_source->source)
                    s = m_source->source->sample();
                else
                    s.noGpuReason = QStringLiteral("No VRAM source");
            } catch (const std::exception& e) {
                // Sources should not throw; if one does, the graph shows why instead of a hole.
                s = VramSample{};
                s.noGpuReason =
                    QStringLiteral("VRAM sampling failed: %1").arg(QString::fromLocal8Bit(e.what()));
                spdlog::warn("gpu: {}", s.noGpuReason);
            }
        }
        if (s.msecsSinceEpoch == 0)
            s.msecsSinceEpoch = QDateTime::currentMSecsSinceEpoch();
        m_history->append(s);
        Q_EMIT sampled(s);
    }

Q_SIGNALS:
    void sampled(const tp::gpu::VramSample& sample);

private:
    std::shared_ptr<VramSourceSlot> m_source;
    std::shared_ptr<VramHistory> m_history;
    QTimer* m_timer = nullptr;
    int m_intervalMs;
};

VramMonitor::VramMonitor(QObject* parent)
    : VramMonitor(SourceFactory([] { return std::make_unique<SystemVramSource>(); }), parent) {}

VramMonitor::VramMonitor(SourceFactory factory, QObject* parent)
    : QObject(parent)
    , m_source(std::make_shared<VramSourceSlot>())
    , m_history(std::make_shared<VramHistory>(capacityFor(DefaultIntervalMs, DefaultHistorySeconds))) {
    qRegisterMetaType<tp::gpu::VramSample>();
    m_source->factory = std::move(factory);
}

VramMonitor::VramMonitor(std::unique_ptr<VramSource> source, QObject* parent)
    : VramMonitor(SourceFactory(), parent) {
    m_source->source = std::move(source);
}

VramMonitor::~VramMonitor() {
    stop();
}

int VramMonitor::capacityFor(int intervalMs, int historySeconds) {
    const qint64 span = static_cast<qint64>(std::max(1, historySeconds)) * 1000;
    const qint64 samples = (span + intervalMs - 1) / std::max(1, intervalMs) + 1;
    return static_cast<int>(std::clamp<qint64>(samples, 2, MaxHistorySamples));
}

void VramMonitor::start() {
    if (m_thread)
        return;
    m_thread = new QThread(this);
    m_thread->setObjectName(QStringLiteral("VramMonitor"));
    auto* sampler = new VramSampler(m_source, m_history, m_intervalMs);
    sampler->moveToThread(m_thread);
    connect(m_thread, &QThread::started, sampler, &VramSampler::begin);
    connect(m_thread, &QThread::finished, sampler, &QObject::deleteLater);
    connect(sampler, &VramSampler::sampled, this, &VramMonitor::sampled); // queued: other thread
    m_sampler = sampler;
    m_thread->start(QThread::LowPriority);
    spdlog::debug("gpu: VRAM monitor started, every {} ms", m_intervalMs);
}

void VramMonitor::stop() {
    if (!m_thread)
        return;
    m_thread->quit();
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
    m_sampler = nullptr;
}

bool VramMonitor::isRunning() const {
    return m_thread != nullptr;
}

void VramMonitor::setInterval(int ms) {
    ms = std::clamp(ms, MinIntervalMs, MaxIntervalMs);
    if (ms == m_intervalMs)
        return;
    m_intervalMs = ms;
    m_history->setCapacity(capacityFor(m_intervalMs, m_historySeconds));
    if (VramSampler* sampler = m_sampler.data())
        QMetaObject::invokeMethod(
            sampler, [sampler, ms] { sampler->setInterval(ms); }, Qt::QueuedConnection);
    Q_EMIT intervalChanged(ms);
}

void VramMonitor::setHistorySeconds(int seconds) {
    m_historySeconds = std::max(1, seconds);
    m_history->setCapacity(capacityFor(m_intervalMs, m_historySeconds));
}

void VramMonitor::followSettings(const Settings& settings) {
    setInterval(settings.value(keys::MonitorIntervalMs).toInt());
    connect(&settings, &Settings::changed, this, [this](const QString& key, const QVariant& value) {
        if (key == keys::MonitorIntervalMs)
            setInterval(value.toInt());
    });
}

VramSample VramMonitor::readNow() {
    VramSample s;
    std::lock_guard lock(m_source->mutex);
    try {
        if (m_source->source)
            s = m_source->source->sample();
        else
            s.noGpuReason = QStringLiteral("No VRAM source yet");
    } catch (const std::exception& e) {
        s = VramSample{};
        s.noGpuReason = QStringLiteral("VRAM sampling failed: %1").arg(QString::fromLocal8Bit(e.what()));
    }
    if (s.msecsSinceEpoch == 0)
        s.msecsSinceEpoch = QDateTime::currentMSecsSinceEpoch();
    return s;
}

void VramMonitor::requestSample() {
    if (VramSampler* sampler = m_sampler.data())
        QMetaObject::invokeMethod(sampler, &VramSampler::sampleOnce, Qt::QueuedConnection);
}

} // namespace tp::gpu

#include "VramMonitor.moc"
