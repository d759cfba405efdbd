#include "core/pipeline/TextToImage.h"

#include "core/common/Log.h"
#include "core/gpu/GpuMemory.h"
#include "core/nn/BlockSequence.h"
#include "core/pipeline/DenoiserGraph.h"
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

// Every step's model timestep on the device, made once: a host tensor copied to the GPU each step
// waits for the GPU (and could not be captured in a graph). Step i's is row i, a 0-d view with the
// value and dtype of scheduler.timestepTensor(i).
at::Tensor deviceTimesteps(const sched::Scheduler& scheduler, const at::Device& device) {
    std::vector<at::Tensor> rows;
    rows.reserve(static_cast<size_t>(scheduler.size()));
    for (int i = 0; i < scheduler.size(); ++i)
        rows.push_back(scheduler.timestepTensor(i));
    return at::stack(rows).to(device);
}

// Sends the run-then-release components back to host memory however the generation ends.
class IdleOnExit final {
public:
    explicit IdleOnExit(DiffusionModel& model)
        : m_model(model) {}
    IdleOnExit(const IdleOnExit&) = delete;
    IdleOnExit& operator=(const IdleOnExit&) = delete;
    ~IdleOnExit() {
        try {
            m_model.beforeStage(Stage::Idle);
        } catch (const std::exception& e) {
            spdlog::warn("pipeline: could not release components after the generation: {}", e.what());
        }
    }

private:
    DiffusionModel& m_model;
};

} // namespace

Result<TextToImageOutput> textToImage(DiffusionModel& model, const TextToImageParams& p,
                                      const std::function<bool(const StepInfo&)>& onStep) {
    using R = Result<TextToImageOutput>;
    Result<LatentShape> latentShape = model.latentShape(p.width, p.height);
    if (!latentShape)
        return R::fail(latentShape.error());
    if (p.steps < 1 || p.steps > 1000)
        return R::fail(QStringLiteral("Steps must be between 1 and 1000, not %1.").arg(p.steps));
    if (p.count < 1 || p.count > 64)
        return R::fail(QStringLiteral("The image count must be between 1 and 64, not %1.").arg(p.count));
    // One scheduler per image: multistep samplers keep per-image history, and ancestral ones
    // draw each image's noise from that image's own generator, so an image of a batch is
    // exactly the image its seed gives alone.
    std::vector<std::unique_ptr<sched::Scheduler>> schedulers;
    const QJsonObject& schedulerConfig = p.schedulerConfig ? *p.schedulerConfig : model.schedulerConfig();
    for (int i = 0; i < p.count; ++i) {
        Result<std::unique_ptr<sched::Scheduler>> made =
            model.makeScheduler(p.sampler, schedulerConfig, p.steps, p.width, p.height);
        if (!made)
            return R::fail(made.error());
        schedulers.push_back(std::move(*made));
    }
    sched::Scheduler& first = *schedulers.front();

    c10::InferenceMode inference;
    const at::Device device = model.device().device;
    TextToImageOutput out;
    QElapsedTimer total;
    total.start();

    // 1. Text. With guidance the batch is [uncond; cond] so that one denoiser call serves both.
    // Each stage first brings in the components it needs (the model's placements).
    const IdleOnExit idleOnExit(model);
    QElapsedTimer t;
    t.start();
    // Each stage's peak allocation (CUDA), counted once its components are in: the planner learns
    // working memory from it (gpu::PlanMemory::recordPhasePeak).
    const auto enter = [&](Stage stage) {
        model.beforeStage(stage);
        if (device.is_cuda())
            gpu::resetPeak(device.index());
    };
    const auto stagePeak = [&]() -> qint64 {
        return device.is_cuda() ? gpu::snapshot(device.index()).peakAllocatedBytes : -1;
    };
    enter(Stage::Encode);
    const double cfg = model.cfgScale(p);
    const bool guided = cfg > 1.0;
    Result<EncodedPrompts> encoded = model.encodePrompts(p, guided);
    if (!encoded)
        return R::fail(encoded.error());
    out.promptTokens = encoded->promptTokens;
    out.maxTokens = encoded->maxTokens;
    out.promptChunks = encoded->promptChunks;
    out.notes = encoded->notes;
    Conditioning cond = encoded->cond.repeated(p.count);
    if (guided)
        cond = Conditioning::concat(encoded->uncond.repeated(p.count), cond);
    sync(device);
    out.encodeMs = msSince(t);
    out.stagePeakBytes[0] = stagePeak();

    // 2. Noise: one CPU generator per image, seeded like torch.Generator().manual_seed() and
    // drawn in the embeddings' dtype, as diffusers' randn_tensor does.
    const std::vector<int64_t> shape = {1, latentShape->channels, latentShape->height, latentShape->width};
    std::vector<at::Generator> generators;
    std::vector<at::Tensor> noise;
    for (int i = 0; i < p.count; ++i) {
        out.seeds.push_back(p.seed + static_cast<uint64_t>(i));
        generators.push_back(sched::makeCpuGenerator(out.seeds.back()));
        noise.push_back(sched::randnCpu(shape, generators.back(), model.noiseDtype()));
    }
    at::Tensor latents = (at::cat(noise).to(device) * first.initNoiseSigma());

    // 3. Denoise. Nothing in the loop waits for the GPU (but the first step, for its timing, and
    // what onStep does): timesteps are on the device, noise goes up asynchronously, and on CUDA each
    // step replays the denoiser's captured graph (DenoiserGraph.h) where it can.
    t.restart();
    enter(Stage::Denoise);
    const int totalSteps = first.size();
    const at::Tensor timesteps = deviceTimesteps(first, device);
    DenoiserGraphs& graphs = model.denoiserGraphs();
    const DenoiserGraphStats graphsBefore = graphs.stats();
    {
        torch::nn::Module* denoiser = model.denoiserModule();
        const nn::BlockSequence* blocks = model.denoiserBlocks();
        const bool hooked = model.streamer() != nullptr || (blocks && blocks->blockHooks());
        const std::optional<double> embedded =
            model.denoiserEmbedsGuidance() ? std::optional<double>(p.guidance) : std::nullopt;
        // (Every family has its denoiser; all the weights would be a correct, stricter fingerprint.)
        graphs.begin(denoiser ? *denoiser : model.root(), device, hooked, embedded, p.cudaGraphs);
    }
    const DenoiserGraphs::Denoise denoise = [&](const at::Tensor& x, const at::Tensor& timestep,
                                                const Conditioning& c) {
        return model.denoise(x, timestep, c, p.guidance);
    };
    for (int i = 0; i < totalSteps; ++i) {
        at::Tensor input = guided ? at::cat({latents, latents}) : latents;
        input = first.scaleModelInput(input, i);
        at::Tensor prediction = graphs.run(input, timesteps[i], cond, denoise);
        if (guided) {
            const std::vector<at::Tensor> halves = prediction.chunk(2);
            prediction = halves[0] + cfg * (halves[1] - halves[0]);
        }
        std::vector<at::Tensor> next;
        for (int j = 0; j < p.count; ++j)
            next.push_back(schedulers[j]->step(prediction.slice(0, j, j + 1), i, latents.slice(0, j, j + 1),
                                               &generators[j]));
        latents = p.count == 1 ? next.front() : at::cat(next);
        if (i == 0) {
            sync(device);
            out.firstStepMs = msSince(total);
        }
        if (onStep && !onStep(StepInfo{i + 1, totalSteps, latents})) {
            out.cancelled = true;
            out.eagerReason = graphs.eagerReason();
            return R::ok(std::move(out));
        }
    }
    out.eagerReason = graphs.eagerReason();
    sync(device);
    out.denoiseMs = msSince(t);
    out.stagePeakBytes[1] = stagePeak();
    // Replaying graphs captured by an earlier generation works in their pool, which the allocator
    // counts as reserved, not allocated: the stage's working memory is that pool (a capture in this
    // generation ran the step eagerly first, so its peak already shows it).
    if (out.stagePeakBytes[1] >= 0 && graphs.stats().replays > graphsBefore.replays &&
        graphs.stats().captures == graphsBefore.captures)
        out.stagePeakBytes[1] += graphs.poolBytes();
    out.latents = latents.to(at::kCPU, at::kFloat);

    // 4. Decode one image at a time (bounds the VAE's peak memory), [-1, 1] -> [0, 1].
    t.restart();
    enter(Stage::Decode);
    std::vector<at::Tensor> decoded;
    for (int64_t i = 0; i < latents.size(0); ++i)
        decoded.push_back(model.decode(latents.slice(0, i, i + 1)).to(at::kCPU, at::kFloat));
    at::Tensor images = at::cat(decoded);
    if (!at::isfinite(images).all().item<bool>())
        return R::fail(
            QStringLiteral(
                "The VAE produced invalid numbers (NaN) for this image in %1: its weights overflow in this "
                "precision. Use precision fp32 or bf16 (twistedpic-cli settings set gpu/precision bf16), or "
                "a VAE "
                "made for fp16 (such as madebyollin/sdxl-vae-fp16-fix).")
                .arg(dtypeName(model.device().dtype)));
    out.images = (images / 2 + 0.5).clamp(0, 1);
    out.decodeMs = msSince(t);
    out.stagePeakBytes[2] = stagePeak();
    return R::ok(std::move(out));
}

} // namespace tp::pipeline
