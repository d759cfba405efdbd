#pragma once

// Issue 16's glue between the planner and a loaded model: the VRAM budget and placement plan of
// one generation, made from the budget setting, the device's memory at the start of the run and
// the model's files (core/gpu/VramBudget.h, ModelProfile.h, PlacementPlanner.h, PlanMemory.h), and
// carried out on the model (DiffusionModel's component placements, denoiser block streaming and
// tiled VAE decode). Engine-internal: libtorch types.

#include "core/common/Result.h"
#include "core/gpu/MemoryTypes.h"
#include "core/gpu/PlacementPlanner.h"
#include "core/gpu/PlanMemory.h"
#include "core/gpu/VramBudget.h"

#include <QString>
#include <QStringList>

#include <optional>
#include <vector>

namespace tp::pipeline {
class DiffusionModel;
enum class Stage;
} // namespace tp::pipeline

namespace tp::engine {

struct PlanContext {
    QString modelPath; // the folder or file (the PlanMemory key)
    QString precision; // as the settings spell it ("auto", "bf16", "fp8", ...)
    bool withoutT5 = false;
    QStringList textEncoderFiles;
    QString vaeFile;
    int width = 512;
    int height = 512;
    int count = 1;
    int steps = 20;
    double guidance = 7.5;
    bool trueCfg = false;
    QString budget = QStringLiteral("auto"); // "auto" | "all" | a size (gpu::parseBudget)
    qint64 reserveBytes = 2048LL << 20;      // gpu/vramReserveMiB
    qint64 ollamaMarginBytes = 512LL << 20;  // services/makeRoomMarginMiB
    QVector<gpu::OllamaVram> ollama;         // Ollama's loaded models, when known
    gpu::MemorySnapshot snapshot;            // the device now (free = total - used)
};

// Whether every component of `plan` stays on the device whole (nothing released, streamed or on the
// CPU): a model for it may load straight onto the device.
bool keepsEverythingResident(const gpu::Plan& plan);

// The plan for this generation, or nullopt when none applies: no CUDA device, or the budget is "all"
// (everything stays resident, as before issue 16). Fails for a budget that does not parse and for a
// model whose files cannot be profiled. `budgetLine` gets the budget's explanation for the log.
Result<std::optional<gpu::Plan>> makePlan(const PlanContext& context, const gpu::PlanMemory& memory,
                                          QString* budgetLine = nullptr);

// Carries `plan` out on `model`: each component's placement (Resident, RunThenRelease, T5 on the
// CPU), the denoiser's streaming with the plan's resident blocks, tiled VAE decode when the plan
// tiles (a tiling the request asked for stays). The model is on its device as loaded, or in host
// memory (loaded with DeviceChoice::loadOnHost): then each part goes where the plan puts it
// (DiffusionModel::settleWeights()), and nothing more than the plan's resident parts reaches the device.
Status applyPlan(pipeline::DiffusionModel& model, const gpu::Plan& plan);
// Everything resident again and no streaming (the budget no longer asks for a plan). Fails when the
// device has no room to bring the streamed blocks (or a model loaded into host memory) onto it.
Status clearPlan(pipeline::DiffusionModel& model);

// One report for a whole model from its components' (DiffusionModel::releaseAll(), beforeStage()'s
// lastTransfers()): `verb` ("unload", "reload") and `model` name it in the message.
gpu::TransferReport combinedTransfer(const QString& verb, const QString& model,
                                     const std::vector<gpu::TransferReport>& parts,
                                     const gpu::MemorySnapshot& before, const gpu::MemorySnapshot& after,
                                     double ms);

// The planner's phase for the stage a model was in (when an out-of-memory error came); nullopt for Idle.
std::optional<gpu::Phase> phaseOf(pipeline::Stage stage);

} // namespace tp::engine
