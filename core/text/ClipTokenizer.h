#pragma once

#include "core/common/Result.h"
#include "core/text/ByteLevelBpe.h"

#include <QString>
#include <QVector>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tp::text {

// A prompt turned into model input: [BOS] tokens… [EOS] then padding.
struct TokenizedPrompt final {
    std::vector<std::int64_t> ids;
    int length = 0;            // BOS … EOS as kept (ids.size() without the padding)
    int untruncatedLength = 0; // BOS + every prompt token + EOS, before truncation

    bool truncated() const { return length < untruncatedLength; }
    // For "prompt is N tokens, only M are used": N and M exclude BOS and EOS.
    int promptTokens() const { return untruncatedLength - 2; }
    int usedPromptTokens() const { return length - 2; }
    QVector<std::int64_t> toQVector() const { return QVector<std::int64_t>(ids.begin(), ids.end()); }
};

// CLIP's byte-level BPE tokenizer, id for id what Hugging Face's CLIPTokenizer (tokenizers
// backend) gives, from a diffusers `tokenizer/` folder. Special tokens written in the prompt
// itself ("<|endoftext|>", or "!" where it is SD 2.x's pad token) become their ids, as there.
// Cheap to copy (copies share the vocabulary and the word cache); const methods are thread-safe.
class ClipTokenizer final {
public:
    static constexpr int kDefaultMaxLength = 77;

    // Reads vocab.json, merges.txt and, when present, tokenizer_config.json and
    // special_tokens_map.json (bos/eos/unk/pad tokens, model_max_length, added_tokens_decoder).
    // A folder without vocab.json/merges.txt but with a tokenizer.json (what transformers 5
    // saves) gives the BPE model, its added tokens and, where the config files name none, the
    // unk/bos/eos/pad tokens from that file. `padToken`, when not empty, replaces the folder's
    // pad token ("!" makes CLIP's vocabulary the OpenCLIP tokenizer of SD 2.x and SDXL).
    static Result<ClipTokenizer> load(const QString& folder, const QString& padToken = QString());

    // Prompt token ids, no BOS/EOS, no truncation.
    std::vector<std::int64_t> encode(const QString& text) const;
    // [BOS] + ids (cut so that BOS + ids + EOS fit `maxLength` when `truncate`) + [EOS], then
    // `padId()` up to `maxLength` when `pad`. maxLength <= 0 means modelMaxLength().
    TokenizedPrompt tokenize(const QString& text, int maxLength = 0, bool pad = true,
                             bool truncate = true) const;
    // Byte-level decode for logs and tests: "</w>" becomes a space; special tokens are skipped
    // unless asked for; ids the vocabulary lacks are skipped.
    QString decode(const std::vector<std::int64_t>& ids, bool keepSpecialTokens = false) const;

    std::int64_t bosId() const { return m_bosId; }
    std::int64_t eosId() const { return m_eosId; }
    std::int64_t padId() const { return m_padId; }
    std::int64_t unkId() const { return m_unkId; }
    int modelMaxLength() const { return m_modelMaxLength; }
    int vocabSize() const { return m_bpe.vocabSize(); }
    int mergeCount() const { return m_bpe.mergeCount(); }
    std::optional<std::int64_t> tokenId(const QString& token) const; // byte-level token string
    QString tokenString(std::int64_t id) const;                      // empty when unknown

    // The word cache (see ByteLevelBpe); 0 turns it off.
    void setCacheCapacity(int capacity) { m_bpe.setCacheCapacity(capacity); }
    int cacheSize() const { return m_bpe.cacheSize(); }
    void clearCache() { m_bpe.clearCache(); }

private:
    struct SpecialToken {
        QString content;
        std::int64_t id = -1;
    };

    explicit ClipTokenizer(ByteLevelBpe bpe)
        : m_bpe(std::move(bpe)) {}
    void encodeNormalized(std::u32string_view text, std::vector<std::int64_t>& out) const;

    ByteLevelBpe m_bpe;
    std::vector<SpecialToken> m_addedTokens; // added_tokens_decoder
    std::vector<SpecialToken> m_rawSpecials;
    std::vector<std::pair<std::u32string, std::int64_t>> m_normalizedSpecials;
    std::int64_t m_bosId = -1;
    std::int64_t m_eosId = -1;
    std::int64_t m_padId = -1;
    std::int64_t m_unkId = -1;
    int m_modelMaxLength = kDefaultMaxLength;
};

} // namespace tp::text
