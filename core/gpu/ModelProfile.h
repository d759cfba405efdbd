#pragma once

// What a model's components take on the GPU, read from the safetensors headers and configs alone
// (never the weights), and the planner input of one request built from it. Torch-free: the CLI's
// `plan` and the engine share it. A diffusers folder or a single-file checkpoint (with its
// companion files) both work; names are diffusers' in either case, so the denoiser's blocks are
// found by their key prefixes:
//   UNet         down_blocks.N. · mid_block. · up_blocks.N.      (counts from down/up_block_types)
//   SD 3.x       transformer_blocks.N.                           (num_layers)
//   Flux         transformer_blocks.N. then single_transformer_blocks.N.  (num_layers, num_single_layers)
// Everything else of the denoiser (embeddings, norms, final layer) is its non-block part.

#include "core/common/Result.h"
#include "core/gpu/PlacementPlanner.h"
#include "core/gpu/PlanMemory.h"
#include "core/io/ModelFamily.h"
#include "core/services/VramEstimate.h"

#include <QString>
#include <QStringList>

#include <vector>

namespace tp::gpu {

struct ProfileOptions {
    // The run's precision as the settings spell it: auto, fp16, bf16, fp32, fp8, fp8:bf16 ...
    QString precision = QStringLiteral("auto");
    bool withoutT5 = false;       // SD 3.x run without T5: it is left out
    QStringList textEncoderFiles; // single files: companions (io::SingleFileOptions)
    QString vaeFile;
};

struct TextEncoderProfile {
    QString component; // "text_encoder_3"
    services::TextEncoderShape shape;
};

struct ModelProfile {
    QString path;
    io::ModelFamily family = io::ModelFamily::Unknown;
    QString familyName;                      // "SD 3.x"
    QString precision;                       // resolved: "bf16", "fp16", "fp32", "fp8:bf16"
    std::vector<ComponentSize> components;   // sizes and blocks; activations 0 (see planInput)
    services::GenerationShape denoiserShape; // the estimator's figures for the denoiser (no size yet)
    std::vector<TextEncoderProfile> textEncoders;
    QStringList notes; // things worth a log line (a block count the config and the keys disagree on)
};

Result<ModelProfile> profileModel(const QString& modelPath, const ProfileOptions& options = {});

struct PlanRequest {
    RequestSize size;
    double guidance = 7.5; // > 1: classifier-free guidance doubles the denoiser's batch (not Flux)
    bool trueCfg = false;  // Flux true CFG: a second pass, run one after the other (no larger batch)
    // libtorch 1.13's plain attention holds the score matrix; 2.x's fused kernels do not.
    bool materializedAttention = false;
    int vaeTileSide = 512; // pixels; the tiled decode's tile
    int steps = 0;
};

// The planner's input for one request: the profile's sizes, the estimator's working memory for
// each component (max(formula, learned · 1.1) when `learned` is given), the budget and options.
PlanInput planInput(const ModelProfile& profile, const PlanRequest& request, qint64 budgetBytes,
                    const PlannerOptions& options, const PlanMemory* learned = nullptr);

} // namespace tp::gpu
