#include "core/text/ByteLevelBpe.h"

#include "core/text/ClipPreTokenizer.h"
#include "core/text/TokenizerJson.h"
#include "core/text/VocabJson.h"

#include <QFile>
#include <QFileInfo>

#include <algorithm>
#include <array>
#include <mutex>
#include <queue>
#include <unordered_map>

namespace tp::text {

namespace {

struct ByteTables {
    std::array<char32_t, 256> toUnicode{};
    std::array<int, 324> toByte{}; // the alphabet's highest character is U+0143
};

const ByteTables& byteTables() {
    static const ByteTables tables = [] {
        ByteTables t;
        t.toByte.fill(-1);
        int next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable =
                (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            const char32_t c = printable ? char32_t(b) : char32_t(next++);
            t.toUnicode[size_t(b)] = c;
            t.toByte[size_t(c)] = b;
        }
        return t;
    }();
    return tables;
}

std::uint64_t pairKey(std::int32_t left, std::int32_t right) {
    return (std::uint64_t(std::uint32_t(left)) << 32) | std::uint32_t(right);
}

Result<QByteArray> readFile(const QString& path, const QString& what) {
    QFile file(path);
    if (!file.exists())
        return Result<QByteArray>::fail(QStringLiteral("%1 is missing (%2): the tokenizer folder needs "
                                                       "vocab.json and merges.txt (or a tokenizer.json); "
                                                       "copy the model's tokenizer folder again")
                                            .arg(what, path));
    if (!file.open(QIODevice::ReadOnly))
        return Result<QByteArray>::fail(
            QStringLiteral("cannot read %1 (%2): %3").arg(what, path, file.errorString()));
    return Result<QByteArray>::ok(file.readAll());
}

} // namespace

char32_t byteToUnicode(std::uint8_t byte) {
    return byteTables().toUnicode[byte];
}

int unicodeToByte(char32_t c) {
    const auto& toByte = byteTables().toByte;
    return c < toByte.size() ? toByte[c] : -1;
}

struct ByteLevelBpe::Model {
    VocabJson json;                                           // owns the token texts
    std::unordered_map<std::string_view, std::int32_t> vocab; // views into json.arena
    std::vector<std::string_view> tokens;                     // by id; empty where vocab.json has no entry
    std::unordered_map<std::uint64_t, std::pair<std::int32_t, std::int32_t>> merges; // → (rank, merged id)
    std::array<std::int32_t, 256> byteId{};          // a byte's symbol inside a word, -1 when absent
    std::array<std::int32_t, 256> byteEndOfWordId{}; // the same symbol + "</w>" (a word's last byte)
    int mergeCount = 0;

    std::int32_t find(std::string_view token) const {
        const auto it = vocab.find(token);
        return it == vocab.end() ? -1 : it->second;
    }
};

struct ByteLevelBpe::Cache {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<std::int32_t>> words;
    size_t capacity = 10000; // as Hugging Face tokenizers' BPE cache
};

ByteLevelBpe::ByteLevelBpe(std::shared_ptr<const Model> model, std::shared_ptr<Cache> cache)
    : m_model(std::move(model))
    , m_cache(std::move(cache)) {}

Result<ByteLevelBpe> ByteLevelBpe::load(const QString& vocabPath, const QString& mergesPath) {
    using R = Result<ByteLevelBpe>;
    const QString vocabName = QFileInfo(vocabPath).fileName();
    const QString mergesName = QFileInfo(mergesPath).fileName();

    auto vocabBytes = readFile(vocabPath, vocabName);
    if (!vocabBytes)
        return R::fail(vocabBytes.error());
    auto json = VocabJson::parse(*vocabBytes);
    if (!json)
        return R::fail(QStringLiteral("%1 (%2) is not a JSON object of token → id (%3); the file is damaged: "
                                      "copy the model's tokenizer folder again")
                           .arg(vocabName, vocabPath, json.error()));

    auto mergesBytes = readFile(mergesPath, mergesName);
    if (!mergesBytes)
        return R::fail(mergesBytes.error());
    const QByteArray& text = *mergesBytes;
    std::vector<std::pair<std::string_view, std::string_view>> merges;
    std::vector<int> lines;
    merges.reserve(size_t(text.count('\n')) + 1);
    qsizetype start = 0;
    int lineNumber = 0;
    while (start < text.size()) {
        qsizetype end = text.indexOf('\n', start);
        if (end < 0)
            end = text.size();
        std::string_view line(text.constData() + start, size_t(end - start));
        start = end + 1;
        ++lineNumber;
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.empty() || line.substr(0, 8) == "#version")
            continue;
        const size_t space = line.find(' ');
        if (space == 0 || space == std::string_view::npos || space + 1 >= line.size() ||
            line.find(' ', space + 1) != std::string_view::npos)
            return R::fail(QStringLiteral("%1 (%2) line %3 is not \"left right\": the file is damaged; "
                                          "copy the model's tokenizer folder again")
                               .arg(mergesName, mergesPath)
                               .arg(lineNumber));
        merges.emplace_back(line.substr(0, space), line.substr(space + 1));
        lines.push_back(lineNumber);
    }
    return build(std::move(*json), merges, lines, QStringLiteral("%1 (%2)").arg(vocabName, vocabPath),
                 QStringLiteral("%1 (%2) line").arg(mergesName, mergesPath),
                 QStringLiteral("the two files do not belong together"));
}

Result<ByteLevelBpe> ByteLevelBpe::fromTokenizerJson(const TokenizerJson& tokenizer, const QString& path) {
    std::vector<std::pair<std::string_view, std::string_view>> merges;
    std::vector<int> numbers;
    merges.reserve(tokenizer.merges.size());
    for (size_t i = 0; i < tokenizer.merges.size(); ++i) {
        merges.emplace_back(tokenizer.merges[i].first, tokenizer.merges[i].second);
        numbers.push_back(int(i));
    }
    const QString name = QFileInfo(path).fileName();
    return build(tokenizer.vocab, merges, numbers, QStringLiteral("%1 (%2)").arg(name, path),
                 QStringLiteral("%1 (%2) merge").arg(name, path), QStringLiteral("the file is inconsistent"));
}

Result<ByteLevelBpe>
ByteLevelBpe::build(VocabJson json, const std::vector<std::pair<std::string_view, std::string_view>>& merges,
                    const std::vector<int>& positions, const QString& vocabWhere, const QString& mergeWhere,
                    const QString& inconsistent) {
    using R = Result<ByteLevelBpe>;
    auto model = std::make_shared<Model>();
    if (json.entries.empty())
        return R::fail(
            QStringLiteral("%1 holds no tokens; copy the model's tokenizer folder again").arg(vocabWhere));
    model->json = std::move(json);
    model->vocab.reserve(model->json.entries.size());
    for (const VocabJson::Entry& entry : model->json.entries) {
        const std::string_view token = model->json.text(entry);
        if (size_t(entry.id) >= model->tokens.size())
            model->tokens.resize(size_t(entry.id) + 1);
        model->tokens[size_t(entry.id)] = token;
        model->vocab.insert_or_assign(token, entry.id); // a repeated key keeps its last id, as in Python
    }

    model->merges.reserve(merges.size());
    std::string merged;
    for (size_t i = 0; i < merges.size(); ++i) {
        const auto [left, right] = merges[i];
        merged.assign(left);
        merged.append(right);
        const std::int32_t a = model->find(left);
        const std::int32_t b = model->find(right);
        const std::int32_t ab = model->find(merged);
        for (const auto& [id, name] :
             {std::pair{a, left}, std::pair{b, right}, std::pair{ab, std::string_view(merged)}})
            if (id < 0)
                return R::fail(
                    QStringLiteral("%1 %2 uses \"%3\", which %4 does not have: %5; copy the model's "
                                   "tokenizer folder again")
                        .arg(mergeWhere)
                        .arg(positions[i])
                        .arg(QString::fromUtf8(name.data(), qsizetype(name.size())), vocabWhere,
                             inconsistent));
        // Like tokenizers (a map collected from the list), a repeated pair keeps its last rank.
        model->merges.insert_or_assign(pairKey(a, b), std::pair{model->mergeCount, ab});
        ++model->mergeCount;
    }

    std::string symbol;
    for (int byte = 0; byte < 256; ++byte) {
        symbol.clear();
        appendUtf8(byteToUnicode(std::uint8_t(byte)), symbol);
        model->byteId[size_t(byte)] = model->find(symbol);
        symbol.append(kEndOfWord);
        model->byteEndOfWordId[size_t(byte)] = model->find(symbol);
    }
    return R::ok(ByteLevelBpe(std::move(model), std::make_shared<Cache>()));
}

std::optional<std::int32_t> ByteLevelBpe::tokenId(std::string_view token) const {
    const std::int32_t id = m_model->find(token);
    return id < 0 ? std::nullopt : std::optional<std::int32_t>(id);
}

std::string_view ByteLevelBpe::token(std::int64_t id) const {
    if (id < 0 || size_t(id) >= m_model->tokens.size())
        return {};
    return m_model->tokens[size_t(id)];
}

int ByteLevelBpe::vocabSize() const {
    return int(m_model->vocab.size());
}
int ByteLevelBpe::mergeCount() const {
    return m_model->mergeCount;
}

void ByteLevelBpe::setUnknownId(std::int32_t id) {
    if (id == m_unknownId)
        return;
    m_unknownId = id;
    // Cached words may hold the old id; this instance starts a cache of its own.
    auto fresh = std::make_shared<Cache>();
    {
        std::lock_guard lock(m_cache->mutex);
        fresh->capacity = m_cache->capacity;
    }
    m_cache = std::move(fresh);
}

std::vector<std::int32_t> ByteLevelBpe::mergeWord(std::string_view utf8) const {
    struct Symbol {
        std::int32_t id;
        std::int32_t prev;
        std::int32_t next;
        bool alive;
    };
    struct Merge {
        std::int32_t rank;
        std::int32_t pos;
        std::int32_t newId;
    };
    struct Later { // priority_queue keeps the "largest" on top: make that the lowest rank, then leftmost
        bool operator()(const Merge& a, const Merge& b) const {
            return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
        }
    };

    const Model& model = *m_model;
    std::vector<Symbol> symbols;
    symbols.reserve(utf8.size());
    for (size_t i = 0; i < utf8.size(); ++i) {
        const auto byte = std::uint8_t(utf8[i]);
        std::int32_t id = i + 1 == utf8.size() ? model.byteEndOfWordId[byte] : model.byteId[byte];
        if (id < 0)
            id = m_unknownId; // fuse_unk is off: one unknown symbol per byte
        if (id < 0)
            continue;
        const auto index = std::int32_t(symbols.size());
        if (index > 0)
            symbols.back().next = index;
        symbols.push_back({id, index - 1, -1, true});
    }

    auto lookup = [&](std::int32_t left, std::int32_t right) -> const std::pair<std::int32_t, std::int32_t>* {
        const auto it = model.merges.find(pairKey(left, right));
        return it == model.merges.end() ? nullptr : &it->second;
    };

    std::priority_queue<Merge, std::vector<Merge>, Later> queue;
    for (size_t i = 0; i + 1 < symbols.size(); ++i)
        if (const auto* m = lookup(symbols[i].id, symbols[i + 1].id))
            queue.push({m->first, std::int32_t(i), m->second});

    while (!queue.empty()) {
        const Merge top = queue.top();
        queue.pop();
        Symbol& current = symbols[size_t(top.pos)];
        if (!current.alive || current.next < 0)
            continue;
        const Symbol right = symbols[size_t(current.next)];
        const auto* m = lookup(current.id, right.id);
        if (!m || m->second != top.newId) // a stale entry: its pair changed since it was queued
            continue;

        symbols[size_t(current.next)].alive = false;
        current.id = top.newId;
        current.next = right.next;
        if (right.next >= 0)
            symbols[size_t(right.next)].prev = top.pos;

        if (current.prev >= 0)
            if (const auto* p = lookup(symbols[size_t(current.prev)].id, current.id))
                queue.push({p->first, current.prev, p->second});
        if (current.next >= 0)
            if (const auto* n = lookup(current.id, symbols[size_t(current.next)].id))
                queue.push({n->first, top.pos, n->second});
    }

    std::vector<std::int32_t> ids;
    for (const Symbol& s : symbols)
        if (s.alive)
            ids.push_back(s.id);
    return ids;
}

void ByteLevelBpe::encodeWordUncached(std::string_view utf8, std::vector<std::int64_t>& out) const {
    for (std::int32_t id : mergeWord(utf8))
        out.push_back(id);
}

void ByteLevelBpe::encodeWord(std::string_view utf8, std::vector<std::int64_t>& out) const {
    Cache& cache = *m_cache;
    std::string key(utf8);
    {
        std::lock_guard lock(cache.mutex);
        const auto it = cache.words.find(key);
        if (it != cache.words.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    std::vector<std::int32_t> ids = mergeWord(utf8);
    out.insert(out.end(), ids.begin(), ids.end());
    std::lock_guard lock(cache.mutex);
    if (cache.words.size() < cache.capacity)
        cache.words.emplace(std::move(key), std::move(ids));
}

void ByteLevelBpe::setCacheCapacity(int capacity) {
    std::lock_guard lock(m_cache->mutex);
    m_cache->capacity = size_t(std::max(0, capacity));
    if (m_cache->words.size() > m_cache->capacity)
        m_cache->words.clear();
}

int ByteLevelBpe::cacheSize() const {
    std::lock_guard lock(m_cache->mutex);
    return int(m_cache->words.size());
}

void ByteLevelBpe::clearCache() {
    std::lock_guard lock(m_cache->mutex);
    m_cache->words.clear();
}

} // namespace tp::text
