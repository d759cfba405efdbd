#include "tools/train/TrainOptions.h"

#include <QCommandLineParser>

namespace tp::train {

TrainOptions TrainOptions::smokePreset() {
    TrainOptions o;
    o.smoke = true;
    o.device = QStringLiteral("cpu");
    o.vaeSteps = 30;
    o.vaeBatch = 4;
    o.vaeLr = 2e-3;
    o.unetSteps = 30;
    o.batch = 8;
    o.unetLr = 2e-3;
    o.warmupSteps = 5;
    o.logEvery = 5;
    o.checkpointEvery = 20;
    o.evalPrompts = 2;
    o.evalSteps = 4;
    o.emaDecay = 0.9;
    o.arch.imageSize = 64;
    o.arch.vaeChannels = {8, 16, 16, 16};
    o.arch.vaeNormGroups = 4;
    o.arch.unetChannels = {16, 32};
    o.arch.unetNormGroups = 8;
    o.arch.unetHeads = 2;
    o.arch.textHidden = 32;
    o.arch.textLayers = 2;
    o.arch.textHeads = 2;
    o.arch.textIntermediate = 64;
    return o;
}

Architecture Architecture::sd15() {
    Architecture a;
    a.imageSize = 512;
    a.vaeChannels = {128, 256, 512, 512};
    a.vaeLayersPerBlock = 2;
    a.vaeNormGroups = 32;
    a.unetChannels = {320, 640, 1280, 1280};
    a.unetLayersPerBlock = 2;
    a.unetNormGroups = 32;
    a.unetHeads = 8;
    a.textHidden = 768;
    a.textLayers = 12;
    a.textHeads = 12;
    a.textIntermediate = 3072;
    a.textVocabSize = 49408;
    return a;
}

namespace {

struct Spec {
    const char* name;
    const char* value; // nullptr: a flag
    const char* help;
};

const Spec kSpecs[] = {
    {"out", "dir", "Output model folder (diffusers layout); checkpoints and CSV logs go inside it."},
    {"work", "dir", "Checkpoints, loss CSVs and samples (default: <out>-training next to --out)."},
    {"device", "cpu|cuda|cuda:N", "Where to train (default cpu)."},
    {"seed", "n", "Seed of everything: data, initialisation, noise (default 20250101)."},
    {"threads", "n", "CPU threads for ATen (default: all cores)."},
    {"vae-steps", "n", "Autoencoder training steps."},
    {"vae-batch", "n", "Autoencoder batch size."},
    {"vae-lr", "x", "Autoencoder peak learning rate."},
    {"unet-steps", "n", "Text encoder + UNet training steps."},
    {"batch", "n", "Text encoder + UNet batch size."},
    {"lr", "x", "Text encoder + UNet peak learning rate."},
    {"warmup", "n", "Linear warm-up steps of both stages (then cosine decay)."},
    {"caption-dropout", "p", "Share of captions replaced by the empty prompt (for guidance)."},
    {"ema", "decay", "EMA decay of the text encoder + UNet weights that are written."},
    {"offset-noise", "x", "Per-channel offset noise scale."},
    {"min-snr", "gamma", "Min-SNR loss weighting (0: plain MSE)."},
    {"kl-weight", "x", "Autoencoder KL weight."},
    {"edge-weight", "x", "Autoencoder edge (image gradient) L1 weight."},
    {"log-every", "n", "Steps between progress lines and CSV rows."},
    {"checkpoint-every", "n", "Steps between checkpoints."},
    {"eval-prompts", "n", "Prompts generated and classified at the end (0: none)."},
    {"eval-steps", "n", "Sampling steps of that evaluation."},
    {"precision", "tf32|bf16|fp32", "Matmul/convolution precision on CUDA (bf16 needs libtorch >= 2.4)."},
    {"nondeterministic", nullptr, "Allow nondeterministic (faster) CUDA kernels."},
    {"resume", nullptr, "Continue from the checkpoints in the work folder."},
    {"stop-after", "n", "End this run at UNet step n (checkpointed; continue later with --resume)."},
    {"benchmark", nullptr, "Time 20 steps of each stage and project the full run's duration; keeps nothing."},
    {"smoke", nullptr, "CI preset: tiny networks, 64x64 images, a few steps on the CPU."},
    {"untrained", "sd15",
     "Write a model of this architecture with random weights, no training (benchmarks)."},
};

} // namespace

QString trainUsage() {
    QString text = QStringLiteral(
        "usage: twistedpic-train --out DIR [options]\n\n"
        "Trains the bundled shapes model (AutoencoderKL, then CLIP text encoder + "
        "UNet2DConditionModel) on procedurally drawn images and writes a diffusers folder.\n\n");
    for (const Spec& s : kSpecs) {
        QString left = QStringLiteral("  --") + QLatin1String(s.name);
        if (s.value)
            left += QLatin1Char(' ') + QLatin1String(s.value);
        text += left.leftJustified(34) + QLatin1String(s.help) + QLatin1Char('\n');
    }
    return text;
}

Result<TrainOptions> parseTrainOptions(const QStringList& arguments) {
    using R = Result<TrainOptions>;
    QCommandLineParser parser;
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    for (const Spec& s : kSpecs) {
        if (s.value)
            parser.addOption({QLatin1String(s.name), QLatin1String(s.help), QLatin1String(s.value)});
        else
            parser.addOption({QLatin1String(s.name), QLatin1String(s.help)});
    }
    if (!parser.parse(QStringList{QStringLiteral("twistedpic-train")} + arguments))
        return R::fail(parser.errorText() + QStringLiteral(" (see --help)"));
    if (!parser.positionalArguments().isEmpty())
        return R::fail(QStringLiteral("Unexpected argument \"%1\" (see --help).")
                           .arg(parser.positionalArguments().first()));

    TrainOptions o = parser.isSet(QStringLiteral("smoke")) ? TrainOptions::smokePreset() : TrainOptions();
    QString error;
    auto integer = [&](const char* name, int& target, int minimum) {
        const QString key = QLatin1String(name);
        if (!parser.isSet(key) || !error.isEmpty())
            return;
        bool ok = false;
        const int v = parser.value(key).toInt(&ok);
        if (!ok || v < minimum)
            error = QStringLiteral("--%1 wants an integer >= %2, not \"%3\".")
                        .arg(key)
                        .arg(minimum)
                        .arg(parser.value(key));
        else
            target = v;
    };
    auto number = [&](const char* name, double& target, double minimum, double maximum) {
        const QString key = QLatin1String(name);
        if (!parser.isSet(key) || !error.isEmpty())
            return;
        bool ok = false;
        const double v = parser.value(key).toDouble(&ok);
        if (!ok || v < minimum || v > maximum)
            error = QStringLiteral("--%1 wants a number in [%2, %3], not \"%4\".")
                        .arg(key)
                        .arg(minimum)
                        .arg(maximum)
                        .arg(parser.value(key));
        else
            target = v;
    };
    o.outDir = parser.value(QStringLiteral("out"));
    o.workDir = parser.value(QStringLiteral("work"));
    if (parser.isSet(QStringLiteral("device")))
        o.device = parser.value(QStringLiteral("device"));
    if (parser.isSet(QStringLiteral("seed"))) {
        bool ok = false;
        o.seed = parser.value(QStringLiteral("seed")).toULongLong(&ok);
        if (!ok)
            error = QStringLiteral("--seed wants a non-negative integer.");
    }
    integer("threads", o.threads, 0);
    integer("vae-steps", o.vaeSteps, 0);
    integer("vae-batch", o.vaeBatch, 1);
    number("vae-lr", o.vaeLr, 0.0, 1.0);
    integer("unet-steps", o.unetSteps, 0);
    integer("batch", o.batch, 1);
    number("lr", o.unetLr, 0.0, 1.0);
    integer("warmup", o.warmupSteps, 0);
    number("caption-dropout", o.captionDropout, 0.0, 1.0);
    number("ema", o.emaDecay, 0.0, 1.0);
    number("offset-noise", o.offsetNoise, 0.0, 1.0);
    number("min-snr", o.minSnrGamma, 0.0, 1e6);
    number("kl-weight", o.klWeight, 0.0, 1.0);
    number("edge-weight", o.edgeWeight, 0.0, 100.0);
    integer("log-every", o.logEvery, 1);
    integer("checkpoint-every", o.checkpointEvery, 1);
    integer("eval-prompts", o.evalPrompts, 0);
    integer("eval-steps", o.evalSteps, 1);
    integer("stop-after", o.stopAfter, 0);
    if (parser.isSet(QStringLiteral("precision")))
        o.precision = parser.value(QStringLiteral("precision"));
    o.deterministic = !parser.isSet(QStringLiteral("nondeterministic"));
    o.resume = parser.isSet(QStringLiteral("resume"));
    o.benchmark = parser.isSet(QStringLiteral("benchmark"));
    if (parser.isSet(QStringLiteral("untrained"))) {
        o.untrained = parser.value(QStringLiteral("untrained"));
        if (o.untrained != QLatin1String("sd15"))
            error = QStringLiteral("--untrained knows sd15, not \"%1\".").arg(o.untrained);
        else
            o.arch = Architecture::sd15();
    }
    if (!error.isEmpty())
        return R::fail(error);
    if (o.outDir.isEmpty())
        return R::fail(QStringLiteral("--out DIR is required: the folder the model is written to."));
    if (!QStringList{QStringLiteral("tf32"), QStringLiteral("bf16"), QStringLiteral("fp32")}.contains(
            o.precision))
        return R::fail(QStringLiteral("--precision is tf32, bf16 or fp32, not \"%1\".").arg(o.precision));
    if (o.device != QLatin1String("cpu") && !o.device.startsWith(QLatin1String("cuda")))
        return R::fail(QStringLiteral("--device is cpu, cuda or cuda:N, not \"%1\".").arg(o.device));
    return R::ok(o);
}

QString describe(const TrainOptions& o) {
    QString s =
        QStringLiteral("twistedpic-train --out %1 --device %2 --seed %3").arg(o.outDir, o.device).arg(o.seed);
    if (!o.workDir.isEmpty())
        s += QStringLiteral(" --work ") + o.workDir;
    if (o.smoke)
        s += QStringLiteral(" --smoke");
    s += QStringLiteral(
             " --vae-steps %1 --vae-batch %2 --vae-lr %3 --unet-steps %4 --batch %5 --lr %6 --warmup %7")
             .arg(o.vaeSteps)
             .arg(o.vaeBatch)
             .arg(o.vaeLr)
             .arg(o.unetSteps)
             .arg(o.batch)
             .arg(o.unetLr)
             .arg(o.warmupSteps);
    s += QStringLiteral(" --caption-dropout %1 --ema %2 --offset-noise %3 --min-snr %4 --kl-weight %5 "
                        "--edge-weight %6 --precision %7")
             .arg(o.captionDropout)
             .arg(o.emaDecay)
             .arg(o.offsetNoise)
             .arg(o.minSnrGamma)
             .arg(o.klWeight)
             .arg(o.edgeWeight)
             .arg(o.precision);
    if (!o.deterministic)
        s += QStringLiteral(" --nondeterministic");
    return s;
}

} // namespace tp::train
