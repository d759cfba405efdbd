// twistedpic-cli generate: one generation through the same Engine the desktop app drives.
#include "app/cli/Cli.h"
#include "core/common/GenerationLimits.h"
#include "core/common/Paths.h"
#include "core/engine/Engine.h"
#include "core/engine/RequestLimits.h"
#include "core/generation/GenerationCoordinator.h"
#include "core/gpu/SystemVramSource.h"
#include "core/gpu/VramBudget.h"
#include "core/io/ModelCatalogue.h"
#include "core/services/OllamaClient.h"
#include "core/services/ServiceSetup.h"
#include "core/services/TwistedPairClient.h"
#include "core/settings/Settings.h"

#include <QDir>
#include <QEventLoop>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <csignal>
#include <memory>
#include <unistd.h>

namespace tp::cli {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void onSigint(int) {
    g_interrupted = 1;
}

QString bar(int step, int total, int width = 30) {
    const int filled = total > 0 ? step * width / total : 0;
    return QString(filled, QLatin1Char('#')) + QString(width - filled, QLatin1Char('.'));
}

// What a cancel waits for, in words.
QString cancelWaitText(engine::State state, double secondsPerStep) {
    switch (state) {
    case engine::State::Generating:
        return secondsPerStep > 1.5
                   ? QStringLiteral("waiting for the current denoising step to finish (about %1 s per step).")
                         .arg(secondsPerStep, 0, 'f', 0)
                   : QStringLiteral("waiting for the current denoising step to finish.");
    case engine::State::Loading:
    case engine::State::Reloading:
        return QStringLiteral("waiting for the model to finish loading.");
    case engine::State::Cleaning:
    case engine::State::Unloading:
        return QStringLiteral("waiting for the GPU memory cleanup to finish.");
    case engine::State::Idle:
        break;
    }
    return QStringLiteral("stopping.");
}

// Renames `from` to `to` without ever replacing an existing file.
bool moveNoClobber(const QString& from, const QString& to) {
    return QFile::rename(from, to);
}

int runGenerate(Context& ctx, const QStringList& args) {
    Settings& s = ctx.settings;
    QCommandLineParser parser;
    const QCommandLineOption model(
        {QStringLiteral("m"), QStringLiteral("model")},
        QStringLiteral("Model name (see `models`) or diffusers folder. Default: the "
                       "settings' default model, else the bundled one."),
        QStringLiteral("NAME|PATH"), s.value(keys::DefaultModel).toString());
    const QCommandLineOption prompt({QStringLiteral("p"), QStringLiteral("prompt")},
                                    QStringLiteral("What to draw."), QStringLiteral("TEXT"));
    const QCommandLineOption negative({QStringLiteral("n"), QStringLiteral("negative")},
                                      QStringLiteral("What to avoid (negative prompt)."),
                                      QStringLiteral("TEXT"), s.value(keys::NegativePrompt).toString());
    const QCommandLineOption steps(QStringLiteral("steps"), QStringLiteral("Denoising steps."),
                                   QStringLiteral("N"), s.value(keys::Steps).toString());
    const QCommandLineOption cfg(QStringLiteral("cfg"), QStringLiteral("Guidance scale (1 = off)."),
                                 QStringLiteral("X"), s.value(keys::Guidance).toString());
    const QCommandLineOption sampler(
        QStringLiteral("sampler"),
        QStringLiteral("One of: %1.").arg(samplerNames().join(QStringLiteral(", "))), QStringLiteral("NAME"),
        s.value(keys::Sampler).toString());
    const QCommandLineOption seed(
        QStringLiteral("seed"),
        QStringLiteral("Seed, 0 to 9223372036854775807 (-1 = random). Image i uses seed+i."),
        QStringLiteral("N"),
        s.value(keys::SeedMode).toString() == QLatin1String("fixed") ? s.value(keys::Seed).toString()
                                                                     : QStringLiteral("-1"));
    const QCommandLineOption width(QStringLiteral("width"), QStringLiteral("Width, a multiple of 8."),
                                   QStringLiteral("W"), s.value(keys::Width).toString());
    const QCommandLineOption height(QStringLiteral("height"), QStringLiteral("Height, a multiple of 8."),
                                    QStringLiteral("H"), s.value(keys::Height).toString());
    const QCommandLineOption count(QStringLiteral("count"), QStringLiteral("Images to generate."),
                                   QStringLiteral("N"), s.value(keys::ImageCount).toString());
    const QCommandLineOption clipSkip(QStringLiteral("clip-skip"),
                                      QStringLiteral("Text encoder layer from the end (1 = last)."),
                                      QStringLiteral("N"), s.value(keys::ClipSkip).toString());
    const QCommandLineOption output(
        {QStringLiteral("o"), QStringLiteral("output")},
        QStringLiteral("A folder, or a .png file (never overwritten). Default: the "
                       "output folder from the settings."),
        QStringLiteral("FILE|DIR"), s.outputDirectory());
    const QCommandLineOption device(QStringLiteral("device"), QStringLiteral("auto, cpu, cuda or cuda:N."),
                                    QStringLiteral("DEV"), s.device());
    const QCommandLineOption precision(
        QStringLiteral("precision"),
        QStringLiteral("%1 (GPU).").arg(limits::precisionNames().join(QStringLiteral(", "))),
        QStringLiteral("P"), s.value(keys::Precision).toString());
    const QCommandLineOption budget(
        QStringLiteral("budget"),
        QStringLiteral("VRAM budget: auto, all or a size such as 12GiB, 12 GB, 12000MiB (a plain number is "
                       "GiB). Default: the setting gpu/vramBudget."),
        QStringLiteral("SIZE"), s.value(keys::VramBudget).toString());
    const QCommandLineOption distort(
        QStringLiteral("distort"),
        QStringLiteral("First rewrite the prompt through TwistedPair (then Ollama's refiner and the wrapper "
                       "template, as set in the settings): MODE,TONE,GAIN, e.g. invert_er,poetic,5. "
                       "Every stage goes into the sidecar."),
        QStringLiteral("MODE,TONE,GAIN"));
    const QCommandLineOption originalSize(
        QStringLiteral("original-size"),
        QStringLiteral(
            "SDXL micro-conditioning: the size the picture \"was\" before resizing (default: the image "
            "size; smaller values look lower-resolution)."),
        QStringLiteral("WxH"));
    const QCommandLineOption crop(
        QStringLiteral("crop"),
        QStringLiteral("SDXL micro-conditioning: the crop's top-left corner (default 0,0; "
                       "other values tend to cut the subject off)."),
        QStringLiteral("LEFT,TOP"));
    const QCommandLineOption targetSize(
        QStringLiteral("target-size"),
        QStringLiteral("SDXL micro-conditioning: the target size (default: the "
                       "image size)."),
        QStringLiteral("WxH"));
    const QCommandLineOption trueCfg(
        QStringLiteral("true-cfg"),
        QStringLiteral("Flux: with a negative prompt, a second pass combined as classifier-free guidance at "
                       "this scale (diffusers' true_cfg_scale; --cfg stays the embedded guidance). Twice the "
                       "time. Default 1: off."),
        QStringLiteral("SCALE"), QStringLiteral("1"));
    const QCommandLineOption textEncoder(
        QStringLiteral("text-encoder"),
        QStringLiteral(
            "A text encoder file for a single-file SD 3.x or Flux model that lacks it (ComfyUI's "
            "clip_l, clip_g, t5xxl_fp16 or t5xxl_fp8_e4m3fn .safetensors); repeat for each. Default: "
            "found next to the model file or in ../text_encoders, ../clip, ../text_encoder."),
        QStringLiteral("FILE"));
    const QCommandLineOption vae(
        QStringLiteral("vae"),
        QStringLiteral("A VAE file for a single-file SD 3.x or Flux model that lacks it "
                       "(Flux: ae.safetensors). Default: found next to the model file "
                       "or in ../vae."),
        QStringLiteral("FILE"));
    const QCommandLineOption withoutT5(
        QStringLiteral("without-t5"),
        QStringLiteral(
            "SD 3.x: run without the T5 text encoder (zeros in its place, as diffusers allows): it is "
            "not loaded, saving ~9.5 GB, for somewhat less faithful prompts. Flux needs T5."));
    const QCommandLineOption vaeTiling(
        QStringLiteral("vae-tiling"),
        QStringLiteral("Decode the VAE in overlapping tiles (as diffusers' enable_tiling()): less memory "
                       "for large images, small differences at the tile seams."));
    const QCommandLineOption vaeTileSize(
        QStringLiteral("vae-tile-size"),
        QStringLiteral("With --vae-tiling: the tile's edge in pixels, a multiple of 32 (default: the "
                       "VAE's sample_size, e.g. 1024 for SDXL, or 512)."),
        QStringLiteral("PX"));
    const QCommandLineOption cudaGraphs(
        QStringLiteral("cuda-graphs"),
        QStringLiteral("on or off: replay each denoising step as a captured CUDA graph (the same images, "
                       "faster). Default: the setting gpu/cudaGraphs."),
        QStringLiteral("on|off"),
        s.value(keys::CudaGraphs).toBool() ? QStringLiteral("on") : QStringLiteral("off"));
    const QCommandLineOption quiet({QStringLiteral("q"), QStringLiteral("quiet")},
                                   QStringLiteral("No progress bar; print only the written paths."));
    for (const auto& o : {model,   prompt,       negative,    steps,      cfg,         sampler,   seed,
                          width,   height,       count,       clipSkip,   output,      device,    precision,
                          distort, originalSize, crop,        targetSize, textEncoder, vae,       withoutT5,
                          trueCfg, vaeTiling,    vaeTileSize, quiet,      budget,      cudaGraphs})
        parser.addOption(o);
    int code = Ok;
    if (!parseCommandLine(
            ctx, parser, args,
            QStringLiteral("Generate images from a prompt. Defaults come from the settings; the GPU "
                           "memory policy (cleanup/unload after generation) is applied as in the app."),
            &code))
        return code;
    if (!parser.isSet(prompt) || parser.value(prompt).trimmed().isEmpty()) {
        ctx.err << "generate needs a prompt: --prompt \"a red circle on a blue background\"\n";
        return Usage;
    }

    engine::GenerationRequest r;
    r.preview = false; // a terminal shows a progress bar, never the picture: the loop need not wait for it
    r.model = parser.value(model);
    r.prompt = parser.value(prompt);
    r.negativePrompt = parser.value(negative);
    r.sampler = parser.value(sampler);
    r.device = parser.value(device);
    r.precision = parser.value(precision);
    if (const Result<gpu::BudgetSetting> b =
            gpu::parseBudget(parser.value(budget), QStringLiteral("--budget"));
        !b) {
        ctx.err << b.error() << "\n";
        return Usage;
    }
    r.vramBudget = parser.value(budget).trimmed();
    const QString graphs = parser.value(cudaGraphs).trimmed().toLower();
    if (graphs != QLatin1String("on") && graphs != QLatin1String("off")) {
        ctx.err << "--cuda-graphs: '" << parser.value(cudaGraphs).left(40) << "' is neither on nor off\n";
        return Usage;
    }
    r.withoutT5 = parser.isSet(withoutT5);
    r.vaeTiling = parser.isSet(vaeTiling) || parser.isSet(vaeTileSize);
    if (parser.isSet(vaeTileSize)) {
        bool ok = false;
        r.vaeTileSize = parser.value(vaeTileSize).toInt(&ok);
        if (!ok || r.vaeTileSize < 32 || r.vaeTileSize % 32 != 0) {
            ctx.err << "--vae-tile-size: '" << parser.value(vaeTileSize).left(40)
                    << "' is not a multiple of 32 pixels\n";
            return Usage;
        }
    }
    for (const QString& file : parser.values(textEncoder))
        r.textEncoderFiles << QFileInfo(paths::expandHome(file)).absoluteFilePath();
    if (parser.isSet(vae))
        r.vaeFile = QFileInfo(paths::expandHome(parser.value(vae))).absoluteFilePath();
    for (const QString& file : r.textEncoderFiles + QStringList{r.vaeFile})
        if (!file.isEmpty() && !QFileInfo(file).isFile()) {
            ctx.err << "--" << (file == r.vaeFile ? "vae" : "text-encoder") << ": " << file
                    << " does not exist.\n";
            return Usage;
        }
    struct IntOpt {
        const QCommandLineOption* option;
        const QString key;
        qint64* target;
    };
    qint64 v[7] = {};
    const IntOpt ints[] = {{&steps, keys::Steps, &v[0]},
                           {&width, keys::Width, &v[1]},
                           {&height, keys::Height, &v[2]},
                           {&count, keys::ImageCount, &v[3]},
                           {&clipSkip, keys::ClipSkip, &v[4]}};
    for (const IntOpt& o : ints) {
        const Result<QVariant> parsed = s.parse(o.key, parser.value(*o.option));
        if (!parsed) {
            ctx.err << "--" << o.option->names().constLast() << ": " << parsed.error() << "\n";
            return Usage;
        }
        *o.target = parsed->toLongLong();
    }
    r.steps = int(v[0]);
    r.width = int(v[1]);
    r.height = int(v[2]);
    r.count = int(v[3]);
    r.clipSkip = int(v[4]);
    const Result<QVariant> guidance = s.parse(keys::Guidance, parser.value(cfg));
    if (!guidance) {
        ctx.err << "--cfg: " << guidance.error() << "\n";
        return Usage;
    }
    r.guidance = guidance->toDouble();
    bool trueCfgOk = false;
    r.trueCfgScale = parser.value(trueCfg).toDouble(&trueCfgOk);
    if (!trueCfgOk || r.trueCfgScale < 1.0 || r.trueCfgScale > 30.0) {
        ctx.err << "--true-cfg: '" << parser.value(trueCfg).left(40) << "' is not a number from 1 to 30\n";
        return Usage;
    }
    bool seedOk = false;
    r.seed = parser.value(seed).toLongLong(&seedOk);
    if (!seedOk) {
        ctx.err << "--seed: '" << parser.value(seed).left(40) << "' is not -1 or a number from 0 to "
                << limits::MaxSeed << "\n";
        return Usage;
    }
    if (const Status st = engine::checkRequest(r); !st) {
        ctx.err << "--" << st.error() << "\n";
        return Usage;
    }

    const auto pair = [&](const QCommandLineOption& o, QChar sep, int* a, int* b) {
        if (!parser.isSet(o))
            return true;
        const QStringList parts = parser.value(o).split(sep);
        bool ok1 = false, ok2 = false;
        if (parts.size() == 2) {
            *a = parts[0].trimmed().toInt(&ok1);
            *b = parts[1].trimmed().toInt(&ok2);
        }
        if (ok1 && ok2 && *a >= 0 && *b >= 0 && *a <= 16384 && *b <= 16384)
            return true;
        ctx.err << "--" << o.names().constFirst() << ": '" << parser.value(o) << "' is not "
                << (sep == QLatin1Char(',') ? "LEFT,TOP" : "WxH") << "\n";
        return false;
    };
    io::SizeConditioning& sc = r.sizeConditioning;
    if (!pair(originalSize, QLatin1Char('x'), &sc.originalWidth, &sc.originalHeight) ||
        !pair(crop, QLatin1Char(','), &sc.cropLeft, &sc.cropTop) ||
        !pair(targetSize, QLatin1Char('x'), &sc.targetWidth, &sc.targetHeight))
        return Usage;

    const io::ModelCatalogue catalogue =
        io::ModelCatalogue::scan(s.modelSearchPaths(), paths::bundledModelDirs());
    io::SingleFileOptions files;
    files.textEncoderFiles = r.textEncoderFiles;
    files.vaeFile = r.vaeFile;
    const Result<io::ModelInfo> info =
        r.model.isEmpty() ? (catalogue.defaultModel() ? Result<io::ModelInfo>::ok(*catalogue.defaultModel())
                                                      : Result<io::ModelInfo>::fail(QString()))
                          : catalogue.resolve(r.model, files);
    // SDXL, SD 3 and Flux models generate with their own defaults (steps, guidance, sampler, size)
    // unless the command line says otherwise; SD 1.x/2.x models with the settings' defaults.
    if (info && info->familyId != io::ModelFamily::SD1 && info->familyId != io::ModelFamily::SD2 &&
        info->familyId != io::ModelFamily::Unknown) {
        const io::GenerationDefaults& d = info->defaults;
        if (!parser.isSet(steps))
            r.steps = d.steps;
        if (!parser.isSet(cfg))
            r.guidance = d.guidance;
        if (!parser.isSet(sampler))
            r.sampler = d.sampler;
        if (!parser.isSet(width) && !parser.isSet(height)) {
            r.width = d.width;
            r.height = d.height;
        }
    }
    // Model name, size-follows-model and every limit: the coordinator's one place, as in the app.
    Result<generation::PreparedRequest> prepared =
        generation::prepareRequest(r, catalogue, parser.isSet(width) || parser.isSet(height));
    if (!prepared) {
        ctx.err << prepared.error() << "\n";
        if (info && !info->missingParts.isEmpty())
            ctx.err
                << "Or name the files: --text-encoder FILE (once for each text encoder) and --vae FILE.\n";
        return Failure;
    }
    const io::ModelInfo modelInfo = prepared->model;
    if (!prepared->note.isEmpty() && !parser.isSet(quiet))
        ctx.err << prepared->note << "\n";
    r = prepared->request;

    generation::GenerationCoordinator::Job job;
    job.pipeline.distortEnabled = false;
    if (parser.isSet(distort)) {
        const Result<services::PromptPipelineConfig> config = services::PromptPipelineConfig::withDistortSpec(
            services::PromptPipelineConfig::fromSettings(s), parser.value(distort));
        if (!config) {
            ctx.err << "--distort: " << config.error() << "\n";
            return Usage;
        }
        job.pipeline = *config;
    }
    job.makeRoom = s.value(keys::MakeRoomBeforeGenerating).toBool();
    job.makeRoomMarginBytes = s.value(keys::MakeRoomMarginMiB).toLongLong() << 20;

    // A .png target: generate into a private folder, then move the file there (no clobbering).
    const QString target = paths::expandHome(parser.value(output));
    const bool toFile = target.endsWith(QLatin1String(".png"), Qt::CaseInsensitive);
    const QString targetJson = toFile ? QFileInfo(target).path() + QLatin1Char('/') +
                                            QFileInfo(target).completeBaseName() + QStringLiteral(".json")
                                      : QString();
    // Everything that can be known before minutes of work is checked first.
    if (!toFile && QFileInfo::exists(target) && !QFileInfo(target).isDir()) {
        ctx.err << target << " is a file, not a folder; --output takes a folder or a new .png file name.\n";
        return Failure;
    }
    if (toFile && QFileInfo::exists(targetJson)) {
        ctx.err << targetJson << " exists already: it would be the new image's sidecar, and TwistedPic never "
                << "overwrites a file. Choose another --output name.\n";
        return Failure;
    }
    QTemporaryDir staging(toFile ? QFileInfo(target).absolutePath() + QStringLiteral("/.twistedpic-XXXXXX")
                                 : QDir::tempPath() + QStringLiteral("/unused-XXXXXX"));
    if (toFile) {
        if (r.count != 1) {
            ctx.err << "--output names one file, but --count is " << r.count << ": give a folder instead.\n";
            return Usage;
        }
        if (QFileInfo::exists(target)) {
            ctx.err << target << " exists already; TwistedPic never overwrites an image.\n";
            return Failure;
        }
        if (!staging.isValid()) {
            ctx.err << "Cannot write into " << QFileInfo(target).absolutePath() << ": "
                    << staging.errorString() << "\n";
            return Failure;
        }
        r.outputDir = staging.path();
    } else {
        r.outputDir = target;
    }

    r.model = modelInfo.folder;
    job.request = r;
    engine::Engine engine;
    services::OllamaClient ollama;
    services::TwistedPairClient twistedPair;
    services::applySettings(s, ollama);
    services::applySettings(s, twistedPair);
    // Make room decides from a reading taken then, of the device the request runs on.
    std::unique_ptr<gpu::SystemVramSource> vram;
    generation::GenerationCoordinator coordinator(engine, &twistedPair, &ollama,
                                                  [&vram](int cudaDevice) -> qint64 {
                                                      if (!vram)
                                                          vram = std::make_unique<gpu::SystemVramSource>();
                                                      const gpu::VramSample sample = vram->sample();
                                                      for (const gpu::DeviceSample& d : sample.devices)
                                                          if (sample.gpuAvailable && d.index == cudaDevice)
                                                              return d.freeBytes;
                                                      return -1;
                                                  });
    engine::GpuPolicy policy = engine::gpuPolicyFrom(s);
    policy.idleUnloadMinutes = 0; // the process ends after the run
    policy.cudaGraphs = graphs == QLatin1String("on");
    engine.setPolicy(policy);
    engine.setModelSources(s.modelSearchPaths(), paths::bundledModelDirs());

    const bool tty = isatty(STDERR_FILENO) && !parser.isSet(quiet);
    int exitCode = Failure;
    bool submittedToEngine = false;
    QEventLoop loop;
    QObject::connect(&engine, &engine::Engine::stateChanged, &loop,
                     [&](engine::State st, const QString& detail) {
                         if (tty && st != engine::State::Generating && st != engine::State::Idle) {
                             ctx.err << "\r\033[K" << engine::stateName(st)
                                     << (detail.isEmpty() ? QString() : QStringLiteral(" ") + detail) << "…";
                             ctx.err.flush();
                         }
                     });
    QObject::connect(&engine, &engine::Engine::progress, &loop, [&](const engine::Progress& p) {
        if (!tty)
            return;
        ctx.err << "\r\033[K[" << bar(p.step, p.total) << "] " << p.step << "/" << p.total << "  "
                << QString::number(p.itPerSec, 'f', 2) << " it/s  " << QString::number(p.secondsLeft, 'f', 0)
                << " s left";
        ctx.err.flush();
    });
    QObject::connect(&engine, &engine::Engine::finished, &loop, [&](const engine::GenerationResult& res) {
        if (tty)
            ctx.err << "\r\033[K";
        QStringList written = res.files;
        if (toFile && !written.isEmpty()) {
            // The sidecar first, then the image; if the image cannot follow, the sidecar goes
            // back, so that the pair is either in place or together in the staging folder.
            const QString stagedPng = written.first();
            const QString stagedJson = stagedPng.chopped(4) + QStringLiteral(".json");
            bool moved = moveNoClobber(stagedJson, targetJson);
            if (moved && !moveNoClobber(stagedPng, target)) {
                moved = false;
                moveNoClobber(targetJson, stagedJson);
            }
            if (!moved) {
                ctx.err << "Could not move the image to " << target << " and its sidecar to " << targetJson
                        << " (does one of them exist now?). Both are kept in " << QFileInfo(stagedPng).path()
                        << ":\n";
                ctx.out << stagedPng << "\n";
                staging.setAutoRemove(false);
                exitCode = Failure;
                loop.quit();
                return;
            }
            written = {target};
        }
        for (const QString& f : written)
            ctx.out << f << "\n";
        for (const QString& note : res.notes)
            ctx.err << note << "\n";
        ctx.out.flush();
        if (!res.writeError.isEmpty()) {
            // Every written path is listed above; the failed one is named here, with the cause.
            ctx.err
                << res.writeError << "\n"
                << QStringLiteral("%1 of %2 image(s) written.\n").arg(written.size()).arg(res.images.size());
            exitCode = Failure;
            loop.quit();
            return;
        }
        ctx.err << QStringLiteral("%1 image(s), seed %2, %3 steps %4, %5 s (%6 it/s) on %7\n")
                       .arg(res.images.size())
                       .arg(res.seeds.value(0))
                       .arg(res.request.steps)
                       .arg(res.request.sampler)
                       .arg(res.timings.totalMs / 1000, 0, 'f', 1)
                       .arg(res.timings.itPerSec, 0, 'f', 2)
                       .arg(res.device);
        exitCode = Ok;
        loop.quit();
    });
    const auto onFailed = [&](quint64 id, const QString& message) {
        if (tty)
            ctx.err << "\r\033[K";
        if (id == 0) { // not the generation itself (e.g. the after-generation cleanup): go on
            ctx.err << "warning: " << message << "\n";
            return;
        }
        ctx.err << message << "\n";
        if (parser.isSet(distort) && coordinator.stage() == generation::Stage::Idle && !submittedToEngine)
            ctx.err << "To generate from the prompt as typed, leave out --distort.\n";
        exitCode = Failure;
        loop.quit();
    };
    QObject::connect(&engine, &engine::Engine::failed, &loop, onFailed);
    QObject::connect(&coordinator, &generation::GenerationCoordinator::failed, &loop, onFailed);
    QObject::connect(&coordinator, &generation::GenerationCoordinator::notice, &loop,
                     [&](const QString& text) { ctx.err << "note: " << text << "\n"; });
    QObject::connect(&coordinator, &generation::GenerationCoordinator::submitted, &loop,
                     [&](const engine::GenerationRequest& req) {
                         submittedToEngine = true;
                         if (parser.isSet(distort) && !parser.isSet(quiet))
                             ctx.err << "prompt: " << req.prompt << "\n";
                     });
    QObject::connect(&coordinator, &generation::GenerationCoordinator::stageChanged, &loop,
                     [&](generation::Stage st, const QString& detail) {
                         if (tty && st != generation::Stage::Idle && st != generation::Stage::Generating) {
                             ctx.err << "\r\033[K" << generation::stageName(st)
                                     << (detail.isEmpty() ? QString() : QStringLiteral(" ") + detail) << "…";
                             ctx.err.flush();
                         }
                     });
    const auto onCancelled = [&](quint64) {
        if (tty)
            ctx.err << "\r\033[K";
        ctx.err << "Cancelled.\n";
        exitCode = 130;
        loop.quit();
    };
    QObject::connect(&engine, &engine::Engine::cancelled, &loop, onCancelled);
    QObject::connect(&coordinator, &generation::GenerationCoordinator::cancelled, &loop, onCancelled);

    // Ctrl+C cancels between two denoising steps instead of killing the process mid-write; the
    // step under way runs to its end (on a slow CPU that is many seconds, so say so). A second
    // Ctrl+C ends the process at once.
    g_interrupted = 0;
    std::signal(SIGINT, onSigint);
    engine::State engineState = engine::State::Idle;
    double secondsPerStep = 0;
    QObject::connect(&engine, &engine::Engine::stateChanged, &loop,
                     [&](engine::State st, const QString&) { engineState = st; });
    QObject::connect(&engine, &engine::Engine::progress, &loop, [&](const engine::Progress& p) {
        secondsPerStep = p.itPerSec > 0 ? 1.0 / p.itPerSec : 0;
    });
    QTimer poll;
    QObject::connect(&poll, &QTimer::timeout, &loop, [&] {
        if (g_interrupted == 1) {
            g_interrupted = 2;
            std::signal(SIGINT, SIG_DFL); // the next Ctrl+C is the default: the process ends
            const generation::Stage stage = coordinator.stage();
            if (tty)
                ctx.err << "\r\033[K";
            ctx.err << "Cancelling: "
                    << (stage == generation::Stage::Generating || stage == generation::Stage::Idle
                            ? cancelWaitText(engineState, secondsPerStep)
                            : QStringLiteral("stopping %1.").arg(generation::stageName(stage)))
                    << " Press Ctrl+C again to quit at once.\n";
            ctx.err.flush();
            coordinator.cancel();
            engine.cancel(0);
        }
    });
    poll.start(100);

    coordinator.start(job);
    loop.exec();
    std::signal(SIGINT, SIG_DFL);
    return exitCode;
}

} // namespace

TP_CLI_COMMAND("generate", "Generate images from a prompt (the app's main job, headless)", runGenerate);

} // namespace tp::cli
