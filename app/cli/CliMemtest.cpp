// twistedpic-cli memtest: the original's test_gpu_cleanup.py, on this engine.
#include "app/cli/Cli.h"
#include "app/cli/CliOllamaVram.h"
#include "core/common/Paths.h"
#include "core/engine/Engine.h"
#include "core/engine/MemoryCycle.h"
#include "core/gpu/VramBudget.h"
#include "core/io/ModelCatalogue.h"
#include "core/settings/Settings.h"

namespace tp::cli {
namespace {

QString mib(qint64 bytes) {
    return bytes < 0 ? QStringLiteral("-") : QString::number(bytes / 1048576.0, 'f', 0);
}

int runMemtest(Context& ctx, const QStringList& args) {
    Settings& s = ctx.settings;
    QCommandLineParser parser;
    const QCommandLineOption model({QStringLiteral("m"), QStringLiteral("model")},
                                   QStringLiteral("Model name or folder (default: the default model)."),
                                   QStringLiteral("NAME|PATH"), s.value(keys::DefaultModel).toString());
    const QCommandLineOption width(QStringLiteral("width"), QStringLiteral("Width."), QStringLiteral("W"),
                                   QStringLiteral("512"));
    const QCommandLineOption height(QStringLiteral("height"), QStringLiteral("Height."), QStringLiteral("H"),
                                    QStringLiteral("512"));
    const QCommandLineOption steps(QStringLiteral("steps"), QStringLiteral("Steps."), QStringLiteral("N"),
                                   QStringLiteral("20"));
    const QCommandLineOption device(QStringLiteral("device"), QStringLiteral("auto, cpu, cuda or cuda:N."),
                                    QStringLiteral("DEV"), s.device());
    const QCommandLineOption precision(QStringLiteral("precision"),
                                       QStringLiteral("auto, fp16, bf16, fp32 or fp8 (fp8:bf16 …)."),
                                       QStringLiteral("P"), s.value(keys::Precision).toString());
    const QCommandLineOption budget(
        QStringLiteral("budget"),
        QStringLiteral(
            "VRAM budget: auto, all or a size such as 12GiB (default: the setting gpu/vramBudget)."),
        QStringLiteral("SIZE"), s.value(keys::VramBudget).toString());
    const QCommandLineOption settle(QStringLiteral("settle"),
                                    QStringLiteral("Seconds before the last reading."), QStringLiteral("S"),
                                    QStringLiteral("5"));
    const QCommandLineOption noCleanup(QStringLiteral("no-cleanup"),
                                       QStringLiteral("Skip the cleanup step."));
    const QCommandLineOption noUnload(QStringLiteral("no-unload"), QStringLiteral("Skip unload and reload."));
    for (const auto& o :
         {model, width, height, steps, device, precision, budget, settle, noCleanup, noUnload})
        parser.addOption(o);
    int code = Ok;
    if (!parseCommandLine(
            ctx, parser, args,
            QStringLiteral("Loads a model, generates one image and prints GPU memory before load, after "
                           "load, after the generation with cleanup, after unload, after reload and a "
                           "few seconds later (like the original's test_gpu_cleanup.py)."),
            &code))
        return code;

    const Result<gpu::BudgetSetting> budgetSetting =
        gpu::parseBudget(parser.value(budget), QStringLiteral("--budget"));
    if (!budgetSetting) {
        ctx.err << budgetSetting.error() << "\n";
        return Usage;
    }

    const io::ModelCatalogue catalogue =
        io::ModelCatalogue::scan(s.modelSearchPaths(), paths::bundledModelDirs());
    io::ModelInfo info;
    if (parser.value(model).isEmpty()) {
        const io::ModelInfo* def = catalogue.defaultModel();
        if (!def) {
            ctx.err << "No model found; give one with --model.\n";
            return Failure;
        }
        info = *def;
    } else {
        const Result<io::ModelInfo> found = catalogue.resolve(parser.value(model));
        if (!found) {
            ctx.err << found.error() << "\n";
            return Failure;
        }
        info = *found;
    }

    engine::MemoryCycleOptions o;
    o.modelFolder = info.folder;
    o.device = parser.value(device);
    o.precision = parser.value(precision);
    o.vramBudget = parser.value(budget).trimmed();
    // As the engine plans a generation: the settings' reserve and margin, Ollama's loaded models.
    const engine::GpuPolicy policy = engine::gpuPolicyFrom(s);
    o.vramReserveBytes = policy.vramReserveBytes;
    o.ollamaMarginBytes = policy.ollamaMarginBytes;
    if (budgetSetting->mode == gpu::BudgetSetting::Mode::Auto && o.device != QLatin1String("cpu")) {
        QString note;
        o.ollama = ollamaVramNow(s, &note);
        if (!note.isEmpty() && ctx.verbose)
            ctx.err << note << "\n";
    }
    o.width = parser.value(width).toInt();
    o.height = parser.value(height).toInt();
    if (!parser.isSet(width) && !parser.isSet(height) && info.nativeSize > 0)
        o.width = o.height = info.nativeSize; // the size the model was trained at (512 for SD 1.5)
    o.steps = parser.value(steps).toInt();
    o.settleSeconds = parser.value(settle).toInt();
    o.cleanup = !parser.isSet(noCleanup);
    o.unload = !parser.isSet(noUnload);
    if (o.width <= 0 || o.height <= 0 || o.steps <= 0 || o.settleSeconds < 0) {
        ctx.err << "--width, --height and --steps must be positive numbers, --settle zero or more.\n";
        return Usage;
    }

    ctx.out << "memtest: " << info.name << ", " << o.width << "x" << o.height << ", " << o.steps
            << " steps\n";
    ctx.out << QStringLiteral("%1 %2 %3 %4 %5\n")
                   .arg(QStringLiteral("step"), -24)
                   .arg(QStringLiteral("device MiB"), 11)
                   .arg(QStringLiteral("alloc MiB"), 10)
                   .arg(QStringLiteral("reserved MiB"), 13)
                   .arg(QStringLiteral("took ms"), 9);
    ctx.out.flush();
    const Result<engine::MemoryCycleReport> report =
        engine::runMemoryCycle(o, [&](const engine::MemoryCycleRow& r) {
            ctx.out << QStringLiteral("%1 %2 %3 %4 %5\n")
                           .arg(r.label, -24)
                           .arg(mib(r.memory.deviceUsedBytes), 11)
                           .arg(mib(r.memory.allocatedBytes), 10)
                           .arg(mib(r.memory.reservedBytes), 13)
                           .arg(r.milliseconds > 0 ? QString::number(r.milliseconds, 'f', 1) : QString(), 9);
            ctx.out.flush();
        });
    if (!report) {
        ctx.err << report.error() << "\n";
        return Failure;
    }
    ctx.out << "device: " << report->device << ", weights " << mib(report->weightBytes) << " MiB, "
            << QString::number(report->itPerSec, 'f', 2) << " it/s\n";
    if (!report->budget.isEmpty())
        ctx.out << report->budget << "\n";
    if (!report->plan.isEmpty())
        ctx.out << "plan: " << report->plan << "\n";
    if (report->rows.first().memory.cuda == false)
        ctx.out << "No CUDA: TwistedPic runs on the CPU, so there is no GPU memory to free.\n";
    return Ok;
}

} // namespace

TP_CLI_COMMAND("memtest", "Measure GPU memory around one generation: load, cleanup, unload, reload",
               runMemtest);

} // namespace tp::cli
