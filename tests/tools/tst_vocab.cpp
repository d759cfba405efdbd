// The bundled model's CLIP-format vocabulary.
#include "core/text/ClipTokenizer.h"
#include "tests/support/TestUtil.h"
#include "tools/shapes/ShapeScene.h"
#include "tools/vocab/ClipBpe.h"
#include "tools/vocab/ShapesVocabulary.h"

#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace tp::vocab;

namespace {

QStringList tokensById(const QString& vocabJson) {
    QFile f(vocabJson);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    const QJsonObject o = QJsonDocument::fromJson(f.readAll()).object();
    QStringList tokens(o.size());
    for (auto it = o.begin(); it != o.end(); ++it) {
        const int id = it.value().toInt(-1);
        if (id < 0 || id >= tokens.size())
            return {};
        tokens[id] = it.key();
    }
    return tokens;
}

QVector<Merge> readMerges(const QString& path) {
    QFile f(path);
    QVector<Merge> merges;
    if (!f.open(QIODevice::ReadOnly))
        return merges;
    const QList<QByteArray> lines = f.readAll().split('\n');
    for (int i = 1; i < lines.size(); ++i) {
        const QString line = QString::fromUtf8(lines[i]);
        if (line.isEmpty())
            continue;
        merges.append(Merge{line.section(QLatin1Char(' '), 0, 0), line.section(QLatin1Char(' '), 1)});
    }
    return merges;
}

} // namespace

class TestVocab final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void byteTableMatchesClip() {
        const QStringList bytes = byteSymbolsInVocabOrder();
        QCOMPARE(bytes.size(), 256);
        QCOMPARE(bytes.first(), QStringLiteral("!"));
        QCOMPARE(byteSymbol(' '), QString(QChar(0x120))); // GPT-2's "Ġ"
        QCOMPARE(byteSymbol('a'), QStringLiteral("a"));
        QCOMPARE(pretokenize(QStringLiteral("  A  Red, circle's")),
                 (QVector<QStringList>{{QStringLiteral("a</w>")},
                                       {QStringLiteral("r"), QStringLiteral("e"), QStringLiteral("d</w>")},
                                       {QStringLiteral(",</w>")},
                                       {QStringLiteral("c"), QStringLiteral("i"), QStringLiteral("r"),
                                        QStringLiteral("c"), QStringLiteral("l"), QStringLiteral("e</w>")},
                                       {QStringLiteral("'"), QStringLiteral("s</w>")}}));
    }

    void layoutMatchesTheFixture() {
        // Rebuilding the fixture's vocabulary from its merges gives its vocab.json exactly.
        const QString dir = tp::test::dataPath(QStringLiteral("sd15-tiny/pipeline/tokenizer"));
        const QVector<Merge> merges = readMerges(dir + QStringLiteral("/merges.txt"));
        QVERIFY(merges.size() > 100);
        const ClipVocabulary rebuilt(merges);
        QCOMPARE(rebuilt.tokens(), tokensById(dir + QStringLiteral("/vocab.json")));
        QCOMPARE(rebuilt.encode(QStringLiteral("a photograph of an astronaut")).size() > 0, true);
    }

    void learnsFrequentPairsFirst() {
        const QVector<Merge> merges =
            learnMerges({QStringLiteral("ab ab ab abc"), QStringLiteral("abc d")}, BpeOptions{});
        QVERIFY(!merges.isEmpty());
        QCOMPARE(merges.first().left, QStringLiteral("a"));
        QCOMPARE(merges.first().right, QStringLiteral("b</w>")); // "ab" x3 beats "ab"+"c" x2
        const ClipVocabulary v(merges);
        for (const QString& w : {QStringLiteral("ab"), QStringLiteral("abc"), QStringLiteral("d")})
            QCOMPARE(v.encode(w).size(), 1);
        BpeOptions few;
        few.maxMerges = 1;
        QCOMPARE(learnMerges({QStringLiteral("ab ab abc")}, few).size(), 1);
    }

    void everyCaptionWordIsOneToken() {
        const ClipVocabulary v = shapesVocabulary();
        const QStringList captions = tp::shapes::allCaptions();
        const tp::Status s = checkWholeWords(v, captions);
        QVERIFY2(s.isOk(), qPrintable(s.error()));
        QCOMPARE(v.tokens().mid(0, 256), byteSymbolsInVocabOrder());
        QCOMPARE(v.tokens().at(256), QStringLiteral("!</w>"));
        QCOMPARE(v.tokens().at(v.bosId()), QStringLiteral("<|startoftext|>"));
        QCOMPARE(v.tokens().at(v.eosId()), QStringLiteral("<|endoftext|>"));
        QCOMPARE(v.size(), 512 + int(v.merges().size()) + 2);
        const QVector<int> ids =
            v.encode(QStringLiteral("a small yellow star in the top left corner on a black background"));
        QCOMPARE(ids.size(), 13);
        QCOMPARE(v.tokens().at(ids[3]), QStringLiteral("star</w>"));
        // The same corpus gives the same vocabulary.
        QCOMPARE(shapesVocabulary().tokens(), v.tokens());
    }

    void writesTokenizerFolder() {
        QTemporaryDir dir;
        const ClipVocabulary v = shapesVocabulary();
        const tp::Status s = v.write(dir.path());
        QVERIFY2(s.isOk(), qPrintable(s.error()));
        QCOMPARE(tokensById(dir.filePath(QStringLiteral("vocab.json"))), v.tokens());
        QFile merges(dir.filePath(QStringLiteral("merges.txt")));
        QVERIFY(merges.open(QIODevice::ReadOnly));
        QCOMPARE(merges.readLine(), QByteArray("#version: 0.2\n"));
        QCOMPARE(readMerges(dir.filePath(QStringLiteral("merges.txt"))).size(), v.merges().size());
        QFile config(dir.filePath(QStringLiteral("tokenizer_config.json")));
        QVERIFY(config.open(QIODevice::ReadOnly));
        const QJsonObject c = QJsonDocument::fromJson(config.readAll()).object();
        QCOMPARE(c.value(QStringLiteral("model_max_length")).toInt(), 77);
        QCOMPARE(c.value(QStringLiteral("pad_token")).toString(), QStringLiteral("<|endoftext|>"));
        QVERIFY(QFile::exists(dir.filePath(QStringLiteral("special_tokens_map.json"))));
    }

    void engineTokenizerReadsEveryCaptionAsWholeWords() {
        // The app's own tokenizer, reading the files the model ships with.
        QTemporaryDir dir;
        const ClipVocabulary v = shapesVocabulary();
        QVERIFY(v.write(dir.path()).isOk());
        auto tokenizer = tp::text::ClipTokenizer::load(dir.path());
        QVERIFY2(tokenizer.isOk(), qPrintable(tokenizer.error()));
        QCOMPARE(tokenizer->vocabSize(), v.size());
        QCOMPARE(int(tokenizer->bosId()), v.bosId());
        QCOMPARE(int(tokenizer->eosId()), v.eosId());
        QCOMPARE(int(tokenizer->padId()), v.eosId());
        for (const QString& caption : tp::shapes::allCaptions()) {
            const std::vector<std::int64_t> ids = tokenizer->encode(caption);
            const QStringList words = caption.split(QLatin1Char(' '));
            QCOMPARE(int(ids.size()), words.size());
            for (int i = 0; i < words.size(); ++i)
                QCOMPARE(tokenizer->tokenString(ids[size_t(i)]), words[i] + QStringLiteral("</w>"));
            const QVector<int> own = v.encode(caption);
            QCOMPARE(QVector<int>(ids.begin(), ids.end()), own);
        }
        const auto padded = tokenizer->tokenize(QStringLiteral("a red circle on a blue background"));
        QCOMPARE(int(padded.ids.size()), 77);
        QCOMPARE(padded.length, 9);
        QCOMPARE(padded.ids.front(), tokenizer->bosId());
        QCOMPARE(padded.ids[8], tokenizer->eosId());
    }
};

QTEST_GUILESS_MAIN(TestVocab)
#include "tst_vocab.moc"
