#include "core/pipeline/StableDiffusionXL.h"

#include "core/pipeline/ClipConditioning.h"

namespace tp::pipeline {

StableDiffusionXLModel::StableDiffusionXLModel(const ModelSource& source, const DeviceChoice& device)
    : DiffusionModel(io::ModelFamily::SDXL, source.path(), device) {}

Result<std::unique_ptr<DiffusionModel>> StableDiffusionXLModel::load(const ModelSource& source,
                                                                     const DeviceChoice& device) {
    using R = Result<std::unique_ptr<DiffusionModel>>;
    Result<text::ClipTokenizer> tokenizer = source.clipTokenizer(QStringLiteral("tokenizer"));
    if (!tokenizer)
        return R::fail(tokenizer.error());
    Result<text::ClipTokenizer> tokenizer2 = source.clipTokenizer(QStringLiteral("tokenizer_2"));
    if (!tokenizer2)
        return R::fail(tokenizer2.error());
    Result<nn::ClipTextConfig> te = configFor<nn::ClipTextConfig>(source, QStringLiteral("text_encoder"));
    if (!te)
        return R::fail(te.error());
    Result<nn::ClipTextConfig> te2 = configFor<nn::ClipTextConfig>(source, QStringLiteral("text_encoder_2"));
    if (!te2)
        return R::fail(te2.error());
    Result<nn::UNet2DConditionConfig> unet =
        configFor<nn::UNet2DConditionConfig>(source, QStringLiteral("unet"));
    if (!unet)
        return R::fail(unet.error());
    Result<nn::AutoencoderKLConfig> vae = configFor<nn::AutoencoderKLConfig>(source, QStringLiteral("vae"));
    if (!vae)
        return R::fail(vae.error());
    Result<QJsonObject> scheduler = source.config(QStringLiteral("scheduler"));
    if (!scheduler)
        return R::fail(scheduler.error());
    // What the UNet's added conditioning expects must be what the encoders give.
    if (!te2->withProjection)
        return R::fail(
            QStringLiteral("%1/text_encoder_2 is not a CLIPTextModelWithProjection: SDXL needs its "
                           "projected pooled output.")
                .arg(source.path()));
    if (!unet->textTimeEmbedding)
        return R::fail(
            QStringLiteral("%1/unet has no \"text_time\" added conditioning: not an SDXL base UNet.")
                .arg(source.path()));
    const int64_t context = te->hiddenSize + te2->hiddenSize;
    if (unet->crossAttentionDim.front() != context)
        return R::fail(
            QStringLiteral("%1/unet expects %2-wide text embeddings, but the two text encoders give "
                           "%3: an SDXL refiner or another model's UNet (refiners are not supported).")
                .arg(source.path())
                .arg(unet->crossAttentionDim.front())
                .arg(context));
    if (unet->projectionClassEmbeddingsInputDim != 6 * unet->additionTimeEmbedDim + te2->projectionDim)
        return R::fail(QStringLiteral("%1/unet's projection_class_embeddings_input_dim %2 does not match six "
                                      "time ids of %3 plus the pooled %4.")
                           .arg(source.path())
                           .arg(unet->projectionClassEmbeddingsInputDim)
                           .arg(unet->additionTimeEmbedDim)
                           .arg(te2->projectionDim));

    std::unique_ptr<StableDiffusionXLModel> m(new StableDiffusionXLModel(source, device));
    m->m_tokenizer = std::move(*tokenizer);
    m->m_tokenizer2 = std::move(*tokenizer2);
    m->m_textEncoder = m->addComponent(QStringLiteral("text_encoder"), nn::ClipTextModel(*te));
    m->m_textEncoder2 = m->addComponent(QStringLiteral("text_encoder_2"), nn::ClipTextModel(*te2));
    m->m_unet = m->addComponent(QStringLiteral("unet"), nn::UNet2DCondition(*unet));
    m->m_vae = m->addComponent(QStringLiteral("vae"), nn::AutoencoderKL(*vae));
    m->root().eval();
    // diffusers decodes in float32 when the VAE's config says force_upcast and the pipeline runs in
    // float16 (the stock SDXL VAE overflows there): keep that VAE in float32 from the start.
    const at::ScalarType vaeDtype = vae->forceUpcast && device.dtype == at::kHalf ? at::kFloat : device.dtype;
    for (const QString& name :
         {QStringLiteral("text_encoder"), QStringLiteral("text_encoder_2"), QStringLiteral("unet")})
        if (Status s = m->loadComponent(source, name, device.dtype); !s)
            return R::fail(s.error());
    if (Status s = m->loadComponent(source, QStringLiteral("vae"), vaeDtype); !s)
        return R::fail(s.error());
    m->m_forceZerosForEmptyPrompt =
        source.pipelineConfig().value(QLatin1String("force_zeros_for_empty_prompt")).toBool(true);
    m->setSchedulerConfig(*scheduler);
    m->setPreview(*source.config(QStringLiteral("vae")), static_cast<int>(vae->latentChannels));
    m->setLatentGeometry(unet->inChannels, vae->downscaleFactor(),
                         io::familyTraits(io::ModelFamily::SDXL).sizeMultiple);
    return R::ok(std::move(m));
}

// Both encoders at the penultimate layer without the final norm (diffusers' encode_prompt), in
// 75-token chunks with A1111's emphasis, concatenated on channels; pooled = bigG's projection of the
// first chunk. With guidance: no negative prompt at all + force_zeros_for_empty_prompt -> zeros, as
// diffusers; an explicit one, even empty, is encoded and padded to the prompt's chunk count.
Result<EncodedPrompts> StableDiffusionXLModel::encodePrompts(const TextToImageParams& p, bool guided) {
    const bool zeros = guided && !p.negativePrompt && m_forceZerosForEmptyPrompt;
    const std::optional<QString> negative =
        guided && !zeros ? std::optional<QString>(p.negativePrompt.value_or(QString())) : std::nullopt;
    ClipPromptOptions options;
    // diffusers: hidden_states[-(clip_skip + 2)]; A1111's clip skip 1 (the default) = the penultimate.
    options.layer = ClipLayer{1 + std::max(1, p.clipSkip), false};
    options.chunking.emphasis = p.emphasis;
    const ClipPromptPair a = encodeClipPrompts(m_textEncoder, *m_tokenizer, p.prompt, negative, options);
    const ClipPromptPair b = encodeClipPrompts(m_textEncoder2, *m_tokenizer2, p.prompt, negative, options);
    if (a.positive.chunks != b.positive.chunks)
        return Result<EncodedPrompts>::fail(
            QStringLiteral(
                "%1: the two tokenizers split the prompt into %2 and %3 chunks; they must share one "
                "vocabulary.")
                .arg(source())
                .arg(a.positive.chunks)
                .arg(b.positive.chunks));

    const at::ScalarType dtype = m_device.dtype;
    // add_time_ids: original size (h, w), crop top-left (top, left), target size (h, w).
    const SizeConditioning& s = p.sizeConditioning;
    const auto orDefault = [](int v, int fallback) { return double(v > 0 ? v : fallback); };
    const at::Tensor timeIds =
        at::tensor(std::vector<double>{orDefault(s.originalHeight, p.height),
                                       orDefault(s.originalWidth, p.width), double(s.cropTop),
                                       double(s.cropLeft), orDefault(s.targetHeight, p.height),
                                       orDefault(s.targetWidth, p.width)},
                   at::TensorOptions().dtype(at::kDouble))
            .to(dtype)
            .unsqueeze(0)
            .to(m_device.device);
    EncodedPrompts e;
    e.cond = Conditioning{at::cat({a.positive.embeddings, b.positive.embeddings}, -1), b.positive.textEmbeds,
                          timeIds}
                 .to(dtype);
    if (zeros)
        e.uncond = Conditioning{at::zeros_like(e.cond.context), at::zeros_like(e.cond.pooled), timeIds};
    else if (guided)
        e.uncond = Conditioning{at::cat({a.negative->embeddings, b.negative->embeddings}, -1),
                                b.negative->textEmbeds, timeIds}
                       .to(dtype);
    e.promptTokens = std::max(a.positive.promptTokens, b.positive.promptTokens);
    e.promptChunks = a.positive.chunks;
    e.maxTokens = a.positive.chunks * a.positiveChunks.chunkLength;
    return Result<EncodedPrompts>::ok(std::move(e));
}

at::Tensor StableDiffusionXLModel::denoise(const at::Tensor& x, const at::Tensor& timestep,
                                           const Conditioning& cond, double) {
    return m_unet->forward(x, timestep, cond.context, nn::UNetAddedConditions{cond.pooled, cond.extra});
}

at::Tensor StableDiffusionXLModel::decode(const at::Tensor& latents) {
    return decodeLatents(*m_vae, latents);
}

} // namespace tp::pipeline
