#pragma once

// The SDXL family: two CLIP text encoders (CLIP-L and OpenCLIP bigG, both at the penultimate
// layer, concatenated; bigG's projected pooled output), the UNet's "text_time" added conditioning
// (pooled text + six size/crop ids), a VAE decoded in float32 when its config asks
// (force_upcast). What diffusers' StableDiffusionXLPipeline does. Core-internal.

#include "core/nn/AutoencoderKL.h"
#include "core/nn/ClipTextModel.h"
#include "core/nn/UNet2DCondition.h"
#include "core/pipeline/DiffusionModel.h"
#include "core/pipeline/ModelSource.h"
#include "core/text/ClipTokenizer.h"

namespace tp::pipeline {

class StableDiffusionXLModel final : public DiffusionModel {
public:
    static Result<std::unique_ptr<DiffusionModel>> load(const ModelSource& source,
                                                        const DeviceChoice& device);

    Result<EncodedPrompts> encodePrompts(const TextToImageParams& params, bool guided) override;
    at::Tensor denoise(const at::Tensor& x, const at::Tensor& timestep, const Conditioning& cond,
                       double guidance) override;
    at::Tensor decode(const at::Tensor& latents) override;

private:
    StableDiffusionXLModel(const ModelSource& source, const DeviceChoice& device);

    std::optional<text::ClipTokenizer> m_tokenizer;
    std::optional<text::ClipTokenizer> m_tokenizer2;
    nn::ClipTextModel m_textEncoder{nullptr};
    nn::ClipTextModel m_textEncoder2{nullptr};
    nn::UNet2DCondition m_unet{nullptr};
    nn::AutoencoderKL m_vae{nullptr};
    bool m_forceZerosForEmptyPrompt = true;
};

} // namespace tp::pipeline
