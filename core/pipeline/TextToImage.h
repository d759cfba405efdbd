#pragma once

// Text-to-image for every family: the sampling loop over a DiffusionModel, step for step what
// diffusers' pipelines do (noise from per-image CPU generators, classifier-free guidance, one
// scheduler per image, VAE decode one image at a time). Core-internal: libtorch types.

#include "core/pipeline/DiffusionModel.h"

#include <array>
#include <functional>

namespace tp::pipeline {

struct StepInfo {
    int step = 0; // finished steps, 1..total
    int total = 0;
    const at::Tensor& latents; // current latents, [count, C, h, w]
};

struct TextToImageOutput {
    bool cancelled = false;
    at::Tensor images;  // [count, 3, H, W] float32 0..1 on the CPU
    at::Tensor latents; // [count, C, h, w] final latents before the VAE, CPU float32
    std::vector<uint64_t> seeds;
    int promptTokens = 0; // the prompt's tokens (without BOS/EOS)
    int promptChunks = 1; // CLIP's 75-token chunks the prompt took (ClipConditioning.h)
    int maxTokens = 75;   // what the encoders take without cutting
    QStringList notes;    // what the user should know (a prompt cut short, …)
    // Why the denoiser's steps ran eagerly instead of replaying a CUDA graph (DenoiserGraphs); empty
    // when they replayed one.
    QString eagerReason;
    double encodeMs = 0;
    double denoiseMs = 0;
    double decodeMs = 0;
    double firstStepMs = 0;
    // CUDA: the caching allocator's peak allocated bytes in each stage (encode, denoise, decode),
    // counted from the stage's start once its components are on the device; -1 elsewhere.
    std::array<qint64, 3> stagePeakBytes{{-1, -1, -1}};
};

// Runs the full loop. onStep is called after every step; returning false cancels (the
// output then says cancelled and holds no images). Bad parameters give a Result error, as does
// a decode that produced NaN (with the remedy); libtorch errors (out of memory among them)
// propagate as exceptions for the engine.
Result<TextToImageOutput> textToImage(DiffusionModel& model, const TextToImageParams& params,
                                      const std::function<bool(const StepInfo&)>& onStep = {});

} // namespace tp::pipeline
