// The prompt pipeline end to end through both fakes, its failures, and its settings.
#include "core/services/OllamaClient.h"
#include "core/services/PromptPipeline.h"
#include "core/services/TwistedPairClient.h"
#include "core/settings/Settings.h"
#include "tests/support/FakeOllamaServer.h"
#include "tests/support/FakeTwistedPairServer.h"

#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QtTest>

#include <optional>

using namespace tp;
using namespace tp::services;
using namespace tp::test;

class TestServicesPipeline final : public QObject {
    Q_OBJECT

    std::unique_ptr<FakeOllamaServer> m_ollamaServer;
    std::unique_ptr<FakeTwistedPairServer> m_tpServer;
    std::unique_ptr<OllamaClient> m_ollama;
    std::unique_ptr<TwistedPairClient> m_tp;
    std::unique_ptr<PromptPipeline> m_pipeline;

    static PromptPipelineConfig distorting() {
        PromptPipelineConfig c;
        c.distortEnabled = true;
        c.mode = QStringLiteral("what_if_er");
        c.tone = QStringLiteral("poetic");
        c.gain = 8;
        c.distortModel = QStringLiteral("mistral:latest");
        c.refinerModel = QStringLiteral("mistral:latest");
        c.refinerKeywords = 12;
        return c;
    }

    PromptPipelineResult runToEnd(const QString& prompt, const PromptPipelineConfig& config) {
        std::optional<PromptPipelineResult> got;
        m_pipeline->run(prompt, config, [&](const PromptPipelineResult& r) { got = r; });
        [&] { QTRY_VERIFY_WITH_TIMEOUT(got.has_value(), 10000); }();
        return got.value_or(PromptPipelineResult());
    }

private Q_SLOTS:
    void init() {
        m_ollamaServer = std::make_unique<FakeOllamaServer>();
        m_tpServer = std::make_unique<FakeTwistedPairServer>();
        QVERIFY(m_ollamaServer->listen());
        QVERIFY(m_tpServer->listen());
        m_ollamaServer->setInstalled(
            {FakeOllamaServer::tagEntry(QStringLiteral("mistral:latest"), 4113301824)});
        m_ollama = std::make_unique<OllamaClient>(m_ollamaServer->url());
        m_tp = std::make_unique<TwistedPairClient>(m_tpServer->url());
        m_pipeline = std::make_unique<PromptPipeline>(m_tp.get(), m_ollama.get());
    }
    void cleanup() {
        m_pipeline.reset();
        m_ollama.reset();
        m_tp.reset();
        m_ollamaServer.reset();
        m_tpServer.reset();
    }

    void endToEndRecordsEveryStage() {
        m_ollamaServer->setGenerateText(
            QStringLiteral("**Visual keywords:** \"lanterns, drowned city, storm\"\n"));
        QSignalSpy started(m_pipeline.get(), &PromptPipeline::stageStarted);
        QSignalSpy finishedStage(m_pipeline.get(), &PromptPipeline::stageFinished);
        QSignalSpy finished(m_pipeline.get(), &PromptPipeline::finished);
        PromptPipelineConfig c = distorting();
        c.wrapperTemplate = QStringLiteral("{prompt} ;{distorted}; ");
        const PromptPipelineResult r = runToEnd(QStringLiteral("a quiet harbour"), c);
        QVERIFY2(r.ok, qPrintable(r.error));
        QCOMPARE(r.input, QStringLiteral("a quiet harbour"));
        const QString distorted =
            QStringLiteral("a quiet harbour (what_if_er, poetic, gain 8): a storm of lanterns "
                           "over a drowned city");
        QCOMPARE(r.distorted, distorted);
        QCOMPARE(r.refined, QStringLiteral("lanterns, drowned city, storm"));
        QCOMPARE(r.finalPrompt, QStringLiteral("a quiet harbour ;lanterns, drowned city, storm; "));
        QCOMPARE(started.size(), 2);
        QCOMPARE(started.at(0).at(0).toString(), QStringLiteral("distort"));
        QCOMPARE(started.at(1).at(0).toString(), QStringLiteral("refine"));
        QCOMPARE(finishedStage.size(), 2);
        QCOMPARE(finished.size(), 1);

        // TwistedPair got the knobs; Ollama got the refiner prompt with the distorted
        // text and the count, at the original's temperature and length.
        QCOMPARE(m_tpServer->requests().last().json().value(QLatin1String("mode")).toString(),
                 QStringLiteral("what_if_er"));
        const QJsonObject gen = m_ollamaServer->requests().last().json();
        QCOMPARE(gen.value(QLatin1String("model")).toString(), QStringLiteral("mistral:latest"));
        QCOMPARE(gen.value(QLatin1String("stream")).toBool(true), false);
        QVERIFY(gen.value(QLatin1String("prompt")).toString().contains(distorted));
        QVERIFY(gen.value(QLatin1String("prompt"))
                    .toString()
                    .contains(QStringLiteral("exactly 12 short VISUAL keywords")));
        QCOMPARE(gen.value(QLatin1String("options")).toObject(),
                 (QJsonObject{{QStringLiteral("temperature"), 0.3}, {QStringLiteral("num_predict"), 150}}));

        // The sidecar record.
        const QVariantMap rec = r.record;
        QCOMPARE(rec.value(QStringLiteral("input")).toString(), r.input);
        QCOMPARE(rec.value(QStringLiteral("final")).toString(), r.finalPrompt);
        QCOMPARE(rec.value(QStringLiteral("ok")).toBool(), true);
        const QVariantMap d = rec.value(QStringLiteral("distort")).toMap();
        QCOMPARE(d.value(QStringLiteral("enabled")).toBool(), true);
        QCOMPARE(d.value(QStringLiteral("mode")).toString(), QStringLiteral("what_if_er"));
        QCOMPARE(d.value(QStringLiteral("tone")).toString(), QStringLiteral("poetic"));
        QCOMPARE(d.value(QStringLiteral("gain")).toInt(), 8);
        QCOMPARE(d.value(QStringLiteral("model")).toString(), QStringLiteral("mistral:latest"));
        QCOMPARE(d.value(QStringLiteral("output")).toString(), distorted);
        QCOMPARE(d.value(QStringLiteral("url")).toString(), m_tpServer->url().toString());
        QVERIFY(d.value(QStringLiteral("ms")).toDouble() > 0);
        const QVariantMap f = rec.value(QStringLiteral("refine")).toMap();
        QCOMPARE(f.value(QStringLiteral("model")).toString(), QStringLiteral("mistral:latest"));
        QCOMPARE(f.value(QStringLiteral("keywords")).toInt(), 12);
        QCOMPARE(f.value(QStringLiteral("keywordCount")).toInt(), 3);
        QCOMPARE(f.value(QStringLiteral("output")).toString(), r.refined);
        QCOMPARE(f.value(QStringLiteral("raw")).toString(),
                 QStringLiteral("**Visual keywords:** \"lanterns, drowned city, storm\"\n"));
        QCOMPARE(f.value(QStringLiteral("evalCount")).toLongLong(), qint64(290));
        QCOMPARE(rec.value(QStringLiteral("wrapper")).toMap().value(QStringLiteral("template")).toString(),
                 c.wrapperTemplate);
        QVERIFY(!rec.contains(QStringLiteral("failedStage")));
        // Sidecars are JSON: the record must survive the trip.
        QCOMPARE(QJsonObject::fromVariantMap(rec).toVariantMap().value(QStringLiteral("final")).toString(),
                 r.finalPrompt);
    }

    void defaultWrapper() {
        const PromptPipelineResult r = runToEnd(QStringLiteral("x"), distorting());
        QVERIFY(r.ok);
        QCOMPARE(r.finalPrompt, QStringLiteral(" ;red fox, autumn forest, golden light; "));
    }

    void noRefinementWrapsTheDistortedText() {
        PromptPipelineConfig c = distorting();
        c.refineEnabled = false;
        const PromptPipelineResult r = runToEnd(QStringLiteral("a quiet harbour"), c);
        QVERIFY(r.ok);
        QCOMPARE(r.finalPrompt, QStringLiteral(" ;") + r.distorted + QStringLiteral("; "));
        QVERIFY(m_ollamaServer->requests().isEmpty());
        QCOMPARE(r.record.value(QStringLiteral("refine")).toMap().value(QStringLiteral("enabled")).toBool(),
                 false);
    }

    void distortionOffPassesThePromptThrough() {
        PromptPipelineConfig c = distorting();
        c.distortEnabled = false;
        std::optional<PromptPipelineResult> got;
        m_pipeline->run(QStringLiteral("a quiet harbour"), c,
                        [&](const PromptPipelineResult& r) { got = r; });
        QVERIFY(!got.has_value()); // asynchronous even when there is nothing to do
        QTRY_VERIFY(got.has_value());
        QVERIFY(got->ok);
        QCOMPARE(got->finalPrompt, QStringLiteral("a quiet harbour"));
        QCOMPARE(
            got->record.value(QStringLiteral("distort")).toMap().value(QStringLiteral("enabled")).toBool(),
            false);
        QVERIFY(m_tpServer->requests().isEmpty());
        QVERIFY(m_ollamaServer->requests().isEmpty());
    }

    void twistedPairDown() {
        QTcpServer probe;
        probe.listen(QHostAddress::LocalHost, 0);
        const quint16 port = probe.serverPort();
        probe.close();
        m_tp->setBaseUrl(QUrl(QStringLiteral("http://127.0.0.1:%1").arg(port)));
        const PromptPipelineResult r = runToEnd(QStringLiteral("a quiet harbour"), distorting());
        QVERIFY(!r.ok);
        QVERIFY(!r.cancelled);
        QCOMPARE(r.failedStage, QStringLiteral("distort"));
        QCOMPARE(r.failedService, QStringLiteral("TwistedPair"));
        QVERIFY2(
            r.error.startsWith(QStringLiteral("TwistedPair at http://127.0.0.1:%1 is not running (connection "
                                              "refused).")
                                   .arg(port)),
            qPrintable(r.error));
        QCOMPARE(r.promptAsTyped, QStringLiteral("a quiet harbour"));
        QVERIFY(r.finalPrompt.isEmpty());
        QVERIFY(m_ollamaServer->requests().isEmpty()); // nothing sent on after the failure
        QCOMPARE(r.record.value(QStringLiteral("failedStage")).toString(), QStringLiteral("distort"));
        QCOMPARE(r.record.value(QStringLiteral("failedService")).toString(), QStringLiteral("TwistedPair"));
        QCOMPARE(r.record.value(QStringLiteral("distort")).toMap().value(QStringLiteral("error")).toString(),
                 r.error);
    }

    void ollamaFailsDuringRefinement() {
        m_ollamaServer->script(
            QStringLiteral("POST"), QStringLiteral("/api/generate"),
            FakeResponse::json({{QStringLiteral("error"), QStringLiteral("out of memory")}}, 500));
        const PromptPipelineResult r = runToEnd(QStringLiteral("a quiet harbour"), distorting());
        QVERIFY(!r.ok);
        QCOMPARE(r.failedStage, QStringLiteral("refine"));
        QCOMPARE(r.failedService, QStringLiteral("Ollama"));
        QCOMPARE(r.error, QStringLiteral("Ollama answered HTTP 500: out of memory (POST /api/generate)"));
        QCOMPARE(r.promptAsTyped, QStringLiteral("a quiet harbour"));
        QVERIFY(!r.distorted.isEmpty());
        QCOMPARE(r.unrefinedPrompt, QStringLiteral(" ;") + r.distorted + QStringLiteral("; "));
        QCOMPARE(r.record.value(QStringLiteral("distort")).toMap().value(QStringLiteral("output")).toString(),
                 r.distorted);
    }

    void emptyKeywordsFail() {
        m_ollamaServer->setGenerateText(QStringLiteral("  **  \n"));
        const PromptPipelineResult r = runToEnd(QStringLiteral("x"), distorting());
        QVERIFY(!r.ok);
        QCOMPARE(r.failedStage, QStringLiteral("refine"));
        QVERIFY(r.error.startsWith(QStringLiteral("Ollama's model mistral:latest returned no keywords")));
    }

    void cancelDuringDistortion() {
        m_tpServer->setDistortDelayMs(3000);
        std::optional<PromptPipelineResult> got;
        m_pipeline->run(QStringLiteral("x"), distorting(), [&](const PromptPipelineResult& r) { got = r; });
        QVERIFY(m_pipeline->isRunning());
        QTRY_COMPARE(m_tpServer->requests().size(), 1);
        m_pipeline->cancel();
        QVERIFY(got.has_value()); // cancel reports at once
        QVERIFY(got->cancelled);
        QVERIFY(!got->ok);
        QCOMPARE(got->failedStage, QStringLiteral("distort"));
        QCOMPARE(got->promptAsTyped, QStringLiteral("x"));
        QVERIFY(!m_pipeline->isRunning());
        QTRY_COMPARE(m_tpServer->openConnections(), 0);
        QVERIFY(m_ollamaServer->requests().isEmpty());
    }

    void newRunCancelsTheOld() {
        m_tpServer->setDistortDelayMs(300);
        std::optional<PromptPipelineResult> first, second;
        m_pipeline->run(QStringLiteral("one"), distorting(),
                        [&](const PromptPipelineResult& r) { first = r; });
        m_pipeline->run(QStringLiteral("two"), distorting(),
                        [&](const PromptPipelineResult& r) { second = r; });
        QVERIFY(first.has_value() && first->cancelled);
        QTRY_VERIFY_WITH_TIMEOUT(second.has_value(), 5000);
        QVERIFY2(second->ok, qPrintable(second->error));
        QVERIFY(second->distorted.startsWith(QStringLiteral("two")));
    }

    void fillTemplate() {
        const QHash<QString, QString> v{{QStringLiteral("text"), QStringLiteral("say {count}")},
                                        {QStringLiteral("count"), QStringLiteral("20")}};
        QCOMPARE(PromptPipeline::fillTemplate(QStringLiteral("{count} of {text}; {other} {"), v),
                 QStringLiteral("20 of say {count}; {other} {"));
    }

    void cleanKeywords_data() {
        QTest::addColumn<QString>("in");
        QTest::addColumn<QString>("out");
        QTest::newRow("plain") << QStringLiteral("a, b, c") << QStringLiteral("a, b, c");
        QTest::newRow("markdown label quotes")
            << QStringLiteral("**Visual Keywords:** \"a, b.\"") << QStringLiteral("a, b");
        QTest::newRow("bullets") << QStringLiteral("- neon\n- rain\n1. city")
                                 << QStringLiteral("neon, rain, city");
        QTest::newRow("empty pieces") << QStringLiteral("a,, ,b,\n") << QStringLiteral("a, b");
    }
    void cleanKeywords() {
        QFETCH(QString, in);
        QFETCH(QString, out);
        QCOMPARE(PromptPipeline::cleanKeywords(in), out);
    }

    void configFromSettings() {
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("t.conf"));
        {
            Settings s(path);
            const PromptPipelineConfig d = PromptPipelineConfig::fromSettings(s);
            QCOMPARE(d.distortEnabled, false);
            QCOMPARE(d.mode, QStringLiteral("echo_er"));
            QCOMPARE(d.tone, QStringLiteral("neutral"));
            QCOMPARE(d.gain, 5);
            QCOMPARE(d.refineEnabled, true);
            QCOMPARE(d.refinerKeywords, 20);
            QCOMPARE(d.wrapperTemplate, QStringLiteral(" ;{distorted}; "));
            QVERIFY(d.refinerTemplate.contains(QStringLiteral("{text}")));
            QVERIFY(d.refinerTemplate.contains(QStringLiteral("{count}")));
            QVERIFY(s.set(keys::WrapperTemplate, QStringLiteral(" ;{distorted}; , trending, 4k ")).isOk());
            QVERIFY(
                s.set(keys::RefinerTemplate, QStringLiteral("Line one, {count}\nLine two: {text}")).isOk());
            QVERIFY(s.set(keys::DistortMode, QStringLiteral("cucumb_er")).isOk());
            QVERIFY(!s.set(keys::DistortMode, QStringLiteral("shout_er")).isOk());
            QVERIFY(!s.set(keys::DistortGain, 11).isOk());
        }
        Settings again(path); // what was written reads back the same
        QVERIFY(again.loadWarnings().isEmpty());
        const PromptPipelineConfig c = PromptPipelineConfig::fromSettings(again);
        QCOMPARE(c.wrapperTemplate, QStringLiteral(" ;{distorted}; , trending, 4k "));
        QCOMPARE(c.refinerTemplate, QStringLiteral("Line one, {count}\nLine two: {text}"));
        QCOMPARE(c.mode, QStringLiteral("cucumb_er"));
    }
};

QTEST_GUILESS_MAIN(TestServicesPipeline)
#include "tst_services_pipeline.moc"
