#include "core/text/ClipPreTokenizer.h"

#include <QChar>
#include <QString>

namespace tp::text {

namespace {

constexpr char32_t kReplacement = 0xFFFD;

bool isSpace(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85;
}

// One regex alternation, evaluated the way a backtracking engine does at a fixed position:
// the first alternative that matches wins, `+` is greedy.
enum class Grammar {
    Clip, // <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
    Gpt2, // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ (ByteLevel)
};

bool startsWith(std::u32string_view text, size_t at, std::u32string_view prefix) {
    return text.size() - at >= prefix.size() && text.compare(at, prefix.size(), prefix) == 0;
}

size_t contractionLength(std::u32string_view text, size_t at) {
    if (text[at] != U'\'' || at + 1 >= text.size())
        return 0;
    static constexpr std::u32string_view kSuffixes[] = {U"s", U"t", U"re", U"ve", U"m", U"ll", U"d"};
    for (std::u32string_view suffix : kSuffixes)
        if (startsWith(text, at + 1, suffix))
            return 1 + suffix.size();
    return 0;
}

size_t runLength(std::u32string_view text, size_t at, CharClass cls) {
    size_t end = at;
    while (end < text.size() && charClass(text[end]) == cls)
        ++end;
    return end - at;
}

// Length of the match starting exactly at `at`, 0 when none starts there (whitespace).
// Words given to the GPT-2 grammar never hold whitespace (the CLIP split dropped it), so its
// optional leading space and whitespace alternatives never apply and are left out.
size_t matchAt(std::u32string_view text, size_t at, Grammar grammar) {
    if (grammar == Grammar::Clip) {
        for (std::u32string_view special :
             {std::u32string_view(U"<|startoftext|>"), std::u32string_view(U"<|endoftext|>")})
            if (startsWith(text, at, special))
                return special.size();
    }
    if (size_t n = contractionLength(text, at))
        return n;
    switch (charClass(text[at])) {
    case CharClass::Whitespace:
        return 0;
    case CharClass::Letter:
        return runLength(text, at, CharClass::Letter);
    case CharClass::Number:
        return grammar == Grammar::Clip ? 1 : runLength(text, at, CharClass::Number);
    case CharClass::Other:
        return runLength(text, at, CharClass::Other);
    }
    return 0;
}

template <typename F> void forEachMatch(std::u32string_view text, Grammar grammar, F&& f) {
    size_t at = 0;
    while (at < text.size()) {
        const size_t n = matchAt(text, at, grammar);
        if (n == 0) {
            ++at;
            continue;
        }
        f(text.substr(at, n));
        at += n;
    }
}

} // namespace

CharClass charClass(char32_t c) {
    if (c < 0x80) {
        if ((c | 0x20) >= U'a' && (c | 0x20) <= U'z')
            return CharClass::Letter;
        if (c >= U'0' && c <= U'9')
            return CharClass::Number;
        return isSpace(c) ? CharClass::Whitespace : CharClass::Other;
    }
    if (isSpace(c))
        return CharClass::Whitespace;
    switch (QChar::category(c)) {
    case QChar::Separator_Space:
    case QChar::Separator_Line:
    case QChar::Separator_Paragraph:
        return CharClass::Whitespace;
    case QChar::Letter_Uppercase:
    case QChar::Letter_Lowercase:
    case QChar::Letter_Titlecase:
    case QChar::Letter_Modifier:
    case QChar::Letter_Other:
        return CharClass::Letter;
    case QChar::Number_DecimalDigit:
    case QChar::Number_Letter:
    case QChar::Number_Other:
        return CharClass::Number;
    default:
        return CharClass::Other;
    }
}

void appendLowercase(char32_t c, std::u32string& out) {
    if (c < 0x80) {
        out.push_back(c >= U'A' && c <= U'Z' ? c + 0x20 : c);
        return;
    }
    // SpecialCasing.txt has exactly one unconditional lowercase mapping longer than one code
    // point; QChar::toLower gives the simple mapping (UnicodeData.txt) for everything else.
    if (c == 0x0130) {
        out.push_back(U'i');
        out.push_back(0x0307);
        return;
    }
    out.push_back(QChar::toLower(c));
}

std::u32string toCodePoints(QStringView text) {
    std::u32string out;
    out.reserve(static_cast<size_t>(text.size()));
    const qsizetype n = text.size();
    for (qsizetype i = 0; i < n; ++i) {
        const QChar c = text[i];
        if (c.isHighSurrogate() && i + 1 < n && text[i + 1].isLowSurrogate()) {
            out.push_back(QChar::surrogateToUcs4(c, text[i + 1]));
            ++i;
        } else if (c.isSurrogate()) {
            out.push_back(kReplacement);
        } else {
            out.push_back(c.unicode());
        }
    }
    return out;
}

std::u32string normalizeClipText(QStringView text) {
    const QString nfc = text.toString().normalized(QString::NormalizationForm_C);
    const std::u32string points = toCodePoints(nfc);
    std::u32string out;
    out.reserve(points.size());
    bool inSpace = false;
    for (char32_t c : points) {
        if (charClass(c) == CharClass::Whitespace) {
            if (!inSpace)
                out.push_back(U' ');
            inSpace = true;
            continue;
        }
        inSpace = false;
        appendLowercase(c, out);
    }
    return out;
}

void splitClipWords(std::u32string_view text, std::vector<std::u32string_view>& words) {
    forEachMatch(text, Grammar::Clip, [&](std::u32string_view piece) {
        forEachMatch(piece, Grammar::Gpt2, [&](std::u32string_view word) { words.push_back(word); });
    });
}

void appendUtf8(char32_t c, std::string& out) {
    if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        c = kReplacement;
    if (c < 0x80) {
        out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (c >> 6)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (c >> 12)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (c >> 18)));
        out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
}

} // namespace tp::text
