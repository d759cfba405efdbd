#include "core/pipeline/StableDiffusion.h"

#include "core/pipeline/ClipConditioning.h"

namespace tp::pipeline {

StableDiffusionModel::StableDiffusionModel(const ModelSource& source, const DeviceChoice& device)
    : DiffusionModel(source.family(), source.path(), device) {}

Result<std::unique_ptr<DiffusionModel>> StableDiffusionModel::load(const ModelSource& source,
                                                                   const DeviceChoice& device) {
    using R = Result<std::unique_ptr<DiffusionModel>>;
    Result<text::ClipTokenizer> tokenizer = source.clipTokenizer(QStringLiteral("tokenizer"));
    if (!tokenizer)
        return R::fail(tokenizer.error());
    Result<nn::ClipTextConfig> teConfig =
        configFor<nn::ClipTextConfig>(source, QStringLiteral("text_encoder"));
    if (!teConfig)
        return R::fail(teConfig.error());
    Result<nn::UNet2DConditionConfig> unetConfig =
        configFor<nn::UNet2DConditionConfig>(source, QStringLiteral("unet"));
    if (!unetConfig)
        return R::fail(unetConfig.error());
    Result<nn::AutoencoderKLConfig> vaeConfig =
        configFor<nn::AutoencoderKLConfig>(source, QStringLiteral("vae"));
    if (!vaeConfig)
        return R::fail(vaeConfig.error());
    Result<QJsonObject> schedulerConfig = source.config(QStringLiteral("scheduler"));
    if (!schedulerConfig)
        return R::fail(schedulerConfig.error());

    std::unique_ptr<StableDiffusionModel> m(new StableDiffusionModel(source, device));
    m->m_tokenizer = std::move(*tokenizer);
    // Built on the CPU with default options; loading places and converts each tensor.
    m->m_textEncoder = m->addComponent(QStringLiteral("text_encoder"), nn::ClipTextModel(*teConfig));
    m->m_unet = m->addComponent(QStringLiteral("unet"), nn::UNet2DCondition(*unetConfig));
    m->m_vae = m->addComponent(QStringLiteral("vae"), nn::AutoencoderKL(*vaeConfig));
    m->root().eval();
    for (const QString& name :
         {QStringLiteral("text_encoder"), QStringLiteral("unet"), QStringLiteral("vae")})
        if (Status s = m->loadComponent(source, name, device.dtype); !s)
            return R::fail(s.error());
    m->setSchedulerConfig(*schedulerConfig);
    m->setPreview(*source.config(QStringLiteral("vae")), static_cast<int>(vaeConfig->latentChannels));
    m->setLatentGeometry(unetConfig->inChannels, vaeConfig->downscaleFactor(),
                         io::familyTraits(source.family()).sizeMultiple);
    return R::ok(std::move(m));
}

// 75-token chunks with A1111's emphasis (ClipConditioning.h): for an unweighted prompt of <= 75
// tokens exactly diffusers' encode_prompt, with A1111's clip skip. With guidance, the negative prompt
// (diffusers: none = the empty prompt) is padded to the prompt's chunk count.
Result<EncodedPrompts> StableDiffusionModel::encodePrompts(const TextToImageParams& p, bool guided) {
    ClipPromptOptions options;
    options.layer = ClipLayer::clipSkip(p.clipSkip);
    options.chunking.emphasis = p.emphasis;
    const ClipPromptPair pair = encodeClipPrompts(
        m_textEncoder, *m_tokenizer, p.prompt,
        guided ? std::optional<QString>(p.negativePrompt.value_or(QString())) : std::nullopt, options);
    EncodedPrompts e;
    e.cond.context = pair.positive.embeddings.to(m_device.dtype);
    if (pair.negative)
        e.uncond.context = pair.negative->embeddings.to(m_device.dtype);
    e.promptTokens = pair.positive.promptTokens;
    e.promptChunks = pair.positive.chunks;
    e.maxTokens = pair.positive.chunks * pair.positiveChunks.chunkLength;
    return Result<EncodedPrompts>::ok(std::move(e));
}

at::Tensor StableDiffusionModel::denoise(const at::Tensor& x, const at::Tensor& timestep,
                                         const Conditioning& cond, double) {
    return m_unet->forward(x, timestep, cond.context);
}

at::Tensor StableDiffusionModel::decode(const at::Tensor& latents) {
    return decodeLatents(*m_vae, latents);
}

} // namespace tp::pipeline
