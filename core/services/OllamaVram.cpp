#include "core/services/OllamaVram.h"

namespace tp::services {

QVector<gpu::OllamaVram> toOllamaVram(const QVector<OllamaLoadedModel>& loaded) {
    QVector<gpu::OllamaVram> out;
    out.reserve(loaded.size());
    for (const OllamaLoadedModel& m : loaded)
        out.push_back({m.name, m.size, m.sizeVram});
    return out;
}

} // namespace tp::services
