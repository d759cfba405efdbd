#include "core/nn/SD3Transformer2D.h"

#include "core/nn/ConfigJson.h"

#include <torch/nn/modules/container/modulelist.h>

#include <algorithm>
#include <tuple>

namespace tp::nn {

namespace {
const QString kComponent = QStringLiteral("transformer");
// Every norm of the MMDiT blocks and its qk_norm use eps 1e-6 (diffusers hard-codes them).
constexpr double kEps = 1e-6;
} // namespace

Result<SD3Transformer2DConfig> SD3Transformer2DConfig::fromJson(const QJsonObject& json) {
    ConfigReader r(json, kComponent);
    SD3Transformer2DConfig c;
    c.sampleSize = r.integer("sample_size", 128);
    c.patchSize = r.integer("patch_size", 2);
    c.inChannels = r.integer("in_channels", 16);
    c.numLayers = r.integer("num_layers", 18);
    c.attentionHeadDim = r.integer("attention_head_dim", 64);
    c.numAttentionHeads = r.integer("num_attention_heads", 18);
    c.jointAttentionDim = r.integer("joint_attention_dim", 4096);
    c.captionProjectionDim = r.integer("caption_projection_dim", 1152);
    c.pooledProjectionDim = r.integer("pooled_projection_dim", 2048);
    c.outChannels = r.integer("out_channels", c.inChannels); // null: in_channels
    if (!r.has("pos_embed_max_size") && json.contains(QLatin1String("pos_embed_max_size")))
        r.fail(QStringLiteral(
            "\"pos_embed_max_size\" = null (interpolated position embeddings) is not supported"));
    c.posEmbedMaxSize = r.integer("pos_embed_max_size", 96);
    if (r.has("dual_attention_layers"))
        c.dualAttentionLayers = r.integerList("dual_attention_layers");
    const QString qkNorm = r.string("qk_norm", QString());
    if (qkNorm == QLatin1String("rms_norm"))
        c.qkNorm = true;
    else if (!qkNorm.isEmpty())
        r.fail(QStringLiteral("qk_norm \"%1\" is not supported (null or \"rms_norm\")").arg(qkNorm));
    if (!r.status())
        return Result<SD3Transformer2DConfig>::fail(r.status().error());

    for (const auto& [value, key] : {std::pair{c.sampleSize, "sample_size"},
                                     {c.patchSize, "patch_size"},
                                     {c.inChannels, "in_channels"},
                                     {c.numLayers, "num_layers"},
                                     {c.attentionHeadDim, "attention_head_dim"},
                                     {c.numAttentionHeads, "num_attention_heads"},
                                     {c.jointAttentionDim, "joint_attention_dim"},
                                     {c.pooledProjectionDim, "pooled_projection_dim"},
                                     {c.outChannels, "out_channels"},
                                     {c.posEmbedMaxSize, "pos_embed_max_size"}})
        if (value <= 0)
            r.fail(QStringLiteral("\"%1\" must be positive, not %2").arg(QLatin1String(key)).arg(value));
    if (c.captionProjectionDim != c.innerDim())
        r.fail(QStringLiteral(
                   "caption_projection_dim %1 differs from num_attention_heads × attention_head_dim = %2")
                   .arg(c.captionProjectionDim)
                   .arg(c.innerDim()));
    if (c.innerDim() % 4 != 0)
        r.fail(QStringLiteral("the width %1 must be a multiple of 4 (2-D position embedding)")
                   .arg(c.innerDim()));
    if (c.sampleSize < c.patchSize)
        r.fail(QStringLiteral("sample_size %1 is smaller than patch_size %2")
                   .arg(c.sampleSize)
                   .arg(c.patchSize));
    for (int64_t i : c.dualAttentionLayers)
        if (i < 0 || i >= c.numLayers)
            r.fail(QStringLiteral("dual_attention_layers names block %1 of %2").arg(i).arg(c.numLayers));
    if (!r.status())
        return Result<SD3Transformer2DConfig>::fail(r.status().error());
    return Result<SD3Transformer2DConfig>::ok(std::move(c));
}

Result<SD3Transformer2DConfig> SD3Transformer2DConfig::fromFile(const QString& path) {
    auto json = ConfigReader::readFile(path);
    if (!json)
        return Result<SD3Transformer2DConfig>::fail(json.error());
    auto config = fromJson(*json);
    if (!config)
        return Result<SD3Transformer2DConfig>::fail(QStringLiteral("%1 (%2)").arg(config.error(), path));
    return config;
}

JointTransformerBlockImpl::JointTransformerBlockImpl(const JointTransformerBlockOptions& o,
                                                     const at::TensorOptions& t)
    : m_options(o) {
    m_norm1 = register_module("norm1", AdaLayerNormZero(o.dim, o.dualAttention ? 9 : 6, t));
    if (o.contextPreOnly)
        m_norm1ContextFinal = register_module("norm1_context", AdaLayerNormContinuous(o.dim, o.dim, kEps, t));
    else
        m_norm1Context = register_module("norm1_context", AdaLayerNormZero(o.dim, 6, t));
    JointAttentionOptions a;
    a.dim = o.dim;
    a.heads = o.heads;
    a.headDim = o.headDim;
    a.context = true;
    a.contextPreOnly = o.contextPreOnly;
    a.qkNorm = o.qkNorm ? QkNorm::RmsDiffusers : QkNorm::None;
    a.eps = kEps;
    m_attn = register_module("attn", JointAttention(a, t));
    if (o.dualAttention) {
        JointAttentionOptions a2 = a;
        a2.context = false;
        a2.contextPreOnly = false;
        m_attn2 = register_module("attn2", JointAttention(a2, t));
    }
    m_ff = register_module("ff", GeluFeedForward(o.dim, 4 * o.dim, o.dim, t));
    if (!o.contextPreOnly)
        m_ffContext = register_module("ff_context", GeluFeedForward(o.dim, 4 * o.dim, o.dim, t));
}

std::pair<at::Tensor, at::Tensor> JointTransformerBlockImpl::forward(const at::Tensor& x,
                                                                     const at::Tensor& context,
                                                                     const at::Tensor& temb) const {
    // norm1: shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp[, shift_msa2, scale_msa2,
    // gate_msa2]
    const auto m = m_norm1->modulation(temb);
    const auto normed = layerNormNoAffine(x, kEps);
    const auto nx = modulate(normed, m[0], m[1]);

    at::Tensor nc;
    std::vector<at::Tensor> cm;
    if (m_options.contextPreOnly) {
        nc = m_norm1ContextFinal->forward(context, temb);
    } else {
        cm = m_norm1Context->modulation(temb);
        nc = modulate(layerNormNoAffine(context, kEps), cm[0], cm[1]);
    }

    auto [attnOut, contextAttnOut] = m_attn->forward(nx, nc);
    auto h = x + m[2].unsqueeze(1) * attnOut;
    if (m_attn2) {
        const auto nx2 = modulate(normed, m[6], m[7]);
        h = h + m[8].unsqueeze(1) * m_attn2->forward(nx2).first;
    }
    const auto nh = modulate(layerNormNoAffine(h, kEps), m[3], m[4]);
    h = h + m[5].unsqueeze(1) * m_ff->forward(nh);

    if (m_options.contextPreOnly)
        return {at::Tensor(), h};
    auto c = context + cm[2].unsqueeze(1) * contextAttnOut;
    const auto ncf = modulate(layerNormNoAffine(c, kEps), cm[3], cm[4]);
    c = c + cm[5].unsqueeze(1) * m_ffContext->forward(ncf);
    return {c, h};
}

SD3Transformer2DImpl::SD3Transformer2DImpl(const SD3Transformer2DConfig& config, const at::TensorOptions& t)
    : torch::nn::Module("transformer")
    , m_config(config) {
    const auto& c = config;
    const int64_t dim = c.innerDim();
    TORCH_CHECK(dim > 0 && c.captionProjectionDim == dim && c.numLayers > 0,
                "SD3Transformer2D: inconsistent config (use SD3Transformer2DConfig::fromJson)");
    m_posEmbed = register_module("pos_embed", PatchEmbed(c.inChannels, dim, c.patchSize, c.posEmbedMaxSize,
                                                         c.sampleSize / c.patchSize, t));
    m_timeTextEmbed =
        register_module("time_text_embed", TimeTextEmbedding(dim, c.pooledProjectionDim, false, t));
    m_contextEmbedder = register_module("context_embedder", Linear(c.jointAttentionDim, dim, true, t));
    auto blocks = register_module("transformer_blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < c.numLayers; ++i) {
        JointTransformerBlockOptions o;
        o.dim = dim;
        o.heads = c.numAttentionHeads;
        o.headDim = c.attentionHeadDim;
        o.contextPreOnly = i == c.numLayers - 1;
        o.qkNorm = c.qkNorm;
        o.dualAttention = std::find(c.dualAttentionLayers.begin(), c.dualAttentionLayers.end(), i) !=
                          c.dualAttentionLayers.end();
        m_blocks.push_back(JointTransformerBlock(o, t));
        blocks->push_back(m_blocks.back());
    }
    m_normOut = register_module("norm_out", AdaLayerNormContinuous(dim, dim, kEps, t));
    m_projOut = register_module("proj_out", Linear(dim, c.patchSize * c.patchSize * c.outChannels, true, t));
}

std::vector<torch::nn::Module*> SD3Transformer2DImpl::blocks() const {
    std::vector<torch::nn::Module*> out;
    for (const auto& b : m_blocks)
        out.push_back(b.ptr().get());
    return out;
}

at::Tensor SD3Transformer2DImpl::forward(const at::Tensor& hiddenStates,
                                         const at::Tensor& encoderHiddenStates,
                                         const at::Tensor& pooledProjections,
                                         const at::Tensor& timestep) const {
    const auto& c = m_config;
    TORCH_CHECK(hiddenStates.dim() == 4 && hiddenStates.size(1) == c.inChannels,
                "SD3Transformer2D: hidden_states must be [B, ", c.inChannels, ", H, W], got ",
                hiddenStates.sizes());
    TORCH_CHECK(encoderHiddenStates.dim() == 3 && encoderHiddenStates.size(2) == c.jointAttentionDim,
                "SD3Transformer2D: encoder_hidden_states must be [B, L, ", c.jointAttentionDim, "], got ",
                encoderHiddenStates.sizes());
    TORCH_CHECK(pooledProjections.dim() == 2 && pooledProjections.size(1) == c.pooledProjectionDim,
                "SD3Transformer2D: pooled_projections must be [B, ", c.pooledProjectionDim, "], got ",
                pooledProjections.sizes());
    const int64_t batch = hiddenStates.size(0);
    const int64_t height = hiddenStates.size(2);
    const int64_t width = hiddenStates.size(3);

    auto x = m_posEmbed->forward(hiddenStates).contiguous();
    const auto temb = m_timeTextEmbed->forward(timestep, pooledProjections);
    auto context = m_contextEmbedder->forward(encoderHiddenStates);
    for (size_t i = 0; i < m_blocks.size(); ++i) {
        beforeBlock(static_cast<int>(i));
        std::tie(context, x) = m_blocks[i]->forward(x, context, temb);
        afterBlock(static_cast<int>(i));
    }
    x = m_projOut->forward(m_normOut->forward(x, temb));

    // unpatchify: [B, h·w, p·p·C] -> einsum("nhwpqc->nchpwq") -> [B, C, h·p, w·p]
    const int64_t p = c.patchSize;
    x = x.reshape({batch, height / p, width / p, p, p, c.outChannels}).permute({0, 5, 1, 3, 2, 4});
    return x.reshape({batch, c.outChannels, height, width});
}

} // namespace tp::nn
