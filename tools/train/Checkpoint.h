#pragma once

#include "core/common/Result.h"

#include <ATen/ATen.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <QString>

#include <optional>
#include <string>

// A training checkpoint: named tensors, numbers, strings and optimizer states in one file
// (libtorch's archive format), written atomically.
namespace tp::train {

class CheckpointWriter final {
public:
    void tensor(const std::string& key, const at::Tensor& value);
    void integer(const std::string& key, int64_t value);
    void number(const std::string& key, double value);
    void text(const std::string& key, const std::string& value);
    void optimizer(const std::string& key, const torch::optim::Optimizer& optimizer);
    // Writes PATH.tmp, then renames it over PATH.
    Status save(const QString& path);

private:
    torch::serialize::OutputArchive m_archive;
};

class CheckpointReader final {
public:
    static Result<CheckpointReader> open(const QString& path, at::Device device);
    // Undefined / nullopt when absent.
    at::Tensor tensor(const std::string& key);
    std::optional<int64_t> integer(const std::string& key);
    std::optional<double> number(const std::string& key);
    std::optional<std::string> text(const std::string& key);
    bool optimizer(const std::string& key, torch::optim::Optimizer& optimizer);
    // Copies a stored tensor into `target` (same shape); false when absent or different.
    bool copyInto(const std::string& key, at::Tensor target);

private:
    CheckpointReader() = default;
    std::shared_ptr<torch::serialize::InputArchive> m_archive;
};

} // namespace tp::train
