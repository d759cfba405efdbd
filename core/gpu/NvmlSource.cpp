#include "core/gpu/NvmlSource.h"

#include "core/common/Log.h"
#include "core/gpu/NvmlApi.h"
#include "core/gpu/ProcessNames.h"

#include <dlfcn.h>

#include <algorithm>
#include <vector>

namespace tp::gpu {

struct NvmlSource::Api {
    nvml::InitFn init = nullptr;
    nvml::ShutdownFn shutdown = nullptr;
    nvml::ErrorStringFn errorString = nullptr;
    nvml::SystemGetDriverVersionFn driverVersion = nullptr;
    nvml::DeviceGetCountFn deviceCount = nullptr;
    nvml::DeviceGetHandleByIndexFn handleByIndex = nullptr;
    nvml::DeviceGetNameFn deviceName = nullptr;
    nvml::DeviceGetMemoryInfoFn memoryV1 = nullptr;
    nvml::DeviceGetMemoryInfoV2Fn memoryV2 = nullptr;
    nvml::DeviceGetUtilizationRatesFn utilization = nullptr;
    nvml::DeviceGetProcessesV2Fn processesV3 = nullptr; // _v3 and _v2 take the same struct
    nvml::DeviceGetProcessesV2Fn processesV2 = nullptr;
    nvml::DeviceGetProcessesV1Fn processesV1 = nullptr;
};

namespace {

// The newest symbol that exists among `names`.
template <typename Fn> Fn resolve(void* handle, std::initializer_list<const char*> names) {
    for (const char* name : names)
        if (void* p = dlsym(handle, name))
            return reinterpret_cast<Fn>(p);
    return nullptr;
}

// Calls a process-list function, growing the array while NVML answers INSUFFICIENT_SIZE (the
// list can grow between two calls).
template <typename Info, typename Fn>
nvml::Return queryProcesses(Fn fn, nvml::Device device, std::vector<Info>& out) {
    unsigned int capacity = 16;
    for (int attempt = 0; attempt < 6; ++attempt) {
        out.assign(capacity, Info{});
        unsigned int count = capacity;
        const nvml::Return rc = fn(device, &count, out.data());
        if (rc == nvml::Success) {
            out.resize(std::min(count, capacity));
            return rc;
        }
        if (rc != nvml::ErrorInsufficientSize)
            return rc;
        capacity = std::max(count, capacity) + 16;
    }
    return nvml::ErrorInsufficientSize;
}

template <typename Info> void appendProcesses(const std::vector<Info>& infos, DeviceSample& d) {
    const qint64 self = selfPid();
    for (const Info& info : infos) {
        GpuProcess p;
        p.pid = info.pid;
        p.usedBytes =
            info.usedGpuMemory == nvml::ValueNotAvailable ? -1 : static_cast<qint64>(info.usedGpuMemory);
        p.name = processName(p.pid);
        p.isSelf = p.pid == self;
        p.isOllama = isOllamaProcessName(p.name);
        d.processes.push_back(p);
    }
}

bool fallsBack(nvml::Return rc) {
    return rc == nvml::ErrorFunctionNotFound || rc == nvml::ErrorArgumentVersionMismatch;
}

} // namespace

NvmlSource::NvmlSource(QString library)
    : m_library(std::move(library))
    , m_api(std::make_unique<Api>()) {
    if (m_library.isEmpty())
        m_library = qEnvironmentVariable("TWISTEDPIC_NVML_LIBRARY", QLatin1String(DefaultLibrary));
    if (load())
        spdlog::debug("nvml: {} device(s), driver {}", m_devices.size(), m_driverVersion);
    else
        spdlog::debug("nvml: not available: {}", m_reason);
}

NvmlSource::~NvmlSource() {
    if (m_initialised && m_api->shutdown)
        m_api->shutdown();
    if (m_handle)
        dlclose(m_handle);
}

QString NvmlSource::errorText(int rc) const {
    const char* text = m_api->errorString ? m_api->errorString(rc) : nullptr;
    return text ? QStringLiteral("%1 (NVML error %2)").arg(QString::fromUtf8(text)).arg(rc)
                : QStringLiteral("NVML error %1").arg(rc);
}

bool NvmlSource::load() {
    m_handle = dlopen(m_library.toLocal8Bit().constData(), RTLD_NOW | RTLD_LOCAL);
    if (!m_handle) {
        const QString error = QString::fromLocal8Bit(dlerror());
        spdlog::debug("nvml: dlopen({}): {}", m_library, error);
        m_reason = error.contains(QLatin1String("No such file"))
                       ? QStringLiteral("No NVIDIA driver (%1 not found)").arg(m_library)
                       : QStringLiteral("No NVIDIA driver (%1 cannot be loaded: %2)").arg(m_library, error);
        return false;
    }
    Api& a = *m_api;
    a.init = resolve<nvml::InitFn>(m_handle, {"nvmlInit_v2", "nvmlInit"});
    a.shutdown = resolve<nvml::ShutdownFn>(m_handle, {"nvmlShutdown"});
    a.errorString = resolve<nvml::ErrorStringFn>(m_handle, {"nvmlErrorString"});
    a.driverVersion = resolve<nvml::SystemGetDriverVersionFn>(m_handle, {"nvmlSystemGetDriverVersion"});
    a.deviceCount =
        resolve<nvml::DeviceGetCountFn>(m_handle, {"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"});
    a.handleByIndex = resolve<nvml::DeviceGetHandleByIndexFn>(
        m_handle, {"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"});
    a.deviceName = resolve<nvml::DeviceGetNameFn>(m_handle, {"nvmlDeviceGetName"});
    a.memoryV1 = resolve<nvml::DeviceGetMemoryInfoFn>(m_handle, {"nvmlDeviceGetMemoryInfo"});
    a.memoryV2 = resolve<nvml::DeviceGetMemoryInfoV2Fn>(m_handle, {"nvmlDeviceGetMemoryInfo_v2"});
    a.utilization = resolve<nvml::DeviceGetUtilizationRatesFn>(m_handle, {"nvmlDeviceGetUtilizationRates"});
    a.processesV3 =
        resolve<nvml::DeviceGetProcessesV2Fn>(m_handle, {"nvmlDeviceGetComputeRunningProcesses_v3"});
    a.processesV2 =
        resolve<nvml::DeviceGetProcessesV2Fn>(m_handle, {"nvmlDeviceGetComputeRunningProcesses_v2"});
    a.processesV1 = resolve<nvml::DeviceGetProcessesV1Fn>(m_handle, {"nvmlDeviceGetComputeRunningProcesses"});
    if (!a.init || !a.shutdown || !a.deviceCount || !a.handleByIndex || !a.deviceName ||
        (!a.memoryV1 && !a.memoryV2)) {
        m_reason =
            QStringLiteral("NVIDIA driver too old (%1 lacks the functions TwistedPic needs)").arg(m_library);
        return false;
    }
    if (const nvml::Return rc = a.init(); rc != nvml::Success) {
        m_reason = rc == nvml::ErrorDriverNotLoaded
                       ? QStringLiteral("NVIDIA driver not loaded (nvmlInit: %1)").arg(errorText(rc))
                       : QStringLiteral("NVML could not start (nvmlInit: %1)").arg(errorText(rc));
        return false;
    }
    m_initialised = true;
    if (a.driverVersion) {
        char version[nvml::DriverVersionBufferSize] = {};
        if (a.driverVersion(version, sizeof version) == nvml::Success)
            m_driverVersion = QString::fromUtf8(version);
    }
    unsigned int count = 0;
    if (const nvml::Return rc = a.deviceCount(&count); rc != nvml::Success) {
        m_reason = QStringLiteral("NVML cannot count the GPUs (%1)").arg(errorText(rc));
        return false;
    }
    for (unsigned int i = 0; i < count; ++i) {
        nvml::Device device = nullptr;
        if (const nvml::Return rc = a.handleByIndex(i, &device); rc != nvml::Success) {
            // No permission on one GPU (cgroups) should not hide the others.
            spdlog::warn("nvml: GPU {} cannot be opened: {}", i, errorText(rc));
            continue;
        }
        char name[nvml::DeviceNameBufferSize] = {};
        QString deviceName = a.deviceName(device, name, sizeof name) == nvml::Success
                                 ? QString::fromUtf8(name)
                                 : QStringLiteral("NVIDIA GPU %1").arg(i);
        m_devices.push_back(device);
        m_indices.push_back(static_cast<int>(i));
        m_names.push_back(deviceName);
    }
    if (m_devices.isEmpty()) {
        m_reason = count == 0 ? QStringLiteral("No NVIDIA GPU found (the driver reports none)")
                              : QStringLiteral("No NVIDIA GPU can be opened (no permission)");
        return false;
    }
    m_memoryApi = a.memoryV2 ? 2 : 1;
    return true;
}

bool NvmlSource::readMemory(void* device, DeviceSample& d) {
    if (m_memoryApi == 2) {
        nvml::MemoryV2 m{};
        m.version = nvml::MemoryV2Version;
        const nvml::Return rc = m_api->memoryV2(device, &m);
        if (rc == nvml::Success) {
            d.totalBytes = static_cast<qint64>(m.total);
            d.freeBytes = static_cast<qint64>(m.free);
            d.usedBytes = d.totalBytes - d.freeBytes; // processes + driver reservation
            return true;
        }
        if (!(fallsBack(rc) || rc == nvml::ErrorNotSupported) || !m_api->memoryV1) {
            spdlog::debug("nvml: memory of GPU {}: {}", d.index, errorText(rc));
            return false;
        }
        spdlog::debug("nvml: nvmlDeviceGetMemoryInfo_v2 answered {}; using v1", errorText(rc));
        m_memoryApi = 1;
    }
    nvml::MemoryV1 m{};
    const nvml::Return rc = m_api->memoryV1(device, &m);
    if (rc != nvml::Success) {
        spdlog::debug("nvml: memory of GPU {}: {}", d.index, errorText(rc));
        return false;
    }
    d.totalBytes = static_cast<qint64>(m.total);
    d.freeBytes = static_cast<qint64>(m.free);
    d.usedBytes = d.totalBytes - d.freeBytes;
    return true;
}

bool NvmlSource::readProcesses(void* device, DeviceSample& d) {
    const Api& a = *m_api;
    for (int version = 3; version >= 1; --version) {
        if (m_processApi != 0 && version > m_processApi)
            continue; // a newer one failed before
        nvml::Return rc = nvml::ErrorFunctionNotFound;
        if (version == 1 && a.processesV1) {
            std::vector<nvml::ProcessInfoV1> infos;
            if ((rc = queryProcesses(a.processesV1, device, infos)) == nvml::Success)
                appendProcesses(infos, d);
        } else if (version > 1 && (version == 3 ? a.processesV3 : a.processesV2)) {
            std::vector<nvml::ProcessInfoV2> infos;
            if ((rc = queryProcesses(version == 3 ? a.processesV3 : a.processesV2, device, infos)) ==
                nvml::Success)
                appendProcesses(infos, d);
        }
        if (rc == nvml::Success) {
            m_processApi = version;
            return true;
        }
        if (!fallsBack(rc)) {
            // NOT_SUPPORTED / NO_PERMISSION: inside containers the lists are often unavailable.
            spdlog::debug("nvml: processes on GPU {} (v{}): {}", d.index, version, errorText(rc));
            return false;
        }
    }
    return false;
}

DeviceSample NvmlSource::sampleDevice(int index) {
    DeviceSample d;
    d.index = m_indices.value(index);
    d.name = m_names.value(index);
    d.source = name();
    void* device = m_devices[index];
    if (!readMemory(device, d))
        d.totalBytes = d.usedBytes = d.freeBytes = -1;
    if (m_api->utilization) {
        nvml::Utilization u{};
        if (m_api->utilization(device, &u) == nvml::Success)
            d.utilizationPercent = static_cast<int>(u.gpu);
    }
    d.processesValid = readProcesses(device, d);
    std::stable_sort(d.processes.begin(), d.processes.end(),
                     [](const GpuProcess& a, const GpuProcess& b) { return a.usedBytes > b.usedBytes; });
    return d;
}

VramSample NvmlSource::sample() {
    VramSample s;
    if (!isAvailable()) {
        s.noGpuReason = m_reason;
        return s;
    }
    s.gpuAvailable = true;
    s.driverVersion = m_driverVersion;
    for (int i = 0; i < m_devices.size(); ++i)
        s.devices.push_back(sampleDevice(i));
    return s;
}

} // namespace tp::gpu
