#include "core/nn/ClipTextModel.h"

#include "core/nn/Attention.h"
#include "core/nn/ConfigJson.h"

#include <QJsonArray>

#include <torch/nn/modules/container/modulelist.h>

namespace tp::nn {

// ---- modules (keys as transformers names them) ---------------------------------------

class ClipAttentionImpl final : public torch::nn::Module {
public:
    ClipAttentionImpl(const ClipTextConfig& c, const at::TensorOptions& o)
        : m_heads(c.numAttentionHeads) {
        m_q = register_module("q_proj", Linear(c.hiddenSize, c.hiddenSize, true, o));
        m_k = register_module("k_proj", Linear(c.hiddenSize, c.hiddenSize, true, o));
        m_v = register_module("v_proj", Linear(c.hiddenSize, c.hiddenSize, true, o));
        m_out = register_module("out_proj", Linear(c.hiddenSize, c.hiddenSize, true, o));
    }
    at::Tensor forward(const at::Tensor& x) const {
        AttentionOptions options;
        options.causal = true;
        auto out = scaledDotProductAttention(splitHeads(m_q->forward(x), m_heads),
                                             splitHeads(m_k->forward(x), m_heads),
                                             splitHeads(m_v->forward(x), m_heads), {}, options);
        return m_out->forward(mergeHeads(out));
    }

private:
    int64_t m_heads;
    Linear m_q{nullptr}, m_k{nullptr}, m_v{nullptr}, m_out{nullptr};
};
TORCH_MODULE(ClipAttention);

class ClipMlpImpl final : public torch::nn::Module {
public:
    ClipMlpImpl(const ClipTextConfig& c, const at::TensorOptions& o)
        : m_act(c.hiddenAct) {
        m_fc1 = register_module("fc1", Linear(c.hiddenSize, c.intermediateSize, true, o));
        m_fc2 = register_module("fc2", Linear(c.intermediateSize, c.hiddenSize, true, o));
    }
    at::Tensor forward(const at::Tensor& x) const {
        return m_fc2->forward(activate(m_fc1->forward(x), m_act));
    }

private:
    Activation m_act;
    Linear m_fc1{nullptr}, m_fc2{nullptr};
};
TORCH_MODULE(ClipMlp);

class ClipEncoderLayerImpl final : public torch::nn::Module {
public:
    ClipEncoderLayerImpl(const ClipTextConfig& c, const at::TensorOptions& o) {
        m_attn = register_module("self_attn", ClipAttention(c, o));
        m_norm1 = register_module("layer_norm1", LayerNorm(c.hiddenSize, c.layerNormEps, o));
        m_mlp = register_module("mlp", ClipMlp(c, o));
        m_norm2 = register_module("layer_norm2", LayerNorm(c.hiddenSize, c.layerNormEps, o));
    }
    at::Tensor forward(const at::Tensor& x) const {
        auto h = x + m_attn->forward(m_norm1->forward(x));
        return h + m_mlp->forward(m_norm2->forward(h));
    }

private:
    ClipAttention m_attn{nullptr};
    LayerNorm m_norm1{nullptr};
    ClipMlp m_mlp{nullptr};
    LayerNorm m_norm2{nullptr};
};
TORCH_MODULE(ClipEncoderLayer);

class ClipEmbeddingsImpl final : public torch::nn::Module {
public:
    ClipEmbeddingsImpl(const ClipTextConfig& c, const at::TensorOptions& o) {
        m_token = register_module("token_embedding", Embedding(c.vocabSize, c.hiddenSize, o));
        m_position =
            register_module("position_embedding", Embedding(c.maxPositionEmbeddings, c.hiddenSize, o));
    }
    at::Tensor forward(const at::Tensor& ids) const {
        const auto length = ids.size(1);
        TORCH_CHECK(length <= m_position->count(), "CLIP text model: ", length,
                    " tokens, but the model takes at most ", m_position->count());
        auto positions = at::arange(length, ids.options().dtype(at::kLong)).unsqueeze(0);
        return m_token->forward(ids) + m_position->forward(positions);
    }

private:
    Embedding m_token{nullptr};
    Embedding m_position{nullptr};
};
TORCH_MODULE(ClipEmbeddings);

class ClipTextTransformerImpl final : public torch::nn::Module {
public:
    ClipTextTransformerImpl(const ClipTextConfig& c, const at::TensorOptions& o) {
        m_embeddings = register_module("embeddings", ClipEmbeddings(c, o));
        auto encoder = register_module("encoder", std::make_shared<torch::nn::Module>());
        auto layers = encoder->register_module("layers", torch::nn::ModuleList());
        for (int64_t i = 0; i < c.numHiddenLayers; ++i) {
            m_layers.push_back(ClipEncoderLayer(c, o));
            layers->push_back(m_layers.back());
        }
        m_finalLayerNorm = register_module("final_layer_norm", LayerNorm(c.hiddenSize, c.layerNormEps, o));
    }

    ClipEmbeddings m_embeddings{nullptr};
    std::vector<ClipEncoderLayer> m_layers;
    LayerNorm m_finalLayerNorm{nullptr};
};

// ---- config ----------------------------------------------------------------------------

Result<ClipTextConfig> ClipTextConfig::fromJson(const QJsonObject& full) {
    QJsonObject json = full;
    if (full.value(QStringLiteral("text_config")).isObject())
        json = full.value(QStringLiteral("text_config")).toObject();
    ConfigReader r(json, QStringLiteral("text_encoder"));
    ClipTextConfig c;
    c.vocabSize = r.integer("vocab_size", c.vocabSize);
    c.hiddenSize = r.integer("hidden_size", c.hiddenSize);
    c.intermediateSize = r.integer("intermediate_size", c.intermediateSize);
    c.numAttentionHeads = r.integer("num_attention_heads", c.numAttentionHeads);
    c.numHiddenLayers = r.integer("num_hidden_layers", c.numHiddenLayers);
    c.maxPositionEmbeddings = r.integer("max_position_embeddings", c.maxPositionEmbeddings);
    if (auto act = parseActivation(r.string("hidden_act", QStringLiteral("quick_gelu"))))
        c.hiddenAct = *act;
    else
        r.fail(act.error());
    c.layerNormEps = r.number("layer_norm_eps", c.layerNormEps);
    c.eosTokenId = r.integer("eos_token_id", c.eosTokenId);
    c.projectionDim = r.integer("projection_dim", 0);
    const auto architectures = full.value(QStringLiteral("architectures")).toArray();
    for (const auto& a : architectures)
        if (a.toString() == QLatin1String("CLIPTextModelWithProjection"))
            c.withProjection = true;
    if (c.withProjection && c.projectionDim <= 0)
        r.fail(QStringLiteral("CLIPTextModelWithProjection needs a positive \"projection_dim\""));
    if (c.hiddenSize <= 0 || c.numAttentionHeads <= 0 || c.hiddenSize % c.numAttentionHeads != 0)
        r.fail(QStringLiteral("hidden_size %1 is not a multiple of num_attention_heads %2")
                   .arg(c.hiddenSize)
                   .arg(c.numAttentionHeads));
    if (c.numHiddenLayers <= 0 || c.vocabSize <= 0 || c.maxPositionEmbeddings <= 0 || c.intermediateSize <= 0)
        r.fail(QStringLiteral("sizes must be positive"));
    if (!r.status())
        return Result<ClipTextConfig>::fail(r.status().error());
    return Result<ClipTextConfig>::ok(c);
}

Result<ClipTextConfig> ClipTextConfig::fromFile(const QString& path) {
    auto json = ConfigReader::readFile(path);
    if (!json)
        return Result<ClipTextConfig>::fail(json.error());
    auto config = fromJson(*json);
    if (!config)
        return Result<ClipTextConfig>::fail(QStringLiteral("%1 (%2)").arg(config.error(), path));
    return config;
}

// ---- model -------------------------------------------------------------------------------

ClipTextModelImpl::ClipTextModelImpl(const ClipTextConfig& config, const at::TensorOptions& tensorOptions)
    : torch::nn::Module("text_encoder")
    , m_config(config) {
    m_textModel =
        register_module("text_model", std::make_shared<ClipTextTransformerImpl>(config, tensorOptions));
    if (config.withProjection)
        m_textProjection = register_module(
            "text_projection", Linear(config.hiddenSize, config.projectionDim, false, tensorOptions));
}

ClipTextOutput ClipTextModelImpl::forward(const at::Tensor& inputIds, bool outputHiddenStates) const {
    TORCH_CHECK(inputIds.dim() == 2, "CLIP text model: input_ids must be [B, L]");
    const auto ids = inputIds.to(m_textModel->m_finalLayerNorm->parameters()[0].device(), at::kLong);
    ClipTextOutput out;
    auto h = m_textModel->m_embeddings->forward(ids);
    if (outputHiddenStates)
        out.hiddenStates.push_back(h);
    for (const auto& layer : m_textModel->m_layers) {
        h = layer->forward(h);
        if (outputHiddenStates)
            out.hiddenStates.push_back(h);
    }
    out.lastHiddenState = m_textModel->m_finalLayerNorm->forward(h);

    // transformers: legacy configs (eos_token_id 2) pool at argmax(input_ids), the highest
    // id being <|endoftext|>; newer ones at the first eos_token_id.
    at::Tensor eosIndex =
        m_config.eosTokenId == 2 ? ids.argmax(-1) : ids.eq(m_config.eosTokenId).to(at::kInt).argmax(-1);
    const auto hidden = out.lastHiddenState.size(2);
    out.pooled =
        out.lastHiddenState.gather(1, eosIndex.view({-1, 1, 1}).expand({ids.size(0), 1, hidden})).squeeze(1);
    if (m_textProjection)
        out.textEmbeds = m_textProjection->forward(out.pooled);
    return out;
}

at::Tensor ClipTextModelImpl::finalLayerNorm(const at::Tensor& hidden) const {
    return m_textModel->m_finalLayerNorm->forward(hidden);
}

} // namespace tp::nn
