// `twistedpic-cli gpu-info`, run as a program: without a GPU, and against the fake NVML library.
#include "core/gpu/GpuInfo.h"
#include "tests/gpu/GpuTests.h"
#include "tests/gpu/ProcessFixture.h"
#include "tests/support/TestUtil.h"

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace tp::test;

namespace {
constexpr qint64 GiB = 1024LL * 1024 * 1024;
}

class TestGpuInfoCli final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

    ProcessResult gpuInfo(const QStringList& args, const QStringList& env) {
        return runProcess(
            binaryPath(QStringLiteral("app/twistedpic-cli")),
            QStringList{QStringLiteral("--config"), m_dir.filePath(QStringLiteral("cli.conf")),
                        QStringLiteral("gpu-info")} +
                args,
            QStringList{QStringLiteral("XDG_STATE_HOME=") + m_dir.filePath(QStringLiteral("state"))} + env);
    }
    static QString absentNvml() {
        return QStringLiteral("TWISTEDPIC_NVML_LIBRARY=/nonexistent/libnvidia-ml.so.1");
    }

private Q_SLOTS:
    void withoutAGpu() {
        const ProcessResult r = gpuInfo({}, {absentNvml()});
        QVERIFY(r.finished);
        QCOMPARE(r.exitCode, 0);
        const tp::gpu::TorchBuildInfo torch = tp::gpu::torchBuildInfo();
        if (torch.cudaAvailable) { // the CUDA fallback shows the devices instead
            QVERIFY2(r.out.startsWith(QLatin1String("GPU 0: ")) && r.out.contains(QLatin1String("(cuda)")),
                     qPrintable(r.out));
            return;
        }
        const QStringList lines = r.out.split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 3);
        QCOMPARE(lines[0], QStringLiteral("No NVIDIA GPU found: TwistedPic runs on the CPU."));
        QVERIFY2(lines[1].startsWith(
                     QLatin1String("Reason: No NVIDIA driver (/nonexistent/libnvidia-ml.so.1 not found); ")),
                 qPrintable(lines[1]));
        QVERIFY(lines[1].endsWith(QLatin1String("running on the CPU")));
        QVERIFY2(lines[2].startsWith(QStringLiteral("libtorch ") + torch.torchVersion), qPrintable(lines[2]));
        if (!torch.cudaBuild)
            QCOMPARE(lines[2], QStringLiteral("libtorch %1 without CUDA support").arg(torch.torchVersion));
        QVERIFY2(r.err.isEmpty(), qPrintable(r.err));
    }

    void withoutAGpuAsJson() {
        const ProcessResult r = gpuInfo({QStringLiteral("--json")}, {absentNvml()});
        QCOMPARE(r.exitCode, 0);
        QJsonParseError error;
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8(), &error).object();
        QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
        const tp::gpu::TorchBuildInfo torch = tp::gpu::torchBuildInfo();
        const QJsonObject t = o.value(QStringLiteral("torch")).toObject();
        QCOMPARE(t.value(QStringLiteral("version")).toString(), torch.torchVersion);
        QCOMPARE(t.value(QStringLiteral("cudaBuild")).toBool(), torch.cudaBuild);
        QCOMPARE(t.value(QStringLiteral("cudaAvailable")).toBool(), torch.cudaAvailable);
        QVERIFY(o.value(QStringLiteral("self")).isObject());
        QVERIFY(o.value(QStringLiteral("devices")).isArray());
        if (torch.cudaAvailable)
            return;
        QCOMPARE(o.value(QStringLiteral("gpuAvailable")).toBool(true), false);
        QCOMPARE(o.value(QStringLiteral("source")).toString(), QStringLiteral("none"));
        QVERIFY(o.value(QStringLiteral("noGpuReason")).toString().contains(QLatin1String("not found")));
        QVERIFY(o.value(QStringLiteral("devices")).toArray().isEmpty());
        QCOMPARE(o.value(QStringLiteral("self")).toObject().value(QStringLiteral("valid")).toBool(true),
                 false);
        QVERIFY(o.value(QStringLiteral("self")).toObject().value(QStringLiteral("allocatedBytes")).isNull());
    }

    void withAFakeGpuAndOllama() {
        NamedProcess ollama(QStringLiteral("ollama"));
        QVERIFY(ollama.isRunning());
        const QStringList env{
            QStringLiteral("TWISTEDPIC_NVML_LIBRARY=") + QStringLiteral(TP_FAKE_NVML_PATH),
            QStringLiteral("TP_FAKE_NVML=name=Fake H100;total=%1;used=%2;util=12;procs=%3:%4")
                .arg(80 * GiB)
                .arg(6 * GiB)
                .arg(ollama.pid())
                .arg(5 * GiB)};
        ProcessResult r = gpuInfo({}, env);
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.startsWith(QLatin1String("GPU 0: Fake H100 #0  (nvml)\n")), qPrintable(r.out));
        QVERIFY2(
            r.out.contains(QLatin1String("  memory:      6.0 GiB used, 74.0 GiB free, 80.0 GiB total\n")),
            qPrintable(r.out));
        QVERIFY(r.out.contains(QLatin1String("  utilisation: 12 %\n")));
        const QString processLine = QStringLiteral("%1  %2  %3  [Ollama]\n")
                                        .arg(QString::number(ollama.pid()).rightJustified(8),
                                             QStringLiteral("ollama").leftJustified(16),
                                             QStringLiteral("5.0 GiB").rightJustified(10));
        QVERIFY2(r.out.contains(processLine), qPrintable(r.out));
        QVERIFY(r.out.contains(QLatin1String("NVIDIA driver 999.99.99-fake\n")));
        if (!tp::gpu::torchBuildInfo().cudaAvailable)
            QVERIFY(r.out.endsWith(QLatin1String("TwistedPic runs on the CPU.\n")));

        r = gpuInfo({QStringLiteral("--json")}, env);
        QCOMPARE(r.exitCode, 0);
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QCOMPARE(o.value(QStringLiteral("gpuAvailable")).toBool(), true);
        QCOMPARE(o.value(QStringLiteral("source")).toString(), QStringLiteral("nvml"));
        const QJsonObject d = o.value(QStringLiteral("devices")).toArray().at(0).toObject();
        QCOMPARE(d.value(QStringLiteral("totalBytes")).toDouble(), double(80 * GiB));
        QCOMPARE(d.value(QStringLiteral("usedBytes")).toDouble(), double(6 * GiB));
        QCOMPARE(d.value(QStringLiteral("utilizationPercent")).toInt(), 12);
        const QJsonObject p = d.value(QStringLiteral("processes")).toArray().at(0).toObject();
        QCOMPARE(p.value(QStringLiteral("pid")).toInteger(), ollama.pid());
        QCOMPARE(p.value(QStringLiteral("name")).toString(), QStringLiteral("ollama"));
        QCOMPARE(p.value(QStringLiteral("ollama")).toBool(), true);
        QCOMPARE(p.value(QStringLiteral("usedBytes")).toDouble(), double(5 * GiB));
    }

    void help() {
        const ProcessResult r = gpuInfo({QStringLiteral("--help")}, {});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains(QLatin1String("twistedpic-cli gpu-info")));
        QVERIFY(r.out.contains(QLatin1String("--json")));
        const ProcessResult bad = gpuInfo({QStringLiteral("--bogus")}, {});
        QCOMPARE(bad.exitCode, 2);
    }
};

TP_GPU_TEST_CLASS(TestGpuInfoCli);

#include "TestGpuInfoCli.moc"
