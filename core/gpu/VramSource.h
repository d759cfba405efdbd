#pragma once

#include "core/gpu/VramTypes.h"

#include <QString>

namespace tp::gpu {

// Where VRAM samples come from (NVML, CUDA, a script in tests). The monitor calls sample() from
// its own thread, one call at a time; a source never throws.
class VramSource {
public:
    virtual ~VramSource() = default;
    // One reading now. msecsSinceEpoch may be left 0: the monitor stamps it.
    virtual VramSample sample() = 0;
    // "nvml", "cuda", "none", "scripted", ...
    virtual QString name() const = 0;
};

} // namespace tp::gpu
