#include "core/text/ClipTokenizer.h"

#include "core/common/Log.h"
#include "core/text/ClipPreTokenizer.h"
#include "core/text/ClipTokenizerConfig.h"
#include "core/text/TokenizerJson.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFileInfo>

#include <algorithm>
#include <string_view>

namespace tp::text {

namespace {

// Calls `onText(segment)` for the stretches between special tokens and `onSpecial(id)` for each
// special token, matched leftmost-longest (as tokenizers' added-vocabulary split).
template <typename View, typename Specials, typename OnText, typename OnSpecial>
void splitOnSpecials(View text, const Specials& specials, OnText&& onText, OnSpecial&& onSpecial) {
    size_t start = 0;
    size_t at = 0;
    while (at < text.size()) {
        size_t bestLength = 0;
        std::int64_t bestId = -1;
        for (const auto& [content, id] : specials) {
            const View candidate(content.data(), content.size());
            if (candidate.size() > bestLength && text.substr(at, candidate.size()) == candidate) {
                bestLength = candidate.size();
                bestId = id;
            }
        }
        if (bestLength == 0) {
            ++at;
            continue;
        }
        if (at > start)
            onText(text.substr(start, at - start));
        onSpecial(bestId);
        at += bestLength;
        start = at;
    }
    if (start < text.size())
        onText(text.substr(start));
}

std::u16string_view utf16(const QString& s) {
    return {reinterpret_cast<const char16_t*>(s.utf16()), size_t(s.size())};
}

} // namespace

Result<ClipTokenizer> ClipTokenizer::load(const QString& folder, const QString& padToken) {
    using R = Result<ClipTokenizer>;
    QElapsedTimer timer;
    timer.start();
    const QDir dir(folder);
    if (!dir.exists())
        return R::fail(
            QStringLiteral("tokenizer folder %1 does not exist; choose a model folder with a tokenizer/ "
                           "subfolder (vocab.json, merges.txt)")
                .arg(folder));

    auto config = ClipTokenizerConfig::read(folder);
    if (!config)
        return R::fail(config.error());
    const QString vocabPath = dir.filePath(QStringLiteral("vocab.json"));
    const QString mergesPath = dir.filePath(QStringLiteral("merges.txt"));
    const QString jsonPath = dir.filePath(QStringLiteral("tokenizer.json"));
    const bool fromJson =
        (!QFileInfo::exists(vocabPath) || !QFileInfo::exists(mergesPath)) && QFileInfo::exists(jsonPath);
    std::optional<Result<ByteLevelBpe>> bpe;
    QString vocabSource = vocabPath;
    if (fromJson) {
        auto json = TokenizerJson::read(jsonPath);
        if (!json)
            return R::fail(json.error());
        bpe = ByteLevelBpe::fromTokenizerJson(*json, jsonPath);
        vocabSource = jsonPath;
        // tokenizer.json's added tokens and special tokens, where the config files are silent.
        for (const TokenizerJson::AddedToken& added : json->addedTokens)
            if (std::none_of(config->addedTokens.begin(), config->addedTokens.end(),
                             [&](const ClipTokenizerConfig::AddedToken& a) { return a.id == added.id; }))
                config->addedTokens.push_back({added.content, added.id, added.normalized});
        const QString origin = QStringLiteral("tokenizer.json");
        for (auto [token, content] :
             {std::pair{&config->bos, json->bosToken}, std::pair{&config->eos, json->eosToken},
              std::pair{&config->unk, json->unkToken}, std::pair{&config->pad, json->padToken}})
            if (token->isDefault && !content.isEmpty())
                *token = {content, false, origin, false};
    } else {
        bpe = ByteLevelBpe::load(vocabPath, mergesPath);
    }
    if (!*bpe)
        return R::fail(bpe->error());
    if (!padToken.isEmpty())
        config->pad = {padToken, false, QStringLiteral("the pad token asked for"), false};

    ClipTokenizer tokenizer(std::move(**bpe));
    for (const auto& added : config->addedTokens)
        tokenizer.m_addedTokens.push_back({added.content, added.id});

    struct Role {
        const char* name;
        const ClipTokenizerConfig::Token& token;
        std::int64_t& id;
    };
    const Role roles[] = {{"bos", config->bos, tokenizer.m_bosId},
                          {"eos", config->eos, tokenizer.m_eosId},
                          {"unk", config->unk, tokenizer.m_unkId},
                          {"pad", config->pad, tokenizer.m_padId}};
    for (const Role& role : roles) {
        const auto id = tokenizer.tokenId(role.token.content);
        if (!id)
            return R::fail(
                QStringLiteral("%1 names the %2 token \"%3\", which %4 does not have; the tokenizer folder "
                               "is inconsistent: copy it again")
                    .arg(role.token.origin, QLatin1String(role.name), role.token.content, vocabSource));
        role.id = *id;
    }
    tokenizer.m_bpe.setUnknownId(std::int32_t(tokenizer.m_unkId));
    tokenizer.m_modelMaxLength = config->modelMaxLength;

    // Tokens written in the prompt itself: raw ones are found before normalisation, "normalized"
    // ones after it (tokenizers' AddedVocabulary). The first definition of a content wins.
    std::vector<QString> seen;
    auto addSpecial = [&](const QString& content, std::int64_t id, bool normalized) {
        if (std::find(seen.begin(), seen.end(), content) != seen.end())
            return;
        seen.push_back(content);
        if (normalized)
            tokenizer.m_normalizedSpecials.emplace_back(normalizeClipText(content), id);
        else
            tokenizer.m_rawSpecials.push_back({content, id});
    };
    for (const auto& added : config->addedTokens)
        addSpecial(added.content, added.id, added.normalized);
    for (const Role& role : roles)
        addSpecial(role.token.content, role.id, role.token.normalized);

    spdlog::debug("tokenizer {}: {} tokens, {} merges, pad \"{}\" ({}), max length {}, loaded in {:.1f} ms",
                  folder, tokenizer.vocabSize(), tokenizer.mergeCount(), config->pad.content,
                  tokenizer.m_padId, tokenizer.m_modelMaxLength, double(timer.nsecsElapsed()) / 1e6);
    return R::ok(std::move(tokenizer));
}

void ClipTokenizer::encodeNormalized(std::u32string_view text, std::vector<std::int64_t>& out) const {
    std::vector<std::u32string_view> words;
    std::string utf8;
    auto encodeText = [&](std::u32string_view segment) {
        words.clear();
        splitClipWords(segment, words);
        for (std::u32string_view word : words) {
            utf8.clear();
            for (char32_t c : word)
                appendUtf8(c, utf8);
            m_bpe.encodeWord(utf8, out);
        }
    };
    splitOnSpecials(text, m_normalizedSpecials, encodeText, [&](std::int64_t id) { out.push_back(id); });
}

std::vector<std::int64_t> ClipTokenizer::encode(const QString& text) const {
    std::vector<std::int64_t> out;
    std::vector<std::pair<std::u16string_view, std::int64_t>> raw;
    raw.reserve(m_rawSpecials.size());
    for (const SpecialToken& special : m_rawSpecials)
        raw.emplace_back(utf16(special.content), special.id);
    splitOnSpecials(
        utf16(text), raw,
        [&](std::u16string_view segment) {
            encodeNormalized(normalizeClipText(QStringView(segment.data(), qsizetype(segment.size()))), out);
        },
        [&](std::int64_t id) { out.push_back(id); });
    return out;
}

TokenizedPrompt ClipTokenizer::tokenize(const QString& text, int maxLength, bool pad, bool truncate) const {
    if (maxLength <= 0)
        maxLength = m_modelMaxLength;
    const std::vector<std::int64_t> tokens = encode(text);
    size_t kept = tokens.size();
    if (truncate)
        kept = std::min(kept, size_t(std::max(0, maxLength - 2)));

    TokenizedPrompt result;
    result.untruncatedLength = int(tokens.size()) + 2;
    result.length = int(kept) + 2;
    result.ids.reserve(std::max<size_t>(size_t(maxLength), kept + 2));
    result.ids.push_back(m_bosId);
    result.ids.insert(result.ids.end(), tokens.begin(), tokens.begin() + std::ptrdiff_t(kept));
    result.ids.push_back(m_eosId);
    if (pad && result.length < maxLength)
        result.ids.resize(size_t(maxLength), m_padId);
    return result;
}

std::optional<std::int64_t> ClipTokenizer::tokenId(const QString& token) const {
    for (const SpecialToken& added : m_addedTokens)
        if (added.content == token)
            return added.id;
    if (const auto id = m_bpe.tokenId(token.toStdString()))
        return *id;
    return std::nullopt;
}

QString ClipTokenizer::tokenString(std::int64_t id) const {
    for (const SpecialToken& added : m_addedTokens)
        if (added.id == id)
            return added.content;
    const std::string_view token = m_bpe.token(id);
    return QString::fromUtf8(token.data(), qsizetype(token.size()));
}

QString ClipTokenizer::decode(const std::vector<std::int64_t>& ids, bool keepSpecialTokens) const {
    auto isSpecial = [&](std::int64_t id) {
        if (id == m_bosId || id == m_eosId || id == m_unkId || id == m_padId)
            return true;
        return std::any_of(m_addedTokens.begin(), m_addedTokens.end(),
                           [&](const SpecialToken& t) { return t.id == id; });
    };
    std::string bytes;
    for (std::int64_t id : ids) {
        if (!keepSpecialTokens && isSpecial(id))
            continue;
        const QString token = tokenString(id);
        for (char32_t c : toCodePoints(token)) {
            const int byte = unicodeToByte(c);
            if (byte >= 0)
                bytes.push_back(char(byte));
            else
                appendUtf8(c, bytes); // added tokens are plain text, not byte-level
        }
    }
    QString text = QString::fromUtf8(bytes.data(), qsizetype(bytes.size())); // bad UTF-8 → U+FFFD
    text.replace(QLatin1String(ByteLevelBpe::kEndOfWord.data(), qsizetype(ByteLevelBpe::kEndOfWord.size())),
                 QStringLiteral(" "));
    return text.trimmed();
}

} // namespace tp::text
