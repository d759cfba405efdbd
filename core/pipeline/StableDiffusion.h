#pragma once

// The SD 1.x / 2.x family: one CLIP text encoder (last layer, or A1111's clip skip), the
// UNet2DConditionModel predicting noise or v, a 4-channel VAE scaled by its scaling_factor,
// the discrete-time schedulers. What diffusers' StableDiffusionPipeline does. Core-internal.

#include "core/nn/AutoencoderKL.h"
#include "core/nn/ClipTextModel.h"
#include "core/nn/UNet2DCondition.h"
#include "core/pipeline/DiffusionModel.h"
#include "core/pipeline/ModelSource.h"
#include "core/text/ClipTokenizer.h"

namespace tp::pipeline {

class StableDiffusionModel final : public DiffusionModel {
public:
    static Result<std::unique_ptr<DiffusionModel>> load(const ModelSource& source,
                                                        const DeviceChoice& device);

    Result<EncodedPrompts> encodePrompts(const TextToImageParams& params, bool guided) override;
    at::Tensor denoise(const at::Tensor& x, const at::Tensor& timestep, const Conditioning& cond,
                       double guidance) override;
    at::Tensor decode(const at::Tensor& latents) override;

private:
    StableDiffusionModel(const ModelSource& source, const DeviceChoice& device);

    std::optional<text::ClipTokenizer> m_tokenizer;
    nn::ClipTextModel m_textEncoder{nullptr};
    nn::UNet2DCondition m_unet{nullptr};
    nn::AutoencoderKL m_vae{nullptr};
};

} // namespace tp::pipeline
