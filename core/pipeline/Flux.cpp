#include "core/pipeline/Flux.h"

#include "core/io/SafeTensors.h"
#include "core/nn/WeightLoader.h"
#include "core/pipeline/StableDiffusion3.h"
#include "core/sched/FlowMatchSchedule.h"

namespace tp::pipeline {

namespace {
constexpr int kMaxSequenceLength = 512;
}

FluxModel::FluxModel(const ModelSource& source, const DeviceChoice& device)
    : DiffusionModel(io::ModelFamily::Flux, source.path(), device) {}

Result<std::unique_ptr<DiffusionModel>> FluxModel::load(const ModelSource& source,
                                                        const DeviceChoice& device) {
    using R = Result<std::unique_ptr<DiffusionModel>>;
    Result<text::ClipTokenizer> tokenizer = source.clipTokenizer(QStringLiteral("tokenizer"));
    if (!tokenizer)
        return R::fail(tokenizer.error());
    Result<text::T5Tokenizer> t5Tokenizer = source.t5Tokenizer(QStringLiteral("tokenizer_2"));
    if (!t5Tokenizer)
        return R::fail(t5Tokenizer.error());
    Result<nn::ClipTextConfig> te = configFor<nn::ClipTextConfig>(source, QStringLiteral("text_encoder"));
    if (!te)
        return R::fail(te.error());
    Result<nn::T5Config> t5 = configFor<nn::T5Config>(source, QStringLiteral("text_encoder_2"));
    if (!t5)
        return R::fail(t5.error());
    Result<nn::FluxTransformer2DConfig> tr =
        configFor<nn::FluxTransformer2DConfig>(source, QStringLiteral("transformer"));
    if (!tr)
        return R::fail(tr.error());
    Result<nn::AutoencoderKLConfig> vae = configFor<nn::AutoencoderKLConfig>(source, QStringLiteral("vae"));
    if (!vae)
        return R::fail(vae.error());
    Result<QJsonObject> scheduler = source.config(QStringLiteral("scheduler"));
    if (!scheduler)
        return R::fail(scheduler.error());
    if (te->hiddenSize != tr->pooledProjectionDim || t5->dModel != tr->jointAttentionDim)
        return R::fail(
            QStringLiteral("%1/transformer expects a pooled vector of %2 and T5 tokens of %3, but the "
                           "text encoders give %4 and %5.")
                .arg(source.path())
                .arg(tr->pooledProjectionDim)
                .arg(tr->jointAttentionDim)
                .arg(te->hiddenSize)
                .arg(t5->dModel));

    std::unique_ptr<FluxModel> m(new FluxModel(source, device));
    m->m_tokenizer = std::move(*tokenizer);
    m->m_t5Tokenizer = std::move(*t5Tokenizer);
    m->m_textEncoder = m->addComponent(QStringLiteral("text_encoder"), nn::ClipTextModel(*te));
    m->m_textEncoder2 = m->addComponent(QStringLiteral("text_encoder_2"),
                                        nn::T5EncoderModel(*t5, at::TensorOptions(), "text_encoder_2"));
    m->m_transformer = m->addComponent(QStringLiteral("transformer"), nn::FluxTransformer2D(*tr));
    m->m_vae = m->addComponent(QStringLiteral("vae"), nn::AutoencoderKL(*vae));
    m->root().eval();
    for (const QString& name :
         {QStringLiteral("text_encoder"), QStringLiteral("transformer"), QStringLiteral("vae")})
        if (Status s = m->loadComponent(source, name, device.dtype); !s)
            return R::fail(s.error());
    qint64 t5Bytes = 0;
    if (Status s = source.loadT5Weights(QStringLiteral("text_encoder_2"), *m->m_textEncoder2, device.loadDevice(),
                                        device.dtype, &t5Bytes);
        !s)
        return R::fail(s.error());
    m->recordComponentBytes(QStringLiteral("text_encoder_2"), t5Bytes);
    // schnell (no guidance embedding) was distilled with 256 T5 tokens, dev with 512.
    m->m_defaultSequenceLength = tr->guidanceEmbeds ? 512 : 256;
    m->setSchedulerConfig(*scheduler);
    m->setPreview(*source.config(QStringLiteral("vae")), static_cast<int>(vae->latentChannels));
    // The noise is drawn unpacked, [16, 2·(H/16), 2·(W/16)], as diffusers' prepare_latents does.
    m->setLatentGeometry(vae->latentChannels, vae->downscaleFactor(),
                         io::familyTraits(io::ModelFamily::Flux).sizeMultiple);
    return R::ok(std::move(m));
}

Result<std::unique_ptr<sched::Scheduler>> FluxModel::makeScheduler(const QString& name,
                                                                   const QJsonObject& config, int steps,
                                                                   int width, int height) const {
    using R = Result<std::unique_ptr<sched::Scheduler>>;
    Result<QString> flow = flowSamplerName(name, family());
    if (!flow)
        return R::fail(flow.error());
    R made = sched::makeScheduler(*flow, config);
    if (!made)
        return made;
    // FluxPipeline: sigmas = linspace(1, 1/n, n); mu from the packed image's token count.
    const int64_t imageSeqLen = int64_t(height / 16) * int64_t(width / 16);
    Result<double> mu = sched::calculateShift(imageSeqLen, config);
    if (!mu)
        return R::fail(mu.error());
    sched::TimestepOptions options;
    options.mu = *mu;
    options.sigmas = sched::linearFlowSigmas(steps);
    if (Status st = (*made)->setTimestepsWith(steps, options); !st)
        return R::fail(st.error());
    return made;
}

Conditioning FluxModel::encodeText(const QString& text, int length, text::T5TokenizedPrompt* tokens) {
    // CLIP-L: the pooled output only (pooler_output), 77 tokens.
    const text::TokenizedPrompt clipTokens = m_tokenizer->tokenize(text);
    const at::Tensor clipIds =
        at::tensor(clipTokens.ids, at::TensorOptions().dtype(at::kLong)).unsqueeze(0).to(m_device.device);
    const at::Tensor pooled = m_textEncoder->forward(clipIds).pooled;
    // T5: every token of the context.
    *tokens = m_t5Tokenizer->tokenize(text, length);
    // T5 may run on the CPU (its placement); its output goes to the device.
    const at::Tensor t5Ids = at::tensor(tokens->ids, at::TensorOptions().dtype(at::kLong))
                                 .unsqueeze(0)
                                 .to(componentDevice(QStringLiteral("text_encoder_2")));
    return Conditioning{m_textEncoder2->forward(t5Ids).to(m_device.device), pooled, {}}.to(m_device.dtype);
}

Result<EncodedPrompts> FluxModel::encodePrompts(const TextToImageParams& p, bool guided) {
    const int length = p.maxSequenceLength > 0 ? p.maxSequenceLength : m_defaultSequenceLength;
    if (length > kMaxSequenceLength)
        return Result<EncodedPrompts>::fail(
            QStringLiteral("The T5 sequence length must be at most %1, not %2.")
                .arg(kMaxSequenceLength)
                .arg(length));
    EncodedPrompts e;
    text::T5TokenizedPrompt t5Tokens;
    e.cond = encodeText(p.prompt, length, &t5Tokens);
    if (guided) { // true CFG: the negative prompt through the same encoders
        text::T5TokenizedPrompt negativeTokens;
        e.uncond = encodeText(p.negativePrompt.value_or(QString()), length, &negativeTokens);
    }
    e.promptTokens = t5Tokens.promptTokens();
    e.maxTokens = length - 1;
    if (t5Tokens.truncated())
        e.notes << QStringLiteral("The prompt is %1 tokens; T5 reads the first %2 (max_sequence_length %3).")
                       .arg(t5Tokens.promptTokens())
                       .arg(length - 1)
                       .arg(length);
    return Result<EncodedPrompts>::ok(std::move(e));
}

at::Tensor FluxModel::denoise(const at::Tensor& x, const at::Tensor& timestep, const Conditioning& cond,
                              double guidance) {
    const int64_t batch = x.size(0), h = x.size(2), w = x.size(3);
    const at::Tensor packed = nn::packLatents(x);
    const at::Tensor imgIds = nn::latentImageIds(h / 2, w / 2, x.options());
    const at::Tensor txtIds = at::zeros({cond.context.size(1), 3}, x.options());
    // diffusers: t.expand(B).to(latents.dtype), passed as timestep / 1000.
    const at::Tensor t = timestep.to(x.scalar_type()).expand({batch}) / 1000;
    at::Tensor g;
    if (m_transformer->config().guidanceEmbeds)
        g = at::full({batch}, guidance, x.options().dtype(at::kFloat));
    const at::Tensor out = m_transformer->forward(packed, cond.context, cond.pooled, t, imgIds, txtIds, g);
    return nn::unpackLatents(out, h, w);
}

bool FluxModel::denoiserEmbedsGuidance() const {
    return m_transformer->config().guidanceEmbeds;
}

at::Tensor FluxModel::decode(const at::Tensor& latents) {
    return decodeLatents(*m_vae, latents);
}

} // namespace tp::pipeline
