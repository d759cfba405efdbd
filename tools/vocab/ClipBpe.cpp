#include "tools/vocab/ClipBpe.h"

#include <QDir>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMap>
#include <QRegularExpression>
#include <QSaveFile>

#include <array>
#include <limits>

namespace tp::vocab {

namespace {

const QString EndOfWord = QStringLiteral("</w>");
const QString StartToken = QStringLiteral("<|startoftext|>");
const QString EndToken = QStringLiteral("<|endoftext|>");

// bytes_to_unicode() of GPT-2/CLIP: printable bytes stand for themselves, the others are
// moved to U+0100 and up, in byte order. `order` lists the bytes printable-first.
struct ByteTable {
    std::array<QString, 256> symbol;
    std::array<int, 256> order{};
    ByteTable() {
        std::array<bool, 256> printable{};
        int n = 0;
        auto add = [&](int from, int to) {
            for (int b = from; b <= to; ++b) {
                printable[size_t(b)] = true;
                symbol[size_t(b)] = QString(QChar(char16_t(b)));
                order[size_t(n++)] = b;
            }
        };
        add('!', '~');
        add(0xA1, 0xAC);
        add(0xAE, 0xFF);
        int extra = 0;
        for (int b = 0; b < 256; ++b)
            if (!printable[size_t(b)]) {
                symbol[size_t(b)] = QString(QChar(char16_t(256 + extra++)));
                order[size_t(n++)] = b;
            }
    }
};

const ByteTable& byteTable() {
    static const ByteTable table;
    return table;
}

// Replaces every non-overlapping left-to-right occurrence of (a, b) in `word` by a+b.
bool mergePair(QStringList& word, const QString& a, const QString& b) {
    if (word.size() < 2)
        return false;
    QStringList out;
    out.reserve(word.size());
    bool changed = false;
    for (int i = 0; i < word.size();) {
        if (i + 1 < word.size() && word[i] == a && word[i + 1] == b) {
            out.append(a + b);
            i += 2;
            changed = true;
        } else {
            out.append(word[i]);
            ++i;
        }
    }
    if (changed)
        word = out;
    return changed;
}

QString pairKey(const QString& a, const QString& b) {
    return a + QLatin1Char(' ') + b;
}

QByteArray jsonString(const QString& s) {
    QByteArray out = "\"";
    for (const QChar c : s) {
        const char16_t u = c.unicode();
        if (u == u'"')
            out += "\\\"";
        else if (u == u'\\')
            out += "\\\\";
        else if (u < 0x20)
            out += QStringLiteral("\\u%1").arg(int(u), 4, 16, QLatin1Char('0')).toLatin1();
        else
            out += QString(c).toUtf8();
    }
    out += '"';
    return out;
}

Status writeFile(const QString& path, const QByteArray& data) {
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(data) != data.size() || !f.commit())
        return Status::fail(QStringLiteral("Could not write %1: %2. Check that the folder is writable.")
                                .arg(path, f.errorString()));
    return Status::ok();
}

} // namespace

QString byteSymbol(unsigned char byte) {
    return byteTable().symbol[byte];
}

QStringList byteSymbolsInVocabOrder() {
    QStringList out;
    for (int b : byteTable().order)
        out.append(byteTable().symbol[size_t(b)]);
    return out;
}

QVector<QStringList> pretokenize(const QString& text) {
    static const QRegularExpression pattern(
        QStringLiteral("'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"));
    QVector<QStringList> words;
    auto it = pattern.globalMatch(text.simplified().toLower());
    while (it.hasNext()) {
        const QByteArray bytes = it.next().captured(0).toUtf8();
        QStringList symbols;
        for (const char ch : bytes)
            symbols.append(byteSymbol(static_cast<unsigned char>(ch)));
        if (symbols.isEmpty())
            continue;
        symbols.last() += EndOfWord;
        words.append(symbols);
    }
    return words;
}

QVector<Merge> learnMerges(const QStringList& texts, const BpeOptions& options) {
    // Distinct words with their counts; a QMap keeps the iteration order deterministic.
    QMap<QStringList, qint64> counted;
    for (const QString& t : texts)
        for (const QStringList& w : pretokenize(t))
            counted[w] += 1;
    QVector<QStringList> words;
    QVector<qint64> counts;
    for (auto it = counted.cbegin(); it != counted.cend(); ++it) {
        words.append(it.key());
        counts.append(it.value());
    }

    QVector<Merge> merges;
    while (merges.size() < options.maxMerges) {
        QHash<QString, qint64> pairCounts;
        QHash<QString, Merge> pairs;
        for (int i = 0; i < words.size(); ++i)
            for (int j = 0; j + 1 < words[i].size(); ++j) {
                const QString key = pairKey(words[i][j], words[i][j + 1]);
                pairCounts[key] += counts[i];
                pairs.insert(key, Merge{words[i][j], words[i][j + 1]});
            }
        QString bestKey;
        qint64 bestCount = 0;
        for (auto it = pairCounts.cbegin(); it != pairCounts.cend(); ++it)
            if (it.value() > bestCount || (it.value() == bestCount && it.key() < bestKey)) {
                bestCount = it.value();
                bestKey = it.key();
            }
        if (bestKey.isEmpty() || bestCount < options.minPairCount)
            break;
        const Merge m = pairs.value(bestKey);
        merges.append(m);
        for (QStringList& w : words)
            mergePair(w, m.left, m.right);
    }
    return merges;
}

ClipVocabulary::ClipVocabulary(QVector<Merge> merges)
    : m_merges(std::move(merges)) {
    m_tokens = byteSymbolsInVocabOrder();
    const QStringList bytes = m_tokens;
    for (const QString& s : bytes)
        m_tokens.append(s + EndOfWord);
    for (int r = 0; r < m_merges.size(); ++r) {
        m_tokens.append(m_merges[r].left + m_merges[r].right);
        m_ranks.insert(pairKey(m_merges[r].left, m_merges[r].right), r);
    }
    m_tokens.append(StartToken);
    m_tokens.append(EndToken);
    for (int i = 0; i < m_tokens.size(); ++i)
        if (!m_ids.contains(m_tokens[i]))
            m_ids.insert(m_tokens[i], i);
}

QStringList ClipVocabulary::encodeWord(const QStringList& symbols) const {
    QStringList word = symbols;
    while (word.size() > 1) {
        int bestRank = std::numeric_limits<int>::max();
        int bestAt = -1;
        for (int j = 0; j + 1 < word.size(); ++j) {
            const int r = m_ranks.value(pairKey(word[j], word[j + 1]), -1);
            if (r >= 0 && r < bestRank) {
                bestRank = r;
                bestAt = j;
            }
        }
        if (bestAt < 0)
            break;
        const QString a = word[bestAt];
        const QString b = word[bestAt + 1];
        mergePair(word, a, b);
    }
    return word;
}

QVector<int> ClipVocabulary::encode(const QString& text) const {
    QVector<int> ids;
    for (const QStringList& w : pretokenize(text))
        for (const QString& t : encodeWord(w))
            ids.append(id(t));
    return ids;
}

Status ClipVocabulary::write(const QString& directory) const {
    if (!QDir().mkpath(directory))
        return Status::fail(QStringLiteral("Could not create the tokenizer folder %1.").arg(directory));
    const QDir dir(directory);

    // vocab.json in id order (a QJsonObject would sort the keys).
    QByteArray vocab = "{";
    for (int i = 0; i < m_tokens.size(); ++i) {
        if (i > 0)
            vocab += ", ";
        vocab += jsonString(m_tokens[i]) + ": " + QByteArray::number(i);
    }
    vocab += "}";

    QByteArray merges = "#version: 0.2\n";
    for (const Merge& m : m_merges)
        merges += (m.left + QLatin1Char(' ') + m.right).toUtf8() + '\n';

    QJsonObject config{{QStringLiteral("add_prefix_space"), false},
                       {QStringLiteral("bos_token"), StartToken},
                       {QStringLiteral("eos_token"), EndToken},
                       {QStringLiteral("unk_token"), EndToken},
                       {QStringLiteral("pad_token"), EndToken},
                       {QStringLiteral("model_max_length"), 77},
                       {QStringLiteral("do_lower_case"), true},
                       {QStringLiteral("errors"), QStringLiteral("replace")},
                       {QStringLiteral("tokenizer_class"), QStringLiteral("CLIPTokenizer")}};
    QJsonObject special{{QStringLiteral("bos_token"), StartToken},
                        {QStringLiteral("eos_token"), EndToken},
                        {QStringLiteral("unk_token"), EndToken},
                        {QStringLiteral("pad_token"), EndToken}};

    for (const auto& [name, data] :
         {std::pair<QString, QByteArray>{QStringLiteral("vocab.json"), vocab},
          {QStringLiteral("merges.txt"), merges},
          {QStringLiteral("tokenizer_config.json"), QJsonDocument(config).toJson(QJsonDocument::Indented)},
          {QStringLiteral("special_tokens_map.json"),
           QJsonDocument(special).toJson(QJsonDocument::Indented)}}) {
        if (Status s = writeFile(dir.filePath(name), data); !s)
            return s;
    }
    return Status::ok();
}

} // namespace tp::vocab
