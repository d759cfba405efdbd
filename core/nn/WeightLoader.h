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
    int fp8Tensors = 0;         // of those, kept or stored in fp8
    qint64 bytes = 0;           // their size on the target device, in the target dtype
    QStringList missingBuffers; // buffers the file lacks: left as they were
    QStringList unexpected;     // mapped tensors the module does not have (their source names)
    double milliseconds = 0;
};

// What loading does with 8-bit float (fp8) weights (core/io/Fp8.h). Only the weights and biases of
// linear and convolution layers (nn::Linear, nn::Conv2d) can stay 8-bit: those layers upcast them
// to their input's dtype per call. Keeping or storing fp8 needs libtorch 2.1+; with 1.13 AsStored
// is Upcast, and Store fails.
enum class Fp8Weights {
    Upcast,   // every floating-point tensor becomes `dtype` (fp8 in the file is decoded when loaded)
    AsStored, // the layers' tensors that the file holds in fp8 stay fp8 (a Flux fp8 checkpoint,
              // t5xxl_fp8_e4m3fn); everything else becomes `dtype`
    Store,    // as AsStored, and the layers' other weights and biases are rounded to float8_e4m3fn,
              // except those diffusers' enable_layerwise_casting skips (names with "pos_embed",
              // "patch_embed" or "norm", and top-level proj_in / proj_out)
};

// Whether Fp8Weights::Store rounds the layer `moduleName` (a dotted name inside the component).
bool storesFp8(const QString& moduleName);

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
                   at::ScalarType dtype, LoadReport* report = nullptr, Fp8Weights fp8 = Fp8Weights::AsStored);

// The same from `weights[prefix + name]`: the identity map of the archive's tensors under
// `prefix` (a diffusers folder's component).
Status loadWeights(torch::nn::Module& module, const tp::io::SafeTensorsArchive& weights,
                   const QString& prefix, at::Device device, at::ScalarType dtype,
                   LoadReport* report = nullptr, Fp8Weights fp8 = Fp8Weights::AsStored);

} // namespace tp::nn
