#include "core/text/PromptWeights.h"

namespace tp::text {

namespace {

constexpr double kRoundMultiplier = 1.1;
constexpr double kSquareMultiplier = 1 / 1.1;

// The code point at `i` (a surrogate pair read whole) and its length in UTF-16 units.
char32_t codePointAt(const QString& s, qsizetype i, int* units = nullptr) {
    const QChar c = s.at(i);
    if (c.isHighSurrogate() && i + 1 < s.size() && s.at(i + 1).isLowSurrogate()) {
        if (units)
            *units = 2;
        return QChar::surrogateToUcs4(c, s.at(i + 1));
    }
    if (units)
        *units = 1;
    return c.unicode();
}

char32_t codePointBefore(const QString& s, qsizetype end) {
    if (end >= 2 && s.at(end - 1).isLowSurrogate() && s.at(end - 2).isHighSurrogate())
        return QChar::surrogateToUcs4(s.at(end - 2), s.at(end - 1));
    return s.at(end - 1).unicode();
}

// Python's `\w` for str patterns: letters, digits and the underscore.
bool isWordChar(char32_t c) {
    return c == U'_' || QChar::isLetterOrNumber(c);
}

bool isSpace(QChar c) {
    return c.isSpace();
}

bool isSyntax(QChar c) {
    return c == QLatin1Char('\\') || c == QLatin1Char('(') || c == QLatin1Char(')') ||
           c == QLatin1Char('[') || c == QLatin1Char(']') || c == QLatin1Char(':');
}

// Matches `:\s*([+-]?[.\d]+)\s*\)` at `at` (s[at] == ':'). On success returns the length of the
// match and the number; a number float() would reject counts as no match.
qsizetype matchWeight(const QString& s, qsizetype at, double* weight) {
    qsizetype i = at + 1;
    const qsizetype n = s.size();
    while (i < n && isSpace(s.at(i)))
        ++i;
    const qsizetype numberStart = i;
    if (i < n && (s.at(i) == QLatin1Char('+') || s.at(i) == QLatin1Char('-')))
        ++i;
    int digits = 0;
    int dots = 0;
    while (i < n) {
        const QChar c = s.at(i);
        if (c >= QLatin1Char('0') && c <= QLatin1Char('9'))
            ++digits;
        else if (c == QLatin1Char('.'))
            ++dots;
        else
            break;
        ++i;
    }
    if (digits + dots == 0)
        return 0;
    const QString number = s.mid(numberStart, i - numberStart);
    while (i < n && isSpace(s.at(i)))
        ++i;
    if (i >= n || s.at(i) != QLatin1Char(')'))
        return 0;
    if (digits == 0 || dots > 1)
        return 0;
    bool ok = false;
    const double value = number.toDouble(&ok); // C locale, accepts "1." and ".5" as float() does
    if (!ok)
        return 0;
    *weight = value;
    return i + 1 - at;
}

// `\s*\bBREAK\b\s*` splitting (re.split): appends the parts of `text`, a BREAK between each.
void appendSplitOnBreak(const QString& text, std::vector<PromptSegment>& out) {
    static const QString kBreak = QStringLiteral("BREAK");
    qsizetype partStart = 0;
    qsizetype from = 0;
    while (true) {
        const qsizetype at = text.indexOf(kBreak, from, Qt::CaseSensitive);
        if (at < 0)
            break;
        const qsizetype end = at + kBreak.size();
        const bool boundaryBefore = at == 0 || !isWordChar(codePointBefore(text, at));
        const bool boundaryAfter = end == text.size() || !isWordChar(codePointAt(text, end));
        if (!boundaryBefore || !boundaryAfter) {
            from = at + 1;
            continue;
        }
        qsizetype matchStart = at;
        while (matchStart > partStart && isSpace(text.at(matchStart - 1)))
            --matchStart;
        qsizetype matchEnd = end;
        while (matchEnd < text.size() && isSpace(text.at(matchEnd)))
            ++matchEnd;
        out.push_back({text.mid(partStart, matchStart - partStart), 1.0, false});
        out.push_back({QString(), 1.0, true});
        partStart = matchEnd;
        from = matchEnd;
    }
    out.push_back({text.mid(partStart), 1.0, false});
}

} // namespace

QString emphasisName(Emphasis emphasis) {
    switch (emphasis) {
    case Emphasis::Original:
        return QStringLiteral("Original");
    case Emphasis::NoNorm:
        return QStringLiteral("No norm");
    case Emphasis::Ignore:
        return QStringLiteral("Ignore");
    case Emphasis::Off:
        return QStringLiteral("None");
    }
    return QString();
}

std::optional<Emphasis> emphasisFromName(const QString& name) {
    const QString n = name.trimmed().toLower();
    if (n == QLatin1String("original"))
        return Emphasis::Original;
    if (n == QLatin1String("no norm") || n == QLatin1String("nonorm") || n == QLatin1String("no-norm"))
        return Emphasis::NoNorm;
    if (n == QLatin1String("ignore"))
        return Emphasis::Ignore;
    if (n == QLatin1String("none") || n == QLatin1String("off"))
        return Emphasis::Off;
    return std::nullopt;
}

std::vector<PromptSegment> parsePromptAttention(const QString& prompt) {
    std::vector<PromptSegment> res;
    std::vector<size_t> round;
    std::vector<size_t> square;
    auto multiplyFrom = [&](size_t start, double multiplier) {
        for (size_t p = start; p < res.size(); ++p)
            if (!res[p].isBreak)
                res[p].weight *= multiplier;
    };

    const qsizetype n = prompt.size();
    qsizetype i = 0;
    while (i < n) {
        const QChar c = prompt.at(i);
        if (c == QLatin1Char('\\')) {
            if (i + 1 < n) {
                const QChar next = prompt.at(i + 1);
                if (next == QLatin1Char('(') || next == QLatin1Char(')') || next == QLatin1Char('[') ||
                    next == QLatin1Char(']') || next == QLatin1Char('\\')) {
                    res.push_back({QString(next), 1.0, false});
                    i += 2;
                    continue;
                }
            }
            res.push_back({QString(), 1.0, false}); // a lone backslash: nothing is kept
            ++i;
        } else if (c == QLatin1Char('(')) {
            round.push_back(res.size());
            ++i;
        } else if (c == QLatin1Char('[')) {
            square.push_back(res.size());
            ++i;
        } else if (c == QLatin1Char(':')) {
            double weight = 1.0;
            const qsizetype length = matchWeight(prompt, i, &weight);
            if (length > 0 && !round.empty()) {
                multiplyFrom(round.back(), weight);
                round.pop_back();
            } else if (length > 0) {
                appendSplitOnBreak(prompt.mid(i, length), res);
            } else {
                res.push_back({QStringLiteral(":"), 1.0, false});
            }
            i += length > 0 ? length : 1;
        } else if (c == QLatin1Char(')') && !round.empty()) {
            multiplyFrom(round.back(), kRoundMultiplier);
            round.pop_back();
            ++i;
        } else if (c == QLatin1Char(']') && !square.empty()) {
            multiplyFrom(square.back(), kSquareMultiplier);
            square.pop_back();
            ++i;
        } else if (c == QLatin1Char(')') || c == QLatin1Char(']')) {
            res.push_back({QString(c), 1.0, false});
            ++i;
        } else {
            qsizetype end = i + 1;
            while (end < n && !isSyntax(prompt.at(end)))
                ++end;
            appendSplitOnBreak(prompt.mid(i, end - i), res);
            i = end;
        }
    }
    for (size_t start : round)
        multiplyFrom(start, kRoundMultiplier);
    for (size_t start : square)
        multiplyFrom(start, kSquareMultiplier);

    // Merge runs of equal weight (a BREAK never merges), then drop the empty runs.
    std::vector<PromptSegment> merged;
    for (PromptSegment& s : res) {
        if (!merged.empty() && !s.isBreak && !merged.back().isBreak && merged.back().weight == s.weight)
            merged.back().text += s.text;
        else
            merged.push_back(std::move(s));
    }
    std::vector<PromptSegment> out;
    for (PromptSegment& s : merged)
        if (s.isBreak || !s.text.isEmpty())
            out.push_back(std::move(s));
    if (out.empty())
        out.push_back({QString(), 1.0, false});
    return out;
}

std::vector<PromptSegment> parsePrompt(const QString& prompt, Emphasis emphasis) {
    if (emphasis == Emphasis::Off)
        return {PromptSegment{prompt, 1.0, false}};
    return parsePromptAttention(prompt);
}

} // namespace tp::text
