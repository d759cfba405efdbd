#include "core/gpu/GpuMemory.h"

#include "core/common/Log.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <c10/util/Exception.h>
#include <torch/cuda.h>
#include <torch/version.h>

#if TWISTEDPIC_WITH_CUDA
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#if TORCH_VERSION_MAJOR >= 2 // at::cuda::clearCublasWorkspaces
#if __has_include(<ATen/cuda/CUDAContextLight.h>)
#include <ATen/cuda/CUDAContextLight.h>
#else
#include <ATen/cuda/CUDAContext.h>
#endif
#endif
#endif

#include <QDateTime>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <new>
#include <set>
#include <unordered_set>

namespace tp::gpu {
namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Memory-manager events are routine after every image: info only when the user asked for detail.
template <typename... Args> void logEvent(fmt::format_string<Args...> format, Args&&... args) {
    spdlog::log(log::verbose() ? spdlog::level::info : spdlog::level::debug, format,
                std::forward<Args>(args)...);
}

qint64 tensorBytes(const at::Tensor& t) {
    return static_cast<qint64>(t.numel()) * static_cast<qint64>(t.element_size());
}

QString displayName(const ModelResidency& m) {
    return m.name().isEmpty() ? QStringLiteral("model") : QLatin1Char('\'') + m.name() + QLatin1Char('\'');
}

// Contiguous strides for sizes (for the rare tensor that is not dense).
std::vector<int64_t> contiguousStrides(at::IntArrayRef sizes) {
    std::vector<int64_t> strides(sizes.size(), 1);
    for (size_t i = sizes.size(); i-- > 1;)
        strides[i - 1] = strides[i] * std::max<int64_t>(sizes[i], 1);
    return strides;
}

// The strides of t's host buffer: its own when dense (a channels-last weight comes back
// channels-last), else contiguous.
std::vector<int64_t> hostStrides(const at::Tensor& t) {
    return t.is_non_overlapping_and_dense() ? t.strides().vec() : contiguousStrides(t.sizes());
}

#if TWISTEDPIC_WITH_CUDA
// One page-locked host allocation shared by many tensors. libtorch's pinned allocator rounds every
// block up to a power of two (up to twice the RAM); one exact block registered with
// cudaHostRegister costs ~0.1 s/GiB once and nothing afterwards.
struct HostBlock {
    void* data = nullptr;
    bool registered = false;
    ~HostBlock() {
        if (registered)
            cudaHostUnregister(data);
        std::free(data);
    }
};

// `total` bytes (a multiple of `page`), page-aligned, page-locked where cudaHostRegister allows it
// (`registered` says whether it did).
std::shared_ptr<HostBlock> makeHostBlock(size_t total, size_t page) {
    auto block = std::make_shared<HostBlock>();
    block->data = std::aligned_alloc(page, total);
    if (!block->data)
        throw std::bad_alloc();
    const cudaError_t rc = cudaHostRegister(block->data, total, cudaHostRegisterDefault);
    block->registered = rc == cudaSuccess;
    if (!block->registered) {
        spdlog::debug("gpu: cudaHostRegister({}) failed: {}", formatBytes(static_cast<qint64>(total)),
                      cudaGetErrorString(rc));
        cudaGetLastError();
    }
    return block;
}
#endif

// For each (device tensor, host buffer) pair, makes a host buffer with the tensor's sizes, strides
// and dtype, all carved from one block. Returns the block's size; *pinned says whether it could be
// page-locked.
using BufferJob = std::pair<const at::Tensor*, at::Tensor*>;
qint64 allocateHostBuffers(const std::vector<BufferJob>& jobs, bool* pinned) {
    constexpr size_t kAlign = 256; // what cudaMemcpy likes; also keeps every dtype aligned
    constexpr size_t kPage = 4096;
    std::vector<size_t> offsets;
    size_t total = 0;
    for (const BufferJob& job : jobs) {
        offsets.push_back(total);
        total += (static_cast<size_t>(tensorBytes(*job.first)) + kAlign - 1) / kAlign * kAlign;
    }
    total = std::max<size_t>((total + kPage - 1) / kPage * kPage, kPage);
#if TWISTEDPIC_WITH_CUDA
    const std::shared_ptr<HostBlock> block = makeHostBlock(total, kPage);
    *pinned = block->registered;
    for (size_t i = 0; i < jobs.size(); ++i) {
        const at::Tensor& t = *jobs[i].first;
        *jobs[i].second = at::from_blob(
            static_cast<char*>(block->data) + offsets[i], t.sizes(), hostStrides(t), [block](void*) {},
            t.options().device(c10::kCPU).requires_grad(false));
    }
#else
    // Unreachable without CUDA (unload() returns first); plain host tensors keep it honest.
    for (const BufferJob& job : jobs)
        *job.second = at::empty_strided(job.first->sizes(), contiguousStrides(job.first->sizes()),
                                        job.first->options().device(c10::kCPU));
    *pinned = false;
#endif
    return static_cast<qint64>(total);
}

#if TWISTEDPIC_WITH_CUDA
// DeviceStats' StatType::AGGREGATE. Its namespace moved between libtorch versions
// (c10::cuda::CUDACachingAllocator, c10::CachingDeviceAllocator, c10::CachingAllocator); the
// index has stayed 0.
constexpr size_t kAggregate = 0;

void synchronize(int device) {
    const c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device));
    c10::cuda::device_synchronize();
}

int cudaDeviceCount(QString* error) {
    int count = 0;
    const cudaError_t rc = cudaGetDeviceCount(&count);
    if (rc != cudaSuccess) {
        if (error)
            *error = QString::fromUtf8(cudaGetErrorString(rc));
        cudaGetLastError(); // clear the sticky-less error so that later calls start clean
        return 0;
    }
    return count;
}
#endif

} // namespace

at::Tensor allocateHostBytes(qint64 bytes, bool* pageLocked) {
    constexpr size_t kPage = 4096;
    const size_t total = std::max<size_t>(
        (static_cast<size_t>(std::max<qint64>(bytes, 0)) + kPage - 1) / kPage * kPage, kPage);
    const at::TensorOptions options = at::TensorOptions().dtype(at::kByte).device(c10::kCPU);
    bool locked = false;
    at::Tensor out;
#if TWISTEDPIC_WITH_CUDA
    if (cudaAvailable()) {
        const std::shared_ptr<HostBlock> block = makeHostBlock(total, kPage);
        locked = block->registered;
        out = at::from_blob(
            block->data, {static_cast<int64_t>(total)}, [block](void*) {}, options);
    }
#endif
    if (!out.defined())
        out = at::empty({static_cast<int64_t>(total)}, options);
    if (pageLocked)
        *pageLocked = locked;
    return out;
}

bool cudaAvailable() {
#if TWISTEDPIC_WITH_CUDA
    static const bool available = torch::cuda::is_available();
    return available;
#else
    return false;
#endif
}

QString noCudaReason() {
#if TWISTEDPIC_WITH_CUDA
    if (cudaAvailable())
        return {};
    QString error;
    cudaDeviceCount(&error);
    return QStringLiteral("libtorch has CUDA support but no CUDA device is usable (%1): running on the CPU")
        .arg(error.isEmpty() ? QStringLiteral("no device found") : error);
#else
    return QStringLiteral("libtorch has no CUDA support: running on the CPU");
#endif
}

bool cudaContextActive(int device) {
#if TWISTEDPIC_WITH_CUDA
    if (!cudaAvailable() || device < 0 || device >= static_cast<int>(torch::cuda::device_count()))
        return false;
    try {
        return at::detail::getCUDAHooks().hasPrimaryContext(static_cast<c10::DeviceIndex>(device));
    } catch (const std::exception& e) {
        spdlog::debug("gpu: cannot ask for the CUDA context of device {}: {}", device, e.what());
        return false;
    }
#else
    Q_UNUSED(device);
    return false;
#endif
}

MemorySnapshot snapshot(int device) {
    MemorySnapshot s;
    s.msecsSinceEpoch = QDateTime::currentMSecsSinceEpoch();
#if TWISTEDPIC_WITH_CUDA
    if (!cudaAvailable())
        return s;
    s.cuda = true;
    s.device = device;
    if (!cudaContextActive(device)) {
        // Nothing ran there yet: the allocator holds nothing, and asking the driver for the
        // device's memory would create the ~500 MiB context this program exists to avoid.
        s.allocatedBytes = s.reservedBytes = s.peakAllocatedBytes = 0;
        return s;
    }
    {
        const c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device));
        size_t freeBytes = 0;
        size_t totalBytes = 0;
        if (cudaMemGetInfo(&freeBytes, &totalBytes) == cudaSuccess) {
            s.deviceTotalBytes = static_cast<qint64>(totalBytes);
            s.deviceUsedBytes = static_cast<qint64>(totalBytes - freeBytes);
        } else {
            cudaGetLastError();
        }
    }
    try {
        // Throws "Invalid device argument" until libtorch initialised its allocator.
        const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
        s.allocatedBytes = stats.allocated_bytes[kAggregate].current;
        s.peakAllocatedBytes = stats.allocated_bytes[kAggregate].peak;
        s.reservedBytes = stats.reserved_bytes[kAggregate].current;
    } catch (const c10::Error&) {
        s.allocatedBytes = s.reservedBytes = s.peakAllocatedBytes = 0; // allocator not started
    }
#else
    Q_UNUSED(device);
#endif
    return s;
}

namespace {
std::atomic<int> g_cublasWorkspaceHolds{0};
} // namespace

void holdCublasWorkspaces() {
    ++g_cublasWorkspaceHolds;
}

void releaseCublasWorkspaces() {
    --g_cublasWorkspaceHolds;
}

bool cublasWorkspacesHeld() {
    return g_cublasWorkspaceHolds.load() > 0;
}

void resetPeak(int device) {
#if TWISTEDPIC_WITH_CUDA
    if (!cudaAvailable() || !cudaContextActive(device))
        return;
    try {
        c10::cuda::CUDACachingAllocator::resetPeakStats(device);
    } catch (const c10::Error&) {
        // the allocator has not started on this device: there is no peak to reset
    }
#else
    Q_UNUSED(device);
#endif
}

void startCuda(int device) {
#if TWISTEDPIC_WITH_CUDA
    if (!cudaAvailable() || cudaContextActive(device))
        return;
    // The allocator's per-device state starts with the first allocation.
    at::empty({1}, at::TensorOptions().device(at::kCUDA, static_cast<c10::DeviceIndex>(device)));
#else
    Q_UNUSED(device);
#endif
}

double setAllocatorLimit(int device, qint64 bytes) {
#if TWISTEDPIC_WITH_CUDA
    if (!cudaAvailable())
        return -1;
    startCuda(device);
    const c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(device));
    size_t freeBytes = 0;
    size_t totalBytes = 0;
    if (cudaMemGetInfo(&freeBytes, &totalBytes) != cudaSuccess || totalBytes == 0) {
        cudaGetLastError();
        return -1;
    }
    const double fraction =
        bytes < 0 ? 1.0 : std::clamp(static_cast<double>(bytes) / static_cast<double>(totalBytes), 0.0, 1.0);
    c10::cuda::CUDACachingAllocator::setMemoryFraction(fraction, static_cast<c10::DeviceIndex>(device));
    return fraction;
#else
    Q_UNUSED(device);
    Q_UNUSED(bytes);
    return -1;
#endif
}

namespace {
bool isHostAllocationFailure(const std::string& what) {
    // DefaultCPUAllocator: "not enough memory" (2.x), "can't allocate memory" (1.13)
    return what.find("DefaultCPUAllocator") != std::string::npos ||
           what.find("not enough memory") != std::string::npos ||
           what.find("can't allocate memory") != std::string::npos;
}
} // namespace

bool isCudaOutOfMemory(const std::exception& e) {
    if (!dynamic_cast<const c10::Error*>(&e))
        return false;
    const std::string what = e.what();
    if (isHostAllocationFailure(what))
        return false;
    if (dynamic_cast<const c10::OutOfMemoryError*>(&e))
        return true; // libtorch 2.x's CUDA allocator, and 1.13's
    return what.find("CUDA out of memory") != std::string::npos ||
           what.find("CUBLAS_STATUS_ALLOC_FAILED") != std::string::npos ||
           what.find("cudaErrorMemoryAllocation") != std::string::npos;
}

bool isOutOfMemory(const std::exception& e) {
    if (isCudaOutOfMemory(e) || dynamic_cast<const std::bad_alloc*>(&e) ||
        dynamic_cast<const c10::OutOfMemoryError*>(&e))
        return true;
    return dynamic_cast<const c10::Error*>(&e) && isHostAllocationFailure(e.what());
}

// ---- ModelResidency ----------------------------------------------------------------------

ModelResidency::ModelResidency(std::vector<torch::nn::Module*> modules, QString name)
    : m_modules(std::move(modules))
    , m_name(std::move(name)) {}

std::vector<ModelResidency::Found> ModelResidency::walk() const {
    std::vector<Found> found;
    std::unordered_set<const void*> seen; // tied weights and modules listed twice appear once
    for (size_t i = 0; i < m_modules.size(); ++i) {
        if (!m_modules[i])
            continue;
        const std::string prefix = std::to_string(i) + '/';
        auto add = [&](const std::string& name, const at::Tensor& t) {
            if (t.defined() && seen.insert(t.unsafeGetTensorImpl()).second)
                found.push_back({prefix + name, t});
        };
        for (const auto& item : m_modules[i]->named_parameters(/*recurse=*/true))
            add(item.key(), item.value());
        for (const auto& item : m_modules[i]->named_buffers(/*recurse=*/true))
            add(item.key(), item.value());
    }
    return found;
}

const ModelResidency::Entry* ModelResidency::entry(const std::string& key) const {
    const auto it = m_entries.find(key);
    return it == m_entries.end() ? nullptr : &it->second;
}

std::vector<ModelResidency::Entry*> ModelResidency::refresh() {
    std::vector<Found> found = walk();
    std::unordered_map<std::string, Entry> next;
    next.reserve(found.size());
    for (Found& f : found) {
        Entry e;
        if (auto it = m_entries.find(f.key); it != m_entries.end())
            e = std::move(it->second); // keeps the pinned buffer and home device
        e.tensor = std::move(f.tensor);
        next.emplace(f.key, std::move(e));
    }
    m_entries = std::move(next);
    std::vector<Entry*> ordered;
    ordered.reserve(found.size());
    for (const Found& f : found)
        ordered.push_back(&m_entries.at(f.key));
    return ordered;
}

Residency ModelResidency::residency() const {
    int onGpu = 0;
    int pinned = 0;
    int other = 0;
    for (const Found& f : walk()) {
        if (f.tensor.is_cuda()) {
            ++onGpu;
        } else {
            const Entry* e = entry(f.key);
            if (e && e->pinned.defined() && f.tensor.is_alias_of(e->pinned))
                ++pinned;
            else
                ++other;
        }
    }
    if (onGpu > 0)
        return pinned + other == 0 ? Residency::OnGpu : Residency::Mixed;
    if (pinned > 0)
        return other == 0 ? Residency::PinnedCpu : Residency::Mixed;
    return Residency::Cpu;
}

int ModelResidency::tensorCount() const {
    return static_cast<int>(walk().size());
}

qint64 ModelResidency::bytes() const {
    qint64 total = 0;
    for (const Found& f : walk())
        total += tensorBytes(f.tensor);
    return total;
}

qint64 ModelResidency::pinnedBytes() const {
    qint64 total = 0;
    for (const auto& [key, e] : m_entries)
        if (e.pinned.defined())
            total += tensorBytes(e.pinned);
    return total;
}

void ModelResidency::releasePinnedBuffers() {
    if (residency() == Residency::PinnedCpu || residency() == Residency::Mixed)
        return;
    for (auto& [key, e] : m_entries)
        e.pinned.reset();
}

// ---- MemoryManager -----------------------------------------------------------------------

CleanupReport MemoryManager::cleanup() {
    CleanupReport r;
    const auto t0 = Clock::now();
    r.before = snapshot();
    if (!cudaAvailable()) {
        r.after = r.before;
        r.message = QStringLiteral("cleanup: no CUDA (%1), nothing to free").arg(noCudaReason());
        r.durationMs = msSince(t0);
        logEvent("gpu: {}", r.message);
        return r;
    }
    r.cuda = true;
    if (!cudaContextActive(m_device)) {
        r.after = r.before;
        r.message = QStringLiteral("cleanup: CUDA not used yet on device %1, nothing to free").arg(m_device);
        r.durationMs = msSince(t0);
        logEvent("gpu: {}", r.message);
        return r;
    }
#if TWISTEDPIC_WITH_CUDA
    synchronize(m_device);
#if TORCH_VERSION_MAJOR >= 2
    // cuBLAS keeps a workspace per handle and stream (32 MiB on Hopper; once a 1 GiB segment was
    // seen kept alive by it): hand it back to the allocator so that emptyCache frees it. Not while a
    // captured CUDA graph's kernels still use one.
    if (!cublasWorkspacesHeld())
        at::cuda::clearCublasWorkspaces();
#endif
    c10::cuda::CUDACachingAllocator::emptyCache();
#endif
    r.after = snapshot();
    r.durationMs = msSince(t0);
    r.message =
        QStringLiteral("cleanup: released %1 in %2 ms (reserved %3 -> %4, allocated %5, device used %6)")
            .arg(formatBytes(r.releasedBytes()))
            .arg(r.durationMs, 0, 'f', 1)
            .arg(formatBytes(r.before.reservedBytes), formatBytes(r.after.reservedBytes),
                 formatBytes(r.after.allocatedBytes), formatBytes(r.after.deviceUsedBytes));
    logEvent("gpu: {}", r.message);
    return r;
}

TransferReport MemoryManager::unload(ModelResidency& model, bool thenCleanup) {
    TransferReport r;
    const auto t0 = Clock::now();
    r.from = r.to = model.residency();
    r.before = snapshot();
    if (!cudaAvailable()) {
        r.after = r.before;
        r.message = QStringLiteral("unload %1: no CUDA, the weights stay in RAM").arg(displayName(model));
    } else if (r.from != Residency::OnGpu && r.from != Residency::Mixed) {
        r.cuda = true;
        r.after = r.before;
        r.message = QStringLiteral("unload %1: nothing on the GPU (%2)")
                        .arg(displayName(model), residencyName(r.from));
    }
    if (!r.message.isEmpty()) {
        r.totalMs = msSince(t0);
        logEvent("gpu: {}", r.message);
        return r;
    }
    r.cuda = true;

    std::vector<ModelResidency::Entry*> moving;
    std::set<int> devices;
    {
        const at::NoGradGuard noGrad;
        const auto copyStart = Clock::now();
        std::vector<BufferJob> needBuffer;
        for (ModelResidency::Entry* e : model.refresh()) {
            const at::Tensor& t = e->tensor;
            if (!t.is_cuda())
                continue;
            const bool reusable = e->pinned.defined() && e->pinned.sizes() == t.sizes() &&
                                  e->pinned.strides() == at::IntArrayRef(hostStrides(t)) &&
                                  e->pinned.dtype() == t.dtype();
            if (!reusable)
                needBuffer.emplace_back(&e->tensor, &e->pinned);
            moving.push_back(e);
        }
        if (!needBuffer.empty()) {
            const auto pinStart = Clock::now();
            bool pinned = true;
            r.pinnedAllocatedBytes = allocateHostBuffers(needBuffer, &pinned);
            r.pinMs = msSince(pinStart);
            if (!pinned)
                spdlog::warn("gpu: could not page-lock {} of host memory for {}: copies will be slower",
                             formatBytes(r.pinnedAllocatedBytes), displayName(model));
        }
        for (ModelResidency::Entry* e : moving) {
            e->pinned.copy_(e->tensor, /*non_blocking=*/true);
            e->home = e->tensor.device();
            devices.insert(e->home.index());
            r.bytes += tensorBytes(e->tensor);
        }
#if TWISTEDPIC_WITH_CUDA
        for (int d : devices)
            synchronize(d); // every copy has landed before the module lets go of the device tensors
#endif
        r.copyMs = msSince(copyStart) - r.pinMs;
        for (ModelResidency::Entry* e : moving)
            e->tensor.set_data(e->pinned);
    }
    r.tensors = static_cast<int>(moving.size());

    if (thenCleanup)
        r.cleanupMs = cleanup().durationMs;
    r.moved = true;
    r.to = model.residency();
    r.after = snapshot();
    r.totalMs = msSince(t0);
    r.message =
        QStringLiteral("unload %1: %2 in %3 tensors to pinned RAM in %4 ms (%5 GB/s%6), cleanup %7 ms; "
                       "device used %8 -> %9")
            .arg(displayName(model), formatBytes(r.bytes))
            .arg(r.tensors)
            .arg(r.totalMs, 0, 'f', 1)
            .arg(r.gigabytesPerSecond(), 0, 'f', 1)
            .arg(r.pinnedAllocatedBytes > 0 ? QStringLiteral(", pinned %1 in %2 ms")
                                                  .arg(formatBytes(r.pinnedAllocatedBytes))
                                                  .arg(r.pinMs, 0, 'f', 1)
                                            : QString())
            .arg(r.cleanupMs, 0, 'f', 1)
            .arg(formatBytes(r.before.deviceUsedBytes), formatBytes(r.after.deviceUsedBytes));
    logEvent("gpu: {}", r.message);
    return r;
}

TransferReport MemoryManager::reload(ModelResidency& model) {
    TransferReport r;
    const auto t0 = Clock::now();
    r.from = r.to = model.residency();
    r.before = snapshot();
    if (!cudaAvailable()) {
        r.after = r.before;
        r.message = QStringLiteral("reload %1: no CUDA, the weights stay in RAM").arg(displayName(model));
    } else if (r.from != Residency::PinnedCpu && r.from != Residency::Mixed) {
        r.cuda = true;
        r.after = r.before;
        r.message =
            QStringLiteral("reload %1: nothing unloaded (%2)").arg(displayName(model), residencyName(r.from));
    }
    if (!r.message.isEmpty()) {
        r.totalMs = msSince(t0);
        logEvent("gpu: {}", r.message);
        return r;
    }
    r.cuda = true;

    std::vector<std::pair<ModelResidency::Entry*, at::Tensor>> copies;
    std::set<int> devices;
    {
        const at::NoGradGuard noGrad;
        const auto copyStart = Clock::now();
        try {
            for (ModelResidency::Entry* e : model.refresh()) {
                if (!e->home.is_cuda() || !e->pinned.defined() || !e->tensor.is_alias_of(e->pinned))
                    continue;
                // to() keeps the strides of dense tensors (MemoryFormat::Preserve).
                copies.emplace_back(e, e->pinned.to(e->home, /*non_blocking=*/true));
                devices.insert(e->home.index());
                r.bytes += tensorBytes(e->pinned);
            }
#if TWISTEDPIC_WITH_CUDA
            for (int d : devices)
                synchronize(d);
#endif
        } catch (const std::exception& e) {
            // Typically CUDA out of memory: another program took the memory while we were
            // unloaded. The module still uses its pinned buffers; free what was copied so far.
            copies.clear();
            spdlog::warn("gpu: reload {} failed, the weights stay in pinned RAM: {}", displayName(model),
                         e.what());
            cleanup();
            throw;
        }
        r.copyMs = msSince(copyStart);
        for (auto& [e, onDevice] : copies)
            e->tensor.set_data(onDevice);
    }
    r.tensors = static_cast<int>(copies.size());
    r.moved = true;
    r.to = model.residency();
    r.after = snapshot();
    r.totalMs = msSince(t0);
    r.message =
        QStringLiteral("reload %1: %2 in %3 tensors to the GPU in %4 ms (%5 GB/s); device used %6 -> %7")
            .arg(displayName(model), formatBytes(r.bytes))
            .arg(r.tensors)
            .arg(r.totalMs, 0, 'f', 1)
            .arg(r.gigabytesPerSecond(), 0, 'f', 1)
            .arg(formatBytes(r.before.deviceUsedBytes), formatBytes(r.after.deviceUsedBytes));
    logEvent("gpu: {}", r.message);
    return r;
}

TransferReport MemoryManager::stageOnHost(ModelResidency& model, c10::Device home,
                                          const std::unordered_set<const void*>& skip) {
    TransferReport r;
    const auto t0 = Clock::now();
    r.from = r.to = model.residency();
    r.before = r.after = snapshot();
    if (!cudaAvailable() || !home.is_cuda()) {
        r.message =
            QStringLiteral("stage %1: no CUDA, the weights stay where they are").arg(displayName(model));
        r.totalMs = msSince(t0);
        logEvent("gpu: {}", r.message);
        return r;
    }
    r.cuda = true;
    const at::NoGradGuard noGrad;
    std::vector<ModelResidency::Entry*> staging;
    std::vector<BufferJob> jobs;
    for (ModelResidency::Entry* e : model.refresh()) {
        const at::Tensor& t = e->tensor;
        if (!t.device().is_cpu() || skip.count(t.unsafeGetTensorImpl()) ||
            (e->pinned.defined() && t.is_alias_of(e->pinned)))
            continue;
        jobs.emplace_back(&e->tensor, &e->pinned);
        staging.push_back(e);
    }
    if (!staging.empty()) {
        const auto pinStart = Clock::now();
        bool pinned = true;
        r.pinnedAllocatedBytes = allocateHostBuffers(jobs, &pinned);
        r.pinMs = msSince(pinStart);
        if (!pinned)
            spdlog::warn("gpu: could not page-lock {} of host memory for {}: copies will be slower",
                         formatBytes(r.pinnedAllocatedBytes), displayName(model));
        const auto copyStart = Clock::now();
        for (ModelResidency::Entry* e : staging) {
            e->pinned.copy_(e->tensor);
            e->home = home;
            r.bytes += tensorBytes(e->tensor);
        }
        r.copyMs = msSince(copyStart);
        for (ModelResidency::Entry* e : staging)
            e->tensor.set_data(e->pinned);
        r.moved = true;
    }
    r.tensors = static_cast<int>(staging.size());
    r.to = model.residency();
    r.totalMs = msSince(t0);
    r.message = QStringLiteral("stage %1: %2 in %3 tensors into pinned RAM in %4 ms, ready for %5")
                    .arg(displayName(model), formatBytes(r.bytes))
                    .arg(r.tensors)
                    .arg(r.totalMs, 0, 'f', 1)
                    .arg(QString::fromStdString(home.str()));
    logEvent("gpu: {}", r.message);
    return r;
}

} // namespace tp::gpu
