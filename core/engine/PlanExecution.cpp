#include "core/engine/PlanExecution.h"

#include "core/common/Bytes.h"
#include "core/common/Log.h"
#include "core/gpu/BlockStreamer.h"
#include "core/gpu/ModelProfile.h"
#include "core/io/ModelFamily.h"
#include "core/nn/VaeTiling.h"
#include "core/pipeline/DiffusionModel.h"

#include <torch/version.h>

#include <algorithm>

namespace tp::engine {

Result<std::optional<gpu::Plan>> makePlan(const PlanContext& c, const gpu::PlanMemory& memory,
                                          QString* budgetLine) {
    using R = Result<std::optional<gpu::Plan>>;
    const Result<gpu::BudgetSetting> setting = gpu::parseBudget(c.budget, QStringLiteral("VRAM budget"));
    if (!setting)
        return R::fail(setting.error());
    if (!c.snapshot.cuda || setting->mode == gpu::BudgetSetting::Mode::All)
        return R::ok(std::nullopt);

    gpu::BudgetInputs in;
    in.setting = *setting;
    if (c.snapshot.deviceTotalBytes >= 0 && c.snapshot.deviceUsedBytes >= 0) {
        in.deviceTotalBytes = c.snapshot.deviceTotalBytes;
        in.deviceFreeBytes = c.snapshot.deviceTotalBytes - c.snapshot.deviceUsedBytes;
    }
    in.ourReservedBytes = std::max<qint64>(0, c.snapshot.reservedBytes);
    in.ollama = c.ollama;
    in.ollamaMarginBytes = c.ollamaMarginBytes;
    in.reserveBytes = c.reserveBytes;
    const gpu::VramBudget budget = gpu::computeBudget(in);
    if (budgetLine)
        *budgetLine = budget.explanation;
    if (budget.bytes < 0)
        return R::ok(std::nullopt); // no device reading: nothing to plan against

    gpu::ProfileOptions options;
    options.precision = c.precision;
    options.withoutT5 = c.withoutT5;
    options.textEncoderFiles = c.textEncoderFiles;
    options.vaeFile = c.vaeFile;
    Result<gpu::ModelProfile> profile = gpu::profileModel(c.modelPath, options);
    if (!profile)
        return R::fail(profile.error());
    for (const QString& note : profile->notes)
        spdlog::info("plan: {}", note.toStdString());

    gpu::PlanRequest request;
    request.size = {c.width, c.height, c.count};
    request.guidance = c.guidance;
    request.trueCfg = c.trueCfg;
    request.steps = c.steps;
    request.materializedAttention = TORCH_VERSION_MAJOR < 2;
    gpu::PlannerOptions plannerOptions;
    plannerOptions.fp8Allowed = false; // fp8 storage is the user's precision choice: the profile has it
    const gpu::PlanInput input = gpu::planInput(*profile, request, budget.bytes, plannerOptions, &memory);
    return R::ok(gpu::planAtLevel(input, memory.level(c.modelPath, request.size)));
}

bool keepsEverythingResident(const gpu::Plan& plan) {
    return std::all_of(plan.components.begin(), plan.components.end(),
                       [](const gpu::ComponentPlan& c) { return c.placement == gpu::Placement::Resident; });
}

namespace {
pipeline::ComponentPlacement modelPlacement(const gpu::ComponentPlan& c) {
    switch (c.placement) {
    case gpu::Placement::Resident:
        return pipeline::ComponentPlacement::Resident;
    case gpu::Placement::RunThenRelease:
        return pipeline::ComponentPlacement::RunThenRelease;
    case gpu::Placement::Streamed: // its GPU part stays between phases when kept
        return c.kept ? pipeline::ComponentPlacement::Resident : pipeline::ComponentPlacement::RunThenRelease;
    case gpu::Placement::Cpu:
        return pipeline::ComponentPlacement::Cpu;
    }
    return pipeline::ComponentPlacement::Resident;
}
} // namespace

Status applyPlan(pipeline::DiffusionModel& model, const gpu::Plan& plan) {
    // Streaming first, while the denoiser is on the device (setStreaming needs it there).
    const gpu::ComponentPlan* denoiser = plan.denoiser();
    const bool stream = denoiser && denoiser->placement == gpu::Placement::Streamed;
    if (model.streamer() && !stream)
        if (Status s = model.stopStreaming(); !s)
            return s;
    if (stream) {
        gpu::BlockStreamerOptions options;
        options.residentBlocks = denoiser->residentBlocks;
        options.slots = std::max(1, plan.input.options.prefetchBlocks);
        if (Status s = model.setStreaming(options); !s)
            return s;
    }
    for (const gpu::ComponentPlan& c : plan.components) {
        if (!model.hasComponent(c.size.name))
            continue;
        // T5 on the CPU in bfloat16 where that keeps its values (half the RAM of float32).
        if (Status s = model.setPlacement(c.size.name, modelPlacement(c), at::kBFloat16); !s)
            return s;
    }
    if (plan.vaeTiled() && !model.vaeTiling())
        model.setVaeTiling(nn::VaeTiling{});
    return model.settleWeights(); // a model loaded into host memory: each part where the plan says
}

Status clearPlan(pipeline::DiffusionModel& model) {
    if (model.streamer())
        if (Status s = model.stopStreaming(); !s)
            return s;
    for (const pipeline::ModelComponentRef& c : model.components())
        if (model.placement(c.name) != pipeline::ComponentPlacement::Resident)
            if (Status s = model.setPlacement(c.name, pipeline::ComponentPlacement::Resident); !s)
                return s;
    return model.settleWeights();
}

gpu::TransferReport combinedTransfer(const QString& verb, const QString& model,
                                     const std::vector<gpu::TransferReport>& parts,
                                     const gpu::MemorySnapshot& before, const gpu::MemorySnapshot& after,
                                     double ms) {
    gpu::TransferReport r;
    r.before = before;
    r.after = after;
    r.totalMs = ms;
    for (const gpu::TransferReport& p : parts) {
        r.cuda = r.cuda || p.cuda;
        r.moved = r.moved || p.moved;
        r.tensors += p.tensors;
        r.bytes += p.bytes;
        r.pinnedAllocatedBytes += p.pinnedAllocatedBytes;
        r.pinMs += p.pinMs;
        r.copyMs += p.copyMs;
        r.cleanupMs += p.cleanupMs;
    }
    r.message = QStringLiteral("%1 %2: %3 in %4 tensors in %5 ms (%6 GB/s%7); device used %8 -> %9")
                    .arg(verb, model, formatBytes(r.bytes))
                    .arg(r.tensors)
                    .arg(ms, 0, 'f', 1)
                    .arg(r.gigabytesPerSecond(), 0, 'f', 1)
                    .arg(r.pinnedAllocatedBytes > 0 ? QStringLiteral(", pinned %1 in %2 ms")
                                                          .arg(formatBytes(r.pinnedAllocatedBytes))
                                                          .arg(r.pinMs, 0, 'f', 1)
                                                    : QString())
                    .arg(formatBytes(before.deviceUsedBytes), formatBytes(after.deviceUsedBytes));
    return r;
}

std::optional<gpu::Phase> phaseOf(pipeline::Stage stage) {
    switch (stage) {
    case pipeline::Stage::Encode:
        return gpu::Phase::Encode;
    case pipeline::Stage::Denoise:
        return gpu::Phase::Denoise;
    case pipeline::Stage::Decode:
        return gpu::Phase::Decode;
    case pipeline::Stage::Idle:
        break;
    }
    return std::nullopt;
}

} // namespace tp::engine
