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
    bool quantConv = true; // SD 3/Flux VAEs have none
};

// SD 3.x (SAI's MMDiT layout) and Flux (BFL's layout) files at small sizes.
struct FakeDitOptions {
    QString dtype = QStringLiteral("BF16");
    QString prefix = QStringLiteral("model.diffusion_model."); // "" for BFL's own files
    QString vaePrefix = QStringLiteral("first_stage_model.");  // "vae." in ComfyUI's Flux files
    qint64 hidden = 128;
    qint64 headDim = 64; // Flux.1: 128
    int layers = 3;      // joint blocks (SD 3) or double blocks (Flux)
    int singleLayers = 2;
    std::vector<int> dualAttention; // SD 3.5 Medium: the first 13 blocks
    bool qkNorm = false;            // SD 3.5
    bool guidance = true;           // Flux dev
    bool clipL = true, clipG = true, t5 = true, vae = true;
    qint64 clipLWidth = 64, clipGWidth = 128, t5Width = 64;
};
std::vector<FakeTensor> fakeSd3Tensors(const FakeDitOptions& options = {});
std::vector<FakeTensor> fakeFluxTensors(const FakeDitOptions& options);

// The tensors of such a checkpoint, by name.
std::vector<FakeTensor> fakeCheckpointTensors(FakeCheckpointKind kind,
                                              const FakeCheckpointOptions& options = {});
// An LDM VAE's tensors under `prefix` ("first_stage_model.", or "" for a standalone VAE file).
std::vector<FakeTensor> fakeLdmVaeTensors(const QString& prefix, const FakeCheckpointOptions& options = {});

// Writes a safetensors file whose data area is a hole (sparse: no disk used, reads as zeros).
bool writeSparseSafeTensors(const QString& path, const std::vector<FakeTensor>& tensors,
                            const QMap<QString, QString>& metadata = {});

} // namespace tp::test
