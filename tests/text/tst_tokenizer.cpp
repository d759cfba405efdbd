#include "core/common/Paths.h"
#include "core/io/SafeTensors.h"
#include "core/text/ClipPreTokenizer.h"
#include "core/text/ClipTokenizer.h"
#include "tests/support/TestUtil.h"

#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace tp;
using namespace tp::text;
using Ids = std::vector<std::int64_t>;

namespace {

QString tinyFolder() {
    return test::dataPath(QStringLiteral("sd15-tiny/pipeline/tokenizer"));
}

// The prompts of a fixture's cases.json ("tokenizer" list), by index.
QVector<QPair<int, QString>> fixturePrompts(const QString& casesPath) {
    QFile file(casesPath);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    QVector<QPair<int, QString>> prompts;
    const QJsonArray list =
        QJsonDocument::fromJson(file.readAll()).object().value(QStringLiteral("tokenizer")).toArray();
    for (const QJsonValue& v : list)
        prompts.append({v.toObject().value(QStringLiteral("index")).toInt(-1),
                        v.toObject().value(QStringLiteral("prompt")).toString()});
    return prompts;
}

// An int64 vector from the reference file; empty (and a test failure message) when absent.
Result<Ids> referenceIds(const io::SafeTensorsFile& file, const QString& name) {
    auto tensor = file.view(name);
    if (!tensor)
        return Result<Ids>::fail(tensor.error());
    if (tensor->scalar_type() != at::kLong || tensor->dim() != 1)
        return Result<Ids>::fail(QStringLiteral("%1 is not a 1-D int64 tensor").arg(name));
    const at::Tensor t = tensor->contiguous();
    return Result<Ids>::ok(Ids(t.data_ptr<std::int64_t>(), t.data_ptr<std::int64_t>() + t.numel()));
}

QString idsText(const Ids& ids) {
    QStringList parts;
    for (std::int64_t id : ids)
        parts << QString::number(id);
    return parts.join(QLatin1Char(' '));
}

void writeFile(const QString& path, const QByteArray& bytes) {
    QFile file(path);
    QVERIFY2(file.open(QIODevice::WriteOnly | QIODevice::Truncate), qPrintable(path));
    file.write(bytes);
}

// A tokenizer folder in `dir` made of the tiny fixture's vocab.json and merges.txt and the given
// config files (absent when empty).
void makeFolder(const QString& dir, const QByteArray& tokenizerConfig,
                const QByteArray& specialTokensMap = {}) {
    for (const QString& name : {QStringLiteral("vocab.json"), QStringLiteral("merges.txt")}) {
        QFile::remove(QDir(dir).filePath(name));
        QVERIFY(QFile::copy(QDir(tinyFolder()).filePath(name), QDir(dir).filePath(name)));
    }
    if (!tokenizerConfig.isEmpty())
        writeFile(QDir(dir).filePath(QStringLiteral("tokenizer_config.json")), tokenizerConfig);
    if (!specialTokensMap.isEmpty())
        writeFile(QDir(dir).filePath(QStringLiteral("special_tokens_map.json")), specialTokensMap);
}

} // namespace

class TestTokenizer final : public QObject {
    Q_OBJECT

private:
    std::optional<ClipTokenizer> m_tiny;

    const ClipTokenizer& tiny() const { return *m_tiny; }

    // Every prompt of `folder`'s cases.json against its reference.safetensors.
    static void checkFixture(const QString& folder, const ClipTokenizer& tokenizer, bool untruncated,
                             int expectedCases) {
        const auto prompts = fixturePrompts(QDir(folder).filePath(QStringLiteral("cases.json")));
        QCOMPARE(prompts.size(), expectedCases);
        auto reference =
            io::SafeTensorsFile::open(QDir(folder).filePath(QStringLiteral("reference.safetensors")));
        QVERIFY2(reference, qPrintable(reference.error()));
        for (const auto& [index, prompt] : prompts) {
            const TokenizedPrompt got = tokenizer.tokenize(prompt);
            auto expected = referenceIds(**reference, QStringLiteral("tok.%1.ids").arg(index));
            QVERIFY2(expected, qPrintable(expected.error()));
            QVERIFY2(got.ids == *expected,
                     qPrintable(QStringLiteral("prompt %1 \"%2\"\n   got: %3\nexpect: %4")
                                    .arg(index)
                                    .arg(prompt, idsText(got.ids), idsText(*expected))));
            if (!untruncated)
                continue;
            auto full = referenceIds(**reference, QStringLiteral("tok.%1.ids_untruncated").arg(index));
            QVERIFY2(full, qPrintable(full.error()));
            const TokenizedPrompt whole = tokenizer.tokenize(prompt, 77, false, false);
            QVERIFY2(whole.ids == *full,
                     qPrintable(QStringLiteral("untruncated prompt %1 \"%2\"\n   got: %3\nexpect: %4")
                                    .arg(index)
                                    .arg(prompt, idsText(whole.ids), idsText(*full))));
            QCOMPARE(got.untruncatedLength, int(full->size()));
            QCOMPARE(got.truncated(), full->size() > 77);
        }
    }

private Q_SLOTS:
    void initTestCase() {
        auto tokenizer = ClipTokenizer::load(tinyFolder());
        QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
        m_tiny = std::move(*tokenizer);
    }

    void tinyVocabularyFacts() {
        QCOMPARE(tiny().vocabSize(), 792);
        QCOMPARE(tiny().mergeCount(), 278);
        QCOMPARE(tiny().bosId(), std::int64_t(790));
        QCOMPARE(tiny().eosId(), std::int64_t(791));
        QCOMPARE(tiny().padId(), std::int64_t(791)); // SD 1.x pads with <|endoftext|>
        QCOMPARE(tiny().unkId(), std::int64_t(791));
        QCOMPARE(tiny().modelMaxLength(), 77);
        QCOMPARE(tiny().tokenId(QStringLiteral("<|startoftext|>")), std::optional<std::int64_t>(790));
        QCOMPARE(tiny().tokenString(790), QStringLiteral("<|startoftext|>"));
    }

    // Hugging Face CLIPTokenizer's ids for the fixture prompts (accents, emoji, CJK, whitespace, over-long).
    void referenceParity() { checkFixture(test::dataPath(QStringLiteral("sd15-tiny")), tiny(), false, 18); }

    // The real CLIP ViT-L/14 vocabulary shipped with the app (resources/tokenizers/clip), against
    // transformers' ids for the prompts of tests/data/clip-tokenizer.
    void realVocabularyParity() {
        const QString folder = paths::bundledTokenizerDir(QStringLiteral("clip"));
        QVERIFY2(!folder.isEmpty(), qPrintable(paths::bundledTokenizerDirs().join(QLatin1Char(' '))));
        QCOMPARE(QDir(folder).canonicalPath(),
                 QDir(QStringLiteral(TP_SOURCE_DIR "/resources/tokenizers/clip")).canonicalPath());
        QElapsedTimer timer;
        timer.start();
        auto tokenizer = ClipTokenizer::load(folder);
        const double loadMs = double(timer.nsecsElapsed()) / 1e6;
        QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
        QCOMPARE(tokenizer->vocabSize(), 49408);
        QCOMPARE(tokenizer->mergeCount(), 48894);
        QCOMPARE(tokenizer->bosId(), std::int64_t(49406));
        QCOMPARE(tokenizer->eosId(), std::int64_t(49407));
        QCOMPARE(tokenizer->padId(), std::int64_t(49407));
        const QString references = test::dataPath(QStringLiteral("clip-tokenizer"));
        checkFixture(references, *tokenizer, true,
                     fixturePrompts(QDir(references).filePath(QStringLiteral("cases.json"))).size());
        qInfo("real vocabulary: %d tokens, %d merges, loaded in %.1f ms", tokenizer->vocabSize(),
              tokenizer->mergeCount(), loadMs);

        // SDXL's second tokenizer and SD 2.x's: the same vocabulary padded with "!" (id 0).
        auto open = ClipTokenizer::load(folder, QStringLiteral("!"));
        QVERIFY2(open, qPrintable(open.error()));
        QCOMPARE(open->padId(), std::int64_t(0));
        const TokenizedPrompt a = tokenizer->tokenize(QStringLiteral("a red circle"));
        const TokenizedPrompt b = open->tokenize(QStringLiteral("a red circle"));
        QCOMPARE(a.length, b.length);
        QVERIFY(std::equal(a.ids.begin(), a.ids.begin() + a.length, b.ids.begin()));
        QCOMPARE(b.ids.back(), std::int64_t(0));
        QCOMPARE(a.ids.back(), std::int64_t(49407));
    }

    // A folder saved by transformers 5 holds tokenizer.json only: the same ids as vocab.json +
    // merges.txt, with merges written as pairs (the fixture's own file) or as "a b" strings, and
    // with or without the config files (special tokens then come from tokenizer.json).
    void tokenizerJsonOnly_data() {
        QTest::addColumn<bool>("stringMerges");
        QTest::addColumn<bool>("withConfig");
        QTest::newRow("pairs, config") << false << true;
        QTest::newRow("strings, config") << true << true;
        QTest::newRow("pairs, no config") << false << false;
    }
    void tokenizerJsonOnly() {
        QFETCH(bool, stringMerges);
        QFETCH(bool, withConfig);
        QTemporaryDir dir;
        QFile source(QDir(tinyFolder()).filePath(QStringLiteral("tokenizer.json")));
        QVERIFY(source.open(QIODevice::ReadOnly));
        QJsonObject json = QJsonDocument::fromJson(source.readAll()).object();
        QVERIFY(json.value(QStringLiteral("model"))
                    .toObject()
                    .value(QStringLiteral("merges"))
                    .toArray()
                    .at(0)
                    .isArray());
        if (stringMerges) {
            QJsonObject model = json.value(QStringLiteral("model")).toObject();
            QJsonArray merges;
            for (const QJsonValue& m : model.value(QStringLiteral("merges")).toArray())
                merges.append(
                    QString(m.toArray().at(0).toString() + QLatin1Char(' ') + m.toArray().at(1).toString()));
            model.insert(QStringLiteral("merges"), merges);
            json.insert(QStringLiteral("model"), model);
        }
        writeFile(QDir(dir.path()).filePath(QStringLiteral("tokenizer.json")), QJsonDocument(json).toJson());
        if (withConfig)
            QVERIFY(QFile::copy(QDir(tinyFolder()).filePath(QStringLiteral("tokenizer_config.json")),
                                QDir(dir.path()).filePath(QStringLiteral("tokenizer_config.json"))));
        auto tokenizer = ClipTokenizer::load(dir.path());
        QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
        QCOMPARE(tokenizer->vocabSize(), tiny().vocabSize());
        QCOMPARE(tokenizer->mergeCount(), tiny().mergeCount());
        QCOMPARE(tokenizer->bosId(), tiny().bosId());
        QCOMPARE(tokenizer->eosId(), tiny().eosId());
        QCOMPARE(tokenizer->padId(), tiny().padId());
        QCOMPARE(tokenizer->unkId(), tiny().unkId());
        checkFixture(test::dataPath(QStringLiteral("sd15-tiny")), *tokenizer, false, 18);
        for (const auto& [index, prompt] :
             fixturePrompts(test::dataPath(QStringLiteral("sd15-tiny/cases.json"))))
            QCOMPARE(tokenizer->encode(prompt), tiny().encode(prompt));
        QCOMPARE(tokenizer->encode(QStringLiteral("<|endoftext|> x")).front(), tiny().eosId());
    }

    // The real vocabulary as a transformers 5 tokenizer.json: transformers' ids.
    void realVocabularyFromTokenizerJson() {
        const QString folder = paths::bundledTokenizerDir(QStringLiteral("clip"));
        QFile vocabFile(QDir(folder).filePath(QStringLiteral("vocab.json")));
        QFile mergesFile(QDir(folder).filePath(QStringLiteral("merges.txt")));
        QVERIFY(vocabFile.open(QIODevice::ReadOnly) && mergesFile.open(QIODevice::ReadOnly));
        QJsonArray merges;
        for (const QByteArray& line : mergesFile.readAll().split('\n')) {
            if (line.isEmpty() || line.startsWith("#version"))
                continue;
            const QList<QByteArray> parts = line.split(' ');
            merges.append(QJsonArray{QString::fromUtf8(parts[0]), QString::fromUtf8(parts[1])});
        }
        const QJsonObject model{
            {QStringLiteral("type"), QStringLiteral("BPE")},
            {QStringLiteral("unk_token"), QStringLiteral("<|endoftext|>")},
            {QStringLiteral("end_of_word_suffix"), QStringLiteral("</w>")},
            {QStringLiteral("vocab"), QJsonDocument::fromJson(vocabFile.readAll()).object()},
            {QStringLiteral("merges"), merges}};
        const QJsonObject json{
            {QStringLiteral("model"), model},
            {QStringLiteral("post_processor"),
             QJsonObject{{QStringLiteral("type"), QStringLiteral("RobertaProcessing")},
                         {QStringLiteral("cls"), QJsonArray{QStringLiteral("<|startoftext|>"), 49406}},
                         {QStringLiteral("sep"), QJsonArray{QStringLiteral("<|endoftext|>"), 49407}}}},
            {QStringLiteral("added_tokens"),
             QJsonArray{QJsonObject{{QStringLiteral("id"), 49406},
                                    {QStringLiteral("content"), QStringLiteral("<|startoftext|>")}},
                        QJsonObject{{QStringLiteral("id"), 49407},
                                    {QStringLiteral("content"), QStringLiteral("<|endoftext|>")}}}}};
        QTemporaryDir dir;
        writeFile(QDir(dir.path()).filePath(QStringLiteral("tokenizer.json")), QJsonDocument(json).toJson());
        QElapsedTimer timer;
        timer.start();
        auto tokenizer = ClipTokenizer::load(dir.path());
        const double loadMs = double(timer.nsecsElapsed()) / 1e6;
        QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
        QCOMPARE(tokenizer->vocabSize(), 49408);
        QCOMPARE(tokenizer->mergeCount(), 48894);
        QCOMPARE(tokenizer->bosId(), std::int64_t(49406));
        QCOMPARE(tokenizer->padId(), std::int64_t(49407));
        const QString references = test::dataPath(QStringLiteral("clip-tokenizer"));
        checkFixture(references, *tokenizer, true,
                     fixturePrompts(QDir(references).filePath(QStringLiteral("cases.json"))).size());
        qInfo("real vocabulary from tokenizer.json: loaded in %.1f ms", loadMs);
    }

    void tokenizerJsonErrors() {
        QTemporaryDir dir;
        // Neither vocab.json nor tokenizer.json: the message says what is needed.
        auto tokenizer = ClipTokenizer::load(dir.path());
        QVERIFY(!tokenizer);
        QVERIFY2(tokenizer.error().contains(QStringLiteral("vocab.json is missing")) &&
                     tokenizer.error().contains(QStringLiteral("tokenizer.json")),
                 qPrintable(tokenizer.error()));
        // A SentencePiece (T5) tokenizer.json is not CLIP's.
        writeFile(QDir(dir.path()).filePath(QStringLiteral("tokenizer.json")),
                  R"({"model": {"type": "Unigram", "vocab": [["<pad>", 0.0]]}})");
        tokenizer = ClipTokenizer::load(dir.path());
        QVERIFY(!tokenizer);
        QVERIFY2(tokenizer.error().contains(
                     QStringLiteral("holds a Unigram tokenizer model, not CLIP's byte-level BPE")),
                 qPrintable(tokenizer.error()));
        writeFile(QDir(dir.path()).filePath(QStringLiteral("tokenizer.json")),
                  R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}})");
        tokenizer = ClipTokenizer::load(dir.path());
        QVERIFY(!tokenizer);
        QVERIFY2(tokenizer.error().contains(QStringLiteral("tokenizer.json")) &&
                     tokenizer.error().contains(QStringLiteral("merge 0 uses \"ab\"")),
                 qPrintable(tokenizer.error()));
        writeFile(QDir(dir.path()).filePath(QStringLiteral("tokenizer.json")), "{ not json");
        tokenizer = ClipTokenizer::load(dir.path());
        QVERIFY(!tokenizer);
        QVERIFY2(tokenizer.error().contains(QStringLiteral("tokenizer.json")) &&
                     tokenizer.error().contains(QStringLiteral("not valid JSON")),
                 qPrintable(tokenizer.error()));
    }

    void sd2PadsWithExclamationMark() {
        QTemporaryDir dir;
        makeFolder(
            dir.path(),
            R"({"bos_token": {"content": "<|startoftext|>", "normalized": true}, "eos_token": "<|endoftext|>",
                       "unk_token": {"content": "<|endoftext|>"}, "pad_token": "<|endoftext|>", "model_max_length": 77})",
            R"({"pad_token": "!"})"); // special_tokens_map.json wins, as in transformers
        auto tokenizer = ClipTokenizer::load(dir.path());
        QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
        QCOMPARE(tokenizer->padId(), std::int64_t(0));
        const TokenizedPrompt t = tokenizer->tokenize(QStringLiteral("a red circle"));
        QCOMPARE(int(t.ids.size()), 77);
        const Ids body = tiny().encode(QStringLiteral("a red circle"));
        QCOMPARE(t.length, int(body.size()) + 2);
        QCOMPARE(t.ids[size_t(t.length) - 1], tokenizer->eosId());
        for (size_t i = size_t(t.length); i < t.ids.size(); ++i)
            QCOMPARE(t.ids[i], std::int64_t(0));
        // The pad token written in a prompt is that token (diffusers#4153): "!" → 0, not "!</w>".
        QCOMPARE(tokenizer->encode(QStringLiteral("red!")),
                 (Ids{tiny().encode(QStringLiteral("red")).front(), 0}));
        QVERIFY(tiny().encode(QStringLiteral("red!")).back() != 0);
        // A "normalized" special token is matched after lowercasing.
        QCOMPARE(tokenizer->encode(QStringLiteral("<|STARTOFTEXT|>")), Ids{790});
    }

    void truncationKeepsEosLast() {
        QString prompt;
        for (int i = 0; i < 100; ++i)
            prompt += QStringLiteral("red ");
        const Ids body = tiny().encode(prompt);
        QCOMPARE(int(body.size()), 100);
        const TokenizedPrompt t = tiny().tokenize(prompt);
        QCOMPARE(int(t.ids.size()), 77);
        QCOMPARE(t.ids.front(), tiny().bosId());
        QCOMPARE(t.ids.back(), tiny().eosId());
        QVERIFY(std::equal(t.ids.begin() + 1, t.ids.end() - 1, body.begin()));
        QCOMPARE(t.length, 77);
        QCOMPARE(t.untruncatedLength, 102);
        QVERIFY(t.truncated());
        QCOMPARE(t.promptTokens(), 100);
        QCOMPARE(t.usedPromptTokens(), 75);

        const TokenizedPrompt whole = tiny().tokenize(prompt, 77, true, false);
        QCOMPARE(int(whole.ids.size()), 102);
        QCOMPARE(whole.ids.back(), tiny().eosId());
        QVERIFY(!whole.truncated());

        const TokenizedPrompt shortOne = tiny().tokenize(QStringLiteral("red"), 10, false);
        QCOMPARE(shortOne.ids, (Ids{tiny().bosId(), body.front(), tiny().eosId()}));
        const TokenizedPrompt tight = tiny().tokenize(prompt, 5);
        QCOMPARE(tight.ids, (Ids{tiny().bosId(), body[0], body[1], body[2], tiny().eosId()}));
    }

    void emptyPromptIsBosEosPadding() {
        const TokenizedPrompt t = tiny().tokenize(QStringLiteral("   \t\n "));
        QCOMPARE(t.length, 2);
        QCOMPARE(t.ids[0], tiny().bosId());
        QCOMPARE(int(std::count(t.ids.begin() + 1, t.ids.end(), tiny().eosId())), 76);
    }

    void bpeCacheGivesIdenticalResults() {
        const QStringList prompts{QStringLiteral("A Painting of a Squirrel eating a Burger"),
                                  QStringLiteral("café naïve résumé 日本語のプロンプト emoji 🚀✨"),
                                  QStringLiteral("it's the dragon's 3rd birthday!!! (masterpiece:1.2)")};
        auto tokenizer = ClipTokenizer::load(tinyFolder());
        QVERIFY(tokenizer);
        tokenizer->setCacheCapacity(0);
        std::vector<Ids> uncached;
        for (const QString& p : prompts)
            uncached.push_back(tokenizer->tokenize(p).ids);
        QCOMPARE(tokenizer->cacheSize(), 0);

        tokenizer->setCacheCapacity(10000);
        for (int pass = 0; pass < 2; ++pass) // the first pass fills the cache, the second reads it
            for (int i = 0; i < prompts.size(); ++i)
                QCOMPARE(tokenizer->tokenize(prompts[i]).ids, uncached[size_t(i)]);
        const int cached = tokenizer->cacheSize();
        QVERIFY(cached >= 10);
        const ClipTokenizer copy = *tokenizer; // copies share the cache
        QCOMPARE(copy.tokenize(prompts[0]).ids, uncached[0]);
        QCOMPARE(copy.cacheSize(), cached);
        tokenizer->clearCache();
        QCOMPARE(copy.cacheSize(), 0);
    }

    // tokenizers lowercases one char at a time (Rust char::to_lowercase): full mappings, no
    // final-sigma context. QString::toLower would differ on both.
    void normalisation_data() {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QString>("expected");
        QTest::newRow("dotted capital I") << QStringLiteral("İstanbul") << QStringLiteral("i\u0307stanbul");
        QTest::newRow("sigma stays medial") << QStringLiteral("ΟΔΟΣ ΣΑΣ") << QStringLiteral("οδοσ σασ");
        QTest::newRow("NFC composes") << QStringLiteral("Cafe\u0301") << QStringLiteral("café");
        QTest::newRow("NFC singleton") << QStringLiteral("\u212B") << QStringLiteral("å");
        QTest::newRow("unicode whitespace")
            << QStringLiteral("a\u3000\u00A0\u2029b\u0085c") << QStringLiteral("a b c");
        QTest::newRow("zero width is not space") << QStringLiteral("a\u200Bb") << QStringLiteral("a\u200Bb");
        QTest::newRow("titlecase digraph") << QStringLiteral("\u01C5") << QStringLiteral("\u01C6");
        QTest::newRow("non-BMP capital") << QStringLiteral("\U00010400") << QStringLiteral("\U00010428");
    }
    void normalisation() {
        QFETCH(QString, input);
        QFETCH(QString, expected);
        QCOMPARE(normalizeClipText(input), toCodePoints(expected));
    }

    void preTokenisation_data() {
        QTest::addColumn<QString>("input");
        QTest::addColumn<QStringList>("words");
        QTest::newRow("contractions")
            << QStringLiteral("it's they're ''s 'x")
            << QStringList{QStringLiteral("it"),  QStringLiteral("'s"), QStringLiteral("they"),
                           QStringLiteral("'re"), QStringLiteral("''"), QStringLiteral("s"),
                           QStringLiteral("'"),   QStringLiteral("x")};
        QTest::newRow("digits one by one") << QStringLiteral("x42²")
                                           << QStringList{QStringLiteral("x"), QStringLiteral("4"),
                                                          QStringLiteral("2"), QStringLiteral("²")};
        QTest::newRow("punctuation runs")
            << QStringLiteral("a...!? b")
            << QStringList{QStringLiteral("a"), QStringLiteral("...!?"), QStringLiteral("b")};
        QTest::newRow("special text splits again")
            << QStringLiteral("<|endoftext|>!")
            << QStringList{QStringLiteral("<|"), QStringLiteral("endoftext"), QStringLiteral("|>"),
                           QStringLiteral("!")};
        QTest::newRow("combining mark apart")
            << QStringLiteral("i\u0307x")
            << QStringList{QStringLiteral("i"), QStringLiteral("\u0307"), QStringLiteral("x")};
        QTest::newRow("emoji run") << QStringLiteral("🚀✨ok")
                                   << QStringList{QStringLiteral("🚀✨"), QStringLiteral("ok")};
    }
    void preTokenisation() {
        QFETCH(QString, input);
        QFETCH(QStringList, words);
        const std::u32string text = toCodePoints(input);
        std::vector<std::u32string_view> pieces;
        splitClipWords(text, pieces);
        QStringList got;
        for (std::u32string_view p : pieces)
            got << QString::fromUcs4(p.data(), qsizetype(p.size()));
        QCOMPARE(got, words);
    }

    // Lowest rank first; among equal ranks the leftmost pair; unknown bytes become unk.
    void mergeOrderAndUnknownBytes() {
        QTemporaryDir dir;
        writeFile(QDir(dir.path()).filePath(QStringLiteral("vocab.json")),
                  R"({"a": 0, "b": 1, "a</w>": 2, "c</w>": 3, "aa": 4, "bc</w>": 5, "ab": 6,
                      "<|startoftext|>": 7, "<|endoftext|>": 8})");
        writeFile(QDir(dir.path()).filePath(QStringLiteral("merges.txt")),
                  "#version: 0.2\nb c</w>\na a\na b\n");
        auto tokenizer = ClipTokenizer::load(dir.path());
        QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
        QCOMPARE(tokenizer->encode(QStringLiteral("abc")), (Ids{0, 5})); // "b c</w>" (rank 0) before "a b"
        QCOMPARE(tokenizer->encode(QStringLiteral("aaaa")),
                 (Ids{4, 0, 2}));                                       // leftmost "a a" first, not {0, 4, 2}
        QCOMPARE(tokenizer->encode(QStringLiteral("ca")), (Ids{8, 2})); // no "c" symbol: unk, then "a</w>"
    }

    void specialTokensInThePrompt() {
        const Ids red = tiny().encode(QStringLiteral("red"));
        QCOMPARE(tiny().encode(QStringLiteral("red<|endoftext|>red")), (Ids{red[0], 791, red[0]}));
        // Raw special tokens are matched before lowercasing: this one is ordinary text.
        // After lowercasing it is split like text ("<|", "endoftext", "|>"); the tiny vocabulary
        // has every byte, so no unknown (= <|endoftext|>) id appears either.
        const Ids upper = tiny().encode(QStringLiteral("<|ENDOFTEXT|>"));
        QVERIFY(upper.size() >= 3);
        QVERIFY(std::find(upper.begin(), upper.end(), std::int64_t(791)) == upper.end());
    }

    void decodeIsReadable() {
        const TokenizedPrompt t = tiny().tokenize(QStringLiteral("A Painting of a  Squirrel, eating!"));
        QCOMPARE(tiny().decode(t.ids), QStringLiteral("a painting of a squirrel , eating !"));
        QVERIFY(tiny().decode(t.ids, true).startsWith(QStringLiteral("<|startoftext|>a painting")));
        QCOMPARE(tiny().decode(tiny().encode(QStringLiteral("café 🚀"))), QStringLiteral("café 🚀"));
    }

    void corruptVocabularyIsNamed() {
        QTemporaryDir dir;
        makeFolder(dir.path(), {});
        writeFile(QDir(dir.path()).filePath(QStringLiteral("vocab.json")), R"({"a": 1, "b": )");
        auto tokenizer = ClipTokenizer::load(dir.path());
        QVERIFY(!tokenizer);
        QVERIFY2(tokenizer.error().contains(QStringLiteral("vocab.json")), qPrintable(tokenizer.error()));

        writeFile(QDir(dir.path()).filePath(QStringLiteral("vocab.json")), R"({"a": "one"})");
        tokenizer = ClipTokenizer::load(dir.path());
        QVERIFY(!tokenizer);
        QVERIFY2(tokenizer.error().contains(QStringLiteral("vocab.json")), qPrintable(tokenizer.error()));
    }

    void missingMergesIsNamed() {
        QTemporaryDir dir;
        makeFolder(dir.path(), {});
        QVERIFY(QFile::remove(QDir(dir.path()).filePath(QStringLiteral("merges.txt"))));
        auto tokenizer = ClipTokenizer::load(dir.path());
        QVERIFY(!tokenizer);
        QVERIFY2(tokenizer.error().contains(QStringLiteral("merges.txt")) &&
                     tokenizer.error().contains(QStringLiteral("missing")),
                 qPrintable(tokenizer.error()));
    }

    void mergesMustMatchVocabulary() {
        QTemporaryDir dir;
        makeFolder(dir.path(), {});
        writeFile(QDir(dir.path()).filePath(QStringLiteral("merges.txt")), "#version: 0.2\ng r\nzzz qqq\n");
        auto tokenizer = ClipTokenizer::load(dir.path());
        QVERIFY(!tokenizer);
        QVERIFY2(tokenizer.error().contains(QStringLiteral("merges.txt")) &&
                     tokenizer.error().contains(QStringLiteral("line 3")),
                 qPrintable(tokenizer.error()));

        writeFile(QDir(dir.path()).filePath(QStringLiteral("merges.txt")), "#version: 0.2\ng r extra\n");
        tokenizer = ClipTokenizer::load(dir.path());
        QVERIFY(!tokenizer);
        QVERIFY2(tokenizer.error().contains(QStringLiteral("line 2")), qPrintable(tokenizer.error()));
    }

    void badConfigIsNamed() {
        QTemporaryDir dir;
        makeFolder(dir.path(), "{ not json");
        auto tokenizer = ClipTokenizer::load(dir.path());
        QVERIFY(!tokenizer);
        QVERIFY2(tokenizer.error().contains(QStringLiteral("tokenizer_config.json")),
                 qPrintable(tokenizer.error()));

        makeFolder(dir.path(), R"({"pad_token": "<|pad|>"})");
        tokenizer = ClipTokenizer::load(dir.path());
        QVERIFY(!tokenizer);
        QVERIFY2(tokenizer.error().contains(QStringLiteral("<|pad|>")) &&
                     tokenizer.error().contains(QStringLiteral("vocab.json")),
                 qPrintable(tokenizer.error()));
    }

    void configIsOptional() {
        QTemporaryDir dir;
        makeFolder(dir.path(), {});
        auto tokenizer = ClipTokenizer::load(dir.path());
        QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
        QCOMPARE(tokenizer->padId(), std::int64_t(791));
        QCOMPARE(tokenizer->tokenize(QStringLiteral("a photograph of an astronaut")).ids,
                 tiny().tokenize(QStringLiteral("a photograph of an astronaut")).ids);
        makeFolder(dir.path(), R"({"model_max_length": 1000000000000000019884624838656})");
        tokenizer = ClipTokenizer::load(dir.path());
        QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
        QCOMPARE(tokenizer->modelMaxLength(), 77); // "no limit" falls back to CLIP's 77
    }
};

QTEST_GUILESS_MAIN(TestTokenizer)
#include "tst_tokenizer.moc"
