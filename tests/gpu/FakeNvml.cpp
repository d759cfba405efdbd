// A stand-in for libnvidia-ml.so.1, so that NvmlSource's real code (dlopen, symbol lookup,
// struct versions, process-list retries) runs on machines without an NVIDIA driver. Configured
// by the environment variable TP_FAKE_NVML, read at nvmlInit_v2, e.g.
//   devices=1;name=Fake H100;total=85899345920;used=1073741824;util=37;memv2=1;procapi=3;
//   procs=123:5368709120,456:na;initrc=0;procrc=0
// memv2: 1 = nvmlDeviceGetMemoryInfo_v2 works, 0 = FUNCTION_NOT_FOUND, 25 = version mismatch.
// procapi: the newest process-list version that answers; newer ones say FUNCTION_NOT_FOUND.
// procrc: a non-zero NVML error every process-list call returns (e.g. 3 = NOT_SUPPORTED).
// tpFakeNvmlCalls(name) tells tests how often a function was called since nvmlInit.

#include "core/gpu/NvmlApi.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace tp::gpu;

namespace {

struct Process {
    unsigned int pid = 0;
    unsigned long long bytes = 0;
};

struct Config {
    int initRc = 0;
    unsigned int devices = 1;
    std::string name = "Fake GPU";
    unsigned long long total = 8ULL << 30;
    unsigned long long used = 1ULL << 30;
    unsigned int util = 0;
    int memV2 = 1;
    int procApi = 3;
    int procRc = 0;
    std::vector<Process> procs;
};

Config g_config;
bool g_initialised = false;
std::map<std::string, int> g_calls;
// Device handles are pointers into this array (NVML's are opaque pointers too).
char g_devices[8];

void parse(const char* text) {
    g_config = Config{};
    if (!text)
        return;
    std::string s(text);
    size_t pos = 0;
    while (pos <= s.size()) {
        const size_t end = std::min(s.find(';', pos), s.size());
        const std::string item = s.substr(pos, end - pos);
        pos = end + 1;
        const size_t eq = item.find('=');
        if (eq == std::string::npos)
            continue;
        const std::string key = item.substr(0, eq);
        const std::string value = item.substr(eq + 1);
        if (key == "initrc")
            g_config.initRc = std::atoi(value.c_str());
        else if (key == "devices")
            g_config.devices = static_cast<unsigned int>(std::atoi(value.c_str()));
        else if (key == "name")
            g_config.name = value;
        else if (key == "total")
            g_config.total = std::strtoull(value.c_str(), nullptr, 10);
        else if (key == "used")
            g_config.used = std::strtoull(value.c_str(), nullptr, 10);
        else if (key == "util")
            g_config.util = static_cast<unsigned int>(std::atoi(value.c_str()));
        else if (key == "memv2")
            g_config.memV2 = std::atoi(value.c_str());
        else if (key == "procapi")
            g_config.procApi = std::atoi(value.c_str());
        else if (key == "procrc")
            g_config.procRc = std::atoi(value.c_str());
        else if (key == "procs") {
            size_t p = 0;
            while (p < value.size()) {
                const size_t comma = std::min(value.find(',', p), value.size());
                const std::string entry = value.substr(p, comma - p);
                p = comma + 1;
                const size_t colon = entry.find(':');
                if (colon == std::string::npos)
                    continue;
                Process proc;
                proc.pid = static_cast<unsigned int>(std::strtoul(entry.c_str(), nullptr, 10));
                const std::string bytes = entry.substr(colon + 1);
                proc.bytes =
                    bytes == "na" ? nvml::ValueNotAvailable : std::strtoull(bytes.c_str(), nullptr, 10);
                g_config.procs.push_back(proc);
            }
        }
    }
}

int deviceIndex(nvml::Device d) {
    const char* p = static_cast<const char*>(d);
    if (p < g_devices || p >= g_devices + g_config.devices)
        return -1;
    return static_cast<int>(p - g_devices);
}

template <typename Info>
nvml::Return processes(const char* fn, int version, nvml::Device d, unsigned int* count, Info* infos) {
    ++g_calls[fn];
    if (!g_initialised)
        return 1; // UNINITIALIZED
    if (version > g_config.procApi)
        return nvml::ErrorFunctionNotFound;
    if (g_config.procRc != 0)
        return g_config.procRc;
    if (deviceIndex(d) < 0 || !count)
        return 2; // INVALID_ARGUMENT
    const unsigned int n = static_cast<unsigned int>(g_config.procs.size());
    if (*count < n) {
        *count = n;
        return nvml::ErrorInsufficientSize;
    }
    *count = n;
    for (unsigned int i = 0; i < n; ++i) {
        infos[i] = Info{};
        infos[i].pid = g_config.procs[i].pid;
        infos[i].usedGpuMemory = g_config.procs[i].bytes;
    }
    return nvml::Success;
}

} // namespace

extern "C" {

__attribute__((visibility("default"))) int tpFakeNvmlCalls(const char* fn) {
    const auto it = g_calls.find(fn);
    return it == g_calls.end() ? 0 : it->second;
}

__attribute__((visibility("default"))) nvml::Return nvmlInit_v2() {
    parse(std::getenv("TP_FAKE_NVML"));
    g_calls.clear();
    ++g_calls["nvmlInit_v2"];
    g_initialised = g_config.initRc == 0;
    return g_config.initRc;
}

__attribute__((visibility("default"))) nvml::Return nvmlShutdown() {
    g_initialised = false;
    return nvml::Success;
}

__attribute__((visibility("default"))) const char* nvmlErrorString(nvml::Return rc) {
    switch (rc) {
    case nvml::ErrorDriverNotLoaded:
        return "Driver Not Loaded";
    case nvml::ErrorNotSupported:
        return "Not Supported";
    case nvml::ErrorFunctionNotFound:
        return "Function Not Found";
    default:
        return "Unknown Error";
    }
}

__attribute__((visibility("default"))) nvml::Return nvmlSystemGetDriverVersion(char* version,
                                                                               unsigned int length) {
    std::strncpy(version, "999.99.99-fake", length);
    return nvml::Success;
}

__attribute__((visibility("default"))) nvml::Return nvmlDeviceGetCount_v2(unsigned int* count) {
    *count = g_config.devices;
    return g_initialised ? nvml::Success : 1;
}

__attribute__((visibility("default"))) nvml::Return nvmlDeviceGetHandleByIndex_v2(unsigned int index,
                                                                                  nvml::Device* device) {
    if (index >= g_config.devices || index >= sizeof g_devices)
        return 2;
    *device = &g_devices[index];
    return nvml::Success;
}

__attribute__((visibility("default"))) nvml::Return nvmlDeviceGetName(nvml::Device device, char* name,
                                                                      unsigned int length) {
    const std::string n = g_config.name + " #" + std::to_string(deviceIndex(device));
    std::strncpy(name, n.c_str(), length);
    name[length - 1] = '\0';
    return nvml::Success;
}

__attribute__((visibility("default"))) nvml::Return nvmlDeviceGetMemoryInfo(nvml::Device, nvml::MemoryV1* m) {
    ++g_calls["nvmlDeviceGetMemoryInfo"];
    m->total = g_config.total;
    m->used = g_config.used;
    m->free = g_config.total - g_config.used;
    return nvml::Success;
}

__attribute__((visibility("default"))) nvml::Return nvmlDeviceGetMemoryInfo_v2(nvml::Device,
                                                                               nvml::MemoryV2* m) {
    ++g_calls["nvmlDeviceGetMemoryInfo_v2"];
    if (g_config.memV2 == 0)
        return nvml::ErrorFunctionNotFound;
    if (g_config.memV2 == 25 || m->version != 0x02000028)
        return nvml::ErrorArgumentVersionMismatch;
    // The driver reserves a little; v2 reports it apart from what processes use.
    m->total = g_config.total;
    m->reserved = 300ULL << 20;
    m->used = g_config.used - m->reserved;
    m->free = g_config.total - g_config.used;
    return nvml::Success;
}

__attribute__((visibility("default"))) nvml::Return nvmlDeviceGetUtilizationRates(nvml::Device,
                                                                                  nvml::Utilization* u) {
    u->gpu = g_config.util;
    u->memory = 0;
    return nvml::Success;
}

__attribute__((visibility("default"))) nvml::Return
nvmlDeviceGetComputeRunningProcesses_v3(nvml::Device d, unsigned int* count, nvml::ProcessInfoV2* infos) {
    return processes("nvmlDeviceGetComputeRunningProcesses_v3", 3, d, count, infos);
}

__attribute__((visibility("default"))) nvml::Return
nvmlDeviceGetComputeRunningProcesses_v2(nvml::Device d, unsigned int* count, nvml::ProcessInfoV2* infos) {
    return processes("nvmlDeviceGetComputeRunningProcesses_v2", 2, d, count, infos);
}

__attribute__((visibility("default"))) nvml::Return
nvmlDeviceGetComputeRunningProcesses(nvml::Device d, unsigned int* count, nvml::ProcessInfoV1* infos) {
    return processes("nvmlDeviceGetComputeRunningProcesses", 1, d, count, infos);
}

} // extern "C"
