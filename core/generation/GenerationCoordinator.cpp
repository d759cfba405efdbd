#include "core/generation/GenerationCoordinator.h"

#include "core/common/GenerationLimits.h"
#include "core/common/Log.h"
#include "core/engine/Engine.h"
#include "core/engine/RequestLimits.h"
#include "core/services/ServiceStatus.h"
#include "core/services/VramEstimate.h"

#include <QFileInfo>

#include <algorithm>

namespace tp::generation {

QString stageName(Stage stage) {
    switch (stage) {
    case Stage::Idle:
        return QStringLiteral("idle");
    case Stage::Distorting:
        return QStringLiteral("distorting");
    case Stage::Refining:
        return QStringLiteral("refining");
    case Stage::Reviewing:
        return QStringLiteral("reviewing");
    case Stage::MakingRoom:
        return QStringLiteral("making room");
    case Stage::Generating:
        return QStringLiteral("generating");
    }
    return {};
}

Result<PreparedRequest> prepareRequest(const engine::GenerationRequest& request,
                                       const io::ModelCatalogue& catalogue, bool sizeChosen) {
    using R = Result<PreparedRequest>;
    PreparedRequest out;
    out.request = request;
    engine::GenerationRequest& r = out.request;
    if (r.model.isEmpty()) {
        const io::ModelInfo* def = catalogue.defaultModel(); // the bundled default comes first
        if (!def)
            return R::fail(QStringLiteral("No model found: the bundled default model is missing and no model "
                                          "folder is configured. Add one in Settings → Models."));
        out.model = *def;
    } else {
        io::SingleFileOptions files;
        files.textEncoderFiles = r.textEncoderFiles;
        files.vaeFile = r.vaeFile;
        Result<io::ModelInfo> found = catalogue.resolve(r.model, files);
        if (!found)
            return R::fail(found.error());
        out.model = *found;
    }
    if (!out.model.supported)
        return R::fail(QStringLiteral("%1 (%2) cannot be used: %3")
                           .arg(out.model.name, out.model.family, out.model.problem));
    // Given text encoder and VAE files complete single SD 3.x / Flux files; anything else has no use for
    // them.
    for (const QString& file : r.textEncoderFiles + QStringList{r.vaeFile}) {
        if (file.isEmpty())
            continue;
        const QString absolute = QFileInfo(file).absoluteFilePath();
        if (!out.model.companions.contains(absolute))
            return R::fail(
                QStringLiteral(
                    "%1 has no use for %2: separate text encoder and VAE files go with single-file "
                    "SD 3.x and Flux checkpoints.")
                    .arg(out.model.name, QFileInfo(file).fileName()));
    }
    if (r.withoutT5 && io::familyTraits(out.model.familyId).optionalT5.isEmpty())
        return R::fail(
            QStringLiteral("%1 (%2) cannot run without T5: only SD 3.x models can (Flux takes its text "
                           "context from T5 alone).")
                .arg(out.model.name, out.model.family));
    r.model = out.model.folder; // the engine loads exactly this folder
    const int native = out.model.nativeSize;
    if (!sizeChosen && limits::sizeFarFromNative(r.width, r.height, native)) {
        r.width = r.height = native;
        out.note = QStringLiteral("%1 was trained at %2x%2; generating at that size (--width/--height choose "
                                  "another).")
                       .arg(out.model.name)
                       .arg(native);
    }
    if (const Status st = engine::checkRequest(r); !st)
        return R::fail(st.error());
    return R::ok(std::move(out));
}

GenerationCoordinator::GenerationCoordinator(engine::Engine& engine, services::TwistedPairClient* twistedPair,
                                             services::OllamaClient* ollama, FreeBytesReader freeBytes,
                                             QObject* parent)
    : QObject(parent)
    , m_engine(engine)
    , m_ollama(ollama)
    , m_freeBytes(std::move(freeBytes)) {
    qRegisterMetaType<tp::generation::Stage>();
    m_pipeline = new services::PromptPipeline(twistedPair, ollama, this);
    connect(m_pipeline, &services::PromptPipeline::stageStarted, this, [this](const QString& stage) {
        if (m_stage == Stage::Distorting || m_stage == Stage::Refining)
            setStage(stage == QLatin1String("refine") ? Stage::Refining : Stage::Distorting);
    });

    // Our side of co-tenancy: the engine's own cleanup and unload, on its thread.
    services::CoTenancyHooks hooks;
    hooks.freeCache = [this](services::CoTenancyHooks::Done done) {
        m_engine.cleanupNow([done] { done(Status::ok()); });
    };
    hooks.unloadModel = [this](services::CoTenancyHooks::Done done) {
        m_engine.unloadNow([done] { done(Status::ok()); });
    };
    hooks.deviceFreeBytes = [this]() -> qint64 {
        return m_freeBytes ? m_freeBytes(m_roomDevice >= 0 ? m_roomDevice : std::max(0, m_engineDevice)) : -1;
    };
    m_coTenancy = new services::CoTenancy(ollama, std::move(hooks), this);

    using engine::Engine;
    connect(&engine, &Engine::residencyChanged, this,
            [this](const QString& model, gpu::Residency where, qint64 bytes, int cudaDevice) {
                m_ours.modelName = model;
                m_ours.modelResident = where == gpu::Residency::OnGpu || where == gpu::Residency::Mixed;
                m_weightBytes = bytes;
                if (cudaDevice >= 0)
                    m_engineDevice = cudaDevice;
            });
    auto ended = [this](quint64 id) {
        if (m_stage == Stage::Generating && id == m_job.request.id)
            setStage(Stage::Idle);
    };
    connect(&engine, &Engine::finished, this,
            [ended](const engine::GenerationResult& r) { ended(r.request.id); });
    connect(&engine, &Engine::failed, this, [ended](quint64 id, const QString&) { ended(id); });
    connect(&engine, &Engine::cancelled, this, ended);
}

GenerationCoordinator::~GenerationCoordinator() = default;

void GenerationCoordinator::setStage(Stage stage, const QString& detail) {
    if (stage == m_stage && detail.isEmpty())
        return;
    m_stage = stage;
    Q_EMIT stageChanged(stage, detail);
}

quint64 GenerationCoordinator::start(Job job) {
    if (job.request.id == 0)
        job.request.id = m_engine.reserveId();
    const quint64 id = job.request.id;
    if (busy()) {
        QMetaObject::invokeMethod(
            this,
            [this, id] {
                Q_EMIT failed(
                    id, QStringLiteral("Another image is still being prepared; wait for it or cancel it."));
            },
            Qt::QueuedConnection);
        return id;
    }
    if (const Status st = engine::checkRequest(job.request); !st) {
        QMetaObject::invokeMethod(
            this, [this, id, e = st.error()] { Q_EMIT failed(id, e); }, Qt::QueuedConnection);
        return id;
    }
    m_job = std::move(job);
    const quint64 serial = ++m_jobSerial;
    if (!m_job.pipeline.distortEnabled) {
        // Straight on, but after this returns: the caller connects to the id first.
        setStage(Stage::MakingRoom);
        QMetaObject::invokeMethod(
            this,
            [this, serial] {
                if (serial == m_jobSerial && m_stage == Stage::MakingRoom)
                    makeRoomThenSubmit();
            },
            Qt::QueuedConnection);
        return id;
    }
    setStage(Stage::Distorting);
    spdlog::info("prompt pipeline: distorting \"{}\"", m_job.request.prompt.left(60));
    QPointer<GenerationCoordinator> self(this);
    m_pipeline->run(m_job.request.prompt, m_job.pipeline,
                    [self, serial](const services::PromptPipelineResult& result) {
                        if (self && serial == self->m_jobSerial)
                            self->afterPipeline(result);
                    });
    return id;
}

void GenerationCoordinator::afterPipeline(const services::PromptPipelineResult& result) {
    if (m_stage != Stage::Distorting && m_stage != Stage::Refining)
        return; // cancelled meanwhile
    if (result.cancelled)
        return endBeforeEngine(true, QStringLiteral("Cancelled."));
    services::PromptPipelineResult outcome = result;
    if (!result.ok && result.failedStage == QLatin1String("refine") && !result.unrefinedPrompt.isEmpty()) {
        // As the original: without keywords, the distorted text (wrapped) is the prompt.
        outcome.finalPrompt = result.unrefinedPrompt;
        outcome.record.insert(QStringLiteral("final"), result.unrefinedPrompt);
        outcome.record.insert(QStringLiteral("refinerFailedUsedDistortedText"), true);
        Q_EMIT notice(QStringLiteral("The refiner failed (%1); generating from the distorted text instead.")
                          .arg(result.error));
    } else if (!result.ok && !m_job.review) {
        return endBeforeEngine(false, result.error);
    }
    if (!m_job.review) {
        continueWith(outcome.finalPrompt, outcome, false);
        return;
    }
    setStage(Stage::Reviewing);
    const quint64 serial = m_jobSerial;
    QPointer<GenerationCoordinator> self(this);
    m_job.review(outcome, [self, serial, outcome](std::optional<QString> finalPrompt) {
        if (!self || serial != self->m_jobSerial || self->m_stage != Stage::Reviewing)
            return;
        if (!finalPrompt)
            return self->endBeforeEngine(true, QStringLiteral("Cancelled."));
        self->continueWith(*finalPrompt, outcome, *finalPrompt != outcome.finalPrompt);
    });
}

void GenerationCoordinator::continueWith(const QString& finalPrompt,
                                         const services::PromptPipelineResult& result, bool edited) {
    if (finalPrompt.trimmed().isEmpty())
        return endBeforeEngine(false, QStringLiteral("The final prompt is empty; nothing to draw."));
    QVariantMap record = result.record;
    record.insert(QStringLiteral("finalPromptEdited"), edited);
    record.insert(QStringLiteral("finalPromptUsed"), finalPrompt);
    m_job.request.prompt = finalPrompt;
    m_job.request.extra.insert(QStringLiteral("promptPipeline"), record);
    setStage(Stage::MakingRoom);
    makeRoomThenSubmit();
}

void GenerationCoordinator::makeRoomThenSubmit() {
    const engine::GenerationRequest& r = m_job.request;
    int device = -1;
    if (r.device.startsWith(QLatin1String("cuda:")))
        device = r.device.mid(5).toInt();
    else if (r.device != QLatin1String("cpu"))
        device = std::max(0, m_engineDevice);
    m_roomDevice = device;
    // A fresh reading, not the graph's last sample: the decision is about now.
    const qint64 freeBytes = m_job.makeRoom && device >= 0 && m_freeBytes ? m_freeBytes(device) : -1;
    if (freeBytes < 0 || m_coTenancy->isBusy())
        return readOllamaThenSubmit();
    services::GenerationShape shape;
    shape.weightsBytes = m_weightBytes;
    shape.width = r.width;
    shape.height = r.height;
    shape.batch = r.count;
    shape.guidance = r.guidance > 1.0;
    shape.materializedAttention = false;
    const services::GenerationVramEstimate estimate = services::estimateGenerationVram(shape);
    const qint64 need =
        services::CoTenancy::bytesNeededBeforeGenerating(estimate, m_ours, m_job.makeRoomMarginBytes);
    spdlog::info("make room before generating on cuda:{}: need {} MiB, {} MiB free ({})", device, need >> 20,
                 freeBytes >> 20, estimate.explanation);
    setStage(Stage::MakingRoom,
             QStringLiteral("%1 MiB needed, %2 MiB free").arg(need >> 20).arg(freeBytes >> 20));
    const quint64 serial = m_jobSerial;
    QPointer<GenerationCoordinator> self(this);
    m_coTenancy->makeRoom(need, freeBytes, [self, serial](const services::CoTenancyReport& report) {
        if (!self || serial != self->m_jobSerial || self->m_stage != Stage::MakingRoom)
            return;
        for (const QString& step : report.steps)
            spdlog::info("make room: {}", step);
        if (report.cancelled)
            return self->endBeforeEngine(true, QStringLiteral("Cancelled."));
        if (!report.ok && !report.error.isEmpty())
            Q_EMIT self->notice(report.error);
        self->m_ollamaSeenValid = false; // Ollama may have unloaded models: ask again
        QMetaObject::invokeMethod(
            self.data(),
            [self, serial] {
                if (self && serial == self->m_jobSerial && self->m_stage == Stage::MakingRoom)
                    self->readOllamaThenSubmit();
            },
            Qt::QueuedConnection);
    });
}

void GenerationCoordinator::noteOllamaStatus(const services::OllamaStatus& status) {
    // A round that could not read /api/ps (or of another URL, before a settings change reached
    // the poller) says nothing about the models loaded now.
    if (!status.checked || !status.up || !status.loadedError.isEmpty() || !m_ollama ||
        status.url != m_ollama->baseUrl().toString()) {
        m_ollamaSeenValid = false;
        return;
    }
    m_ollamaSeen = services::toOllamaVram(status.loaded);
    m_ollamaSeenValid = true;
    m_ollamaSeenAge.start();
}

void GenerationCoordinator::setOllamaVramTimings(int maxAgeMs, int timeoutMs) {
    m_ollamaVramMaxAgeMs = maxAgeMs;
    m_ollamaVramTimeoutMs = timeoutMs;
}

namespace {
// Whether the engine may plan this request within an "auto" budget (empty: the policy's, which
// may be auto). A budget that does not parse is the engine's to refuse.
bool mayBudgetAuto(const engine::GenerationRequest& r) {
    if (r.device == QLatin1String("cpu"))
        return false;
    if (r.vramBudget.trimmed().isEmpty())
        return true;
    const Result<gpu::BudgetSetting> b = gpu::parseBudget(r.vramBudget);
    return b && b->mode == gpu::BudgetSetting::Mode::Auto;
}

QString ollamaText(const QVector<gpu::OllamaVram>& models) {
    QStringList parts;
    for (const gpu::OllamaVram& m : models)
        parts << QStringLiteral("%1 %2 MiB (%3 MiB on the GPU)")
                     .arg(m.name)
                     .arg(m.sizeBytes >> 20)
                     .arg(m.vramBytes >> 20);
    return parts.isEmpty() ? QStringLiteral("none loaded") : parts.join(QStringLiteral(", "));
}
} // namespace

void GenerationCoordinator::readOllamaThenSubmit() {
    engine::GenerationRequest& r = m_job.request;
    r.ollamaVram.clear();
    r.ollamaVramKnown = false;
    if (!m_ollama || !mayBudgetAuto(r))
        return submit();
    if (m_ollamaSeenValid && m_ollamaSeenAge.elapsed() <= m_ollamaVramMaxAgeMs) {
        r.ollamaVram = m_ollamaSeen;
        r.ollamaVramKnown = true;
        spdlog::debug("VRAM budget: Ollama's models as seen {} ms ago: {}", m_ollamaSeenAge.elapsed(),
                      ollamaText(r.ollamaVram));
        return submit();
    }
    const quint64 serial = m_jobSerial;
    QPointer<GenerationCoordinator> self(this);
    m_ollamaVramRequest = m_ollama->loadedModels(
        [self, serial](const Result<QVector<services::OllamaLoadedModel>>& loaded) {
            if (!self || serial != self->m_jobSerial || self->m_stage != Stage::MakingRoom)
                return;
            engine::GenerationRequest& req = self->m_job.request;
            if (loaded) {
                req.ollamaVram = services::toOllamaVram(*loaded);
                req.ollamaVramKnown = true;
                self->m_ollamaSeen = req.ollamaVram;
                self->m_ollamaSeenValid = true;
                self->m_ollamaSeenAge.start();
                spdlog::debug("VRAM budget: Ollama's models: {}", ollamaText(req.ollamaVram));
            } else {
                self->m_ollamaSeenValid = false;
                spdlog::debug("VRAM budget without Ollama's models (the reserve alone): {}", loaded.error());
            }
            self->submit();
        },
        m_ollamaVramTimeoutMs);
}

void GenerationCoordinator::submit() {
    setStage(Stage::Generating);
    Q_EMIT submitted(m_job.request);
    m_engine.submit(m_job.request);
}

void GenerationCoordinator::endBeforeEngine(bool wasCancelled, const QString& message,
                                            const std::function<void()>& abort) {
    const quint64 id = m_job.request.id;
    ++m_jobSerial; // late answers of this job are dropped
    setStage(Stage::Idle);
    if (abort)
        abort();
    if (wasCancelled)
        Q_EMIT cancelled(id);
    else
        Q_EMIT failed(id, message);
}

void GenerationCoordinator::cancel() {
    switch (m_stage) {
    case Stage::Idle:
        return;
    case Stage::Distorting:
    case Stage::Refining: // aborts the TwistedPair or Ollama request
        return endBeforeEngine(true, QString(), [this] { m_pipeline->cancel(); });
    case Stage::Reviewing:
        return endBeforeEngine(true, QString());
    case Stage::MakingRoom: // aborts the Ollama request; no more unloads
        return endBeforeEngine(true, QString(), [this] {
            m_coTenancy->cancel();
            m_ollamaVramRequest.cancel();
        });
    case Stage::Generating:
        m_engine.cancel(m_job.request.id);
        return;
    }
}

} // namespace tp::generation
