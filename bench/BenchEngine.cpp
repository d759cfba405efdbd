#include "bench/BenchEngine.h"

#include "bench/BenchGeneration.h"
#include "core/common/Paths.h"
#include "core/gpu/GpuMemory.h"
#include "core/gpu/NvmlSource.h"
#include "core/io/ModelCatalogue.h"

#include <QElapsedTimer>
#include <QEventLoop>
#include <QVariant>

#include <algorithm>
#include <chrono>

#if TWISTEDPIC_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/util/Exception.h>
#endif

namespace tp::bench {

namespace {
// The prompt diffusers_bench.py uses: both sides encode the same text.
const char* const kPrompt = "a photograph of an astronaut riding a horse on the moon, detailed, 8k";
} // namespace

// ---- EngineRunner ----------------------------------------------------------------------------

EngineRunner::EngineRunner(const engine::GpuPolicy& policy)
    : m_engine(std::make_unique<engine::Engine>()) {
    m_engine->setPolicy(policy);
    m_engine->setModelSources({}, paths::bundledModelDirs());
}

EngineRunner::~EngineRunner() = default;

EngineRun EngineRunner::run(engine::GenerationRequest request) {
    using engine::Engine;
    EngineRun out;
    if (request.id == 0)
        request.id = m_engine->reserveId();
    const quint64 id = request.id;
    QEventLoop loop;
    QObject::connect(m_engine.get(), &Engine::planned, &loop, [&](quint64 planId, const QJsonObject& plan) {
        if (planId == id) {
            out.planned = plan;
            ++out.plans;
        }
    });
    QObject::connect(m_engine.get(), &Engine::memoryEvent, &loop, [&](const engine::MemoryEvent& e) {
        if (e.kind == engine::MemoryEvent::Kind::OutOfMemory)
            out.outOfMemory = true;
    });
    QObject::connect(m_engine.get(), &Engine::finished, &loop, [&](const engine::GenerationResult& r) {
        if (r.request.id != id)
            return;
        out.ok = true;
        out.result = r;
        loop.quit();
    });
    QObject::connect(m_engine.get(), &Engine::failed, &loop, [&](quint64 failedId, const QString& message) {
        if (failedId == 0) { // not the generation itself (e.g. the after-generation cleanup)
            out.warnings << message;
            return;
        }
        if (failedId != id)
            return;
        out.error = message;
        loop.quit();
    });
    QObject::connect(m_engine.get(), &Engine::cancelled, &loop, [&](quint64 cancelledId) {
        if (cancelledId != id)
            return;
        out.error = QStringLiteral("cancelled");
        loop.quit();
    });
    QElapsedTimer t;
    t.start();
    m_engine->submit(request);
    loop.exec();
    out.wallMs = double(t.nsecsElapsed()) / 1e6;
    return out;
}

Result<engine::GenerationRequest> requestFromArgs(const Args& args, Report& report) {
    using R = Result<engine::GenerationRequest>;
    const bool quick = report.options().quick;
    const QString folder = requireModel(args, report);
    if (folder.isEmpty())
        return R::fail(QStringLiteral("no model"));
    const io::ModelInfo info = io::ModelCatalogue::inspect(folder, QStringLiteral("folder"));
    if (!info.supported)
        return R::fail(QStringLiteral("%1: %2").arg(folder, info.problem));
    const io::GenerationDefaults& d = info.defaults;
    engine::GenerationRequest r;
    r.model = info.folder;
    r.prompt = QString::fromLatin1(kPrompt);
    r.sampler = args.value(QStringLiteral("--sampler"), d.sampler);
    r.steps = args.integer(QStringLiteral("--steps"), quick ? 2 : d.steps);
    bool ok = false;
    r.guidance = args.value(QStringLiteral("--guidance")).toDouble(&ok);
    if (!ok)
        r.guidance = d.guidance;
    const int native = info.nativeSize > 0 ? info.nativeSize : d.width;
    r.width = args.integer(QStringLiteral("--width"), quick ? native : d.width);
    r.height = args.integer(QStringLiteral("--height"), quick ? native : d.height);
    r.seed = args.value(QStringLiteral("--seed"), QStringLiteral("1")).toLongLong();
    r.count = 1;
    r.device = args.value(QStringLiteral("--device"), QStringLiteral("auto"));
    r.precision = args.value(QStringLiteral("--precision"), QStringLiteral("auto"));
    r.preview = false;
    report.set(QStringLiteral("family"), info.family);
    report.set(QStringLiteral("settings"), QJsonObject{{QStringLiteral("width"), r.width},
                                                       {QStringLiteral("height"), r.height},
                                                       {QStringLiteral("steps"), r.steps},
                                                       {QStringLiteral("guidance"), r.guidance},
                                                       {QStringLiteral("sampler"), r.sampler},
                                                       {QStringLiteral("precision"), r.precision},
                                                       {QStringLiteral("device"), r.device},
                                                       {QStringLiteral("seed"), double(r.seed)},
                                                       {QStringLiteral("prompt"), r.prompt}});
    return R::ok(r);
}

// ---- allocator -------------------------------------------------------------------------------

AllocatorFigures allocatorFigures(int device) {
    AllocatorFigures f;
#if TWISTEDPIC_WITH_CUDA
    if (!gpu::cudaAvailable() || !gpu::cudaContextActive(device))
        return f;
    try {
        // StatType::AGGREGATE is index 0 in every libtorch version (see GpuMemory.cpp).
        const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
        f.allocatedBytes = stats.allocated_bytes[0].current;
        f.peakAllocatedBytes = stats.allocated_bytes[0].peak;
        f.reservedBytes = stats.reserved_bytes[0].current;
        f.peakReservedBytes = stats.reserved_bytes[0].peak;
    } catch (const c10::Error&) {
        f.allocatedBytes = f.reservedBytes = f.peakAllocatedBytes = f.peakReservedBytes = 0; // not started
    }
#else
    Q_UNUSED(device);
#endif
    return f;
}

QVariant mibCell(qint64 bytes) {
    return bytes >= 0 ? QVariant(bytes / MiB) : QVariant();
}

QJsonValue bytesJson(qint64 bytes) {
    return bytes >= 0 ? QJsonValue(double(bytes)) : QJsonValue();
}

// ---- MemorySampler ---------------------------------------------------------------------------

struct MemorySampler::Impl {
    std::unique_ptr<gpu::NvmlSource> nvml;
    // The window since the last take().
    MemoryPeaks peaks;
    bool processSeen = false;
    MemoryNow now;
};

namespace {
void raise(qint64& peak, qint64 v) {
    if (v >= 0 && v > peak)
        peak = v;
}
} // namespace

MemorySampler::MemorySampler(int cudaDevice, int intervalMs)
    : d(std::make_unique<Impl>())
    , m_device(cudaDevice)
    , m_intervalMs(intervalMs) {
    auto nvml = std::make_unique<gpu::NvmlSource>();
    if (nvml->isAvailable()) {
        d->nvml = std::move(nvml);
        m_source = QStringLiteral("nvml");
    } else if (gpu::cudaAvailable()) {
        m_source = QStringLiteral("cuda");
    } else {
        m_source = QStringLiteral("none");
        return; // nothing to sample
    }
    sampleOnce();
    m_baseline = d->now.deviceUsedBytes;
    if (m_source == QLatin1String("cuda") && !gpu::cudaContextActive(m_device))
        m_baseline = -1; // cudaMemGetInfo only answers once this process has a context: no baseline
    d->peaks = MemoryPeaks{};
    d->processSeen = false;
    m_thread = std::thread([this] { loop(); });
}

MemorySampler::~MemorySampler() {
    m_stop = true;
    if (m_thread.joinable())
        m_thread.join();
}

void MemorySampler::loop() {
    while (!m_stop) {
        sampleOnce();
        std::this_thread::sleep_for(std::chrono::milliseconds(m_intervalMs));
    }
}

void MemorySampler::sampleOnce() {
    MemoryNow n;
    bool selfListed = false;
    if (d->nvml) {
        const gpu::VramSample s = d->nvml->sample();
        const gpu::DeviceSample* dev = nullptr;
        for (const gpu::DeviceSample& ds : s.devices)
            if (ds.index == m_device)
                dev = &ds;
        if (!dev && !s.devices.isEmpty())
            dev = &s.devices.first();
        if (dev) {
            n.deviceUsedBytes = dev->usedBytes;
            n.deviceFreeBytes = dev->freeBytes;
            n.deviceTotalBytes = dev->totalBytes;
            if (dev->processesValid)
                for (const gpu::GpuProcess& p : dev->processes)
                    if (p.isSelf && p.usedBytes >= 0) {
                        n.processBytes = p.usedBytes;
                        selfListed = true;
                    }
        }
    } else if (gpu::cudaAvailable()) {
        const gpu::MemorySnapshot s = gpu::snapshot(m_device); // -1 until this process has a context
        n.deviceUsedBytes = s.deviceUsedBytes;
        n.deviceTotalBytes = s.deviceTotalBytes;
        if (s.deviceUsedBytes >= 0 && s.deviceTotalBytes >= 0)
            n.deviceFreeBytes = s.deviceTotalBytes - s.deviceUsedBytes;
    }
    const AllocatorFigures a = allocatorFigures(m_device);
    n.allocatedBytes = a.allocatedBytes;
    n.reservedBytes = a.reservedBytes;

    const std::lock_guard<std::mutex> lock(m_mutex);
    d->now = n;
    MemoryPeaks& p = d->peaks;
    ++p.samples;
    if (selfListed) {
        d->processSeen = true;
        raise(p.processBytes, n.processBytes);
    }
    raise(p.deviceUsedBytes, n.deviceUsedBytes);
    if (n.deviceFreeBytes >= 0 && (p.minFreeBytes < 0 || n.deviceFreeBytes < p.minFreeBytes))
        p.minFreeBytes = n.deviceFreeBytes;
    raise(p.allocatedBytes, a.peakAllocatedBytes);
    raise(p.reservedBytes, a.peakReservedBytes);
}

MemoryNow MemorySampler::now() {
    const std::lock_guard<std::mutex> lock(m_mutex);
    return d->now;
}

MemoryPeaks MemorySampler::take() {
    const AllocatorFigures a = allocatorFigures(m_device); // the last stage's peaks stand until reset
    const std::lock_guard<std::mutex> lock(m_mutex);
    MemoryPeaks p = d->peaks;
    raise(p.allocatedBytes, a.peakAllocatedBytes);
    raise(p.reservedBytes, a.peakReservedBytes);
    if (d->processSeen) {
        p.peakDeviceBytes = p.processBytes;
        p.source = QStringLiteral("nvml process");
    } else if (p.deviceUsedBytes >= 0 && m_baseline >= 0) {
        p.peakDeviceBytes = p.deviceUsedBytes - m_baseline;
        p.source = m_source + QStringLiteral(" device - baseline");
    } else if (p.deviceUsedBytes >= 0) {
        p.peakDeviceBytes = p.deviceUsedBytes;
        p.source = m_source + QStringLiteral(" device (every process)");
    } else {
        p.source = QStringLiteral("none");
    }
    d->peaks = MemoryPeaks{};
    d->processSeen = false;
    gpu::resetPeak(m_device);
    return p;
}

} // namespace tp::bench
