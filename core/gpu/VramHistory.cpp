#include "core/gpu/VramHistory.h"

#include <algorithm>

namespace tp::gpu {

VramHistory::VramHistory(int capacity)
    : m_capacity(std::max(1, capacity)) {}

int VramHistory::capacity() const {
    std::lock_guard lock(m_mutex);
    return m_capacity;
}

int VramHistory::size() const {
    std::lock_guard lock(m_mutex);
    return static_cast<int>(m_ring.size());
}

QVector<VramSample> VramHistory::orderedLocked() const {
    if (m_ring.size() < m_capacity)
        return m_ring;
    QVector<VramSample> ordered;
    ordered.reserve(m_ring.size());
    for (int i = 0; i < m_ring.size(); ++i)
        ordered.push_back(m_ring[(m_next + i) % m_ring.size()]);
    return ordered;
}

void VramHistory::setCapacity(int capacity) {
    std::lock_guard lock(m_mutex);
    capacity = std::max(1, capacity);
    if (capacity == m_capacity)
        return;
    QVector<VramSample> ordered = orderedLocked();
    if (ordered.size() > capacity)
        ordered.erase(ordered.begin(), ordered.end() - capacity);
    m_ring = std::move(ordered);
    m_capacity = capacity;
    m_next = m_ring.size() == m_capacity ? 0 : static_cast<int>(m_ring.size());
}

void VramHistory::append(const VramSample& sample) {
    std::lock_guard lock(m_mutex);
    if (m_ring.size() < m_capacity) {
        m_ring.push_back(sample);
        m_next = m_ring.size() == m_capacity ? 0 : static_cast<int>(m_ring.size());
    } else {
        m_ring[m_next] = sample;
        m_next = (m_next + 1) % m_capacity;
    }
}

void VramHistory::clear() {
    std::lock_guard lock(m_mutex);
    m_ring.clear();
    m_next = 0;
}

QVector<VramSample> VramHistory::samples() const {
    std::lock_guard lock(m_mutex);
    return orderedLocked();
}

QVector<VramSample> VramHistory::window(qint64 spanMs) const {
    QVector<VramSample> all = samples();
    if (all.isEmpty())
        return all;
    const qint64 from = all.last().msecsSinceEpoch - std::max<qint64>(0, spanMs);
    const auto first = std::find_if(all.begin(), all.end(),
                                    [from](const VramSample& s) { return s.msecsSinceEpoch >= from; });
    all.erase(all.begin(), first);
    return all;
}

std::optional<VramSample> VramHistory::latest() const {
    std::lock_guard lock(m_mutex);
    if (m_ring.isEmpty())
        return std::nullopt;
    if (m_ring.size() < m_capacity)
        return m_ring.last();
    return m_ring[(m_next + m_capacity - 1) % m_capacity];
}

} // namespace tp::gpu
