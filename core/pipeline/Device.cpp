#include "core/pipeline/Device.h"

#include "core/common/Log.h"
#include "core/io/Fp8.h"
#include "core/nn/Layers.h"

#include <ATen/Parallel.h>
#include <c10/core/DeviceType.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <QThread>

#include <dlfcn.h>
#include <mutex>

#if TWISTEDPIC_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace tp::pipeline {

QString dtypeName(at::ScalarType dtype) {
    switch (dtype) {
    case at::kHalf:
        return QStringLiteral("float16");
    case at::kBFloat16:
        return QStringLiteral("bfloat16");
    case at::kFloat:
        return QStringLiteral("float32");
    case at::kDouble:
        return QStringLiteral("float64");
    default:
        return QString::fromLatin1(c10::toString(dtype));
    }
}

namespace {
// Empty when `device` can multiply in fp8 (nn::LinearImpl::setFp8MatMul); otherwise why not.
QString fp8MatMulUnavailable(const at::Device& device) {
    if (!nn::fp8MatMulBuilt())
        return QStringLiteral("this build uses libtorch %1 and fp8 matrix multiplication needs 2.4 or newer")
            .arg(QString::fromLatin1(TORCH_VERSION));
    if (!device.is_cuda())
        return QStringLiteral("that needs an NVIDIA GPU and the device is the CPU");
#if TWISTEDPIC_WITH_CUDA
    const cudaDeviceProp* prop = at::cuda::getDeviceProperties(device.index());
    if (prop->major * 10 + prop->minor < 89)
        return QStringLiteral("%1 (compute capability %2.%3) has no fp8 tensor cores (8.9 and newer: Ada, "
                              "Hopper, Blackwell)")
            .arg(QString::fromUtf8(prop->name))
            .arg(prop->major)
            .arg(prop->minor);
#endif
    return {};
}
} // namespace

void initCpuRuntime() {
    static std::once_flag once;
    std::call_once(once, [] {
        // OpenBLAS reads OPENBLAS_NUM_THREADS when it loads, before main(); ask it directly.
        using SetThreads = void (*)(int);
        if (auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
            fn(1);
        const int cores = qMax(1, QThread::idealThreadCount());
        at::set_num_threads(cores);
        at::set_num_interop_threads(1);
        spdlog::debug("cpu runtime: {} ATen threads", at::get_num_threads());
    });
}

Result<DeviceChoice> resolveDevice(const QString& device, const QString& precision) {
    using R = Result<DeviceChoice>;
    const bool cudaOk = torch::cuda::is_available();
    DeviceChoice c;
    if (device == QLatin1String("cpu")) {
        c.device = at::kCPU;
    } else if (device == QLatin1String("auto") || device.isEmpty()) {
        c.device = cudaOk ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
    } else if (device.startsWith(QLatin1String("cuda"))) {
        if (!cudaOk)
            return R::fail(QStringLiteral("The device is set to %1, but %2. Choose \"auto\" or \"cpu\" in "
                                          "Settings → GPU memory, or install a CUDA build of libtorch.")
                               .arg(device, TWISTEDPIC_WITH_CUDA
                                                ? QStringLiteral("no NVIDIA GPU is visible")
                                                : QStringLiteral("this build of libtorch has no CUDA")));
        int index = 0;
        if (device.size() > 5) {
            bool ok = false;
            index = device.mid(5).toInt(&ok);
            const int count = static_cast<int>(torch::cuda::device_count());
            if (!ok || index < 0 || index >= count)
                return R::fail(
                    QStringLiteral("There is no GPU %1 (this machine has %2).").arg(device).arg(count));
        }
        c.device = at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
    } else {
        return R::fail(QStringLiteral("Unknown device '%1': use auto, cpu, cuda or cuda:N.").arg(device));
    }

    // "fp8" / "fp8:COMPUTE": the denoiser's weights stored in 8 bits, computed in COMPUTE
    // (default as "auto"); "fp8mm" / "fp8mm:COMPUTE": the same, multiplied in fp8.
    QString compute = precision;
    const QString fp8Word = precision.section(QLatin1Char(':'), 0, 0);
    if (fp8Word == QLatin1String("fp8") || fp8Word == QLatin1String("fp8mm")) {
        if (!io::fp8StorageAvailable())
            return R::fail(QStringLiteral("fp8 weights need libtorch 2.1 or newer; this build of TwistedPic "
                                          "uses libtorch %1. Choose fp16 or bf16 (auto picks one).")
                               .arg(QString::fromLatin1(TORCH_VERSION)));
        c.fp8Weights = true;
        c.fp8MatMul = fp8Word == QLatin1String("fp8mm");
        compute = precision.mid(fp8Word.size() + 1);
        if (compute.startsWith(QLatin1String("fp8")))
            return R::fail(
                QStringLiteral("Unknown precision '%1': fp8 computes in fp16, bf16 or fp32.").arg(precision));
        if (c.fp8MatMul) {
            if (QString why = fp8MatMulUnavailable(c.device); !why.isEmpty())
                return R::fail(
                    QStringLiteral("Precision %1 multiplies in fp8, but %2. Use precision fp8 (fp8 "
                                   "weights, multiplied in %3).")
                        .arg(precision, why, compute.isEmpty() ? QStringLiteral("fp16") : compute));
            if (compute == QLatin1String("fp32"))
                return R::fail(
                    QStringLiteral("Precision %1: fp8 matrix multiplication gives fp16 or bf16, not "
                                   "fp32. Use fp8mm:bf16.")
                        .arg(precision));
        }
    }
    if (c.device.is_cpu()) {
        c.dtype = at::kFloat;
    } else if (compute == QLatin1String("fp32")) {
        c.dtype = at::kFloat;
    } else if (compute == QLatin1String("bf16")) {
        c.dtype = at::kBFloat16;
    } else if (compute == QLatin1String("fp16") || compute == QLatin1String("auto") || compute.isEmpty()) {
        c.dtype = at::kHalf;
    } else {
        return R::fail(
            QStringLiteral("Unknown precision '%1': use auto, fp16, bf16, fp32 or fp8.").arg(precision));
    }
    const QString weights = c.fp8MatMul    ? QStringLiteral(", fp8 weights and matmul")
                            : c.fp8Weights ? QStringLiteral(", fp8 weights")
                                           : QString();

    if (c.device.is_cpu()) {
        initCpuRuntime();
        c.description = QStringLiteral("cpu (%1 threads), %2%3")
                            .arg(at::get_num_threads())
                            .arg(dtypeName(c.dtype), weights);
    } else {
#if TWISTEDPIC_WITH_CUDA
        const cudaDeviceProp* prop = at::cuda::getDeviceProperties(c.device.index());
        c.description = QStringLiteral("cuda:%1 (%2), %3%4")
                            .arg(c.device.index())
                            .arg(QString::fromUtf8(prop->name), dtypeName(c.dtype), weights);
#else
        c.description =
            QStringLiteral("cuda:%1, %2%3").arg(c.device.index()).arg(dtypeName(c.dtype), weights);
#endif
    }
    return R::ok(c);
}

} // namespace tp::pipeline
