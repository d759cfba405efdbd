#pragma once

#include "core/common/Result.h"
#include "core/engine/EngineTypes.h"

// The one check of a generation request before anything runs (the form, the CLI and the
// generation coordinator all use it). The numbers are in core/common/GenerationLimits.h.
namespace tp::engine {

// Ok, or the first problem in words a person can act on ("--steps" style names are the CLI's
// business: messages name the setting, e.g. "steps: 0 is outside 1..150").
Status checkRequest(const GenerationRequest& request);

} // namespace tp::engine
