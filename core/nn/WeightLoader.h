#pragma once

#include "core/common/Result.h"

#include <QString>
#include <QStringList>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

namespace tp::io {
class SafeTensorsArchive;
class WeightMap;
} // namespace tp::io

namespace tp::nn {

struct LoadReport {
    int tensors = 0;            // parameters and buffers loaded
    qint64 bytes = 0;           // their size on the target device, in the target dtype
    QStringList missingBuffers; // buffers the file lacks: left as they were
    QStringList unexpected;     // mapped tensors the module does not have (their source names)
    double milliseconds = 0;
};

// Loads every parameter and buffer of `module` from `weights`, looked up by the module's own
// names (named_parameters(), so the module tree mirrors the checkpoint). Floating-point
// tensors are converted to `dtype`, all are placed on `device`; each module tensor is replaced
// by the loaded one (set_data), so build the module on the CPU with its default options and
// let this place it. On the CPU with the file's dtype the tensors are views of the file
// mapping: no copy.
//
// A name absent from the map is also looked up in diffusers' older spelling (KeyAliases.h)
// and, when the map has nothing under the name's first segment, without that segment
// (transformers 5 writes CLIPTextModel's tensors without "text_model.").
//
// Fails, leaving the module untouched, when a parameter is missing or any shape differs
// (the message names the module — module.name(), e.g. "unet" — and the first
// mismatches); mapped tensors the module does not have are only reported.
Status loadWeights(torch::nn::Module& module, const tp::io::WeightMap& weights, at::Device device,
                   at::ScalarType dtype, LoadReport* report = nullptr);

// The same from `weights[prefix + name]`: the identity map of the archive's tensors under
// `prefix` (a diffusers folder's component).
Status loadWeights(torch::nn::Module& module, const tp::io::SafeTensorsArchive& weights,
                   const QString& prefix, at::Device device, at::ScalarType dtype,
                   LoadReport* report = nullptr);

} // namespace tp::nn
