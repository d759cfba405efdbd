#pragma once

// The Flux.1 family (dev and schnell): CLIP-L's pooled output and T5's tokens (512 for dev, 256
// for schnell by default), the double/single-stream transformer on 2×2-packed latents with 3-axis
// RoPE, guidance as an input of the transformer (dev: guidance_embeds) instead of a second pass,
// flow-matching Euler with the resolution-dependent shift μ, a 16-channel VAE with scale and
// shift. What diffusers' FluxPipeline does; the loop runs on unpacked latents (the scheduler step
// is elementwise, so packing inside denoise() gives diffusers' numbers). Core-internal.

#include "core/nn/AutoencoderKL.h"
#include "core/nn/ClipTextModel.h"
#include "core/nn/FluxTransformer2D.h"
#include "core/nn/T5Encoder.h"
#include "core/pipeline/DiffusionModel.h"
#include "core/pipeline/ModelSource.h"
#include "core/text/ClipTokenizer.h"
#include "core/text/T5Tokenizer.h"

namespace tp::pipeline {

class FluxModel final : public DiffusionModel {
public:
    static Result<std::unique_ptr<DiffusionModel>> load(const ModelSource& source,
                                                        const DeviceChoice& device);

    Result<EncodedPrompts> encodePrompts(const TextToImageParams& params, bool guided) override;
    // Guidance-distilled: guidance goes into the transformer; classifier-free guidance only as
    // diffusers' "true CFG" (trueCfgScale > 1 and a negative prompt).
    double cfgScale(const TextToImageParams& p) const override {
        return p.trueCfgScale > 1.0 && p.negativePrompt ? p.trueCfgScale : 1.0;
    }
    Result<std::unique_ptr<sched::Scheduler>> makeScheduler(const QString& name, const QJsonObject& config,
                                                            int steps, int width, int height) const override;
    at::Tensor denoise(const at::Tensor& x, const at::Tensor& timestep, const Conditioning& cond,
                       double guidance) override;
    at::Tensor decode(const at::Tensor& latents) override;
    bool denoiserEmbedsGuidance() const override; // dev: guidance_embeds

private:
    FluxModel(const ModelSource& source, const DeviceChoice& device);
    // CLIP-L's pooled output and T5's context for `text`, T5 padded to `length` tokens.
    Conditioning encodeText(const QString& text, int length, text::T5TokenizedPrompt* tokens);

    std::optional<text::ClipTokenizer> m_tokenizer;
    std::optional<text::T5Tokenizer> m_t5Tokenizer;
    nn::ClipTextModel m_textEncoder{nullptr};
    nn::T5EncoderModel m_textEncoder2{nullptr};
    nn::FluxTransformer2D m_transformer{nullptr};
    nn::AutoencoderKL m_vae{nullptr};
    int m_defaultSequenceLength = 512;
};

} // namespace tp::pipeline
