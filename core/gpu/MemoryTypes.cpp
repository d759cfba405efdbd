#include "core/gpu/MemoryTypes.h"

namespace tp::gpu {

QString residencyName(Residency r) {
    switch (r) {
    case Residency::OnGpu:
        return QStringLiteral("on GPU");
    case Residency::PinnedCpu:
        return QStringLiteral("pinned RAM");
    case Residency::Cpu:
        return QStringLiteral("RAM");
    case Residency::Mixed:
        return QStringLiteral("mixed");
    }
    return QStringLiteral("unknown");
}

QString formatBytes(qint64 bytes) {
    if (bytes < 0)
        return QStringLiteral("unknown");
    constexpr double KiB = 1024.0;
    const double b = static_cast<double>(bytes);
    if (bytes < 1024)
        return QStringLiteral("%1 B").arg(bytes);
    if (b < KiB * KiB)
        return QStringLiteral("%1 KiB").arg(b / KiB, 0, 'f', 1);
    if (b < KiB * KiB * KiB)
        return QStringLiteral("%1 MiB").arg(b / (KiB * KiB), 0, 'f', 1);
    return QStringLiteral("%1 GiB").arg(b / (KiB * KiB * KiB), 0, 'f', 2);
}

} // namespace tp::gpu
