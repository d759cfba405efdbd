#pragma once

// A diffusers-layout model folder: model_index.json, one sub-folder per component with its
// config.json and safetensors weights. Torch-free: reads JSON and (on request) safetensors
// headers only; the engine opens the weights with SafeTensorsArchive::open(weightsPath).

#include "core/common/Result.h"
#include "core/io/ModelFamily.h"
#include "core/io/SafeTensorsHeader.h"

#include <QJsonObject>
#include <QMap>
#include <QString>
#include <QStringList>

#include <vector>

namespace tp::io {

// From model_index.json's _class_name and the unet / text_encoder configs (either may be empty).
// SD 1.x vs 2.x: unet cross_attention_dim 768 / 1024, else text encoder hidden_size 768 / 1024,
// else its hidden_act quick_gelu (CLIP, SD 1.x) / gelu (OpenCLIP, SD 2.x), else SD 1.x.
ModelFamily detectFamily(const QString& pipelineClass, const QJsonObject& unetConfig,
                         const QJsonObject& textEncoderConfig);

struct ModelFolderOptions {
    // Take *.fp16.safetensors variants before the full-precision files when both exist.
    bool preferFp16Variant = false;
};

struct ModelComponent {
    QString name;       // "unet"
    QString library;    // "diffusers", "transformers"
    QString className;  // "UNet2DConditionModel"
    QString folder;     // absolute path of the component's folder
    QString configPath; // config.json (scheduler_config.json, tokenizer_config.json, ...); may be empty
    QJsonObject config;
    // What to give SafeTensorsArchive::open(): a .safetensors file or a shard index. Empty for
    // components without weights (tokenizer, scheduler, feature extractor).
    QString weightsPath;
    QStringList weightFiles; // the .safetensors files weightsPath stands for (shards of an index)
    bool fp16Variant = false;

    bool hasWeights() const { return !weightsPath.isEmpty(); }
};

// What the safetensors headers of a folder's chosen weights say.
struct WeightSummary {
    qint64 tensorBytes = 0;
    QMap<DType, qint64> bytesByDType;
    // "fp16", "fp32", "bf16", "fp64" when every floating-point tensor has that type; "mixed"
    // when several float types hold data; "none" without float tensors.
    QString precision;
};

class ModelFolder final {
public:
    // Reads model_index.json and every listed component's folder and config, and picks each
    // model component's weights (see weightsPath). Fails with a message naming the file when
    // model_index.json or a config is missing or not JSON, a component's folder is missing,
    // or a model component has no safetensors weights (pickle-only folders are refused).
    // Optional components (safety_checker, feature_extractor, image_encoder) that are absent
    // or unusable are left out and mentioned in notes().
    static Result<ModelFolder> open(const QString& dir, const ModelFolderOptions& options = {});

    QString path() const { return m_path; }
    QString pipelineClass() const { return m_pipelineClass; }
    const QJsonObject& modelIndex() const { return m_modelIndex; }
    ModelFamily family() const { return m_family; }
    // The family is supported and the folder is a text-to-image model the engine can run.
    bool supported() const { return m_problem.isEmpty(); }
    // Why supported() is false ("SDXL models are not supported yet."); empty otherwise.
    QString problem() const { return m_problem; }
    QStringList notes() const { return m_notes; }

    const std::vector<ModelComponent>& components() const { return m_components; }
    const ModelComponent* component(const QString& name) const;
    QStringList componentNames() const;

    // model_index.json, each component's config files and chosen weight files.
    QStringList files() const;
    // Sum of files()' sizes, following symbolic links (the Hugging Face cache links to blobs).
    qint64 sizeOnDisk() const;
    // Reads the headers of every chosen weight file (not the weights). Fails on a damaged file.
    Result<WeightSummary> inspectWeights() const;

private:
    // Why the listed components cannot make a text-to-image model of the family; empty if they can.
    QString checkComponents() const;

    QString m_path;
    QString m_pipelineClass;
    QJsonObject m_modelIndex;
    ModelFamily m_family = ModelFamily::Unknown;
    QString m_problem;
    QStringList m_notes;
    std::vector<ModelComponent> m_components;
    QStringList m_extraFiles; // tokenizer/scheduler files
};

// Reads a JSON object file; the message names `shortName` ("unet/config.json").
Result<QJsonObject> readJsonObject(const QString& path);

} // namespace tp::io
