#include "core/gpu/SystemVramSource.h"

#include "core/common/Log.h"
#include "core/gpu/CudaVramSource.h"
#include "core/gpu/GpuInfo.h"
#include "core/gpu/NvmlSource.h"

#include <QDateTime>

namespace tp::gpu {

SystemVramSource::SystemVramSource()
    : SystemVramSource(Options{}) {}

SystemVramSource::SystemVramSource(Options options)
    : m_options(std::move(options)) {
    m_nvml = std::make_unique<NvmlSource>(m_options.nvmlLibrary);
    if (m_nvml->isAvailable())
        return;
    auto cuda = std::make_unique<CudaVramSource>(m_options.mayCreateCudaContext);
    if (cuda->isAvailable()) {
        spdlog::info("gpu: {}; showing the CUDA devices without per-process figures",
                     m_nvml->unavailableReason());
        m_cuda = std::move(cuda);
        return;
    }
    m_reason = m_nvml->unavailableReason() + QStringLiteral("; ") + cuda->unavailableReason();
}

SystemVramSource::~SystemVramSource() = default;

QString SystemVramSource::name() const {
    if (m_nvml->isAvailable())
        return m_nvml->name();
    return m_cuda ? m_cuda->name() : QStringLiteral("none");
}

VramSample SystemVramSource::sample() {
    VramSample s;
    if (m_nvml->isAvailable()) {
        s = m_nvml->sample();
    } else if (m_cuda) {
        s = m_cuda->sample();
    } else {
        s.noGpuReason = m_reason;
    }
    s.self = allocatorSample(m_options.selfDevice);
    if (s.msecsSinceEpoch == 0)
        s.msecsSinceEpoch = QDateTime::currentMSecsSinceEpoch();
    return s;
}

} // namespace tp::gpu
