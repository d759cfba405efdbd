#pragma once

#include "core/gpu/VramTypes.h"

#include <QVector>

#include <mutex>
#include <optional>

namespace tp::gpu {

// A fixed-size ring of the latest samples, oldest first when read. Thread-safe: the monitor's
// thread appends while the UI reads copies.
class VramHistory final {
public:
    explicit VramHistory(int capacity);

    int capacity() const;
    // Keeps the newest min(size, capacity) samples.
    void setCapacity(int capacity);
    int size() const;
    bool isEmpty() const { return size() == 0; }
    void append(const VramSample& sample);
    void clear();

    // Copies, oldest first.
    QVector<VramSample> samples() const;
    // The samples taken within `spanMs` of the newest one (inclusive), oldest first.
    QVector<VramSample> window(qint64 spanMs) const;
    std::optional<VramSample> latest() const;

private:
    QVector<VramSample> orderedLocked() const;

    mutable std::mutex m_mutex;
    QVector<VramSample> m_ring; // grows to m_capacity, then m_next is the oldest
    int m_next = 0;
    int m_capacity = 1;
};

} // namespace tp::gpu
