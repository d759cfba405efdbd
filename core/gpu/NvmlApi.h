#pragma once

// The few NVML declarations TwistedPic uses, written from NVIDIA's documented ABI so that the
// build needs no NVML headers or library (libnvidia-ml.so.1 is opened at run time). Plain C
// layout; also used by the tests' fake NVML library.

#include <cstddef>

namespace tp::gpu::nvml {

using Return = int;
using Device = void*;

constexpr Return Success = 0;
constexpr Return ErrorNotSupported = 3;
constexpr Return ErrorNoPermission = 4;
constexpr Return ErrorInsufficientSize = 7;
constexpr Return ErrorDriverNotLoaded = 9;
constexpr Return ErrorFunctionNotFound = 13;
constexpr Return ErrorArgumentVersionMismatch = 25;

constexpr unsigned long long ValueNotAvailable = ~0ULL;
constexpr unsigned int DeviceNameBufferSize = 96;    // NVML_DEVICE_NAME_V2_BUFFER_SIZE
constexpr unsigned int DriverVersionBufferSize = 80; // NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE

struct MemoryV1 { // nvmlMemory_t
    unsigned long long total;
    unsigned long long free;
    unsigned long long used; // includes the driver's reservation
};

struct MemoryV2 { // nvmlMemory_v2_t
    unsigned int version;
    unsigned long long total;
    unsigned long long reserved; // by the driver
    unsigned long long free;
    unsigned long long used; // by processes
};
// NVML_STRUCT_VERSION(Memory, 2): sizeof | (2 << 24)
constexpr unsigned int MemoryV2Version = static_cast<unsigned int>(sizeof(MemoryV2)) | (2u << 24);

struct Utilization {  // nvmlUtilization_t
    unsigned int gpu; // percent of the last second a kernel ran
    unsigned int memory;
};

struct ProcessInfoV1 { // nvmlProcessInfo_v1_t: nvmlDeviceGetComputeRunningProcesses
    unsigned int pid;
    unsigned long long usedGpuMemory;
};

struct ProcessInfoV2 { // nvmlProcessInfo_v2_t / nvmlProcessInfo_t: ..._v2 and ..._v3
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
};

static_assert(sizeof(MemoryV1) == 24, "nvmlMemory_t layout");
static_assert(sizeof(MemoryV2) == 40 && MemoryV2Version == 0x02000028, "nvmlMemory_v2_t layout");
static_assert(sizeof(ProcessInfoV1) == 16, "nvmlProcessInfo_v1_t layout");
static_assert(sizeof(ProcessInfoV2) == 24, "nvmlProcessInfo_v2_t layout");
static_assert(offsetof(ProcessInfoV2, usedGpuMemory) == 8, "nvmlProcessInfo_v2_t layout");

using InitFn = Return (*)();
using ShutdownFn = Return (*)();
using ErrorStringFn = const char* (*)(Return);
using SystemGetDriverVersionFn = Return (*)(char*, unsigned int);
using DeviceGetCountFn = Return (*)(unsigned int*);
using DeviceGetHandleByIndexFn = Return (*)(unsigned int, Device*);
using DeviceGetNameFn = Return (*)(Device, char*, unsigned int);
using DeviceGetMemoryInfoFn = Return (*)(Device, MemoryV1*);
using DeviceGetMemoryInfoV2Fn = Return (*)(Device, MemoryV2*);
using DeviceGetUtilizationRatesFn = Return (*)(Device, Utilization*);
using DeviceGetProcessesV1Fn = Return (*)(Device, unsigned int*, ProcessInfoV1*);
using DeviceGetProcessesV2Fn = Return (*)(Device, unsigned int*, ProcessInfoV2*);

} // namespace tp::gpu::nvml
