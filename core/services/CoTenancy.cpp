#include "core/services/CoTenancy.h"

#include "core/common/Log.h"
#include "core/services/Format.h"

#include <QDateTime>
#include <QPointer>
#include <QTimer>

#include <algorithm>
#include <atomic>

namespace tp::services {

namespace {

const gpu::DeviceSample* pickDevice(const gpu::VramSample& vram, int index) {
    for (const gpu::DeviceSample& d : vram.devices)
        if (d.index == index)
            return &d;
    return vram.devices.isEmpty() ? nullptr : &vram.devices.first();
}

qint64 nowMs() {
    return QDateTime::currentMSecsSinceEpoch();
}

} // namespace

CoTenancyDiagnosis diagnoseCoTenancy(const QVector<OllamaLoadedModel>& ollama, const OurGpuUse& ours,
                                     const gpu::VramSample& vram, int deviceIndex) {
    CoTenancyDiagnosis d;
    d.ourCachedBytes = ours.cachedBytes();
    d.ourAllocatedBytes = std::max<qint64>(0, ours.allocatedBytes);
    const gpu::DeviceSample* device = vram.gpuAvailable ? pickDevice(vram, deviceIndex) : nullptr;
    if (!device) {
        d.verdict = CoTenancyDiagnosis::Verdict::NoGpu;
        d.summary = vram.noGpuReason.isEmpty()
                        ? QStringLiteral("No GPU figures, so there is nothing to share.")
                        : QStringLiteral("No GPU (%1), so there is nothing to share.").arg(vram.noGpuReason);
        return d;
    }
    d.deviceFreeBytes = device->freeBytes;

    // The model with most bytes on the CPU is the one worth fixing.
    const OllamaLoadedModel* worst = nullptr;
    for (const OllamaLoadedModel& m : ollama)
        if (m.partlyOnCpu() && (!worst || m.size - m.sizeVram > worst->size - worst->sizeVram))
            worst = &m;
    if (!worst) {
        d.verdict = CoTenancyDiagnosis::Verdict::Fine;
        if (ollama.isEmpty()) {
            d.summary = QStringLiteral("Ollama has no model loaded.");
        } else {
            QStringList shares;
            for (const OllamaLoadedModel& m : ollama)
                shares << m.shareText();
            d.summary =
                QStringLiteral("Ollama runs fully on the GPU: %1.").arg(shares.join(QStringLiteral("; ")));
        }
        return d;
    }

    d.ollamaModel = worst->name;
    d.gpuPercent = worst->gpuPercent();
    d.ollamaVramBytes = worst->sizeVram;
    d.ollamaNeedBytes = worst->size + kOllamaGpuReserveBytes;
    d.freeIfOllamaUnloads = device->freeBytes + worst->sizeVram;
    const QString where = worst->processor();
    d.details =
        QStringLiteral("Ollama needs about %1 on the GPU for %2 (%3 plus ~457 MiB it keeps free). The GPU "
                       "has %4 free; unloading %2 gives back its %5 there, so %6. TwistedPic holds %7: %8 "
                       "in use and %9 cached.")
            .arg(formatBytes(d.ollamaNeedBytes), d.ollamaModel, formatBytes(worst->size),
                 formatBytes(device->freeBytes), formatBytes(worst->sizeVram),
                 formatBytes(d.freeIfOllamaUnloads), formatBytes(std::max<qint64>(0, ours.reservedBytes)),
                 formatBytes(d.ourAllocatedBytes), formatBytes(d.ourCachedBytes));
    const QString after =
        ours.generating ? QStringLiteral(" (after the image being generated now)") : QString();

    if (ours.reservedBytes <= 0) {
        d.verdict = CoTenancyDiagnosis::Verdict::PartlyOnCpuNotUs;
        d.summary = QStringLiteral("%1 runs partly on the CPU (%2), but TwistedPic holds no GPU memory.")
                        .arg(d.ollamaModel, where);
        if (d.freeIfOllamaUnloads >= d.ollamaNeedBytes) {
            d.fix = CoTenancyDiagnosis::Fix::ReloadOnly;
            d.proposal =
                QStringLiteral("The GPU has room for it now: ask Ollama to unload %1, and its next request "
                               "loads it fully onto the GPU.")
                    .arg(d.ollamaModel);
        } else {
            d.proposal =
                QStringLiteral("The GPU is too small for %1 even with TwistedPic out of the way, or another "
                               "program holds its memory. A smaller or more quantized model would fit.")
                    .arg(d.ollamaModel);
        }
        return d;
    }

    d.verdict = CoTenancyDiagnosis::Verdict::PartlyOnCpu;
    d.summary = QStringLiteral("%1 runs partly on the CPU (%2) while TwistedPic holds %3 of GPU memory.")
                    .arg(d.ollamaModel, where, formatBytes(ours.reservedBytes));
    if (d.freeIfOllamaUnloads + d.ourCachedBytes >= d.ollamaNeedBytes) {
        d.fix = CoTenancyDiagnosis::Fix::FreeCacheThenReload;
        d.proposal =
            QStringLiteral("Free TwistedPic's cached GPU memory (%1)%2, then ask Ollama to unload %3 so that "
                           "its next request loads it fully onto the GPU. TwistedPic's model stays loaded.")
                .arg(formatBytes(d.ourCachedBytes), after, d.ollamaModel);
    } else if (d.freeIfOllamaUnloads + ours.reservedBytes >= d.ollamaNeedBytes) {
        d.fix = CoTenancyDiagnosis::Fix::UnloadThenReload;
        d.proposal =
            QStringLiteral("Free TwistedPic's cached GPU memory and move its model to RAM (%1 in all)%2, "
                           "then ask Ollama to unload %3 so that its next request loads it fully onto the "
                           "GPU. TwistedPic reloads its model for the next image.")
                .arg(formatBytes(ours.reservedBytes), after, d.ollamaModel);
    } else {
        d.fix = CoTenancyDiagnosis::Fix::ReleaseAllStillShort;
        d.proposal =
            QStringLiteral("Even with everything TwistedPic holds released, %1 would not fit entirely "
                           "(%2 for %3 needed); releasing it%4 and letting Ollama reload %1 still puts "
                           "more of it on the GPU.")
                .arg(d.ollamaModel, formatBytes(d.freeIfOllamaUnloads + ours.reservedBytes),
                     formatBytes(d.ollamaNeedBytes), after);
    }
    return d;
}

struct CoTenancy::Run {
    CoTenancyReport report;
    std::function<void(const CoTenancyReport&)> done;
    bool over = false;     // finished or cancelled: late answers are dropped
    RequestHandle request; // the Ollama request in flight
};

CoTenancy::CoTenancy(OllamaClient* ollama, CoTenancyHooks hooks, QObject* parent)
    : QObject(parent)
    , m_ollama(ollama)
    , m_hooks(std::move(hooks)) {}

void CoTenancy::log(const std::shared_ptr<Run>& run, const QString& text) {
    spdlog::info("co-tenancy: {}", text);
    run->report.steps << text;
    Q_EMIT step(text);
}

void CoTenancy::cancel() {
    const std::shared_ptr<Run> run = m_current;
    if (!run || run->over)
        return;
    run->report.cancelled = true;
    finish(run, false, QStringLiteral("Cancelled: no more Ollama models are unloaded."));
    run->request.cancel();
}

void CoTenancy::finish(const std::shared_ptr<Run>& run, bool ok, const QString& error) {
    if (run->over)
        return;
    run->over = true;
    if (m_current == run)
        m_current.reset();
    m_busy = false;
    run->report.ok = ok;
    run->report.error = error;
    if (!error.isEmpty())
        log(run, error);
    if (run->done)
        run->done(run->report);
}

void CoTenancy::runHook(const std::function<void(CoTenancyHooks::Done)>& hook,
                        std::function<void(Status)> next) {
    if (!hook) {
        QTimer::singleShot(
            0, this, [next] { next(Status::fail(QStringLiteral("the engine offers no such action"))); });
        return;
    }
    // The engine answers from its worker thread: come back to ours, once.
    QPointer<CoTenancy> self(this);
    auto called = std::make_shared<std::atomic_bool>(false);
    hook([self, next, called](Status s) {
        if (called->exchange(true) || !self)
            return;
        QMetaObject::invokeMethod(
            self.data(), [next, s] { next(s); }, Qt::QueuedConnection);
    });
}

void CoTenancy::unloadOllama(const std::shared_ptr<Run>& run, const QString& model,
                             std::function<void(bool)> next) {
    run->request = m_ollama->unload(
        model, guarded(this, [this, run, model, next](const Result<GenerateResult>& r) {
            if (run->over)
                return;
            if (!r) {
                finish(run, false, r.error());
                return next(false);
            }
            run->report.unloadedOllamaModels << model;
            log(run, QStringLiteral("Ollama unloaded %1 (done_reason \"%2\").")
                         .arg(model, r->doneReason.isEmpty() ? QStringLiteral("none given") : r->doneReason));
            next(true);
        }));
}

void CoTenancy::waitUntilGone(const std::shared_ptr<Run>& run, const QStringList& models, qint64 deadlineMs,
                              std::function<void()> next) {
    run->request = m_ollama->loadedModels(guarded(this, [this, run, models, deadlineMs,
                                                         next](const Result<QVector<OllamaLoadedModel>>& r) {
        if (run->over)
            return;
        QStringList still;
        if (r)
            for (const OllamaLoadedModel& m : *r)
                if (models.contains(m.name) && m.sizeVram > 0)
                    still << m.name;
        if (r && still.isEmpty())
            return next();
        if (nowMs() >= deadlineMs) {
            log(run, r ? QStringLiteral("Ollama still lists %1 on the GPU; going on.")
                             .arg(still.join(QStringLiteral(", ")))
                       : QStringLiteral("Could not check that Ollama let go (%1); going on.").arg(r.error()));
            return next();
        }
        QTimer::singleShot(200, this, [this, run, models, deadlineMs, next] {
            if (!run->over)
                waitUntilGone(run, models, deadlineMs, next);
        });
    }));
}

void CoTenancy::giveGpuBackToOllama(const CoTenancyDiagnosis& d,
                                    std::function<void(const CoTenancyReport&)> done) {
    auto run = std::make_shared<Run>();
    run->done = std::move(done);
    if (m_busy || !d.canFix()) {
        const QString error =
            m_busy ? QStringLiteral("Another GPU-sharing action is still running; try again when "
                                    "it has finished.")
                   : QStringLiteral("Nothing to fix: %1").arg(d.summary);
        QTimer::singleShot(0, this, [this, run, error] {
            run->report.error = error;
            if (run->done)
                run->done(run->report);
        });
        return;
    }
    m_busy = true;
    log(run, d.summary);

    // Step 3: only now that our memory is released does Ollama reload onto the GPU.
    auto askOllama = [this, run, d] {
        log(run, QStringLiteral("Asking Ollama to unload %1, so that its next request loads it onto the GPU.")
                     .arg(d.ollamaModel));
        unloadOllama(run, d.ollamaModel, [this, run, d](bool ok) {
            if (!ok)
                return;
            waitUntilGone(run, {d.ollamaModel}, nowMs() + m_unloadWaitMs, [this, run, d] {
                const qint64 freeNow = m_hooks.deviceFreeBytes ? m_hooks.deviceFreeBytes() : -1;
                run->report.freeBytesAfter = freeNow;
                if (freeNow < 0)
                    log(run, QStringLiteral("Done: %1 loads again on its next request.").arg(d.ollamaModel));
                else if (freeNow >= d.ollamaNeedBytes)
                    log(run,
                        QStringLiteral("Done: %1 free, %2 needs %3, so its next request loads it fully onto "
                                       "the GPU.")
                            .arg(formatBytes(freeNow), d.ollamaModel, formatBytes(d.ollamaNeedBytes)));
                else
                    log(run,
                        QStringLiteral("Done, but %1 free is less than the %2 that %3 needs: it will still "
                                       "run partly on the CPU, with more of it on the GPU.")
                            .arg(formatBytes(freeNow), formatBytes(d.ollamaNeedBytes), d.ollamaModel));
                finish(run, true);
            });
        });
    };

    if (d.fix == CoTenancyDiagnosis::Fix::ReloadOnly)
        return askOllama();

    // Step 1: our cleanup.
    log(run,
        QStringLiteral("Freeing TwistedPic's cached GPU memory (%1).").arg(formatBytes(d.ourCachedBytes)));
    runHook(m_hooks.freeCache, [this, run, d, askOllama](Status s) {
        if (!s)
            return finish(
                run, false,
                QStringLiteral("Could not free TwistedPic's cached GPU memory: %1. Ollama was left as it "
                               "is.")
                    .arg(s.error()));
        run->report.freedOurCache = true;
        // Step 2: does what we still hold keep the Ollama model off the GPU?
        bool unloadOurs = d.fix != CoTenancyDiagnosis::Fix::FreeCacheThenReload;
        const qint64 fresh = m_hooks.deviceFreeBytes ? m_hooks.deviceFreeBytes() : -1;
        if (fresh >= 0) {
            const qint64 available = fresh + d.ollamaVramBytes;
            unloadOurs = available < d.ollamaNeedBytes;
            log(run, QStringLiteral("Now %1 free; with %2's share %3, for %4 needed.")
                         .arg(formatBytes(fresh), d.ollamaModel, formatBytes(available),
                              formatBytes(d.ollamaNeedBytes)));
        } else {
            log(run, QStringLiteral("Freed TwistedPic's cache."));
        }
        if (!unloadOurs || d.ourAllocatedBytes <= 0) {
            if (d.fix != CoTenancyDiagnosis::Fix::FreeCacheThenReload && !unloadOurs)
                log(run, QStringLiteral("That is enough: TwistedPic's model stays on the GPU."));
            return askOllama();
        }
        log(run,
            QStringLiteral("Moving TwistedPic's model (%1) to RAM: what it holds would still keep %2 off "
                           "the GPU.")
                .arg(formatBytes(d.ourAllocatedBytes), d.ollamaModel));
        runHook(m_hooks.unloadModel, [this, run, askOllama](Status u) {
            if (!u)
                return finish(
                    run, false,
                    QStringLiteral("Could not move TwistedPic's model to RAM: %1. Ollama was left as it "
                                   "is.")
                        .arg(u.error()));
            run->report.unloadedOurModel = true;
            log(run, QStringLiteral("TwistedPic's model is in RAM now; it comes back for the next image."));
            askOllama();
        });
    });
}

qint64 CoTenancy::bytesNeededBeforeGenerating(const GenerationVramEstimate& e, const OurGpuUse& ours,
                                              qint64 marginBytes) {
    const qint64 need =
        (ours.modelResident ? 0 : e.weightsBytes) + e.workingBytes - ours.cachedBytes() + marginBytes;
    return std::max<qint64>(0, need);
}

void CoTenancy::makeRoom(qint64 needBytes, qint64 freeBytes,
                         std::function<void(const CoTenancyReport&)> done) {
    auto run = std::make_shared<Run>();
    run->done = std::move(done);
    if (m_busy) {
        QTimer::singleShot(0, this, [run] {
            run->report.error = QStringLiteral("Another GPU-sharing action is still running.");
            if (run->done)
                run->done(run->report);
        });
        return;
    }
    m_busy = true;
    m_current = run;
    if (freeBytes >= needBytes) {
        QTimer::singleShot(0, this, [this, run, needBytes, freeBytes] {
            log(run, QStringLiteral("Enough room: %1 free, %2 needed. Nothing to do.")
                         .arg(formatBytes(freeBytes), formatBytes(needBytes)));
            run->report.freeBytesAfter = freeBytes;
            finish(run, true);
        });
        return;
    }
    log(run,
        QStringLiteral("The next image needs about %1 free on the GPU; %2 is free, %3 short. Asking Ollama "
                       "which models it holds.")
            .arg(formatBytes(needBytes), formatBytes(freeBytes), formatBytes(needBytes - freeBytes)));
    run->request = m_ollama->loadedModels(guarded(this, [this, run, needBytes, freeBytes](
                                                            const Result<QVector<OllamaLoadedModel>>& r) {
        if (run->over)
            return;
        if (!r)
            return finish(run, false, QStringLiteral("Could not make room: %1").arg(r.error()));
        QVector<OllamaLoadedModel> onGpu;
        for (const OllamaLoadedModel& m : *r)
            if (m.sizeVram > 0)
                onGpu << m;
        if (onGpu.isEmpty())
            return finish(run, false,
                          QStringLiteral("Ollama holds nothing on the GPU; the image may not fit (%1 short).")
                              .arg(formatBytes(needBytes - freeBytes)));
        log(run, QStringLiteral(
                     "Ollama's API cannot tell whether a model is answering a request right now, so all "
                     "%1 loaded model(s) are candidates; an unload waits for a running request to end.")
                     .arg(onGpu.size()));
        const qint64 shortfall = needBytes - freeBytes;
        // Fewest, smallest unloads: the smallest model that covers the shortfall alone,
        // else the largest first until it is covered.
        std::sort(onGpu.begin(), onGpu.end(), [](const OllamaLoadedModel& a, const OllamaLoadedModel& b) {
            return a.sizeVram < b.sizeVram;
        });
        QVector<OllamaLoadedModel> queue;
        const auto single = std::find_if(onGpu.cbegin(), onGpu.cend(),
                                         [&](const OllamaLoadedModel& m) { return m.sizeVram >= shortfall; });
        if (single != onGpu.cend()) {
            queue << *single;
        } else {
            qint64 covered = 0;
            for (auto it = onGpu.crbegin(); it != onGpu.crend() && covered < shortfall; ++it) {
                queue << *it;
                covered += it->sizeVram;
            }
        }
        unloadInTurn(run, queue, needBytes, freeBytes);
    }));
}

void CoTenancy::unloadInTurn(const std::shared_ptr<Run>& run, QVector<OllamaLoadedModel> queue,
                             qint64 needBytes, qint64 projectedFree) {
    if (queue.isEmpty()) {
        QStringList gone = run->report.unloadedOllamaModels;
        waitUntilGone(run, gone, nowMs() + m_unloadWaitMs, [this, run, needBytes, projectedFree] {
            const qint64 fresh = m_hooks.deviceFreeBytes ? m_hooks.deviceFreeBytes() : -1;
            const qint64 freeNow = fresh >= 0 ? fresh : projectedFree;
            run->report.freeBytesAfter = fresh;
            if (freeNow >= needBytes) {
                log(run,
                    QStringLiteral("Room made: %1 free%2 for %3 needed.")
                        .arg(formatBytes(freeNow), fresh >= 0 ? QString() : QStringLiteral(" (expected)"),
                             formatBytes(needBytes)));
                finish(run, true);
            } else {
                finish(
                    run, false,
                    QStringLiteral("Still short after unloading Ollama's models: %1 free for %2 needed. The "
                                   "image may not fit.")
                        .arg(formatBytes(freeNow), formatBytes(needBytes)));
            }
        });
        return;
    }
    const OllamaLoadedModel m = queue.takeFirst();
    log(run, QStringLiteral("Asking Ollama to unload %1 (%2 on the GPU, expires %3).")
                 .arg(m.name, formatBytes(m.sizeVram),
                      m.expiresAt.isValid() ? m.expiresAt.toLocalTime().toString(QStringLiteral("HH:mm:ss"))
                                            : QStringLiteral("never")));
    unloadOllama(run, m.name, [this, run, queue, needBytes, projectedFree, m](bool ok) {
        if (ok)
            unloadInTurn(run, queue, needBytes, projectedFree + m.sizeVram);
    });
}

} // namespace tp::services
