#pragma once

#include "app/cli/Cli.h"
#include "core/services/PromptPipeline.h"

namespace tp::cli {

// Runs the prompt pipeline to the end for a CLI command (a local event loop: fine in
// app/, never in core/). Clients are set up from ctx.settings. For `generate
// --distort mode,tone,gain`:
//   auto config = services::PromptPipelineConfig::withDistortSpec(
//       services::PromptPipelineConfig::fromSettings(ctx.settings), spec);
//   const services::PromptPipelineResult r = runPromptPipeline(ctx, prompt, *config);
//   if (!r.ok) { ctx.err << r.error << "\n"; return Failure; }
//   request.prompt = r.finalPrompt; request.extra["promptPipeline"] = r.record;
services::PromptPipelineResult runPromptPipeline(Context& ctx, const QString& prompt,
                                                 const services::PromptPipelineConfig& config);

} // namespace tp::cli
