#pragma once

// Ollama's loaded models as the VRAM budget counts them (issue 16: an "auto" budget leaves them
// the VRAM they still miss plus a margin, core/gpu/VramBudget.h). One conversion for the
// generation coordinator (the desktop app and `generate`) and the CLI's `plan` and `memtest`.

#include "core/gpu/VramBudget.h"
#include "core/services/OllamaClient.h"

#include <QVector>

namespace tp::services {

// How long a generation or a plan waits for GET /api/ps before it goes on without Ollama's figures
// (the budget then leaves the reserve alone). Ollama answers it from memory in milliseconds.
constexpr int OllamaVramTimeoutMs = 1500;
// How old an answer seen by someone else (the app's Services poller) may be and still be used.
constexpr int OllamaVramMaxAgeMs = 10000;

// name, size and size_vram of each model, in /api/ps's order.
QVector<gpu::OllamaVram> toOllamaVram(const QVector<OllamaLoadedModel>& loaded);

} // namespace tp::services
