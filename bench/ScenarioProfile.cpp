// profile (issue 17): where one image's time goes, per ATen operator, in a fresh process.
//  1. the model's load, the --warm-up if any, then the first image of the process (what a user's first
//  generation pays once:
//     lazily loaded kernels, library handles, per-shape set-up), timed per operator on the host;
//  2. a steady image the same way: first minus steady per operator is the one-time cost, by operator;
//  3. a steady image with the device synchronized after every operator (CUDA graphs off): each
//     operator's kernel time, i.e. where the GPU's time goes;
//  4. the wall time of a steady image with graphs on and off, and the host's time inside operators of
//     the eager one: when that is close to its wall time, the image is bound by launches, not kernels.
// Operators are counted at their outermost call (OpTimer). The recording itself costs ~1 µs a call.
#include "bench/BenchGeneration.h"
#include "bench/OpTimer.h"

#include <QJsonArray>
#include <QJsonObject>

#include <algorithm>
#include <exception>
#include <map>

namespace tp::bench {
namespace {

struct ProfiledRun {
    GenerationRun run;
    std::vector<OpStat> ops;
};

ProfiledRun profiled(BenchModel& model, OpTimer::Mode mode, int width, int height, int steps, int batch,
                     double guidance, const QString& sampler) {
    ProfiledRun p;
    OpTimer timer(mode);
    p.run = model.generate(width, height, steps, batch, 1234, guidance, sampler);
    p.ops = timer.stop();
    return p;
}

QJsonArray opsJson(const std::vector<OpStat>& ops, int top) {
    QJsonArray a;
    for (int i = 0; i < std::min<int>(top, int(ops.size())); ++i)
        a.append(QJsonObject{{QStringLiteral("op"), QString::fromStdString(ops[i].name)},
                             {QStringLiteral("calls"), double(ops[i].calls)},
                             {QStringLiteral("ms"), ops[i].ms},
                             {QStringLiteral("maxMs"), ops[i].maxMs}});
    return a;
}

int runProfile(Report& report) {
    const Args args(report.options());
    const bool quick = report.options().quick;
    const QString folder = requireModel(args, report);
    if (folder.isEmpty())
        return 2;
    const int steps = args.integer(QStringLiteral("--steps"), quick ? 2 : 20);
    const int batch = std::max(1, args.integer(QStringLiteral("--batch"), 1));
    const int top = std::max(1, args.integer(QStringLiteral("--top"), 15));
    const double guidance = args.value(QStringLiteral("--guidance"), QStringLiteral("7.5")).toDouble();
    const QString sampler = args.value(QStringLiteral("--sampler"), QStringLiteral("euler"));
    // --cuda-graphs on|off: how the first and the steady image run (the app's default: on).
    const std::optional<bool> graphs = args.onOff(QStringLiteral("--cuda-graphs"), true, report);
    if (!graphs)
        return 2;

    // --warm-up off|device|model: before the first image, nothing (the default), pipeline::warmUpDevice(),
    // or a one-step image of the same size (issue 17.3: what each takes off the first image).
    const QString warmUp = args.value(QStringLiteral("--warm-up"), QStringLiteral("off")).toLower();
    if (warmUp != QLatin1String("off") && warmUp != QLatin1String("device") &&
        warmUp != QLatin1String("model")) {
        report.note(QStringLiteral("--warm-up takes off, device or model, not '%1'.").arg(warmUp));
        return 2;
    }
    std::unique_ptr<BenchModel> model = loadFromArgs(args, folder, report);
    if (!model)
        return 1;
    const int size = args.integer(QStringLiteral("--size"), quick ? 64 : model->nativeSize());
    const int width = args.integer(QStringLiteral("--width"), size);
    const int height = args.integer(QStringLiteral("--height"), size);
    model->setCudaGraphs(*graphs);
    report.set(QStringLiteral("cudaGraphs"), *graphs);
    report.set(QStringLiteral("warmUp"), warmUp);
    report.set(QStringLiteral("loadS"), model->loadMs() / 1000.0);
    report.note(QStringLiteral("%1x%2, batch %3, %4 steps %5, guidance %6, CUDA graphs %7; load %8 s")
                    .arg(width)
                    .arg(height)
                    .arg(batch)
                    .arg(steps)
                    .arg(sampler)
                    .arg(guidance)
                    .arg(*graphs ? QStringLiteral("on") : QStringLiteral("off"))
                    .arg(model->loadMs() / 1000.0, 0, 'f', 2));

    Table& images = report.addTable(QStringLiteral("images"),
                                    QStringLiteral("Images (host time in operators: their outermost calls)"),
                                    {{QStringLiteral("image"), QStringLiteral("image"), 0},
                                     {QStringLiteral("seconds"), QStringLiteral("s"), 3},
                                     {QStringLiteral("encodeMs"), QStringLiteral("encode (ms)"), 1},
                                     {QStringLiteral("firstStepMs"), QStringLiteral("first step (ms)"), 1},
                                     {QStringLiteral("denoiseMs"), QStringLiteral("denoise (ms)"), 1},
                                     {QStringLiteral("decodeMs"), QStringLiteral("decode (ms)"), 1},
                                     {QStringLiteral("opCalls"), QStringLiteral("op calls"), 0},
                                     {QStringLiteral("opHostMs"), QStringLiteral("in ops (ms)"), 1},
                                     {QStringLiteral("eagerReason"), QStringLiteral("eager because"), 0}});
    auto addImage = [&](const QString& name, const ProfiledRun& p) {
        images.addRow({name, p.run.totalMs / 1000.0, p.run.encodeMs, p.run.firstStepMs, p.run.denoiseMs,
                       p.run.decodeMs, qint64(totalCalls(p.ops)), totalMs(p.ops),
                       p.run.eagerReason.isEmpty() ? QStringLiteral("-") : p.run.eagerReason});
    };

    ProfiledRun first, steady, eager, synced;
    double eagerS = -1, graphS = -1;
    try {
        if (warmUp != QLatin1String("off")) {
            const auto t0 = Clock::now();
            if (warmUp == QLatin1String("device"))
                (void)model->warmUpDevice();
            else
                (void)model->generate(width, height, 1, batch, 1234, guidance, sampler);
            const double s = msSince(t0) / 1000.0;
            report.set(QStringLiteral("warmUpS"), s);
            report.note(QStringLiteral("warm-up (%1): %2 s").arg(warmUp).arg(s, 0, 'f', 3));
        }
        first = profiled(*model, OpTimer::Mode::Host, width, height, steps, batch, guidance, sampler);
        addImage(QStringLiteral("first"), first);
        (void)model->generate(width, height, steps, batch, 1234, guidance, sampler); // settles the allocator
        steady = profiled(*model, OpTimer::Mode::Host, width, height, steps, batch, guidance, sampler);
        addImage(QStringLiteral("steady"), steady);
        // A graph replay's plain wall time (not timed by operator: it has none to time), then an eager image.
        model->setCudaGraphs(true);
        (void)model->generate(width, height, steps, batch, 1234, guidance, sampler);
        graphS = model->generate(width, height, steps, batch, 1234, guidance, sampler).totalMs / 1000.0;
        model->setCudaGraphs(false);
        eager = profiled(*model, OpTimer::Mode::Host, width, height, steps, batch, guidance, sampler);
        addImage(QStringLiteral("eager"), eager);
        eagerS = eager.run.totalMs / 1000.0;
        if (model->cuda()) {
            synced =
                profiled(*model, OpTimer::Mode::SyncDevice, width, height, steps, batch, guidance, sampler);
            addImage(QStringLiteral("synchronized"), synced);
        }
    } catch (const std::exception& e) {
        report.note(QStringLiteral("Generation failed: %1").arg(QString::fromUtf8(e.what())));
        return 1;
    }

    const double firstS = first.run.totalMs / 1000.0, steadyS = steady.run.totalMs / 1000.0;
    report.set(QStringLiteral("firstImageS"), firstS);
    report.set(QStringLiteral("steadyImageS"), steadyS);
    report.set(QStringLiteral("firstOverSteady"), steadyS > 0 ? firstS / steadyS : QJsonValue());
    report.set(QStringLiteral("graphsS"), graphS);
    report.set(QStringLiteral("eagerS"), eagerS);
    report.note(QStringLiteral("first image %1 s, steady %2 s (%3x); steady with graphs %4 s, eager %5 s")
                    .arg(firstS, 0, 'f', 3)
                    .arg(steadyS, 0, 'f', 3)
                    .arg(steadyS > 0 ? firstS / steadyS : 0, 0, 'f', 2)
                    .arg(graphS, 0, 'f', 3)
                    .arg(eagerS, 0, 'f', 3));

    // One-time costs: the first image's host time per operator minus the steady image's.
    Table& once = report.addTable(QStringLiteral("oneTime"),
                                  QStringLiteral("What the first image pays once, by operator (host time)"),
                                  {{QStringLiteral("op"), QStringLiteral("operator"), 0},
                                   {QStringLiteral("calls"), QStringLiteral("calls"), 0},
                                   {QStringLiteral("firstMs"), QStringLiteral("first (ms)"), 1},
                                   {QStringLiteral("steadyMs"), QStringLiteral("steady (ms)"), 1},
                                   {QStringLiteral("extraMs"), QStringLiteral("extra (ms)"), 1},
                                   {QStringLiteral("longestMs"), QStringLiteral("longest call (ms)"), 1}});
    struct OneTime {
        OpStat first;
        double steadyMs = 0;
        double extraMs() const { return first.ms - steadyMs; }
    };
    std::vector<OneTime> extra;
    for (const OpStat& s : first.ops)
        extra.push_back({s, find(steady.ops, s.name).ms});
    std::sort(extra.begin(), extra.end(),
              [](const OneTime& a, const OneTime& b) { return a.extraMs() > b.extraMs(); });
    double extraSum = 0;
    for (const OneTime& e : extra)
        extraSum += std::max(0.0, e.extraMs());
    for (int i = 0; i < std::min<int>(top, int(extra.size())); ++i) {
        const OneTime& e = extra[i];
        once.addRow({QString::fromStdString(e.first.name), qint64(e.first.calls), e.first.ms, e.steadyMs,
                     e.extraMs(), e.first.maxMs});
    }
    report.set(QStringLiteral("oneTimeInOpsMs"), extraSum);
    report.set(QStringLiteral("oneTimeOutsideOpsMs"),
               (first.run.totalMs - totalMs(first.ops)) - (steady.run.totalMs - totalMs(steady.ops)));

    // Launch- or kernel-bound: the eager image's host time in operators against its wall time.
    report.set(QStringLiteral("eagerHostInOpsShare"),
               eager.run.totalMs > 0 ? totalMs(eager.ops) / eager.run.totalMs : 0);
    report.set(QStringLiteral("eagerOpCallsPerImage"), double(totalCalls(eager.ops)));

    if (!synced.ops.empty()) {
        Table& gpu = report.addTable(
            QStringLiteral("deviceTime"),
            QStringLiteral("Where the GPU's time goes: each operator with the device synchronized after it"),
            {{QStringLiteral("op"), QStringLiteral("operator"), 0},
             {QStringLiteral("calls"), QStringLiteral("calls"), 0},
             {QStringLiteral("ms"), QStringLiteral("ms"), 1},
             {QStringLiteral("share"), QStringLiteral("share (%)"), 1},
             {QStringLiteral("usPerCall"), QStringLiteral("µs a call"), 1}});
        const double total = totalMs(synced.ops);
        for (int i = 0; i < std::min<int>(top, int(synced.ops.size())); ++i) {
            const OpStat& s = synced.ops[i];
            gpu.addRow({QString::fromStdString(s.name), qint64(s.calls), s.ms,
                        total > 0 ? 100.0 * s.ms / total : 0.0,
                        s.calls > 0 ? 1000.0 * s.ms / double(s.calls) : 0.0});
        }
        report.set(QStringLiteral("synchronizedOpsMs"), total);
    }
    report.set(QStringLiteral("firstImageTop"), opsJson(first.ops, top));
    return 0;
}

} // namespace

TP_BENCH_SCENARIO("profile",
                  "where one image's time goes: first image vs steady, per operator, host and device "
                  "(--model DIR)",
                  runProfile);

} // namespace tp::bench
