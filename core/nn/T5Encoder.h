#pragma once

#include "core/common/Result.h"
#include "core/nn/Layers.h"

#include <QJsonObject>
#include <QString>

#include <string>
#include <vector>

namespace tp::io {
class SafeTensorsArchive;
}

namespace tp::nn {

struct LoadReport;

// transformers' T5Config, the fields T5EncoderModel uses (T5 v1.0/v1.1, Flan-T5, mT5). Missing
// keys take T5Config's defaults.
struct T5Config {
    int64_t vocabSize = 32128;
    int64_t dModel = 512;
    int64_t dKv = 64; // per head; q/k/v project d_model to numHeads * dKv
    int64_t dFf = 2048;
    int64_t numLayers = 6;
    int64_t numHeads = 8;
    int64_t relativeAttentionNumBuckets = 32;
    int64_t relativeAttentionMaxDistance = 128;
    double layerNormEpsilon = 1e-6;
    // feed_forward_proj "gated-ACT": wo(act(wi_0 x) * wi_1 x); "ACT": wo(act(wi x)). "gated-gelu"
    // means gelu_new, the tanh approximation (T5 v1.1, the encoder of SD 3 and Flux).
    bool isGatedAct = false;
    Activation denseActFn = Activation::Relu;
    int64_t padTokenId = 0;
    int64_t eosTokenId = 1;

    int64_t innerDim() const { return numHeads * dKv; }

    static Result<T5Config> fromJson(const QJsonObject& json);
    static Result<T5Config> fromFile(const QString& path);
};

// T5's relative position buckets (transformers' T5Attention._relative_position_bucket):
// relativePosition = key position - query position (integer tensor); returns int64 buckets in
// [0, numBuckets). Bidirectional (the encoder): half the buckets for keys after the query.
at::Tensor t5RelativePositionBucket(const at::Tensor& relativePosition, bool bidirectional,
                                    int64_t numBuckets, int64_t maxDistance);

class T5StackImpl;

// transformers' T5EncoderModel: token embedding ("shared"), `numLayers` blocks of RMS-normed
// self-attention and feed-forward with residuals, final RMS norm. Parameter names are the
// checkpoints' (shared.weight, encoder.block.N.layer.0.SelfAttention.q.weight, …), so
// loadT5EncoderWeights()/loadWeights() fill it. What differs from CLIP-style encoders: RMSNorm
// computed in float32 (no mean, no bias), no 1/sqrt(d) scaling of attention scores, and a
// relative position bias computed once from block 0's table and added in every layer.
//
// Precision follows the tensors' dtypes exactly as transformers does: norms accumulate in
// float32 and return the weight's dtype when that is float16/bfloat16; the feed-forward input
// is cast to wo's dtype (float32 wo in a float16 model keeps the residual stream in float32
// from the first feed-forward on); float16 hidden states are clamped after each sub-layer.
// T5 overflows in pure float16: run it in bfloat16 or float32, or in float16 with wo in float32.
class T5EncoderModelImpl final : public torch::nn::Module {
public:
    // `name` names the component in load messages (e.g. "text_encoder_3").
    explicit T5EncoderModelImpl(const T5Config& config,
                                const at::TensorOptions& tensorOptions = at::TensorOptions(),
                                const std::string& name = "t5_encoder");

    // inputIds: [B, L] token ids. attentionMask: optional [B, L], 1 for tokens to attend to and
    // 0 for padding (SD 3 and Flux pass none: padding tokens are attended to). Returns
    // last_hidden_state [B, L, d_model] in the final norm weight's dtype.
    at::Tensor forward(const at::Tensor& inputIds, const at::Tensor& attentionMask = {}) const;

    // Block 0's relative position bias for a query and key length: [1, numHeads, lq, lk] in the
    // bias table's dtype.
    at::Tensor positionBias(int64_t queryLength, int64_t keyLength) const;

    const T5Config& config() const { return m_config; }
    // The weights of every block's DenseReluDense.wo (the feed-forward output projection).
    std::vector<at::Tensor> feedForwardOutputWeights() const;

private:
    T5Config m_config;
    Embedding m_shared{nullptr};
    std::shared_ptr<T5StackImpl> m_encoder;
};
TORCH_MODULE(T5EncoderModel);

struct T5LoadOptions {
    // transformers' _keep_in_fp32_modules = ["wo"]: when loading in float16, the feed-forward
    // output projections stay float32 (T5's activations there overflow float16). Costs
    // 2 bytes per wo weight more (2 GiB for T5-XXL) and reads those weights twice.
    bool keepWoInFloat32 = true;
};

// Loads a T5EncoderModel checkpoint (a transformers text_encoder_3/ or text_encoder_2/ folder's
// safetensors, a ComfyUI t5xxl file, or the encoder half of a full T5 model; the decoder and
// lm_head are ignored) under `prefix` into `model` with loadWeights(). The token embedding is
// read from "shared.weight" or, when the file has only that, its tied twin
// "encoder.embed_tokens.weight". Floating-point tensors become `dtype` (wo float32 for float16 as
// `options` says). Fails, leaving the model as it was, when a tensor is missing or misshapen.
Status loadT5EncoderWeights(T5EncoderModelImpl& model, const tp::io::SafeTensorsArchive& weights,
                            const QString& prefix, at::Device device, at::ScalarType dtype,
                            const T5LoadOptions& options = {}, LoadReport* report = nullptr);

} // namespace tp::nn
