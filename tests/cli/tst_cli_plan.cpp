// `twistedpic-cli plan` on the tiny fixtures: the plan and its predicted peak from the headers
// alone; `--budget` is parsed strictly here and by `generate` and `memtest`.
#include "tests/support/TestUtil.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace tp::test;

class TestCliPlan final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

    ProcessResult cli(const QStringList& args) {
        return runProcess(
            binaryPath(QStringLiteral("app/twistedpic-cli")),
            QStringList{QStringLiteral("--config"), m_dir.filePath(QStringLiteral("cli.conf"))} + args,
            {QStringLiteral("XDG_STATE_HOME=") + m_dir.filePath(QStringLiteral("state"))}, 60000);
    }
    ProcessResult plan(const QString& model, const QStringList& extra) {
        return cli(QStringList{QStringLiteral("plan"), QStringLiteral("--model"), dataPath(model),
                               QStringLiteral("--width"), QStringLiteral("256"), QStringLiteral("--height"),
                               QStringLiteral("256")} +
                   extra);
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        // Ollama at a port nothing listens on: /api/ps fails at once, as when Ollama is not running.
        QFile conf(m_dir.filePath(QStringLiteral("cli.conf")));
        QVERIFY(conf.open(QIODevice::WriteOnly));
        conf.write("[services]\nollamaUrl=http://127.0.0.1:9\n");
    }

    void plansEachFamily_data() {
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("family");
        QTest::addColumn<QString>("denoiserLine");
        QTest::newRow("sd15") << "sd15-tiny/pipeline"
                              << "SD 1.x"
                              << "UNet         unet";
        QTest::newRow("sd3") << "sd3-tiny/pipeline"
                             << "SD 3.x"
                             << "transformer  transformer";
        QTest::newRow("flux") << "flux-tiny/pipeline"
                              << "Flux"
                              << "transformer  transformer";
    }
    void plansEachFamily() {
        QFETCH(QString, model);
        QFETCH(QString, family);
        QFETCH(QString, denoiserLine);
        const ProcessResult r = plan(model, {QStringLiteral("--budget"), QStringLiteral("4GiB")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
        QVERIFY2(r.out.contains(QStringLiteral("(%1, ").arg(family)), qPrintable(r.out));
        QVERIFY2(r.out.contains(QLatin1String("256x256, batch 1")), qPrintable(r.out));
        QVERIFY2(r.out.contains(QLatin1String("budget 4.00 GiB (set)")), qPrintable(r.out));
        QVERIFY2(r.out.contains(denoiserLine), qPrintable(r.out));
        // The tiny models' denoisers have 7 (UNet: 3 down, mid, 3 up) or 3 blocks.
        QVERIFY2(r.out.contains(family == QLatin1String("SD 1.x") ? QLatin1String("(7 blocks")
                                                                  : QLatin1String("(3 blocks")),
                 qPrintable(r.out));
        // Everything fits 4 GiB: all resident.
        QVERIFY2(r.out.contains(QLatin1String("plan: ")), qPrintable(r.out));
        QVERIFY2(!r.out.contains(QLatin1String("streamed")) && !r.out.contains(QLatin1String("on demand")),
                 qPrintable(r.out));
        QVERIFY2(
            r.out.contains(QLatin1String("predicted peak: ")) &&
                r.out.contains(QLatin1String("of a 4.0 GiB budget (3.8 GiB usable after 256 MiB headroom)")),
            qPrintable(r.out));
    }

    void json() {
        const ProcessResult r =
            plan(QStringLiteral("sd3-tiny/pipeline"),
                 {QStringLiteral("--budget"), QStringLiteral("2 GB"), QStringLiteral("--json")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QCOMPARE(o.value(QStringLiteral("family")).toString(), QStringLiteral("SD 3.x"));
        QCOMPARE(qint64(o.value(QStringLiteral("budgetBytes")).toDouble()), 2000000000LL);
        QCOMPARE(o.value(QStringLiteral("fits")).toBool(), true);
        const QJsonArray comps = o.value(QStringLiteral("components")).toArray();
        QCOMPARE(comps.size(), 5);
        QCOMPARE(comps.at(3).toObject().value(QStringLiteral("blocks")).toInt(), 3);
        QVERIFY(o.value(QStringLiteral("predictedPeakBytes")).toDouble() > 0);
        QVERIFY(o.value(QStringLiteral("predictedPeakBytes")).toDouble() <= 2e9);
        // Without T5: four components.
        const ProcessResult w = plan(QStringLiteral("sd3-tiny/pipeline"),
                                     {QStringLiteral("--budget"), QStringLiteral("2GiB"),
                                      QStringLiteral("--json"), QStringLiteral("--without-t5")});
        QCOMPARE(QJsonDocument::fromJson(w.out.toUtf8())
                     .object()
                     .value(QStringLiteral("components"))
                     .toArray()
                     .size(),
                 4);
    }

    void autoBudgetFromFreeMemory() {
        // auto = free − reserve (2 GiB) when no Ollama model is loaded.
        const ProcessResult r =
            plan(QStringLiteral("flux-tiny/pipeline"), {QStringLiteral("--budget"), QStringLiteral("auto"),
                                                        QStringLiteral("--free"), QStringLiteral("8GiB")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err + r.out));
        QVERIFY2(r.out.contains(QLatin1String("budget 6.00 GiB (auto) = usable 8.00 GiB")),
                 qPrintable(r.out));
        QVERIFY2(r.out.contains(QLatin1String("reserve 2.00 GiB")), qPrintable(r.out));
        const ProcessResult all =
            plan(QStringLiteral("flux-tiny/pipeline"), {QStringLiteral("--budget"), QStringLiteral("all"),
                                                        QStringLiteral("--free"), QStringLiteral("8GiB")});
        QVERIFY2(all.out.contains(QLatin1String("budget 8.00 GiB (all)")), qPrintable(all.out));
    }

    void tooSmallFails() {
        const ProcessResult r = plan(QStringLiteral("sd15-tiny/pipeline"),
                                     {QStringLiteral("--budget"), QStringLiteral("100MiB")});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QLatin1String("does not fit a budget of 100 MiB")), qPrintable(r.err));
    }

    void badBudgets() {
        const ProcessResult r = plan(QStringLiteral("sd3-tiny/pipeline"),
                                     {QStringLiteral("--budget"), QStringLiteral("nonsense")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY2(
            r.err.contains(QLatin1String("--budget: 'nonsense' is not auto, all or a size such as 12GiB")),
            qPrintable(r.err));
        QVERIFY(r.out.isEmpty());
        const ProcessResult g = cli({QStringLiteral("generate"), QStringLiteral("--prompt"),
                                     QStringLiteral("x"), QStringLiteral("--budget"), QStringLiteral("12G")});
        QCOMPARE(g.exitCode, 2);
        QVERIFY2(g.err.contains(QLatin1String("--budget: '12G' is ambiguous: write GiB")), qPrintable(g.err));
        const ProcessResult m =
            cli({QStringLiteral("memtest"), QStringLiteral("--budget"), QStringLiteral("0")});
        QCOMPARE(m.exitCode, 2);
        QVERIFY2(m.err.contains(QLatin1String("--budget: '0' is zero")), qPrintable(m.err));
    }
};

QTEST_GUILESS_MAIN(TestCliPlan)
#include "tst_cli_plan.moc"
