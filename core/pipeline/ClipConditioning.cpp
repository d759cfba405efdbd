#include "core/pipeline/ClipConditioning.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>

namespace tp::pipeline {

at::Tensor encodeClipChunk(const nn::ClipTextModel& encoder, const at::Tensor& ids, const ClipLayer& layer,
                           nn::ClipTextOutput* output) {
    const bool wantsHidden = layer.fromEnd > 1 || !layer.finalLayerNorm;
    nn::ClipTextOutput out = encoder->forward(ids, wantsHidden);
    at::Tensor z;
    if (!wantsHidden) {
        z = out.lastHiddenState;
    } else {
        const auto n = static_cast<int64_t>(out.hiddenStates.size());
        const int64_t index = std::max<int64_t>(0, n - layer.fromEnd);
        z = out.hiddenStates[static_cast<size_t>(index)];
        if (layer.finalLayerNorm)
            z = encoder->finalLayerNorm(z);
    }
    if (output)
        *output = std::move(out);
    return z;
}

at::Tensor applyEmphasis(const at::Tensor& z, const at::Tensor& weights, text::Emphasis emphasis) {
    if (emphasis == text::Emphasis::Ignore || emphasis == text::Emphasis::Off)
        return z;
    const at::Tensor w = weights.to(z.device(), at::kFloat);
    TORCH_CHECK(z.dim() == 3 && w.dim() == 2 && w.size(0) == z.size(0) && w.size(1) == z.size(1),
                "applyEmphasis: weights ", w.sizes(), " do not match hidden states ", z.sizes());
    if (w.eq(1).all().item<bool>())
        return z;
    at::Tensor x = z.to(at::kFloat);
    // The means in float64: a chunk's mean can be ~1e-4 of its values (a sum that nearly cancels), where
    // a float32 sum is off by ~1e-3 relative and its order (the CPU's vector width, the GPU) decides the
    // result; webui's float32 (or fp16) means are no more right, only less stable.
    const at::Tensor originalMean = x.mean(at::kDouble);
    x = x * w.unsqueeze(-1);
    if (emphasis == text::Emphasis::Original)
        x = x * (originalMean / x.mean(at::kDouble)).to(at::kFloat);
    return x.to(z.scalar_type());
}

ClipConditioning encodeClipChunks(const nn::ClipTextModel& encoder, const text::ChunkedPrompt& prompt,
                                  const ClipLayer& layer) {
    TORCH_CHECK(!prompt.chunks.empty(), "encodeClipChunks: a prompt has at least one chunk");
    c10::InferenceMode inference;
    ClipConditioning result;
    std::vector<at::Tensor> parts;
    for (size_t i = 0; i < prompt.chunks.size(); ++i) {
        const text::PromptChunk& chunk = prompt.chunks[i];
        const at::Tensor ids = at::tensor(chunk.ids, at::TensorOptions().dtype(at::kLong)).unsqueeze(0);
        nn::ClipTextOutput out;
        at::Tensor z = encodeClipChunk(encoder, ids, layer, i == 0 ? &out : nullptr);
        if (i == 0) {
            result.pooled = out.pooled;
            result.textEmbeds = out.textEmbeds;
        }
        // Checked here on the host, so unweighted chunks cost no device sync.
        const bool unweighted =
            std::all_of(chunk.weights.begin(), chunk.weights.end(), [](float w) { return w == 1.0f; });
        if (!unweighted && prompt.emphasis != text::Emphasis::Ignore &&
            prompt.emphasis != text::Emphasis::Off) {
            const at::Tensor weights =
                at::tensor(chunk.weights, at::TensorOptions().dtype(at::kFloat)).unsqueeze(0);
            z = applyEmphasis(z, weights, prompt.emphasis);
            result.weighted = true;
        }
        parts.push_back(z);
    }
    result.embeddings = parts.size() == 1 ? parts.front() : at::cat(parts, 1);
    result.chunks = prompt.chunkCount();
    result.promptTokens = prompt.promptTokens;
    return result;
}

ClipPromptPair encodeClipPrompts(const nn::ClipTextModel& encoder, const text::ClipTokenizer& tokenizer,
                                 const QString& prompt, const std::optional<QString>& negative,
                                 const ClipPromptOptions& options) {
    text::ChunkOptions chunking = options.chunking;
    if (chunking.chunkLength <= 0)
        chunking.chunkLength = std::max(
            1, std::min(tokenizer.modelMaxLength(), int(encoder->config().maxPositionEmbeddings)) - 2);
    ClipPromptPair pair;
    pair.positiveChunks = text::chunkPrompt(tokenizer, prompt, chunking);
    if (negative) {
        pair.negativeChunks = text::chunkPrompt(tokenizer, *negative, chunking);
        text::padToSameChunkCount(pair.positiveChunks, *pair.negativeChunks, tokenizer);
    }
    pair.positive = encodeClipChunks(encoder, pair.positiveChunks, options.layer);
    if (pair.negativeChunks)
        pair.negative = encodeClipChunks(encoder, *pair.negativeChunks, options.layer);
    return pair;
}

} // namespace tp::pipeline
