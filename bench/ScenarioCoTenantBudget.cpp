// cotenant (issue 16): an LLM beside TwistedPic that grows. The stand-in (twistedpic-vram-hog
// --hold) takes --hold-gib (8) of the card and keeps it; TwistedPic generates --images (10) in a
// row with the budget auto (the engine's defaults: no Ollama figures for the stand-in, so auto is
// the device's free memory plus what we hold, less the 2 GiB reserve); after each image the
// stand-in allocates --grow-gib (2) more. Per image: generated or not (the out-of-memory message),
// seconds, the plan, the device's free memory before it, the least free memory during it, and
// what the stand-in holds and whether its allocation failed. Needs CUDA (skipped otherwise).
// Not the `co-tenant` scenario (ScenarioMemoryCycle.cpp), which measures what a second process can
// take after each image under each after-generation policy.
#include "bench/BenchEngine.h"
#include "bench/BenchGeneration.h"
#include "core/gpu/GpuMemory.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QProcess>
#include <QTemporaryDir>

#include <memory>

namespace tp::bench {
namespace {

// The stand-in, held open: commands on its stdin, one JSON line back for each.
class Hog final {
public:
    ~Hog() {
        if (m_process.state() == QProcess::NotRunning)
            return;
        m_process.write("quit\n");
        m_process.closeWriteChannel();
        if (!m_process.waitForFinished(30000))
            m_process.kill();
    }
    // Starts it holding `bytes` (after taking total − cardBytes when cardBytes > 0); the first answer.
    QJsonObject start(const QString& exe, int device, qint64 bytes, qint64 cardBytes) {
        QStringList a{QStringLiteral("--device"), QString::number(device), QStringLiteral("--hold"),
                      QStringLiteral("--want"), QString::number(bytes)};
        if (cardBytes > 0)
            a << QStringLiteral("--card") << QString::number(cardBytes);
        m_process.setProcessChannelMode(QProcess::SeparateChannels);
        m_process.start(exe, a);
        if (!m_process.waitForStarted(30000))
            return QJsonObject{{QStringLiteral("error"), m_process.errorString()}};
        return answer();
    }
    QJsonObject command(const QByteArray& line) {
        m_process.write(line + '\n');
        return answer();
    }

private:
    QJsonObject answer() {
        while (!m_process.canReadLine()) {
            if (!m_process.waitForReadyRead(180000))
                return QJsonObject{{QStringLiteral("error"),
                                    QStringLiteral("twistedpic-vram-hog did not answer: %1 %2")
                                        .arg(m_process.errorString(),
                                             QString::fromLocal8Bit(m_process.readAllStandardError()))}};
        }
        return QJsonDocument::fromJson(m_process.readLine().trimmed()).object();
    }
    QProcess m_process;
};

qint64 bytesOf(const QJsonObject& o, const QString& key) {
    return o.contains(key) ? qint64(o.value(key).toDouble()) : -1;
}

int runCoTenantBudget(Report& report) {
    const Args args(report.options());
    const bool quick = report.options().quick;
    const bool onCpu = args.value(QStringLiteral("--device")) == QLatin1String("cpu");
    report.set(QStringLiteral("cuda"), gpu::cudaAvailable() && !onCpu);
    if (!gpu::cudaAvailable() || onCpu) {
        report.set(QStringLiteral("skipped"), QStringLiteral("needs CUDA"));
        report.note(QStringLiteral("needs CUDA (%1): skipped")
                        .arg(onCpu ? QStringLiteral("--device cpu") : gpu::noCudaReason()));
        return 0;
    }
    const QString exe =
        QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("twistedpic-vram-hog"));
    if (!QFileInfo::exists(exe)) {
        report.note(QStringLiteral("%1 is not built (a CUDA build with the CUDA toolkit's cudart makes it)")
                        .arg(exe));
        return 1;
    }
    const int images = std::max(1, args.integer(QStringLiteral("--images"), quick ? 2 : 10));
    const double holdGiB =
        args.value(QStringLiteral("--hold-gib"), quick ? QStringLiteral("1") : QStringLiteral("8"))
            .toDouble();
    const double growGiB =
        args.value(QStringLiteral("--grow-gib"), quick ? QStringLiteral("0.5") : QStringLiteral("2"))
            .toDouble();
    const double cardGiB = args.value(QStringLiteral("--card-gib"), QStringLiteral("0")).toDouble();
    const QString budget = args.value(QStringLiteral("--budget"), QStringLiteral("auto"));
    Result<engine::GenerationRequest> made = requestFromArgs(args, report);
    if (!made) {
        report.note(made.error());
        return 2;
    }
    engine::GenerationRequest request = *made;
    request.vramBudget = budget;
    const int device = request.device.contains(QLatin1Char(':'))
                           ? request.device.mid(request.device.indexOf(QLatin1Char(':')) + 1).toInt()
                           : 0;
    std::unique_ptr<QTemporaryDir> state; // a fresh plan memory, as in the budget scenario
    if (!report.options().extra.contains(QStringLiteral("--keep-plan-memory"))) {
        state = std::make_unique<QTemporaryDir>();
        qputenv("XDG_STATE_HOME", QFile::encodeName(state->path()));
    }
    report.set(QStringLiteral("budget"), budget);
    report.set(QStringLiteral("imageCount"), images);
    report.set(QStringLiteral("holdGiB"), holdGiB);
    report.set(QStringLiteral("growGiB"), growGiB);
    report.set(QStringLiteral("cardGiB"), cardGiB);

    MemorySampler sampler(device);
    report.set(QStringLiteral("memorySource"), sampler.source());
    Hog hog;
    const QJsonObject first = hog.start(exe, device, qint64(holdGiB * GiB), qint64(cardGiB * GiB));
    if (first.contains(QStringLiteral("error")) || !first.value(QStringLiteral("ok")).toBool()) {
        report.note(QStringLiteral("the stand-in could not take its %1 GiB: %2")
                        .arg(holdGiB)
                        .arg(QString::fromUtf8(QJsonDocument(first).toJson(QJsonDocument::Compact))));
        return 1;
    }
    report.set(QStringLiteral("hogStart"), first);
    qint64 held = bytesOf(first, QStringLiteral("got"));
    report.note(QStringLiteral("stand-in holds %1 GiB%2; device total %3 GiB")
                    .arg(held / GiB, 0, 'f', 2)
                    .arg(cardGiB > 0 ? QStringLiteral(" (and %1 GiB more, so that the card looks %2 GiB)")
                                           .arg(bytesOf(first, QStringLiteral("fill")) / GiB, 0, 'f', 2)
                                           .arg(cardGiB)
                                     : QString())
                    .arg(bytesOf(first, QStringLiteral("total")) / GiB, 0, 'f', 2));

    Table& t = report.addTable(
        QStringLiteral("cotenant"),
        QStringLiteral("%1 images of %2x%3, %4 steps, budget %5; the stand-in grows by %6 GiB after each")
            .arg(images)
            .arg(request.width)
            .arg(request.height)
            .arg(request.steps)
            .arg(budget)
            .arg(growGiB),
        {{QStringLiteral("image"), QStringLiteral("#"), 0},
         {QStringLiteral("ok"), QStringLiteral("generated"), 0},
         {QStringLiteral("seconds"), QStringLiteral("s"), 2},
         {QStringLiteral("freeBeforeMiB"), QStringLiteral("free before (MiB)"), 0},
         {QStringLiteral("minFreeMiB"), QStringLiteral("least free during (MiB)"), 0},
         {QStringLiteral("budgetMiB"), QStringLiteral("budget (MiB)"), 0},
         {QStringLiteral("peakDeviceMiB"), QStringLiteral("our peak (MiB)"), 0},
         {QStringLiteral("peakReservedMiB"), QStringLiteral("our peak reserved (MiB)"), 0},
         {QStringLiteral("hogHeldBeforeMiB"), QStringLiteral("stand-in before (MiB)"), 0},
         {QStringLiteral("hogGrowOk"), QStringLiteral("stand-in grew"), 0},
         {QStringLiteral("hogHeldAfterMiB"), QStringLiteral("stand-in after (MiB)"), 0},
         {QStringLiteral("outOfMemory"), QStringLiteral("OOM"), 0},
         {QStringLiteral("retried"), QStringLiteral("OOM retry"), 0},
         {QStringLiteral("plan"), QStringLiteral("plan"), 0},
         {QStringLiteral("error"), QStringLiteral("error"), 0}});

    EngineRunner runner(engine::GpuPolicy{}); // the engine's defaults: budget auto, cleanup after each image
    int ok = 0, ooms = 0, hogFailures = 0, retries = 0;
    QJsonArray plans;
    for (int i = 1; i <= images; ++i) {
        const qint64 freeBefore = sampler.now().deviceFreeBytes;
        const qint64 hogBefore = held;
        engine::GenerationRequest r = request;
        r.id = 0;
        r.seed = request.seed + i;
        sampler.take();
        const EngineRun run = runner.run(r);
        const MemoryPeaks peaks = sampler.take();
        const QJsonObject& plan = run.result.plan.isEmpty() ? run.planned : run.result.plan;
        plans.append(run.planned.isEmpty() ? QJsonValue() : QJsonValue(run.planned));
        ok += run.ok ? 1 : 0;
        ooms += run.outOfMemory ? 1 : 0;
        retries += run.plans > 1 ? 1 : 0;
        if (!run.ok)
            report.note(QStringLiteral("image %1: %2").arg(i).arg(run.error));
        for (const QString& n : run.result.notes)
            report.note(QStringLiteral("image %1: %2").arg(i).arg(n));
        const QJsonObject grown =
            hog.command(QByteArrayLiteral("grow ") + QByteArray::number(qint64(growGiB * GiB)));
        const bool grewOk = grown.value(QStringLiteral("ok")).toBool();
        if (grown.contains(QStringLiteral("held")))
            held = bytesOf(grown, QStringLiteral("held"));
        if (!grewOk) {
            ++hogFailures;
            report.note(QStringLiteral("image %1: the stand-in failed to grow: %2")
                            .arg(i)
                            .arg(grown.value(QStringLiteral("error")).toString()));
        }
        t.addRow(
            {i, run.ok, run.wallMs / 1000.0, mibCell(freeBefore), mibCell(peaks.minFreeBytes),
             mibCell(plan.contains(QStringLiteral("budgetBytes"))
                         ? qint64(plan.value(QStringLiteral("budgetBytes")).toDouble())
                         : -1),
             mibCell(peaks.peakDeviceBytes), mibCell(peaks.reservedBytes), mibCell(hogBefore), grewOk,
             mibCell(held), run.outOfMemory, run.plans > 1,
             plan.isEmpty() ? QStringLiteral("none") : plan.value(QStringLiteral("description")).toString(),
             run.ok ? QVariant() : QVariant(run.error)});
    }
    report.set(QStringLiteral("plans"), plans);
    report.set(QStringLiteral("imagesOk"), ok);
    report.set(QStringLiteral("outOfMemory"), ooms);
    report.set(QStringLiteral("oomRetries"), retries);
    report.set(QStringLiteral("hogFailures"), hogFailures);
    report.set(QStringLiteral("hogHeldEndBytes"), bytesJson(held));
    // Strict: an out-of-memory error that the engine's retry recovered from still counts against it.
    report.set(QStringLiteral("passed"), ok == images && ooms == 0 && retries == 0 && hogFailures == 0);
    report.note(
        QStringLiteral("summary: %1 of %2 images generated, %3 out-of-memory error(s) (%4 retried with a "
                       "lower plan), %5 failed stand-in allocation(s); the stand-in ends with %6 GiB")
            .arg(ok)
            .arg(images)
            .arg(ooms)
            .arg(retries)
            .arg(hogFailures)
            .arg(held / GiB, 0, 'f', 2));
    return 0;
}

} // namespace

TP_BENCH_SCENARIO("cotenant",
                  "issue 16: a stand-in LLM holds 8 GiB and grows 2 GiB after each image; budget auto (CUDA)",
                  runCoTenantBudget);

} // namespace tp::bench
