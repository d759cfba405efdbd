#include "core/pipeline/StableDiffusion.h"

#include "core/common/Log.h"
#include "core/io/ModelFolder.h"
#include "core/io/SafeTensors.h"
#include "core/nn/ModuleUtils.h"
#include "core/nn/WeightLoader.h"
#include "core/pipeline/ClipConditioning.h"
#include "core/sched/Random.h"
#include "core/sched/Scheduler.h"

#include <c10/core/InferenceMode.h>

#include <QElapsedTimer>

namespace tp::pipeline {
namespace {

double msSince(const QElapsedTimer& t) {
    return static_cast<double>(t.nsecsElapsed()) / 1e6;
}

// Waits for queued device work so that timings mean something.
void sync(const at::Device& device) {
    if (device.is_cuda())
        at::zeros({1}, at::TensorOptions().device(device)).cpu();
}

template <typename Module>
Status loadComponent(Module& module, const io::ModelComponent& component, const DeviceChoice& device,
                     const QString& name, qint64* bytes) {
    Result<io::SafeTensorsArchive> weights = io::SafeTensorsArchive::open(component.weightsPath);
    if (!weights)
        return Status::fail(weights.error());
    nn::LoadReport report;
    if (Status s = nn::loadWeights(*module, *weights, QString(), device.device, device.dtype, &report); !s)
        return s;
    *bytes += report.bytes;
    spdlog::debug("{}: {} tensors, {:.1f} MiB in {:.0f} ms", name, report.tensors, report.bytes / 1048576.0,
                  report.milliseconds);
    return Status::ok();
}

} // namespace

Result<std::unique_ptr<StableDiffusionModel>>
StableDiffusionModel::load(const QString& folder, const DeviceChoice& device, LoadStats* stats) {
    using R = Result<std::unique_ptr<StableDiffusionModel>>;
    QElapsedTimer timer;
    timer.start();
    Result<io::ModelFolder> mf = io::ModelFolder::open(folder);
    if (!mf)
        return R::fail(mf.error());
    if (!mf->supported())
        return R::fail(QStringLiteral("%1: %2").arg(folder, mf->problem()));

    const io::ModelComponent* te = mf->component(QStringLiteral("text_encoder"));
    const io::ModelComponent* unet = mf->component(QStringLiteral("unet"));
    const io::ModelComponent* vae = mf->component(QStringLiteral("vae"));
    const io::ModelComponent* tok = mf->component(QStringLiteral("tokenizer"));
    const io::ModelComponent* sch = mf->component(QStringLiteral("scheduler"));
    if (!te || !unet || !vae || !tok || !sch)
        return R::fail(
            QStringLiteral("%1 lacks one of text_encoder, unet, vae, tokenizer, scheduler.").arg(folder));

    std::unique_ptr<StableDiffusionModel> m(new StableDiffusionModel);
    m->m_folder = folder;
    m->m_device = device;

    Result<text::ClipTokenizer> tokenizer = text::ClipTokenizer::load(tok->folder);
    if (!tokenizer)
        return R::fail(tokenizer.error());
    m->m_tokenizer = std::move(*tokenizer);

    Result<nn::ClipTextConfig> teConfig = nn::ClipTextConfig::fromJson(te->config);
    if (!teConfig)
        return R::fail(QStringLiteral("%1: %2").arg(te->configPath, teConfig.error()));
    Result<nn::UNet2DConditionConfig> unetConfig = nn::UNet2DConditionConfig::fromJson(unet->config);
    if (!unetConfig)
        return R::fail(QStringLiteral("%1: %2").arg(unet->configPath, unetConfig.error()));
    Result<nn::AutoencoderKLConfig> vaeConfig = nn::AutoencoderKLConfig::fromJson(vae->config);
    if (!vaeConfig)
        return R::fail(QStringLiteral("%1: %2").arg(vae->configPath, vaeConfig.error()));

    // Built on the CPU with default options; loadWeights() places and converts each tensor.
    m->m_root = std::make_shared<torch::nn::Module>("StableDiffusion");
    m->m_textEncoder = m->m_root->register_module("text_encoder", nn::ClipTextModel(*teConfig));
    m->m_unet = m->m_root->register_module("unet", nn::UNet2DCondition(*unetConfig));
    m->m_vae = m->m_root->register_module("vae", nn::AutoencoderKL(*vaeConfig));
    m->m_root->eval();

    qint64 bytes = 0;
    if (Status s = loadComponent(m->m_textEncoder, *te, device, QStringLiteral("text_encoder"), &bytes); !s)
        return R::fail(s.error());
    if (Status s = loadComponent(m->m_unet, *unet, device, QStringLiteral("unet"), &bytes); !s)
        return R::fail(s.error());
    if (Status s = loadComponent(m->m_vae, *vae, device, QStringLiteral("vae"), &bytes); !s)
        return R::fail(s.error());
    m->m_weightBytes = bytes;
    m->m_schedulerConfig = sch->config;
    m->m_preview.emplace(vae->config, static_cast<int>(vaeConfig->latentChannels));
    sync(device.device);
    if (stats) {
        stats->milliseconds = msSince(timer);
        stats->weightBytes = bytes;
    }
    spdlog::info("loaded {} on {} ({:.1f} MiB of weights) in {:.0f} ms", folder, device.description,
                 bytes / 1048576.0, msSince(timer));
    return R::ok(std::move(m));
}

namespace {

// The prompt's embeddings: 75-token chunks with A1111's emphasis (ClipConditioning.h); for an
// unweighted prompt of <= 75 tokens exactly diffusers' encode_prompt, with A1111's clip skip.
// The negative prompt, with guidance, is padded to the prompt's chunk count.
ClipPromptPair encodeText(const StableDiffusionModel& model, const TextToImageParams& p, bool guided) {
    ClipPromptOptions options;
    options.layer = ClipLayer::clipSkip(p.clipSkip);
    options.chunking.emphasis = p.emphasis;
    return encodeClipPrompts(
        model.textEncoder(), model.tokenizer(), p.prompt,
        guided ? std::optional<QString>(p.negativePrompt.value_or(QString())) : std::nullopt, options);
}

} // namespace

Result<TextToImageOutput> textToImage(StableDiffusionModel& model, const TextToImageParams& p,
                                      const std::function<bool(const StepInfo&)>& onStep) {
    using R = Result<TextToImageOutput>;
    const int64_t scale = model.vaeScale();
    if (p.width <= 0 || p.height <= 0 || p.width % scale != 0 || p.height % scale != 0)
        return R::fail(
            QStringLiteral("The size %1×%2 is not a multiple of %3.").arg(p.width).arg(p.height).arg(scale));
    if (p.steps < 1 || p.steps > 1000)
        return R::fail(QStringLiteral("Steps must be between 1 and 1000, not %1.").arg(p.steps));
    if (p.count < 1 || p.count > 64)
        return R::fail(QStringLiteral("The image count must be between 1 and 64, not %1.").arg(p.count));
    // One scheduler per image: multistep samplers keep per-image history, and ancestral ones
    // draw each image's noise from that image's own generator, so an image of a batch is
    // exactly the image its seed gives alone.
    std::vector<std::unique_ptr<sched::Scheduler>> schedulers;
    for (int i = 0; i < p.count; ++i) {
        Result<std::unique_ptr<sched::Scheduler>> made =
            sched::makeScheduler(p.sampler, p.schedulerConfig.value_or(model.schedulerConfig()));
        if (!made)
            return R::fail(made.error());
        if (Status st = (*made)->setTimesteps(p.steps); !st)
            return R::fail(st.error());
        schedulers.push_back(std::move(*made));
    }
    sched::Scheduler& first = *schedulers.front();

    c10::InferenceMode inference;
    const at::Device device = model.device().device;
    const at::ScalarType dtype = model.device().dtype;
    TextToImageOutput out;
    QElapsedTimer total;
    total.start();

    // 1. Text: [uncond, cond] so that one UNet call serves both halves of guidance.
    QElapsedTimer t;
    t.start();
    const bool guided = p.guidance > 1.0;
    const ClipPromptPair prompts = encodeText(model, p, guided);
    out.promptTokens = prompts.positive.promptTokens;
    out.promptChunks = prompts.positive.chunks;
    out.maxTokens = prompts.positive.chunks * prompts.positiveChunks.chunkLength;
    at::Tensor embeddings = prompts.positive.embeddings.repeat({p.count, 1, 1});
    if (guided)
        embeddings = at::cat({prompts.negative->embeddings.repeat({p.count, 1, 1}), embeddings});
    embeddings = embeddings.to(dtype);
    sync(device);
    out.encodeMs = msSince(t);

    // 2. Noise: one CPU generator per image, seeded like torch.Generator().manual_seed() and
    // drawn in the model's dtype, as diffusers' randn_tensor does.
    const int64_t channels = model.unet()->config().inChannels;
    const std::vector<int64_t> shape = {1, channels, p.height / scale, p.width / scale};
    std::vector<at::Generator> generators;
    std::vector<at::Tensor> noise;
    for (int i = 0; i < p.count; ++i) {
        out.seeds.push_back(p.seed + static_cast<uint64_t>(i));
        generators.push_back(sched::makeCpuGenerator(out.seeds.back()));
        noise.push_back(sched::randnCpu(shape, generators.back(), dtype));
    }
    at::Tensor latents = (at::cat(noise).to(device) * first.initNoiseSigma());

    // 3. Denoise.
    t.restart();
    const int totalSteps = first.size();
    for (int i = 0; i < totalSteps; ++i) {
        at::Tensor input = guided ? at::cat({latents, latents}) : latents;
        input = first.scaleModelInput(input, i);
        at::Tensor eps = model.unet()->forward(input, first.timestepTensor(i).to(device), embeddings);
        if (guided) {
            const std::vector<at::Tensor> halves = eps.chunk(2);
            eps = halves[0] + p.guidance * (halves[1] - halves[0]);
        }
        std::vector<at::Tensor> next;
        for (int j = 0; j < p.count; ++j)
            next.push_back(
                schedulers[j]->step(eps.slice(0, j, j + 1), i, latents.slice(0, j, j + 1), &generators[j]));
        latents = p.count == 1 ? next.front() : at::cat(next);
        if (i == 0) {
            sync(device);
            out.firstStepMs = msSince(total);
        }
        if (onStep && !onStep(StepInfo{i + 1, totalSteps, latents})) {
            out.cancelled = true;
            return R::ok(std::move(out));
        }
    }
    sync(device);
    out.denoiseMs = msSince(t);
    out.latents = latents.to(at::kCPU, at::kFloat);

    // 4. Decode: z / scaling (+ shift), then [-1, 1] -> [0, 1].
    t.restart();
    const nn::AutoencoderKLConfig& vc = model.vae()->config();
    at::Tensor z = latents / vc.scalingFactor;
    if (vc.shiftFactor)
        z = z + *vc.shiftFactor;
    std::vector<at::Tensor> decoded;
    for (int64_t i = 0; i < z.size(0); ++i) // one image at a time bounds the VAE's peak memory
        decoded.push_back(model.vae()->decode(z.slice(0, i, i + 1)).to(at::kCPU, at::kFloat));
    out.images = (at::cat(decoded) / 2 + 0.5).clamp(0, 1);
    out.decodeMs = msSince(t);
    return R::ok(std::move(out));
}

} // namespace tp::pipeline
