#include "core/text/T5Tokenizer.h"

#include "core/common/Log.h"
#include "core/text/SentencePieceModel.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QJsonParseError>
#include <QSet>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

namespace tp::text {

namespace {

constexpr char16_t kMetaSpace = u'\u2581'; // SentencePiece's "▁"
constexpr int kLargestMaxLength = 1 << 20; // "no limit" configs say 1e30

// Unicode White_Space, where tokenizers' WhitespaceSplit (Rust's char::is_whitespace) splits.
// All of them are in the BMP.
bool isWhitespace(QChar c) {
    const char16_t u = c.unicode();
    return (u >= 0x09 && u <= 0x0D) || u == 0x20 || u == 0x85 || u == 0xA0 || u == 0x1680 ||
           (u >= 0x2000 && u <= 0x200A) || u == 0x2028 || u == 0x2029 || u == 0x202F || u == 0x205F ||
           u == 0x3000;
}

// The file's JSON object; an empty object when the file does not exist.
Result<QJsonObject> readOptionalObject(const QString& path) {
    using R = Result<QJsonObject>;
    QFile file(path);
    if (!file.exists())
        return R::ok({});
    if (!file.open(QIODevice::ReadOnly))
        return R::fail(QStringLiteral("cannot read %1: %2").arg(path, file.errorString()));
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(file.readAll(), &error);
    if (error.error != QJsonParseError::NoError || !doc.isObject())
        return R::fail(QStringLiteral("%1 is not a valid JSON object (%2 at byte %3); fix or re-download the "
                                      "tokenizer folder")
                           .arg(path, error.errorString())
                           .arg(error.offset));
    return R::ok(doc.object());
}

// ---- tokenizer.json → a SentencePiece model --------------------------------------------
// SentencePiece reads its model as a serialized ModelProto (sentencepiece_model.proto). The
// fields written here: ModelProto{pieces = 1, trainer_spec = 2, normalizer_spec = 3},
// SentencePiece{piece = 1, score = 2, type = 3}, TrainerSpec{model_type = 3},
// NormalizerSpec{name = 1, precompiled_charsmap = 2}; the rest keep their defaults
// (add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces: true; eos "</s>", pad "<pad>").

void putVarint(std::string& out, quint64 value) {
    while (value >= 0x80) {
        out.push_back(char((value & 0x7F) | 0x80));
        value >>= 7;
    }
    out.push_back(char(value));
}

void putKey(std::string& out, int field, int wireType) {
    putVarint(out, (quint64(field) << 3) | quint64(wireType));
}

void putBytes(std::string& out, int field, const std::string& bytes) {
    putKey(out, field, 2);
    putVarint(out, bytes.size());
    out += bytes;
}

void putVarintField(std::string& out, int field, quint64 value) {
    putKey(out, field, 0);
    putVarint(out, value);
}

void putFloat(std::string& out, int field, float value) {
    putKey(out, field, 5);
    quint32 bits = 0;
    std::memcpy(&bits, &value, 4);
    for (int i = 0; i < 4; ++i)
        out.push_back(char((bits >> (8 * i)) & 0xFF));
}

enum PieceType { Normal = 1, Unknown = 2, Control = 3 };

// The precompiled charsmap of a tokenizers normalizer ("Precompiled", possibly inside a
// "Sequence"); empty when there is none (no normalisation).
QByteArray precompiledCharsmap(const QJsonValue& normalizer) {
    const QJsonObject object = normalizer.toObject();
    const QString type = object.value(QStringLiteral("type")).toString();
    if (type == QLatin1String("Precompiled"))
        return QByteArray::fromBase64(
            object.value(QStringLiteral("precompiled_charsmap")).toString().toLatin1());
    if (type == QLatin1String("Sequence"))
        for (const auto& inner : object.value(QStringLiteral("normalizers")).toArray())
            if (const QByteArray map = precompiledCharsmap(inner); !map.isEmpty())
                return map;
    return {};
}

struct TokenizerJson {
    std::string modelProto;
    std::vector<std::pair<QString, std::int64_t>> addedTokens;
};

Result<TokenizerJson> readTokenizerJson(const QString& path) {
    using R = Result<TokenizerJson>;
    auto json = readOptionalObject(path);
    if (!json)
        return R::fail(json.error());
    const QJsonObject model = json->value(QStringLiteral("model")).toObject();
    if (model.value(QStringLiteral("type")).toString() != QLatin1String("Unigram"))
        return R::fail(
            QStringLiteral("%1 is not a SentencePiece unigram tokenizer (model type \"%2\"); T5 needs "
                           "one: put T5's spiece.model in the folder")
                .arg(path, model.value(QStringLiteral("type")).toString()));
    const QJsonArray vocab = model.value(QStringLiteral("vocab")).toArray();
    const qint64 unkId = model.value(QStringLiteral("unk_id")).toInteger(-1);
    if (vocab.isEmpty() || unkId < 0 || unkId >= vocab.size())
        return R::fail(
            QStringLiteral("%1: the unigram model needs a vocabulary and an unk_id inside it").arg(path));

    TokenizerJson out;
    QSet<qint64> addedIds;
    for (const auto& value : json->value(QStringLiteral("added_tokens")).toArray()) {
        const QJsonObject token = value.toObject();
        const qint64 id = token.value(QStringLiteral("id")).toInteger(-1);
        const QString content = token.value(QStringLiteral("content")).toString();
        if (id < 0 || content.isEmpty())
            return R::fail(QStringLiteral("%1: an added token needs an id and a content").arg(path));
        out.addedTokens.emplace_back(content, id);
        addedIds.insert(id);
    }

    std::string& proto = out.modelProto;
    std::string message;
    for (qsizetype i = 0; i < vocab.size(); ++i) {
        const QJsonArray entry = vocab.at(i).toArray();
        const QString piece = entry.at(0).toString();
        if (entry.size() != 2 || piece.isEmpty() || !entry.at(1).isDouble())
            return R::fail(QStringLiteral("%1: vocabulary entry %2 is not [piece, score]").arg(path).arg(i));
        message.clear();
        putBytes(message, 1, piece.toStdString());
        putFloat(message, 2, float(entry.at(1).toDouble()));
        // Added tokens are split out of the text before the model sees it: control pieces are
        // never matched inside text.
        putVarintField(message, 3, i == unkId ? Unknown : addedIds.contains(i) ? Control : Normal);
        putBytes(proto, 1, message);
    }
    message.clear();
    putVarintField(message, 3, 1); // model_type UNIGRAM
    putBytes(proto, 2, message);
    message.clear();
    const QByteArray charsmap = precompiledCharsmap(json->value(QStringLiteral("normalizer")));
    putBytes(message, 1, charsmap.isEmpty() ? "identity" : "nmt_nfkc");
    if (!charsmap.isEmpty())
        putBytes(message, 2, charsmap.toStdString());
    putBytes(proto, 3, message);
    return R::ok(std::move(out));
}

} // namespace

// ---- loading -------------------------------------------------------------------------------

Result<T5Tokenizer> T5Tokenizer::fromModel(std::shared_ptr<const SentencePieceModel> model,
                                           const QString& origin) {
    using R = Result<T5Tokenizer>;
    T5Tokenizer tokenizer;
    struct Role {
        const char* piece;
        std::int64_t& id;
    };
    for (const Role& role : {Role{"</s>", tokenizer.m_eosId}, Role{"<pad>", tokenizer.m_padId},
                             Role{"<unk>", tokenizer.m_unkId}}) {
        const int id = model->pieceToId(role.piece);
        const bool known =
            model->isUnknown(id) ? std::strcmp(role.piece, "<unk>") == 0 : model->idToPiece(id) == role.piece;
        if (!known)
            return R::fail(QStringLiteral("%1 has no \"%2\" piece: it is not a T5 tokenizer")
                               .arg(origin, QLatin1String(role.piece)));
        role.id = id;
        tokenizer.m_specials.push_back({QString::fromLatin1(role.piece), id});
    }
    tokenizer.m_model = std::move(model);
    return R::ok(std::move(tokenizer));
}

Result<T5Tokenizer> T5Tokenizer::loadModel(const QString& spieceModelPath, int extraIds) {
    using R = Result<T5Tokenizer>;
    QFile file(spieceModelPath);
    if (!QFileInfo(spieceModelPath).isFile())
        return R::fail(QStringLiteral("T5 tokenizer model %1 does not exist").arg(spieceModelPath));
    if (!file.open(QIODevice::ReadOnly))
        return R::fail(QStringLiteral("cannot read %1: %2").arg(spieceModelPath, file.errorString()));
    auto model = SentencePieceModel::load(file.readAll(), spieceModelPath);
    if (!model)
        return R::fail(model.error() + QStringLiteral("; copy T5's spiece.model again"));
    auto tokenizer = fromModel(std::move(*model), spieceModelPath);
    if (!tokenizer)
        return tokenizer;
    // T5's sentinels follow the pieces in reverse: <extra_id_0> has the highest id.
    const int pieces = tokenizer->pieceCount();
    for (int i = 0; i < extraIds; ++i)
        tokenizer->m_specials.push_back(
            {QStringLiteral("<extra_id_%1>").arg(i), std::int64_t(pieces + extraIds - 1 - i)});
    return tokenizer;
}

Result<T5Tokenizer> T5Tokenizer::load(const QString& folder) {
    using R = Result<T5Tokenizer>;
    QElapsedTimer timer;
    timer.start();
    const QDir dir(folder);
    if (!dir.exists())
        return R::fail(
            QStringLiteral("T5 tokenizer folder %1 does not exist; choose a model folder with its T5 "
                           "tokenizer (spiece.model)")
                .arg(folder));
    const QString configPath = dir.filePath(QStringLiteral("tokenizer_config.json"));
    auto config = readOptionalObject(configPath);
    if (!config)
        return R::fail(config.error());
    const int extraIds = config->value(QStringLiteral("extra_ids")).toInt(kDefaultExtraIds);

    const QString modelPath = dir.filePath(QStringLiteral("spiece.model"));
    const QString jsonPath = dir.filePath(QStringLiteral("tokenizer.json"));
    Result<T5Tokenizer> tokenizer = R::fail({});
    if (QFileInfo(modelPath).isFile()) {
        tokenizer = loadModel(modelPath, extraIds);
    } else if (QFileInfo(jsonPath).isFile()) {
        auto json = readTokenizerJson(jsonPath);
        if (!json)
            return R::fail(json.error());
        auto model = SentencePieceModel::load(QByteArray::fromStdString(json->modelProto), jsonPath);
        if (!model)
            return R::fail(model.error() + QStringLiteral("; put T5's spiece.model in the folder"));
        tokenizer = fromModel(std::move(*model), jsonPath);
        if (tokenizer)
            for (const auto& [content, id] : json->addedTokens)
                tokenizer->m_specials.push_back({content, id});
    } else {
        return R::fail(
            QStringLiteral("T5 tokenizer folder %1 has neither spiece.model nor tokenizer.json; copy the "
                           "model's tokenizer folder again (T5's spiece.model is enough)")
                .arg(folder));
    }
    if (!tokenizer)
        return tokenizer;

    // added_tokens_decoder names the ids of the added tokens (the extra ids above all); it wins
    // over the defaults, as in transformers.
    const QJsonObject added = config->value(QStringLiteral("added_tokens_decoder")).toObject();
    for (auto it = added.constBegin(); it != added.constEnd(); ++it) {
        bool isNumber = false;
        const qlonglong id = it.key().toLongLong(&isNumber);
        const QString content = it.value().toObject().value(QStringLiteral("content")).toString();
        if (!isNumber || id < 0 || content.isEmpty())
            return R::fail(QStringLiteral("%1: added_tokens_decoder entry \"%2\" needs a numeric id and a "
                                          "\"content\"")
                               .arg(configPath, it.key()));
        auto& specials = tokenizer->m_specials;
        specials.erase(
            std::remove_if(specials.begin(), specials.end(),
                           [&](const SpecialToken& s) { return s.content == content || s.id == id; }),
            specials.end());
        specials.push_back({content, id});
    }
    const double maxLength = config->value(QStringLiteral("model_max_length")).toDouble(kDefaultMaxLength);
    if (maxLength >= 2 && maxLength <= kLargestMaxLength)
        tokenizer->m_modelMaxLength = int(maxLength);

    spdlog::debug("T5 tokenizer {}: {} pieces, {} special tokens, max length {}, loaded in {:.1f} ms", folder,
                  tokenizer->pieceCount(), tokenizer->m_specials.size(), tokenizer->m_modelMaxLength,
                  double(timer.nsecsElapsed()) / 1e6);
    return tokenizer;
}

// ---- encoding ------------------------------------------------------------------------------

void T5Tokenizer::encodeText(const QString& text, std::vector<std::int64_t>& out) const {
    // tokenizers' WhitespaceSplit + Metaspace(prepend "▁" to every word): SentencePiece encodes
    // each word on its own (normalising it and adding the "▁" itself). A word that starts with a
    // typed "▁" keeps it as its prefix.
    std::vector<int> ids;
    const qsizetype n = text.size();
    qsizetype i = 0;
    while (i < n) {
        while (i < n && isWhitespace(text[i]))
            ++i;
        qsizetype start = i;
        while (i < n && !isWhitespace(text[i]))
            ++i;
        if (i == start)
            continue;
        if (text[start] == QChar(kMetaSpace))
            ++start;
        if (start == i) { // a lone "▁"
            out.push_back(m_model->pieceToId("\u2581"));
            continue;
        }
        ids.clear();
        const QByteArray word = QStringView(text).mid(start, i - start).toUtf8();
        const Status status = m_model->encode(std::string_view(word.constData(), size_t(word.size())), ids);
        if (!status) {
            spdlog::warn("T5 tokenizer: cannot encode \"{}\": {}", word.toStdString(),
                         status.error().toStdString());
            out.push_back(m_unkId);
            continue;
        }
        out.insert(out.end(), ids.begin(), ids.end());
    }
}

std::vector<std::int64_t> T5Tokenizer::encode(const QString& text) const {
    // Special tokens are found in the raw text, leftmost first, the longest where several start
    // at the same place (tokenizers' added vocabulary); the text between them is encoded.
    std::vector<std::int64_t> out;
    const qsizetype n = text.size();
    qsizetype start = 0;
    qsizetype at = 0;
    while (at < n) {
        qsizetype bestLength = 0;
        std::int64_t bestId = -1;
        for (const SpecialToken& special : m_specials) {
            const qsizetype length = special.content.size();
            if (length > bestLength && QStringView(text).mid(at).startsWith(special.content)) {
                bestLength = length;
                bestId = special.id;
            }
        }
        if (bestLength == 0) {
            ++at;
            continue;
        }
        if (at > start)
            encodeText(text.mid(start, at - start), out);
        out.push_back(bestId);
        at += bestLength;
        start = at;
    }
    if (start < n)
        encodeText(start == 0 ? text : text.mid(start), out);
    return out;
}

T5TokenizedPrompt T5Tokenizer::tokenize(const QString& text, int maxLength, bool pad, bool truncate) const {
    if (maxLength <= 0)
        maxLength = m_modelMaxLength;
    std::vector<std::int64_t> tokens = encode(text);
    size_t kept = tokens.size();
    if (truncate)
        kept = std::min(kept, size_t(std::max(0, maxLength - 1)));

    T5TokenizedPrompt result;
    result.untruncatedLength = int(tokens.size()) + 1;
    result.length = int(kept) + 1;
    result.droppedIds.assign(tokens.begin() + std::ptrdiff_t(kept), tokens.end());
    tokens.resize(kept);
    result.ids = std::move(tokens);
    result.ids.push_back(m_eosId);
    if (pad && result.length < maxLength)
        result.ids.resize(size_t(maxLength), m_padId);
    return result;
}

// ---- vocabulary ------------------------------------------------------------------------------

int T5Tokenizer::pieceCount() const {
    return m_model->pieceCount();
}

int T5Tokenizer::vocabSize() const {
    std::int64_t size = pieceCount();
    for (const SpecialToken& special : m_specials)
        size = std::max(size, special.id + 1);
    return int(size);
}

std::optional<std::int64_t> T5Tokenizer::tokenId(const QString& token) const {
    for (const SpecialToken& special : m_specials)
        if (special.content == token)
            return special.id;
    const std::string piece = token.toStdString();
    const int id = m_model->pieceToId(piece);
    if (m_model->isUnknown(id) && piece != m_model->idToPiece(id))
        return std::nullopt;
    return id;
}

QString T5Tokenizer::tokenString(std::int64_t id) const {
    for (const SpecialToken& special : m_specials)
        if (special.id == id)
            return special.content;
    if (id < 0 || id >= pieceCount())
        return {};
    return QString::fromStdString(m_model->idToPiece(int(id)));
}

bool T5Tokenizer::isSpecial(std::int64_t id) const {
    return std::any_of(m_specials.begin(), m_specials.end(),
                       [&](const SpecialToken& s) { return s.id == id; });
}

QString T5Tokenizer::decode(const std::vector<std::int64_t>& ids, bool keepSpecialTokens) const {
    QString text;
    for (std::int64_t id : ids) {
        if (!keepSpecialTokens && isSpecial(id))
            continue;
        text += tokenString(id);
    }
    text.replace(QChar(kMetaSpace), QLatin1Char(' '));
    return text.trimmed();
}

} // namespace tp::text
