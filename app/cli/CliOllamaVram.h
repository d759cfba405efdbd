#pragma once

#include "core/gpu/VramBudget.h"

#include <QString>
#include <QVector>

namespace tp {
class Settings;
}

namespace tp::cli {

// Ollama's loaded models for an "auto" VRAM budget (`plan`, `memtest`; `generate` gets them from the
// generation coordinator, as the app does): GET /api/ps at the settings' Ollama URL, waiting at
// most services::OllamaVramTimeoutMs (a local event loop: fine in app/, never in core/). Empty when
// Ollama does not answer or answers garbage; *note then says why.
QVector<gpu::OllamaVram> ollamaVramNow(const Settings& settings, QString* note);

} // namespace tp::cli
