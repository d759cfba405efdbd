#include "core/engine/MemoryCycle.h"

#include "core/io/ModelCatalogue.h"

#include "core/common/Log.h"
#include "core/engine/PlanExecution.h"
#include "core/gpu/GpuMemory.h"
#include "core/pipeline/TextToImage.h"

#include <QElapsedTimer>
#include <QThread>

namespace tp::engine {

Result<MemoryCycleReport> runMemoryCycle(const MemoryCycleOptions& o,
                                         const std::function<void(const MemoryCycleRow&)>& onRow) {
    using R = Result<MemoryCycleReport>;
    const io::ModelFamily family =
        io::ModelCatalogue::inspect(o.modelFolder, QStringLiteral("folder")).familyId;
    Result<pipeline::DeviceChoice> device =
        pipeline::resolveDevice(o.device, io::familyPrecision(o.precision, family));
    if (!device)
        return R::fail(device.error());
    const int index = device->device.is_cuda() ? std::max<int>(0, device->device.index()) : 0;
    gpu::MemoryManager memory(index);
    MemoryCycleReport report;
    report.device = device->description;
    auto row = [&](const QString& label, double ms) {
        MemoryCycleRow r{label, memory.snapshot(), ms};
        report.rows.push_back(r);
        if (onRow)
            onRow(r);
    };
    QElapsedTimer t;
    const auto ms = [&t] { return static_cast<double>(t.nsecsElapsed()) / 1e6; };

    pipeline::TextToImageParams p;
    p.prompt = o.prompt;
    p.sampler = o.sampler;
    p.width = o.width;
    p.height = o.height;
    p.steps = o.steps;
    p.count = o.count;
    p.seed = 1234;

    // The VRAM budget, planned before the load and carried out as the engine does for a generation.
    PlanContext plan;
    plan.modelPath = o.modelFolder;
    plan.precision = o.precision;
    plan.width = o.width;
    plan.height = o.height;
    plan.count = o.count;
    plan.steps = o.steps;
    plan.guidance = p.guidance;
    plan.budget = o.vramBudget.isEmpty() ? QStringLiteral("auto") : o.vramBudget;
    plan.reserveBytes = o.vramReserveBytes;
    plan.ollamaMarginBytes = o.ollamaMarginBytes;
    plan.ollama = o.ollama;
    gpu::startCuda(index); // a reading of the device before anything loads
    plan.snapshot = memory.snapshot();
    gpu::PlanMemory learned;
    if (Status s = learned.load(); !s)
        spdlog::warn("plan memory: {}", s.error().toStdString());
    Result<std::optional<gpu::Plan>> made = makePlan(plan, learned, &report.budget);
    if (!made)
        return R::fail(made.error());
    pipeline::DeviceChoice loadChoice = *device;
    loadChoice.loadOnHost = *made && !keepsEverythingResident(**made);

    row(QStringLiteral("before load"), 0);
    t.start();
    pipeline::LoadStats stats;
    Result<std::unique_ptr<pipeline::DiffusionModel>> model =
        pipeline::loadModel(o.modelFolder, loadChoice, &stats);
    if (!model)
        return R::fail(model.error());
    report.weightBytes = stats.weightBytes;
    row(loadChoice.loadOnHost ? QStringLiteral("after load (host)") : QStringLiteral("after load"),
        stats.milliseconds);
    if (*made) {
        t.restart();
        if (Status s = applyPlan(**model, **made); !s)
            return R::fail(s.error());
        report.plan = (*made)->summary();
        row(QStringLiteral("after placing"), ms());
    }
    if (device->device.is_cuda()) // the budget caps the allocator from here on, as in the engine
        gpu::setAllocatorLimit(index, *made ? (*made)->budgetBytes : -1);
    t.restart();
    {
        Result<pipeline::TextToImageOutput> out = pipeline::textToImage(**model, p);
        if (!out)
            return R::fail(out.error());
        report.itPerSec = out->denoiseMs > 0 ? o.steps * 1000.0 / out->denoiseMs : 0;
    } // the images and latents are freed here, as in the app before its cleanup
    const double generateMs = ms();
    MemoryCycleRow peak{QStringLiteral("peak during generation"), memory.snapshot(), generateMs};
    report.peakAllocatedBytes = peak.memory.peakAllocatedBytes;
    report.rows.push_back(peak);
    if (onRow)
        onRow(peak);
    row(QStringLiteral("after generation"), 0);

    if (o.cleanup) {
        const gpu::CleanupReport c = memory.cleanup();
        row(QStringLiteral("after cleanup"), c.durationMs);
    }
    if (o.unload) { // as the engine: every component to pinned RAM, then back what stays resident
        t.restart();
        (*model)->releaseAll();
        row(QStringLiteral("after unload"), ms());
        t.restart();
        (*model)->beforeStage(pipeline::Stage::Idle);
        row(QStringLiteral("after reload"), ms());
    }
    if (o.settleSeconds > 0) {
        QThread::sleep(static_cast<unsigned long>(o.settleSeconds));
        row(QStringLiteral("%1 s later").arg(o.settleSeconds), 0);
    }
    return R::ok(report);
}

} // namespace tp::engine
