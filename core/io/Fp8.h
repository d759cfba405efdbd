#pragma once

// 8-bit float weights (safetensors F8_E4M3 / F8_E5M2, the "fp8" files of Flux and SD 3.5 users).
// libtorch 2.1 and newer have float8 dtypes: such tensors can stay one byte per weight on the
// device and be upcast per layer just before use (core/nn/Layers.h). libtorch 1.13 has none:
// there fp8 tensors are upcast when they are loaded (exact: every fp8 value is a float32 value).
// Core only: libtorch types.

#include "core/io/SafeTensorsHeader.h"

#include <ATen/ATen.h>

#include <optional>

namespace tp::io {

// Whether this libtorch keeps fp8 tensors (float8_e4m3fn / float8_e5m2 dtypes, 2.1 and newer).
bool fp8StorageAvailable();
// The libtorch dtype of an fp8 format; nullopt when fp8StorageAvailable() is false or `dtype` is
// not an fp8 format.
std::optional<at::ScalarType> fp8ScalarType(DType dtype);
// Whether `type` is one of libtorch's float8 dtypes (always false on libtorch 1.13).
bool isFp8(at::ScalarType type);

// The float32 value of each of the 256 codes of `format` (F8_E4M3: OCP E4M3FN, no infinities,
// S.1111.111 is NaN, largest 448; F8_E5M2: IEEE-style, S.11111.00 is ±inf), on the CPU.
at::Tensor fp8DecodeTable(DType format);
// Upcasts fp8 `codes` (a uint8 tensor of the raw codes, or a float8 tensor) of `format` to
// `type` on `device`: the device's own conversion where libtorch has float8, else the table.
at::Tensor decodeFp8(const at::Tensor& codes, DType format, at::Device device, at::ScalarType type);

} // namespace tp::io
