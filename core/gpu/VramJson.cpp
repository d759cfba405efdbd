#include "core/gpu/VramJson.h"

#include <QJsonArray>

namespace tp::gpu {
namespace {

QJsonValue bytesOrNull(qint64 bytes) {
    return bytes < 0 ? QJsonValue() : QJsonValue(static_cast<double>(bytes));
}

} // namespace

QJsonObject toJson(const GpuProcess& p) {
    return QJsonObject{{QStringLiteral("pid"), static_cast<double>(p.pid)},
                       {QStringLiteral("name"), p.name},
                       {QStringLiteral("usedBytes"), bytesOrNull(p.usedBytes)},
                       {QStringLiteral("ollama"), p.isOllama},
                       {QStringLiteral("self"), p.isSelf}};
}

QJsonObject toJson(const DeviceSample& d) {
    QJsonArray processes;
    for (const GpuProcess& p : d.processes)
        processes.append(toJson(p));
    return QJsonObject{{QStringLiteral("index"), d.index},
                       {QStringLiteral("name"), d.name},
                       {QStringLiteral("source"), d.source},
                       {QStringLiteral("totalBytes"), bytesOrNull(d.totalBytes)},
                       {QStringLiteral("usedBytes"), bytesOrNull(d.usedBytes)},
                       {QStringLiteral("freeBytes"), bytesOrNull(d.freeBytes)},
                       {QStringLiteral("utilizationPercent"),
                        d.utilizationPercent < 0 ? QJsonValue() : QJsonValue(d.utilizationPercent)},
                       {QStringLiteral("processesValid"), d.processesValid},
                       {QStringLiteral("processes"), processes}};
}

QJsonObject toJson(const AllocatorSample& a) {
    return QJsonObject{
        {QStringLiteral("valid"), a.valid},
        {QStringLiteral("device"), a.device},
        {QStringLiteral("note"), a.note},
        {QStringLiteral("allocatedBytes"), a.valid ? bytesOrNull(a.allocatedBytes) : QJsonValue()},
        {QStringLiteral("reservedBytes"), a.valid ? bytesOrNull(a.reservedBytes) : QJsonValue()},
        {QStringLiteral("peakAllocatedBytes"), a.valid ? bytesOrNull(a.peakAllocatedBytes) : QJsonValue()}};
}

QJsonObject toJson(const VramSample& s) {
    QJsonArray devices;
    for (const DeviceSample& d : s.devices)
        devices.append(toJson(d));
    return QJsonObject{{QStringLiteral("msecsSinceEpoch"), static_cast<double>(s.msecsSinceEpoch)},
                       {QStringLiteral("gpuAvailable"), s.gpuAvailable},
                       {QStringLiteral("noGpuReason"), s.noGpuReason},
                       {QStringLiteral("driverVersion"), s.driverVersion},
                       {QStringLiteral("devices"), devices},
                       {QStringLiteral("self"), toJson(s.self)}};
}

} // namespace tp::gpu
