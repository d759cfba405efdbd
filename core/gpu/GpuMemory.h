#pragma once

// The GPU memory manager: gives cached device memory back to the driver after each image and
// moves a model's weights to pinned host memory and back, so that Ollama keeps the GPU between
// generations. Core-internal (libtorch types); the torch-free figures are in MemoryTypes.h.

#include "core/gpu/MemoryTypes.h"

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include <exception>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace tp::gpu {

// True when libtorch was built with CUDA and a CUDA device is usable. Never creates a CUDA
// context (cudaGetDeviceCount only).
bool cudaAvailable();
// Why cudaAvailable() is false, in words ("libtorch has no CUDA support: running on the CPU");
// empty when it is true.
QString noCudaReason();
// True when this process already holds a CUDA context on `device` (something ran there).
bool cudaContextActive(int device);
// This process's view of `device`. Never creates a CUDA context: before CUDA was used on the
// device, the allocator figures are 0 (nothing allocated) and the device figures -1 (unknown).
MemorySnapshot snapshot(int device);
// Creates this process's CUDA context on `device` (and its allocator) when it has none yet, so that
// snapshot() can read the device before anything was loaded; no-op without CUDA.
void startCuda(int device);
// Starts a new peak for snapshot().peakAllocatedBytes (no-op without CUDA or before first use).
void resetPeak(int device);
// Caps what this process's caching allocator may hold on `device` at `bytes` (its memory fraction,
// bytes / the device's total), so that going over the VRAM budget fails loudly with an
// out-of-memory error instead of taking memory another program (Ollama) counts on; bytes < 0 lifts
// the cap. Starts CUDA on the device when it has not been used yet. Returns the fraction set, or -1
// without CUDA (a no-op).
double setAllocatorLimit(int device, qint64 bytes);
// While a captured CUDA graph lives (pipeline::DenoiserGraphs), its kernels use the cuBLAS workspace of
// the stream it was captured on: MemoryManager::cleanup() then keeps cuBLAS's workspaces instead of
// freeing memory a graph still writes to. Counted: one release per hold.
void holdCublasWorkspaces();
void releaseCublasWorkspaces();
bool cublasWorkspacesHeld();
// c10::OutOfMemoryError (libtorch 2.x, and 1.13's allocator), a c10::Error whose message says
// "CUDA out of memory" or "CUBLAS_STATUS_ALLOC_FAILED", host allocation failures
// (std::bad_alloc, DefaultCPUAllocator's "not enough memory" / "can't allocate memory").
bool isOutOfMemory(const std::exception& e);
// True only for device (CUDA) memory exhaustion.
bool isCudaOutOfMemory(const std::exception& e);
// A uint8 host tensor of at least `bytes` (rounded up to 4 KiB, page aligned), page-locked with
// cudaHostRegister when CUDA is usable so that copies from and to it run asynchronously; plain host
// memory otherwise. *pageLocked (optional) says which. Views of it (at::from_blob with a deleter that
// holds the tensor) keep it alive.
at::Tensor allocateHostBytes(qint64 bytes, bool* pageLocked = nullptr);

// The weights of one model (one or more modules) and the pinned host buffers they move to when
// unloaded. The engine keeps one per loaded model and uses it from its own thread only. The
// pinned buffers are allocated on the first unload and kept, so later unload/reload cycles only
// copy. The modules must outlive this object; tensors are found by walking
// named_parameters()/named_buffers() on every operation, so weights loaded after construction
// are included.
class ModelResidency final {
public:
    explicit ModelResidency(std::vector<torch::nn::Module*> modules, QString name = {});
    ModelResidency(const ModelResidency&) = delete;
    ModelResidency& operator=(const ModelResidency&) = delete;

    const QString& name() const { return m_name; }
    Residency residency() const;
    int tensorCount() const;
    qint64 bytes() const;       // parameters + buffers
    qint64 pinnedBytes() const; // host memory the pinned buffers hold
    // Frees the pinned buffers (they are made again on the next unload). Does nothing while the
    // model is unloaded, because the buffers are then the model's weights.
    void releasePinnedBuffers();
    // Forgets the tensors the modules no longer hold (a component the model dropped), with their
    // pinned buffers, so that their memory is freed now rather than at the next unload or reload.
    void forgetDropped() { refresh(); }

private:
    friend class MemoryManager;
    struct Entry {
        at::Tensor tensor;           // the module's parameter or buffer (shares its TensorImpl)
        at::Tensor pinned;           // its pinned host buffer, once unloaded
        c10::Device home{c10::kCPU}; // the device it came from, to reload to
    };
    struct Found {
        std::string key; // "<module index>/<parameter or buffer name>"
        at::Tensor tensor;
    };
    std::vector<Found> walk() const; // every distinct parameter and buffer, in module order
    std::vector<Entry*> refresh();   // entries for the tensors walk() finds now
    const Entry* entry(const std::string& key) const;

    std::vector<torch::nn::Module*> m_modules;
    QString m_name;
    std::unordered_map<std::string, Entry> m_entries;
};

// cleanup/unload/reload for the engine's device. Without CUDA every call is a logged no-op whose
// report says "no CUDA". unload()/reload() give the strong guarantee: when they throw (e.g. CUDA
// out of memory while reloading because another program took the memory), the model is left
// where it was, partial copies are freed and the exception propagates for the engine to report.
class MemoryManager final {
public:
    explicit MemoryManager(int device = 0)
        : m_device(device) {}

    int device() const { return m_device; }
    MemorySnapshot snapshot() const { return gpu::snapshot(m_device); }

    // Waits for queued GPU work, drops cuBLAS workspaces (libtorch 2.x; not while CUDA graphs hold
    // them: holdCublasWorkspaces()) and gives the caching allocator's unused blocks back to the driver.
    // Tensors still referenced stay.
    CleanupReport cleanup();
    // Copies every CUDA parameter and buffer to its pinned host buffer, makes the module use
    // that buffer, then cleanup() (unless `thenCleanup` is false: the caller cleans up once after
    // unloading several). Values are kept bit for bit.
    TransferReport unload(ModelResidency& model, bool thenCleanup = true);
    // Copies the pinned buffers back to the devices they came from. The pinned buffers are kept.
    TransferReport reload(ModelResidency& model);
    // A model loaded into host memory (pipeline::DeviceChoice::loadOnHost) made ready for reload():
    // every host tensor (except those in `skip`, by TensorImpl: the streamer's parked blocks) is
    // copied into a pinned buffer that the module then uses, with `home` (a CUDA device) as the
    // device reload() copies it to; the model ends in the state unload() leaves. Without CUDA, a
    // logged no-op. Throws std::bad_alloc when host memory cannot be had (the model is untouched).
    TransferReport stageOnHost(ModelResidency& model, c10::Device home,
                               const std::unordered_set<const void*>& skip = {});

private:
    int m_device = 0;
};

} // namespace tp::gpu
