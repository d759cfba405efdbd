#pragma once

#include "core/common/Result.h"

#include <QHash>
#include <QPair>
#include <QString>
#include <QStringList>
#include <QVector>

// Learns a CLIP-style byte-level BPE vocabulary from a caption corpus and writes it in the
// layout of real CLIP tokenizer folders: vocab.json = the 256 byte symbols, the same with
// "</w>", each merge's result in merge order, then <|startoftext|> and <|endoftext|>;
// merges.txt = "#version: 0.2" and one "a b" pair per line, in rank order.
namespace tp::vocab {

// GPT-2's byte-to-unicode table: the symbol standing for each byte, and the 256 symbols in
// CLIP's vocabulary order (printable bytes first).
QString byteSymbol(unsigned char byte);
QStringList byteSymbolsInVocabOrder();

// CLIP's pre-tokenisation: whitespace collapsed, lower-cased, split into words/numbers/
// punctuation; each piece becomes byte symbols with "</w>" on its last one.
QVector<QStringList> pretokenize(const QString& text);

struct Merge {
    QString left;
    QString right;
};

struct BpeOptions {
    int maxMerges = 100000; // stop after this many merges ...
    int minPairCount = 1;   // ... or when the best pair is rarer than this
};

// Learns merges from the words of `texts` (each text counted once per occurrence).
// Greedy: the most frequent adjacent pair first, ties broken by the lexicographic order of
// the pair, so the result is deterministic. With the default options every word of the
// corpus ends up a single token.
QVector<Merge> learnMerges(const QStringList& texts, const BpeOptions& options = {});

// A vocabulary built from merges, with the encoder that real CLIP tokenizers apply (lowest
// rank first); used to check a vocabulary before writing it.
class ClipVocabulary final {
public:
    explicit ClipVocabulary(QVector<Merge> merges);
    const QVector<Merge>& merges() const { return m_merges; }
    // Tokens in id order (byte symbols, their </w> forms, merges, the two specials).
    const QStringList& tokens() const { return m_tokens; }
    int size() const { return int(m_tokens.size()); }
    int bosId() const { return size() - 2; }
    int eosId() const { return size() - 1; }
    int id(const QString& token) const { return m_ids.value(token, -1); }
    // BPE of one pre-tokenised word.
    QStringList encodeWord(const QStringList& symbols) const;
    // Token ids of a text without the start/end tokens.
    QVector<int> encode(const QString& text) const;

    // Writes vocab.json, merges.txt, tokenizer_config.json and special_tokens_map.json.
    Status write(const QString& directory) const;

private:
    QVector<Merge> m_merges;
    QStringList m_tokens;
    QHash<QString, int> m_ids;
    QHash<QString, int> m_ranks; // "left right" -> rank
};

} // namespace tp::vocab
