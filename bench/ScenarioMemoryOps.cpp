// memory-ops: what the GPU memory manager costs. Cleanup latency and the memory it leaves
// reserved; unload and reload of 0.5, 2 and 8 GiB of fp16 weights, first cycle (pinning) and
// second (copies only), next to the copy-bandwidth limit measured in the same run (a raw
// cudaMemcpy of the same size between page-locked host memory and the device).
#include "bench/Bench.h"
#include "core/gpu/GpuMemory.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#if TWISTEDPIC_WITH_CUDA
#include <cuda_runtime_api.h>
#endif

#include <QJsonArray>

#include <memory>
#include <stdexcept>

namespace tp::bench {
namespace {

constexpr double MiB = 1024.0 * 1024.0;
constexpr double GiB = MiB * 1024.0;

QVector<Table::Column> transferColumns() {
    return {{QStringLiteral("sizeGiB"), QStringLiteral("size (GiB)"), 1},
            {QStringLiteral("actualGiB"), QStringLiteral("actual (GiB)"), 3},
            {QStringLiteral("tensors"), QStringLiteral("tensors"), 0},
            {QStringLiteral("d2hLimitGBps"), QStringLiteral("D2H limit (GB/s)"), 1},
            {QStringLiteral("unloadLimitMs"), QStringLiteral("unload limit (ms)"), 1},
            {QStringLiteral("unload1Ms"), QStringLiteral("unload #1 (ms)"), 1},
            {QStringLiteral("pin1Ms"), QStringLiteral("pinning #1 (ms)"), 1},
            {QStringLiteral("unload2Ms"), QStringLiteral("unload #2 (ms)"), 1},
            {QStringLiteral("unload2GBps"), QStringLiteral("unload #2 (GB/s)"), 1},
            {QStringLiteral("h2dLimitGBps"), QStringLiteral("H2D limit (GB/s)"), 1},
            {QStringLiteral("reloadLimitMs"), QStringLiteral("reload limit (ms)"), 1},
            {QStringLiteral("reload1Ms"), QStringLiteral("reload #1 (ms)"), 1},
            {QStringLiteral("reload2Ms"), QStringLiteral("reload #2 (ms)"), 1},
            {QStringLiteral("reload2GBps"), QStringLiteral("reload #2 (GB/s)"), 1},
            {QStringLiteral("freedMiB"), QStringLiteral("freed (MiB)"), 0},
            {QStringLiteral("residualMiB"), QStringLiteral("left vs before (MiB)"), 0},
            {QStringLiteral("intact"), QStringLiteral("intact"), 0}};
}

QVector<Table::Column> cleanupColumns() {
    return {{QStringLiteral("case"), QStringLiteral("case"), 0},
            {QStringLiteral("runs"), QStringLiteral("runs"), 0},
            {QStringLiteral("latencyMs"), QStringLiteral("median (ms)"), 2},
            {QStringLiteral("latencyMaxMs"), QStringLiteral("max (ms)"), 2},
            {QStringLiteral("reservedBeforeMiB"), QStringLiteral("reserved before (MiB)"), 1},
            {QStringLiteral("reservedAfterMiB"), QStringLiteral("reserved after (MiB)"), 1},
            {QStringLiteral("allocatedAfterMiB"), QStringLiteral("allocated after (MiB)"), 1},
            {QStringLiteral("cacheLeftMiB"), QStringLiteral("cache left (MiB)"), 1},
            {QStringLiteral("deviceUsedAfterMiB"), QStringLiteral("device used after (MiB)"), 0}};
}

const QString WorkloadCase = QStringLiteral("after a workload");
const QString EmptyCase = QStringLiteral("nothing cached");

#if TWISTEDPIC_WITH_CUDA

void check(cudaError_t rc, const char* what) {
    if (rc != cudaSuccess)
        throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(rc));
}

// SD-like fp16 tensors: 3x3 convolutions, attention and feed-forward projections, biases and
// norms of the three UNet widths (SD 1.5's UNet: 686 tensors, 1.7 GB in fp16).
const std::vector<std::vector<int64_t>>& unetLikeShapes() {
    static const std::vector<std::vector<int64_t>> shapes = {{1280, 1280, 3, 3},
                                                             {1280},
                                                             {1280},
                                                             {1280},
                                                             {1280, 1280},
                                                             {1280, 1280},
                                                             {1280, 1280},
                                                             {1280, 1280},
                                                             {1280},
                                                             {10240, 1280},
                                                             {10240},
                                                             {1280, 5120},
                                                             {1280},
                                                             {1280, 768},
                                                             {1280, 768},
                                                             {640, 640, 3, 3},
                                                             {640},
                                                             {640},
                                                             {640},
                                                             {640, 640},
                                                             {640, 640},
                                                             {640, 640},
                                                             {640, 640},
                                                             {640},
                                                             {5120, 640},
                                                             {5120},
                                                             {640, 2560},
                                                             {640},
                                                             {640, 768},
                                                             {640, 768},
                                                             {320, 320, 3, 3},
                                                             {320},
                                                             {320},
                                                             {320},
                                                             {320, 320},
                                                             {320, 320},
                                                             {320, 320},
                                                             {320, 320},
                                                             {320},
                                                             {2560, 320},
                                                             {2560},
                                                             {320, 1280},
                                                             {320},
                                                             {320, 768},
                                                             {320, 768}};
    return shapes;
}

class SyntheticWeights final : public torch::nn::Module {
public:
    SyntheticWeights(double bytes, const at::Device& device) {
        const at::TensorOptions options = at::TensorOptions().dtype(at::kHalf).device(device);
        const auto& shapes = unetLikeShapes();
        double total = 0;
        for (size_t i = 0; total < bytes; ++i) {
            at::Tensor t = at::randn(shapes[i % shapes.size()], options);
            total += static_cast<double>(t.numel()) * 2;
            register_parameter("w" + std::to_string(i), t, /*requires_grad=*/false);
        }
    }
};

// An exact integer fingerprint of every weight's bits.
int64_t fingerprint(torch::nn::Module& m) {
    int64_t sum = 0;
    for (const auto& p : m.parameters())
        sum += at::sum(p.view(at::kShort), at::kLong).item<int64_t>();
    return sum;
}

struct CopyLimit {
    double h2dGBps = 0;
    double d2hGBps = 0;
};

// The best a copy of `bytes` can do: cudaMemcpy between page-locked host memory and the device.
CopyLimit measureCopyLimit(size_t bytes, int repetitions) {
    void* host = nullptr;
    void* device = nullptr;
    check(cudaHostAlloc(&host, bytes, cudaHostAllocDefault), "cudaHostAlloc");
    const std::unique_ptr<void, void (*)(void*)> hostGuard(host, [](void* p) { cudaFreeHost(p); });
    check(cudaMalloc(&device, bytes), "cudaMalloc");
    const std::unique_ptr<void, void (*)(void*)> deviceGuard(device, [](void* p) { cudaFree(p); });
    check(cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice), "warm-up copy"); // maps the pages
    check(cudaMemcpy(host, device, bytes, cudaMemcpyDeviceToHost), "warm-up copy");
    std::vector<double> h2d;
    std::vector<double> d2h;
    for (int i = 0; i < repetitions; ++i) {
        auto t0 = Clock::now();
        check(cudaMemcpy(device, host, bytes, cudaMemcpyHostToDevice), "host-to-device copy");
        h2d.push_back(msSince(t0));
        t0 = Clock::now();
        check(cudaMemcpy(host, device, bytes, cudaMemcpyDeviceToHost), "device-to-host copy");
        d2h.push_back(msSince(t0));
    }
    return {static_cast<double>(bytes) / (median(h2d) * 1e6),
            static_cast<double>(bytes) / (median(d2h) * 1e6)};
}

// What an image generation leaves behind: large activations, many small temporaries and a cuBLAS
// workspace, all freed but cached by the allocator.
void generationLikeWorkload() {
    const at::TensorOptions o = at::TensorOptions().dtype(at::kHalf).device(at::kCUDA, 0);
    std::vector<at::Tensor> live;
    for (int i = 0; i < 8; ++i)
        live.push_back(at::empty({64 << 20}, o));
    for (int i = 0; i < 300; ++i)
        live.push_back(at::empty({(i % 23 + 1) * 8192}, o));
    const at::Tensor a = at::randn({4096, 4096}, o);
    (void)at::matmul(a, a).sum().item<float>();
}

QVariantList cleanupRow(const QString& name, const std::vector<gpu::CleanupReport>& runs) {
    std::vector<double> ms;
    double maxMs = 0;
    for (const gpu::CleanupReport& r : runs) {
        ms.push_back(r.durationMs);
        maxMs = std::max(maxMs, r.durationMs);
    }
    const gpu::CleanupReport& last = runs.back();
    return {name,
            static_cast<int>(runs.size()),
            median(ms),
            maxMs,
            last.before.reservedBytes / MiB,
            last.after.reservedBytes / MiB,
            last.after.allocatedBytes / MiB,
            (last.after.reservedBytes - last.after.allocatedBytes) / MiB,
            last.after.deviceUsedBytes / MiB};
}

#endif // TWISTEDPIC_WITH_CUDA

int runMemoryOps(Report& report) {
    const bool quick = report.options().quick;
    const std::vector<double> sizes = quick ? std::vector<double>{0.5} : std::vector<double>{0.5, 2, 8};
    const bool cuda = gpu::cudaAvailable();
    report.set(QStringLiteral("cuda"), cuda);
    report.set(QStringLiteral("reason"), gpu::noCudaReason());
    QJsonArray sizeList;
    for (double s : sizes)
        sizeList.append(s);
    report.set(QStringLiteral("sizesGiB"), sizeList);
    Table& cleanupTable = report.addTable(
        QStringLiteral("cleanup"), QStringLiteral("Cleanup (synchronise, cuBLAS workspaces, emptyCache)"),
        cleanupColumns());
    Table& transfers = report.addTable(
        QStringLiteral("transfers"),
        QStringLiteral(
            "Unload to pinned RAM and reload of fp16 weights (#1 pins host memory, #2 reuses it; limit = "
            "raw cudaMemcpy of the same size)"),
        transferColumns());

    if (!cuda) {
        report.note(
            QStringLiteral("no CUDA: %1. Nothing to measure; every figure is n/a.").arg(gpu::noCudaReason()));
        report.set(QStringLiteral("deviceUsedAtStartMiB"), QJsonValue());
        cleanupTable.addRow({WorkloadCase});
        cleanupTable.addRow({EmptyCase});
        for (double s : sizes)
            transfers.addRow({s});
        return 0;
    }

#if TWISTEDPIC_WITH_CUDA
    gpu::MemoryManager manager(0);
    (void)at::ones({1}, at::TensorOptions().device(at::kCUDA, 0)); // CUDA context and allocator
    manager.cleanup();
    const gpu::MemorySnapshot start = manager.snapshot();
    report.set(QStringLiteral("deviceUsedAtStartMiB"), start.deviceUsedBytes / MiB);
    report.note(QStringLiteral("device used at start (CUDA context + other processes): %1 MiB of %2 MiB")
                    .arg(start.deviceUsedBytes / MiB, 0, 'f', 0)
                    .arg(start.deviceTotalBytes / MiB, 0, 'f', 0));

    const int repetitions = quick ? 3 : 10;
    std::vector<gpu::CleanupReport> workloadRuns;
    std::vector<gpu::CleanupReport> emptyRuns;
    for (int i = 0; i < repetitions; ++i) {
        generationLikeWorkload();
        workloadRuns.push_back(manager.cleanup());
        emptyRuns.push_back(manager.cleanup());
    }
    cleanupTable.addRow(cleanupRow(WorkloadCase, workloadRuns));
    cleanupTable.addRow(cleanupRow(EmptyCase, emptyRuns));

    for (double sizeGiB : sizes) {
        const auto bytes = static_cast<size_t>(sizeGiB * GiB);
        const CopyLimit limit = measureCopyLimit(bytes, quick ? 2 : 5);

        manager.cleanup();
        const gpu::MemorySnapshot before = manager.snapshot();
        auto model = std::make_shared<SyntheticWeights>(static_cast<double>(bytes), at::Device(at::kCUDA, 0));
        const int64_t fingerprintBefore = fingerprint(*model);
        gpu::ModelResidency residency({model.get()}, QStringLiteral("synthetic %1 GiB").arg(sizeGiB));
        const gpu::TransferReport u1 = manager.unload(residency);
        const gpu::TransferReport r1 = manager.reload(residency);
        const gpu::TransferReport u2 = manager.unload(residency);
        const gpu::TransferReport r2 = manager.reload(residency);
        const bool intact = fingerprint(*model) == fingerprintBefore &&
                            residency.residency() == gpu::Residency::OnGpu && u1.moved && u2.moved;
        const double actual = static_cast<double>(residency.bytes());
        transfers.addRow({sizeGiB, actual / GiB, residency.tensorCount(), limit.d2hGBps,
                          actual / (limit.d2hGBps * 1e6), u1.totalMs, u1.pinMs, u2.totalMs,
                          u2.gigabytesPerSecond(), limit.h2dGBps, actual / (limit.h2dGBps * 1e6), r1.totalMs,
                          r2.totalMs, r2.gigabytesPerSecond(),
                          (u1.before.deviceUsedBytes - u1.after.deviceUsedBytes) / MiB,
                          (u2.after.deviceUsedBytes - before.deviceUsedBytes) / MiB, intact});
        model.reset();
    }
    manager.cleanup();
    return 0;
#else
    return 1; // unreachable: cudaAvailable() is false without CUDA
#endif
}

} // namespace

TP_BENCH_SCENARIO("memory-ops", "cleanup latency; unload/reload of 0.5/2/8 GiB against the copy limit",
                  runMemoryOps);

} // namespace tp::bench
