#pragma once

#include "core/common/Result.h"

#include <QString>

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

namespace tp::text {

class SentencePieceModel;

// A prompt turned into T5 input: tokens… EOS, then padding (T5 has no BOS).
struct T5TokenizedPrompt final {
    std::vector<std::int64_t> ids;
    int length = 0;                       // tokens + EOS as kept (ids.size() without the padding)
    int untruncatedLength = 0;            // every prompt token + EOS, before truncation
    std::vector<std::int64_t> droppedIds; // the prompt tokens truncation cut off (decode() them to
                                          // tell the user which part of the prompt was ignored)

    bool truncated() const { return length < untruncatedLength; }
    // For "prompt is N tokens, only M are used": N and M exclude the EOS.
    int promptTokens() const { return untruncatedLength - 1; }
    int usedPromptTokens() const { return length - 1; }
};

// T5's SentencePiece (unigram) tokenizer, id for id what transformers' T5Tokenizer /
// T5TokenizerFast gives as the SD 3 and Flux pipelines call it (padding="max_length",
// truncation=True, add_special_tokens=True): special tokens written in the prompt ("</s>",
// "<pad>", "<unk>", "<extra_id_N>", added tokens) become their ids; the text between them is
// normalised with the model's own rules (its precompiled charsmap, NFKC for T5), split at Unicode
// whitespace, and each word gets a "▁" prefix and the most likely segmentation; EOS (1) is
// appended; truncation keeps the EOS last; padding uses <pad> (0). The segmentation is
// libsentencepiece's own (through SentencePieceModel). Cheap to copy (copies share the model);
// const methods are thread-safe.
class T5Tokenizer final {
public:
    static constexpr int kDefaultMaxLength = 512; // T5's model_max_length
    static constexpr int kDefaultExtraIds = 100;  // <extra_id_0> … <extra_id_99>

    // A tokenizer folder (diffusers' tokenizer_3/ for SD 3, tokenizer_2/ for Flux): spiece.model,
    // and when present tokenizer_config.json (added_tokens_decoder, model_max_length,
    // extra_ids). A folder with only tokenizer.json (as transformers 5 saves one) is read from
    // that file's unigram vocabulary and normalizer.
    static Result<T5Tokenizer> load(const QString& folder);
    // A bare spiece.model (single-file checkpoints carry none; the app ships T5's). Extra ids
    // follow T5's layout: <extra_id_0> is the last id, <extra_id_N> counts down from it.
    static Result<T5Tokenizer> loadModel(const QString& spieceModelPath, int extraIds = kDefaultExtraIds);

    // Prompt token ids, no EOS, no truncation.
    std::vector<std::int64_t> encode(const QString& text) const;
    // encode(text) cut to `maxLength` - 1 tokens when `truncate`, then EOS, then padId() up to
    // `maxLength` when `pad`. maxLength <= 0 means modelMaxLength().
    T5TokenizedPrompt tokenize(const QString& text, int maxLength = 0, bool pad = true,
                               bool truncate = true) const;
    // Text of the ids ("▁" becomes a space); special tokens are skipped unless asked for.
    QString decode(const std::vector<std::int64_t>& ids, bool keepSpecialTokens = false) const;

    std::int64_t eosId() const { return m_eosId; }
    std::int64_t padId() const { return m_padId; }
    std::int64_t unkId() const { return m_unkId; }
    int modelMaxLength() const { return m_modelMaxLength; }
    int pieceCount() const;                                          // the SentencePiece model's pieces
    int vocabSize() const;                                           // pieces + added tokens beyond them
    std::optional<std::int64_t> tokenId(const QString& token) const; // a piece or added token
    QString tokenString(std::int64_t id) const;                      // empty when unknown

private:
    struct SpecialToken {
        QString content;
        std::int64_t id = -1;
    };

    T5Tokenizer() = default;
    static Result<T5Tokenizer> fromModel(std::shared_ptr<const SentencePieceModel> model,
                                         const QString& origin);
    void encodeText(const QString& text, std::vector<std::int64_t>& out) const;
    bool isSpecial(std::int64_t id) const;

    std::shared_ptr<const SentencePieceModel> m_model;
    std::vector<SpecialToken> m_specials; // matched in the raw prompt, longest match first
    std::int64_t m_eosId = 1;
    std::int64_t m_padId = 0;
    std::int64_t m_unkId = 2;
    int m_modelMaxLength = kDefaultMaxLength;
};

} // namespace tp::text
