#pragma once

// Stable Diffusion 1.x/2.x text-to-image on libtorch: the loaded model (tokenizer, text
// encoder, UNet, VAE, scheduler config) and the denoising loop, step for step what diffusers'
// StableDiffusionPipeline does. Core-internal: libtorch types.

#include "core/common/Result.h"
#include "core/nn/AutoencoderKL.h"
#include "core/nn/ClipTextModel.h"
#include "core/nn/UNet2DCondition.h"
#include "core/pipeline/Device.h"
#include "core/pipeline/ImageConvert.h"
#include "core/text/ClipTokenizer.h"
#include "core/text/PromptWeights.h"

#include <QJsonObject>
#include <QString>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace tp::pipeline {

struct LoadStats {
    double milliseconds = 0;
    qint64 weightBytes = 0; // on the device, in its dtype
};

// One model, loaded on one device in one dtype. The three networks are children of root()
// ("text_encoder", "unet", "vae"), so the memory manager can move the whole model at once.
class StableDiffusionModel final {
public:
    // folder: a diffusers StableDiffusionPipeline folder (SD 1.x / 2.x).
    static Result<std::unique_ptr<StableDiffusionModel>>
    load(const QString& folder, const DeviceChoice& device, LoadStats* stats = nullptr);

    const QString& folder() const { return m_folder; }
    const DeviceChoice& device() const { return m_device; }
    torch::nn::Module& root() { return *m_root; }
    qint64 weightBytes() const { return m_weightBytes; }

    const text::ClipTokenizer& tokenizer() const { return *m_tokenizer; }
    const nn::ClipTextModel& textEncoder() const { return m_textEncoder; }
    const nn::UNet2DCondition& unet() const { return m_unet; }
    const nn::AutoencoderKL& vae() const { return m_vae; }
    const QJsonObject& schedulerConfig() const { return m_schedulerConfig; }
    const LatentPreview& preview() const { return *m_preview; }
    // The latent grid is image size / this (8 for SD).
    int64_t vaeScale() const { return m_vae->config().downscaleFactor(); }

private:
    StableDiffusionModel() = default;
    QString m_folder;
    DeviceChoice m_device;
    std::shared_ptr<torch::nn::Module> m_root;
    std::optional<text::ClipTokenizer> m_tokenizer;
    nn::ClipTextModel m_textEncoder{nullptr};
    nn::UNet2DCondition m_unet{nullptr};
    nn::AutoencoderKL m_vae{nullptr};
    QJsonObject m_schedulerConfig;
    std::optional<LatentPreview> m_preview;
    qint64 m_weightBytes = 0;
};

struct TextToImageParams {
    QString prompt;
    std::optional<QString> negativePrompt; // nullopt: diffusers' default (the empty prompt)
    QString sampler = QStringLiteral("euler_a");
    int steps = 20;
    double guidance = 7.5; // <= 1: no classifier-free guidance (one UNet batch)
    int width = 512;
    int height = 512;
    uint64_t seed = 0;
    int count = 1;    // images; image i uses its own generator seeded seed + i
    int clipSkip = 1; // 1 = last layer (A1111's convention; diffusers' clip_skip = this - 1)
    // A1111's emphasis syntax, (word:1.3) [word] BREAK; Off reads the prompt as diffusers does.
    text::Emphasis emphasis = text::Emphasis::Original;
    // Replaces the model folder's scheduler_config.json for this run (as diffusers'
    // `XScheduler.from_config(other_config)` does); nullopt: the folder's.
    std::optional<QJsonObject> schedulerConfig;
};

struct StepInfo {
    int step = 0; // finished steps, 1..total
    int total = 0;
    const at::Tensor& latents; // current latents, [count, C, h, w]
};

struct TextToImageOutput {
    bool cancelled = false;
    at::Tensor images;  // [count, 3, H, W] float32 0..1 on the CPU
    at::Tensor latents; // [count, C, h, w] final latents before the VAE (scaled space), CPU float32
    std::vector<uint64_t> seeds;
    int promptTokens = 0; // the prompt's tokens (without BOS/EOS), all of them encoded
    int promptChunks = 1; // 75-token chunks the prompt took (ClipConditioning.h)
    int maxTokens = 75;   // what those chunks hold: promptChunks · 75, never below promptTokens
    double encodeMs = 0;
    double denoiseMs = 0;
    double decodeMs = 0;
    double firstStepMs = 0;
};

// Runs the full loop. onStep is called after every step; returning false cancels (the
// output then says cancelled and holds no images). Bad parameters give a Result error;
// libtorch errors (out of memory among them) propagate as exceptions for the engine.
Result<TextToImageOutput> textToImage(StableDiffusionModel& model, const TextToImageParams& params,
                                      const std::function<bool(const StepInfo&)>& onStep = {});

} // namespace tp::pipeline
