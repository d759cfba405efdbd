#pragma once

// Small helpers for writing diffusers' step() formulas in C++.
//
// In Python the per-step coefficients are 0-d float32 tensors (elements of `sigmas` or
// `alphas_cumprod`); arithmetic between them is float32, which C++ `float` arithmetic reproduces
// exactly (+ - * / sqrt are correctly rounded; `x ** 2` is x * x and `x ** 0.5` is sqrt(x) in
// torch's pow kernel). Combining such a coefficient with a tensor goes through an at::Scalar:
// torch reads 0-d CPU tensors and Python numbers alike as scalars in the op's compute type, so
// `sigma * model_output` in Python and `modelOutput * scalar(sigma)` here give the same bits on
// CPU and CUDA.

#include <ATen/core/Tensor.h>
#include <c10/core/Scalar.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <vector>

namespace tp::sched {

inline at::Scalar scalar(float v) {
    return at::Scalar(static_cast<double>(v));
}

// table[i] with Python's indexing rules (negative counts from the end), as diffusers' indexing
// of alphas_cumprod with a timestep tensor does.
inline float pyIndex(const std::vector<float>& table, int64_t i) {
    const auto n = static_cast<int64_t>(table.size());
    const int64_t j = i < 0 ? i + n : i;
    TORCH_CHECK(j >= 0 && j < n, "timestep ", i, " is outside the training schedule of ", n, " steps");
    return table[static_cast<size_t>(j)];
}

} // namespace tp::sched
