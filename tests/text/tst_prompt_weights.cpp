// AUTOMATIC1111's emphasis parser and 75-token chunking (core/text/PromptWeights, PromptChunks).
// Expected segment lists: webui's doctests in modules/prompt_parser.py and its documented rules;
// weights compared exactly (they are computed in webui's order in double precision).
#include "core/text/ClipTokenizer.h"
#include "core/text/PromptChunks.h"
#include "core/text/PromptWeights.h"
#include "tests/support/TestUtil.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace tp;
using namespace tp::text;
using Ids = std::vector<std::int64_t>;
using Segments = std::vector<PromptSegment>;

Q_DECLARE_METATYPE(Segments)

namespace {

PromptSegment seg(const char* text, double weight = 1.0) {
    return PromptSegment{QString::fromUtf8(text), weight, false};
}
PromptSegment brk() {
    return PromptSegment{QString(), 1.0, true};
}

QString describe(const Segments& segments) {
    QStringList parts;
    for (const PromptSegment& s : segments)
        parts << (s.isBreak ? QStringLiteral("BREAK")
                            : QStringLiteral("[\"%1\", %2]").arg(s.text).arg(s.weight, 0, 'g', 17));
    return parts.join(QStringLiteral(", "));
}

QString tinyFolder() {
    return test::dataPath(QStringLiteral("sd15-tiny/pipeline/tokenizer"));
}

QString repeated(const QString& word, int n) {
    QStringList words;
    for (int i = 0; i < n; ++i)
        words << word;
    return words.join(QLatin1Char(' '));
}

} // namespace

class TestPromptWeights final : public QObject {
    Q_OBJECT

    std::optional<ClipTokenizer> m_tiny;
    std::optional<ClipTokenizer> m_openClip; // the tiny vocabulary with OpenCLIP's pad "!"
    QTemporaryDir m_dir;
    std::int64_t m_red = -1;
    std::int64_t m_comma = -1;

    const ClipTokenizer& tiny() const { return *m_tiny; }

    void checkLayout(const PromptChunk& chunk, const Ids& body, const ClipTokenizer& tokenizer) {
        QCOMPARE(int(chunk.ids.size()), 77);
        QCOMPARE(int(chunk.weights.size()), 77);
        QCOMPARE(chunk.tokens, int(body.size()));
        QCOMPARE(chunk.ids.front(), tokenizer.bosId());
        QVERIFY(std::equal(body.begin(), body.end(), chunk.ids.begin() + 1));
        QCOMPARE(chunk.ids[body.size() + 1], tokenizer.eosId());
        for (size_t i = body.size() + 2; i < chunk.ids.size(); ++i)
            QCOMPARE(chunk.ids[i], tokenizer.padId());
        QCOMPARE(chunk.weights.front(), 1.0f);
        for (size_t i = body.size() + 1; i < chunk.weights.size(); ++i)
            QCOMPARE(chunk.weights[i], 1.0f);
    }

private Q_SLOTS:
    void initTestCase() {
        auto tokenizer = ClipTokenizer::load(tinyFolder());
        QVERIFY2(tokenizer, qPrintable(tokenizer.error()));
        m_tiny = std::move(*tokenizer);
        QVERIFY(m_dir.isValid());
        for (const QString& name : {QStringLiteral("vocab.json"), QStringLiteral("merges.txt")})
            QVERIFY(QFile::copy(QDir(tinyFolder()).filePath(name), m_dir.filePath(name)));
        QFile map(m_dir.filePath(QStringLiteral("special_tokens_map.json")));
        QVERIFY(map.open(QIODevice::WriteOnly));
        map.write(R"({"pad_token": "!"})");
        map.close();
        auto openClip = ClipTokenizer::load(m_dir.path());
        QVERIFY2(openClip, qPrintable(openClip.error()));
        m_openClip = std::move(*openClip);
        QCOMPARE(m_openClip->padId(), std::int64_t(0));

        const Ids red = tiny().encode(QStringLiteral("red"));
        QCOMPARE(int(red.size()), 1);
        m_red = red.front();
        const Ids comma = tiny().encode(QStringLiteral(","));
        QCOMPARE(int(comma.size()), 1);
        m_comma = comma.front();
        QCOMPARE(tiny().tokenId(QStringLiteral(",</w>")), std::optional<std::int64_t>(m_comma));
    }

    // ---- parser ------------------------------------------------------------------------

    void parser_data() {
        QTest::addColumn<QString>("prompt");
        QTest::addColumn<Segments>("expected");
        const double r = 1.1;
        const double s = 1 / 1.1;
        // webui's doctests
        QTest::newRow("plain") << QStringLiteral("normal text") << Segments{seg("normal text")};
        QTest::newRow("round") << QStringLiteral("an (important) word")
                               << Segments{seg("an "), seg("important", 1.1), seg(" word")};
        QTest::newRow("unbalanced") << QStringLiteral("(unbalanced") << Segments{seg("unbalanced", 1.1)};
        QTest::newRow("escapes") << QStringLiteral("\\(literal\\]") << Segments{seg("(literal]")};
        QTest::newRow("adjacent merge")
            << QStringLiteral("(unnecessary)(parens)") << Segments{seg("unnecessaryparens", 1.1)};
        QTest::newRow("doctest house")
            << QStringLiteral("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).")
            << Segments{seg("a "),           seg("house", 1.5730000000000004),
                        seg(" ", 1.1),       seg("on", 1.0),
                        seg(" a ", 1.1),     seg("hill", 0.55),
                        seg(", sun, ", 1.1), seg("sky", 1.4641000000000006),
                        seg(".", 1.1)};
        // the brief's example and the documented rules
        QTest::newRow("mixed") << QStringLiteral("a (b:1.5) [c] ((d))")
                               << Segments{seg("a "),   seg("b", 1.5), seg(" "),
                                           seg("c", s), seg(" "),      seg("d", r * r)};
        QTest::newRow("spaces around weight")
            << QStringLiteral("(a: 1.3 ) b") << Segments{seg("a", 1.3), seg(" b")};
        QTest::newRow("signs and dots") << QStringLiteral("(a:-1)(b:.5)(c:2.)(d:+0.25)")
                                        << Segments{seg("a", -1), seg("b", 0.5), seg("c", 2), seg("d", 0.25)};
        QTest::newRow("zero weight") << QStringLiteral("x (y:0)") << Segments{seg("x "), seg("y", 0)};
        QTest::newRow("weight inside square") << QStringLiteral("[(a:2)]") << Segments{seg("a", 2 * s)};
        QTest::newRow("square in round") << QStringLiteral("([a])") << Segments{seg("a", s * r)};
        QTest::newRow("nested weights") << QStringLiteral("((a:1.5):1.2)") << Segments{seg("a", 1.5 * 1.2)};
        QTest::newRow("not a weight: letters") << QStringLiteral("(a:1.3x)") << Segments{seg("a:1.3x", r)};
        QTest::newRow("not a weight: two dots") << QStringLiteral("(a:1.2.3)") << Segments{seg("a:1.2.3", r)};
        QTest::newRow("not a weight: no digits") << QStringLiteral("(a:.)") << Segments{seg("a:.", r)};
        QTest::newRow("weight without bracket") << QStringLiteral("x:1.5) y") << Segments{seg("x:1.5) y")};
        QTest::newRow("colon is text")
            << QStringLiteral("style: oil, (a:b)") << Segments{seg("style: oil, "), seg("a:b", r)};
        QTest::newRow("stray closers") << QStringLiteral("a) b] c") << Segments{seg("a) b] c")};
        QTest::newRow("unclosed square") << QStringLiteral("x [a") << Segments{seg("x "), seg("a", s)};
        QTest::newRow("unclosed both") << QStringLiteral("[(a") << Segments{seg("a", r * s)};
        QTest::newRow("unclosed nested") << QStringLiteral("((a") << Segments{seg("a", r * r)};
        QTest::newRow("mismatched closer") << QStringLiteral("(a] b") << Segments{seg("a] b", r)};
        QTest::newRow("backslash") << QStringLiteral("a\\\\b \\[c\\] \\(d\\)")
                                   << Segments{seg("a\\b [c] (d)")};
        QTest::newRow("lone backslash dropped") << QStringLiteral("C:\\path") << Segments{seg("C:path")};
        QTest::newRow("escaped in weighted") << QStringLiteral("(a\\)b:1.2)") << Segments{seg("a)b", 1.2)};
        QTest::newRow("empty") << QString() << Segments{seg("")};
        QTest::newRow("empty brackets") << QStringLiteral("()[]") << Segments{seg("")};
        QTest::newRow("unicode") << QStringLiteral("(café:1.2) 日本")
                                 << Segments{seg("café", 1.2), seg(" 日本")};
        // BREAK
        QTest::newRow("break") << QStringLiteral("a BREAK b") << Segments{seg("a"), brk(), seg("b")};
        QTest::newRow("break eats whitespace")
            << QStringLiteral("a  \n BREAK\t b") << Segments{seg("a"), brk(), seg("b")};
        QTest::newRow("break by punctuation")
            << QStringLiteral("a, BREAK, b") << Segments{seg("a,"), brk(), seg(", b")};
        QTest::newRow("break first") << QStringLiteral("BREAK a") << Segments{brk(), seg("a")};
        QTest::newRow("break twice") << QStringLiteral("a BREAK BREAK b")
                                     << Segments{seg("a"), brk(), brk(), seg("b")};
        QTest::newRow("break after bracket")
            << QStringLiteral("(a)BREAK b") << Segments{seg("a", r), brk(), seg("b")};
        QTest::newRow("break in brackets")
            << QStringLiteral("(a BREAK b)") << Segments{seg("a", r), brk(), seg("b", r)};
        QTest::newRow("not break: lower case") << QStringLiteral("a break b") << Segments{seg("a break b")};
        QTest::newRow("not break: inside word") << QStringLiteral("BREAKfast aBREAK a_BREAK BREAK2")
                                                << Segments{seg("BREAKfast aBREAK a_BREAK BREAK2")};
        QTest::newRow("not break: letter after") << QStringLiteral("BREAKé") << Segments{seg("BREAKé")};
    }
    void parser() {
        QFETCH(QString, prompt);
        QFETCH(Segments, expected);
        const Segments got = parsePromptAttention(prompt);
        QVERIFY2(
            got == expected,
            qPrintable(QStringLiteral("\n   got: %1\nexpect: %2").arg(describe(got), describe(expected))));
    }

    void emphasisModes() {
        const QString prompt = QStringLiteral("(a:1.3) BREAK [b]");
        QCOMPARE(parsePrompt(prompt, Emphasis::Off), Segments{seg("(a:1.3) BREAK [b]")});
        for (Emphasis e : {Emphasis::Original, Emphasis::NoNorm, Emphasis::Ignore})
            QCOMPARE(parsePrompt(prompt, e), (Segments{seg("a", 1.3), brk(), seg("b", 1 / 1.1)}));
        for (Emphasis e : {Emphasis::Original, Emphasis::NoNorm, Emphasis::Ignore, Emphasis::Off})
            QCOMPARE(emphasisFromName(emphasisName(e)), std::optional<Emphasis>(e));
        QCOMPARE(emphasisName(Emphasis::NoNorm), QStringLiteral("No norm"));
        QCOMPARE(emphasisFromName(QStringLiteral("OFF")), std::optional<Emphasis>(Emphasis::Off));
        QCOMPARE(emphasisFromName(QStringLiteral("loud")), std::nullopt);
    }

    // ---- chunks ------------------------------------------------------------------------

    // Up to 75 unweighted tokens: exactly the ids of the single-call tokenizer (today's path).
    void shortPromptIsTheTokenizersIds() {
        const QStringList prompts{QString(), QStringLiteral("a photograph of an astronaut riding a horse"),
                                  QStringLiteral("digital art, concept art, highly detailed: a castle, 4k"),
                                  repeated(QStringLiteral("red"), 75)};
        for (const ClipTokenizer* tokenizer : {&*m_tiny, &*m_openClip})
            for (const QString& prompt : prompts) {
                const ChunkedPrompt c = chunkPrompt(*tokenizer, prompt);
                QCOMPARE(c.chunkCount(), 1);
                QCOMPARE(c.chunks[0].ids, tokenizer->tokenize(prompt).ids);
                QCOMPARE(c.promptTokens, tokenizer->tokenize(prompt).promptTokens());
                QVERIFY(!c.weighted());
                QVERIFY(!c.multiChunk());
            }
    }

    void chunksOf75() {
        for (int n : {75, 76, 100, 150, 151}) {
            const ChunkedPrompt c = chunkPrompt(tiny(), repeated(QStringLiteral("red"), n));
            QCOMPARE(c.promptTokens, n);
            QCOMPARE(c.chunkCount(), (n + 74) / 75);
            int left = n;
            for (const PromptChunk& chunk : c.chunks) {
                checkLayout(chunk, Ids(size_t(std::min(left, 75)), m_red), tiny());
                left -= 75;
            }
            QCOMPARE(c.allIds().size(), size_t(77 * c.chunkCount()));
        }
        QCOMPARE(chunkSummary(chunkPrompt(tiny(), repeated(QStringLiteral("red"), 96))),
                 QStringLiteral("2 chunks (96 tokens)"));
        QCOMPARE(chunkSummary(chunkPrompt(tiny(), QStringLiteral("red"))),
                 QStringLiteral("1 chunk (1 token)"));
    }

    void paddingIsEachTokenizersPad() {
        const ChunkedPrompt c = chunkPrompt(*m_openClip, repeated(QStringLiteral("red"), 80));
        QCOMPARE(c.chunkCount(), 2);
        checkLayout(c.chunks[0], Ids(75, m_red), *m_openClip);
        checkLayout(c.chunks[1], Ids(5, m_red), *m_openClip);
        QCOMPARE(c.chunks[1].ids[7], std::int64_t(0)); // "!" after the EOS
        QCOMPARE(chunkPrompt(tiny(), repeated(QStringLiteral("red"), 80)).chunks[1].ids[7], tiny().eosId());
    }

    // A full chunk whose last comma is within 20 tokens breaks after that comma.
    void commaBacktrack() {
        const QString tail = repeated(QStringLiteral("red"), 20);
        const QString prompt = repeated(QStringLiteral("red"), 60) + QStringLiteral(", ") + tail;
        const ChunkedPrompt c = chunkPrompt(tiny(), prompt);
        QCOMPARE(c.promptTokens, 81);
        QCOMPARE(c.chunkCount(), 2);
        Ids first(60, m_red);
        first.push_back(m_comma);
        checkLayout(c.chunks[0], first, tiny());
        checkLayout(c.chunks[1], Ids(20, m_red), tiny());

        // at exactly 20 tokens from the end it still moves; at 21 it does not
        const ChunkedPrompt edge =
            chunkPrompt(tiny(), repeated(QStringLiteral("red"), 55) + QStringLiteral(", ") + tail);
        QCOMPARE(edge.chunks[0].tokens, 56);
        QCOMPARE(edge.chunks[1].tokens, 20);
        const ChunkedPrompt far =
            chunkPrompt(tiny(), repeated(QStringLiteral("red"), 54) + QStringLiteral(", ") + tail +
                                    QStringLiteral(" red"));
        QCOMPARE(far.chunks[0].tokens, 75);
        QCOMPARE(far.chunks[1].tokens, 1);

        // 0 turns it off; a custom distance
        ChunkOptions off;
        off.commaBacktrack = 0;
        QCOMPARE(chunkPrompt(tiny(), prompt, off).chunks[0].tokens, 75);
        ChunkOptions ten;
        ten.commaBacktrack = 10;
        QCOMPARE(chunkPrompt(tiny(), prompt, ten).chunks[0].tokens, 75);

        // A comma that arrives at a full chunk opens the next one.
        const ChunkedPrompt late =
            chunkPrompt(tiny(), repeated(QStringLiteral("red"), 75) + QStringLiteral(", ") +
                                    repeated(QStringLiteral("red"), 74) + QStringLiteral(" red red"));
        QCOMPARE(late.chunkCount(), 3);
        QCOMPARE(late.chunks[0].tokens, 75);
        QCOMPARE(late.chunks[1].tokens, 75);
        QCOMPARE(late.chunks[1].ids[1], m_comma);
        QCOMPARE(late.chunks[2].tokens, 2);

        // Weights travel with their tokens.
        const ChunkedPrompt weighted =
            chunkPrompt(tiny(), repeated(QStringLiteral("red"), 60) + QStringLiteral(", (") + tail +
                                    QStringLiteral(":1.5)"));
        QCOMPARE(weighted.chunks[0].tokens, 61);
        QCOMPARE(weighted.chunks[1].tokens, 20);
        for (int i = 1; i <= 20; ++i)
            QCOMPARE(weighted.chunks[1].weights[size_t(i)], 1.5f);
        QCOMPARE(weighted.chunks[1].weights[21], 1.0f);
        QCOMPARE(weighted.chunks[0].weights[61], 1.0f);
    }

    void breakPadsTheChunk() {
        const ChunkedPrompt c = chunkPrompt(tiny(), QStringLiteral("red red BREAK red"));
        QCOMPARE(c.chunkCount(), 2);
        checkLayout(c.chunks[0], Ids(2, m_red), tiny());
        checkLayout(c.chunks[1], Ids(1, m_red), tiny());
        QCOMPARE(c.promptTokens, 3);

        QCOMPARE(chunkPrompt(tiny(), QStringLiteral("BREAK red")).chunkCount(), 2);
        QCOMPARE(chunkPrompt(tiny(), QStringLiteral("BREAK red")).chunks[0].tokens, 0);
        QCOMPARE(chunkPrompt(tiny(), QStringLiteral("red BREAK")).chunkCount(), 1);
        QCOMPARE(chunkPrompt(tiny(), QStringLiteral("BREAK")).chunkCount(), 1);
        QCOMPARE(chunkPrompt(tiny(), QStringLiteral("red BREAK BREAK red")).chunkCount(), 3);
        // A BREAK after exactly 75 tokens: the chunk closes at the BREAK, no empty chunk.
        QCOMPARE(chunkPrompt(tiny(), repeated(QStringLiteral("red"), 75) + QStringLiteral(" BREAK red"))
                     .chunkCount(),
                 2);
        // Off: BREAK is a word
        ChunkOptions off;
        off.emphasis = Emphasis::Off;
        QCOMPARE(chunkPrompt(tiny(), QStringLiteral("red BREAK red"), off).chunkCount(), 1);
    }

    void weightsPerToken() {
        const ChunkedPrompt c = chunkPrompt(tiny(), QStringLiteral("red (red:1.5) [red] ((red))"));
        QCOMPARE(c.chunkCount(), 1);
        checkLayout(c.chunks[0], Ids(4, m_red), tiny());
        const std::vector<float> expected{1.0f, 1.0f, 1.5f, float(1 / 1.1), float(1.1 * 1.1), 1.0f};
        QCOMPARE(std::vector<float>(c.chunks[0].weights.begin(), c.chunks[0].weights.begin() + 6), expected);
        QVERIFY(c.weighted());

        ChunkOptions ignore;
        ignore.emphasis = Emphasis::Ignore;
        const ChunkedPrompt ignored = chunkPrompt(tiny(), QStringLiteral("red (red:1.5)"), ignore);
        QCOMPARE(ignored.chunks[0].tokens, 2);
        QVERIFY(!ignored.weighted()); // parsed, but its weights are not applied

        // Off: the parentheses are text, exactly what the plain tokenizer makes of them.
        ChunkOptions off;
        off.emphasis = Emphasis::Off;
        const QString literal = QStringLiteral("(red:1.5), [red]");
        const ChunkedPrompt plain = chunkPrompt(tiny(), literal, off);
        QCOMPARE(plain.chunks[0].ids, tiny().tokenize(literal).ids);
        QVERIFY(!plain.weighted());
        QVERIFY(plain.chunks[0].tokens > 2);
    }

    void emptyPromptIsOneChunk() {
        const ChunkedPrompt c = chunkPrompt(tiny(), QString());
        QCOMPARE(c.chunkCount(), 1);
        QCOMPARE(c.promptTokens, 0);
        checkLayout(c.chunks[0], Ids{}, tiny());
        QCOMPARE(c.chunks[0].ids, emptyChunk(tiny()).ids);
        QCOMPARE(c.chunks[0].weights, emptyChunk(tiny()).weights);
        checkLayout(emptyChunk(*m_openClip), Ids{}, *m_openClip);
    }

    void padToSameChunkCountPadsTheShorter() {
        ChunkedPrompt positive = chunkPrompt(tiny(), repeated(QStringLiteral("red"), 160));
        ChunkedPrompt negative = chunkPrompt(tiny(), QStringLiteral("red"));
        QCOMPARE(positive.chunkCount(), 3);
        QCOMPARE(negative.chunkCount(), 1);
        const auto positiveIds = positive.allIds();
        padToSameChunkCount(positive, negative, tiny());
        QCOMPARE(positive.allIds(), positiveIds);
        QCOMPARE(negative.chunkCount(), 3);
        QCOMPARE(negative.promptTokens, 1);
        checkLayout(negative.chunks[0], Ids{m_red}, tiny());
        for (int i = 1; i < 3; ++i) {
            QCOMPARE(negative.chunks[size_t(i)].ids, emptyChunk(tiny()).ids);
            QCOMPARE(negative.chunks[size_t(i)].weights, emptyChunk(tiny()).weights);
        }
        // the other way round, with OpenCLIP's padding
        ChunkedPrompt shortOne = chunkPrompt(*m_openClip, QString());
        ChunkedPrompt longOne = chunkPrompt(*m_openClip, repeated(QStringLiteral("red"), 80));
        padToSameChunkCount(shortOne, longOne, *m_openClip);
        QCOMPARE(shortOne.chunkCount(), 2);
        QCOMPARE(longOne.chunkCount(), 2);
        QCOMPARE(shortOne.chunks[1].ids, emptyChunk(*m_openClip).ids);
        QCOMPARE(shortOne.chunks[1].ids.back(), std::int64_t(0));
        // equal counts: nothing changes
        ChunkedPrompt a = chunkPrompt(tiny(), QStringLiteral("red"));
        ChunkedPrompt b = chunkPrompt(tiny(), QStringLiteral("red red"));
        padToSameChunkCount(a, b, tiny());
        QCOMPARE(a.chunkCount(), 1);
        QCOMPARE(b.chunkCount(), 1);
    }
};

QTEST_GUILESS_MAIN(TestPromptWeights)
#include "tst_prompt_weights.moc"
