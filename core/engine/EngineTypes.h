#pragma once

#include "core/gpu/MemoryTypes.h"
#include "core/gpu/VramBudget.h"
#include "core/io/ModelFamily.h"

#include <QImage>
#include <QJsonObject>
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVariantMap>
#include <QVector>

// The engine's requests, results and events. Torch-free: the UI and the CLI see only these.
namespace tp::engine {

struct GenerationRequest {
    quint64 id = 0; // set by the caller; 0 = let Engine::submit assign one
    QString model;  // catalogue name or folder path; empty = the default model
    QString prompt;
    QString negativePrompt;
    QString sampler = QStringLiteral("euler_a");
    int steps = 20;
    double guidance = 7.5;
    double trueCfgScale = 1.0; // Flux: > 1 with a negative prompt = diffusers' true CFG (a second pass)
    int width = 512;           // multiples of 8
    int height = 512;
    qint64 seed = -1;                      // -1: random; image i uses seed + i
    int count = 1;                         // images per prompt (one batch)
    int clipSkip = 1;                      // 1 = last layer
    io::SizeConditioning sizeConditioning; // SDXL micro-conditioning; default: the image size
    // SD 3.x: run without the T5 text encoder (zeros in its place, as diffusers allows): it is not
    // loaded, or released from the GPU if it was (io::FamilyTraits::optionalT5). Other families
    // refuse it (Flux needs its T5).
    bool withoutT5 = false;
    // Decode the VAE in overlapping tiles (nn::VaeTiling, diffusers' enable_tiling()): less memory
    // for large images, small differences at the tile seams. Recorded as "VAE tiling: on", or the
    // tile size in pixels when one was given (0: the VAE's default tile).
    bool vaeTiling = false;
    int vaeTileSize = 0;
    // SD 3.x / Flux single files: text encoder files (CLIP-L, CLIP-G, T5-XXL) and a VAE file for
    // what the checkpoint lacks (io::SingleFileOptions); empty: found beside the checkpoint.
    QStringList textEncoderFiles;
    QString vaeFile;
    QString device = QStringLiteral("auto");    // auto | cpu | cuda | cuda:N
    QString precision = QStringLiteral("auto"); // auto | fp16 | bf16 | fp32
    // VRAM budget for this run: "auto", "all" or a size (gpu::parseBudget, core/gpu/VramBudget.h);
    // empty: the policy's (the setting gpu/vramBudget).
    QString vramBudget;
    // The Ollama models' memory as GET /api/ps listed it just before the request was submitted
    // (the generation coordinator fills it): an "auto" budget leaves them the VRAM they still miss
    // plus the margin. Not known (Ollama down, no answer in time, a CPU run): the budget leaves
    // only the reserve, as the device's free memory already excludes what they hold.
    QVector<gpu::OllamaVram> ollamaVram;
    bool ollamaVramKnown = false;
    QString outputDir; // where the PNG + JSON sidecar go; empty = don't write files
    // Progress carries a latent preview (at most ~5 a second: each one waits for the GPU and copies the
    // latents back); off where nothing shows it (the CLI), so the denoising loop never waits.
    bool preview = true;
    QVariantMap extra; // recorded in the sidecar as is (e.g. prompt-pipeline stages)
};

// After-generation GPU policy, pushed from Settings into the engine.
struct GpuPolicy {
    bool cleanupAfterGeneration = true;
    bool unloadAfterGeneration = false;
    double idleUnloadMinutes = 0; // 0 = off
    // Issue 16: the VRAM budget a generation plans within ("auto", "all", a size; gpu/vramBudget),
    // the reserve auto leaves to other programs (gpu/vramReserveMiB) and the margin beside Ollama's
    // models (services/makeRoomMarginMiB).
    QString vramBudget = QStringLiteral("auto");
    qint64 vramReserveBytes = 2048LL << 20;
    qint64 ollamaMarginBytes = 512LL << 20;
    // Issue 17: replay the denoiser step as a captured CUDA graph (gpu/cudaGraphs).
    bool cudaGraphs = true;
};

// Memory figures of the engine's device (its CUDA index in `device`): gpu::MemorySnapshot.
using MemoryFigures = gpu::MemorySnapshot;

struct Timings {
    double loadMs = 0;    // model load or reload before this generation (0 when resident)
    double encodeMs = 0;  // text encoder
    double denoiseMs = 0; // sampler loop
    double decodeMs = 0;  // VAE
    double cleanupMs = 0; // after-generation cleanup/unload
    double totalMs = 0;
    double firstStepMs = 0; // request start to first finished step
    double itPerSec = 0;
};

struct GenerationResult {
    GenerationRequest request; // as run: resolved model, seed, device, precision
    QString modelName;
    QString modelFolder;
    QStringList companionFiles; // a single file's separate text encoder and VAE files, as loaded
    QString device;             // "cuda:0 (NVIDIA H100 80GB HBM3)" or "cpu"
    QVector<QImage> images;
    QVector<qint64> seeds; // one per image
    QStringList files;     // written PNGs (empty when outputDir was empty)
    Timings timings;
    MemoryFigures memoryBeforeCleanup;
    MemoryFigures memoryAfterCleanup;
    bool unloaded = false; // weights moved to RAM after this generation
    GpuPolicy policy;      // the after-generation policy that was applied
    QString warning;       // e.g. the files could not be written (disk full): the images are still here
    QStringList notes;     // what the user should know about the run (a prompt cut short, …)
    // The placement plan the run used (gpu::Plan::toJson(), with "summary"); empty without one.
    QJsonObject plan;
    QString writeError; // the output files could not all be written; `files` lists those that were
};

enum class State { Idle, Loading, Generating, Cleaning, Unloading, Reloading };
QString stateName(State s);

// Something the GPU-memory policy did, for the log and for markers on the VRAM graph.
struct MemoryEvent {
    enum class Kind { GenerationStart, GenerationEnd, Cleanup, Unload, Reload, Load, OutOfMemory };
    Kind kind = Kind::Cleanup;
    qint64 msecsSinceEpoch = 0;
    MemoryFigures before;
    MemoryFigures after;
    double durationMs = 0;
    QString detail;
};

struct Progress {
    quint64 id = 0;
    int step = 0; // finished steps, 1..total
    int total = 0;
    double itPerSec = 0;
    double secondsLeft = 0;
    QImage preview; // cheap latent->RGB approximation, small
};

} // namespace tp::engine

Q_DECLARE_METATYPE(tp::engine::GenerationRequest)
Q_DECLARE_METATYPE(tp::engine::GenerationResult)
Q_DECLARE_METATYPE(tp::engine::GpuPolicy)
Q_DECLARE_METATYPE(tp::engine::MemoryEvent)
Q_DECLARE_METATYPE(tp::engine::Progress)
Q_DECLARE_METATYPE(tp::engine::State)
