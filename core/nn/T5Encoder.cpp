#include "core/nn/T5Encoder.h"

#include "core/common/Log.h"
#include "core/io/Fp8.h"
#include "core/io/SafeTensors.h"
#include "core/nn/Attention.h"
#include "core/nn/ConfigJson.h"
#include "core/nn/WeightLoader.h"

#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <torch/nn/modules/container/modulelist.h>

#include <QStringList>

#include <cmath>
#include <limits>

namespace tp::nn {

namespace {

bool isHalf(at::ScalarType t) {
    return t == at::kHalf || t == at::kBFloat16;
}

// The dtype's lowest finite value (transformers' torch.finfo(dtype).min for masks).
double lowest(at::ScalarType dtype) {
    switch (dtype) {
    case at::kHalf:
        return -65504.0;
    case at::kBFloat16:
        return -3.3895313892515355e38;
    case at::kDouble:
        return std::numeric_limits<double>::lowest();
    default:
        return std::numeric_limits<float>::lowest();
    }
}

// transformers' T5Block: float16 hidden states are clamped to the finite range (a little inside
// it when something overflowed) after each sub-layer. Computed on the device, no sync.
at::Tensor clampFloat16(const at::Tensor& h) {
    if (h.scalar_type() != at::kHalf)
        return h;
    constexpr double kMax = 65504.0;
    const auto limit = at::where(at::isinf(h).any(), kMax - 1000.0, kMax);
    return at::clamp(h, -limit, limit);
}

// A handle on a layer's "weight" parameter (set_data on it changes the parameter).
at::Tensor weightOf(const torch::nn::Module& module) {
    return module.named_parameters(/*recurse=*/false)["weight"];
}

} // namespace

// ---- modules (keys as transformers names them) ---------------------------------------

// T5LayerNorm: RMS norm without mean or bias. The variance is taken in float32; the normalised
// value (float32 for half inputs) is cast to the weight's dtype only when that is half.
class T5LayerNormImpl final : public torch::nn::Module {
public:
    T5LayerNormImpl(int64_t dim, double eps, const at::TensorOptions& o)
        : m_eps(eps) {
        c10::InferenceMode normal(false);
        m_weight = register_parameter("weight", at::empty({dim}, o.requires_grad(false)), false);
    }
    at::Tensor forward(const at::Tensor& x) const {
        const auto variance = x.to(at::kFloat).pow(2).mean(-1, /*keepdim=*/true);
        auto h = x * at::rsqrt(variance + m_eps);
        if (isHalf(m_weight.scalar_type()))
            h = h.to(m_weight.scalar_type());
        return m_weight * h;
    }

private:
    at::Tensor m_weight;
    double m_eps;
};
TORCH_MODULE(T5LayerNorm);

class T5AttentionImpl final : public torch::nn::Module {
public:
    T5AttentionImpl(const T5Config& c, bool hasRelativeAttentionBias, const at::TensorOptions& o)
        : m_heads(c.numHeads) {
        m_q = register_module("q", Linear(c.dModel, c.innerDim(), false, o));
        m_k = register_module("k", Linear(c.dModel, c.innerDim(), false, o));
        m_v = register_module("v", Linear(c.dModel, c.innerDim(), false, o));
        m_o = register_module("o", Linear(c.innerDim(), c.dModel, false, o));
        if (hasRelativeAttentionBias)
            m_relativeAttentionBias = register_module(
                "relative_attention_bias", Embedding(c.relativeAttentionNumBuckets, c.numHeads, o));
    }

    // `bias`: [B or 1, H, L, L], position bias plus padding mask, added to the unscaled scores.
    at::Tensor forward(const at::Tensor& x, const at::Tensor& bias) const {
        AttentionOptions options;
        options.scale = 1.0; // T5 does not scale q k^T
        // The manual path (libtorch 1.x) takes the scores in float32 where transformers takes the
        // softmax in float32: the unscaled half-precision scores can overflow.
        options.upcast = true;
        auto out = scaledDotProductAttention(splitHeads(m_q->forward(x), m_heads),
                                             splitHeads(m_k->forward(x), m_heads),
                                             splitHeads(m_v->forward(x), m_heads), bias, options);
        return m_o->forward(mergeHeads(out));
    }

    Embedding relativeAttentionBias() const { return m_relativeAttentionBias; }

private:
    int64_t m_heads;
    Linear m_q{nullptr}, m_k{nullptr}, m_v{nullptr}, m_o{nullptr};
    Embedding m_relativeAttentionBias{nullptr};
};
TORCH_MODULE(T5Attention);

class T5LayerSelfAttentionImpl final : public torch::nn::Module {
public:
    T5LayerSelfAttentionImpl(const T5Config& c, bool hasRelativeAttentionBias, const at::TensorOptions& o) {
        m_attention = register_module("SelfAttention", T5Attention(c, hasRelativeAttentionBias, o));
        m_layerNorm = register_module("layer_norm", T5LayerNorm(c.dModel, c.layerNormEpsilon, o));
    }
    at::Tensor forward(const at::Tensor& h, const at::Tensor& bias) const {
        return h + m_attention->forward(m_layerNorm->forward(h), bias);
    }

    T5Attention m_attention{nullptr};
    T5LayerNorm m_layerNorm{nullptr};
};
TORCH_MODULE(T5LayerSelfAttention);

// T5DenseGatedActDense / T5DenseActDense.
class T5DenseImpl final : public torch::nn::Module {
public:
    T5DenseImpl(const T5Config& c, const at::TensorOptions& o)
        : m_gated(c.isGatedAct)
        , m_act(c.denseActFn) {
        if (m_gated) {
            m_wi0 = register_module("wi_0", Linear(c.dModel, c.dFf, false, o));
            m_wi1 = register_module("wi_1", Linear(c.dModel, c.dFf, false, o));
        } else {
            m_wi0 = register_module("wi", Linear(c.dModel, c.dFf, false, o));
        }
        m_wo = register_module("wo", Linear(c.dFf, c.dModel, false, o));
    }
    at::Tensor forward(const at::Tensor& x) const {
        auto h = activate(m_wi0->forward(x), m_act);
        if (m_gated)
            h = h * m_wi1->forward(x);
        // wo may be float32 under float16 (transformers' _keep_in_fp32_modules); an fp8 wo is
        // upcast to h's dtype by the layer itself.
        const auto woType = weightOf(*m_wo).scalar_type();
        if (h.scalar_type() != woType && !io::isFp8(woType))
            h = h.to(woType);
        return m_wo->forward(h);
    }
    at::Tensor woWeight() const { return weightOf(*m_wo); }

private:
    bool m_gated;
    Activation m_act;
    Linear m_wi0{nullptr}, m_wi1{nullptr}, m_wo{nullptr};
};
TORCH_MODULE(T5Dense);

class T5LayerFFImpl final : public torch::nn::Module {
public:
    T5LayerFFImpl(const T5Config& c, const at::TensorOptions& o) {
        m_dense = register_module("DenseReluDense", T5Dense(c, o));
        m_layerNorm = register_module("layer_norm", T5LayerNorm(c.dModel, c.layerNormEpsilon, o));
    }
    at::Tensor forward(const at::Tensor& h) const { return h + m_dense->forward(m_layerNorm->forward(h)); }

    T5Dense m_dense{nullptr};
    T5LayerNorm m_layerNorm{nullptr};
};
TORCH_MODULE(T5LayerFF);

class T5BlockImpl final : public torch::nn::Module {
public:
    T5BlockImpl(const T5Config& c, bool hasRelativeAttentionBias, const at::TensorOptions& o) {
        auto layer = register_module("layer", torch::nn::ModuleList());
        m_selfAttention = T5LayerSelfAttention(c, hasRelativeAttentionBias, o);
        m_feedForward = T5LayerFF(c, o);
        layer->push_back(m_selfAttention);
        layer->push_back(m_feedForward);
    }
    at::Tensor forward(const at::Tensor& h, const at::Tensor& bias) const {
        auto out = clampFloat16(m_selfAttention->forward(h, bias));
        return clampFloat16(m_feedForward->forward(out));
    }

    T5LayerSelfAttention m_selfAttention{nullptr};
    T5LayerFF m_feedForward{nullptr};
};
TORCH_MODULE(T5Block);

// T5Stack (the encoder) without its embed_tokens, which is the model's `shared` (tied).
class T5StackImpl final : public torch::nn::Module {
public:
    T5StackImpl(const T5Config& c, const at::TensorOptions& o) {
        auto block = register_module("block", torch::nn::ModuleList());
        for (int64_t i = 0; i < c.numLayers; ++i) {
            m_blocks.push_back(T5Block(c, /*hasRelativeAttentionBias=*/i == 0, o));
            block->push_back(m_blocks.back());
        }
        m_finalLayerNorm = register_module("final_layer_norm", T5LayerNorm(c.dModel, c.layerNormEpsilon, o));
    }

    std::vector<T5Block> m_blocks;
    T5LayerNorm m_finalLayerNorm{nullptr};
};

// ---- relative positions ------------------------------------------------------------------

at::Tensor t5RelativePositionBucket(const at::Tensor& relativePosition, bool bidirectional,
                                    int64_t numBuckets, int64_t maxDistance) {
    auto position = relativePosition.to(at::kLong);
    at::Tensor buckets = at::zeros_like(position);
    if (bidirectional) {
        numBuckets /= 2;
        buckets = buckets + position.gt(0).to(at::kLong) * numBuckets;
        position = position.abs();
    } else {
        position = -at::min(position, at::zeros_like(position));
    }
    // Half the buckets count exact distances, the other half grow logarithmically up to
    // maxDistance; the arithmetic is transformers' own (float32 log, truncation).
    const int64_t maxExact = numBuckets / 2;
    const auto isSmall = position.lt(maxExact);
    auto large = (at::log(position.to(at::kFloat) / double(maxExact)) /
                  std::log(double(maxDistance) / double(maxExact)) * double(numBuckets - maxExact))
                     .to(at::kLong) +
                 maxExact;
    large = at::min(large, at::full_like(large, numBuckets - 1));
    return buckets + at::where(isSmall, position, large);
}

// ---- config ----------------------------------------------------------------------------

Result<T5Config> T5Config::fromJson(const QJsonObject& json) {
    ConfigReader r(json, QStringLiteral("T5 text encoder"));
    T5Config c;
    const QString modelType = r.string("model_type", QStringLiteral("t5"));
    if (modelType != QLatin1String("t5") && modelType != QLatin1String("mt5"))
        r.fail(
            QStringLiteral("model_type \"%1\" is not a T5 encoder (supported: t5, mt5; UMT5 has a position "
                           "bias in every layer and is not supported)")
                .arg(modelType));
    // transformers' attribute_map spells three fields the generic way too.
    auto field = [&](const char* key, const char* alias, int64_t fallback) {
        return r.has(key) ? r.integer(key) : r.integer(alias, fallback);
    };
    c.vocabSize = r.integer("vocab_size", c.vocabSize);
    c.dModel = field("d_model", "hidden_size", c.dModel);
    c.dKv = r.integer("d_kv", c.dKv);
    c.dFf = r.integer("d_ff", c.dFf);
    c.numLayers = field("num_layers", "num_hidden_layers", c.numLayers);
    c.numHeads = field("num_heads", "num_attention_heads", c.numHeads);
    c.relativeAttentionNumBuckets =
        r.integer("relative_attention_num_buckets", c.relativeAttentionNumBuckets);
    c.relativeAttentionMaxDistance =
        r.integer("relative_attention_max_distance", c.relativeAttentionMaxDistance);
    c.layerNormEpsilon = r.number("layer_norm_epsilon", c.layerNormEpsilon);
    c.padTokenId = r.integer("pad_token_id", c.padTokenId);
    c.eosTokenId = r.integer("eos_token_id", c.eosTokenId);
    if (r.boolean("is_decoder", false))
        r.fail(QStringLiteral("\"is_decoder\" is true: this is a T5 decoder config, not the encoder's"));

    // feed_forward_proj "gated-ACT" or "ACT" (T5Config.__init__); "gated-gelu" is gelu_new for
    // backward compatibility. dense_act_fn / is_gated_act, when a config spells them out, win
    // (transformers sets them from the remaining keys after deriving them).
    const QString proj = r.string("feed_forward_proj", QStringLiteral("relu"));
    const QStringList parts = proj.split(QLatin1Char('-'));
    if (parts.size() > 2 || (parts.size() == 2 && parts[0] != QLatin1String("gated")))
        r.fail(QStringLiteral("feed_forward_proj \"%1\" is not of the form \"gated-ACT\" or \"ACT\" (e.g. "
                              "\"gated-gelu\", \"relu\")")
                   .arg(proj));
    c.isGatedAct = r.boolean("is_gated_act", parts.size() == 2 && parts[0] == QLatin1String("gated"));
    QString act = proj == QLatin1String("gated-gelu") ? QStringLiteral("gelu_new") : parts.last();
    act = r.string("dense_act_fn", act);
    if (auto parsed = parseActivation(act))
        c.denseActFn = *parsed;
    else
        r.fail(QStringLiteral("feed_forward_proj \"%1\": %2").arg(proj, parsed.error()));

    if (c.vocabSize <= 0 || c.dModel <= 0 || c.dKv <= 0 || c.dFf <= 0 || c.numLayers <= 0 || c.numHeads <= 0)
        r.fail(QStringLiteral("vocab_size, d_model, d_kv, d_ff, num_layers and num_heads must be positive"));
    // Bidirectional buckets: half per direction, half of those exact, the rest logarithmic up
    // to the maximum distance, which must lie beyond the exact range.
    const int64_t maxExact = c.relativeAttentionNumBuckets / 4;
    if (c.relativeAttentionNumBuckets < 4 || c.relativeAttentionMaxDistance <= maxExact)
        r.fail(
            QStringLiteral("relative_attention_num_buckets %1 / relative_attention_max_distance %2: need at "
                           "least 4 buckets and a distance above a quarter of them")
                .arg(c.relativeAttentionNumBuckets)
                .arg(c.relativeAttentionMaxDistance));
    if (!(c.layerNormEpsilon > 0))
        r.fail(QStringLiteral("layer_norm_epsilon must be positive"));
    if (!r.status())
        return Result<T5Config>::fail(r.status().error());
    return Result<T5Config>::ok(c);
}

Result<T5Config> T5Config::fromFile(const QString& path) {
    auto json = ConfigReader::readFile(path);
    if (!json)
        return Result<T5Config>::fail(json.error());
    auto config = fromJson(*json);
    if (!config)
        return Result<T5Config>::fail(QStringLiteral("%1 (%2)").arg(config.error(), path));
    return config;
}

// ---- model -------------------------------------------------------------------------------

T5EncoderModelImpl::T5EncoderModelImpl(const T5Config& config, const at::TensorOptions& tensorOptions,
                                       const std::string& name)
    : torch::nn::Module(name)
    , m_config(config) {
    m_shared = register_module("shared", Embedding(config.vocabSize, config.dModel, tensorOptions));
    m_encoder = register_module("encoder", std::make_shared<T5StackImpl>(config, tensorOptions));
}

at::Tensor T5EncoderModelImpl::positionBias(int64_t queryLength, int64_t keyLength) const {
    const auto table = m_encoder->m_blocks.front()->m_selfAttention->m_attention->relativeAttentionBias();
    const auto device = weightOf(*table).device();
    const auto options = at::TensorOptions().device(device).dtype(at::kLong);
    const auto relative =
        at::arange(keyLength, options).unsqueeze(0) - at::arange(queryLength, options).unsqueeze(1);
    const auto buckets =
        t5RelativePositionBucket(relative, /*bidirectional=*/true, m_config.relativeAttentionNumBuckets,
                                 m_config.relativeAttentionMaxDistance);
    return table->forward(buckets).permute({2, 0, 1}).unsqueeze(0); // [1, H, lq, lk]
}

at::Tensor T5EncoderModelImpl::forward(const at::Tensor& inputIds, const at::Tensor& attentionMask) const {
    TORCH_CHECK(inputIds.dim() == 2, "T5 encoder: input_ids must be [B, L], got ", inputIds.dim(),
                " dimensions");
    const auto& embedding = weightOf(*m_shared);
    const auto ids = inputIds.to(embedding.device(), at::kLong);
    const int64_t batch = ids.size(0);
    const int64_t length = ids.size(1);
    if (ids.numel() > 0) {
        // An id outside the table would fault on the GPU; one sync per prompt batch is cheap.
        const auto [low, high] = at::aminmax(ids);
        const auto range = at::stack({low, high}).cpu();
        const int64_t first = range[0].item<int64_t>();
        const int64_t last = range[1].item<int64_t>();
        TORCH_CHECK(first >= 0 && last < m_config.vocabSize, "T5 encoder: token ids ", first, "..", last,
                    " outside the vocabulary of ", m_config.vocabSize);
    }
    auto h = m_shared->forward(ids);

    // The position bias of block 0, shared by all blocks, with the padding mask folded in as
    // transformers does ((1 - mask) * lowest, in the embedding's dtype).
    auto bias = positionBias(length, length);
    if (attentionMask.defined()) {
        TORCH_CHECK(attentionMask.dim() == 2 && attentionMask.size(0) == batch &&
                        attentionMask.size(1) == length,
                    "T5 encoder: attention_mask must be [", batch, ", ", length, "]");
        const auto mask = attentionMask.to(h.device(), h.scalar_type());
        bias = bias + ((1.0 - mask) * lowest(h.scalar_type())).view({batch, 1, 1, length});
    }
    for (const auto& block : m_encoder->m_blocks)
        h = block->forward(h, bias);
    return m_encoder->m_finalLayerNorm->forward(h);
}

std::vector<at::Tensor> T5EncoderModelImpl::feedForwardOutputWeights() const {
    std::vector<at::Tensor> out;
    for (const auto& block : m_encoder->m_blocks)
        out.push_back(block->m_feedForward->m_dense->woWeight());
    return out;
}

// ---- loading -----------------------------------------------------------------------------

Status loadT5EncoderWeights(T5EncoderModelImpl& model, const tp::io::SafeTensorsArchive& weights,
                            const QString& prefix, at::Device device, at::ScalarType dtype,
                            const T5LoadOptions& options, LoadReport* report) {
    const QString component = QString::fromStdString(model.name());
    const QString shared = prefix + QStringLiteral("shared.weight");
    const QString embedTokens = prefix + QStringLiteral("encoder.embed_tokens.weight");
    LoadReport total;
    if (weights.contains(shared)) {
        if (auto status = loadWeights(model, weights, prefix, device, dtype, &total); !status)
            return status;
    } else if (weights.contains(embedTokens)) {
        // The tied embedding under the encoder's name only: load through a view of the model
        // that has it there (the same tensors), so that loadWeights still checks everything first.
        auto view = std::make_shared<torch::nn::Module>(model.name());
        auto encoder = std::make_shared<torch::nn::Module>();
        for (const auto& child : model.named_children()["encoder"]->named_children())
            encoder->register_module(child.key(), child.value());
        encoder->register_module("embed_tokens", model.named_children()["shared"]);
        view->register_module("encoder", encoder);
        if (auto status = loadWeights(*view, weights, prefix, device, dtype, &total); !status)
            return status;
    } else {
        return Status::fail(
            QStringLiteral("%1: the token embedding is missing from %2: neither %3 nor %4 (is this "
                           "a T5 encoder checkpoint, and is the prefix right?)")
                .arg(component, weights.path(), shared, embedTokens));
    }

    if (dtype == at::kHalf && options.keepWoInFloat32) {
        // Loaded as float16 above with everything else; read again as float32.
        c10::InferenceMode normal(false);
        at::NoGradGuard noGrad;
        auto wo = model.feedForwardOutputWeights();
        for (size_t i = 0; i < wo.size(); ++i) {
            const QString key =
                prefix + QStringLiteral("encoder.block.%1.layer.1.DenseReluDense.wo.weight").arg(i);
            auto loaded = weights.load(key, device, at::kFloat);
            if (!loaded)
                return Status::fail(QStringLiteral("%1: %2").arg(component, loaded.error()));
            total.bytes += qint64(loaded->numel()) * (4 - wo[i].element_size()); // counted in its first dtype
            wo[i].set_data(*loaded);
        }
        spdlog::info("{}: {} feed-forward output weights kept in float32", component, wo.size());
    }
    if (report)
        *report = std::move(total);
    return Status::ok();
}

} // namespace tp::nn
