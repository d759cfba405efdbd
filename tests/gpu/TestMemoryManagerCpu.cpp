// The memory manager where no CUDA is used: every call is a logged no-op and nothing moves.
#include "core/gpu/GpuInfo.h"
#include "core/gpu/GpuMemory.h"
#include "tests/gpu/GpuTests.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/version.h>

#include <QtTest>

#include <new>
#include <stdexcept>

using namespace tp::gpu;

namespace {

// A conv and a linear layer, a buffer, and a weight registered twice (tied), like text encoders
// that share their token embedding.
struct TinyModel : torch::nn::Module {
    TinyModel() {
        conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3)));
        proj = register_module("proj", torch::nn::Linear(4, 2));
        register_buffer("running_mean", at::arange(4, at::TensorOptions().dtype(at::kFloat)));
        register_parameter("tied", proj->weight);
    }
    torch::nn::Conv2d conv{nullptr};
    torch::nn::Linear proj{nullptr};
};

struct Copy {
    std::string name;
    const void* data;
    at::Tensor values;
};

std::vector<Copy> copyOf(torch::nn::Module& m) {
    std::vector<Copy> copies;
    for (const auto& p : m.named_parameters())
        copies.push_back({p.key(), p.value().data_ptr(), p.value().detach().clone()});
    for (const auto& b : m.named_buffers())
        copies.push_back({b.key(), b.value().data_ptr(), b.value().clone()});
    return copies;
}

// Same storage (nothing moved) and same values, bit for bit.
bool untouched(torch::nn::Module& m, const std::vector<Copy>& before) {
    const std::vector<Copy> now = copyOf(m);
    if (now.size() != before.size())
        return false;
    for (size_t i = 0; i < now.size(); ++i)
        if (now[i].name != before[i].name || now[i].data != before[i].data || !now[i].values.is_cpu() ||
            !at::equal(now[i].values, before[i].values))
            return false;
    return true;
}

} // namespace

class TestMemoryManagerCpu final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void cleanupWithoutCudaIsANoOp() {
        if (cudaAvailable())
            QSKIP("CUDA is available: tst_gpu_cuda covers cleanup");
        MemoryManager manager;
        const CleanupReport r = manager.cleanup();
        QVERIFY(!r.cuda);
        QVERIFY2(r.message.contains(QLatin1String("no CUDA")), qPrintable(r.message));
        QVERIFY(r.message.contains(QLatin1String("CPU")));
        QCOMPARE(r.before.reservedBytes, -1);
        QCOMPARE(r.after.allocatedBytes, -1);
        QCOMPARE(r.releasedBytes(), 0);
        QVERIFY(r.durationMs >= 0);
    }

    void snapshotWithoutCudaKnowsNothing() {
        if (cudaAvailable())
            QSKIP("CUDA is available");
        const MemorySnapshot s = snapshot(0);
        QVERIFY(!s.cuda);
        QCOMPARE(s.deviceUsedBytes, -1);
        QCOMPARE(s.deviceTotalBytes, -1);
        QCOMPARE(s.allocatedBytes, -1);
        QVERIFY(s.msecsSinceEpoch > 0);
        QVERIFY(!cudaContextActive(0));
    }

    void unloadAndReloadLeaveACpuModelUntouched() {
        auto model = std::make_shared<TinyModel>();
        const std::vector<Copy> before = copyOf(*model);
        ModelResidency residency({model.get()}, QStringLiteral("tiny"));
        QCOMPARE(residency.residency(), Residency::Cpu);

        MemoryManager manager;
        const QString expected =
            cudaAvailable() ? QStringLiteral("nothing on the GPU") : QStringLiteral("no CUDA");
        const TransferReport u = manager.unload(residency);
        QVERIFY(!u.moved);
        QVERIFY2(u.message.contains(expected), qPrintable(u.message));
        QVERIFY(u.message.contains(QLatin1String("'tiny'")));
        QCOMPARE(u.from, Residency::Cpu);
        QCOMPARE(u.to, Residency::Cpu);
        QCOMPARE(u.tensors, 0);
        QCOMPARE(u.bytes, 0);
        QCOMPARE(residency.residency(), Residency::Cpu);
        QCOMPARE(residency.pinnedBytes(), 0);
        QVERIFY(untouched(*model, before));

        const QString expectedReload =
            cudaAvailable() ? QStringLiteral("nothing unloaded") : QStringLiteral("no CUDA");
        const TransferReport r = manager.reload(residency);
        QVERIFY(!r.moved);
        QVERIFY2(r.message.contains(expectedReload), qPrintable(r.message));
        QCOMPARE(residency.residency(), Residency::Cpu);
        QVERIFY(untouched(*model, before));

        // The model still works after the no-ops.
        const at::Tensor y = model->proj->forward(at::ones({1, 4}));
        QCOMPARE(y.size(1), 2);
    }

    void tiedWeightsAndSharedModulesCountOnce() {
        auto model = std::make_shared<TinyModel>();
        // conv.weight, conv.bias, proj.weight (= tied), proj.bias, running_mean
        ModelResidency residency({model.get(), model->proj.ptr().get(), nullptr});
        QCOMPARE(residency.tensorCount(), 5);
        const qint64 floats = 4 * 3 * 3 * 3 + 4 + 2 * 4 + 2 + 4;
        QCOMPARE(residency.bytes(), floats * 4);
    }

    void weightsAddedLaterAreSeen() {
        torch::nn::Module m;
        ModelResidency residency({&m});
        QCOMPARE(residency.tensorCount(), 0);
        QCOMPARE(residency.residency(), Residency::Cpu);
        m.register_parameter("late", at::zeros({8}));
        QCOMPARE(residency.tensorCount(), 1);
        QCOMPARE(residency.bytes(), 32);
    }

    void outOfMemoryIsRecognised() {
        // A real host allocation failure: far more than any address space.
        try {
            const at::Tensor huge = at::empty({int64_t(1) << 50}, at::TensorOptions().dtype(at::kByte));
            QFAIL("allocating 1 PiB succeeded");
        } catch (const std::exception& e) {
            QVERIFY2(isOutOfMemory(e), e.what());
            QVERIFY2(!isCudaOutOfMemory(e), e.what());
        }
        try {
            C10_THROW_ERROR(OutOfMemoryError, "CUDA out of memory. Tried to allocate 2.00 GiB");
        } catch (const std::exception& e) {
            QVERIFY(isOutOfMemory(e));
            QVERIFY(isCudaOutOfMemory(e));
        }
        try {
            // libtorch 1.13's allocator message in a plain c10::Error
            C10_THROW_ERROR(Error, "CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 7.79 GiB total)");
        } catch (const std::exception& e) {
            QVERIFY(isCudaOutOfMemory(e));
        }
        try {
            C10_THROW_ERROR(Error, "The size of tensor a (4) must match the size of tensor b (3)");
        } catch (const std::exception& e) {
            QVERIFY(!isOutOfMemory(e));
        }
        QVERIFY(isOutOfMemory(std::bad_alloc()));
        QVERIFY(!isCudaOutOfMemory(std::bad_alloc()));
        QVERIFY(!isOutOfMemory(std::runtime_error("CUDA out of memory"))); // not from libtorch
    }

    void torchBuildInfoMatchesTheBuild() {
        const TorchBuildInfo info = torchBuildInfo();
        QCOMPARE(info.torchVersion, QStringLiteral(TORCH_VERSION));
        QCOMPARE(info.cudaBuild, bool(TWISTEDPIC_WITH_CUDA));
        QCOMPARE(info.cudaAvailable, cudaAvailable());
        if (!info.cudaAvailable) {
            QCOMPARE(info.cudaDeviceCount, 0);
            QVERIFY(info.noCudaReason.endsWith(QLatin1String("running on the CPU")));
            const AllocatorSample a = allocatorSample(0);
            QVERIFY(!a.valid);
            QCOMPARE(a.note, info.noCudaReason);
        } else {
            QVERIFY(info.cudaDeviceCount > 0);
            QVERIFY(info.noCudaReason.isEmpty());
        }
        if (!info.cudaBuild)
            QCOMPARE(info.noCudaReason, QStringLiteral("libtorch has no CUDA support: running on the CPU"));
    }

    void bytesAreFormattedForPeople() {
        // The one byte formatter (core/common/Bytes.h) as the memory reports use it.
        QCOMPARE(tp::formatBytes(-1), QStringLiteral("unknown"));
        QCOMPARE(tp::formatBytes(512), QStringLiteral("512 B"));
        QCOMPARE(tp::formatBytes(1536), QStringLiteral("1.5 KiB"));
        QCOMPARE(tp::formatBytes(12 * 1024), QStringLiteral("12 KiB"));
        QCOMPARE(tp::formatBytes(3 * 1024 * 1024 + 512 * 1024), QStringLiteral("3.5 MiB"));
        QCOMPARE(tp::formatBytes(640LL << 20), QStringLiteral("640 MiB"));
        QCOMPARE(tp::formatBytes(8LL << 30), QStringLiteral("8.0 GiB"));
        QCOMPARE(tp::formatBytes(5137025024), QStringLiteral("4.8 GiB"));
        QCOMPARE(tp::formatBytes(5137025024, QLocale(QLocale::German), 2), QStringLiteral("4,78 GiB"));
        QCOMPARE(residencyName(Residency::PinnedCpu), QStringLiteral("pinned RAM"));
    }
};

TP_GPU_TEST_CLASS(TestMemoryManagerCpu);

#include "TestMemoryManagerCpu.moc"
