#pragma once

// Prompt conditioning from a CLIP text encoder, for prompts of any length and with
// AUTOMATIC1111's emphasis (modules/sd_hijack_clip.py, modules/sd_emphasis.py):
//  - each 77-id chunk of text::ChunkedPrompt is encoded on its own (batch 1) and the chosen layer
//    taken (ClipLayer);
//  - emphasis per chunk, over that chunk's whole [1, 77, hidden] tensor ("Original"):
//        mean0 = z.mean();  z = z * weights[..., None];  z = z * (mean0 / z.mean())
//    "No norm" skips the rescaling, "Ignore" and "None" apply no weights. Computed in float32
//    with the two means in float64, and returned in the encoder's dtype (webui promotes to float32
//    the same way, but takes its means in z's dtype: a chunk whose mean nearly cancels makes those
//    depend on the summation order). Chunks whose weights are all 1 are not touched;
//  - chunks concatenated along the sequence: [1, 77·k, hidden];
//  - pooled outputs (`pooled`, and the projected `textEmbeds` of a CLIPTextModelWithProjection)
//    from the FIRST chunk only, unweighted, as webui does for SDXL (zs[0].pooled).
// With one chunk and all weights 1 this is exactly diffusers' encode_prompt (same ids, same
// single forward call), bit for bit.

#include "core/nn/ClipTextModel.h"
#include "core/text/PromptChunks.h"

#include <QString>

#include <optional>

namespace tp::pipeline {

// Which hidden state of the text encoder conditions the denoiser.
struct ClipLayer {
    int fromEnd = 1;            // hidden_states[-fromEnd]: 1 the last layer, 2 the penultimate…
    bool finalLayerNorm = true; // text_model.final_layer_norm applied to it

    // last_hidden_state: SD 1.x/2.x by default.
    static ClipLayer last() { return {1, true}; }
    // webui's "Clip skip" N (SD 1.x/2.x): hidden_states[-N] + final layer norm; N <= 1 is last().
    // diffusers' clip_skip is N - 1.
    static ClipLayer clipSkip(int n) { return {n > 1 ? n : 1, true}; }
    // SDXL, both encoders (diffusers' encode_prompt): hidden_states[-2] without the final norm.
    static ClipLayer penultimateRaw() { return {2, false}; }
};

struct ClipConditioning {
    at::Tensor embeddings; // [1, 77·chunks, hidden], the encoder's device and dtype
    at::Tensor pooled;     // [1, hidden]: the first chunk's last_hidden_state at its EOS
    at::Tensor textEmbeds; // [1, projection_dim]: text_projection(pooled); undefined without one
    int chunks = 0;
    int promptTokens = 0;  // the prompt's tokens (no BOS/EOS/padding), over all chunks
    bool weighted = false; // emphasis changed the embeddings
};

// One chunk's hidden state [B, L, hidden], unweighted. `output`, when given, receives the
// forward pass (pooled, textEmbeds; hidden states when the layer needed them).
at::Tensor encodeClipChunk(const nn::ClipTextModel& encoder, const at::Tensor& ids, const ClipLayer& layer,
                           nn::ClipTextOutput* output = nullptr);

// webui's emphasis on one chunk: z [B, L, hidden], weights [B, L] (any float dtype or device).
// Returns z unchanged for Ignore/Off or when every weight is 1.
at::Tensor applyEmphasis(const at::Tensor& z, const at::Tensor& weights, text::Emphasis emphasis);

// Every chunk encoded, weighted and concatenated (see above). Needs prompt.chunks non-empty and
// chunk lengths the encoder takes (<= max_position_embeddings).
ClipConditioning encodeClipChunks(const nn::ClipTextModel& encoder, const text::ChunkedPrompt& prompt,
                                  const ClipLayer& layer);

struct ClipPromptOptions {
    ClipLayer layer;
    // chunking.chunkLength <= 0: min(tokenizer model_max_length, max_position_embeddings) - 2.
    text::ChunkOptions chunking;
};

struct ClipPromptPair {
    ClipConditioning positive;
    std::optional<ClipConditioning> negative; // with `negative` given; same chunk count as positive
    text::ChunkedPrompt positiveChunks;       // what was encoded, for the UI and logs
    std::optional<text::ChunkedPrompt> negativeChunks;
};

// Chunks the prompt (and the negative prompt, when given, padded to the same chunk count with
// empty chunks) and encodes them. Run once per text encoder (SDXL: once with each encoder and its
// tokenizer; both CLIP tokenizers share the BPE, so their chunk counts agree).
ClipPromptPair encodeClipPrompts(const nn::ClipTextModel& encoder, const text::ClipTokenizer& tokenizer,
                                 const QString& prompt, const std::optional<QString>& negative,
                                 const ClipPromptOptions& options);

} // namespace tp::pipeline
