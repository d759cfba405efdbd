// Runs `twistedpic-bench memory-ops --quick --json FILE` and checks the report's shape.
#include "core/gpu/GpuInfo.h"
#include "tests/support/TestUtil.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

using namespace tp::test;

namespace {

void requireKeys(const QJsonObject& o, const QStringList& keys, const QString& where) {
    for (const QString& k : keys)
        QVERIFY2(o.contains(k), qPrintable(where + QStringLiteral(": no \"") + k + QLatin1Char('"')));
}

} // namespace

class TestBenchQuick final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

    ProcessResult bench(const QStringList& args) {
        return runProcess(binaryPath(QStringLiteral("bench/twistedpic-bench")), args,
                          {QStringLiteral("XDG_STATE_HOME=") + m_dir.filePath(QStringLiteral("state"))},
                          540000);
    }

    // `twistedpic-bench SCENARIO --quick --json FILE --model <the sd15-tiny fixture> EXTRA...`: the
    // report's "results", empty where it failed or wrote none; `log` gets its output.
    QJsonObject quickOnFixture(const QString& scenario, const QStringList& extra, QString* log) {
        const QString json = m_dir.filePath(scenario + QStringLiteral(".json"));
        const ProcessResult r = bench(QStringList{scenario, QStringLiteral("--quick"),
                                                  QStringLiteral("--json"), json, QStringLiteral("--model"),
                                                  QStringLiteral(TP_TEST_DATA_DIR "/sd15-tiny/pipeline")} +
                                      extra);
        *log = r.out + r.err;
        QFile file(json);
        if (!r.finished || r.exitCode != 0 || !file.open(QIODevice::ReadOnly))
            return {};
        return QJsonDocument::fromJson(file.readAll()).object().value(QStringLiteral("results")).toObject();
    }

private Q_SLOTS:
    void memoryOpsQuickWritesEveryField() {
        const QString json = m_dir.filePath(QStringLiteral("memory-ops.json"));
        const ProcessResult r =
            bench({QStringLiteral("memory-ops"), QStringLiteral("--quick"), QStringLiteral("--json"), json});
        QVERIFY(r.finished);
        QVERIFY2(r.exitCode == 0, qPrintable(r.out + r.err));
        qInfo("%s", qPrintable(r.out));

        QFile file(json);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QJsonParseError error;
        const QJsonObject o = QJsonDocument::fromJson(file.readAll(), &error).object();
        QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
        requireKeys(o,
                    {QStringLiteral("scenario"), QStringLiteral("quick"), QStringLiteral("startedAt"),
                     QStringLiteral("durationS"), QStringLiteral("host"), QStringLiteral("torch"),
                     QStringLiteral("gpu"), QStringLiteral("notes"), QStringLiteral("results")},
                    QStringLiteral("report"));
        QCOMPARE(o.value(QStringLiteral("scenario")).toString(), QStringLiteral("memory-ops"));
        QCOMPARE(o.value(QStringLiteral("quick")).toBool(), true);
        requireKeys(o.value(QStringLiteral("torch")).toObject(),
                    {QStringLiteral("version"), QStringLiteral("cudaBuild"), QStringLiteral("cudaAvailable")},
                    QStringLiteral("torch"));

        const QJsonObject results = o.value(QStringLiteral("results")).toObject();
        requireKeys(results,
                    {QStringLiteral("cuda"), QStringLiteral("reason"), QStringLiteral("sizesGiB"),
                     QStringLiteral("deviceUsedAtStartMiB"), QStringLiteral("cleanup"),
                     QStringLiteral("transfers")},
                    QStringLiteral("results"));
        const bool cuda = tp::gpu::torchBuildInfo().cudaAvailable;
        QCOMPARE(results.value(QStringLiteral("cuda")).toBool(), cuda);

        const QJsonArray cleanup = results.value(QStringLiteral("cleanup")).toArray();
        QCOMPARE(cleanup.size(), 2);
        for (const QJsonValue& row : cleanup) {
            const QJsonObject c = row.toObject();
            requireKeys(c,
                        {QStringLiteral("case"), QStringLiteral("runs"), QStringLiteral("latencyMs"),
                         QStringLiteral("latencyMaxMs"), QStringLiteral("reservedBeforeMiB"),
                         QStringLiteral("reservedAfterMiB"), QStringLiteral("allocatedAfterMiB"),
                         QStringLiteral("cacheLeftMiB"), QStringLiteral("deviceUsedAfterMiB")},
                        QStringLiteral("cleanup row"));
            QCOMPARE(c.value(QStringLiteral("latencyMs")).isDouble(), cuda);
        }

        const QJsonArray transfers = results.value(QStringLiteral("transfers")).toArray();
        QCOMPARE(transfers.size(), 1); // --quick: 0.5 GiB only
        const QJsonObject t = transfers.at(0).toObject();
        requireKeys(t,
                    {QStringLiteral("sizeGiB"), QStringLiteral("actualGiB"), QStringLiteral("tensors"),
                     QStringLiteral("d2hLimitGBps"), QStringLiteral("unloadLimitMs"),
                     QStringLiteral("unload1Ms"), QStringLiteral("pin1Ms"), QStringLiteral("unload2Ms"),
                     QStringLiteral("unload2GBps"), QStringLiteral("h2dLimitGBps"),
                     QStringLiteral("reloadLimitMs"), QStringLiteral("reload1Ms"),
                     QStringLiteral("reload2Ms"), QStringLiteral("reload2GBps"), QStringLiteral("freedMiB"),
                     QStringLiteral("residualMiB"), QStringLiteral("intact")},
                    QStringLiteral("transfer row"));
        QCOMPARE(t.value(QStringLiteral("sizeGiB")).toDouble(), 0.5);
        if (cuda) {
            QCOMPARE(t.value(QStringLiteral("intact")).toBool(), true);
            QVERIFY(t.value(QStringLiteral("unload2Ms")).toDouble() <
                    t.value(QStringLiteral("unload1Ms")).toDouble());
        } else {
            QVERIFY(r.out.contains(QLatin1String("no CUDA: ")));
            QVERIFY(t.value(QStringLiteral("unload1Ms")).isNull());
            QVERIFY(r.out.contains(QLatin1String("n/a")));
        }
    }

    // The generation scenarios on the fixture model (CPU here, CUDA on the GPU machine): each
    // runs and writes its tables with every column in every row.
    void generationScenariosQuick_data() {
        QTest::addColumn<QString>("scenario");
        QTest::addColumn<QString>("table");
        QTest::addColumn<QStringList>("columns");
        QTest::newRow("generation") << QStringLiteral("generation") << QStringLiteral("generation")
                                    << QStringList{QStringLiteral("precision"),
                                                   QStringLiteral("size"),
                                                   QStringLiteral("batch"),
                                                   QStringLiteral("secondsPerImage"),
                                                   QStringLiteral("itPerSec"),
                                                   QStringLiteral("firstStepMs"),
                                                   QStringLiteral("peakAllocatedMiB"),
                                                   QStringLiteral("deviceUsedMiB")};
        QTest::newRow("memory-cycle")
            << QStringLiteral("memory-cycle") << QStringLiteral("cycle")
            << QStringList{QStringLiteral("policy"),        QStringLiteral("step"),
                           QStringLiteral("deviceUsedMiB"), QStringLiteral("allocatedMiB"),
                           QStringLiteral("reservedMiB"),   QStringLiteral("ms")};
        QTest::newRow("co-tenant") << QStringLiteral("co-tenant") << QStringLiteral("cotenant")
                                   << QStringList{QStringLiteral("policy"), QStringLiteral("generation"),
                                                  QStringLiteral("gotGiB"), QStringLiteral("requiredGiB"),
                                                  QStringLiteral("meets"),  QStringLiteral("ourReservedMiB")};
        QTest::newRow("soak") << QStringLiteral("soak") << QStringLiteral("generations")
                              << QStringList{QStringLiteral("n"), QStringLiteral("seconds"),
                                             QStringLiteral("deviceUsedMiB"), QStringLiteral("reservedMiB"),
                                             QStringLiteral("rssMiB")};
    }
    void generationScenariosQuick() {
        QFETCH(QString, scenario);
        QFETCH(QString, table);
        QFETCH(QStringList, columns);
        QString log;
        const QJsonObject results =
            quickOnFixture(scenario, {QStringLiteral("--device"), QStringLiteral("cpu")}, &log);
        QVERIFY2(!results.isEmpty(), qPrintable(log));
        const QJsonArray rows = results.value(table).toArray();
        QVERIFY2(!rows.isEmpty(), qPrintable(log));
        for (const QJsonValue& row : rows)
            requireKeys(row.toObject(), columns, scenario + QStringLiteral(" row"));
        QVERIFY(results.contains(QStringLiteral("device")));
    }

    // budget (issue 16) on the fixture model: the warm-up carries the load, the timed image does not;
    // every figure the budget table needs is there, null where it cannot be measured.
    void budgetQuickReportsWarmUpAndTimedImages() {
        QString log;
        const QJsonObject results = quickOnFixture(QStringLiteral("budget"),
                                                   {QStringLiteral("--device"), QStringLiteral("cpu"),
                                                    QStringLiteral("--budget"), QStringLiteral("all")},
                                                   &log);
        QVERIFY2(!results.isEmpty(), qPrintable(log));
        requireKeys(results,
                    {QStringLiteral("budget"), QStringLiteral("firstImageS"), QStringLiteral("loadMs"),
                     QStringLiteral("secondsPerImage"), QStringLiteral("minSecondsPerImage"),
                     QStringLiteral("itPerSec"), QStringLiteral("budgetBytes"),
                     QStringLiteral("peakDeviceBytes"), QStringLiteral("peakReservedBytes"),
                     QStringLiteral("peakAllocatedBytes"), QStringLiteral("withinBudget"),
                     QStringLiteral("plan"), QStringLiteral("memorySource"), QStringLiteral("failures"),
                     QStringLiteral("peaks")},
                    QStringLiteral("results"));
        QCOMPARE(results.value(QStringLiteral("budget")).toString(), QStringLiteral("all"));
        QCOMPARE(results.value(QStringLiteral("failures")).toInt(), 0);
        QVERIFY(results.value(QStringLiteral("secondsPerImage")).toDouble() > 0);
        QVERIFY(results.value(QStringLiteral("loadMs")).toDouble() > 0);
        // The budget "all" makes no plan, so there is no budget to be within.
        QVERIFY(results.value(QStringLiteral("plan")).isNull());
        QVERIFY(results.value(QStringLiteral("budgetBytes")).isNull());
        QVERIFY(results.value(QStringLiteral("withinBudget")).isNull());
        if (!tp::gpu::torchBuildInfo().cudaAvailable) {
            QVERIFY(results.value(QStringLiteral("peakDeviceBytes")).isNull());
            QVERIFY(results.value(QStringLiteral("peakReservedBytes")).isNull());
        }
        const QJsonArray rows = results.value(QStringLiteral("images")).toArray();
        QCOMPARE(rows.size(), 2); // the warm-up and --quick's one timed image
        const QJsonObject warm = rows.at(0).toObject();
        const QJsonObject timed = rows.at(1).toObject();
        QCOMPARE(warm.value(QStringLiteral("image")).toString(), QStringLiteral("warm-up"));
        QVERIFY(warm.value(QStringLiteral("ok")).toBool() && timed.value(QStringLiteral("ok")).toBool());
        QVERIFY(warm.value(QStringLiteral("loadMs")).toDouble() > 0);
        QCOMPARE(timed.value(QStringLiteral("loadMs")).toDouble(), 0.0); // the model stayed loaded
        QCOMPARE(results.value(QStringLiteral("secondsPerImage")).toDouble(),
                 timed.value(QStringLiteral("seconds")).toDouble());
        requireKeys(timed,
                    {QStringLiteral("seconds"), QStringLiteral("engineSeconds"), QStringLiteral("itPerSec"),
                     QStringLiteral("peakDeviceMiB"), QStringLiteral("peakReservedMiB"),
                     QStringLiteral("peakAllocatedMiB"), QStringLiteral("budgetMiB"),
                     QStringLiteral("withinBudget"), QStringLiteral("plan")},
                    QStringLiteral("budget row"));
    }

    // cotenant needs CUDA: skipped (exit 0) without it; with it, the stand-in holds and grows and
    // every image is generated without an out-of-memory error.
    void cotenantQuick() {
        QString log;
        const QJsonObject results = quickOnFixture(QStringLiteral("cotenant"), {}, &log);
        QVERIFY2(!results.isEmpty(), qPrintable(log));
        if (!tp::gpu::torchBuildInfo().cudaAvailable) {
            QCOMPARE(results.value(QStringLiteral("skipped")).toString(), QStringLiteral("needs CUDA"));
            QVERIFY(log.contains(QLatin1String("needs CUDA")));
            return;
        }
        const QJsonArray rows = results.value(QStringLiteral("cotenant")).toArray();
        QCOMPARE(rows.size(), 2);
        QCOMPARE(results.value(QStringLiteral("imagesOk")).toInt(), 2);
        QCOMPARE(results.value(QStringLiteral("hogFailures")).toInt(), 0);
        QVERIFY(results.value(QStringLiteral("passed")).toBool());
        // 1 GiB held, then 0.5 GiB more after each of the 2 images.
        QCOMPARE(results.value(QStringLiteral("hogHeldEndBytes")).toDouble(), 2.0 * 1024 * 1024 * 1024);
    }

    // profile (issue 17): the operators are really timed (libtorch's callbacks fire), the first image's
    // costs are compared with a steady one's, and on CUDA each operator's device time is measured.
    void profileQuickTimesOperators() {
        QString log;
        const QJsonObject results =
            quickOnFixture(QStringLiteral("profile"), {QStringLiteral("--top"), QStringLiteral("5")}, &log);
        QVERIFY2(!results.isEmpty(), qPrintable(log));
        const bool cuda = tp::gpu::torchBuildInfo().cudaAvailable;
        const QJsonArray images = results.value(QStringLiteral("images")).toArray();
        QCOMPARE(images.size(), cuda ? 4 : 3); // first, steady, eager (+ synchronized on CUDA)
        for (const QJsonValue& v : images) {
            const QJsonObject row = v.toObject();
            requireKeys(row,
                        {QStringLiteral("image"), QStringLiteral("seconds"), QStringLiteral("encodeMs"),
                         QStringLiteral("denoiseMs"), QStringLiteral("decodeMs"), QStringLiteral("opCalls"),
                         QStringLiteral("opHostMs")},
                        QStringLiteral("profile row"));
            // A UNet step alone calls hundreds of operators; the VAE and the text encoder more.
            QVERIFY2(row.value(QStringLiteral("opCalls")).toDouble() > 200, qPrintable(log));
            QVERIFY(row.value(QStringLiteral("opHostMs")).toDouble() > 0);
            QVERIFY(row.value(QStringLiteral("opHostMs")).toDouble() <=
                    row.value(QStringLiteral("seconds")).toDouble() * 1000.0);
        }
        const QJsonArray once = results.value(QStringLiteral("oneTime")).toArray();
        QCOMPARE(once.size(), 5); // --top 5
        for (const QJsonValue& v : once)
            QVERIFY(v.toObject().value(QStringLiteral("op")).toString().startsWith(QLatin1String("aten::")));
        QVERIFY(results.value(QStringLiteral("eagerHostInOpsShare")).toDouble() > 0);
        QCOMPARE(results.contains(QStringLiteral("deviceTime")), cuda);
    }

    void unknownScenarioIsAUsageError() {
        const ProcessResult r = bench({QStringLiteral("no-such-scenario")});
        QCOMPARE(r.exitCode, 2);
        QVERIFY(r.err.contains(QLatin1String("Unknown scenario 'no-such-scenario'")));
        QVERIFY(r.err.contains(QLatin1String("memory-ops")));
        const ProcessResult list = bench({QStringLiteral("--list")});
        QCOMPARE(list.exitCode, 0);
        QVERIFY(list.out.contains(QLatin1String("memory-ops")));
    }
};

QTEST_GUILESS_MAIN(TestBenchQuick)

#include "tst_bench_quick.moc"
