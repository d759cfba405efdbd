#pragma once

#include "core/io/SafeTensors.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <QString>

#include <utility>
#include <vector>

namespace tp::test {

// max |a - b| in double (inf when the shapes differ).
double maxAbsError(const at::Tensor& a, const at::Tensor& b);

// Fills every parameter with seeded random values of a sane scale (norm weights near 1).
void randomizeModule(torch::nn::Module& module, uint64_t seed);

// The module's parameters and buffers, named as loadWeights expects them.
std::vector<std::pair<QString, at::Tensor>> namedTensors(const torch::nn::Module& module,
                                                         const QString& prefix = {});

} // namespace tp::test
