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

} // namespace tp::gpu
