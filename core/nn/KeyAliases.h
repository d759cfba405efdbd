#pragma once

#include <QString>
#include <QStringList>

namespace tp::nn {

// Older spellings a diffusers-format checkpoint may use for one of the module's tensor
// names, tried by loadWeights when the current name is absent. Diffusers renamed the
// attention blocks' query/key/value/proj_attn to to_q/to_k/to_v/to_out.0 (many hub files,
// among them Stable Diffusion 1.5's VAE, were converted to safetensors before that).
// Table-driven; other layouts (single-file LDM checkpoints) need a real converter.
QStringList legacyNames(const QString& name);

} // namespace tp::nn
