#include "tools/train/DeviceSetup.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/version.h>

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define TP_HAS_AUTOCAST_API 1
#include <ATen/autocast_mode.h>
#else
#define TP_HAS_AUTOCAST_API 0
#endif

#if TWISTEDPIC_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#endif

#include <cstdlib>
#include <thread>

namespace tp::train {

void prepareEnvironment(bool deterministic) {
    // cuBLAS is deterministic only with a fixed workspace configuration.
    if (deterministic)
        ::setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 0);
}

Result<at::Device> setUpDevice(const TrainOptions& options, QString* description) {
    using R = Result<at::Device>;
    const int threads =
        options.threads > 0 ? options.threads : int(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(threads);
    if (options.device == QLatin1String("cpu")) {
        if (description)
            *description = QStringLiteral("cpu, %1 threads").arg(threads);
        return R::ok(at::Device(at::kCPU));
    }
    int index = 0;
    if (options.device.startsWith(QLatin1String("cuda:"))) {
        bool ok = false;
        index = options.device.mid(5).toInt(&ok);
        if (!ok || index < 0)
            return R::fail(QStringLiteral("--device %1: the index after \"cuda:\" must be a number.")
                               .arg(options.device));
    }
    if (!at::hasCUDA())
        return R::fail(
            QStringLiteral("--device %1: this libtorch has no CUDA or no GPU is visible. Build against a "
                           "CUDA libtorch (see README) or use --device cpu.")
                .arg(options.device));
    const int count = at::detail::getCUDAHooks().getNumGPUs();
    if (index >= count)
        return R::fail(QStringLiteral("--device %1: only %2 GPU(s) visible.").arg(options.device).arg(count));
    auto& ctx = at::globalContext();
    const bool tf32 = options.precision != QLatin1String("fp32");
    ctx.setAllowTF32CuBLAS(tf32);
    ctx.setAllowTF32CuDNN(tf32);
    ctx.setBenchmarkCuDNN(!options.deterministic);
    ctx.setDeterministicCuDNN(options.deterministic);
    ctx.setDeterministicAlgorithms(options.deterministic, /*warn_only=*/true);
    if (options.precision == QLatin1String("bf16") && !AutocastScope::available())
        return R::fail(QStringLiteral("--precision bf16 needs libtorch 2.4 or newer; use tf32."));
    QString name = QStringLiteral("GPU");
#if TWISTEDPIC_WITH_CUDA
    c10::cuda::set_device(static_cast<c10::DeviceIndex>(index));
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, index) == cudaSuccess)
        name = QString::fromUtf8(prop.name);
#endif
    if (description)
        *description = QStringLiteral("cuda:%1 (%2), %3%4")
                           .arg(index)
                           .arg(name, options.precision,
                                options.deterministic ? QStringLiteral(", deterministic") : QString());
    return R::ok(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index)));
}

at::Generator seededGenerator(at::Device device, quint64 seed) {
    at::Generator gen = at::globalContext().defaultGenerator(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
    return gen;
}

void synchronize(at::Device device) {
#if TWISTEDPIC_WITH_CUDA
    if (device.is_cuda())
        c10::cuda::device_synchronize();
#else
    (void)device;
#endif
}

bool AutocastScope::available() {
    return TP_HAS_AUTOCAST_API != 0;
}

AutocastScope::AutocastScope(bool enabled)
    : m_enabled(enabled && available()) {
#if TP_HAS_AUTOCAST_API
    if (m_enabled) {
        at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
        at::autocast::set_autocast_enabled(at::kCUDA, true);
        at::autocast::increment_nesting();
    }
#endif
}

AutocastScope::~AutocastScope() {
#if TP_HAS_AUTOCAST_API
    if (m_enabled) {
        if (at::autocast::decrement_nesting() == 0)
            at::autocast::clear_cache();
        at::autocast::set_autocast_enabled(at::kCUDA, false);
    }
#endif
}

} // namespace tp::train
