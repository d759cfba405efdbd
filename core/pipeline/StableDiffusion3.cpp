#include "core/pipeline/StableDiffusion3.h"

#include "core/common/Log.h"
#include "core/io/SafeTensors.h"
#include "core/nn/WeightLoader.h"
#include "core/pipeline/ClipConditioning.h"

namespace tp::pipeline {

namespace {

constexpr int kDefaultMaxSequenceLength = 256;
constexpr int kMaxSequenceLength = 512;

} // namespace

Result<QString> flowSamplerName(const QString& name, io::ModelFamily family) {
    if (name == QLatin1String("euler") || name == QLatin1String("flow_euler"))
        return Result<QString>::ok(QStringLiteral("flow_euler"));
    if (name == QLatin1String("heun") || name == QLatin1String("flow_heun"))
        return Result<QString>::ok(QStringLiteral("flow_heun"));
    return Result<QString>::fail(
        QStringLiteral("%1 models sample with euler or heun (flow matching), not %2.")
            .arg(io::familyName(family), name));
}

StableDiffusion3Model::StableDiffusion3Model(const ModelSource& source, const DeviceChoice& device)
    : DiffusionModel(io::ModelFamily::SD3, source.path(), device) {}

Result<std::unique_ptr<DiffusionModel>> StableDiffusion3Model::load(const ModelSource& source,
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
    Result<nn::SD3Transformer2DConfig> tr =
        configFor<nn::SD3Transformer2DConfig>(source, QStringLiteral("transformer"));
    if (!tr)
        return R::fail(tr.error());
    Result<nn::AutoencoderKLConfig> vae = configFor<nn::AutoencoderKLConfig>(source, QStringLiteral("vae"));
    if (!vae)
        return R::fail(vae.error());
    Result<QJsonObject> scheduler = source.config(QStringLiteral("scheduler"));
    if (!scheduler)
        return R::fail(scheduler.error());
    if (!te->withProjection || !te2->withProjection)
        return R::fail(QStringLiteral("%1: SD 3 needs both CLIP text encoders with their projections "
                                      "(CLIPTextModelWithProjection).")
                           .arg(source.path()));
    if (te->projectionDim + te2->projectionDim != tr->pooledProjectionDim)
        return R::fail(
            QStringLiteral("%1/transformer expects a pooled vector of %2, but the CLIP projections give "
                           "%3 + %4.")
                .arg(source.path())
                .arg(tr->pooledProjectionDim)
                .arg(te->projectionDim)
                .arg(te2->projectionDim));
    if (te->hiddenSize + te2->hiddenSize > tr->jointAttentionDim)
        return R::fail(QStringLiteral("%1/transformer's joint_attention_dim %2 is narrower than the two CLIP "
                                      "encoders together (%3).")
                           .arg(source.path())
                           .arg(tr->jointAttentionDim)
                           .arg(te->hiddenSize + te2->hiddenSize));

    std::unique_ptr<StableDiffusion3Model> m(new StableDiffusion3Model(source, device));
    m->m_tokenizer = std::move(*tokenizer);
    m->m_tokenizer2 = std::move(*tokenizer2);
    m->m_textEncoder = m->addComponent(QStringLiteral("text_encoder"), nn::ClipTextModel(*te));
    m->m_textEncoder2 = m->addComponent(QStringLiteral("text_encoder_2"), nn::ClipTextModel(*te2));
    // T5 is optional: diffusers loads SD 3 with text_encoder_3=None, and its folder may lack it.
    if (source.has(QStringLiteral("text_encoder_3")) && source.has(QStringLiteral("tokenizer_3"))) {
        Result<text::T5Tokenizer> t5tok = source.t5Tokenizer(QStringLiteral("tokenizer_3"));
        if (!t5tok)
            return R::fail(t5tok.error());
        Result<nn::T5Config> t5 = configFor<nn::T5Config>(source, QStringLiteral("text_encoder_3"));
        if (!t5)
            return R::fail(t5.error());
        if (t5->dModel != tr->jointAttentionDim)
            return R::fail(
                QStringLiteral("%1: T5's width %2 is not the transformer's joint_attention_dim %3.")
                    .arg(source.path())
                    .arg(t5->dModel)
                    .arg(tr->jointAttentionDim));
        m->m_t5Tokenizer = std::move(*t5tok);
        m->m_textEncoder3 = m->addComponent(QStringLiteral("text_encoder_3"),
                                            nn::T5EncoderModel(*t5, at::TensorOptions(), "text_encoder_3"));
    }
    m->m_transformer = m->addComponent(QStringLiteral("transformer"), nn::SD3Transformer2D(*tr));
    m->m_vae = m->addComponent(QStringLiteral("vae"), nn::AutoencoderKL(*vae));
    m->root().eval();
    for (const QString& name : {QStringLiteral("text_encoder"), QStringLiteral("text_encoder_2"),
                                QStringLiteral("transformer"), QStringLiteral("vae")})
        if (Status s = m->loadComponent(source, name, device.dtype); !s)
            return R::fail(s.error());
    if (m->m_textEncoder3) {
        qint64 bytes = 0;
        if (Status s = source.loadT5Weights(QStringLiteral("text_encoder_3"), *m->m_textEncoder3,
                                            device.loadDevice(), device.dtype, &bytes);
            !s)
            return R::fail(s.error());
        m->recordComponentBytes(QStringLiteral("text_encoder_3"), bytes);
    }
    m->setSchedulerConfig(*scheduler);
    m->setPreview(*source.config(QStringLiteral("vae")), static_cast<int>(vae->latentChannels));
    m->setLatentGeometry(tr->inChannels, vae->downscaleFactor(),
                         io::familyTraits(io::ModelFamily::SD3).sizeMultiple);
    if (!m->m_textEncoder3)
        spdlog::info("{}: no T5 text encoder; its tokens are zeros", source.path());
    return R::ok(std::move(m));
}

bool StableDiffusion3Model::forgetComponent(const QString& name) {
    if (name != QLatin1String("text_encoder_3"))
        return false;
    m_textEncoder3 = nullptr; // encodeText() then puts zeros where T5's tokens go
    m_t5Tokenizer.reset();
    return true;
}

Result<LatentShape> StableDiffusion3Model::latentShape(int width, int height) const {
    Result<LatentShape> shape = DiffusionModel::latentShape(width, height);
    if (!shape)
        return shape;
    const int64_t limit = m_transformer->maxLatentSize();
    if (shape->height > limit || shape->width > limit) {
        const int64_t pixels = limit * (width / shape->width);
        return Result<LatentShape>::fail(
            QStringLiteral(
                "%1×%2 is larger than this model's position table allows (at most %3 pixels a side).")
                .arg(width)
                .arg(height)
                .arg(pixels));
    }
    return shape;
}

Result<std::unique_ptr<sched::Scheduler>> StableDiffusion3Model::makeScheduler(const QString& name,
                                                                               const QJsonObject& config,
                                                                               int steps, int, int) const {
    Result<QString> flow = flowSamplerName(name, family());
    if (!flow)
        return Result<std::unique_ptr<sched::Scheduler>>::fail(flow.error());
    // diffusers' StableDiffusion3Pipeline: set_timesteps(steps) with the config's static shift.
    return DiffusionModel::makeScheduler(*flow, config, steps, 0, 0);
}

StableDiffusion3Model::Text StableDiffusion3Model::encodeText(const QString& text, int maxSequenceLength,
                                                              bool withT5, int clipSkip) const {
    Text out;
    std::vector<at::Tensor> clip;
    std::vector<at::Tensor> pooled;
    for (int i = 0; i < 2; ++i) {
        const text::ClipTokenizer& tokenizer = i == 0 ? *m_tokenizer : *m_tokenizer2;
        const text::TokenizedPrompt tokens = tokenizer.tokenize(text);
        out.clipTokens = std::max(out.clipTokens, tokens.promptTokens());
        out.clipCut = out.clipCut || tokens.truncated();
        const at::Tensor ids =
            at::tensor(tokens.ids, at::TensorOptions().dtype(at::kLong)).unsqueeze(0).to(m_device.device);
        nn::ClipTextOutput o;
        // diffusers: hidden_states[-(clip_skip + 2)], no final layer norm; pooled = text_embeds.
        clip.push_back(encodeClipChunk(i == 0 ? m_textEncoder : m_textEncoder2, ids,
                                       ClipLayer{1 + std::max(1, clipSkip), false}, &o));
        pooled.push_back(o.textEmbeds);
    }
    const int64_t joint = m_transformer->config().jointAttentionDim;
    at::Tensor clipContext = at::cat(clip, -1);
    clipContext = at::constant_pad_nd(clipContext, {0, joint - clipContext.size(-1)});
    at::Tensor t5;
    if (withT5 && m_textEncoder3) {
        const text::T5TokenizedPrompt tokens = m_t5Tokenizer->tokenize(text, maxSequenceLength);
        out.t5Tokens = tokens.promptTokens();
        out.t5Cut = tokens.truncated();
        // T5 may run on the CPU (its placement); its output joins CLIP's on the device.
        const at::Tensor ids = at::tensor(tokens.ids, at::TensorOptions().dtype(at::kLong))
                                   .unsqueeze(0)
                                   .to(componentDevice(QStringLiteral("text_encoder_3")));
        t5 = m_textEncoder3->forward(ids).to(clipContext.device(), clipContext.scalar_type());
    } else {
        t5 = at::zeros({1, maxSequenceLength, joint}, clipContext.options());
    }
    out.context = at::cat({clipContext, t5}, -2);
    out.pooled = at::cat(pooled, -1);
    return out;
}

Result<EncodedPrompts> StableDiffusion3Model::encodePrompts(const TextToImageParams& p, bool guided) {
    const int length = p.maxSequenceLength > 0 ? p.maxSequenceLength : kDefaultMaxSequenceLength;
    if (length > kMaxSequenceLength)
        return Result<EncodedPrompts>::fail(
            QStringLiteral("The T5 sequence length must be at most %1, not %2.")
                .arg(kMaxSequenceLength)
                .arg(length));
    const bool withT5 = !p.withoutT5 && m_textEncoder3;
    const Text cond = encodeText(p.prompt, length, withT5, p.clipSkip);
    EncodedPrompts e;
    e.cond = Conditioning{cond.context, cond.pooled, {}}.to(m_device.dtype);
    // diffusers: no negative prompt = the empty prompt, encoded (no zeros for SD 3).
    if (guided) {
        const Text neg = encodeText(p.negativePrompt.value_or(QString()), length, withT5, p.clipSkip);
        e.uncond = Conditioning{neg.context, neg.pooled, {}}.to(m_device.dtype);
    }
    e.promptTokens = std::max(cond.clipTokens, cond.t5Tokens);
    e.maxTokens = withT5 ? length - 1 : m_tokenizer->modelMaxLength() - 2;
    if (cond.clipCut)
        e.notes << QStringLiteral("CLIP reads the first %1 tokens of the prompt%2.")
                       .arg(m_tokenizer->modelMaxLength() - 2)
                       .arg(withT5 ? QStringLiteral("; T5 reads the rest") : QString());
    if (cond.t5Cut)
        e.notes << QStringLiteral("The prompt is %1 tokens; T5 reads the first %2 (max_sequence_length %3).")
                       .arg(cond.t5Tokens)
                       .arg(length - 1)
                       .arg(length);
    return Result<EncodedPrompts>::ok(std::move(e));
}

at::Tensor StableDiffusion3Model::denoise(const at::Tensor& x, const at::Tensor& timestep,
                                          const Conditioning& cond, double) {
    return m_transformer->forward(x, cond.context, cond.pooled, timestep.expand({x.size(0)}));
}

at::Tensor StableDiffusion3Model::decode(const at::Tensor& latents) {
    return decodeLatents(*m_vae, latents);
}

} // namespace tp::pipeline
