#include "tools/train/Trainer.h"

#include "core/io/SafeTensors.h"
#include "core/sched/NoiseSchedule.h"
#include "tools/shapes/ShapeScene.h"
#include "tools/train/DeviceSetup.h"
#include "tools/vocab/ShapesVocabulary.h"

#include <ATen/CPUGeneratorImpl.h>

#include <QDateTime>
#include <QFileInfo>
#include <QJsonDocument>
#include <QSaveFile>
#include <QTemporaryDir>

#include <algorithm>
#include <cstdio>

namespace tp::train {

namespace {

Status writeJson(const QString& path, const QJsonObject& object) {
    QDir().mkpath(QFileInfo(path).absolutePath());
    QSaveFile f(path);
    const QByteArray data = QJsonDocument(object).toJson(QJsonDocument::Indented);
    if (!f.open(QIODevice::WriteOnly) || f.write(data) != data.size() || !f.commit())
        return Status::fail(QStringLiteral("Could not write %1: %2").arg(path, f.errorString()));
    return Status::ok();
}

// Every parameter in float16, named as the module names it (= the checkpoint key).
Status writeWeights(const QString& path, const torch::nn::Module& module, qint64* bytes) {
    std::vector<std::pair<QString, at::Tensor>> tensors;
    for (const auto& item : module.named_parameters(true)) {
        const at::Tensor half = item.value().detach().to(at::kCPU, at::kHalf).contiguous();
        if (!at::isfinite(half).all().item<bool>())
            return Status::fail(QStringLiteral("%1 does not fit float16 (in %2); the training diverged.")
                                    .arg(QString::fromStdString(item.key()), path));
        tensors.emplace_back(QString::fromStdString(item.key()), half);
    }
    QDir().mkpath(QFileInfo(path).absolutePath());
    if (Status s = io::writeSafeTensors(path, tensors, {{QStringLiteral("format"), QStringLiteral("pt")}});
        !s)
        return s;
    if (bytes)
        *bytes += QFileInfo(path).size();
    return Status::ok();
}

} // namespace

quint64 streamSeed(quint64 seed, SeedStream stream) {
    return seed * 1000003ULL + quint64(stream);
}

Trainer::Trainer(TrainOptions options)
    : m_opt(std::move(options)) {}

QString Trainer::defaultWorkDir(const QString& outDir) {
    const QFileInfo info(outDir);
    return info.absoluteDir().filePath(info.fileName() + QStringLiteral("-training"));
}

double Trainer::elapsedSeconds() const {
    return (QDateTime::currentMSecsSinceEpoch() - m_startMs) / 1000.0;
}

Status Trainer::run() {
    if (m_opt.benchmark)
        return benchmark();
    if (!m_opt.untrained.isEmpty())
        return writeUntrained();
    m_startMs = QDateTime::currentMSecsSinceEpoch();
    std::printf("%s\n", qPrintable(describe(m_opt)));
    if (Status s = prepare(); !s)
        return s;
    if (Status s = buildModels(); !s)
        return s;
    for (auto step : {&Trainer::trainVae, &Trainer::measureLatents, &Trainer::trainDiffusion,
                      &Trainer::evaluate, &Trainer::exportModel}) {
        if (Status s = (this->*step)(); !s)
            return s;
        if (m_stopped) {
            std::printf("stopped after UNet step %d in %.1f s; continue with --resume\n", m_opt.stopAfter,
                        elapsedSeconds());
            return Status::ok();
        }
    }
    std::printf("done in %.1f s: %s\n", elapsedSeconds(), qPrintable(m_out.absolutePath()));
    return Status::ok();
}

Status Trainer::writeUntrained() {
    m_startMs = QDateTime::currentMSecsSinceEpoch();
    for (auto step : {&Trainer::prepare, &Trainer::buildModels})
        if (Status s = (this->*step)(); !s)
            return s;
    m_scaling = 0.18215; // SD 1.x's latent scale
    if (Status s = exportModel(); !s)
        return s;
    std::printf("untrained %s model (random weights) written in %.1f s: %s\n", qPrintable(m_opt.untrained),
                elapsedSeconds(), qPrintable(m_out.absolutePath()));
    return Status::ok();
}

Status Trainer::benchmark() {
    const TrainOptions full = m_opt;
    QTemporaryDir scratch;
    if (!scratch.isValid())
        return Status::fail(
            QStringLiteral("--benchmark needs a temporary folder: %1").arg(scratch.errorString()));
    const int steps = 20;
    m_opt.outDir = scratch.filePath(QStringLiteral("model"));
    m_opt.workDir = scratch.filePath(QStringLiteral("work"));
    m_opt.vaeSteps = steps;
    m_opt.unetSteps = steps;
    m_opt.logEvery = 10;
    m_opt.checkpointEvery = steps;
    m_opt.resume = false;
    m_opt.stopAfter = 0;
    m_startMs = QDateTime::currentMSecsSinceEpoch();
    std::printf("benchmark of: %s\n", qPrintable(describe(full)));
    for (auto step : {&Trainer::prepare, &Trainer::buildModels, &Trainer::trainVae, &Trainer::measureLatents,
                      &Trainer::trainDiffusion})
        if (Status s = (this->*step)(); !s)
            return s;
    const double vaeSeconds = full.vaeSteps * double(full.vaeBatch) / std::max(1e-9, m_vaeImagesPerSecond);
    const double unetSeconds = full.unetSteps * double(full.batch) / std::max(1e-9, m_unetImagesPerSecond);
    std::printf(
        "benchmark: vae %.0f img/s (batch %d) -> %d steps in %.0f s; unet %.0f img/s (batch %d) -> %d steps "
        "in %.0f s; projected training time %.1f min (plus start-up, latent statistics, evaluation and "
        "export: about %.0f s here)\n",
        m_vaeImagesPerSecond, full.vaeBatch, full.vaeSteps, vaeSeconds, m_unetImagesPerSecond, full.batch,
        full.unetSteps, unetSeconds, (vaeSeconds + unetSeconds) / 60.0, elapsedSeconds());
    return Status::ok();
}

Status Trainer::prepare() {
    auto device = setUpDevice(m_opt, &m_deviceDescription);
    if (!device)
        return Status::fail(device.error());
    m_device = *device;
    std::printf("device: %s\n", qPrintable(m_deviceDescription));

    m_out = QDir(m_opt.outDir);
    const QString work = m_opt.workDir.isEmpty() ? defaultWorkDir(m_opt.outDir) : m_opt.workDir;
    if (!QDir().mkpath(m_out.absolutePath()) || !QDir().mkpath(work))
        return Status::fail(QStringLiteral("Could not create %1 or %2.").arg(m_out.absolutePath(), work));
    m_work = QDir(work);
    std::printf("model folder: %s\nlogs and checkpoints: %s\n", qPrintable(m_out.absolutePath()),
                qPrintable(m_work.absolutePath()));

    // The vocabulary comes first: the text encoder's size depends on it, and the trainer
    // tokenises with the engine's tokenizer reading the very files that ship.
    const vocab::ClipVocabulary vocabulary = vocab::shapesVocabulary();
    if (Status s = vocab::checkWholeWords(vocabulary, shapes::allCaptions()); !s)
        return s;
    const QString tokenizerDir = m_out.filePath(QStringLiteral("tokenizer"));
    if (Status s = vocabulary.write(tokenizerDir); !s)
        return s;
    auto tokenizer = text::ClipTokenizer::load(tokenizerDir);
    if (!tokenizer)
        return Status::fail(tokenizer.error());
    m_tokenizer = *tokenizer;
    m_tokenIds = {std::max(vocabulary.size(), m_opt.arch.textVocabSize), vocabulary.bosId(),
                  vocabulary.eosId()};
    std::printf("vocabulary: %d tokens (%d merges)\n", vocabulary.size(), int(vocabulary.merges().size()));

    const QJsonObject sc = schedulerConfig();
    sched::BetaConfig betas;
    betas.numTrainTimesteps = sc.value(QStringLiteral("num_train_timesteps")).toInt();
    betas.betaStart = sc.value(QStringLiteral("beta_start")).toDouble();
    betas.betaEnd = sc.value(QStringLiteral("beta_end")).toDouble();
    betas.schedule = sched::BetaSchedule::ScaledLinear;
    const std::vector<float> ac = sched::alphasCumprod(sched::makeBetas(betas));
    m_alphasCumprod = at::tensor(ac, at::TensorOptions().dtype(at::kFloat)).to(m_device);
    return Status::ok();
}

Status Trainer::buildModels() {
    const Architecture& arch = m_opt.arch;
    auto vaeConfigParsed = nn::AutoencoderKLConfig::fromJson(vaeConfig(arch, 1.0));
    auto textConfig = nn::ClipTextConfig::fromJson(textEncoderConfig(arch, m_tokenIds));
    auto unetConfigParsed = nn::UNet2DConditionConfig::fromJson(unetConfig(arch));
    for (const QString& e : {vaeConfigParsed.error(), textConfig.error(), unetConfigParsed.error()})
        if (!e.isEmpty())
            return Status::fail(QStringLiteral("The model configuration is invalid: %1").arg(e));

    m_vae = nn::AutoencoderKL(*vaeConfigParsed);
    m_textEncoder = nn::ClipTextModel(*textConfig);
    m_unet = nn::UNet2DCondition(*unetConfigParsed);
    struct Init {
        torch::nn::Module* module;
        SeedStream stream;
        const char* name;
    };
    for (const Init& init : {Init{m_vae.get(), SeedStream::VaeInit, "vae"},
                             Init{m_textEncoder.get(), SeedStream::TextInit, "text encoder"},
                             Init{m_unet.get(), SeedStream::UNetInit, "unet"}}) {
        at::Generator gen = at::detail::createCPUGenerator(streamSeed(m_opt.seed, init.stream));
        initialiseForTraining(*init.module, gen, /*zeroResidualOutputs=*/true);
        init.module->to(m_device);
        std::printf("%-13s %9lld parameters\n", init.name,
                    static_cast<long long>(parameterCount(*init.module)));
    }
    return Status::ok();
}

at::Tensor Trainer::encodeScaled(const at::Tensor& images, at::Generator& gen) {
    at::NoGradGuard noGrad;
    AutocastScope autocast(m_opt.precision == QLatin1String("bf16") && m_device.is_cuda());
    return m_vae->encode(images).sample(gen).to(at::kFloat) * m_scaling;
}

at::Tensor Trainer::decodeScaled(const at::Tensor& latents) {
    at::NoGradGuard noGrad;
    return ((m_vae->decode(latents / m_scaling).to(at::kFloat) + 1.0) / 2.0).clamp(0.0, 1.0);
}

Status Trainer::exportModel() {
    qint64 bytes = 0;
    const QDir& d = m_out;
    if (Status s = writeJson(d.filePath(QStringLiteral("model_index.json")), modelIndex()); !s)
        return s;
    if (Status s =
            writeJson(d.filePath(QStringLiteral("scheduler/scheduler_config.json")), schedulerConfig());
        !s)
        return s;
    if (Status s = writeJson(d.filePath(QStringLiteral("text_encoder/config.json")),
                             textEncoderConfig(m_opt.arch, m_tokenIds));
        !s)
        return s;
    if (Status s = writeJson(d.filePath(QStringLiteral("unet/config.json")), unetConfig(m_opt.arch)); !s)
        return s;
    if (Status s = writeJson(d.filePath(QStringLiteral("vae/config.json")),
                             vaeConfig(m_opt.arch, m_scaling, m_rgbFactors, m_rgbBias));
        !s)
        return s;
    if (Status s = writeWeights(d.filePath(QStringLiteral("text_encoder/model.safetensors")), *m_textEncoder,
                                &bytes);
        !s)
        return s;
    if (Status s = writeWeights(d.filePath(QStringLiteral("unet/diffusion_pytorch_model.safetensors")),
                                *m_unet, &bytes);
        !s)
        return s;
    if (Status s = writeWeights(d.filePath(QStringLiteral("vae/diffusion_pytorch_model.safetensors")), *m_vae,
                                &bytes);
        !s)
        return s;
    std::printf("weights: %.2f MB in float16 (text encoder + UNet are the EMA weights)\n", bytes / 1e6);
    return Status::ok();
}

} // namespace tp::train
