#pragma once

// The torch side of single-file checkpoints: a component's mapping (SingleFileCheckpoint.h)
// made into a WeightMap over the memory-mapped file, for nn::loadWeights.
//
//     auto ckpt = io::SingleFileCheckpoint::open(path);            // header only
//     auto file = io::SafeTensorsArchive::open(ckpt->path());      // maps the weights once
//     auto unet = io::singleFileComponent(*ckpt, *file, "unet");   // config + WeightMap
//     auto config = nn::UNet2DConditionConfig::fromJson(unet->config);
//     nn::UNet2DCondition module(*config);
//     nn::loadWeights(*module, unet->weights, device, dtype);

#include "core/common/Result.h"
#include "core/io/SingleFileCheckpoint.h"
#include "core/io/WeightMap.h"

#include <QJsonObject>
#include <QString>

namespace tp::io {

struct SingleFileComponent {
    QString name;       // "unet", "vae", "text_encoder", "text_encoder_2"
    QJsonObject config; // what the component's config.json would say
    WeightMap weights;  // the engine's names → the file's tensors
};

// The mapping's tensors as a WeightMap over `archives` (each source's archive index).
WeightMap weightMapOf(const ComponentMapping& mapping, const std::vector<SafeTensorsArchive>& archives);

// `component` of `checkpoint`, reading from `file` (SafeTensorsArchive::open(checkpoint.path()),
// opened once for all components). Fails when the checkpoint has no such component.
Result<SingleFileComponent> singleFileComponent(const SingleFileCheckpoint& checkpoint,
                                                const SafeTensorsArchive& file, const QString& component);
// The same, opening the file itself.
Result<SingleFileComponent> singleFileComponent(const SingleFileCheckpoint& checkpoint,
                                                const QString& component);

} // namespace tp::io
