// memory-cycle: the original app's expected-behaviour table, measured for each policy ("neither"
// is the original before its fix): device memory before load, after load, at the peak of a
// generation, after it, after cleanup, after unload and reload, and a few seconds later.
// co-tenant: after each generation a second process (twistedpic-vram-hog) takes all the device
// memory it can, as an LLM server loading then would; how much it gets under each policy.
#include "bench/BenchGeneration.h"
#include "core/engine/MemoryCycle.h"
#include "core/gpu/GpuMemory.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>

namespace tp::bench {
namespace {

struct Policy {
    QString name;
    bool cleanup;
    bool unload;
};
const Policy kPolicies[] = {{QStringLiteral("neither"), false, false},
                            {QStringLiteral("cleanup"), true, false},
                            {QStringLiteral("cleanup + unload"), true, true}};

QVariant mib(qint64 bytes) {
    return bytes >= 0 ? QVariant(bytes / MiB) : QVariant();
}

int runMemoryCycle(Report& report) {
    const Args args(report.options());
    const bool quick = report.options().quick;
    const QString folder = requireModel(args, report);
    if (folder.isEmpty())
        return 2;
    Table& t =
        report.addTable(QStringLiteral("cycle"), QStringLiteral("Memory through one generation, per policy"),
                        {{QStringLiteral("policy"), QStringLiteral("policy"), 0},
                         {QStringLiteral("step"), QStringLiteral("step"), 0},
                         {QStringLiteral("deviceUsedMiB"), QStringLiteral("device used (MiB)"), 0},
                         {QStringLiteral("allocatedMiB"), QStringLiteral("allocated (MiB)"), 0},
                         {QStringLiteral("reservedMiB"), QStringLiteral("reserved (MiB)"), 0},
                         {QStringLiteral("ms"), QStringLiteral("took (ms)"), 1}});
    for (const Policy& policy : kPolicies) {
        engine::MemoryCycleOptions o;
        o.modelFolder = folder;
        o.device = args.value(QStringLiteral("--device"), QStringLiteral("auto"));
        o.steps = args.integer(QStringLiteral("--steps"), quick ? 2 : 20);
        o.width = o.height = args.integer(QStringLiteral("--size"), quick ? 64 : 512);
        o.cleanup = policy.cleanup;
        o.unload = policy.unload;
        o.settleSeconds = quick ? 0 : 5;
        auto r = engine::runMemoryCycle(o, [&](const engine::MemoryCycleRow& row) {
            const gpu::MemorySnapshot& m = row.memory;
            const bool peak = row.label.startsWith(QLatin1String("peak"));
            t.addRow({policy.name, row.label, m.cuda ? mib(m.deviceUsedBytes) : QVariant(),
                      m.cuda ? mib(peak ? m.peakAllocatedBytes : m.allocatedBytes) : QVariant(),
                      m.cuda && !peak ? mib(m.reservedBytes) : QVariant(), row.milliseconds});
        });
        if (!r) {
            report.note(r.error());
            return 1;
        }
        report.set(QStringLiteral("device"), r->device);
        report.set(QStringLiteral("weightsMiB"), r->weightBytes / MiB);
        gpu::MemoryManager(0).cleanup(); // the next policy starts from an empty cache
    }
    report.note(QStringLiteral("'peak during generation' shows the allocator's peak of live tensors in the "
                               "allocated column"));
    return 0;
}

struct HogResult {
    bool ran = false;
    qint64 total = -1, freeAfterContext = -1, got = -1;
    QString error;
};

HogResult runHog(int device, qint64 want) {
    HogResult h;
    const QString exe =
        QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("twistedpic-vram-hog"));
    if (!QFileInfo::exists(exe)) {
        h.error = QStringLiteral("twistedpic-vram-hog is not built (it needs a CUDA build)");
        return h;
    }
    QProcess p;
    p.start(exe, {QStringLiteral("--device"), QString::number(device), QStringLiteral("--want"),
                  QString::number(want)});
    if (!p.waitForFinished(120000)) {
        h.error = QStringLiteral("twistedpic-vram-hog did not finish: %1").arg(p.errorString());
        return h;
    }
    const QJsonObject o = QJsonDocument::fromJson(p.readAllStandardOutput().trimmed()).object();
    if (p.exitCode() != 0 || !o.contains(QStringLiteral("got"))) {
        h.error = QStringLiteral("twistedpic-vram-hog: %1").arg(o.value(QStringLiteral("error")).toString());
        return h;
    }
    h.ran = true;
    h.total = qint64(o.value(QStringLiteral("total")).toDouble());
    h.freeAfterContext = qint64(o.value(QStringLiteral("freeAfterContext")).toDouble());
    h.got = qint64(o.value(QStringLiteral("got")).toDouble());
    return h;
}

int runCoTenant(Report& report) {
    const Args args(report.options());
    const bool quick = report.options().quick;
    const QString folder = requireModel(args, report);
    if (folder.isEmpty())
        return 2;
    const int generations = args.integer(QStringLiteral("--generations"), quick ? 1 : 3);
    const int steps = args.integer(QStringLiteral("--steps"), quick ? 2 : 20);
    const qint64 llmBytes =
        qint64(args.value(QStringLiteral("--llm-gib"), QStringLiteral("0")).toDouble() * GiB);
    constexpr qint64 slack = 256LL << 20;
    Table& t = report.addTable(
        QStringLiteral("cotenant"),
        QStringLiteral("What a second process can allocate after each generation"),
        {{QStringLiteral("policy"), QStringLiteral("policy"), 0},
         {QStringLiteral("generation"), QStringLiteral("#"), 0},
         {QStringLiteral("gotGiB"), QStringLiteral("stand-in got (GiB)"), 2},
         {QStringLiteral("requiredGiB"), QStringLiteral("required (GiB)"), 2},
         {QStringLiteral("meets"), QStringLiteral("meets"), 0},
         {QStringLiteral("ourReservedMiB"), QStringLiteral("our reserved (MiB)"), 0},
         {QStringLiteral("ourContextMiB"), QStringLiteral("our context (MiB)"), 0},
         {QStringLiteral("standInContextMiB"), QStringLiteral("stand-in context (MiB)"), 0},
         {QStringLiteral("llmFits"),
          llmBytes > 0 ? QStringLiteral("%1 GiB LLM fits").arg(llmBytes / GiB) : QStringLiteral("LLM fits"),
          0}});
    bool allMet = true;
    for (const Policy& policy : kPolicies) {
        const std::unique_ptr<BenchModel> model = loadFromArgs(args, folder, report);
        if (!model)
            return 1;
        report.set(QStringLiteral("weightsMiB"), model->weightBytes() / MiB);
        const int size =
            args.integer(QStringLiteral("--size"), quick || !model->cuda() ? model->nativeSize() : 512);
        gpu::MemoryManager memory(model->cudaDevice());
        bool unloaded = false;
        for (int i = 1; i <= generations; ++i) {
            if (unloaded)
                model->reload();
            model->generate(size, steps, 1, quint64(i));
            if (policy.cleanup)
                model->cleanup();
            if (policy.unload) {
                model->unload();
                unloaded = true;
            }
            const gpu::MemorySnapshot s = memory.snapshot();
            const HogResult h = s.cuda ? runHog(model->cudaDevice(), 0) : HogResult{};
            if (!h.ran) {
                if (i == 1)
                    report.note(s.cuda ? h.error : QStringLiteral("No CUDA: the stand-in cannot run; n/a."));
                t.addRow({policy.name, i, QVariant(), QVariant(), QVariant(),
                          mib(s.cuda ? s.reservedBytes : -1), QVariant(), QVariant(), QVariant()});
                continue;
            }
            // What we hold outside the allocator (CUDA context, library workspaces), and what the
            // stand-in's own context took of the memory that was free when it started.
            const qint64 ourContext = s.deviceUsedBytes - s.reservedBytes;
            const qint64 standInContext = (s.deviceTotalBytes - s.deviceUsedBytes) - h.freeAfterContext;
            QVariant required, meets;
            if (policy.cleanup) {
                qint64 need = h.total - ourContext - standInContext - slack;
                if (!policy.unload)
                    need -= model->weightBytes();
                required = need / GiB;
                meets = h.got >= need ? QStringLiteral("yes") : QStringLiteral("NO");
                allMet = allMet && h.got >= need;
            }
            const QVariant fits =
                llmBytes > 0 ? QVariant(h.got >= llmBytes ? QStringLiteral("yes") : QStringLiteral("no"))
                             : QVariant();
            t.addRow({policy.name, i, h.got / GiB, required, meets, mib(s.reservedBytes), mib(ourContext),
                      mib(standInContext), fits});
            report.set(QStringLiteral("deviceTotalMiB"), h.total / MiB);
        }
    }
    report.set(QStringLiteral("requirementsMet"), allMet);
    report.note(
        QStringLiteral("required: total - both CUDA contexts - 256 MiB, minus the weights unless unloaded"));
    return 0;
}

} // namespace

TP_BENCH_SCENARIO("memory-cycle", "the original's expected-behaviour table, per policy (--model DIR)",
                  runMemoryCycle);
TP_BENCH_SCENARIO("co-tenant",
                  "what an LLM server loading after each image can get, per policy (--model DIR)",
                  runCoTenant);

} // namespace tp::bench
