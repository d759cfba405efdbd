#pragma once

#include <QString>
#include <QStringList>
#include <QVector>

namespace tp {

// The samplers, once: the engine's name (the settings, the CLI, the scheduler factory) and
// A1111's display name (PNG `parameters`, the form), in the order the UI offers them.
struct SamplerInfo {
    QString name;        // "euler_a"
    QString displayName; // "Euler a"
};
const QVector<SamplerInfo>& samplers();
QStringList samplerNames();
// The samplers of the discrete-time schedulers (SD 1.x/2.x, SDXL): all but the flow-matching ones.
QStringList discreteSamplerNames();

} // namespace tp
