// NvmlSource without a driver (clean "not available") and against the fake NVML library, which
// runs the real code paths: symbol lookup, struct versions, fallbacks, array growth, names.
#include "core/gpu/GpuInfo.h"
#include "core/gpu/NvmlSource.h"
#include "core/gpu/ProcessNames.h"
#include "core/gpu/SystemVramSource.h"
#include "tests/gpu/GpuTests.h"
#include "tests/gpu/ProcessFixture.h"

#include <QFileInfo>
#include <QtTest>

#include <dlfcn.h>

using namespace tp::gpu;
using tp::test::NamedProcess;

namespace {

constexpr qint64 GiB = 1024LL * 1024 * 1024;
const char* const FakeLibrary = TP_FAKE_NVML_PATH;

// Sets TP_FAKE_NVML for the next NvmlSource, restores it after.
class FakeConfig final {
public:
    explicit FakeConfig(const QString& config) { qputenv("TP_FAKE_NVML", config.toUtf8()); }
    ~FakeConfig() { qunsetenv("TP_FAKE_NVML"); }
};

// How often the fake saw a call since the last nvmlInit.
int calls(const char* function) {
    static void* handle = dlopen(FakeLibrary, RTLD_NOW | RTLD_LOCAL); // keeps it loaded, shares its state
    using Fn = int (*)(const char*);
    static Fn fn = handle ? reinterpret_cast<Fn>(dlsym(handle, "tpFakeNvmlCalls")) : nullptr;
    return fn ? fn(function) : -1;
}

} // namespace

class TestNvmlSource final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { QVERIFY2(calls("nvmlInit_v2") >= 0, "the fake NVML library cannot be loaded"); }

    void aMissingLibraryIsCleanlyNotAvailable() {
        NvmlSource nvml(QStringLiteral("libnvidia-ml-absent.so.1"));
        QVERIFY(!nvml.isAvailable());
        QCOMPARE(nvml.unavailableReason(),
                 QStringLiteral("No NVIDIA driver (libnvidia-ml-absent.so.1 not found)"));
        const VramSample s = nvml.sample();
        QVERIFY(!s.gpuAvailable);
        QCOMPARE(s.noGpuReason, nvml.unavailableReason());
        QVERIFY(s.devices.isEmpty());
    }

    void theDefaultLibrary() {
        qunsetenv("TWISTEDPIC_NVML_LIBRARY");
        NvmlSource nvml;
        QCOMPARE(nvml.library(), QStringLiteral("libnvidia-ml.so.1"));
        if (nvml.isAvailable()) {
            const VramSample s = nvml.sample();
            QVERIFY(s.gpuAvailable && !s.devices.isEmpty());
            qInfo("NVML: %lld device(s), first: %s", qint64(s.devices.size()), qPrintable(s.devices[0].name));
        } else {
            // No driver on this machine (the development machines have none).
            QVERIFY2(nvml.unavailableReason().startsWith(QLatin1String("No NVIDIA")) ||
                         nvml.unavailableReason().contains(QLatin1String("driver")),
                     qPrintable(nvml.unavailableReason()));
        }
    }

    void theEnvironmentNamesAnotherLibrary() {
        qputenv("TWISTEDPIC_NVML_LIBRARY", "/opt/nvidia/libnvidia-ml.so.1");
        NvmlSource nvml;
        qunsetenv("TWISTEDPIC_NVML_LIBRARY");
        QCOMPARE(nvml.library(), QStringLiteral("/opt/nvidia/libnvidia-ml.so.1"));
        QCOMPARE(nvml.unavailableReason(),
                 QStringLiteral("No NVIDIA driver (/opt/nvidia/libnvidia-ml.so.1 not found)"));
    }

    void devicesMemoryAndProcessesWithNames() {
        NamedProcess ollama(QStringLiteral("ollama"));
        NamedProcess runner(QStringLiteral("ollama_llama_server"));
        QVERIFY(ollama.isRunning() && runner.isRunning());
        const FakeConfig config(
            QStringLiteral("devices=2;name=Fake H100;total=%1;used=%2;util=37;procs=%3:%4,%5:%6,%7:na")
                .arg(80 * GiB)
                .arg(7 * GiB)
                .arg(selfPid())
                .arg(GiB)
                .arg(ollama.pid())
                .arg(5 * GiB)
                .arg(runner.pid()));
        NvmlSource nvml(QString::fromUtf8(FakeLibrary));
        QVERIFY2(nvml.isAvailable(), qPrintable(nvml.unavailableReason()));
        const VramSample s = nvml.sample();
        QVERIFY(s.gpuAvailable);
        QCOMPARE(s.driverVersion, QStringLiteral("999.99.99-fake"));
        QCOMPARE(s.devices.size(), 2);
        const DeviceSample& d = s.devices[1];
        QCOMPARE(d.index, 1);
        QCOMPARE(d.name, QStringLiteral("Fake H100 #1"));
        QCOMPARE(d.source, QStringLiteral("nvml"));
        QCOMPARE(d.totalBytes, 80 * GiB);
        QCOMPARE(d.freeBytes, 73 * GiB);
        QCOMPARE(d.usedBytes, 7 * GiB); // processes + the driver's reservation, as nvidia-smi shows
        QCOMPARE(d.utilizationPercent, 37);
        QVERIFY(d.processesValid);
        QCOMPARE(d.processes.size(), 3);
        // Largest first.
        QCOMPARE(d.processes[0].pid, ollama.pid());
        QCOMPARE(d.processes[0].name, QStringLiteral("ollama"));
        QCOMPARE(d.processes[0].usedBytes, 5 * GiB);
        QVERIFY(d.processes[0].isOllama && !d.processes[0].isSelf);
        QCOMPARE(d.processes[1].pid, selfPid());
        QVERIFY(d.processes[1].isSelf && !d.processes[1].isOllama);
        QCOMPARE(d.processes[1].name, processName(selfPid()));
        QCOMPARE(d.processes[2].name, QStringLiteral("ollama_llama_se")); // the kernel keeps 15 characters
        QCOMPARE(d.processes[2].usedBytes, -1);                           // NVML_VALUE_NOT_AVAILABLE
        QVERIFY(d.processes[2].isOllama);
        QCOMPARE(nvml.processApiVersion(), 3);
        QCOMPARE(calls("nvmlDeviceGetMemoryInfo_v2"), 2);
        QCOMPARE(calls("nvmlDeviceGetMemoryInfo"), 0);
        QCOMPARE(calls("nvmlDeviceGetComputeRunningProcesses_v2"), 0);
    }

    void olderDriversFallBackAndTheChoiceIsRemembered() {
        const FakeConfig config(
            QStringLiteral("memv2=0;procapi=1;used=%1;procs=%2:%3").arg(2 * GiB).arg(selfPid()).arg(GiB));
        NvmlSource nvml(QString::fromUtf8(FakeLibrary));
        QVERIFY(nvml.isAvailable());
        for (int i = 0; i < 3; ++i) {
            const VramSample s = nvml.sample();
            QCOMPARE(s.devices.size(), 1);
            QCOMPARE(s.devices[0].usedBytes, 2 * GiB);
            QCOMPARE(s.devices[0].freeBytes, 6 * GiB);
            QCOMPARE(s.devices[0].processes.size(), 1);
            QCOMPARE(s.devices[0].processes[0].usedBytes, GiB);
        }
        QCOMPARE(nvml.processApiVersion(), 1);
        QCOMPARE(calls("nvmlDeviceGetComputeRunningProcesses_v3"), 1);
        QCOMPARE(calls("nvmlDeviceGetComputeRunningProcesses_v2"), 1);
        QCOMPARE(calls("nvmlDeviceGetComputeRunningProcesses"), 3);
        QCOMPARE(calls("nvmlDeviceGetMemoryInfo_v2"), 1);
        QCOMPARE(calls("nvmlDeviceGetMemoryInfo"), 3);
    }

    void aMemoryStructVersionMismatchFallsBackToV1() {
        const FakeConfig config(QStringLiteral("memv2=25;used=%1").arg(3 * GiB));
        NvmlSource nvml(QString::fromUtf8(FakeLibrary));
        const VramSample s = nvml.sample();
        QCOMPARE(s.devices[0].usedBytes, 3 * GiB);
        QCOMPARE(calls("nvmlDeviceGetMemoryInfo"), 1);
    }

    void theProcessArrayGrowsWhenNvmlAsks() {
        QStringList procs;
        for (int i = 0; i < 40; ++i)
            procs << QStringLiteral("%1:%2").arg(3000000 + i).arg((i + 1) * 1048576); // no such pids
        const FakeConfig config(QStringLiteral("procs=") + procs.join(QLatin1Char(',')));
        NvmlSource nvml(QString::fromUtf8(FakeLibrary));
        const VramSample s = nvml.sample();
        QVERIFY(s.devices[0].processesValid);
        QCOMPARE(s.devices[0].processes.size(), 40);
        QCOMPARE(s.devices[0].processes[0].usedBytes, 40 * 1048576);
        QVERIFY(s.devices[0].processes[0].name.isEmpty()); // gone, or in another PID namespace
        QVERIFY(!s.devices[0].processes[0].isOllama);
        QCOMPARE(calls("nvmlDeviceGetComputeRunningProcesses_v3"), 2); // INSUFFICIENT_SIZE, then the list
    }

    void processListsMayBeUnsupported() {
        const FakeConfig config(QStringLiteral("procrc=3;used=%1").arg(GiB));
        NvmlSource nvml(QString::fromUtf8(FakeLibrary));
        const VramSample s = nvml.sample();
        QVERIFY(s.gpuAvailable);
        QVERIFY(!s.devices[0].processesValid);
        QVERIFY(s.devices[0].processes.isEmpty());
        QCOMPARE(s.devices[0].usedBytes, GiB);
    }

    void aDriverThatIsNotLoaded() {
        const FakeConfig config(QStringLiteral("initrc=9"));
        NvmlSource nvml(QString::fromUtf8(FakeLibrary));
        QVERIFY(!nvml.isAvailable());
        QVERIFY2(nvml.unavailableReason().startsWith(QLatin1String("NVIDIA driver not loaded")),
                 qPrintable(nvml.unavailableReason()));
        QVERIFY(nvml.unavailableReason().contains(QLatin1String("Driver Not Loaded")));
        QVERIFY(!nvml.sample().gpuAvailable);
    }

    void aDriverWithoutGpus() {
        const FakeConfig config(QStringLiteral("devices=0"));
        NvmlSource nvml(QString::fromUtf8(FakeLibrary));
        QCOMPARE(nvml.unavailableReason(), QStringLiteral("No NVIDIA GPU found (the driver reports none)"));
    }

    void ollamaIsKnownByName() {
        for (const char* yes :
             {"ollama", "ollama_llama_se", "ollama_llama_server", "Ollama", "ollama-runner"})
            QVERIFY2(isOllamaProcessName(QString::fromLatin1(yes)), yes);
        for (const char* no : {"", "llama-server", "python3", "twistedpic", "my-ollama"})
            QVERIFY2(!isOllamaProcessName(QString::fromLatin1(no)), no);
        QCOMPARE(processName(selfPid()),
                 QFileInfo(QCoreApplication::applicationFilePath()).fileName().left(15));
        QVERIFY(processName(0).isEmpty());
    }

    void theSystemSourceSaysWhyThereIsNoGpu() {
        SystemVramSource::Options options;
        options.nvmlLibrary = QStringLiteral("libnvidia-ml-absent.so.1");
        SystemVramSource source(options);
        const VramSample s = source.sample();
        if (torchBuildInfo().cudaAvailable) {
            QCOMPARE(source.name(), QStringLiteral("cuda")); // the fallback
            QVERIFY(s.gpuAvailable && !s.devices.isEmpty());
            QVERIFY(s.self.valid);
            return;
        }
        QCOMPARE(source.name(), QStringLiteral("none"));
        QVERIFY(!s.gpuAvailable);
        QVERIFY(s.devices.isEmpty());
        QVERIFY2(s.noGpuReason.startsWith(
                     QLatin1String("No NVIDIA driver (libnvidia-ml-absent.so.1 not found); ")),
                 qPrintable(s.noGpuReason));
        QVERIFY(s.noGpuReason.endsWith(QLatin1String("running on the CPU")));
        QVERIFY(!s.self.valid);
        QVERIFY(!s.self.note.isEmpty());
    }

    void theSystemSourcePrefersNvml() {
        const FakeConfig config(QStringLiteral("used=%1").arg(GiB));
        SystemVramSource::Options options;
        options.nvmlLibrary = QString::fromUtf8(FakeLibrary);
        SystemVramSource source(options);
        QCOMPARE(source.name(), QStringLiteral("nvml"));
        const VramSample s = source.sample();
        QVERIFY(s.gpuAvailable);
        QCOMPARE(s.devices[0].usedBytes, GiB);
        // This process's allocator: valid only with CUDA.
        QCOMPARE(s.self.valid, torchBuildInfo().cudaAvailable);
    }
};

TP_GPU_TEST_CLASS(TestNvmlSource);

#include "TestNvmlSource.moc"
