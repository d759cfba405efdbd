#include "core/nn/DiTLayers.h"

#include "core/nn/Attention.h"

#include <c10/core/InferenceMode.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/version.h>

namespace tp::nn {

namespace {

// Timesteps(num_channels=256, flip_sin_to_cos=True, downscale_freq_shift=0): fixed in diffusers'
// combined embeddings, not a config value.
constexpr int64_t kTimeProjChannels = 256;

// A tensor the module owns but that a checkpoint may replace (built outside inference mode so
// that loading can set_data it, like Layers.cpp's parameters).
at::Tensor ownedTensor(const at::Tensor& value, const at::TensorOptions& options) {
    c10::InferenceMode normal(false);
    return value.to(options.requires_grad(false)).clone();
}

at::Tensor uninitialised(at::IntArrayRef shape, const at::TensorOptions& options) {
    c10::InferenceMode normal(false);
    return at::empty(shape, options.requires_grad(false));
}

#if TORCH_VERSION_MAJOR < 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR < 4)
// torch.nn.functional.rms_norm as libtorch 2.4 composes it, for libtorch without at::rms_norm:
// float32 for half inputs, eps rounded to the input's dtype.
at::Tensor torchRmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps) {
    const auto dtype = x.scalar_type();
    const bool reduced = dtype == at::kHalf || dtype == at::kBFloat16;
    const at::Tensor up = x.to(reduced ? at::kFloat : dtype);
    double epsVal = eps;
    if (dtype == at::kHalf)
        epsVal = static_cast<float>(c10::Half(static_cast<float>(eps)));
    else if (dtype == at::kBFloat16)
        epsVal = static_cast<float>(c10::BFloat16(static_cast<float>(eps)));
    else if (dtype == at::kFloat)
        epsVal = static_cast<float>(eps);
    const at::Tensor r = at::rsqrt(up.pow(2).mean(-1, /*keepdim=*/true).add_(epsVal));
    at::Tensor result = up.mul(r).type_as(x);
    return weight.defined() ? result.mul(weight) : result;
}
#endif

} // namespace

// --- normalisation and modulation -------------------------------------------------------------

RMSNormImpl::RMSNormImpl(int64_t dim, double eps, RmsNormKind kind, const at::TensorOptions& options)
    : m_eps(eps)
    , m_kind(kind) {
    m_weight = register_parameter("weight", uninitialised({dim}, options), false);
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) const {
    if (m_kind == RmsNormKind::Torch) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        return at::rms_norm(x, {x.size(-1)}, m_weight, m_eps);
#else
        return torchRmsNorm(x, m_weight, m_eps);
#endif
    }
    const at::Tensor variance = x.to(at::kFloat).pow(2).mean(-1, /*keepdim=*/true);
    at::Tensor h = x * at::rsqrt(variance + m_eps);
    const auto wt = m_weight.scalar_type();
    if (wt == at::kHalf || wt == at::kBFloat16)
        h = h.to(wt);
    return h * m_weight;
}

at::Tensor layerNormNoAffine(const at::Tensor& x, double eps) {
    return at::layer_norm(x, {x.size(-1)}, {}, {}, eps);
}

at::Tensor modulate(const at::Tensor& normed, const at::Tensor& shift, const at::Tensor& scale) {
    return normed * (scale.unsqueeze(1) + 1) + shift.unsqueeze(1);
}

AdaLayerNormZeroImpl::AdaLayerNormZeroImpl(int64_t dim, int64_t chunks, const at::TensorOptions& options)
    : m_chunks(chunks) {
    m_linear = register_module("linear", Linear(dim, chunks * dim, true, options));
}

std::vector<at::Tensor> AdaLayerNormZeroImpl::modulation(const at::Tensor& emb) const {
    return m_linear->forward(at::silu(emb)).chunk(m_chunks, 1);
}

AdaLayerNormContinuousImpl::AdaLayerNormContinuousImpl(int64_t dim, int64_t conditioningDim, double eps,
                                                       const at::TensorOptions& options)
    : m_eps(eps) {
    m_linear = register_module("linear", Linear(conditioningDim, 2 * dim, true, options));
}

at::Tensor AdaLayerNormContinuousImpl::forward(const at::Tensor& x, const at::Tensor& conditioning) const {
    const auto emb = m_linear->forward(at::silu(conditioning).to(x.scalar_type()));
    const auto parts = emb.chunk(2, 1); // scale, shift
    return modulate(layerNormNoAffine(x, m_eps), parts[1], parts[0]);
}

GeluFeedForwardImpl::GeluFeedForwardImpl(int64_t dim, int64_t innerDim, int64_t dimOut,
                                         const at::TensorOptions& options) {
    // diffusers: net = ModuleList([GELU(proj), Dropout, Linear]); keys net.0.proj, net.2.
    auto net = register_module("net", torch::nn::ModuleList());
    auto gelu = std::make_shared<torch::nn::Module>();
    m_proj = gelu->register_module("proj", Linear(dim, innerDim, true, options));
    net->push_back(gelu);
    net->push_back(torch::nn::Identity()); // the dropout's slot
    m_out = Linear(innerDim, dimOut, true, options);
    net->push_back(m_out);
}

at::Tensor GeluFeedForwardImpl::forward(const at::Tensor& x) const {
    return m_out->forward(at::gelu(m_proj->forward(x), "tanh"));
}

// --- embeddings --------------------------------------------------------------------------------

namespace {

// get_1d_sincos_pos_embed_from_grid(embedDim, pos, output_type="pt"): [M, embedDim] float64.
at::Tensor sincosPosEmbed1d(int64_t embedDim, const at::Tensor& pos) {
    auto omega = at::arange(embedDim / 2, at::TensorOptions(at::kDouble).device(pos.device()));
    omega = omega / (double(embedDim) / 2.0);
    omega = at::reciprocal(at::pow(10000, omega));
    const auto out = at::outer(pos.reshape(-1), omega);
    return at::cat({at::sin(out), at::cos(out)}, 1);
}

} // namespace

at::Tensor sincosPosEmbed2d(int64_t embedDim, int64_t gridSize, int64_t baseSize, double interpolationScale) {
    TORCH_CHECK(embedDim % 4 == 0, "2-D sin-cos position embedding: the width ", embedDim,
                " must be a multiple of 4");
    TORCH_CHECK(gridSize > 0 && baseSize > 0, "2-D sin-cos position embedding: empty grid");
    const auto grid = at::arange(gridSize, at::TensorOptions(at::kFloat)) /
                      (double(gridSize) / double(baseSize)) / interpolationScale;
    // meshgrid(grid_w, grid_h, indexing="xy"): row i, column j holds (w = grid[j], h = grid[i]).
    // Each element's sin/cos depends on one coordinate only, so the 1-D table of the grid is
    // computed once (the same float64 products as diffusers' per-element ones) and spread out:
    // [G², D] without G² sin/cos evaluations (SD 3.5 Large: 36864 × 2432).
    const auto line = sincosPosEmbed1d(embedDim / 2, grid).to(at::kFloat); // [G, D/2]
    const int64_t half = embedDim / 2;
    auto table = at::empty({gridSize, gridSize, embedDim}, line.options());
    table.narrow(2, 0, half).copy_(line.unsqueeze(0).expand({gridSize, gridSize, half}));
    table.narrow(2, half, half).copy_(line.unsqueeze(1).expand({gridSize, gridSize, half}));
    return table.reshape({gridSize * gridSize, embedDim});
}

PatchEmbedImpl::PatchEmbedImpl(int64_t inChannels, int64_t dim, int64_t patchSize, int64_t posEmbedMaxSize,
                               int64_t baseSize, const at::TensorOptions& options)
    : m_patch(patchSize)
    , m_maxSize(posEmbedMaxSize) {
    m_proj = register_module("proj", Conv2d(inChannels, dim, patchSize, patchSize, 0, true, options));
    m_posEmbed = register_buffer(
        "pos_embed", ownedTensor(sincosPosEmbed2d(dim, posEmbedMaxSize, baseSize).unsqueeze(0), options));
}

at::Tensor PatchEmbedImpl::croppedPosEmbed(int64_t rows, int64_t cols) const {
    TORCH_CHECK(rows <= m_maxSize && cols <= m_maxSize, "PatchEmbed: a grid of ", rows, "x", cols,
                " patches exceeds pos_embed_max_size ", m_maxSize, " (the largest image this model takes is ",
                m_maxSize * m_patch, " latent pixels a side)");
    const int64_t top = (m_maxSize - rows) / 2;
    const int64_t left = (m_maxSize - cols) / 2;
    const auto spatial =
        m_posEmbed.reshape({1, m_maxSize, m_maxSize, -1}).narrow(1, top, rows).narrow(2, left, cols);
    return spatial.reshape({1, -1, spatial.size(-1)});
}

at::Tensor PatchEmbedImpl::forward(const at::Tensor& latent) const {
    TORCH_CHECK(latent.dim() == 4, "PatchEmbed: latent must be [B, C, H, W]");
    TORCH_CHECK(latent.size(2) % m_patch == 0 && latent.size(3) % m_patch == 0, "PatchEmbed: latent size ",
                latent.size(2), "x", latent.size(3), " is not a multiple of the patch size ", m_patch);
    const auto pos = croppedPosEmbed(latent.size(2) / m_patch, latent.size(3) / m_patch);
    auto x = m_proj->forward(latent).flatten(2).transpose(1, 2); // BCHW -> BNC
    return (x + pos).to(x.scalar_type());
}

TimeTextEmbeddingImpl::TimeTextEmbeddingImpl(int64_t dim, int64_t pooledDim, bool guidance,
                                             const at::TensorOptions& options) {
    m_timestepEmbedder = register_module(
        "timestep_embedder", TimestepEmbedder(kTimeProjChannels, dim, Activation::Silu, 0, options));
    if (guidance)
        m_guidanceEmbedder = register_module(
            "guidance_embedder", TimestepEmbedder(kTimeProjChannels, dim, Activation::Silu, 0, options));
    // PixArtAlphaTextProjection(act_fn="silu"): linear_1, SiLU, linear_2 — TimestepEmbedding's shape.
    m_textEmbedder =
        register_module("text_embedder", TimestepEmbedder(pooledDim, dim, Activation::Silu, 0, options));
}

at::Tensor TimeTextEmbeddingImpl::forward(const at::Tensor& timestep, const at::Tensor& pooled,
                                          const at::Tensor& guidance) const {
    TORCH_CHECK(pooled.dim() == 2, "time/text embedding: pooled projections must be [B, D], got ",
                pooled.sizes());
    const int64_t batch = pooled.size(0);
    const auto dtype = pooled.scalar_type();
    const auto project = [&](const at::Tensor& t, const char* what) {
        auto flat = t.to(pooled.device()).reshape({-1});
        if (flat.numel() == 1)
            flat = flat.expand({batch});
        TORCH_CHECK(flat.numel() == batch, "time/text embedding: ", flat.numel(), " ", what,
                    " values for a batch of ", batch);
        return timestepEmbedding(flat, kTimeProjChannels, /*flipSinToCos=*/true, /*freqShift=*/0).to(dtype);
    };
    auto emb = m_timestepEmbedder->forward(project(timestep, "timestep"));
    if (m_guidanceEmbedder) {
        TORCH_CHECK(guidance.defined(),
                    "this model embeds the guidance scale (guidance_embeds): pass guidance");
        emb = emb + m_guidanceEmbedder->forward(project(guidance, "guidance"));
    } else {
        TORCH_CHECK(!guidance.defined(), "this model has no guidance embedding (guidance_embeds is false)");
    }
    return emb + m_textEmbedder->forward(pooled);
}

// --- rotary position embedding -----------------------------------------------------------------

RotaryEmbedding rotaryEmbedding(const at::Tensor& ids, const std::vector<int64_t>& axesDim, double theta) {
    TORCH_CHECK(ids.dim() == 2 && ids.size(1) == int64_t(axesDim.size()), "RoPE: ids must be [L, ",
                axesDim.size(), "], got ", ids.sizes());
    const auto pos = ids.to(at::kFloat);
    std::vector<at::Tensor> cosParts;
    std::vector<at::Tensor> sinParts;
    for (size_t i = 0; i < axesDim.size(); ++i) {
        const int64_t dim = axesDim[i];
        TORCH_CHECK(dim % 2 == 0, "RoPE: axis dimension ", dim, " is odd");
        // 1.0 / (theta ** (arange(0, dim, 2, float64) / dim)), outer with the float32 positions.
        const auto exponent =
            at::arange(0, dim, 2, at::TensorOptions(at::kDouble).device(ids.device())) / dim;
        const auto freqs = at::outer(pos.select(1, int64_t(i)), at::reciprocal(at::pow(theta, exponent)));
        cosParts.push_back(freqs.cos().repeat_interleave(2, 1).to(at::kFloat));
        sinParts.push_back(freqs.sin().repeat_interleave(2, 1).to(at::kFloat));
    }
    return {at::cat(cosParts, -1), at::cat(sinParts, -1)};
}

at::Tensor applyRotaryEmbedding(const at::Tensor& x, const RotaryEmbedding& rope, int64_t sequenceDim) {
    TORCH_CHECK(sequenceDim == 1 || sequenceDim == 2, "RoPE: the sequence dimension must be 1 or 2");
    TORCH_CHECK(x.dim() == 4 && rope.cos.size(0) == x.size(sequenceDim) && rope.cos.size(1) == x.size(3),
                "RoPE: ", rope.cos.sizes(), " does not fit ", x.sizes(), " (sequence dimension ", sequenceDim,
                ")");
    auto shape = x.sizes().vec();
    shape.back() /= 2;
    shape.push_back(2);
    const auto pairs = x.reshape(shape).unbind(-1); // real, imaginary
    const auto rotated = at::stack({-pairs[1], pairs[0]}, -1).flatten(3);
    // cos, sin [L, D] -> [1, 1, L, D] or [1, L, 1, D]
    const auto cos = rope.cos.to(x.device()).unsqueeze(0).unsqueeze(3 - sequenceDim);
    const auto sin = rope.sin.to(x.device()).unsqueeze(0).unsqueeze(3 - sequenceDim);
    return (x.to(at::kFloat) * cos + rotated.to(at::kFloat) * sin).to(x.scalar_type());
}

// --- joint attention ---------------------------------------------------------------------------

JointAttentionImpl::JointAttentionImpl(const JointAttentionOptions& o, const at::TensorOptions& tensorOptions)
    : m_options(o) {
    TORCH_CHECK(o.heads * o.headDim == o.dim, "JointAttention: ", o.heads, " heads of ", o.headDim,
                " do not make ", o.dim);
    const auto& t = tensorOptions;
    m_toQ = register_module("to_q", Linear(o.dim, o.dim, true, t));
    m_toK = register_module("to_k", Linear(o.dim, o.dim, true, t));
    m_toV = register_module("to_v", Linear(o.dim, o.dim, true, t));
    if (o.context) {
        m_addK = register_module("add_k_proj", Linear(o.dim, o.dim, true, t));
        m_addV = register_module("add_v_proj", Linear(o.dim, o.dim, true, t));
        m_addQ = register_module("add_q_proj", Linear(o.dim, o.dim, true, t));
    }
    if (o.qkNorm != QkNorm::None) {
        const auto kind = o.qkNorm == QkNorm::RmsTorch ? RmsNormKind::Torch : RmsNormKind::Diffusers;
        m_normQ = register_module("norm_q", RMSNorm(o.headDim, o.eps, kind, t));
        m_normK = register_module("norm_k", RMSNorm(o.headDim, o.eps, kind, t));
        if (o.context) {
            m_normAddedQ = register_module("norm_added_q", RMSNorm(o.headDim, o.eps, kind, t));
            m_normAddedK = register_module("norm_added_k", RMSNorm(o.headDim, o.eps, kind, t));
        }
    }
    if (o.output) {
        auto toOut = register_module("to_out", torch::nn::ModuleList());
        m_toOut = Linear(o.dim, o.dim, true, t);
        toOut->push_back(m_toOut);
        toOut->push_back(torch::nn::Identity()); // the dropout's slot
    }
    if (o.context && !o.contextPreOnly)
        m_toAddOut = register_module("to_add_out", Linear(o.dim, o.dim, true, t));
}

std::pair<at::Tensor, at::Tensor> JointAttentionImpl::forward(const at::Tensor& x, const at::Tensor& context,
                                                              const RotaryEmbedding* rope) const {
    const auto& o = m_options;
    TORCH_CHECK(context.defined() == o.context, "JointAttention: built ", o.context ? "with" : "without",
                " a context stream but called ", context.defined() ? "with" : "without", " one");
    // The processors' layouts, kept so that kernels see the same strides as in diffusers:
    // JointAttnProcessor2_0 works on [B, H, L, D] views and concatenates along the sequence (dim 2);
    // FluxAttnProcessor on [B, L, H, D], concatenating along dim 1 and permuting for attention.
    const bool flux = o.contextFirst;
    const int64_t seqDim = flux ? 1 : 2;
    const auto heads = [&](const Linear& proj, const at::Tensor& in, const RMSNorm& norm) {
        const auto p = proj->forward(in);
        auto h = flux ? p.unflatten(-1, {o.heads, o.headDim}) : splitHeads(p, o.heads);
        return norm ? norm->forward(h) : h;
    };
    auto q = heads(m_toQ, x, m_normQ);
    auto k = heads(m_toK, x, m_normK);
    auto v = heads(m_toV, x, RMSNorm(nullptr));
    const int64_t imageTokens = x.size(1);
    const int64_t contextTokens = context.defined() ? context.size(1) : 0;
    if (context.defined()) {
        const auto cq = heads(m_addQ, context, m_normAddedQ);
        const auto ck = heads(m_addK, context, m_normAddedK);
        const auto cv = heads(m_addV, context, RMSNorm(nullptr));
        const auto join = [&](const at::Tensor& image, const at::Tensor& text) {
            return flux ? at::cat({text, image}, seqDim) : at::cat({image, text}, seqDim);
        };
        q = join(q, cq);
        k = join(k, ck);
        v = join(v, cv);
    }
    if (rope) {
        q = applyRotaryEmbedding(q, *rope, seqDim);
        k = applyRotaryEmbedding(k, *rope, seqDim);
    }
    at::Tensor out;
    if (flux) {
        const auto bhld = [](const at::Tensor& t) { return t.permute({0, 2, 1, 3}); };
        out = scaledDotProductAttention(bhld(q), bhld(k), bhld(v)).permute({0, 2, 1, 3}).flatten(2, 3);
    } else {
        out = mergeHeads(scaledDotProductAttention(q, k, v));
    }
    out = out.to(q.scalar_type());
    if (!context.defined())
        return {o.output ? m_toOut->forward(out) : out, at::Tensor()};
    const int64_t imageStart = flux ? contextTokens : 0;
    const int64_t contextStart = flux ? 0 : imageTokens;
    auto image = out.narrow(1, imageStart, imageTokens);
    auto text = out.narrow(1, contextStart, contextTokens);
    if (flux) {
        // FluxAttnProcessor makes the halves contiguous: at::linear then fuses the bias into the
        // matrix product (addmm), which rounds differently in half precision than JointAttnProcessor2_0's
        // strided views (matmul, then the bias added).
        image = image.contiguous();
        text = text.contiguous();
    }
    if (o.output)
        image = m_toOut->forward(image);
    if (m_toAddOut)
        text = m_toAddOut->forward(text);
    else
        text = at::Tensor();
    return {image, text};
}

at::Tensor clipFloat16(const at::Tensor& x) {
    return x.scalar_type() == at::kHalf ? x.clip(-65504, 65504) : x;
}

} // namespace tp::nn
