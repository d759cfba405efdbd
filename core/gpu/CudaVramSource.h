#pragma once

#include "core/gpu/VramSource.h"

#include <QVector>

namespace tp::gpu {

// The fallback when NVML is missing: CUDA devices as libtorch sees them. It reads a device's
// free memory only where this process already has a CUDA context, unless told it may make one
// (the CLI may; the desktop app's monitor must not spend ~500 MiB of VRAM on sampling). It sees
// no other processes.
class CudaVramSource final : public VramSource {
public:
    explicit CudaVramSource(bool mayCreateContext = false);

    bool isAvailable() const { return m_reason.isEmpty(); }
    QString unavailableReason() const { return m_reason; }

    VramSample sample() override;
    QString name() const override { return QStringLiteral("cuda"); }

private:
    bool m_mayCreateContext = false;
    QString m_reason;
    QVector<QString> m_names;
    QVector<qint64> m_totals;
};

} // namespace tp::gpu
