#pragma once

#include <QStringView>

#include <string>
#include <string_view>
#include <vector>

// The text half of CLIP's tokenizer, as Hugging Face `tokenizers` runs it for CLIPTokenizer:
//   normalizer:    NFC → every run of whitespace (\s+) becomes one space → lowercase
//   pre-tokenizer:
//   Split(<|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+,
//                  matches kept, the rest dropped), then ByteLevel's GPT-2 split of each piece.
// Character classes follow Oniguruma's Unicode definitions, by code point.
namespace tp::text {

enum class CharClass : unsigned char { Whitespace, Letter, Number, Other };

// \s = U+0009..U+000D, U+0085, Zs, Zl, Zp; \p{L} = Lu Ll Lt Lm Lo; \p{N} = Nd Nl No.
CharClass charClass(char32_t c);

// Rust's `char::to_lowercase` (what the tokenizers Lowercase normalizer applies one char at a
// time): the full, context-free mapping, so 'İ' → "i̇" (two code points) and 'Σ' → 'σ' always.
void appendLowercase(char32_t c, std::u32string& out);

// Code points of a UTF-16 string; an unpaired surrogate becomes U+FFFD.
std::u32string toCodePoints(QStringView text);

// NFC, whitespace runs → " ", lowercase.
std::u32string normalizeClipText(QStringView text);

// Splits normalised text into the words the BPE model sees (views into `text`), appending them.
void splitClipWords(std::u32string_view text, std::vector<std::u32string_view>& words);

void appendUtf8(char32_t c, std::string& out);

} // namespace tp::text
