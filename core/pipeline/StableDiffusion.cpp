#include "core/pipeline/StableDiffusion.h"

namespace tp::pipeline {

StableDiffusionModel::StableDiffusionModel(const ModelSource& source, const DeviceChoice& device)
    : DiffusionModel(source.family(), source.path(), device) {}

Result<std::unique_ptr<DiffusionModel>> StableDiffusionModel::load(const ModelSource& source,
                                                                   const DeviceChoice& device) {
    using R = Result<std::unique_ptr<DiffusionModel>>;
    Result<QString> tokenizerFolder = source.folder(QStringLiteral("tokenizer"));
    if (!tokenizerFolder)
        return R::fail(tokenizerFolder.error());
    Result<text::ClipTokenizer> tokenizer = text::ClipTokenizer::load(*tokenizerFolder);
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

at::Tensor StableDiffusionModel::encodeText(const QString& text, int clipSkip, int* promptTokens) const {
    const text::TokenizedPrompt tokens = m_tokenizer->tokenize(text);
    if (promptTokens)
        *promptTokens = tokens.promptTokens();
    const at::Tensor ids =
        at::tensor(tokens.ids, at::TensorOptions().dtype(at::kLong)).unsqueeze(0).to(m_device.device);
    if (clipSkip <= 1)
        return m_textEncoder->forward(ids).lastHiddenState;
    const nn::ClipTextOutput out = m_textEncoder->forward(ids, /*outputHiddenStates=*/true);
    const int64_t n = static_cast<int64_t>(out.hiddenStates.size());
    const int64_t index = std::max<int64_t>(0, n - clipSkip);
    return m_textEncoder->finalLayerNorm(out.hiddenStates[static_cast<size_t>(index)]);
}

Result<EncodedPrompts> StableDiffusionModel::encodePrompts(const TextToImageParams& p, bool guided) {
    EncodedPrompts e;
    e.cond.context = encodeText(p.prompt, p.clipSkip, &e.promptTokens).to(m_device.dtype);
    e.maxTokens = m_tokenizer->modelMaxLength() - 2;
    if (e.promptTokens > e.maxTokens)
        e.notes << QStringLiteral("The prompt is %1 tokens; only the first %2 are used.")
                       .arg(e.promptTokens)
                       .arg(e.maxTokens);
    // diffusers: a missing negative prompt is the empty prompt.
    if (guided)
        e.uncond.context =
            encodeText(p.negativePrompt.value_or(QString()), p.clipSkip, nullptr).to(m_device.dtype);
    return Result<EncodedPrompts>::ok(std::move(e));
}

at::Tensor StableDiffusionModel::denoise(const at::Tensor& x, const at::Tensor& timestep,
                                         const Conditioning& cond, double) {
    return m_unet->forward(x, timestep, cond.context);
}

at::Tensor StableDiffusionModel::decode(const at::Tensor& latents) {
    const nn::AutoencoderKLConfig& vc = m_vae->config();
    at::Tensor z = latents / vc.scalingFactor;
    if (vc.shiftFactor)
        z = z + *vc.shiftFactor;
    return m_vae->decode(z);
}

} // namespace tp::pipeline
