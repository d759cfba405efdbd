#pragma once

// Where a model's components come from, as the family loaders see it: each component's diffusers
// config, its weights and its tokenizer. A diffusers folder, or a single-file checkpoint
// (A1111/Civitai, SAI, BFL, ComfyUI layouts) whose names and configs io::SingleFileCheckpoint
// converts behind the same calls. Core-internal.

#include "core/common/Result.h"
#include "core/io/ModelFolder.h"
#include "core/io/SafeTensors.h"
#include "core/io/SingleFileCheckpoint.h"
#include "core/nn/WeightLoader.h"
#include "core/pipeline/Device.h"
#include "core/text/ClipTokenizer.h"
#include "core/text/T5Tokenizer.h"

#include <torch/nn/module.h>

#include <QJsonObject>
#include <QString>

#include <map>
#include <optional>

namespace tp::nn {
class T5EncoderModelImpl;
}

namespace tp::pipeline {

class ModelSource final {
public:
    // A diffusers folder (model_index.json + component folders) or a .safetensors checkpoint file.
    // Fails when it is neither, or the file is unreadable.
    // `options` apply to a single file (a config folder for what shapes cannot tell, the SD 2.x
    // prediction type).
    // For SD 3.x and Flux single files, the options' text encoder and VAE files, and those found
    // beside the checkpoint, complete it (io::SingleFileCheckpoint::companions()).
    static Result<ModelSource> open(const QString& path, const io::SingleFileOptions& options = {});

    const QString& path() const { return m_path; }
    bool isSingleFile() const { return m_file.has_value(); }
    // A single file's companion files (its separate text encoders and VAE); empty for a folder.
    QStringList companionFiles() const { return m_file ? m_file->companionFiles() : QStringList(); }
    // Leaves `component` out (has() says no, config() fails): what a run without it does not load
    // (SD 3's T5, "text_encoder_3", when the request runs without T5).
    void leaveOut(const QString& component) { m_leftOut << component; }
    io::ModelFamily family() const;
    // Why the family cannot run this model; empty when it can.
    QString problem() const;
    // The pipeline's own settings (model_index.json: force_zeros_for_empty_prompt, …).
    QJsonObject pipelineConfig() const;

    bool has(const QString& component) const;
    // The component's config.json (scheduler_config.json for the scheduler); fails when absent.
    Result<QJsonObject> config(const QString& component) const;
    // The tokenizers of the text encoders ("tokenizer", "tokenizer_2", …): the folder's, or for a
    // single file the vocabularies shipped with the app.
    Result<text::ClipTokenizer> clipTokenizer(const QString& component) const;
    Result<text::T5Tokenizer> t5Tokenizer(const QString& component) const;
    // Loads the component's weights into `module` (its parameters named as in diffusers) on the
    // device in `dtype`; adds the bytes placed to *bytes.
    Status loadWeights(const QString& component, torch::nn::Module& module, const at::Device& device,
                       at::ScalarType dtype, qint64* bytes,
                       nn::Fp8Weights fp8 = nn::Fp8Weights::AsStored) const;
    // T5's weights: the tied token embedding under either name, and from a folder with `wo` kept in
    // float32 when `dtype` is float16 (T5 overflows there).
    Status loadT5Weights(const QString& component, nn::T5EncoderModelImpl& model, const at::Device& device,
                         at::ScalarType dtype, qint64* bytes) const;

private:
    Result<QString> tokenizerFolder(const QString& component, QString* padToken) const;
    // The opened file a single file's component reads from: the checkpoint, or its companion.
    const io::SafeTensorsArchive* archiveOf(const QString& component) const;

    QString m_path;
    std::optional<io::ModelFolder> m_folder;
    std::optional<io::SingleFileCheckpoint> m_file;
    std::optional<io::SafeTensorsArchive> m_fileWeights;
    std::map<QString, io::SafeTensorsArchive> m_companionWeights; // by companion path
    QStringList m_leftOut;
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
            QStringLiteral("%1 (%2): %3").arg(source.path(), component, config.error()));
    return config;
}

} // namespace tp::pipeline
