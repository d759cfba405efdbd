#pragma once

// AUTOMATIC1111's prompt-attention syntax, parsed into runs of text with a weight each
// (modules/prompt_parser.py `parse_prompt_attention`, webui 1.6+). Torch-free.
//
// The rules followed, as webui applies them:
//  - `(text)` multiplies the weight of `text` by 1.1, `[text]` by 1/1.1; nesting multiplies, the
//    innermost bracket first: `((a))` → 1.1 · 1.1.
//  - `(text:1.3)` multiplies by 1.3 instead of 1.1. The number is `[+-]?[.0-9]+` with optional
//    whitespace around it, directly before the `)`: `(a: 1.3 )` counts, `(a:1.3x)` does not.
//    Negative and zero weights are accepted. A number Python's float() rejects ("1.2.3", ".")
//    makes webui fail; here it is not a weight: the ':' and the digits stay text and the ')'
//    closes with 1.1.
//  - `:number)` outside round brackets, a ':' without a number, `)` or `]` with no bracket of
//    their kind open: literal text.
//  - Brackets still open at the end apply to everything after them: `(a` → a ×1.1; unclosed
//    round brackets first, then square ones, as webui does.
//  - `\(` `\)` `\[` `\]` `\\` are the literal characters. A backslash before any other character
//    is dropped (webui's regex matches a lone backslash and keeps nothing of it).
//  - `BREAK` (uppercase, a whole word: `\bBREAK\b`) with the whitespace around it ends the
//    current 75-token chunk. Unlike webui it also does so inside brackets: webui multiplies its
//    internal -1 marker by the brackets' weights and then encodes the word "BREAK" with a
//    negative weight, which we take for a bug.
//  - Adjacent runs of equal weight are merged (webui's "merge runs of identical weights"), so a
//    prompt without emphasis is one run and tokenizes exactly as the plain text would.
//    Empty runs are dropped after merging; an empty prompt gives one empty run of weight 1.
//  - Not handled here (webui does them before this step): prompt editing `[a:b:0.5]`,
//    alternation `[a|b]`, `AND` composition, textual-inversion embeddings, LoRA tags.
// Weights are computed in double precision in webui's order, so they equal Python's floats.

#include <QString>

#include <optional>
#include <vector>

namespace tp::text {

// How emphasis syntax is treated (webui's "Emphasis mode" setting, same names and meanings).
enum class Emphasis {
    Original, // weights applied, then each chunk rescaled to its original mean (webui's default)
    NoNorm,   // weights applied, no rescaling ("No norm"; webui says it suits SDXL better)
    Ignore,   // syntax parsed and removed, weights not applied ("Ignore")
    Off,      // no parsing: brackets, colons and BREAK are plain text, as diffusers sees them ("None")
};

// webui's names ("Original", "No norm", "Ignore", "None"), as written into PNG parameters.
QString emphasisName(Emphasis emphasis);
// Case-insensitive; also accepts "off" and "nonorm". nullopt when unknown.
std::optional<Emphasis> emphasisFromName(const QString& name);

struct PromptSegment {
    QString text;
    double weight = 1.0;
    bool isBreak = false; // a BREAK: text empty, weight 1

    bool operator==(const PromptSegment& o) const {
        return text == o.text && weight == o.weight && isBreak == o.isBreak;
    }
};

// The A1111 parse (see the rules above). Never empty.
std::vector<PromptSegment> parsePromptAttention(const QString& prompt);
// parsePromptAttention, or with Emphasis::Off the whole prompt as one run of weight 1.
std::vector<PromptSegment> parsePrompt(const QString& prompt, Emphasis emphasis);

} // namespace tp::text
