#pragma once

#include "core/gpu/VramTypes.h"

#include <QJsonObject>

// VRAM samples as JSON (the CLI's --json, the benchmarks' reports). Unknown figures are null.
namespace tp::gpu {

QJsonObject toJson(const GpuProcess& p);
QJsonObject toJson(const DeviceSample& d);
QJsonObject toJson(const AllocatorSample& a);
QJsonObject toJson(const VramSample& s);

} // namespace tp::gpu
