#pragma once

// Where a model's components come from, as the family loaders see it: each component's
// diffusers config, its weights and (for tokenizers) its folder. A diffusers folder today; a
// single-file checkpoint converts its own layout behind the same calls. Core-internal.

#include "core/common/Result.h"
#include "core/io/ModelFolder.h"
#include "core/io/SafeTensors.h"
#include "core/pipeline/Device.h"

#include <torch/nn/module.h>

#include <QJsonObject>
#include <QString>

#include <optional>

namespace tp::pipeline {

class ModelSource final {
public:
    // A diffusers folder (model_index.json + component folders). Fails when it is not one.
    static Result<ModelSource> open(const QString& path);

    const QString& path() const { return m_path; }
    io::ModelFamily family() const { return m_folder->family(); }
    // Why the family cannot run this model; empty when it can.
    QString problem() const { return m_folder->problem(); }

    // The pipeline's own settings (model_index.json: force_zeros_for_empty_prompt, …).
    QJsonObject pipelineConfig() const { return m_folder->modelIndex(); }
    bool has(const QString& component) const { return m_folder->component(component) != nullptr; }
    // The component's config.json (scheduler_config.json for the scheduler); fails when absent.
    Result<QJsonObject> config(const QString& component) const;
    // The folder holding a tokenizer's files.
    Result<QString> folder(const QString& component) const;
    // The component's weights as they are on disk (for loaders with rules of their own, as T5's).
    Result<io::SafeTensorsArchive> archive(const QString& component) const;
    // Loads the component's weights into `module` (its parameters named as in diffusers) on the
    // device in `dtype`; adds the bytes placed to *bytes.
    Status loadWeights(const QString& component, torch::nn::Module& module, const at::Device& device,
                       at::ScalarType dtype, qint64* bytes) const;

private:
    QString m_path;
    std::optional<io::ModelFolder> m_folder;
};

// A component's config parsed by Config::fromJson (nn::UNet2DConditionConfig, …); the message
// names the model and the component.
template <typename Config> Result<Config> configFor(const ModelSource& source, const QString& component) {
    Result<QJsonObject> json = source.config(component);
    if (!json)
        return Result<Config>::fail(json.error());
    Result<Config> config = Config::fromJson(*json);
    if (!config)
        return Result<Config>::fail(
            QStringLiteral("%1/%2/config.json: %3").arg(source.path(), component, config.error()));
    return config;
}

} // namespace tp::pipeline
