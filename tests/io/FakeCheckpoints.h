#pragma once

// Single-file checkpoints in the original LDM/SGM key layout, small enough to write in a test:
// the names and shapes an SD 1.x/2.x/SDXL file (or a part of one) would hold at the given
// sizes, written as sparse zero-filled safetensors files (the header is real, the data area a
// hole), for detection, config inference and catalogue tests. Torch-free.

#include "tests/io/FakeModels.h"

#include <QMap>
#include <QString>

#include <vector>

namespace tp::test {

enum class FakeCheckpointKind { SD1, SD2, SDXL, SDXLRefiner };

struct FakeCheckpointOptions {
    QString dtype = QStringLiteral("F16");
    std::vector<qint64> channels{64, 128, 128}; // UNet block_out_channels
    std::vector<qint64> depth{1, 1, 0};         // transformer blocks per level (0: no attention)
    qint64 layers = 2;                          // resnets per down level
    qint64 inChannels = 4;                      // 9: inpainting
    qint64 clipWidth = 64;                      // OpenAI CLIP-L stand-in
    qint64 openClipWidth = 128;                 // OpenCLIP stand-in (SD 2.x, SDXL's bigG)
    qint64 textLayers = 2;
    qint64 projection = 96; // OpenCLIP text_projection width
    qint64 contextDim = 0;  // 0: what the text encoders give
    std::vector<qint64> vaeChannels{32, 64};
    qint64 latentChannels = 4;
    bool withUnet = true;
    bool withVae = true;
    bool withText = true;
};

// The tensors of such a checkpoint, by name.
std::vector<FakeTensor> fakeCheckpointTensors(FakeCheckpointKind kind,
                                              const FakeCheckpointOptions& options = {});
// An LDM VAE's tensors under `prefix` ("first_stage_model.", or "" for a standalone VAE file).
std::vector<FakeTensor> fakeLdmVaeTensors(const QString& prefix, const FakeCheckpointOptions& options = {});

// Writes a safetensors file whose data area is a hole (sparse: no disk used, reads as zeros).
bool writeSparseSafeTensors(const QString& path, const std::vector<FakeTensor>& tensors,
                            const QMap<QString, QString>& metadata = {});

} // namespace tp::test
