// budget (issue 16): the real engine generating within a VRAM budget. One warm-up generation (the
// model's load included, timed on its own), then --runs timed ones; per image the seconds, it/s,
// the placement plan, this process's peak device use (sampled every 20 ms), the caching
// allocator's peaks, and whether the peak stayed within the plan's budget. bench/compare/budget.py
// runs it once per budget next to diffusers' offload modes.
#include "bench/BenchEngine.h"
#include "bench/BenchGeneration.h"
#include "core/gpu/GpuMemory.h"
#include "core/gpu/VramBudget.h"

#include <QFile>
#include <QJsonArray>
#include <QTemporaryDir>

#include <algorithm>
#include <memory>

namespace tp::bench {
namespace {

// The CUDA index a request's device names ("cuda:1" → 1); 0 for auto, cuda and cpu.
int cudaIndex(const QString& device) {
    const int colon = device.indexOf(QLatin1Char(':'));
    return colon > 0 ? device.mid(colon + 1).toInt() : 0;
}

QVariant withinCell(qint64 peak, qint64 budget) {
    return peak >= 0 && budget >= 0 ? QVariant(peak <= budget) : QVariant();
}

int runBudget(Report& report) {
    const Args args(report.options());
    const bool quick = report.options().quick;
    const QString budget = args.value(QStringLiteral("--budget"), QStringLiteral("auto"));
    if (const Result<gpu::BudgetSetting> parsed = gpu::parseBudget(budget, QStringLiteral("--budget"));
        !parsed) {
        report.note(parsed.error());
        return 2;
    }
    const int runs = std::max(1, args.integer(QStringLiteral("--runs"), quick ? 1 : 3));
    Result<engine::GenerationRequest> made = requestFromArgs(args, report);
    if (!made) {
        report.note(made.error());
        return 2;
    }
    engine::GenerationRequest request = *made;
    request.vramBudget = budget;

    // The planner's lessons (plan-memory.json) start empty, so that each budget's figures do not
    // depend on what earlier runs on this machine taught it; --keep-plan-memory uses the user's.
    std::unique_ptr<QTemporaryDir> state;
    if (!report.options().extra.contains(QStringLiteral("--keep-plan-memory"))) {
        state = std::make_unique<QTemporaryDir>();
        qputenv("XDG_STATE_HOME", QFile::encodeName(state->path()));
    }

    // --cuda-graphs on|off and --cleanup on|off (defaults: the engine's): with cleanup on, the
    // denoiser's graphs are released after every image and captured again with the next one.
    const std::optional<bool> graphs = args.onOff(QStringLiteral("--cuda-graphs"), true, report);
    const std::optional<bool> cleanup = args.onOff(QStringLiteral("--cleanup"), true, report);
    if (!graphs || !cleanup)
        return 2;
    engine::GpuPolicy policy; // the engine's defaults: cleanup after each image, no unload
    policy.vramBudget = budget;
    policy.idleUnloadMinutes = 0;
    policy.cudaGraphs = *graphs;
    policy.cleanupAfterGeneration = *cleanup;
    const bool cuda = gpu::cudaAvailable() && request.device != QLatin1String("cpu");
    const int device = cudaIndex(request.device);
    MemorySampler sampler(device);
    report.set(QStringLiteral("budget"), budget);
    report.set(QStringLiteral("runs"), runs);
    report.set(QStringLiteral("cuda"), cuda);
    report.set(QStringLiteral("memorySource"), sampler.source());
    report.set(QStringLiteral("baselineDeviceUsedBytes"), bytesJson(sampler.baselineDeviceUsedBytes()));
    report.set(QStringLiteral("policy"),
               QJsonObject{{QStringLiteral("cleanupAfterGeneration"), policy.cleanupAfterGeneration},
                           {QStringLiteral("cudaGraphs"), policy.cudaGraphs},
                           {QStringLiteral("unloadAfterGeneration"), policy.unloadAfterGeneration},
                           {QStringLiteral("vramReserveBytes"), double(policy.vramReserveBytes)}});

    Table& t = report.addTable(
        QStringLiteral("images"),
        QStringLiteral(
            "%1x%2, %3 steps %4, guidance %5, budget %6: the warm-up (with the load), then %7 timed")
            .arg(request.width)
            .arg(request.height)
            .arg(request.steps)
            .arg(request.sampler)
            .arg(request.guidance)
            .arg(budget)
            .arg(runs),
        {{QStringLiteral("image"), QStringLiteral("image"), 0},
         {QStringLiteral("ok"), QStringLiteral("ok"), 0},
         {QStringLiteral("seconds"), QStringLiteral("s"), 3},
         {QStringLiteral("engineSeconds"), QStringLiteral("engine s"), 3},
         {QStringLiteral("loadMs"), QStringLiteral("load (ms)"), 0},
         {QStringLiteral("encodeMs"), QStringLiteral("encode (ms)"), 0},
         {QStringLiteral("denoiseMs"), QStringLiteral("denoise (ms)"), 0},
         {QStringLiteral("decodeMs"), QStringLiteral("decode (ms)"), 0},
         {QStringLiteral("itPerSec"), QStringLiteral("it/s"), 2},
         {QStringLiteral("peakDeviceMiB"), QStringLiteral("peak device (MiB)"), 0},
         {QStringLiteral("peakReservedMiB"), QStringLiteral("peak reserved (MiB)"), 0},
         {QStringLiteral("peakAllocatedMiB"), QStringLiteral("peak allocated (MiB)"), 0},
         {QStringLiteral("budgetMiB"), QStringLiteral("budget (MiB)"), 0},
         {QStringLiteral("withinBudget"), QStringLiteral("device <= budget"), 0},
         {QStringLiteral("reservedWithinBudget"), QStringLiteral("reserved <= budget"), 0},
         {QStringLiteral("retried"), QStringLiteral("OOM retry"), 0},
         {QStringLiteral("plan"), QStringLiteral("plan"), 0},
         {QStringLiteral("error"), QStringLiteral("error"), 0}});

    EngineRunner runner(policy);
    std::vector<double> seconds, engineSeconds, itPerSec;
    qint64 maxDevice = -1, maxReserved = -1, maxAllocated = -1, budgetBytes = -1, predictedBytes = -1;
    bool allWithin = true, allReservedWithin = true, anyWithin = false;
    int failures = 0, ooms = 0, retries = 0;
    QJsonObject lastPlan, lastPlanned;
    QJsonArray peaksJson;
    for (int i = 0; i <= runs; ++i) {
        const bool warmUp = i == 0;
        engine::GenerationRequest r = request;
        r.id = 0;
        sampler.take(); // a new window, and the allocator's peaks reset
        const EngineRun run = runner.run(r);
        const MemoryPeaks peaks = sampler.take();
        const engine::Timings& tm = run.result.timings;
        const QJsonObject& plan = run.result.plan.isEmpty() ? run.planned : run.result.plan;
        const qint64 budgetNow = plan.contains(QStringLiteral("budgetBytes"))
                                     ? qint64(plan.value(QStringLiteral("budgetBytes")).toDouble())
                                     : -1;
        const QString planText = !plan.isEmpty() ? plan.value(QStringLiteral("description")).toString()
                                 : !cuda         ? QStringLiteral("none (no CUDA)")
                                 : budget.compare(QLatin1String("all"), Qt::CaseInsensitive) == 0
                                     ? QStringLiteral("none (budget all: everything resident)")
                                     : QStringLiteral("none");
        const bool retried = run.plans > 1;
        if (!run.ok) {
            ++failures;
            report.note(QStringLiteral("%1: %2").arg(warmUp ? QStringLiteral("warm-up") : QString::number(i),
                                                     run.error));
        }
        ooms += run.outOfMemory ? 1 : 0;
        retries += retried ? 1 : 0;
        for (const QString& w : run.warnings)
            report.note(QStringLiteral("warning: %1").arg(w));
        for (const QString& n : run.result.notes)
            report.note(
                QStringLiteral("%1: %2").arg(warmUp ? QStringLiteral("warm-up") : QString::number(i), n));
        t.addRow({warmUp ? QStringLiteral("warm-up") : QString::number(i), run.ok, run.wallMs / 1000.0,
                  run.ok ? QVariant(tm.totalMs / 1000.0) : QVariant(),
                  run.ok ? QVariant(tm.loadMs) : QVariant(), run.ok ? QVariant(tm.encodeMs) : QVariant(),
                  run.ok ? QVariant(tm.denoiseMs) : QVariant(), run.ok ? QVariant(tm.decodeMs) : QVariant(),
                  run.ok ? QVariant(tm.itPerSec) : QVariant(), mibCell(peaks.peakDeviceBytes),
                  mibCell(peaks.reservedBytes), mibCell(peaks.allocatedBytes), mibCell(budgetNow),
                  withinCell(peaks.peakDeviceBytes, budgetNow), withinCell(peaks.reservedBytes, budgetNow),
                  retried, planText, run.ok ? QVariant() : QVariant(run.error)});
        peaksJson.append(QJsonObject{
            {QStringLiteral("image"), warmUp ? QJsonValue(QStringLiteral("warm-up")) : QJsonValue(i)},
            {QStringLiteral("peakDeviceBytes"), bytesJson(peaks.peakDeviceBytes)},
            {QStringLiteral("peakProcessBytes"), bytesJson(peaks.processBytes)},
            {QStringLiteral("peakDeviceUsedBytes"), bytesJson(peaks.deviceUsedBytes)},
            {QStringLiteral("minFreeBytes"), bytesJson(peaks.minFreeBytes)},
            {QStringLiteral("peakReservedBytes"), bytesJson(peaks.reservedBytes)},
            {QStringLiteral("peakAllocatedBytes"), bytesJson(peaks.allocatedBytes)},
            {QStringLiteral("budgetBytes"), bytesJson(budgetNow)},
            {QStringLiteral("samples"), peaks.samples},
            {QStringLiteral("source"), peaks.source},
            {QStringLiteral("plan"), plan}});
        if (warmUp) {
            report.set(QStringLiteral("firstImageS"), run.wallMs / 1000.0);
            report.set(QStringLiteral("loadMs"), run.ok ? QJsonValue(tm.loadMs) : QJsonValue());
            report.set(QStringLiteral("device"), run.result.device);
            // What this process holds outside the caching allocator (CUDA context, library
            // workspaces): the part of its device use that no budget governs.
            const MemoryNow now = sampler.now();
            const qint64 ours = now.processBytes >= 0 ? now.processBytes
                                : now.deviceUsedBytes >= 0 && sampler.baselineDeviceUsedBytes() >= 0
                                    ? now.deviceUsedBytes - sampler.baselineDeviceUsedBytes()
                                    : -1;
            report.set(QStringLiteral("outsideAllocatorBytes"),
                       bytesJson(ours >= 0 && now.reservedBytes >= 0 ? ours - now.reservedBytes : -1));
            if (!run.ok)
                break; // the timed runs would fail the same way
            continue;
        }
        if (!run.ok) {
            allWithin = allReservedWithin = false;
            continue;
        }
        seconds.push_back(run.wallMs / 1000.0);
        engineSeconds.push_back(tm.totalMs / 1000.0);
        itPerSec.push_back(tm.itPerSec);
        maxDevice = std::max(maxDevice, peaks.peakDeviceBytes);
        maxReserved = std::max(maxReserved, peaks.reservedBytes);
        maxAllocated = std::max(maxAllocated, peaks.allocatedBytes);
        if (budgetNow >= 0) {
            budgetBytes = budgetNow;
            predictedBytes = qint64(plan.value(QStringLiteral("predictedPeakBytes")).toDouble(-1));
            anyWithin = true;
            allWithin = allWithin && peaks.peakDeviceBytes >= 0 && peaks.peakDeviceBytes <= budgetNow;
            allReservedWithin =
                allReservedWithin && peaks.reservedBytes >= 0 && peaks.reservedBytes <= budgetNow;
        }
        lastPlan = run.result.plan;
        lastPlanned = run.planned;
    }

    report.set(QStringLiteral("secondsPerImage"),
               seconds.empty() ? QJsonValue() : QJsonValue(median(seconds)));
    report.set(QStringLiteral("minSecondsPerImage"),
               seconds.empty() ? QJsonValue()
                               : QJsonValue(*std::min_element(seconds.begin(), seconds.end())));
    report.set(QStringLiteral("engineSecondsPerImage"),
               engineSeconds.empty() ? QJsonValue() : QJsonValue(median(engineSeconds)));
    report.set(QStringLiteral("itPerSec"), itPerSec.empty() ? QJsonValue() : QJsonValue(median(itPerSec)));
    report.set(QStringLiteral("budgetBytes"), bytesJson(budgetBytes));
    report.set(QStringLiteral("predictedPeakBytes"), bytesJson(predictedBytes));
    report.set(QStringLiteral("peakDeviceBytes"), bytesJson(maxDevice));
    report.set(QStringLiteral("peakReservedBytes"), bytesJson(maxReserved));
    report.set(QStringLiteral("peakAllocatedBytes"), bytesJson(maxAllocated));
    report.set(QStringLiteral("withinBudget"),
               anyWithin && !seconds.empty() ? QJsonValue(allWithin) : QJsonValue());
    report.set(QStringLiteral("reservedWithinBudget"),
               anyWithin && !seconds.empty() ? QJsonValue(allReservedWithin) : QJsonValue());
    report.set(QStringLiteral("failures"), failures);
    report.set(QStringLiteral("outOfMemory"), ooms);
    report.set(QStringLiteral("oomRetries"), retries);
    report.set(QStringLiteral("plan"), lastPlan.isEmpty() ? QJsonValue() : QJsonValue(lastPlan));
    report.set(QStringLiteral("planned"), lastPlanned.isEmpty() ? QJsonValue() : QJsonValue(lastPlanned));
    report.set(QStringLiteral("peaks"), peaksJson);
    if (!lastPlanned.isEmpty())
        report.note(QStringLiteral("budget: %1")
                        .arg(lastPlanned.value(QStringLiteral("budgetExplanation")).toString()));
    if (!seconds.empty())
        report.note(
            QStringLiteral("%1 s/image (median of %2, min %3), %4 it/s; first image %5 s (load %6 ms)")
                .arg(median(seconds), 0, 'f', 3)
                .arg(seconds.size())
                .arg(*std::min_element(seconds.begin(), seconds.end()), 0, 'f', 3)
                .arg(median(itPerSec), 0, 'f', 2)
                .arg(report.value(QStringLiteral("firstImageS")).toDouble(), 0, 'f', 2)
                .arg(report.value(QStringLiteral("loadMs")).toDouble(), 0, 'f', 0));
    report.note(
        QStringLiteral("peak device = this process on the GPU (%1), CUDA context included; the budget "
                       "covers the caching allocator (reserved) only")
            .arg(sampler.source()));
    return failures == 0 ? 0 : 1;
}

} // namespace

TP_BENCH_SCENARIO(
    "budget",
    "the engine within a VRAM budget: s/image, plan, peak device use (--model DIR --budget SIZE|all)",
    runBudget);

} // namespace tp::bench
