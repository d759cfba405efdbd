#include "core/engine/EngineWorker.h"

#include "core/engine/PlanExecution.h"

#include "core/common/Bytes.h"
#include "core/common/Log.h"
#include "core/engine/ModelHash.h"
#include "core/engine/OutputWriter.h"
#include "core/io/ModelCatalogue.h"
#include "core/pipeline/ModelSource.h"
#include "core/pipeline/WarmUp.h"

#include <QDateTime>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QRandomGenerator>

#include <future>

namespace tp::engine {
namespace {

MemoryEvent makeEvent(MemoryEvent::Kind kind, const gpu::MemorySnapshot& before,
                      const gpu::MemorySnapshot& after, double ms, QString detail) {
    MemoryEvent e;
    e.kind = kind;
    e.msecsSinceEpoch = QDateTime::currentMSecsSinceEpoch();
    e.before = before;
    e.after = after;
    e.durationMs = ms;
    e.detail = std::move(detail);
    return e;
}

// The shortest time between two previews: each copies the latents off the GPU and renders them on the
// CPU (the copy is asynchronous, but at 20+ it/s every step's would still cost time).
constexpr qint64 kPreviewIntervalMs = 200;

} // namespace

EngineWorker::EngineWorker(Hooks hooks)
    : m_hooks(std::move(hooks)) {}

EngineWorker::~EngineWorker() = default;

void EngineWorker::setFaultInjector(FaultInjector inject) {
    std::lock_guard lock(m_faultMutex);
    m_faultInjector = std::move(inject);
}

void EngineWorker::faultPoint(const QString& point) {
    FaultInjector inject;
    {
        std::lock_guard lock(m_faultMutex);
        inject = m_faultInjector;
    }
    if (inject)
        inject(point);
}

bool EngineWorker::guarded(const QString& what, const std::function<void()>& body) {
    QString why;
    try {
        body();
        return true;
    } catch (const std::bad_alloc&) {
        why =
            QStringLiteral("the computer ran out of memory (an allocation of host or pinned memory failed)");
    } catch (const std::exception& e) {
        why = QString::fromUtf8(e.what()).section(QLatin1Char('\n'), 0, 2);
    } catch (...) {
        why = QStringLiteral("an unknown error");
    }
    const QString message = QStringLiteral("%1 failed: %2. TwistedPic goes on; the model stays where it was "
                                           "if it could not be moved.")
                                .arg(what, why);
    spdlog::error("{}", message);
    if (m_hooks.failed)
        m_hooks.failed(0, message);
    try {
        setState(State::Idle);
        emitResidency();
    } catch (...) {
        spdlog::error("could not report the engine's state after the failure");
    }
    return false;
}

void EngineWorker::requestCancel(quint64 id) {
    std::lock_guard lock(m_cancelMutex);
    if (id == 0)
        m_cancelBelow = std::numeric_limits<quint64>::max();
    else
        m_cancelled.insert(id);
}

void EngineWorker::forgetCancel(quint64 id) {
    std::lock_guard lock(m_cancelMutex);
    m_cancelled.erase(id);
}

bool EngineWorker::isCancelled(quint64 id) const {
    std::lock_guard lock(m_cancelMutex);
    return id < m_cancelBelow.load() || m_cancelled.count(id) > 0;
}

void EngineWorker::setState(State s, const QString& detail) {
    if (m_hooks.state)
        m_hooks.state(s, detail);
}

void EngineWorker::setPolicy(const GpuPolicy& policy) {
    m_policy = policy;
    restartIdleTimer();
}

void EngineWorker::setModelSources(const QStringList& searchPaths, const QStringList& bundledDirs) {
    m_searchPaths = searchPaths;
    m_bundledDirs = bundledDirs;
}

Result<EngineWorker::Resolved> EngineWorker::resolveModel(const QString& nameOrPath,
                                                          const io::SingleFileOptions& files) {
    using R = Result<Resolved>;
    const io::ModelCatalogue catalogue = io::ModelCatalogue::scan(m_searchPaths, m_bundledDirs);
    io::ModelInfo info;
    if (nameOrPath.isEmpty()) {
        const io::ModelInfo* def = catalogue.defaultModel(); // the bundled default comes first
        if (!def)
            return R::fail(
                QStringLiteral("No model found: the bundled default model is missing and no model folder "
                               "is configured. Add one in Settings → Models."));
        info = *def;
    } else {
        Result<io::ModelInfo> found = catalogue.resolve(nameOrPath, files);
        if (!found)
            return R::fail(found.error());
        info = *found;
    }
    if (!info.supported)
        return R::fail(
            QStringLiteral("%1 (%2) cannot be used: %3").arg(info.name, info.family, info.problem));
    return R::ok({info.name, info.folder, info.familyId});
}

MemoryFigures EngineWorker::figures() const {
    return m_memory.snapshot();
}

void EngineWorker::emitResidency() {
    if (!m_hooks.residency)
        return;
    if (!m_model) {
        m_hooks.residency(QString(), gpu::Residency::Cpu, 0, -1);
        return;
    }
    m_hooks.residency(m_modelName, m_model->weightsResidency(), m_model->weightBytes(), m_cudaDevice);
}

void EngineWorker::releaseModel() {
    if (!m_model)
        return;
    spdlog::info("releasing model {}", m_modelName);
    m_model.reset();
    m_appliedPlan.clear();
    m_modelKey.clear();
    m_modelName.clear();
    m_leftOut.clear();
    m_companionFiles.clear();
    doCleanup(QStringLiteral("model released"));
    emitResidency();
}

Status EngineWorker::ensureLoaded(const Resolved& model, const io::SingleFileOptions& files,
                                  const QStringList& leaveOut, const pipeline::DeviceChoice& device,
                                  Timings* timings) {
    const QString key = QStringList{model.folder, device.description,
                                    files.textEncoderFiles.join(QLatin1Char(';')), files.vaeFile}
                            .join(QLatin1Char('|'));
    const bool lacksNeeded = std::any_of(m_leftOut.begin(), m_leftOut.end(),
                                         [&](const QString& c) { return !leaveOut.contains(c); });
    if (m_model && m_modelKey == key && lacksNeeded)
        spdlog::info("{} runs with its {} again: loading it anew", model.name,
                     m_leftOut.join(QStringLiteral(", ")));
    if (m_model && m_modelKey == key && !lacksNeeded) {
        // A run without a component the model holds drops it first, so that it never goes back
        // to the GPU and its memory is given back now.
        for (const QString& component : leaveOut) {
            if (!m_model->hasComponent(component))
                continue;
            const gpu::MemorySnapshot before = m_memory.snapshot();
            const qint64 had = m_model->weightBytes();
            if (Status s = m_model->dropComponent(component); !s)
                return s;
            m_leftOut << component;
            const QString detail = QStringLiteral("%1: %2 released (%3), this run goes without it")
                                       .arg(model.name, component, formatBytes(had - m_model->weightBytes()));
            spdlog::info("{}", detail);
            doCleanup(detail);
            if (m_hooks.memoryEvent)
                m_hooks.memoryEvent(
                    makeEvent(MemoryEvent::Kind::Unload, before, m_memory.snapshot(), 0, detail));
            emitResidency();
        }
        if (m_model->weightsResidency() == gpu::Residency::PinnedCpu) {
            faultPoint(QStringLiteral("reload"));
            setState(State::Reloading, model.name);
            // What stays on the device comes back now; run-then-release parts come for their stage.
            const gpu::TransferReport r = moveModel(QStringLiteral("reload"), [this] {
                m_model->beforeStage(pipeline::Stage::Idle);
                return m_model->lastTransfers();
            });
            timings->loadMs = r.totalMs;
            if (m_hooks.memoryEvent)
                m_hooks.memoryEvent(
                    makeEvent(MemoryEvent::Kind::Reload, r.before, r.after, r.totalMs, r.message));
            spdlog::info("{}", r.message);
            emitResidency();
        }
        return Status::ok();
    }
    // One model on the device at a time: the previous one goes first, so two never compete.
    releaseModel();
    faultPoint(QStringLiteral("load"));
    // The memory manager, the sidecar's figures and the graph follow the device in use (cuda:N).
    m_cudaDevice = device.device.is_cuda() ? std::max<int>(0, device.device.index()) : -1;
    m_memory = gpu::MemoryManager(std::max(0, m_cudaDevice));
    setState(State::Loading, model.name);
    const gpu::MemorySnapshot before = m_memory.snapshot();
    pipeline::LoadStats stats;
    Result<pipeline::ModelSource> source = pipeline::ModelSource::open(model.folder, files);
    if (!source)
        return Status::fail(source.error());
    for (const QString& component : leaveOut)
        source->leaveOut(component);
    // The device's one-time costs (CUDA context, cuBLAS and cuDNN, the lazy loading of the common
    // kernels) paid on a thread of their own while the weights load, once a process and device, so that
    // the first image does not pay them (issue 17.3). TWISTEDPIC_WARM_UP=0 leaves them to the first image.
    std::future<double> warmUp;
    if (device.device.is_cuda() && qgetenv("TWISTEDPIC_WARM_UP") != "0" &&
        m_warmedDevices.insert(m_cudaDevice).second)
        warmUp = std::async(std::launch::async,
                            [d = device.device, t = device.dtype] { return pipeline::warmUpDevice(d, t); });
    Result<std::unique_ptr<pipeline::DiffusionModel>> loaded = pipeline::loadModel(*source, device, &stats);
    if (warmUp.valid()) {
        try {
            spdlog::info("device warm-up: {:.0f} ms beside the load", warmUp.get());
        } catch (const std::exception& e) { // the first image pays those costs instead
            spdlog::warn("device warm-up failed: {}", e.what());
        }
    }
    if (!loaded)
        return Status::fail(loaded.error());
    m_model = std::move(*loaded);
    m_appliedPlan.clear(); // a fresh model runs everything resident until a plan says otherwise
    m_modelKey = key;
    m_leftOut = leaveOut;
    m_companionFiles = source->companionFiles();
    m_modelName = model.name;
    timings->loadMs = stats.milliseconds;
    if (m_hooks.memoryEvent)
        m_hooks.memoryEvent(makeEvent(MemoryEvent::Kind::Load, before, m_memory.snapshot(),
                                      stats.milliseconds, QStringLiteral("loaded %1").arg(model.name)));
    emitResidency();
    return Status::ok();
}

gpu::TransferReport EngineWorker::moveModel(const QString& verb,
                                            const std::function<std::vector<gpu::TransferReport>()>& move) {
    const gpu::MemorySnapshot before = m_memory.snapshot();
    QElapsedTimer took;
    took.start();
    const std::vector<gpu::TransferReport> parts = move();
    return combinedTransfer(verb, m_modelName, parts, before, m_memory.snapshot(),
                            static_cast<double>(took.nsecsElapsed()) / 1e6);
}

void EngineWorker::doCleanup(const QString& why) {
    faultPoint(QStringLiteral("cleanup"));
    if (!gpu::cudaAvailable())
        return;
    setState(State::Cleaning, why);
    if (m_model) // the captured denoiser graphs' memory pool is cache too
        m_model->releaseGraphs();
    const gpu::CleanupReport r = m_memory.cleanup();
    if (log::verbose())
        spdlog::info("cleanup ({}): {}", why, r.message);
    else
        spdlog::debug("cleanup ({}): {}", why, r.message);
    if (m_hooks.memoryEvent)
        m_hooks.memoryEvent(
            makeEvent(MemoryEvent::Kind::Cleanup, r.before, r.after, r.durationMs, r.message));
}

void EngineWorker::doUnload(const QString& why) {
    faultPoint(QStringLiteral("unload"));
    if (!m_model)
        return;
    if (const gpu::Residency where = m_model->weightsResidency();
        where == gpu::Residency::PinnedCpu || where == gpu::Residency::Cpu)
        return;
    setState(State::Unloading, why);
    // Every component to its pinned host buffers (kept between cycles, so later unloads only copy).
    const gpu::TransferReport r =
        moveModel(QStringLiteral("unload"), [this] { return m_model->releaseAll(); });
    spdlog::info("unload ({}): {}", why, r.message);
    if (m_hooks.memoryEvent)
        m_hooks.memoryEvent(makeEvent(MemoryEvent::Kind::Unload, r.before, r.after, r.totalMs, r.message));
    emitResidency();
}

void EngineWorker::applyPolicyAfterGeneration(GenerationResult* result) {
    faultPoint(QStringLiteral("policy"));
    QElapsedTimer t;
    t.start();
    result->memoryBeforeCleanup = figures();
    result->policy = m_policy;
    if (m_policy.cleanupAfterGeneration)
        doCleanup(QStringLiteral("after generation"));
    if (m_policy.unloadAfterGeneration) {
        doUnload(QStringLiteral("after generation"));
        result->unloaded = m_model && m_model->weightsResidency() == gpu::Residency::PinnedCpu;
    }
    result->memoryAfterCleanup = figures();
    result->timings.cleanupMs = static_cast<double>(t.nsecsElapsed()) / 1e6;
}

QString EngineWorker::outOfMemoryAdvice(const std::exception& e, const GenerationRequest& r) {
    const bool onGpu = gpu::isCudaOutOfMemory(e);
    QString msg = onGpu ? QStringLiteral("The GPU ran out of memory at %1×%2 with %3 image(s).")
                              .arg(r.width)
                              .arg(r.height)
                              .arg(r.count)
                        : QStringLiteral("The computer ran out of memory at %1×%2 with %3 image(s).")
                              .arg(r.width)
                              .arg(r.height)
                              .arg(r.count);
    msg += QStringLiteral(" Try a smaller size or fewer images");
    if (onGpu)
        msg += QStringLiteral(
            ", turn on \"Unload model after generation\", or close other programs that use the GPU "
            "(an Ollama model can be unloaded from the Services panel)");
    msg += QStringLiteral(". TwistedPic freed its cached memory and is ready for the next try.");
    return msg;
}

namespace {
// What m_appliedPlan remembers of a plan: equal keys need no new applyPlan().
QString appliedPlanKey(const gpu::Plan& plan) {
    return plan.description() + QLatin1Char('#') + QString::number(plan.level);
}
} // namespace

std::optional<gpu::Plan> EngineWorker::planGeneration(const GenerationRequest& request, const Resolved& model,
                                                      const io::SingleFileOptions& files,
                                                      const pipeline::DeviceChoice& device) {
    if (!m_planMemoryLoaded) {
        if (Status s = m_planMemory.load(); !s)
            spdlog::warn("plan memory: {}", s.error().toStdString());
        m_planMemoryLoaded = true;
    }
    PlanContext c;
    c.modelPath = model.folder;
    c.precision = request.precision;
    c.withoutT5 = request.withoutT5;
    c.textEncoderFiles = files.textEncoderFiles;
    c.vaeFile = files.vaeFile;
    c.width = request.width;
    c.height = request.height;
    c.count = request.count;
    c.steps = request.steps;
    c.guidance = request.guidance;
    c.trueCfg = request.trueCfgScale > 1.0 && !request.negativePrompt.isEmpty();
    c.budget = request.vramBudget.isEmpty() ? m_policy.vramBudget : request.vramBudget;
    c.reserveBytes = m_policy.vramReserveBytes;
    c.ollamaMarginBytes = m_policy.ollamaMarginBytes;
    c.ollama = request.ollamaVram;
    // Before the model loads (it may load straight into the plan): the device as it is now, with
    // what this process holds (a model loaded earlier) counted as ours.
    if (device.device.is_cuda()) {
        const int index = std::max<int>(0, device.device.index());
        gpu::startCuda(index);
        c.snapshot = gpu::snapshot(index);
    }
    m_lastBudgetLine.clear();
    Result<std::optional<gpu::Plan>> made = makePlan(c, m_planMemory, &m_lastBudgetLine);
    if (!made) {
        spdlog::warn("no placement plan ({}); everything stays on the GPU", made.error().toStdString());
        return std::nullopt;
    }
    if (*made) {
        spdlog::info("VRAM budget: {}", m_lastBudgetLine.toStdString());
        spdlog::info("plan: {}", (*made)->summary().toStdString());
        if (!(*made)->fits)
            spdlog::warn("plan: {}", (*made)->problem.toStdString());
    }
    return *made;
}

std::optional<gpu::Plan> EngineWorker::carryOutPlan(quint64 id, std::optional<gpu::Plan> plan) {
    plan = placeByPlan(std::move(plan));
    if (m_model->device().device.is_cuda()) {
        // From now on the allocator may hold no more than the budget: going over fails loudly (and
        // the plan shrinks and retries) instead of taking memory Ollama counts on. Set after the plan
        // is carried out: a model resident from before gives its memory back at the first stage.
        const qint64 limit = plan ? plan->budgetBytes : -1;
        const double fraction = gpu::setAllocatorLimit(std::max(0, m_cudaDevice), limit);
        if (limit >= 0 && fraction >= 0)
            spdlog::info("gpu: allocator limited to {} ({:.3f} of the device)",
                         formatBytes(limit).toStdString(), fraction);
    }
    if (plan)
        announcePlan(id, *plan, m_lastBudgetLine);
    return plan;
}

std::optional<gpu::Plan> EngineWorker::placeByPlan(std::optional<gpu::Plan> plan) {
    if (!plan) {
        if (!m_appliedPlan.isEmpty() || m_model->weightsResidency() == gpu::Residency::Mixed) {
            if (Status s = clearPlan(*m_model); !s)
                spdlog::warn("could not bring the model back on the GPU whole: {}", s.error().toStdString());
            else
                m_appliedPlan.clear();
        }
        return std::nullopt;
    }
    const QString key = appliedPlanKey(*plan);
    if (key != m_appliedPlan) {
        if (Status s = applyPlan(*m_model, *plan); !s) {
            spdlog::warn("could not carry out the plan ({}); everything goes on the GPU",
                         s.error().toStdString());
            if (Status back = clearPlan(*m_model); !back)
                spdlog::warn("{}", back.error().toStdString());
            m_appliedPlan.clear();
            return std::nullopt;
        }
        m_appliedPlan = key;
        emitResidency();
    }
    return plan;
}

void EngineWorker::announcePlan(quint64 id, const gpu::Plan& plan, const QString& budgetLine) {
    m_lastBudgetLine = budgetLine;
    if (!m_hooks.planned)
        return;
    QJsonObject json = plan.toJson();
    json.insert(QStringLiteral("budgetExplanation"), budgetLine);
    m_hooks.planned(id, json);
}

void EngineWorker::generate(const GenerationRequest& requestIn) {
    GenerationRequest request = requestIn;
    if (m_idleTimer)
        m_idleTimer->stop();
    if (isCancelled(request.id)) {
        forgetCancel(request.id);
        if (m_hooks.cancelled)
            m_hooks.cancelled(request.id);
        return;
    }
    QElapsedTimer total;
    total.start();
    GenerationResult result;
    try {
        io::SingleFileOptions files;
        files.textEncoderFiles = request.textEncoderFiles;
        files.vaeFile = request.vaeFile;
        Result<Resolved> model = resolveModel(request.model, files);
        if (!model) {
            m_hooks.failed(request.id, model.error());
            setState(State::Idle);
            return;
        }
        const QString t5 = io::familyTraits(model->family).optionalT5;
        if (request.withoutT5 && t5.isEmpty()) {
            m_hooks.failed(request.id,
                           QStringLiteral("%1 (%2) cannot run without T5; only SD 3.x models can.")
                               .arg(model->name, io::familyName(model->family)));
            setState(State::Idle);
            return;
        }
        Result<pipeline::DeviceChoice> device =
            pipeline::resolveDevice(request.device, io::familyPrecision(request.precision, model->family));
        if (!device) {
            m_hooks.failed(request.id, device.error());
            setState(State::Idle);
            return;
        }
        // Issue 16: the plan comes first, so that a model that does not fit loads into host memory
        // and only what the plan keeps on the device goes there.
        std::optional<gpu::Plan> plan = planGeneration(request, *model, files, *device);
        pipeline::DeviceChoice loadChoice = *device;
        loadChoice.loadOnHost = plan && !keepsEverythingResident(*plan);
        if (Status s = ensureLoaded(*model, files, request.withoutT5 ? QStringList{t5} : QStringList(),
                                    loadChoice, &result.timings);
            !s) {
            m_hooks.failed(request.id, s.error());
            setState(State::Idle);
            return;
        }
        if (request.seed < 0)
            request.seed = static_cast<qint64>(QRandomGenerator::global()->bounded(quint32(0xFFFFFFFFu)));
        request.model = model->name;
        request.device = QString::fromStdString(device->device.str());
        request.precision =
            device->fp8MatMul
                ? QStringLiteral("fp8 weights and matmul, %1").arg(pipeline::dtypeName(device->dtype))
            : device->fp8Weights ? QStringLiteral("fp8 weights, %1").arg(pipeline::dtypeName(device->dtype))
                                 : pipeline::dtypeName(device->dtype);

        pipeline::TextToImageParams params;
        params.prompt = request.prompt;
        if (!request.negativePrompt.isEmpty())
            params.negativePrompt = request.negativePrompt;
        params.sampler = request.sampler;
        params.steps = request.steps;
        params.guidance = request.guidance;
        params.trueCfgScale = request.trueCfgScale;
        params.width = request.width;
        params.height = request.height;
        params.seed = static_cast<uint64_t>(request.seed);
        params.count = request.count;
        params.clipSkip = request.clipSkip;
        params.sizeConditioning = request.sizeConditioning;
        params.withoutT5 = request.withoutT5;
        params.cudaGraphs = m_policy.cudaGraphs;
        m_model->setVaeTiling(request.vaeTiling ? std::make_optional(nn::VaeTiling{request.vaeTileSize})
                                                : std::nullopt);
        plan = carryOutPlan(request.id, std::move(plan));
        if (plan)
            result.plan = plan->toJson();

        setState(State::Generating, model->name);
        if (m_hooks.memoryEvent)
            m_hooks.memoryEvent(makeEvent(MemoryEvent::Kind::GenerationStart, m_memory.snapshot(),
                                          m_memory.snapshot(), 0, request.prompt.left(60)));
        QElapsedTimer loop;
        loop.start();
        QElapsedTimer sincePreview; // invalid until the first preview
        pipeline::AsyncLatentPreview preview(m_model->preview());
        const auto onStep = [&](const pipeline::StepInfo& s) {
            Progress p;
            p.id = request.id;
            p.step = s.step;
            p.total = s.total;
            const double seconds = static_cast<double>(loop.nsecsElapsed()) / 1e9;
            p.itPerSec = seconds > 0 ? s.step / seconds : 0;
            p.secondsLeft = p.itPerSec > 0 ? (s.total - s.step) / p.itPerSec : 0;
            if (request.preview) {
                // The copy goes behind the step's work; the image comes once it has landed (on the
                // CPU at once), so the loop never waits for the GPU.
                if (!preview.pending() &&
                    (!sincePreview.isValid() || sincePreview.elapsed() >= kPreviewIntervalMs)) {
                    preview.start(s.latents);
                    sincePreview.start();
                }
                p.preview = preview.take();
            }
            m_hooks.progress(p);
            return !isCancelled(request.id);
        };
        faultPoint(QStringLiteral("generate"));
        // Out of device memory with a plan: one retry one step lower (gpu::shrink), and that level is
        // where the next generation of this model and size starts (PlanMemory).
        const auto run = [&]() -> Result<pipeline::TextToImageOutput> {
            try {
                return pipeline::textToImage(*m_model, params, onStep);
            } catch (const std::exception& e) {
                if (!plan || !gpu::isCudaOutOfMemory(e))
                    throw;
                const std::optional<gpu::Phase> where = phaseOf(m_model->lastWorkStage());
                std::optional<gpu::Plan> lower = gpu::shrink(*plan, where);
                if (!lower)
                    throw;
                spdlog::warn("out of GPU memory ({}) with plan [{}]; retrying with [{}]",
                             where ? gpu::phaseName(*where).toStdString() : std::string("?"),
                             plan->summary().toStdString(), lower->summary().toStdString());
                m_planMemory.recordOutOfMemory(model->folder, {request.width, request.height, request.count},
                                               *plan);
                if (Status saved = m_planMemory.save(); !saved)
                    spdlog::warn("plan memory: {}", saved.error().toStdString());
                m_model->releaseGraphs();
                m_memory.cleanup();
                if (Status s = applyPlan(*m_model, *lower); !s)
                    throw;
                m_appliedPlan = appliedPlanKey(*lower);
                announcePlan(request.id, *lower, m_lastBudgetLine);
                plan = std::move(lower);
                result.plan = plan->toJson();
                result.notes << QStringLiteral(
                                    "Ran out of GPU memory with the first plan; generated with less "
                                    "on the GPU: %1.")
                                    .arg(plan->description());
                return pipeline::textToImage(*m_model, params, onStep);
            }
        };
        Result<pipeline::TextToImageOutput> out = run();
        if (!out) {
            m_hooks.failed(request.id, out.error());
            applyPolicyAfterGeneration(&result);
            setState(State::Idle);
            restartIdleTimer();
            return;
        }
        if (out->cancelled) {
            out = Result<pipeline::TextToImageOutput>::fail(QString()); // drop the tensors before cleanup
            applyPolicyAfterGeneration(&result);
            forgetCancel(request.id);
            if (m_hooks.cancelled)
                m_hooks.cancelled(request.id);
            setState(State::Idle);
            restartIdleTimer();
            return;
        }
        result.images = pipeline::toQImages(out->images);
        for (uint64_t s : out->seeds)
            result.seeds.push_back(static_cast<qint64>(s));
        result.timings.encodeMs = out->encodeMs;
        result.timings.denoiseMs = out->denoiseMs;
        result.timings.decodeMs = out->decodeMs;
        result.timings.firstStepMs = out->firstStepMs;
        result.timings.itPerSec = out->denoiseMs > 0 ? request.steps * 1000.0 / out->denoiseMs : 0;
        result.notes << out->notes;
        if (plan) { // what each phase really used: the next plans for this family and size start from it
            const gpu::RequestSize size{request.width, request.height, request.count};
            for (size_t i = 0; i < out->stagePeakBytes.size(); ++i)
                m_planMemory.recordPhasePeak(*plan, static_cast<gpu::Phase>(i), out->stagePeakBytes[i],
                                             io::familyName(model->family), size);
            if (Status saved = m_planMemory.save(); !saved)
                spdlog::warn("plan memory: {}", saved.error().toStdString());
        }
        for (const QString& note : out->notes)
            spdlog::warn("{}", note);
        out = Result<pipeline::TextToImageOutput>::fail(QString()); // free the tensors before cleanup
    } catch (const std::exception& e) {
        const bool oom = gpu::isOutOfMemory(e);
        const QString message = oom ? outOfMemoryAdvice(e, request)
                                    : QStringLiteral("Generation failed: %1")
                                          .arg(QString::fromUtf8(e.what()).section(QLatin1Char('\n'), 0, 2));
        spdlog::error("generation {} failed: {}", request.id, e.what());
        if (oom && m_hooks.memoryEvent)
            m_hooks.memoryEvent(makeEvent(MemoryEvent::Kind::OutOfMemory, m_memory.snapshot(),
                                          m_memory.snapshot(), 0, message));
        try {
            applyPolicyAfterGeneration(&result);
            if (oom && !m_policy.cleanupAfterGeneration)
                doCleanup(QStringLiteral("after running out of memory"));
        } catch (const std::exception& again) {
            spdlog::error("cleanup after the failure failed too: {}", again.what());
        } catch (...) {
            spdlog::error("cleanup after the failure failed too (unknown exception)");
        }
        m_hooks.failed(request.id, message);
        setState(State::Idle);
        restartIdleTimer();
        return;
    } catch (...) {
        spdlog::error("generation {} failed with an unknown exception", request.id);
        guarded(QStringLiteral("Cleanup after the failed generation"),
                [&] { applyPolicyAfterGeneration(&result); });
        m_hooks.failed(request.id, QStringLiteral("Generation failed with an unknown error."));
        setState(State::Idle);
        restartIdleTimer();
        return;
    }

    // The images exist: a failing after-generation cleanup or unload is reported, not fatal.
    guarded(QStringLiteral("The after-generation GPU memory policy"),
            [&] { applyPolicyAfterGeneration(&result); });
    result.request = request;
    result.modelName = m_modelName;
    result.modelFolder = m_model ? m_model->source() : QString();
    result.companionFiles = m_companionFiles;
    result.device = m_model ? m_model->device().description : QString();
    result.timings.totalMs = static_cast<double>(total.nsecsElapsed()) / 1e6;
    if (m_hooks.memoryEvent)
        m_hooks.memoryEvent(makeEvent(MemoryEvent::Kind::GenerationEnd, m_memory.snapshot(),
                                      m_memory.snapshot(), result.timings.totalMs,
                                      QStringLiteral("%1 image(s)").arg(result.images.size())));
    if (!request.outputDir.isEmpty()) {
        try {
            faultPoint(QStringLiteral("write"));
        } catch (const std::exception& e) {
            result.warning = result.writeError = QStringLiteral("Could not write the images to %1: %2.")
                                                     .arg(request.outputDir, QString::fromUtf8(e.what()));
            spdlog::error("generation {}: {}", request.id, result.writeError);
        }
    }
    if (!request.outputDir.isEmpty() && result.writeError.isEmpty()) {
        // The hash takes seconds the first time for a GB model, then comes from the cache.
        const Result<QString> hash = ModelHashCache::shared().hash(result.modelFolder);
        if (!hash)
            spdlog::warn("no model hash for {}: {}", result.modelFolder, hash.error());
        QVector<WrittenImage> before;
        const Result<QVector<WrittenImage>> written =
            OutputWriter(request.outputDir)
                .write(result, hash ? *hash : QString(), QDateTime::currentDateTime(), &before);
        // A failed write is reported with every file that was written before it: the images are
        // not lost (they go to the window, which can still save them elsewhere).
        for (const WrittenImage& w : written ? *written : before)
            result.files << w.imagePath;
        if (!written) {
            spdlog::error("generation {}: {}", request.id, written.error());
            result.warning = written.error();
            result.writeError = written.error();
        }
    }
    spdlog::info("generated {} image(s) in {:.1f} s ({:.2f} it/s) with {}", result.images.size(),
                 result.timings.totalMs / 1000, result.timings.itPerSec, m_modelName);
    m_hooks.finished(result);
    setState(State::Idle);
    restartIdleTimer();
}

void EngineWorker::cleanupNow() {
    if (guarded(QStringLiteral("Freeing GPU memory"),
                [this] { doCleanup(QStringLiteral("asked by the user")); }))
        setState(State::Idle);
}

void EngineWorker::unloadNow() {
    if (guarded(QStringLiteral("Unloading the model"),
                [this] { doUnload(QStringLiteral("asked by the user")); }))
        setState(State::Idle);
}

void EngineWorker::preload(const QString& name, const QString& deviceName, const QString& precision) {
    Result<Resolved> model = resolveModel(name);
    if (!model) {
        m_hooks.failed(0, model.error());
        return;
    }
    Result<pipeline::DeviceChoice> device =
        pipeline::resolveDevice(deviceName, io::familyPrecision(precision, model->family));
    if (!device) {
        m_hooks.failed(0, device.error());
        return;
    }
    Timings t;
    try {
        // A model running without its T5 stays so.
        const QString t5 = io::familyTraits(model->family).optionalT5;
        const QStringList leaveOut =
            !t5.isEmpty() && m_leftOut.contains(t5) ? QStringList{t5} : QStringList();
        if (Status s = ensureLoaded(*model, {}, leaveOut, *device, &t); !s)
            m_hooks.failed(0, s.error());
    } catch (const std::exception& e) {
        m_hooks.failed(0,
                       QStringLiteral("Loading %1 failed: %2").arg(model->name, QString::fromUtf8(e.what())));
    } catch (...) {
        m_hooks.failed(0, QStringLiteral("Loading %1 failed with an unknown error.").arg(model->name));
    }
    setState(State::Idle);
    restartIdleTimer();
}

void EngineWorker::restartIdleTimer() {
    if (!m_idleTimer) {
        m_idleTimer = new QTimer(this);
        m_idleTimer->setSingleShot(true);
        connect(m_idleTimer, &QTimer::timeout, this, [this] {
            if (guarded(QStringLiteral("Unloading the idle model"), [this] {
                    faultPoint(QStringLiteral("idle-unload"));
                    doUnload(QStringLiteral("idle for %1 min").arg(m_policy.idleUnloadMinutes));
                }))
                setState(State::Idle);
        });
    }
    m_idleTimer->stop();
    if (m_policy.idleUnloadMinutes > 0 && m_model)
        m_idleTimer->start(static_cast<int>(m_policy.idleUnloadMinutes * 60 * 1000));
}

void EngineWorker::shutdown() {
    if (m_idleTimer)
        m_idleTimer->stop();
    guarded(QStringLiteral("Releasing the model at shutdown"), [this] {
        faultPoint(QStringLiteral("shutdown"));
        m_model.reset();
        if (gpu::cudaAvailable())
            m_memory.cleanup();
    });
}

} // namespace tp::engine
