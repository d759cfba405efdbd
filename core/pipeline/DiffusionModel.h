#pragma once

// The family seam: one loaded text-to-image model, whatever its family. The sampling loop
// (TextToImage.h), the engine, the memory manager, the CLI and the GUI see only this interface;
// what differs between SD 1.x/2.x, SDXL, SD 3.x and Flux — text conditioning, denoiser, latent
// format and VAE scaling, scheduler options — lives behind it, one group of files per family
// (StableDiffusion.*, StableDiffusionXL.*, …) registered in Families.cpp. Core-internal: libtorch
// types.

#include "core/common/Result.h"
#include "core/gpu/GpuMemory.h"
#include "core/io/ModelFamily.h"
#include "core/nn/VaeTiling.h"
#include "core/pipeline/Device.h"
#include "core/pipeline/ImageConvert.h"
#include "core/sched/Scheduler.h"
#include "core/text/PromptWeights.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace tp::nn {
class AutoencoderKLImpl;
class BlockSequence;
} // namespace tp::nn
namespace tp::gpu {
class BlockStreamer;
struct BlockStreamerOptions;
} // namespace tp::gpu

namespace tp::pipeline {

class DenoiserGraphs;
class ModelSource;

// What the text encoders give the denoiser, batched along dim 0 like the latents it goes with.
// Each family fills the fields it uses and leaves the others undefined.
struct Conditioning {
    at::Tensor context; // [B, L, D] token embeddings (cross-attention / joint-attention context)
    at::Tensor pooled;  // [B, P] pooled text embedding (SDXL, SD 3, Flux)
    at::Tensor extra;   // [B, K] family-specific (SDXL: the six add_time_ids)

    // Every defined field repeated n times along dim 0.
    Conditioning repeated(int64_t n) const;
    // [first; second] along dim 0, field by field (classifier-free guidance: [uncond; cond]).
    static Conditioning concat(const Conditioning& first, const Conditioning& second);
    Conditioning to(at::ScalarType dtype) const;
};

using io::SizeConditioning;

struct TextToImageParams {
    QString prompt;
    std::optional<QString> negativePrompt; // nullopt: none given (SDXL then uses zeros, as diffusers)
    QString sampler = QStringLiteral("euler_a");
    int steps = 20;
    double guidance = 7.5; // families with classifier-free guidance: <= 1 means one batch
    int width = 512;
    int height = 512;
    uint64_t seed = 0;
    int count = 1;    // images; image i uses its own generator seeded seed + i
    int clipSkip = 1; // SD 1.x/2.x: 1 = last layer (A1111's convention; diffusers' clip_skip = this - 1)
    // A1111's emphasis syntax, (word:1.3) [word] BREAK, for the CLIP encoders; Off reads the prompt
    // as diffusers does.
    text::Emphasis emphasis = text::Emphasis::Original;
    SizeConditioning sizeConditioning;
    // T5's token count (SD 3, Flux); 0 = the family's default.
    int maxSequenceLength = 0;
    // SD 3: run without T5 (zeros in its place, as diffusers allows with text_encoder_3=None).
    bool withoutT5 = false;
    // Flux (guidance-distilled): above 1 with a negative prompt, a second pass on the negative prompt
    // combined as classifier-free guidance (diffusers' true_cfg_scale); `guidance` stays the
    // embedded guidance. Twice the denoising time.
    double trueCfgScale = 1.0;
    // Replaces the model's scheduler config for this run (as diffusers'
    // `XScheduler.from_config(other_config)` does); nullopt: the model's.
    std::optional<QJsonObject> schedulerConfig;
    // CUDA: replay the denoiser step as a captured CUDA graph where it can (DenoiserGraph.h; the
    // setting gpu/cudaGraphs). Same numbers either way; false runs every step eagerly.
    bool cudaGraphs = true;
};

// What the text encoders made of a request, ready for the loop.
struct EncodedPrompts {
    Conditioning cond;    // one row (the loop repeats it per image)
    Conditioning uncond;  // one row; defined when guided
    int promptTokens = 0; // the prompt's length in tokens (the longest encoder's count)
    int promptChunks = 1; // CLIP's 75-token chunks the prompt took
    int maxTokens = 75;   // what the encoders take without cutting
    QStringList notes;    // for the user: "the prompt was cut after 77 tokens for CLIP" …
};

// The latent each image starts from: noise of this shape per image, in the denoiser's layout.
struct LatentShape {
    int64_t channels = 4;
    int64_t height = 0;
    int64_t width = 0;
};

// A named component of a model (text encoders, denoiser, VAE), for the memory manager/planner.
struct ModelComponentRef {
    QString name; // "text_encoder", "unet", "transformer", "vae", …
    torch::nn::Module* module = nullptr;
    qint64 bytes = 0;
};

// Where a component's weights live during a generation (the placement planner's decision).
enum class ComponentPlacement {
    Resident,       // on the device all the time
    RunThenRelease, // on the device only for its stage (text encoders: Encode, the denoiser: Denoise,
                    // the VAE: Decode), in pinned host memory otherwise
    Cpu,            // on the CPU, and run there (T5 only): its output goes to the device
};
QString placementName(ComponentPlacement p); // "resident", "run then release", "CPU"

// The parts of a generation, in order; beforeStage() moves components in and out for each.
enum class Stage { Encode, Denoise, Decode, Idle };
QString stageName(Stage s);

class DiffusionModel {
public:
    virtual ~DiffusionModel();
    DiffusionModel(const DiffusionModel&) = delete;
    DiffusionModel& operator=(const DiffusionModel&) = delete;

    io::ModelFamily family() const { return m_family; }
    // The folder or file the model was loaded from.
    const QString& source() const { return m_source; }
    const DeviceChoice& device() const { return m_device; }
    // Every weight, as children of one module ("text_encoder", "unet", "vae", …), so that the
    // memory manager can move the whole model at once.
    torch::nn::Module& root() { return *m_root; }
    const std::vector<ModelComponentRef>& components() const { return m_components; }
    qint64 weightBytes() const { return m_weightBytes; }
    const QJsonObject& schedulerConfig() const { return m_schedulerConfig; }
    const LatentPreview& preview() const { return *m_preview; }

    // Drops a component the model can run without (SD 3's T5, io::FamilyTraits::optionalT5): its
    // module leaves root() and components(), and its weights are freed once nothing else holds
    // them (the engine's ModelResidency: forgetDropped()). The model then runs as one loaded
    // without it. Fails for a component the family needs, or one it does not have.
    Status dropComponent(const QString& name);
    bool hasComponent(const QString& name) const;

    // Tiled VAE decode (nn::VaeTiling, diffusers' enable_tiling()) for the decodes that follow;
    // nullopt: one pass over the whole image. Less memory for large images, small differences at
    // the seams. Every family's decode() honours it.
    void setVaeTiling(std::optional<nn::VaeTiling> tiling) { m_vaeTiling = tiling; }
    const std::optional<nn::VaeTiling>& vaeTiling() const { return m_vaeTiling; }
    // --- placement (issue 16): what the planner decides, carried out here ---

    // Sets where component `name`'s weights live from the next beforeStage() on. Cpu (T5 only) moves
    // the weights to the CPU now, converting floating-point tensors to `cpuDtype` (bfloat16 for half
    // the RAM of float32) where that keeps every value (bfloat16 from bfloat16 or fp8, float32 from
    // anything), else to float32; so a later placement on the device converts them back to exactly
    // the weights they were loaded as. Fails for an unknown component, or Cpu for one that is not a
    // T5 encoder.
    Status setPlacement(const QString& name, ComponentPlacement placement,
                        at::ScalarType cpuDtype = at::kFloat);
    ComponentPlacement placement(const QString& name) const;
    // The stage the component works in: the denoiser Denoise, "vae" Decode, the rest Encode.
    Stage componentStage(const QString& name) const;
    // The device the component runs on: the CPU for a Cpu placement, else the model's device.
    at::Device componentDevice(const QString& name) const;
    // Whether the component's weights are meant to be on the device now (its placement and the
    // current stage). On CUDA the weights follow; without CUDA nothing moves, but this still says
    // what would be where.
    bool componentOnDevice(const QString& name) const;
    // The component's weights and pinned host buffers (one ModelResidency per component; the
    // buffers are kept between cycles, so later cycles only copy). Null for an unknown name.
    gpu::ModelResidency* residency(const QString& name);
    // Brings in what `stage` needs and sends out what it does not: first every RunThenRelease
    // component of another stage goes to pinned host memory (one cleanup for all), the streamer's
    // slots are freed outside Denoise, then the Resident components and the RunThenRelease ones of
    // this stage come (back) to the device. Idle: after a generation (RunThenRelease all out).
    // textToImage() calls it; it throws what MemoryManager::reload() throws (CUDA out of memory).
    void beforeStage(Stage stage);
    Stage stage() const { return m_stage; }
    // The last stage other than Idle that beforeStage() entered: where a run that failed was (the
    // sampling loop returns to Idle however it ends).
    Stage lastWorkStage() const { return m_lastWorkStage; }
    // What the last beforeStage() moved (one report per component moved or asked to move).
    const std::vector<gpu::TransferReport>& lastTransfers() const { return m_lastTransfers; }
    // Every component on the device to pinned host memory (between generations, giving the GPU to
    // other programs), one cleanup; the next beforeStage() brings back what it needs.
    std::vector<gpu::TransferReport> releaseAll();

    // A model loaded with DeviceChoice::loadOnHost has its weights in host memory until this: each
    // component's host weights go where its placement says — Resident ones onto the device now,
    // RunThenRelease ones into pinned host memory for their stage (MemoryManager::stageOnHost), Cpu
    // ones stay; the streamer's parked blocks are its own. Call it after the placements and the
    // streaming are set (engine::applyPlan/clearPlan do). A model whose weights are all on its
    // device already does nothing. Fails (nothing lost: the weights stay in host memory) when the
    // device or the host has no room.
    Status settleWeights();
    // Where the weights are, the model as a whole: OnGpu when every component on the device side is
    // there, PinnedCpu when all of them are in pinned host memory (released), Mixed otherwise (a
    // plan's run-then-release components, streamed blocks), Cpu for a model on the CPU.
    gpu::Residency weightsResidency() const;

    // --- the denoiser's blocks, streamed (core/gpu/BlockStreamer.h) ---

    // The denoiser as a sequence of blocks; null when its module has none.
    nn::BlockSequence* denoiserBlocks() const;
    // Bytes of each of the denoiser's blocks, in the order it runs them (empty without blocks).
    std::vector<qint64> blockBytes() const;
    // The denoiser's bytes outside its blocks (embeddings, norms, projections: always resident).
    qint64 denoiserNonBlockBytes() const;
    // Streams the denoiser's blocks with `options.residentBlocks` of them kept on the device (the
    // rest in pinned host memory, copied in ahead of use). Replaces an earlier streamer (restored
    // first). The denoiser must be on the device (reload it first if it was released) or, loaded
    // with DeviceChoice::loadOnHost, in host memory (its resident blocks then go to the device).
    Status setStreaming(const gpu::BlockStreamerOptions& options);
    // Puts every block back on the device and runs the denoiser as before. Fails (streaming goes
    // on) when the device has no room for them.
    Status stopStreaming();
    const gpu::BlockStreamer* streamer() const { return m_streamer.get(); }
    gpu::BlockStreamer* streamer() { return m_streamer.get(); }

    // --- CUDA graphs for the denoiser step (core/pipeline/DenoiserGraph.h, issue 17) ---

    // The model's cache of captured denoiser graphs; the sampling loop replays them.
    DenoiserGraphs& denoiserGraphs();
    // Frees every captured graph and its memory pool. The model calls it itself wherever its weights
    // move (beforeStage() moving anything, releaseAll(), setStreaming(), stopStreaming(),
    // dropComponent()); whoever moves the weights behind its back (a ModelResidency over root()) or
    // wants the memory back calls it first. A graph whose weights moved is never replayed either way
    // (the weights' fingerprint, DenoiserGraphs::begin()); this gives the memory back.
    void releaseGraphs();
    // Channels-last (NHWC) convolutions in the denoiser (issue 17: measured per family with
    // `twistedpic-bench generation --channels-last on`; off unless asked): its convolution weights are
    // laid out channels-last, so cuDNN keeps the activations so. The same numbers up to the rounding of
    // other kernels. Fails (nothing changed) while the denoiser's blocks are streamed.
    Status setChannelsLast(bool on);
    bool channelsLast() const { return m_channelsLast; }
    // The denoiser's module (io::FamilyTraits::denoiserComponent); null if the model has none.
    torch::nn::Module* denoiserModule() const;
    // Whether denoise() turns the request's guidance into device values (Flux's guidance embedding),
    // so that a graph captured for one guidance scale cannot serve another.
    virtual bool denoiserEmbedsGuidance() const { return false; }

    // --- what each family provides ---

    // The prompt (and, when guided, the negative prompt) through the text encoders.
    virtual Result<EncodedPrompts> encodePrompts(const TextToImageParams& params, bool guided) = 0;
    // The initial noise's shape for an image size; fails when the size does not fit the model.
    virtual Result<LatentShape> latentShape(int width, int height) const;
    // The classifier-free guidance scale for this request (uncond + scale * (cond - uncond)); at
    // most 1: one batch, no negative pass. The default: the request's guidance.
    virtual double cfgScale(const TextToImageParams& p) const { return p.guidance; }
    // The sampler `name` (the family's words: "euler", "euler_a", … ; SD 3 and Flux: "euler", "heun")
    // built from `config` and set up for `steps` at this image size (Flux: its resolution-dependent
    // shift and sigmas). The default: the discrete-time samplers of core/sched.
    virtual Result<std::unique_ptr<sched::Scheduler>>
    makeScheduler(const QString& name, const QJsonObject& config, int steps, int width, int height) const;
    // One evaluation of the denoiser: `x` [B, C, h, w] (already scaled by the scheduler), the
    // scheduler's timestep (0-d), conditioning batched like x. Returns the model output in x's shape.
    virtual at::Tensor denoise(const at::Tensor& x, const at::Tensor& timestep, const Conditioning& cond,
                               double guidance) = 0;
    // Final latents of one image [1, C, h, w] → image [1, 3, H, W] in -1..1 (float32, CPU or device).
    virtual at::Tensor decode(const at::Tensor& latents) = 0;
    // The dtype the initial noise is drawn in (diffusers: the text embeddings' dtype).
    virtual at::ScalarType noiseDtype() const { return m_device.dtype; }

protected:
    DiffusionModel(io::ModelFamily family, QString source, DeviceChoice device);
    // Registers `module` as a child of root() named `name`, for components().
    template <typename Holder> Holder addComponent(const QString& name, Holder module) {
        m_root->register_module(name.toStdString(), module);
        m_components.push_back({name, module.ptr().get(), 0});
        return module;
    }
    // The family forgets its handle to an optional component dropComponent() removes; false when
    // it cannot run without it (the default).
    virtual bool forgetComponent(const QString& /*name*/) { return false; }
    // Loads the weights of the component registered as `name` from the source, in `dtype`.
    Status loadComponent(const ModelSource& source, const QString& name, at::ScalarType dtype);
    // For components with a loader of their own (T5): the bytes their weights took.
    void recordComponentBytes(const QString& name, qint64 bytes);
    void setSchedulerConfig(QJsonObject config) { m_schedulerConfig = std::move(config); }
    void setPreview(const QJsonObject& vaeConfig, int latentChannels);
    // The VAE's latent channels and downscale factor, for the default latentShape().
    void setLatentGeometry(int64_t channels, int64_t downscale, int sizeMultiple);
    // The families' decode(): the pipeline's latents through `vae`'s decodeScaled(), tiled when
    // setVaeTiling() asked for it.
    at::Tensor decodeLatents(const nn::AutoencoderKLImpl& vae, const at::Tensor& latents) const;

    DeviceChoice m_device;

private:
    io::ModelFamily m_family;
    QString m_source;
    std::shared_ptr<torch::nn::Module> m_root;
    std::vector<ModelComponentRef> m_components;
    qint64 m_weightBytes = 0;
    QJsonObject m_schedulerConfig;
    std::optional<LatentPreview> m_preview;
    std::optional<nn::VaeTiling> m_vaeTiling;
    struct Placement {
        ComponentPlacement placement = ComponentPlacement::Resident;
        std::unique_ptr<gpu::ModelResidency> residency;
        bool onDevice = true;                               // what beforeStage() last decided
        std::map<std::string, at::ScalarType> loadedDtypes; // Cpu: what to convert back to
    };
    Placement& placementState(const QString& name);
    const ModelComponentRef* component(const QString& name) const;
    void moveToCpu(const QString& name, Placement& state, at::ScalarType dtype);
    void moveFromCpu(const QString& name, Placement& state);
    std::map<QString, Placement> m_placements;
    gpu::MemoryManager m_memory;
    Stage m_stage = Stage::Idle;
    Stage m_lastWorkStage = Stage::Idle;
    std::vector<gpu::TransferReport> m_lastTransfers;
    std::unique_ptr<gpu::BlockStreamer> m_streamer;
    bool m_channelsLast = false;
    std::unique_ptr<DenoiserGraphs> m_graphs; // issue 17: created on first use
    int64_t m_latentChannels = 4;
    int64_t m_downscale = 8;
    int m_sizeMultiple = 8;
};

struct LoadStats {
    double milliseconds = 0;
    qint64 weightBytes = 0; // on the device, in its dtype
};

// Loads the model at `path` (a diffusers folder) on `device`: detects its family and builds that
// family's model. Fails with a message a person can act on (missing files, unsupported family,
// weights that do not fit the configs).
Result<std::unique_ptr<DiffusionModel>> loadModel(const QString& path, const DeviceChoice& device,
                                                  LoadStats* stats = nullptr);
// The same from an opened source (a single file with options).
Result<std::unique_ptr<DiffusionModel>> loadModel(const ModelSource& source, const DeviceChoice& device,
                                                  LoadStats* stats = nullptr);

} // namespace tp::pipeline
