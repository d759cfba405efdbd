#pragma once

// Tiny diffusers folders and Hugging Face cache trees for the model folder / catalogue tests.
// Weights are real safetensors files (zero-filled, a few tensors) written without torch.

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <vector>

namespace tp::test {

struct FakeTensor {
    QString name;
    QString dtype; // "F32", "F16", ...
    std::vector<qint64> shape;
};

// Writes a valid safetensors file; returns false on I/O failure.
bool writeTinySafeTensors(const QString& path, const std::vector<FakeTensor>& tensors);
bool writeJson(const QString& path, const QJsonObject& object);
bool writeText(const QString& path, const QByteArray& bytes);

enum class FakeFamily { SD1, SD2, SDXL, SD3, Flux };

struct FakeModelOptions {
    QString dtype = QStringLiteral("F32"); // dtype of the float tensors
    QString vaeDtype;                      // different VAE dtype ("mixed" models); empty = dtype
    bool fp16VariantOnly = false;          // weights as *.fp16.safetensors only
    bool withFp16Variant = false;          // also *.fp16.safetensors next to the plain files
    bool shardedUnet = false;              // unet (or transformer) as two shards + index
    int unetInChannels = 4;                // 9 = an inpainting UNet
};

// Builds a diffusers folder of `family` at `dir` (model_index.json, configs, tokenizer, weights).
bool makeFakeModel(const QString& dir, FakeFamily family, const FakeModelOptions& options = {});

// Moves the files of the model folder `staging` into a Hugging Face cache entry for `repoId`:
// blobs/<sha256>, snapshots/<revision>/... as relative symbolic links, refs/main = revision
// (unless writeRef is false). Returns the snapshot folder, or an empty string on failure.
QString addToFakeHfCache(const QString& cacheDir, const QString& repoId, const QString& staging,
                         const QString& revision, bool writeRef = true);

// Sum of the sizes of every file below dir, following links.
qint64 totalFileSize(const QString& dir);

} // namespace tp::test
