// twistedpic-cli plan: where each component of a model would live for one request within a VRAM
// budget, and the predicted peak, from the safetensors headers alone (no weights are loaded).
#include "app/cli/Cli.h"
#include "app/cli/CliOllamaVram.h"
#include "core/common/Bytes.h"
#include "core/common/Paths.h"
#include "core/gpu/ModelProfile.h"
#include "core/gpu/PlacementPlanner.h"
#include "core/gpu/PlanMemory.h"
#include "core/gpu/SystemVramSource.h"
#include "core/gpu/VramBudget.h"
#include "core/io/ModelCatalogue.h"
#include "core/settings/Settings.h"

#include <torch/version.h>

#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>

namespace tp::cli {
namespace {

QString bytes(qint64 b) {
    return formatBytes(b, QLocale::c(), 1);
}

int runPlan(Context& ctx, const QStringList& args) {
    Settings& s = ctx.settings;
    QCommandLineParser parser;
    const QCommandLineOption model(
        {QStringLiteral("m"), QStringLiteral("model")},
        QStringLiteral("Model name (see `models`), diffusers folder or single file."),
        QStringLiteral("NAME|PATH"), s.value(keys::DefaultModel).toString());
    const QCommandLineOption width(QStringLiteral("width"),
                                   QStringLiteral("Width (default: the model's native size)."),
                                   QStringLiteral("W"));
    const QCommandLineOption height(QStringLiteral("height"),
                                    QStringLiteral("Height (default: the model's native size)."),
                                    QStringLiteral("H"));
    const QCommandLineOption count(QStringLiteral("count"), QStringLiteral("Images per batch."),
                                   QStringLiteral("N"), QStringLiteral("1"));
    const QCommandLineOption steps(QStringLiteral("steps"),
                                   QStringLiteral("Denoising steps (for the bytes streamed per image)."),
                                   QStringLiteral("N"));
    const QCommandLineOption cfg(
        QStringLiteral("cfg"), QStringLiteral("Guidance scale (above 1 doubles the batch, except for Flux)."),
        QStringLiteral("X"));
    const QCommandLineOption budget(
        QStringLiteral("budget"),
        QStringLiteral("VRAM budget: auto, all or a size such as 12GiB, 12 GB, 12000MiB (a plain number is "
                       "GiB). Default: the setting gpu/vramBudget."),
        QStringLiteral("SIZE"), s.value(keys::VramBudget).toString());
    const QCommandLineOption freeOpt(
        QStringLiteral("free"),
        QStringLiteral("Plan as if this much device memory were free (auto and all), instead of reading it "
                       "from the GPU."),
        QStringLiteral("SIZE"));
    const QCommandLineOption precision(QStringLiteral("precision"),
                                       QStringLiteral("auto, fp16, bf16, fp32 or fp8 (fp8:bf16 …)."),
                                       QStringLiteral("P"), s.value(keys::Precision).toString());
    const QCommandLineOption allowFp8(
        QStringLiteral("allow-fp8"),
        QStringLiteral("Let the planner store the denoiser in fp8 when that avoids "
                       "streaming."));
    const QCommandLineOption noTiling(QStringLiteral("no-tiling"), QStringLiteral("Never decode in tiles."));
    const QCommandLineOption withoutT5(QStringLiteral("without-t5"), QStringLiteral("SD 3.x: leave T5 out."));
    const QCommandLineOption textEncoder(QStringLiteral("text-encoder"),
                                         QStringLiteral("A single file's text encoder file (repeat)."),
                                         QStringLiteral("FILE"));
    const QCommandLineOption vae(QStringLiteral("vae"), QStringLiteral("A single file's VAE file."),
                                 QStringLiteral("FILE"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print the plan as JSON."));
    for (const auto& o : {model, width, height, count, steps, cfg, budget, freeOpt, precision, allowFp8,
                          noTiling, withoutT5, textEncoder, vae, json})
        parser.addOption(o);
    int code = Ok;
    if (!parseCommandLine(
            ctx, parser, args,
            QStringLiteral("Prints where each component of a model would live for one request "
                           "within a VRAM budget (resident, on demand, streamed blocks, CPU) and "
                           "the predicted peak, without loading any weights."),
            &code))
        return code;

    const Result<gpu::BudgetSetting> setting =
        gpu::parseBudget(parser.value(budget), QStringLiteral("--budget"));
    if (!setting) {
        ctx.err << setting.error() << "\n";
        return Usage;
    }
    qint64 freeOverride = -1;
    if (parser.isSet(freeOpt)) {
        const Result<qint64> f = gpu::parseByteSize(parser.value(freeOpt), QStringLiteral("--free"));
        if (!f) {
            ctx.err << f.error() << "\n";
            return Usage;
        }
        freeOverride = *f;
    }
    auto positive = [&](const QCommandLineOption& o, int fallback, int* v) {
        if (!parser.isSet(o)) {
            *v = fallback;
            return true;
        }
        bool ok = false;
        *v = parser.value(o).toInt(&ok);
        if (ok && *v > 0 && *v <= 16384)
            return true;
        ctx.err << "--" << o.names().constLast() << ": '" << parser.value(o).left(40)
                << "' is not a positive whole number\n";
        return false;
    };

    io::SingleFileOptions files;
    for (const QString& f : parser.values(textEncoder))
        files.textEncoderFiles << QFileInfo(paths::expandHome(f)).absoluteFilePath();
    if (parser.isSet(vae))
        files.vaeFile = QFileInfo(paths::expandHome(parser.value(vae))).absoluteFilePath();
    const io::ModelCatalogue catalogue =
        io::ModelCatalogue::scan(s.modelSearchPaths(), paths::bundledModelDirs());
    const Result<io::ModelInfo> info =
        parser.value(model).isEmpty()
            ? (catalogue.defaultModel()
                   ? Result<io::ModelInfo>::ok(*catalogue.defaultModel())
                   : Result<io::ModelInfo>::fail(QStringLiteral("No model found; give one with --model.")))
            : catalogue.resolve(parser.value(model), files);
    if (!info) {
        ctx.err << info.error() << "\n";
        return Failure;
    }
    gpu::PlanRequest request;
    int batch = 1;
    int stepCount = 0;
    if (!positive(width, info->defaults.width, &request.size.width) ||
        !positive(height, info->defaults.height, &request.size.height) || !positive(count, 1, &batch) ||
        !positive(steps, info->defaults.steps, &stepCount))
        return Usage;
    request.size.batch = batch;
    request.steps = stepCount;
    request.guidance = info->defaults.guidance;
    if (parser.isSet(cfg)) {
        bool ok = false;
        request.guidance = parser.value(cfg).toDouble(&ok);
        if (!ok || request.guidance < 0) {
            ctx.err << "--cfg: '" << parser.value(cfg).left(40) << "' is not a number\n";
            return Usage;
        }
    }
    // libtorch 1.x attends with matmul + softmax (the score matrix is held); 2.x with fused kernels.
    request.materializedAttention = TORCH_VERSION_MAJOR < 2;

    gpu::ProfileOptions po;
    po.precision = parser.value(precision);
    po.withoutT5 = parser.isSet(withoutT5);
    po.textEncoderFiles = files.textEncoderFiles;
    po.vaeFile = files.vaeFile;
    const Result<gpu::ModelProfile> profile = gpu::profileModel(info->folder, po);
    if (!profile) {
        ctx.err << profile.error() << "\n";
        return Failure;
    }

    // The budget: auto and all read the device (NVML; no CUDA context is made) and Ollama's /api/ps.
    gpu::BudgetInputs bi;
    bi.setting = *setting;
    bi.reserveBytes = s.value(keys::VramReserveMiB).toLongLong() << 20;
    bi.ollamaMarginBytes = s.value(keys::MakeRoomMarginMiB).toLongLong() << 20;
    QString deviceNote;
    if (setting->mode != gpu::BudgetSetting::Mode::Size) {
        if (freeOverride >= 0) {
            bi.deviceFreeBytes = freeOverride;
        } else {
            const QString dev = s.device();
            const int index = dev.startsWith(QLatin1String("cuda:")) ? dev.mid(5).toInt() : 0;
            gpu::SystemVramSource source;
            const gpu::VramSample sample = source.sample();
            for (const gpu::DeviceSample& d : sample.devices)
                if (d.index == index && d.freeBytes >= 0 && d.totalBytes > 0) {
                    bi.deviceFreeBytes = d.freeBytes;
                    bi.deviceTotalBytes = d.totalBytes;
                }
            if (bi.deviceFreeBytes < 0)
                deviceNote = sample.gpuAvailable
                                 ? QStringLiteral("the free memory of cuda:%1 cannot be read").arg(index)
                                 : sample.noGpuReason;
        }
        if (setting->mode == gpu::BudgetSetting::Mode::Auto && bi.deviceFreeBytes >= 0) {
            QString note;
            bi.ollama = ollamaVramNow(s, &note);
            if (!note.isEmpty() && ctx.verbose)
                ctx.err << note << "\n";
        }
    }
    const gpu::VramBudget vb = gpu::computeBudget(bi);
    if (!vb.known()) {
        ctx.err << "--budget " << setting->text() << " needs the GPU's free memory, which is unknown here ("
                << (deviceNote.isEmpty() ? QStringLiteral("no reading") : deviceNote)
                << "). Give a size (--budget 12GiB) or say what is free (--free 20GiB).\n";
        return Failure;
    }

    gpu::PlannerOptions options;
    options.fp8Allowed = parser.isSet(allowFp8);
    options.tilingAllowed = !parser.isSet(noTiling);
    gpu::PlanMemory memory;
    const bool learned = memory.load().isOk();
    const gpu::PlanInput input =
        gpu::planInput(*profile, request, vb.bytes, options, learned ? &memory : nullptr);
    const int level = learned ? memory.level(profile->path, request.size) : 0;
    const gpu::Plan plan = gpu::planAtLevel(input, level);

    if (parser.isSet(json)) {
        QJsonObject o = plan.toJson();
        o.insert(QStringLiteral("model"), info->name);
        o.insert(QStringLiteral("family"), profile->familyName);
        o.insert(QStringLiteral("precision"), profile->precision);
        o.insert(QStringLiteral("width"), request.size.width);
        o.insert(QStringLiteral("height"), request.size.height);
        o.insert(QStringLiteral("batch"), request.size.batch);
        o.insert(QStringLiteral("budget"), vb.explanation);
        ctx.out << QJsonDocument(o).toJson(QJsonDocument::Indented);
        return plan.fits ? Ok : Failure;
    }

    ctx.out << "plan: " << info->name << " (" << profile->familyName << ", " << profile->precision << "), "
            << request.size.width << "x" << request.size.height << ", batch " << request.size.batch << "\n";
    ctx.out << vb.explanation << "\n";
    for (const QString& n : profile->notes)
        ctx.out << "note: " << n << "\n";
    for (const gpu::ComponentPlan& c : plan.components) {
        QString weights = bytes(c.size.weightBytes);
        if (c.size.blocks() > 0)
            weights +=
                QStringLiteral(" (%1 blocks + %2)").arg(c.size.blocks()).arg(bytes(c.size.nonBlockBytes));
        ctx.out << QStringLiteral("  %1 %2 weights %3  working %4  → %5\n")
                       .arg(c.size.label, -12)
                       .arg(c.size.name, -15)
                       .arg(weights, -28)
                       .arg(bytes(c.tiled ? c.size.tiledActivationBytes : c.size.activationBytes), -10)
                       .arg(c.placementText());
    }
    ctx.out << "plan: " << plan.description() << "\n";
    for (gpu::Phase ph : {gpu::Phase::Encode, gpu::Phase::Denoise, gpu::Phase::Decode}) {
        const gpu::PhasePeak& pk = plan.phase(ph);
        ctx.out << QStringLiteral("  %1 %2 (weights %3 + working %4%5)\n")
                       .arg(gpu::phaseName(ph) + QLatin1Char(':'), -9)
                       .arg(bytes(pk.peak()), -10)
                       .arg(bytes(pk.weightBytes), bytes(pk.activationBytes),
                            pk.runs.isEmpty() ? QString()
                                              : QStringLiteral(", ") + pk.runs + QStringLiteral(" runs"));
    }
    ctx.out << "predicted peak: " << bytes(plan.predictedPeakBytes) << " of a " << bytes(plan.budgetBytes)
            << " budget (" << bytes(plan.usableBytes) << " usable after " << bytes(plan.headroomBytes)
            << " headroom)\n";
    if (plan.streamedBytesPerStep > 0)
        ctx.out << "streaming: " << bytes(plan.streamedBytesPerStep) << " copied per denoiser call"
                << (request.steps > 0 ? QStringLiteral(", %1 over %2 steps")
                                            .arg(bytes(plan.streamedBytesPerStep * request.steps))
                                            .arg(request.steps)
                                      : QString())
                << "\n";
    if (plan.level > 0)
        ctx.out << "level " << plan.level << ": started lower after an out-of-memory error with this model\n";
    if (!plan.fits) {
        ctx.err << plan.problem << "\n";
        return Failure;
    }
    return Ok;
}

} // namespace

TP_CLI_COMMAND("plan", "Where a model's components would live within a VRAM budget, and the predicted peak",
               runPlan);

} // namespace tp::cli
