#include "core/pipeline/DenoiserGraph.h"

#include "core/common/Bytes.h"
#include "core/common/Log.h"
#include "core/gpu/GpuMemory.h"

#include <ATen/ATen.h>
#include <torch/version.h>

// The C++ graph API this uses (at::cuda::CUDAGraph with a shared pool and a capture mode) is
// libtorch 2.x's; 1.13 and CPU builds always run the denoiser eagerly.
#if TWISTEDPIC_WITH_CUDA && TORCH_VERSION_MAJOR >= 2
#define TP_CUDA_GRAPHS 1
#include <ATen/Context.h>
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#else
#define TP_CUDA_GRAPHS 0
#endif

#include <QByteArray>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace tp::pipeline {
namespace {

bool offByEnvironment() {
    const QByteArray v = qgetenv("TWISTEDPIC_CUDA_GRAPHS").trimmed().toLower();
    return v == "0" || v == "off" || v == "false" || v == "no";
}

#if TP_CUDA_GRAPHS
// Changes whenever any parameter or buffer of `module` changes address, dtype, size or device.
uint64_t weightsFingerprint(torch::nn::Module& module) {
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    const auto mix = [&h](uint64_t v) {
        h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
    };
    const auto add = [&](const at::Tensor& t) {
        if (!t.defined())
            return;
        mix(reinterpret_cast<uintptr_t>(t.data_ptr()));
        mix(static_cast<uint64_t>(t.scalar_type()));
        mix(static_cast<uint64_t>(t.numel()));
        mix(static_cast<uint64_t>(static_cast<int>(t.device().type()) * 256 + t.device().index() + 1));
    };
    for (const at::Tensor& p : module.parameters(/*recurse=*/true))
        add(p);
    for (const at::Tensor& b : module.buffers(/*recurse=*/true))
        add(b);
    return h;
}

std::string shapeText(const at::Tensor& t) {
    std::string s;
    for (int64_t d : t.sizes())
        s += (s.empty() ? "" : "x") + std::to_string(d);
    return s;
}

// The graph's own copy of an input, on the graph's device, laid out like it.
at::Tensor staticCopy(const at::Tensor& t, const at::Device& device) {
    if (!t.defined())
        return t;
    at::Tensor s = at::empty_like(t, t.options().device(device), at::MemoryFormat::Preserve);
    s.copy_(t);
    return s;
}

void copyInto(at::Tensor& to, const at::Tensor& from) {
    if (to.defined())
        to.copy_(from, /*non_blocking=*/true);
}
#endif

} // namespace

struct DenoiserGraphs::Entry {
#if TP_CUDA_GRAPHS
    // First, so that it goes last: the tensors below live in its pool.
    std::unique_ptr<at::cuda::CUDAGraph> graph;
#endif
    Key key;
    at::Tensor x;
    at::Tensor timestep;
    Conditioning cond;
    at::Tensor output;
};

struct DenoiserGraphs::Cuda {
#if TP_CUDA_GRAPHS
    // A stream of our own to capture on: cuBLAS keeps a workspace per stream that captured kernels
    // point at, and a graph's reset drops the workspace of its capture stream (libtorch 2.x); on a
    // stream from libtorch's shared pool that could be the workspace of another model's graphs.
    cudaStream_t stream = nullptr;
    int device = -1; // the stream's
    // The pool every graph shares (one step's working memory, not one per shape). A new one after
    // the graphs were dropped: the allocator refuses a pool id whose pool it is still releasing.
    std::optional<c10::cuda::MempoolId_t> pool;
    bool holdsWorkspaces = false;

    ~Cuda() {
        if (stream)
            (void)cudaStreamDestroy(stream); // no device guard: this may run late, and must not throw
        if (holdsWorkspaces)
            gpu::releaseCublasWorkspaces();
    }
#endif
};

DenoiserGraphs::DenoiserGraphs()
    : m_cuda(std::make_unique<Cuda>()) {}

DenoiserGraphs::~DenoiserGraphs() {
    try {
        clear();
    } catch (const std::exception& e) {
        spdlog::warn("denoiser graphs: freeing them failed: {}", e.what());
    }
}

void DenoiserGraphs::fallBack(const QString& reason) {
    m_reason = reason;
    if (!m_logged.insert(reason).second)
        return;
    if (reason.contains(QLatin1String("CPU")))
        spdlog::debug("denoiser: steps run eagerly: {}", reason);
    else
        spdlog::info("denoiser: steps run eagerly, not as a CUDA graph: {}", reason);
}

QString DenoiserGraphs::begin(torch::nn::Module& denoiser, const at::Device& device, bool hooked,
                              std::optional<double> guidance, bool enabled) {
    m_active = false;
    m_guidance = guidance;
    QString why;
    if (!enabled)
        why = QStringLiteral("CUDA graphs are turned off (setting gpu/cudaGraphs)");
    else if (offByEnvironment())
        why = QStringLiteral("CUDA graphs are turned off (TWISTEDPIC_CUDA_GRAPHS=%1)")
                  .arg(QString::fromLocal8Bit(qgetenv("TWISTEDPIC_CUDA_GRAPHS")));
    else if (hooked)
        why = QStringLiteral("the denoiser's blocks run with hooks (streamed from RAM), which do host work "
                             "between blocks");
    else if (!device.is_cuda())
        why = QStringLiteral("the denoiser runs on the CPU (%1)").arg(QString::fromStdString(device.str()));
    else if (!TP_CUDA_GRAPHS)
        why = TWISTEDPIC_WITH_CUDA
                  ? QStringLiteral("libtorch %1 has no CUDA graph API this uses (2.0 or newer)")
                        .arg(QString::fromLatin1(TORCH_VERSION))
                  : QStringLiteral("this build has no CUDA");
    if (!why.isEmpty()) {
        drop("they are not used now");
        fallBack(why);
        return m_reason;
    }
#if TP_CUDA_GRAPHS
    const int index = device.has_index() ? device.index() : c10::cuda::current_device();
    const uint64_t weights = weightsFingerprint(denoiser);
    if (weights != m_weights || index != m_device) {
        drop("the denoiser's weights moved");
        m_failed.clear(); // other weights: a capture that failed may work now
    }
    m_weights = weights;
    m_device = index;
    m_active = true;
    m_reason.clear();
#else
    (void)denoiser;
#endif
    return m_reason;
}

DenoiserGraphs::Key DenoiserGraphs::keyFor(const at::Tensor& x, const at::Tensor& timestep,
                                           const Conditioning& cond) const {
    Key k;
    k.reserve(48);
    const auto add = [&k](const at::Tensor& t) {
        if (!t.defined()) {
            k.push_back(-1);
            return;
        }
        k.push_back(static_cast<int64_t>(t.scalar_type()));
        k.push_back(t.dim());
        for (int64_t s : t.sizes())
            k.push_back(s);
        for (int64_t s : t.strides())
            k.push_back(s);
    };
    add(x);
    add(timestep);
    add(cond.context);
    add(cond.pooled);
    add(cond.extra);
    k.push_back(m_guidance.has_value());
    if (m_guidance) {
        int64_t bits = 0;
        const double g = *m_guidance;
        std::memcpy(&bits, &g, sizeof bits);
        k.push_back(bits);
    }
#if TP_CUDA_GRAPHS
    // The switches that choose kernels when the graph is captured. libtorch 2.9+'s TF32 getters throw
    // when the legacy and the new TF32 API were mixed: then they count as unknown.
    const at::Context& c = at::globalContext();
    const auto flag = [&k](const auto& read) {
        try {
            k.push_back(static_cast<int64_t>(read()));
        } catch (const std::exception&) {
            k.push_back(-2);
        }
    };
    flag([&c] { return c.allowTF32CuDNN(); });
    flag([&c] { return c.float32MatmulPrecision(); });
    k.push_back(c.benchmarkCuDNN());
    k.push_back(c.deterministicCuDNN());
    k.push_back(c.userEnabledFlashSDP());
    k.push_back(c.userEnabledMemEfficientSDP());
    k.push_back(c.userEnabledMathSDP());
#if TORCH_VERSION_MAJOR > 2 || TORCH_VERSION_MINOR >= 3
    k.push_back(c.userEnabledCuDNNSDP());
#endif
#endif
    k.push_back(static_cast<int64_t>(m_weights));
    k.push_back(m_device);
    return k;
}

DenoiserGraphs::Entry* DenoiserGraphs::find(const Key& key) {
    for (const std::unique_ptr<Entry>& e : m_entries)
        if (e->key == key)
            return e.get();
    return nullptr;
}

void DenoiserGraphs::drop(const char* why) {
    if (!m_entries.empty()) {
#if TP_CUDA_GRAPHS
        // A replay may still run on the stream; its pool goes back to the allocator next.
        const c10::cuda::CUDAGuard guard(static_cast<c10::DeviceIndex>(m_device));
        c10::cuda::getCurrentCUDAStream(static_cast<c10::DeviceIndex>(m_device)).synchronize();
#endif
        spdlog::debug("denoiser: dropping {} CUDA graph(s): {}", m_entries.size(), why);
        m_stats.dropped += static_cast<int>(m_entries.size());
        m_entries.clear();
        m_poolBytes = 0;
    }
#if TP_CUDA_GRAPHS
    // Also after a capture that failed before any graph was kept: its pool id is spent.
    m_cuda->pool.reset();
    if (m_cuda->holdsWorkspaces) {
        gpu::releaseCublasWorkspaces();
        m_cuda->holdsWorkspaces = false;
    }
#endif
}

void DenoiserGraphs::clear() {
    drop("released");
    m_failed.clear();
}

DenoiserGraphs::Entry* DenoiserGraphs::capture(const Key& key, const at::Tensor& x,
                                               const at::Tensor& timestep, const Conditioning& cond,
                                               const Denoise& denoise) {
#if TP_CUDA_GRAPHS
    if (static_cast<int>(m_entries.size()) >= kMaxGraphs)
        drop("a new shape and the cache is full");
    const auto index = static_cast<c10::DeviceIndex>(m_device);
    const at::Device device(at::kCUDA, index);
    const c10::cuda::CUDAGuard deviceGuard(index);
    if (m_cuda->stream && m_cuda->device != m_device) { // the model went to another GPU
        (void)cudaStreamDestroy(m_cuda->stream);
        m_cuda->stream = nullptr;
    }
    if (!m_cuda->stream) {
        C10_CUDA_CHECK(cudaStreamCreateWithFlags(&m_cuda->stream, cudaStreamNonBlocking));
        m_cuda->device = m_device;
    }
    if (!m_cuda->pool)
        m_cuda->pool = at::cuda::graph_pool_handle();
    const c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(index);
    const c10::cuda::CUDAStream side = c10::cuda::getStreamFromExternal(m_cuda->stream, index);

    auto e = std::make_unique<Entry>();
    e->key = key;
    e->x = staticCopy(x, device);
    e->timestep = staticCopy(timestep, device);
    e->cond = Conditioning{staticCopy(cond.context, device), staticCopy(cond.pooled, device),
                           staticCopy(cond.extra, device)};
    at::cuda::CUDAEvent inputsReady;
    inputsReady.record(current);
    inputsReady.block(side);

    bool capturing = false;
    qint64 reservedBefore = 0;
    try {
        const c10::cuda::CUDAStreamGuard onSide(side);
        {
            // Warm-up on the capture stream: handles, workspaces and lazily made tensors come into
            // being here, outside the capture.
            const at::Tensor warm = denoise(e->x, e->timestep, e->cond);
        }
        side.synchronize();
        reservedBefore = gpu::snapshot(m_device).reservedBytes;
        e->graph = std::make_unique<at::cuda::CUDAGraph>();
        // Thread-local: another thread's CUDA calls (the VRAM monitor) neither fail nor spoil it.
        e->graph->capture_begin(*m_cuda->pool, cudaStreamCaptureModeThreadLocal);
        capturing = true;
        e->output = denoise(e->x, e->timestep, e->cond);
        if (m_failCapture)
            throw std::runtime_error("refused on purpose (DenoiserGraphs::setFailCapture)");
        capturing = false;
        e->graph->capture_end();
    } catch (const std::exception& ex) {
        // End the capture however far it got, clear CUDA's error state, and free the graph, its
        // pool and the others (a graph's reset drops the capture stream's cuBLAS workspace, which
        // the others use).
        if (capturing) {
            const c10::cuda::CUDAStreamGuard onSide(side);
            try {
                e->graph->capture_end();
            } catch (const std::exception&) {
                // expected: the capture was invalidated
            }
        }
        cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
        if (cudaStreamIsCapturing(m_cuda->stream, &status) == cudaSuccess &&
            status != cudaStreamCaptureStatusNone) {
            cudaGraph_t abandoned = nullptr;
            if (cudaStreamEndCapture(m_cuda->stream, &abandoned) == cudaSuccess && abandoned)
                (void)cudaGraphDestroy(abandoned);
        }
        (void)cudaStreamSynchronize(m_cuda->stream); // a warm-up that threw may have queued work
        (void)cudaGetLastError();
        e->output = at::Tensor();
        e.reset();
        drop("a capture failed");
        ++m_stats.failedCaptures;
        const QString reason = QStringLiteral("capturing the denoiser as a CUDA graph failed: %1")
                                   .arg(QString::fromUtf8(ex.what()).section(QLatin1Char('\n'), 0, 0));
        m_failed.emplace_back(key, reason);
        fallBack(reason);
        return nullptr;
    }
    at::cuda::CUDAEvent captured;
    captured.record(side);
    captured.block(current);
    m_poolBytes += std::max<qint64>(0, gpu::snapshot(m_device).reservedBytes - reservedBefore);
    if (!m_cuda->holdsWorkspaces) {
        gpu::holdCublasWorkspaces();
        m_cuda->holdsWorkspaces = true;
    }
    ++m_stats.captures;
    spdlog::debug("denoiser: captured a CUDA graph for input {} ({} cached, pool {})", shapeText(x),
                  m_entries.size() + 1, formatBytes(m_poolBytes).toStdString());
    m_entries.push_back(std::move(e));
    return m_entries.back().get();
#else
    (void)key;
    (void)x;
    (void)timestep;
    (void)cond;
    (void)denoise;
    return nullptr;
#endif
}

at::Tensor DenoiserGraphs::run(const at::Tensor& x, const at::Tensor& timestep, const Conditioning& cond,
                               const Denoise& denoise) {
#if TP_CUDA_GRAPHS
    if (m_active) {
        const Key key = keyFor(x, timestep, cond);
        const auto failed =
            std::find_if(m_failed.begin(), m_failed.end(), [&](const auto& f) { return f.first == key; });
        Entry* e = nullptr;
        if (failed != m_failed.end())
            fallBack(failed->second);
        else if (!(e = find(key)))
            e = capture(key, x, timestep, cond, denoise);
        if (e) {
            e->x.copy_(x, /*non_blocking=*/true);
            e->timestep.copy_(timestep, /*non_blocking=*/true);
            copyInto(e->cond.context, cond.context);
            copyInto(e->cond.pooled, cond.pooled);
            copyInto(e->cond.extra, cond.extra);
            e->graph->replay();
            ++m_stats.replays;
            return e->output.clone();
        }
    }
#endif
    ++m_stats.eagerSteps;
    return denoise(x, timestep, cond);
}

} // namespace tp::pipeline
