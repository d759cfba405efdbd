#include "tests/support/ScriptedVramSource.h"

namespace tp::test {

ScriptedVramSource::ScriptedVramSource(QVector<gpu::VramSample> script, bool loop)
    : m_script(std::move(script))
    , m_loop(loop) {}

void ScriptedVramSource::setScript(QVector<gpu::VramSample> script) {
    std::lock_guard lock(m_mutex);
    m_script = std::move(script);
    m_next = 0;
}

gpu::VramSample ScriptedVramSource::sample() {
    ++m_calls;
    std::lock_guard lock(m_mutex);
    if (m_script.isEmpty())
        return noGpuSample(QStringLiteral("empty script"));
    if (m_next >= m_script.size())
        m_next = m_loop ? 0 : static_cast<int>(m_script.size()) - 1;
    return m_script[m_next++];
}

gpu::VramSample ScriptedVramSource::gpuSample(qint64 usedMiB, qint64 totalMiB, qint64 ollamaMiB,
                                              qint64 msecsSinceEpoch) {
    constexpr qint64 MiB = 1024 * 1024;
    gpu::VramSample s;
    s.msecsSinceEpoch = msecsSinceEpoch;
    s.gpuAvailable = true;
    gpu::DeviceSample d;
    d.name = QStringLiteral("Scripted GPU");
    d.totalBytes = totalMiB * MiB;
    d.usedBytes = usedMiB * MiB;
    d.freeBytes = (totalMiB - usedMiB) * MiB;
    d.utilizationPercent = 0;
    d.source = QStringLiteral("scripted");
    d.processesValid = true;
    if (ollamaMiB > 0) {
        gpu::GpuProcess p;
        p.pid = 4242;
        p.name = QStringLiteral("ollama");
        p.usedBytes = ollamaMiB * MiB;
        p.isOllama = true;
        d.processes.push_back(p);
    }
    s.devices.push_back(d);
    return s;
}

gpu::VramSample ScriptedVramSource::noGpuSample(const QString& reason) {
    gpu::VramSample s;
    s.gpuAvailable = false;
    s.noGpuReason = reason;
    return s;
}

} // namespace tp::test
