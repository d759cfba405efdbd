// generation: seconds per image, it/s, time to the first step, peak VRAM and load time of one
// model folder (an SD 1.5-architecture model with random weights on the GPU machine: speed and
// memory do not depend on the values), per precision, size and batch.
// soak: many generations in a row with cleanup after each; device memory and host RSS must stay flat.
// cpu: the bundled model and any other folders on the CPU, 20 steps.
#include "bench/BenchGeneration.h"
#include "core/gpu/GpuMemory.h"
#include "core/nn/Attention.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QSize>

#include <algorithm>
#include <exception>

namespace tp::bench {
namespace {

QVariant mibOrNa(qint64 bytes) {
    return bytes >= 0 ? QVariant(bytes / MiB) : QVariant();
}

// "768" or "1024x768" (width x height).
QSize parseSize(const QString& text) {
    const QStringList parts = text.split(QLatin1Char('x'));
    if (parts.size() == 2)
        return QSize(parts[0].toInt(), parts[1].toInt());
    return QSize(text.toInt(), text.toInt());
}

int runGeneration(Report& report) {
    const Args args(report.options());
    const bool quick = report.options().quick;
    const QString folder = requireModel(args, report);
    if (folder.isEmpty())
        return 2;
    const QString device = args.value(QStringLiteral("--device"), QStringLiteral("auto"));
    const int steps = args.integer(QStringLiteral("--steps"), quick ? 3 : 20);
    const QStringList batches =
        args.list(QStringLiteral("--batches"), quick ? QStringLiteral("1") : QStringLiteral("1,4"));
    const double guidance = args.value(QStringLiteral("--guidance"), QStringLiteral("7.5")).toDouble();
    const QString sampler = args.value(QStringLiteral("--sampler"), QStringLiteral("euler"));
    // --no-cold: skip the load with the page cache dropped (a minute for the 30 GB models).
    const bool noCold = report.options().extra.contains(QStringLiteral("--no-cold"));
    // --cuda-graphs on|off: the denoiser step replayed as a CUDA graph or run eagerly (issue 17).
    const std::optional<bool> graphsArg = args.onOff(QStringLiteral("--cuda-graphs"), true, report);
    if (!graphsArg)
        return 2;
    const bool cudaGraphs = *graphsArg;
    report.set(QStringLiteral("cudaGraphs"), cudaGraphs);
    // --sdpa default|flash|efficient|cudnn|math: the one attention kernel libtorch may use (issue 17).
    const QString sdpa = args.value(QStringLiteral("--sdpa"), QStringLiteral("default")).toLower();
    const std::optional<nn::FusedAttentionKernel> kernel = nn::parseFusedAttentionKernel(sdpa.toStdString());
    if (!kernel) {
        report.note(
            QStringLiteral("--sdpa takes default, flash, efficient, cudnn or math, not '%1'.").arg(sdpa));
        return 2;
    }
    if (const std::string why = nn::setFusedAttentionKernel(*kernel); !why.empty()) {
        report.note(QStringLiteral("--sdpa %1: %2").arg(sdpa, QString::fromStdString(why)));
        return 2;
    }
    report.set(QStringLiteral("sdpa"), sdpa);
    // --channels-last on|off: the denoiser's convolutions in NHWC (issue 17; off by default).
    const std::optional<bool> channelsLast = args.onOff(QStringLiteral("--channels-last"), false, report);
    if (!channelsLast)
        return 2;
    report.set(QStringLiteral("channelsLast"), *channelsLast);
    // --cudnn-benchmark on|off: cuDNN times its algorithms for each new convolution shape and keeps the
    // fastest (slower first image of a shape, maybe faster later ones; libtorch's default is off).
    const std::optional<bool> cudnnBenchmark = args.onOff(QStringLiteral("--cudnn-benchmark"), false, report);
    if (!cudnnBenchmark)
        return 2;
    at::globalContext().setBenchmarkCuDNN(*cudnnBenchmark);
    report.set(QStringLiteral("cudnnBenchmark"), *cudnnBenchmark);
    QString eagerReason; // the last run's, reported once

    Table& loads =
        report.addTable(QStringLiteral("load"), QStringLiteral("Loading the model from disk"),
                        {{QStringLiteral("precision"), QStringLiteral("precision"), 0},
                         {QStringLiteral("pageCache"), QStringLiteral("page cache"), 0},
                         {QStringLiteral("loadS"), QStringLiteral("load (s)"), 2},
                         {QStringLiteral("weightsMiB"), QStringLiteral("weights (MiB)"), 0},
                         {QStringLiteral("firstImageS"), QStringLiteral("first image after load (s)"), 2}});
    Table& runs =
        report.addTable(QStringLiteral("generation"),
                        QStringLiteral("Text to image, %1 steps %2, guidance %3, CUDA graphs %4, attention "
                                       "kernel %5 (after one warm-up run of the same shape)")
                            .arg(steps)
                            .arg(sampler)
                            .arg(guidance)
                            .arg(cudaGraphs ? QStringLiteral("on") : QStringLiteral("off"), sdpa),
                        {{QStringLiteral("precision"), QStringLiteral("precision"), 0},
                         {QStringLiteral("size"), QStringLiteral("size"), 0},
                         {QStringLiteral("batch"), QStringLiteral("batch"), 0},
                         {QStringLiteral("secondsPerImage"), QStringLiteral("s / image"), 3},
                         {QStringLiteral("itPerSec"), QStringLiteral("it/s"), 2},
                         {QStringLiteral("firstStepMs"), QStringLiteral("first step (ms)"), 1},
                         {QStringLiteral("peakAllocatedMiB"), QStringLiteral("peak allocated (MiB)"), 0},
                         {QStringLiteral("deviceUsedMiB"), QStringLiteral("device used at end (MiB)"), 0}});

    // Precisions: the GPU's half types, or float32 on the CPU.
    QStringList precisions = args.list(QStringLiteral("--precisions"), QString());
    QStringList sizes = args.list(QStringLiteral("--sizes"), QString());
    {
        // A first load finds out the device; the default precisions and sizes follow from it.
        const QString precision = precisions.isEmpty() ? QStringLiteral("auto") : precisions.first();
        auto probe = BenchModel::load(folder, device, precision);
        if (!probe) {
            report.note(probe.error());
            return 1;
        }
        if (precisions.isEmpty())
            precisions = (*probe)->cuda() ? QStringList{QStringLiteral("fp16"), QStringLiteral("bf16")}
                                          : QStringList{QStringLiteral("fp32")};
        if (sizes.isEmpty())
            sizes = quick || !(*probe)->cuda() ? QStringList{QString::number((*probe)->nativeSize())}
                                               : QStringList{QStringLiteral("512"), QStringLiteral("768")};
        report.set(QStringLiteral("device"), (*probe)->description());
    }

    for (const QString& precision : precisions) {
        // Cold: the weight files dropped from the page cache first (where the kernel lets us).
        for (const bool cold : {true, false}) {
            if ((quick || noCold) && cold)
                continue;
            const bool evicted = cold && evictFromPageCache(folder);
            auto model = BenchModel::load(folder, device, precision);
            if (!model) {
                report.note(QStringLiteral("%1: %2").arg(precision, model.error()));
                break;
            }
            (*model)->setCudaGraphs(cudaGraphs);
            if (Status s = (*model)->setChannelsLast(*channelsLast); !s) {
                report.note(QStringLiteral("%1: %2").arg(precision, s.error()));
                break;
            }
            double firstImageS = 0;
            try {
                const QSize first = parseSize(sizes.first());
                firstImageS = (*model)
                                  ->generate(first.width(), first.height(), steps, 1, 1, guidance, sampler)
                                  .totalMs /
                              1000.0;
            } catch (const std::exception& e) {
                report.note(QStringLiteral("%1: %2").arg(precision, QString::fromUtf8(e.what())));
            }
            loads.addRow({precision,
                          cold ? (evicted ? QStringLiteral("cold") : QStringLiteral("cold (not evicted)"))
                               : QStringLiteral("warm"),
                          (*model)->loadMs() / 1000.0, (*model)->weightBytes() / MiB, firstImageS});
            if (cold)
                continue;
            for (const QString& sizeText : sizes) {
                for (const QString& batchText : batches) {
                    const QSize size = parseSize(sizeText);
                    const QString sizeLabel = QStringLiteral("%1x%2").arg(size.width()).arg(size.height());
                    const int batch = batchText.toInt();
                    try {
                        // warm-up (kernels, cuDNN plans)
                        (*model)->generate(size.width(), size.height(), std::min(steps, 2), batch, 7,
                                           guidance, sampler);
                        const GenerationRun r = (*model)->generate(size.width(), size.height(), steps, batch,
                                                                   1, guidance, sampler);
                        eagerReason = r.eagerReason;
                        runs.addRow({precision, sizeLabel, batch, r.totalMs / 1000.0 / batch, r.itPerSec,
                                     r.firstStepMs, mibOrNa(r.peakAllocatedBytes),
                                     mibOrNa(r.deviceUsedBytes)});
                    } catch (const std::exception& e) {
                        report.note(QStringLiteral("%1 %2 batch %3: %4")
                                        .arg(precision, sizeLabel)
                                        .arg(batch)
                                        .arg(QString::fromUtf8(e.what()).section(QLatin1Char('\n'), 0, 0)));
                        runs.addRow({precision, sizeLabel, batch, QVariant(), QVariant(), QVariant(),
                                     QVariant(), QVariant()});
                    }
                    (*model)->cleanup();
                }
            }
        }
    }
    if (cudaGraphs && !eagerReason.isEmpty())
        report.note(QStringLiteral("The denoiser ran eagerly: %1.").arg(eagerReason));
    return 0;
}

int runSoak(Report& report) {
    const Args args(report.options());
    const bool quick = report.options().quick;
    const QString folder = requireModel(args, report);
    if (folder.isEmpty())
        return 2;
    const int count = args.integer(QStringLiteral("--count"), quick ? 3 : 100);
    const int steps = args.integer(QStringLiteral("--steps"), quick ? 2 : 20);
    const std::unique_ptr<BenchModel> model = loadFromArgs(args, folder, report);
    if (!model)
        return 1;
    const int size =
        args.integer(QStringLiteral("--size"), quick || !model->cuda() ? model->nativeSize() : 512);
    report.note(QStringLiteral("%1 generations of %2x%2, %3 steps, cleanup after each")
                    .arg(count)
                    .arg(size)
                    .arg(steps));
    Table& t = report.addTable(QStringLiteral("generations"), QStringLiteral("Memory after each cleanup"),
                               {{QStringLiteral("n"), QStringLiteral("#"), 0},
                                {QStringLiteral("seconds"), QStringLiteral("generation (s)"), 2},
                                {QStringLiteral("deviceUsedMiB"), QStringLiteral("device used (MiB)"), 1},
                                {QStringLiteral("reservedMiB"), QStringLiteral("reserved (MiB)"), 1},
                                {QStringLiteral("allocatedMiB"), QStringLiteral("allocated (MiB)"), 1},
                                {QStringLiteral("rssMiB"), QStringLiteral("host RSS (MiB)"), 1}});
    gpu::MemoryManager memory(model->cudaDevice());
    std::vector<double> used, reserved, rss;
    for (int i = 1; i <= count; ++i) {
        const GenerationRun r = model->generate(size, steps, 1, quint64(i));
        model->cleanup();
        const gpu::MemorySnapshot s = memory.snapshot();
        const qint64 resident = residentBytes();
        if (s.cuda) {
            used.push_back(s.deviceUsedBytes / MiB);
            reserved.push_back(s.reservedBytes / MiB);
        }
        rss.push_back(resident / MiB);
        t.addRow({i, r.totalMs / 1000.0, mibOrNa(s.cuda ? s.deviceUsedBytes : -1),
                  mibOrNa(s.cuda ? s.reservedBytes : -1), mibOrNa(s.cuda ? s.allocatedBytes : -1),
                  resident / MiB});
    }
    auto spread = [](const std::vector<double>& v) -> QJsonValue {
        if (v.empty())
            return QJsonValue();
        const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
        return *hi - *lo;
    };
    report.set(QStringLiteral("deviceUsedSpreadMiB"), spread(used));
    report.set(QStringLiteral("reservedSpreadMiB"), spread(reserved));
    // RSS after the first few runs (allocator and kernel caches warm up) to the end.
    const size_t from = std::min<size_t>(rss.size() - 1, 4);
    report.set(QStringLiteral("rssGrowthMiB"),
               rss.empty() ? QJsonValue() : QJsonValue(rss.back() - rss[from]));
    report.note(
        QStringLiteral(
            "device used after cleanup varies by %1 MiB; reserved by %2 MiB; RSS grew %3 MiB from run %4")
            .arg(spread(used).toDouble(-1), 0, 'f', 1)
            .arg(spread(reserved).toDouble(-1), 0, 'f', 1)
            .arg(report.value(QStringLiteral("rssGrowthMiB")).toDouble(), 0, 'f', 1)
            .arg(from + 1));
    return 0;
}

int runCpu(Report& report) {
    const Args args(report.options());
    const bool quick = report.options().quick;
    QStringList folders = args.list(QStringLiteral("--models"), QString());
    if (folders.isEmpty())
        folders << modelArgument(args, report);
    folders.removeAll(QString());
    if (folders.isEmpty()) {
        report.note(QStringLiteral("No model: pass --models A,B or install the bundled model."));
        return 2;
    }
    const int steps = args.integer(QStringLiteral("--steps"), quick ? 3 : 20);
    Table& t = report.addTable(QStringLiteral("cpu"),
                               QStringLiteral("On the CPU, float32, %1 steps Euler, guidance 7.5").arg(steps),
                               {{QStringLiteral("model"), QStringLiteral("model"), 0},
                                {QStringLiteral("size"), QStringLiteral("size"), 0},
                                {QStringLiteral("loadS"), QStringLiteral("load (s)"), 2},
                                {QStringLiteral("secondsPerImage"), QStringLiteral("s / image"), 2},
                                {QStringLiteral("itPerSec"), QStringLiteral("it/s"), 2}});
    for (const QString& folder : folders) {
        auto model = BenchModel::load(folder, QStringLiteral("cpu"), QStringLiteral("fp32"));
        if (!model) {
            report.note(model.error());
            return 1;
        }
        report.set(QStringLiteral("device"), (*model)->description());
        const int size = (*model)->nativeSize();
        (*model)->generate(size, 1, 1, 7); // warm-up
        const GenerationRun r = (*model)->generate(size, steps, 1, 1);
        t.addRow({QFileInfo(folder).fileName(), QStringLiteral("%1x%1").arg(size),
                  (*model)->loadMs() / 1000.0, r.totalMs / 1000.0, r.itPerSec});
    }
    return 0;
}

} // namespace

TP_BENCH_SCENARIO("generation", "s/image, it/s, first step, peak VRAM, load time (--model DIR)",
                  runGeneration);
TP_BENCH_SCENARIO("soak", "100 generations with cleanup: memory and RSS stay flat (--model DIR)", runSoak);
TP_BENCH_SCENARIO("cpu", "the bundled model (and --models A,B) on the CPU", runCpu);

} // namespace tp::bench
