// The memory manager on a real CUDA device (label `gpu`; skips without CUDA). Prints its figures
// with qInfo so that they can be copied into notes.
#include "core/gpu/GpuInfo.h"
#include "core/gpu/GpuMemory.h"
#include "core/gpu/NvmlSource.h"
#include "core/gpu/ProcessNames.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <QtTest>

#include <chrono>

using namespace tp::gpu;

namespace {

constexpr qint64 MiB = 1024 * 1024;
constexpr qint64 Tolerance = 64 * MiB;

double mib(qint64 bytes) {
    return static_cast<double>(bytes) / MiB;
}

// fp16 weights of realistic sizes (convolutions, attention projections, norms) plus a buffer,
// about `megabytes` in all.
struct SyntheticModel : torch::nn::Module {
    SyntheticModel(qint64 megabytes, const at::Device& device) {
        const std::vector<std::vector<int64_t>> shapes = {
            {1280, 1280, 3, 3}, {1280}, {1280, 1280}, {1280, 1280},     {5120, 1280}, {1280, 5120},
            {640, 640, 3, 3},   {640},  {640, 640},   {320, 320, 3, 3}, {320},        {320, 768}};
        const at::TensorOptions options = at::TensorOptions().dtype(at::kHalf).device(device);
        qint64 bytes = 0;
        for (int i = 0; bytes < megabytes * MiB; ++i) {
            const auto& shape = shapes[static_cast<size_t>(i) % shapes.size()];
            at::Tensor t = at::randn(shape, options);
            bytes += t.numel() * 2;
            register_parameter("w" + std::to_string(i), t, /*requires_grad=*/false);
        }
        register_buffer("step", at::arange(1000, at::TensorOptions().dtype(at::kLong).device(device)));
    }
};

std::vector<at::Tensor> hostCopies(torch::nn::Module& m) {
    std::vector<at::Tensor> copies;
    for (const auto& p : m.named_parameters())
        copies.push_back(p.value().to(at::kCPU, /*non_blocking=*/false, /*copy=*/true));
    for (const auto& b : m.named_buffers())
        copies.push_back(b.value().to(at::kCPU, false, true));
    return copies;
}

bool sameValues(torch::nn::Module& m, const std::vector<at::Tensor>& copies, bool expectCuda) {
    size_t i = 0;
    for (const auto& p : m.named_parameters()) {
        if (p.value().is_cuda() != expectCuda || !at::equal(p.value().cpu(), copies.at(i++)))
            return false;
    }
    for (const auto& b : m.named_buffers()) {
        if (b.value().is_cuda() != expectCuda || !at::equal(b.value().cpu(), copies.at(i++)))
            return false;
    }
    return i == copies.size();
}

} // namespace

class TestGpuCuda final : public QObject {
    Q_OBJECT

    MemorySnapshot m_baseline;

private Q_SLOTS:
    void initTestCase() {
        if (!cudaAvailable())
            QSKIP(qPrintable(QStringLiteral("no CUDA: ") + noCudaReason()));
        const TorchBuildInfo t = torchBuildInfo();
        qInfo("libtorch %s, CUDA runtime %s, %d device(s)", qPrintable(t.torchVersion),
              qPrintable(t.cudaRuntimeVersion), t.cudaDeviceCount);
    }

    // Must run first: before anything touched CUDA in this process.
    void snapshotNeverCreatesAContext() {
        QVERIFY(!cudaContextActive(0));
        const MemorySnapshot s = snapshot(0);
        QVERIFY(s.cuda);
        QCOMPARE(s.allocatedBytes, 0);
        QCOMPARE(s.deviceUsedBytes, -1);
        QVERIFY(!cudaContextActive(0));
        const AllocatorSample a = allocatorSample(0);
        QVERIFY(a.valid);
        QCOMPARE(a.note, QStringLiteral("CUDA not used yet on this device"));

        const at::Tensor one = at::ones({1}, at::TensorOptions().device(at::kCUDA, 0));
        QVERIFY(cudaContextActive(0));
        m_baseline = snapshot(0);
        QVERIFY(m_baseline.deviceUsedBytes > 0 && m_baseline.deviceTotalBytes > 0);
        qInfo("CUDA context: device used %.0f MiB of %.0f MiB; allocator reserved %.1f MiB",
              mib(m_baseline.deviceUsedBytes), mib(m_baseline.deviceTotalBytes),
              mib(m_baseline.reservedBytes));

        NvmlSource nvml;
        if (nvml.isAvailable()) {
            const VramSample v = nvml.sample();
            bool seen = false;
            for (const GpuProcess& p : v.devices.value(0).processes)
                seen = seen || p.isSelf;
            qInfo("NVML: process list %s; this process %s",
                  v.devices.value(0).processesValid ? "available" : "unavailable",
                  seen ? "listed" : "not listed (PID namespace?)");
        }
    }

    void cleanupLeavesOnlyWhatIsInUse() {
        MemoryManager manager(0);
        {
            // A generation-like mix: big activations, small temporaries, a matmul (cuBLAS workspace).
            std::vector<at::Tensor> live;
            const at::TensorOptions o = at::TensorOptions().dtype(at::kHalf).device(at::kCUDA, 0);
            for (int i = 0; i < 8; ++i)
                live.push_back(at::empty({64 * MiB}, o));
            for (int i = 0; i < 200; ++i)
                live.push_back(at::empty({(i % 17 + 1) * 4096}, o));
            const at::Tensor a = at::randn({4096, 4096}, o);
            const at::Tensor b = at::matmul(a, a);
            (void)b.sum().item<float>();
        }
        const CleanupReport r = manager.cleanup();
        QVERIFY(r.cuda);
        qInfo("cleanup: %.2f ms; reserved %.1f -> %.1f MiB, allocated %.1f MiB; device used %.0f -> %.0f MiB",
              r.durationMs, mib(r.before.reservedBytes), mib(r.after.reservedBytes),
              mib(r.after.allocatedBytes), mib(r.before.deviceUsedBytes), mib(r.after.deviceUsedBytes));
        QVERIFY(r.before.reservedBytes > r.after.reservedBytes);
        QVERIFY2(r.after.reservedBytes <= r.after.allocatedBytes + Tolerance, qPrintable(r.message));
        // cuBLAS's handle and lazily loaded kernels stay; printed, not asserted.
        qInfo("device used after cleanup: %+.0f MiB against the fresh context",
              mib(r.after.deviceUsedBytes - m_baseline.deviceUsedBytes));
        const CleanupReport again = manager.cleanup();
        qInfo("cleanup with nothing cached: %.2f ms", again.durationMs);
    }

    void unloadGivesTheMemoryBackAndReloadRestoresEveryBit() {
        MemoryManager manager(0);
        manager.cleanup();
        const MemorySnapshot before = manager.snapshot();
        auto model = std::make_shared<SyntheticModel>(1024, at::Device(at::kCUDA, 0));
        const std::vector<at::Tensor> copies = hostCopies(*model);
        ModelResidency residency({model.get()}, QStringLiteral("synthetic 1 GiB"));
        QCOMPARE(residency.residency(), Residency::OnGpu);
        const qint64 bytes = residency.bytes();
        const MemorySnapshot loaded = manager.snapshot();
        qInfo("model: %d tensors, %.0f MiB; device used %.0f MiB before, %.0f MiB loaded",
              residency.tensorCount(), mib(bytes), mib(before.deviceUsedBytes), mib(loaded.deviceUsedBytes));

        double cycleMs[2] = {0, 0};
        for (int cycle = 0; cycle < 2; ++cycle) {
            const TransferReport u = manager.unload(residency);
            QVERIFY2(u.moved, qPrintable(u.message));
            QCOMPARE(residency.residency(), Residency::PinnedCpu);
            QCOMPARE(u.bytes, bytes);
            QCOMPARE(u.pinnedAllocatedBytes > 0, cycle == 0); // buffers are made once, then reused
            QVERIFY(residency.pinnedBytes() >= bytes);
            QVERIFY2(u.after.deviceUsedBytes <= before.deviceUsedBytes + Tolerance,
                     qPrintable(QStringLiteral("device used %1 MiB after unload, %2 MiB before the model")
                                    .arg(mib(u.after.deviceUsedBytes))
                                    .arg(mib(before.deviceUsedBytes))));
            QVERIFY(u.after.reservedBytes <= before.reservedBytes + Tolerance);
            QVERIFY(sameValues(*model, copies, /*expectCuda=*/false));

            const TransferReport r = manager.reload(residency);
            QVERIFY2(r.moved, qPrintable(r.message));
            QCOMPARE(residency.residency(), Residency::OnGpu);
            QCOMPARE(r.bytes, bytes);
            QVERIFY(sameValues(*model, copies, /*expectCuda=*/true));
            cycleMs[cycle] = u.totalMs + r.totalMs;
            qInfo("cycle %d: unload %.1f ms (copy %.1f ms = %.1f GB/s, pinning %.1f ms, cleanup %.1f ms), "
                  "reload %.1f ms (%.1f GB/s); device used after unload %.0f MiB (baseline %.0f MiB)",
                  cycle + 1, u.totalMs, u.copyMs, u.gigabytesPerSecond(), u.pinMs, u.cleanupMs, r.totalMs,
                  r.gigabytesPerSecond(), mib(u.after.deviceUsedBytes), mib(before.deviceUsedBytes));
        }
        QVERIFY2(cycleMs[1] < cycleMs[0], "the second cycle should reuse the pinned buffers");

        // The model still computes on the GPU after the round trips.
        const at::Tensor w = model->named_parameters()["w2"];
        QVERIFY(w.is_cuda());
        QVERIFY(at::matmul(w, w).is_cuda());
    }

    void aReloadThatRunsOutOfMemoryKeepsTheWeightsInRam() {
        MemoryManager manager(0);
        auto model = std::make_shared<SyntheticModel>(512, at::Device(at::kCUDA, 0));
        const std::vector<at::Tensor> copies = hostCopies(*model);
        ModelResidency residency({model.get()});
        QVERIFY(manager.unload(residency).moved);

        // Another program takes the memory while we are unloaded.
        const MemorySnapshot s = manager.snapshot();
        const qint64 freeBytes = s.deviceTotalBytes - s.deviceUsedBytes;
        at::Tensor hog;
        try {
            hog = at::empty({freeBytes - residency.bytes() / 2},
                            at::TensorOptions().dtype(at::kByte).device(at::kCUDA, 0));
        } catch (const std::exception& e) {
            QSKIP(qPrintable(QStringLiteral("cannot fill the device to provoke the failure: ") +
                             QString::fromUtf8(e.what())));
        }
        bool threw = false;
        try {
            manager.reload(residency);
        } catch (const std::exception& e) {
            threw = true;
            QVERIFY2(isOutOfMemory(e) && isCudaOutOfMemory(e), e.what());
            qInfo("reload into a full GPU: %s",
                  qPrintable(QString::fromUtf8(e.what()).section(QLatin1Char('\n'), 0, 0)));
        }
        QVERIFY(threw);
        QCOMPARE(residency.residency(), Residency::PinnedCpu);
        QVERIFY(sameValues(*model, copies, /*expectCuda=*/false));

        hog.reset();
        const TransferReport r = manager.reload(residency);
        QVERIFY(r.moved);
        QVERIFY(sameValues(*model, copies, /*expectCuda=*/true));
    }

    void modelsOnTheCpuStayThere() {
        MemoryManager manager(0);
        auto model = std::make_shared<SyntheticModel>(1, at::Device(at::kCPU));
        ModelResidency residency({model.get()});
        const TransferReport u = manager.unload(residency);
        QVERIFY(!u.moved);
        QVERIFY(u.message.contains(QLatin1String("nothing on the GPU")));
        QCOMPARE(residency.residency(), Residency::Cpu);
    }
};

QTEST_GUILESS_MAIN(TestGpuCuda)

#include "tst_gpu_cuda.moc"
