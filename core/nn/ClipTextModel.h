#pragma once

#include "core/common/Result.h"
#include "core/nn/Layers.h"

#include <QJsonObject>
#include <QString>

#include <vector>

namespace tp::nn {

// transformers' CLIPTextModel / CLIPTextModelWithProjection, as config.json describes it.
struct ClipTextConfig {
    int64_t vocabSize = 49408;
    int64_t hiddenSize = 768;
    int64_t intermediateSize = 3072;
    int64_t numAttentionHeads = 12;
    int64_t numHiddenLayers = 12;
    int64_t maxPositionEmbeddings = 77;
    Activation hiddenAct = Activation::QuickGelu;
    double layerNormEps = 1e-5;
    int64_t eosTokenId = 2;      // 2: legacy configs; pooled output at argmax(input_ids)
    int64_t projectionDim = 0;   // > 0 with `withProjection`
    bool withProjection = false; // architectures: CLIPTextModelWithProjection (text_projection.weight)

    // Reads a flat text config, or the "text_config" of a full CLIPModel config.
    static Result<ClipTextConfig> fromJson(const QJsonObject& json);
    static Result<ClipTextConfig> fromFile(const QString& path);
};

struct ClipTextOutput {
    at::Tensor lastHiddenState; // [B, L, hidden], after final_layer_norm
    at::Tensor pooled;          // [B, hidden], lastHiddenState at each row's EOS token
    at::Tensor textEmbeds;      // [B, projectionDim], text_projection(pooled) when the model has one
    // With outputHiddenStates: the embeddings' output, then each layer's output, without the
    // final layer norm (transformers' hidden_states; [-2] is the penultimate layer for
    // clip-skip, to which diffusers applies finalLayerNorm()).
    std::vector<at::Tensor> hiddenStates;
};

class ClipTextTransformerImpl;

class ClipTextModelImpl final : public torch::nn::Module {
public:
    explicit ClipTextModelImpl(const ClipTextConfig& config,
                               const at::TensorOptions& tensorOptions = at::TensorOptions());

    // inputIds: [B, L] integer token ids, L <= maxPositionEmbeddings. A causal mask applies;
    // no padding mask (Stable Diffusion pipelines pass none).
    ClipTextOutput forward(const at::Tensor& inputIds, bool outputHiddenStates = false) const;
    // text_model.final_layer_norm, for clip-skip on a chosen hidden state.
    at::Tensor finalLayerNorm(const at::Tensor& hidden) const;

    const ClipTextConfig& config() const { return m_config; }

private:
    ClipTextConfig m_config;
    std::shared_ptr<ClipTextTransformerImpl> m_textModel;
    Linear m_textProjection{nullptr};
};
TORCH_MODULE(ClipTextModel);

} // namespace tp::nn
