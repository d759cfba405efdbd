#include "core/nn/FluxTransformer2D.h"

#include "core/nn/ConfigJson.h"

#include <torch/nn/modules/container/modulelist.h>

#include <numeric>
#include <tuple>

namespace tp::nn {

namespace {
const QString kComponent = QStringLiteral("transformer");
// The blocks' layer norms and QK RMS norms use eps 1e-6 (fixed in diffusers).
constexpr double kEps = 1e-6;
// FluxSingleTransformerBlock's mlp_ratio (fixed in diffusers).
constexpr int64_t kMlpRatio = 4;
} // namespace

Result<FluxTransformer2DConfig> FluxTransformer2DConfig::fromJson(const QJsonObject& json) {
    ConfigReader r(json, kComponent);
    FluxTransformer2DConfig c;
    c.patchSize = r.integer("patch_size", 1);
    c.inChannels = r.integer("in_channels", 64);
    c.outChannels = r.integer("out_channels", c.inChannels); // null: in_channels
    c.numLayers = r.integer("num_layers", 19);
    c.numSingleLayers = r.integer("num_single_layers", 38);
    c.attentionHeadDim = r.integer("attention_head_dim", 128);
    c.numAttentionHeads = r.integer("num_attention_heads", 24);
    c.jointAttentionDim = r.integer("joint_attention_dim", 4096);
    c.pooledProjectionDim = r.integer("pooled_projection_dim", 768);
    c.guidanceEmbeds = r.boolean("guidance_embeds", false);
    if (r.has("axes_dims_rope"))
        c.axesDimsRope = r.integerList("axes_dims_rope");
    if (!r.status())
        return Result<FluxTransformer2DConfig>::fail(r.status().error());

    for (const auto& [value, key] : {std::pair{c.patchSize, "patch_size"},
                                     {c.inChannels, "in_channels"},
                                     {c.outChannels, "out_channels"},
                                     {c.attentionHeadDim, "attention_head_dim"},
                                     {c.numAttentionHeads, "num_attention_heads"},
                                     {c.jointAttentionDim, "joint_attention_dim"},
                                     {c.pooledProjectionDim, "pooled_projection_dim"}})
        if (value <= 0)
            r.fail(QStringLiteral("\"%1\" must be positive, not %2").arg(QLatin1String(key)).arg(value));
    if (c.numLayers < 0 || c.numSingleLayers < 0 || c.numLayers + c.numSingleLayers == 0)
        r.fail(QStringLiteral("num_layers %1 and num_single_layers %2 leave no blocks")
                   .arg(c.numLayers)
                   .arg(c.numSingleLayers));
    int64_t ropeDim = 0;
    for (int64_t d : c.axesDimsRope) {
        if (d <= 0 || d % 2 != 0)
            r.fail(QStringLiteral("axes_dims_rope entries must be positive and even, not %1").arg(d));
        ropeDim += d;
    }
    if (ropeDim != c.attentionHeadDim)
        r.fail(QStringLiteral("axes_dims_rope sum to %1 but attention_head_dim is %2")
                   .arg(ropeDim)
                   .arg(c.attentionHeadDim));
    if (!r.status())
        return Result<FluxTransformer2DConfig>::fail(r.status().error());
    return Result<FluxTransformer2DConfig>::ok(std::move(c));
}

Result<FluxTransformer2DConfig> FluxTransformer2DConfig::fromFile(const QString& path) {
    auto json = ConfigReader::readFile(path);
    if (!json)
        return Result<FluxTransformer2DConfig>::fail(json.error());
    auto config = fromJson(*json);
    if (!config)
        return Result<FluxTransformer2DConfig>::fail(QStringLiteral("%1 (%2)").arg(config.error(), path));
    return config;
}

namespace {
JointAttentionOptions fluxAttention(int64_t dim, int64_t heads, int64_t headDim, bool doubleStream) {
    JointAttentionOptions a;
    a.dim = dim;
    a.heads = heads;
    a.headDim = headDim;
    a.context = doubleStream;
    a.output = doubleStream; // the single blocks' attention is pre_only
    a.contextFirst = true;
    a.qkNorm = QkNorm::RmsTorch;
    a.eps = kEps;
    return a;
}
} // namespace

FluxTransformerBlockImpl::FluxTransformerBlockImpl(int64_t dim, int64_t heads, int64_t headDim,
                                                   const at::TensorOptions& t) {
    m_norm1 = register_module("norm1", AdaLayerNormZero(dim, 6, t));
    m_norm1Context = register_module("norm1_context", AdaLayerNormZero(dim, 6, t));
    m_attn = register_module("attn", JointAttention(fluxAttention(dim, heads, headDim, true), t));
    m_ff = register_module("ff", GeluFeedForward(dim, 4 * dim, dim, t));
    m_ffContext = register_module("ff_context", GeluFeedForward(dim, 4 * dim, dim, t));
}

std::pair<at::Tensor, at::Tensor> FluxTransformerBlockImpl::forward(const at::Tensor& x,
                                                                    const at::Tensor& context,
                                                                    const at::Tensor& temb,
                                                                    const RotaryEmbedding& rope) const {
    // shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp
    const auto m = m_norm1->modulation(temb);
    const auto cm = m_norm1Context->modulation(temb);
    const auto nx = modulate(layerNormNoAffine(x, kEps), m[0], m[1]);
    const auto nc = modulate(layerNormNoAffine(context, kEps), cm[0], cm[1]);
    const auto [attnOut, contextAttnOut] = m_attn->forward(nx, nc, &rope);

    auto h = x + m[2].unsqueeze(1) * attnOut;
    h = h + m[5].unsqueeze(1) * m_ff->forward(modulate(layerNormNoAffine(h, kEps), m[3], m[4]));

    auto c = context + cm[2].unsqueeze(1) * contextAttnOut;
    c = c + cm[5].unsqueeze(1) * m_ffContext->forward(modulate(layerNormNoAffine(c, kEps), cm[3], cm[4]));
    return {clipFloat16(c), h};
}

FluxSingleTransformerBlockImpl::FluxSingleTransformerBlockImpl(int64_t dim, int64_t heads, int64_t headDim,
                                                               const at::TensorOptions& t) {
    const int64_t mlpDim = dim * kMlpRatio;
    m_norm = register_module("norm", AdaLayerNormZero(dim, 3, t));
    m_projMlp = register_module("proj_mlp", Linear(dim, mlpDim, true, t));
    m_projOut = register_module("proj_out", Linear(dim + mlpDim, dim, true, t));
    m_attn = register_module("attn", JointAttention(fluxAttention(dim, heads, headDim, false), t));
}

at::Tensor FluxSingleTransformerBlockImpl::forward(const at::Tensor& tokens, const at::Tensor& temb,
                                                   const RotaryEmbedding& rope) const {
    const auto m = m_norm->modulation(temb); // shift_msa, scale_msa, gate_msa
    const auto normed = modulate(layerNormNoAffine(tokens, kEps), m[0], m[1]);
    const auto mlp = at::gelu(m_projMlp->forward(normed), "tanh");
    const auto attn = m_attn->forward(normed, at::Tensor(), &rope).first;
    const auto out = m[2].unsqueeze(1) * m_projOut->forward(at::cat({attn, mlp}, 2));
    return clipFloat16(tokens + out);
}

FluxTransformer2DImpl::FluxTransformer2DImpl(const FluxTransformer2DConfig& config,
                                             const at::TensorOptions& t)
    : torch::nn::Module("transformer")
    , m_config(config) {
    const auto& c = config;
    const int64_t dim = c.innerDim();
    TORCH_CHECK(dim > 0 && std::accumulate(c.axesDimsRope.begin(), c.axesDimsRope.end(), int64_t(0)) ==
                               c.attentionHeadDim,
                "FluxTransformer2D: inconsistent config (use FluxTransformer2DConfig::fromJson)");
    m_timeTextEmbed = register_module("time_text_embed",
                                      TimeTextEmbedding(dim, c.pooledProjectionDim, c.guidanceEmbeds, t));
    m_contextEmbedder = register_module("context_embedder", Linear(c.jointAttentionDim, dim, true, t));
    m_xEmbedder = register_module("x_embedder", Linear(c.inChannels, dim, true, t));
    auto blocks = register_module("transformer_blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < c.numLayers; ++i) {
        m_blocks.push_back(FluxTransformerBlock(dim, c.numAttentionHeads, c.attentionHeadDim, t));
        blocks->push_back(m_blocks.back());
    }
    auto singleBlocks = register_module("single_transformer_blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < c.numSingleLayers; ++i) {
        m_singleBlocks.push_back(FluxSingleTransformerBlock(dim, c.numAttentionHeads, c.attentionHeadDim, t));
        singleBlocks->push_back(m_singleBlocks.back());
    }
    m_normOut = register_module("norm_out", AdaLayerNormContinuous(dim, dim, kEps, t));
    m_projOut = register_module("proj_out", Linear(dim, c.patchSize * c.patchSize * c.outChannels, true, t));
}

RotaryEmbedding FluxTransformer2DImpl::rotaryEmbedding(const at::Tensor& imgIds,
                                                       const at::Tensor& txtIds) const {
    TORCH_CHECK(imgIds.dim() == 2 && txtIds.dim() == 2, "FluxTransformer2D: img_ids and txt_ids must be [N, ",
                m_config.axesDimsRope.size(), "] and [L, ", m_config.axesDimsRope.size(), "]");
    return tp::nn::rotaryEmbedding(at::cat({txtIds, imgIds.to(txtIds.device())}, 0), m_config.axesDimsRope,
                                   kFluxRopeTheta);
}

std::vector<torch::nn::Module*> FluxTransformer2DImpl::blocks() const {
    std::vector<torch::nn::Module*> out;
    for (const auto& b : m_blocks)
        out.push_back(b.ptr().get());
    for (const auto& b : m_singleBlocks)
        out.push_back(b.ptr().get());
    return out;
}

at::Tensor FluxTransformer2DImpl::forward(const at::Tensor& hiddenStates,
                                          const at::Tensor& encoderHiddenStates,
                                          const at::Tensor& pooledProjections, const at::Tensor& timestep,
                                          const at::Tensor& imgIds, const at::Tensor& txtIds,
                                          const at::Tensor& guidance) const {
    const auto& c = m_config;
    TORCH_CHECK(hiddenStates.dim() == 3 && hiddenStates.size(2) == c.inChannels,
                "FluxTransformer2D: hidden_states must be packed latents [B, N, ", c.inChannels, "], got ",
                hiddenStates.sizes());
    TORCH_CHECK(encoderHiddenStates.dim() == 3 && encoderHiddenStates.size(2) == c.jointAttentionDim,
                "FluxTransformer2D: encoder_hidden_states must be [B, L, ", c.jointAttentionDim, "], got ",
                encoderHiddenStates.sizes());
    TORCH_CHECK(imgIds.dim() == 2 && imgIds.size(0) == hiddenStates.size(1),
                "FluxTransformer2D: ", imgIds.sizes(), " img_ids for ", hiddenStates.size(1),
                " image tokens");
    TORCH_CHECK(txtIds.dim() == 2 && txtIds.size(0) == encoderHiddenStates.size(1),
                "FluxTransformer2D: ", txtIds.sizes(), " txt_ids for ", encoderHiddenStates.size(1),
                " text tokens");

    auto x = m_xEmbedder->forward(hiddenStates);
    const auto dtype = x.scalar_type();
    const auto t = timestep.to(x.device(), dtype) * 1000;
    const auto g = guidance.defined() ? guidance.to(x.device(), dtype) * 1000 : at::Tensor();
    const auto temb = m_timeTextEmbed->forward(t, pooledProjections, g);
    auto context = m_contextEmbedder->forward(encoderHiddenStates);
    const auto rope = rotaryEmbedding(imgIds.to(x.device()), txtIds.to(x.device()));

    int index = 0;
    for (const auto& block : m_blocks) {
        beforeBlock(index);
        std::tie(context, x) = block->forward(x, context, temb, rope);
        afterBlock(index++);
    }
    const int64_t textTokens = context.size(1);
    auto tokens = at::cat({context, x}, 1);
    for (const auto& block : m_singleBlocks) {
        beforeBlock(index);
        tokens = block->forward(tokens, temb, rope);
        afterBlock(index++);
    }
    x = tokens.narrow(1, textTokens, tokens.size(1) - textTokens);
    return m_projOut->forward(m_normOut->forward(x, temb));
}

at::Tensor packLatents(const at::Tensor& latents) {
    TORCH_CHECK(latents.dim() == 4 && latents.size(2) % 2 == 0 && latents.size(3) % 2 == 0,
                "packLatents: latents must be [B, C, H, W] with even H and W, got ", latents.sizes());
    const int64_t b = latents.size(0), ch = latents.size(1), h = latents.size(2), w = latents.size(3);
    return latents.reshape({b, ch, h / 2, 2, w / 2, 2})
        .permute({0, 2, 4, 1, 3, 5})
        .reshape({b, (h / 2) * (w / 2), ch * 4});
}

at::Tensor unpackLatents(const at::Tensor& packed, int64_t latentHeight, int64_t latentWidth) {
    TORCH_CHECK(packed.dim() == 3 && packed.size(2) % 4 == 0 && latentHeight % 2 == 0 &&
                    latentWidth % 2 == 0 && packed.size(1) == (latentHeight / 2) * (latentWidth / 2),
                "unpackLatents: ", packed.sizes(), " is not a packed ", latentHeight, "x", latentWidth,
                " latent");
    const int64_t b = packed.size(0), ch = packed.size(2);
    return packed.reshape({b, latentHeight / 2, latentWidth / 2, ch / 4, 2, 2})
        .permute({0, 3, 1, 4, 2, 5})
        .reshape({b, ch / 4, latentHeight, latentWidth});
}

at::Tensor latentImageIds(int64_t rows, int64_t cols, const at::TensorOptions& options) {
    // Made on options' device: small integers, exact in float32 everywhere, and no host-to-device
    // copy per step (one waits for the GPU and cannot be captured in a CUDA graph).
    const auto f32 = at::TensorOptions(at::kFloat).device(options.device());
    auto ids = at::zeros({rows, cols, 3}, f32);
    ids.select(2, 1).add_(at::arange(rows, f32).unsqueeze(1));
    ids.select(2, 2).add_(at::arange(cols, f32).unsqueeze(0));
    return ids.reshape({rows * cols, 3}).to(options);
}

} // namespace tp::nn
