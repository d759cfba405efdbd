#pragma once

// Prompts of any length for CLIP text encoders, AUTOMATIC1111's way (modules/sd_hijack_clip.py
// `tokenize_line`): the weighted runs of PromptWeights.h are tokenized run by run and laid into
// chunks of 75 tokens, each encoded on its own as [BOS] + up to 75 tokens + [EOS] + padding = 77
// ids; the encodings are concatenated along the sequence. Torch-free.
//
// Chunking rules, as webui's:
//  - A chunk is full at 75 tokens; the next token starts a new chunk.
//  - Comma backtrack (webui's "comma_padding_backtrack", default 20): when a token other than a
//    comma (",</w>") arrives at a full chunk and the chunk's last comma is at most 20 tokens from
//    its end, the tokens after that comma move to the next chunk and the full chunk is padded.
//    (A comma that itself arrives at a full chunk opens the next chunk but is not remembered
//    there, as in webui.) 0 turns the backtrack off.
//  - BREAK closes the current chunk, padded, even when it is empty ("a BREAK BREAK b" is three
//    chunks, the middle one empty).
//  - The last chunk is kept when it holds tokens or when it is the only one: an empty prompt is
//    one chunk of [BOS][EOS] + padding.
//  - Padding is the tokenizer's pad token after the EOS (SD 1.x: <|endoftext|>; OpenCLIP, i.e.
//    SD 2.x and SDXL's second tokenizer: "!", id 0) — what webui's process_tokens gives for both.
//  - Weights: the run's weight for each of its tokens; 1 for BOS, EOS and padding.
// Textual-inversion embeddings, which webui also places here, are not supported.

#include "core/text/ClipTokenizer.h"
#include "core/text/PromptWeights.h"

#include <QString>

#include <cstdint>
#include <vector>

namespace tp::text {

struct PromptChunk {
    std::vector<std::int64_t> ids; // chunkLength + 2: [BOS] tokens… [EOS] padding…
    std::vector<float> weights;    // one per id
    int tokens = 0;                // prompt tokens in this chunk (no BOS, EOS or padding)
};

struct ChunkedPrompt {
    std::vector<PromptChunk> chunks; // at least one
    int promptTokens = 0;            // prompt tokens over all chunks
    int chunkLength = 75;            // prompt tokens a chunk holds (77 - BOS - EOS)
    Emphasis emphasis = Emphasis::Original;

    int chunkCount() const { return int(chunks.size()); }
    bool multiChunk() const { return chunks.size() > 1; }
    // Some token has a weight other than 1 and the emphasis mode applies weights.
    bool weighted() const;
    // [k · (chunkLength + 2)] ids, the chunks one after the other.
    std::vector<std::int64_t> allIds() const;
    std::vector<float> allWeights() const;
};

struct ChunkOptions {
    Emphasis emphasis = Emphasis::Original;
    int commaBacktrack = 20; // webui's comma_padding_backtrack; 0: off
    int chunkLength = 0;     // <= 0: the tokenizer's modelMaxLength() - 2 (75)
};

// Lays weighted runs into chunks (the rules above).
ChunkedPrompt chunkSegments(const ClipTokenizer& tokenizer, const std::vector<PromptSegment>& segments,
                            const ChunkOptions& options = {});
// parsePrompt(prompt, options.emphasis), then chunkSegments.
ChunkedPrompt chunkPrompt(const ClipTokenizer& tokenizer, const QString& prompt,
                          const ChunkOptions& options = {});

// [BOS][EOS] + padding with weights 1: what an empty prompt encodes to.
PromptChunk emptyChunk(const ClipTokenizer& tokenizer, int chunkLength = 0);

// Appends empty chunks to the shorter of the two so both have the same number of chunks (as
// Compel and webui's "pad prompt/negative prompt to be same length" do), so that positive and
// negative conditioning can share one UNet batch. Token counts are unchanged.
void padToSameChunkCount(ChunkedPrompt& a, ChunkedPrompt& b, const ClipTokenizer& tokenizer);

// For the UI and the log: "1 chunk (12 tokens)", "2 chunks (96 tokens)".
QString chunkSummary(const ChunkedPrompt& prompt);

} // namespace tp::text
