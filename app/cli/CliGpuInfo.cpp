// twistedpic-cli gpu-info [--json]
#include "app/cli/Cli.h"
#include "core/gpu/GpuInfo.h"
#include "core/gpu/MemoryTypes.h"
#include "core/gpu/SystemVramSource.h"
#include "core/gpu/VramJson.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace tp::cli {
namespace {

QJsonObject torchJson(const gpu::TorchBuildInfo& t) {
    return QJsonObject{{QStringLiteral("version"), t.torchVersion},
                       {QStringLiteral("cudaBuild"), t.cudaBuild},
                       {QStringLiteral("cudaRuntime"), t.cudaRuntimeVersion},
                       {QStringLiteral("cudaAvailable"), t.cudaAvailable},
                       {QStringLiteral("cudaDevices"), t.cudaDeviceCount},
                       {QStringLiteral("noCudaReason"), t.noCudaReason}};
}

QString torchLine(const gpu::TorchBuildInfo& t) {
    QString line = QStringLiteral("libtorch ") + t.torchVersion;
    if (!t.cudaBuild)
        return line + QStringLiteral(" without CUDA support");
    line += QStringLiteral(" with CUDA ") + t.cudaRuntimeVersion;
    if (t.cudaAvailable)
        return line + QStringLiteral(": %1 CUDA device(s)").arg(t.cudaDeviceCount);
    return line + QStringLiteral(": ") + t.noCudaReason;
}

void printDevice(QTextStream& out, const gpu::DeviceSample& d) {
    out << "GPU " << d.index << ": " << d.name << "  (" << d.source << ")\n";
    if (d.usedBytes >= 0)
        out << "  memory:      " << tp::formatBytes(d.usedBytes) << " used, " << tp::formatBytes(d.freeBytes)
            << " free, " << tp::formatBytes(d.totalBytes) << " total\n";
    else
        out << "  memory:      " << tp::formatBytes(d.totalBytes) << " total (use unknown)\n";
    out << "  utilisation: "
        << (d.utilizationPercent >= 0 ? QStringLiteral("%1 %").arg(d.utilizationPercent)
                                      : QStringLiteral("unknown"))
        << "\n";
    if (!d.processesValid) {
        out << "  processes:   not available (NVML gives no per-process list here, e.g. in a container)\n";
        return;
    }
    if (d.processes.isEmpty()) {
        out << "  processes:   none\n";
        return;
    }
    out << "  processes:\n";
    for (const gpu::GpuProcess& p : d.processes) {
        QString tags;
        if (p.isOllama)
            tags += QStringLiteral("  [Ollama]");
        if (p.isSelf)
            tags += QStringLiteral("  [this process]");
        const QString name = p.name.isEmpty() ? QStringLiteral("(unknown)") : p.name;
        out << "    " << QString::number(p.pid).rightJustified(8) << "  " << name.leftJustified(16) << "  "
            << tp::formatBytes(p.usedBytes).rightJustified(10) << tags << "\n";
    }
}

int runGpuInfo(Context& ctx, const QStringList& args) {
    QCommandLineParser parser;
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print JSON instead of text."));
    parser.addOption(json);
    int code = Ok;
    if (!parseCommandLine(ctx, parser, args,
                          QStringLiteral("Show the GPUs, their memory and the processes using them (Ollama "
                                         "marked), and whether libtorch can use CUDA."),
                          &code))
        return code;

    gpu::SystemVramSource::Options options;
    options.mayCreateCudaContext = true; // a short-lived process may read memory through CUDA
    gpu::SystemVramSource source(options);
    const gpu::VramSample sample = source.sample();
    const gpu::TorchBuildInfo torch = gpu::torchBuildInfo();

    if (parser.isSet(json)) {
        QJsonObject o = gpu::toJson(sample);
        o.insert(QStringLiteral("torch"), torchJson(torch));
        o.insert(QStringLiteral("source"), source.name());
        ctx.out << QJsonDocument(o).toJson(QJsonDocument::Indented);
        return Ok;
    }

    if (!sample.gpuAvailable) {
        ctx.out << "No NVIDIA GPU found: TwistedPic runs on the CPU.\n";
        ctx.out << "Reason: " << sample.noGpuReason << "\n";
        ctx.out << torchLine(torch) << "\n";
        return Ok;
    }
    for (const gpu::DeviceSample& d : sample.devices)
        printDevice(ctx.out, d);
    if (!sample.driverVersion.isEmpty())
        ctx.out << "NVIDIA driver " << sample.driverVersion << "\n";
    ctx.out << torchLine(torch) << "\n";
    if (!torch.cudaAvailable) {
        ctx.out << "TwistedPic runs on the CPU.\n";
        return Ok;
    }
    const gpu::AllocatorSample& self = sample.self;
    ctx.out << "This process on cuda:" << self.device << ": ";
    if (self.valid)
        ctx.out << "allocated " << tp::formatBytes(self.allocatedBytes) << ", reserved "
                << tp::formatBytes(self.reservedBytes) << ", peak "
                << tp::formatBytes(self.peakAllocatedBytes);
    if (!self.note.isEmpty())
        ctx.out << (self.valid ? " (" : "") << self.note << (self.valid ? ")" : "");
    ctx.out << "\n";
    return Ok;
}

} // namespace

TP_CLI_COMMAND("gpu-info", "Show GPUs, VRAM use, processes (Ollama marked) and libtorch's CUDA support",
               runGpuInfo);

} // namespace tp::cli
