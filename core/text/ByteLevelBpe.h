#pragma once

#include "core/common/Result.h"

#include <QString>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tp::text {

struct TokenizerJson;
struct VocabJson;

// GPT-2's reversible byte → printable character table (`bytes_to_unicode`).
char32_t byteToUnicode(std::uint8_t byte);
// The byte a character of that alphabet stands for, or -1.
int unicodeToByte(char32_t c);

// The model half of CLIP's tokenizer: byte-level BPE over vocab.json + merges.txt, with "</w>"
// appended to each word's last symbol. Merges run like Hugging Face tokenizers'
// `Word::merge_all`: the lowest-ranked pair first, the leftmost among equal ranks, pairs formed
// by a merge joining the queue at once. Words are cached (copies share the cache; thread-safe).
class ByteLevelBpe final {
public:
    static constexpr std::string_view kEndOfWord = "</w>";

    // Reads both files; errors name the file (and line) at fault.
    static Result<ByteLevelBpe> load(const QString& vocabPath, const QString& mergesPath);
    // The model of a tokenizer.json already read from `path` (named in messages).
    static Result<ByteLevelBpe> fromTokenizerJson(const TokenizerJson& tokenizer, const QString& path);

    // Token strings are in the byte-level alphabet, UTF-8 encoded (as in vocab.json).
    std::optional<std::int32_t> tokenId(std::string_view token) const;
    // The token string of `id`; empty when no entry has it.
    std::string_view token(std::int64_t id) const;
    int vocabSize() const;
    int mergeCount() const;

    // The id used for a byte symbol that is not in the vocabulary (-1: drop such symbols).
    void setUnknownId(std::int32_t id);
    std::int32_t unknownId() const { return m_unknownId; }

    // Appends the ids of one pre-tokenised word, given as its raw UTF-8 bytes.
    void encodeWord(std::string_view utf8, std::vector<std::int64_t>& out) const;
    // The same without the cache (for tests and measurements).
    void encodeWordUncached(std::string_view utf8, std::vector<std::int64_t>& out) const;

    // Words are cached until `capacity` entries are held; 0 turns the cache off.
    void setCacheCapacity(int capacity);
    int cacheSize() const;
    void clearCache();

private:
    struct Model;
    struct Cache;
    ByteLevelBpe(std::shared_ptr<const Model> model, std::shared_ptr<Cache> cache);
    // The vocabulary indexed and the merges ranked in order; positions[i] numbers merge i in
    // messages ("<mergeWhere> <position> uses …, which <vocabWhere> does not have: <inconsistent>").
    static Result<ByteLevelBpe>
    build(VocabJson json, const std::vector<std::pair<std::string_view, std::string_view>>& merges,
          const std::vector<int>& positions, const QString& vocabWhere, const QString& mergeWhere,
          const QString& inconsistent);
    std::vector<std::int32_t> mergeWord(std::string_view utf8) const;

    std::shared_ptr<const Model> m_model;
    std::shared_ptr<Cache> m_cache;
    std::int32_t m_unknownId = -1;
};

} // namespace tp::text
