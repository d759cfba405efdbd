#pragma once

#include "core/common/Result.h"

#include <QString>
#include <QStringList>

#include <cstdint>
#include <vector>

// Everything a training run depends on. The defaults are the reproduce command's: one run of
// `twistedpic-train --device cuda --out DIR` on one H100 gives the bundled model.
namespace tp::train {

// The sizes of the three networks (written into their config.json files).
struct Architecture {
    int imageSize = 128;
    // AutoencoderKL: 4 levels, so latents are 1/8 of the image (16x16x4 at 128x128).
    std::vector<int> vaeChannels{32, 32, 64, 64};
    int vaeLayersPerBlock = 1;
    int vaeNormGroups = 8;
    int latentChannels = 4;
    // UNet2DConditionModel: cross-attention at 16x16 and 8x8, plain blocks at 4x4, mid block 4x4.
    std::vector<int> unetChannels{64, 96, 96};
    int unetLayersPerBlock = 1;
    int unetNormGroups = 16;
    int unetHeads = 4; // diffusers' legacy "attention_head_dim" = number of heads
    // CLIP text encoder (its hidden size is the UNet's cross_attention_dim).
    int textHidden = 128;
    int textLayers = 3;
    int textHeads = 4;
    int textIntermediate = 512;
    int maxTokens = 77;
    int textVocabSize = 0; // > vocabulary size: a larger embedding table (0: the vocabulary's size)

    // Stable Diffusion 1.5's sizes (512x512, UNet 320/640/1280/1280, CLIP ViT-L/14 text encoder).
    static Architecture sd15();
};

struct TrainOptions {
    QString outDir;
    QString workDir; // checkpoints, loss CSVs, samples; empty: <out>-training next to it
    QString device = QStringLiteral("cpu"); // cpu | cuda | cuda:N
    quint64 seed = 20250101;
    int threads = 0; // CPU threads for ATen (0: all cores)

    // Stage 1: the autoencoder.
    int vaeSteps = 2000;
    int vaeBatch = 48;
    double vaeLr = 6e-4;
    double klWeight = 1e-5;
    double edgeWeight = 0.5;

    // Stage 2: text encoder + UNet on the frozen autoencoder's latents.
    int unetSteps = 4000;
    int batch = 192;
    double unetLr = 6e-4;
    double weightDecay = 0.01;
    double captionDropout = 0.1;
    double emaDecay = 0.999;
    double offsetNoise = 0.05;
    double minSnrGamma = 5.0; // 0: plain MSE
    double gradClip = 1.0;

    int warmupSteps = 150;
    int logEvery = 25;
    int checkpointEvery = 1000;
    int evalPrompts = 40; // generated and classified at the end (0: none)
    int evalSteps = 20;
    double evalGuidance = 7.5;
    bool resume = false;
    bool benchmark = false; // time a few steps of each stage, project the full run, write nothing
    int stopAfter = 0;      // > 0: end this run once the UNet stage reaches this step (checkpointed)
    QString precision = QStringLiteral("tf32"); // tf32 | bf16 | fp32
    bool deterministic = true;
    bool smoke = false;
    // --untrained sd15: write the networks with their initial (random) weights and no training,
    // for speed and memory measurements of a full-size model (they do not depend on the values).
    QString untrained;

    Architecture arch;

    // The CI preset: tiny networks, 64x64 images, a few steps, CPU.
    static TrainOptions smokePreset();
};

// The one-line help text of every option, and parsing (arguments after the program name).
Result<TrainOptions> parseTrainOptions(const QStringList& arguments);
QString trainUsage();

// The equivalent command line, for the log and for docs/TRAINING.md.
QString describe(const TrainOptions& options);

} // namespace tp::train
