#pragma once

// The index of a sharded safetensors weight set (`*.safetensors.index.json`):
// {"metadata": {"total_size": 123}, "weight_map": {"tensor.name": "model-00001-of-00002.safetensors"}}.
// Torch-free: the catalogue reads it to size a model without loading anything.

#include "core/common/Result.h"

#include <QMap>
#include <QString>
#include <QStringList>

namespace tp::io {

struct ShardIndex {
    QString path;                     // the index file
    QMap<QString, QString> weightMap; // tensor name → absolute path of its shard
    QStringList shards;               // absolute paths, each once, sorted
    QMap<QString, QString> metadata;  // "metadata" strings and numbers, as text
};

// Reads and checks an index: weight_map must be an object of non-empty strings naming files
// in the index's own folder (no folders, no "..").
Result<ShardIndex> readShardIndex(const QString& indexPath);

// "model.safetensors.index.json", "diffusion_pytorch_model.safetensors.index.fp16.json",
// "model.fp16.safetensors.index.json".
bool isShardIndexFileName(const QString& fileName);

} // namespace tp::io
