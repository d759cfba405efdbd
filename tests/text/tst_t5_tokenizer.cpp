// T5's SentencePiece tokenizer against tests/data/t5-tiny (tools/reference/make_t5_tiny.py): a
// 240-piece unigram model trained with spm_train, and the ids spm_encode gives for a set of prompts,
// with EOS, truncation and padding as transformers' T5 tokenizer adds them. Then the real T5
// vocabulary shipped with the app (resources/tokenizers/t5) against Hugging Face's ids.
#include "core/common/Paths.h"
#include "core/text/T5Tokenizer.h"
#include "tests/support/TestUtil.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QHash>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <cstring>

using namespace tp;
using namespace tp::text;
using Ids = std::vector<std::int64_t>;

namespace {

QString dataFile(const QString& relative) {
    return test::dataPath(QStringLiteral("t5-tiny/") + relative);
}

QJsonObject casesFile() {
    QFile file(dataFile(QStringLiteral("tokenizer_cases.json")));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(file.readAll()).object();
}

Ids idsOf(const QJsonValue& value) {
    Ids ids;
    for (const QJsonValue& v : value.toArray())
        ids.push_back(v.toInteger());
    return ids;
}

QString idsText(const Ids& ids) {
    QStringList parts;
    for (std::int64_t id : ids)
        parts << QString::number(id);
    return parts.join(QLatin1Char(' '));
}

// The int64 tensors of a safetensors file (the format: 8-byte header length, JSON header, data),
// read without libtorch.
QHash<QString, Ids> readInt64Tensors(const QString& path) {
    QHash<QString, Ids> out;
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return out;
    const QByteArray bytes = file.readAll();
    quint64 headerSize = 0;
    std::memcpy(&headerSize, bytes.constData(), 8);
    const QJsonObject header = QJsonDocument::fromJson(bytes.mid(8, qsizetype(headerSize))).object();
    const char* data = bytes.constData() + 8 + headerSize;
    for (auto it = header.constBegin(); it != header.constEnd(); ++it) {
        const QJsonObject t = it.value().toObject();
        if (t.value(QStringLiteral("dtype")).toString() != QLatin1String("I64"))
            continue;
        const QJsonArray offsets = t.value(QStringLiteral("data_offsets")).toArray();
        const qint64 begin = offsets[0].toInteger();
        const qint64 end = offsets[1].toInteger();
        Ids ids(size_t((end - begin) / 8));
        std::memcpy(ids.data(), data + begin, size_t(end - begin));
        out.insert(it.key(), ids);
    }
    return out;
}

void writeFile(const QString& path, const QByteArray& bytes) {
    QFile file(path);
    QVERIFY2(file.open(QIODevice::WriteOnly | QIODevice::Truncate), qPrintable(path));
    file.write(bytes);
}

} // namespace

class TestT5Tokenizer final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void cases_data();
    void cases();
    void wholeLineSentencePiece();
    void specialIdsAndVocabulary();
    void decode();
    void addedTokensFromConfig();
    void loadErrors();
    void speed();
    void sd3Fixture_data();
    void sd3Fixture();
    void shippedVocabulary_data();
    void shippedVocabulary();
    void shippedVocabularyLayout();
};

void TestT5Tokenizer::cases_data() {
    QTest::addColumn<QString>("folder"); // "" = loadModel(spiece.model)
    QTest::addColumn<QString>("prompt");
    QTest::addColumn<int>("maxLength");
    QTest::addColumn<Ids>("tokens");
    QTest::addColumn<Ids>("ids");
    QTest::addColumn<int>("untruncatedLength");

    const QJsonArray cases = casesFile().value(QStringLiteral("cases")).toArray();
    QVERIFY2(cases.size() >= 20, "tests/data/t5-tiny/tokenizer_cases.json is missing or short");
    for (const QString& folder : {QStringLiteral("tokenizer"), QStringLiteral("tokenizer-json"), QString()}) {
        for (int i = 0; i < cases.size(); ++i) {
            const QJsonObject c = cases[i].toObject();
            const QString name = QStringLiteral("%1 #%2")
                                     .arg(folder.isEmpty() ? QStringLiteral("spiece.model") : folder)
                                     .arg(i);
            QTest::newRow(qPrintable(name))
                << folder << c.value(QStringLiteral("prompt")).toString()
                << c.value(QStringLiteral("max_length")).toInt() << idsOf(c.value(QStringLiteral("tokens")))
                << idsOf(c.value(QStringLiteral("ids")))
                << c.value(QStringLiteral("untruncated_length")).toInt();
        }
    }
}

void TestT5Tokenizer::cases() {
    QFETCH(QString, folder);
    QFETCH(QString, prompt);
    QFETCH(int, maxLength);
    QFETCH(Ids, tokens);
    QFETCH(Ids, ids);
    QFETCH(int, untruncatedLength);

    auto tokenizer = folder.isEmpty()
                         ? T5Tokenizer::loadModel(dataFile(QStringLiteral("tokenizer/spiece.model")))
                         : T5Tokenizer::load(dataFile(folder));
    QVERIFY2(tokenizer, qPrintable(tokenizer.error()));

    const Ids encoded = tokenizer->encode(prompt);
    QVERIFY2(encoded == tokens,
             qPrintable(QStringLiteral("encode: %1\n expected %2").arg(idsText(encoded), idsText(tokens))));

    const T5TokenizedPrompt t = tokenizer->tokenize(prompt, maxLength);
    QVERIFY2(t.ids == ids,
             qPrintable(QStringLiteral("tokenize: %1\n expected %2").arg(idsText(t.ids), idsText(ids))));
    QCOMPARE(int(t.ids.size()), maxLength);
    QCOMPARE(t.untruncatedLength, untruncatedLength);
    const int kept = std::min(int(tokens.size()), maxLength - 1);
    QCOMPARE(t.length, kept + 1);
    QCOMPARE(t.ids[size_t(kept)], std::int64_t(1)); // EOS stays last
    QCOMPARE(t.truncated(), untruncatedLength > maxLength);
    QCOMPARE(t.promptTokens(), int(tokens.size()));
    QCOMPARE(t.usedPromptTokens(), kept);
    QVERIFY(t.droppedIds == Ids(tokens.begin() + kept, tokens.end()));

    // Neither padded nor truncated: the tokens and the EOS.
    const T5TokenizedPrompt whole = tokenizer->tokenize(prompt, maxLength, /*pad=*/false, /*truncate=*/false);
    Ids withEos = tokens;
    withEos.push_back(1);
    QVERIFY(whole.ids == withEos);
    QCOMPARE(whole.length, untruncatedLength);
}

// Where the prompt has no special token and no whitespace but spaces, SentencePiece on the whole
// line (spm_encode) gives what the per-word encoding gives.
void TestT5Tokenizer::wholeLineSentencePiece() {
    auto tokenizer = T5Tokenizer::load(dataFile(QStringLiteral("tokenizer")));
    QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
    int checked = 0;
    for (const QJsonValue& value : casesFile().value(QStringLiteral("cases")).toArray()) {
        const QJsonObject c = value.toObject();
        if (!c.contains(QStringLiteral("spm_line_tokens")))
            continue;
        const Ids expected = idsOf(c.value(QStringLiteral("spm_line_tokens")));
        const Ids encoded = tokenizer->encode(c.value(QStringLiteral("prompt")).toString());
        QVERIFY2(encoded == expected, qPrintable(c.value(QStringLiteral("prompt")).toString()));
        ++checked;
    }
    QVERIFY(checked >= 14);
}

void TestT5Tokenizer::specialIdsAndVocabulary() {
    for (const QString& folder : {QStringLiteral("tokenizer"), QStringLiteral("tokenizer-json")}) {
        auto tokenizer = T5Tokenizer::load(dataFile(folder));
        QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
        QCOMPARE(tokenizer->padId(), std::int64_t(0));
        QCOMPARE(tokenizer->eosId(), std::int64_t(1));
        QCOMPARE(tokenizer->unkId(), std::int64_t(2));
        QCOMPARE(tokenizer->modelMaxLength(), T5Tokenizer::kDefaultMaxLength);
        // 240 pieces, then the 100 sentinels with <extra_id_0> last (T5's layout); tokenizer.json
        // lists them in its vocabulary, so they count as pieces there.
        QCOMPARE(tokenizer->vocabSize(), 340);
        QCOMPARE(tokenizer->pieceCount(), folder == QLatin1String("tokenizer") ? 240 : 340);
        QCOMPARE(tokenizer->tokenId(QStringLiteral("<extra_id_0>")), std::optional<std::int64_t>(339));
        QCOMPARE(tokenizer->tokenId(QStringLiteral("<extra_id_99>")), std::optional<std::int64_t>(240));
        QCOMPARE(tokenizer->tokenString(339), QStringLiteral("<extra_id_0>"));
        QCOMPARE(tokenizer->tokenId(QStringLiteral("</s>")), std::optional<std::int64_t>(1));
        QCOMPARE(tokenizer->tokenId(QStringLiteral("<unk>")), std::optional<std::int64_t>(2));
        QCOMPARE(tokenizer->tokenString(0), QStringLiteral("<pad>"));
        QCOMPARE(tokenizer->tokenId(QStringLiteral("no such piece")), std::optional<std::int64_t>());
        QCOMPARE(tokenizer->tokenString(100000), QString());
        const auto meta = tokenizer->tokenId(QStringLiteral("\u2581"));
        QVERIFY(meta && *meta > 2 && *meta < 240);
    }
}

void TestT5Tokenizer::decode() {
    auto tokenizer = T5Tokenizer::load(dataFile(QStringLiteral("tokenizer")));
    QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
    const QString prompt = QStringLiteral("a photo of an astronaut riding a horse on the moon");
    const T5TokenizedPrompt t = tokenizer->tokenize(prompt, 16);
    QCOMPARE(tokenizer->decode(t.ids), prompt);
    QCOMPARE(tokenizer->decode(t.ids, /*keepSpecialTokens=*/true),
             prompt + QStringLiteral("</s><pad><pad><pad><pad>"));
    // The part truncation cut off, for the pipelines' "was truncated" message.
    const T5TokenizedPrompt cut = tokenizer->tokenize(prompt, 6);
    QVERIFY(cut.truncated());
    QCOMPARE(tokenizer->decode(cut.droppedIds), QStringLiteral("riding a horse on the moon"));
    QCOMPARE(tokenizer->decode(Ids(cut.ids.begin(), cut.ids.begin() + 5)),
             QStringLiteral("a photo of an astronaut"));
    // Normalised text decodes as normalised ("ﬁ" -> "fi", "…" -> "...").
    QCOMPARE(tokenizer->decode(tokenizer->encode(QStringLiteral("\ufb01ne\u2026"))),
             QStringLiteral("fine..."));
}

void TestT5Tokenizer::addedTokensFromConfig() {
    QTemporaryDir dir;
    QVERIFY(QFile::copy(dataFile(QStringLiteral("tokenizer/spiece.model")),
                        dir.filePath(QStringLiteral("spiece.model"))));
    // added_tokens_decoder wins over the sentinel layout; model_max_length is the default length.
    writeFile(dir.filePath(QStringLiteral("tokenizer_config.json")), R"({
        "model_max_length": 77, "extra_ids": 2,
        "added_tokens_decoder": {
            "250": {"content": "<extra_id_0>", "special": true},
            "300": {"content": "<custom token>", "special": true},
            "301": {"content": "<custom", "special": true}
        }})");
    auto tokenizer = T5Tokenizer::load(dir.path());
    QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
    QCOMPARE(tokenizer->modelMaxLength(), 77);
    QCOMPARE(tokenizer->tokenId(QStringLiteral("<extra_id_0>")), std::optional<std::int64_t>(250));
    QCOMPARE(tokenizer->tokenId(QStringLiteral("<extra_id_1>")), std::optional<std::int64_t>(240));
    QCOMPARE(tokenizer->tokenId(QStringLiteral("<extra_id_2>")), std::optional<std::int64_t>());
    QCOMPARE(tokenizer->vocabSize(), 302);
    // The longest special token wins where two start at the same place.
    const Ids cat = tokenizer->encode(QStringLiteral("cat"));
    Ids expected = cat;
    expected.push_back(300);
    expected.insert(expected.end(), cat.begin(), cat.end());
    expected.push_back(301);
    expected.push_back(250);
    QVERIFY2(
        tokenizer->encode(QStringLiteral("cat<custom token>cat<custom<extra_id_0>")) == expected,
        qPrintable(idsText(tokenizer->encode(QStringLiteral("cat<custom token>cat<custom<extra_id_0>")))));
    QCOMPARE(int(tokenizer->tokenize(QStringLiteral("cat")).ids.size()), 77);
}

void TestT5Tokenizer::loadErrors() {
    QTemporaryDir dir;
    auto missing = T5Tokenizer::load(dir.filePath(QStringLiteral("nope")));
    QVERIFY(!missing);
    QVERIFY2(missing.error().contains(QLatin1String("does not exist")), qPrintable(missing.error()));

    auto empty = T5Tokenizer::load(dir.path());
    QVERIFY(!empty);
    QVERIFY2(empty.error().contains(QLatin1String("spiece.model")) && empty.error().contains(dir.path()),
             qPrintable(empty.error()));

    writeFile(dir.filePath(QStringLiteral("spiece.model")), "not a sentencepiece model");
    auto corrupt = T5Tokenizer::load(dir.path());
    QVERIFY(!corrupt);
    QVERIFY2(corrupt.error().contains(QLatin1String("is not a SentencePiece model")),
             qPrintable(corrupt.error()));

    QTemporaryDir bpe;
    writeFile(bpe.filePath(QStringLiteral("tokenizer.json")), R"({"model": {"type": "BPE", "vocab": {}}})");
    auto wrongModel = T5Tokenizer::load(bpe.path());
    QVERIFY(!wrongModel);
    QVERIFY2(wrongModel.error().contains(QLatin1String("not a SentencePiece unigram")),
             qPrintable(wrongModel.error()));

    QTemporaryDir noUnk;
    writeFile(
        noUnk.filePath(QStringLiteral("tokenizer.json")),
        R"({"model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["</s>", 0.0], ["a", -1.0]]}})");
    auto notT5 = T5Tokenizer::load(noUnk.path());
    QVERIFY(!notT5);
    QVERIFY2(notT5.error().contains(QLatin1String("no \"<pad>\" piece")), qPrintable(notT5.error()));
}

void TestT5Tokenizer::speed() {
    auto tokenizer = T5Tokenizer::load(dataFile(QStringLiteral("tokenizer")));
    QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
    const QString prompt =
        QStringLiteral("a beautiful detailed oil painting of a castle on a mountain lake at sunset, "
                       "cinematic lighting, sharp "
                       "focus, high quality, old city street at night in the rain with bright lights");
    QElapsedTimer timer;
    timer.start();
    constexpr int kRuns = 200;
    std::int64_t sum = 0;
    for (int i = 0; i < kRuns; ++i)
        sum += tokenizer->tokenize(prompt, 256).length;
    const double ms = double(timer.nsecsElapsed()) / 1e6 / kRuns;
    qInfo("tokenize (%d tokens, padded to 256): %.3f ms", int(sum / kRuns), ms);
    QCOMPARE(sum / kRuns, std::int64_t(43));
    QVERIFY2(ms < 20.0, "tokenizing a prompt should take well under 20 ms");
}

// transformers 5.17's own ids for the SD 3 fixture (tools/reference/make_sd3_tiny.py): a 1000-piece
// nmt_nfkc model; tokenizer_3 as transformers saved it, and the same without spiece.model.
void TestT5Tokenizer::sd3Fixture_data() {
    QTest::addColumn<bool>("jsonOnly");
    QTest::newRow("spiece.model") << false;
    QTest::newRow("tokenizer.json only") << true;
}

void TestT5Tokenizer::sd3Fixture() {
    QFETCH(bool, jsonOnly);
    const QString root = test::dataPath(QStringLiteral("sd3-tiny"));
    if (!QFileInfo::exists(root + QStringLiteral("/reference.safetensors")))
        QSKIP("tests/data/sd3-tiny is not there (tools/reference/make_sd3_tiny.py makes it)");
    QString folder = root + QStringLiteral("/pipeline/tokenizer_3");
    QTemporaryDir dir;
    if (jsonOnly) {
        for (const char* name : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
            QFile::copy(folder + QLatin1Char('/') + QLatin1String(name), dir.filePath(QLatin1String(name)));
        folder = dir.path();
    }
    auto tokenizer = T5Tokenizer::load(folder);
    QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
    QCOMPARE(tokenizer->tokenId(QStringLiteral("<extra_id_0>")), std::optional<std::int64_t>(1099));

    QFile casesFile(root + QStringLiteral("/cases.json"));
    QVERIFY(casesFile.open(QIODevice::ReadOnly));
    const QJsonArray prompts = QJsonDocument::fromJson(casesFile.readAll())
                                   .object()
                                   .value(QStringLiteral("t5_tokenizer_prompts"))
                                   .toArray();
    const QHash<QString, Ids> reference = readInt64Tensors(root + QStringLiteral("/reference.safetensors"));
    QVERIFY(prompts.size() >= 20);
    int compared = 0;
    for (const QJsonValue& value : prompts) {
        const QJsonObject c = value.toObject();
        const int i = c.value(QStringLiteral("index")).toInt();
        const QString prompt = c.value(QStringLiteral("prompt")).toString();
        const QString key = QStringLiteral("tok_t5.%1.").arg(i);
        const Ids untruncated = reference.value(key + QStringLiteral("ids_untruncated"));
        QVERIFY2(!untruncated.empty(), qPrintable(key));
        const Ids all = tokenizer->tokenize(prompt, 0, /*pad=*/false, /*truncate=*/false).ids;
        QVERIFY2(all == untruncated, qPrintable(QStringLiteral("#%1 %2:\n %3\n expected %4")
                                                    .arg(i)
                                                    .arg(prompt, idsText(all), idsText(untruncated))));
        for (int length : {77, 256, 512}) {
            Ids expected = reference.value(key + QStringLiteral("hf_ids_%1").arg(length));
            if (expected.empty())
                expected = reference.value(key + QStringLiteral("ids_%1").arg(length));
            QVERIFY(!expected.empty());
            const T5TokenizedPrompt t = tokenizer->tokenize(prompt, length);
            QVERIFY2(t.ids == expected, qPrintable(QStringLiteral("#%1 at %2").arg(i).arg(length)));
            QCOMPARE(t.untruncatedLength, int(untruncated.size()));
            ++compared;
        }
    }
    qInfo("%d prompts x 3 lengths match transformers", compared / 3);
}

// ---- the shipped vocabulary (resources/tokenizers/t5) -------------------------------------------

namespace {

QString shippedFolder() {
    return paths::bundledTokenizerDir(QStringLiteral("t5"));
}

} // namespace

// The prompt token ids (no EOS) that Hugging Face's T5 tokenizer gives with the real vocabulary
// (google-t5/t5-base, the same 32,000 pieces + 100 sentinels as SD 3's tokenizer_3 and Flux's
// tokenizer_2). Sources:
// - transformers: tests/models/t5/test_tokenization_t5.py (test_tokenizer_integration on the three
//   sequences of test_tokenization_common.py, test_prepare_batch, test_eos_in_input,
//   test_fast_and_slow_same_result, test_add_prefix_space);
// - vocabulary: words that are one piece of T5's tokenizer.json (id = the piece's index);
// - NFKC: the same pieces written so that only T5's normaliser (the nmt_nfkc charsmap) maps them;
// - unknown: characters outside the vocabulary become "▁" and ONE <unk> (2): SentencePiece merges a
//   run of unknown pieces (google/sentencepiece#854) and tokenizers' Unigram fuses them alike;
// - spm: libsentencepiece 0.1.97 (spm_encode) with Google's own spiece.model (sha256 d60acb12…).
void TestT5Tokenizer::shippedVocabulary_data() {
    QTest::addColumn<QString>("prompt");
    QTest::addColumn<Ids>("tokens");

    // transformers
    QTest::newRow("transformers: integration #0")
        << QStringLiteral(
               "Transformers (formerly known as pytorch-transformers and pytorch-pretrained-bert) "
               "provides general-purpose architectures (BERT, GPT-2, RoBERTa, XLM, DistilBert, "
               "XLNet...) for Natural Language Understanding (NLU) and Natural Language Generation "
               "(NLG) with over 32+ pretrained models in 100+ languages and deep interoperability "
               "between Jax, PyTorch and TensorFlow.")
        << Ids{31220, 7,     41,   14034, 801,   38,    3,    102,   63,   17,    127,   524,   18,    7031,
               2032,  277,   11,   3,     102,   63,    17,   127,   524,  18,    2026,  17,    10761, 18,
               7041,  61,    795,  879,   18,    19681, 4648, 7,     41,   12920, 382,   6,     350,   6383,
               4949,  6,     2158, 12920, 382,   9,     6,    3,     4,    11160, 6,     2043,  17153, 279,
               49,    17,    6,    3,     4,     434,   9688, 11439, 21,   6869,  10509, 17725, 41,    567,
               9138,  61,    11,   6869,  10509, 11946, 41,   18207, 517,  61,    28,    147,   3538,  1220,
               7140,  10761, 2250, 16,    910,   1220,  8024, 11,    1659, 1413,  32,    883,   2020,  344,
               2215,  226,   6,    12901, 382,   127,   524,  11,    4738, 7,     127,   15390, 5};
    QTest::newRow("transformers: integration #1")
        << QStringLiteral(
               "BERT is designed to pre-train deep bidirectional representations from unlabeled text "
               "by jointly conditioning on both left and right context in all layers.")
        << Ids{272, 24203, 19,   876, 12,    554,   18, 9719, 1659, 2647, 26352, 6497, 7,  45, 73,   9339,
               400, 26,    1499, 57,  22801, 10760, 30, 321,  646,  11,   269,   2625, 16, 66, 7500, 5};
    const Ids fox{37, 1704, 4216, 3, 20400, 4418, 7, 147, 8, 19743, 1782, 5};
    QTest::newRow("transformers: integration #2")
        << QStringLiteral("The quick brown fox jumps over the lazy dog.") << fox;
    QTest::newRow("transformers: prepare_batch") << QStringLiteral("A long paragraph for summarization.")
                                                 << Ids{71, 307, 8986, 21, 4505, 1635, 1707, 5};
    QTest::newRow("transformers: </s> in the input")
        << QStringLiteral("A long paragraph for summarization. </s>")
        << Ids{71, 307, 8986, 21, 4505, 1635, 1707, 5, 1};
    QTest::newRow("transformers: </s> in the target")
        << QStringLiteral("Summary of the text. </s>") << Ids{20698, 13, 8, 1499, 5, 1};
    QTest::newRow("transformers: special tokens in the text")
        << QStringLiteral("<pad> Today is <unk> nice day </s>") << Ids{0, 1960, 19, 2, 1245, 239, 1};
    const Ids hey{9459, 149, 33, 25, 692};
    QTest::newRow("transformers: add_prefix_space") << QStringLiteral("Hey how are you doing") << hey;
    // Repeated spaces, a tab and a newline between words: SentencePiece's remove_extra_whitespaces (the
    // tokenizer.json's Replace(" {2,}") / WhitespaceSplit) leaves the ids of the single-spaced text.
    QTest::newRow("repeated whitespace")
        << QStringLiteral("The  quick\tbrown   fox jumps over the lazy\ndog. ") << fox;
    QTest::newRow("repeated whitespace 2") << QStringLiteral("Hey   how are\t\tyou   doing") << hey;

    // vocabulary: single pieces, accents included
    QTest::newRow("vocabulary: French")
        << QString::fromUtf8("Café crème château façade") << Ids{18131, 20435, 24334, 24369};
    QTest::newRow("vocabulary: German")
        << QString::fromUtf8("Köln für über schön Größe") << Ids{18552, 218, 510, 9685, 12622};
    QTest::newRow("vocabulary: Romanian")
        << QString::fromUtf8("București și très déjà") << Ids{12557, 198, 1264, 4315};
    // "▁comfy" is piece 18665 in Google's vocabulary; ComfyUI's copy of T5's tokenizer.json has
    // "▁totoro" there, which would split "comfy".
    QTest::newRow("vocabulary: comfy") << QStringLiteral("comfy") << Ids{18665};

    // NFKC through the precompiled charsmap
    QTest::newRow("NFKC: combining acute") << QStringLiteral("Cafe\u0301") << Ids{18131};
    QTest::newRow("NFKC: full-width Koln") << QStringLiteral("\uff2b\u00f6\uff4c\uff4e") << Ids{18552};
    QTest::newRow("NFKC: full-width Tokyo") << QStringLiteral("\uff34\uff4f\uff4b\uff59\uff4f") << Ids{12653};
    QTest::newRow("NFKC: fi ligature") << QStringLiteral("\ufb01ne") << Ids{1399};

    // unknown: CJK
    QTest::newRow("unknown: Tokyo in kanji") << QString::fromUtf8("東京") << Ids{3, 2};
    QTest::newRow("unknown: Japanese") << QString::fromUtf8("日本語のプロンプト") << Ids{3, 2};
    QTest::newRow("unknown: a cat") << QString::fromUtf8("a cat 猫") << Ids{3, 9, 1712, 3, 2};

    // spm: digits, punctuation, a prompt
    QTest::newRow("spm: digits") << QStringLiteral("1234567890 and 3.14")
                                 << Ids{586, 3710, 4834, 3940, 2394, 11, 1877, 2534};
    QTest::newRow("spm: weights syntax")
        << QStringLiteral("(masterpiece:1.2), best quality, [blurry]")
        << Ids{41, 7429, 8424, 10, 10917, 201, 200, 463, 6, 784, 115, 29268, 908};
    QTest::newRow("spm: exclamations") << QStringLiteral("masterpiece quality!!!") << Ids{20975, 463, 3158};
    QTest::newRow("spm: prompt")
        << QStringLiteral("a photo of an astronaut riding a horse on the moon, cinematic lighting, sunset")
        << Ids{3, 9, 1202, 13, 46, 30059, 7494, 3, 9, 4952, 30, 8, 8114, 6, 10276, 1225, 3598, 6, 13744};

    // The sentinels follow the pieces, <extra_id_0> last (T5's layout).
    QTest::newRow("sentinels") << QStringLiteral("Today<extra_id_0> nice <extra_id_99>")
                               << Ids{1960, 32099, 1245, 32000};
}

void TestT5Tokenizer::shippedVocabulary() {
    QFETCH(QString, prompt);
    QFETCH(Ids, tokens);
    const QString folder = shippedFolder();
    QVERIFY2(!folder.isEmpty(), qPrintable(paths::bundledTokenizerDirs().join(QLatin1Char(' '))));
    // The app's way (a folder, as SingleFileCheckpoint::tokenizers() names it) and the bare model.
    for (const bool bare : {false, true}) {
        auto tokenizer = bare ? T5Tokenizer::loadModel(QDir(folder).filePath(QStringLiteral("spiece.model")))
                              : T5Tokenizer::load(folder);
        QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
        const Ids encoded = tokenizer->encode(prompt);
        QVERIFY2(
            encoded == tokens,
            qPrintable(QStringLiteral("encode: %1\n expected %2").arg(idsText(encoded), idsText(tokens))));
        // As the SD 3 / Flux pipelines call it: EOS (1) after the prompt, then <pad> (0).
        const int length = int(tokens.size()) + 4;
        Ids padded = tokens;
        padded.push_back(1);
        padded.resize(size_t(length), 0);
        const T5TokenizedPrompt t = tokenizer->tokenize(prompt, length);
        QVERIFY2(t.ids == padded, qPrintable(idsText(t.ids)));
        QCOMPARE(t.length, int(tokens.size()) + 1);
        QVERIFY(!t.truncated());
    }
}

// Found where the app looks (the build tree here; share/twistedpic/tokenizers/t5 once installed), and
// laid out as T5's: 32,000 pieces, the 100 sentinels after them, <pad> 0, </s> 1, <unk> 2.
void TestT5Tokenizer::shippedVocabularyLayout() {
    const QString folder = shippedFolder();
    QVERIFY2(!folder.isEmpty(), qPrintable(paths::bundledTokenizerDirs().join(QLatin1Char(' '))));
    QCOMPARE(QDir(folder).canonicalPath(),
             QDir(QStringLiteral(TP_SOURCE_DIR "/resources/tokenizers/t5")).canonicalPath());
    QElapsedTimer timer;
    timer.start();
    auto tokenizer = T5Tokenizer::load(folder);
    const double loadMs = double(timer.nsecsElapsed()) / 1e6;
    QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
    QCOMPARE(tokenizer->pieceCount(), 32000);
    QCOMPARE(tokenizer->vocabSize(), 32100);
    QCOMPARE(tokenizer->padId(), std::int64_t(0));
    QCOMPARE(tokenizer->eosId(), std::int64_t(1));
    QCOMPARE(tokenizer->unkId(), std::int64_t(2));
    QCOMPARE(tokenizer->modelMaxLength(), T5Tokenizer::kDefaultMaxLength);
    QCOMPARE(tokenizer->tokenString(0), QStringLiteral("<pad>"));
    QCOMPARE(tokenizer->tokenString(1), QStringLiteral("</s>"));
    QCOMPARE(tokenizer->tokenString(2), QStringLiteral("<unk>"));
    QCOMPARE(tokenizer->tokenString(3), QStringLiteral("\u2581"));
    QCOMPARE(tokenizer->tokenString(31999), QString::fromUtf8("▁Internațional"));
    QCOMPARE(tokenizer->tokenId(QStringLiteral("<extra_id_0>")), std::optional<std::int64_t>(32099));
    QCOMPARE(tokenizer->tokenId(QStringLiteral("<extra_id_99>")), std::optional<std::int64_t>(32000));
    QCOMPARE(tokenizer->tokenId(QStringLiteral("\u2581comfy")), std::optional<std::int64_t>(18665));
    QCOMPARE(tokenizer->tokenId(QStringLiteral("\u2581totoro")), std::optional<std::int64_t>());
    // Long prompts: truncation keeps the EOS last, as at SD 3's 256 and Flux's 512 tokens.
    QString words;
    for (int i = 0; i < 300; ++i)
        words += QStringLiteral("castle ");
    const T5TokenizedPrompt t = tokenizer->tokenize(words, 256);
    QCOMPARE(int(t.ids.size()), 256);
    QCOMPARE(t.ids[255], std::int64_t(1));
    QCOMPARE(t.ids[0], tokenizer->tokenId(QStringLiteral("\u2581castle")).value_or(-1));
    QVERIFY(t.truncated());
    QCOMPARE(
        tokenizer->decode(tokenizer->encode(QStringLiteral("Cafe\u0301 in \uff34\uff4f\uff4b\uff59\uff4f"))),
        QString::fromUtf8("Café in Tokyo"));
    qInfo("shipped T5 vocabulary %s: %d pieces, loaded in %.1f ms", qPrintable(folder),
          tokenizer->pieceCount(), loadMs);
}

QTEST_GUILESS_MAIN(TestT5Tokenizer)
#include "tst_t5_tokenizer.moc"
