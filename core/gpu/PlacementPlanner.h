#pragma once

// The placement planner: per generation, where each component's weights live so that the run
// fits a VRAM budget (core/gpu/VramBudget.h), as fast as that budget allows. A plan is data: a
// pure function of the components' sizes, their working memory, the budget and the options,
// printed, logged, written to the sidecar and tested on the CPU with scripted sizes. Carrying a
// plan out (moving components, streaming denoiser blocks, tiled decoding) is the engine's part.
// Torch-free.
//
// A generation has three phases; the planner predicts the peak of each and keeps the largest
// within the usable budget (budget − headroom):
//   encode   the text encoders run one after another;
//   denoise  the sampler loop runs the denoiser;
//   decode   the VAE decodes the latents.
// peak(phase) = weights on the GPU during the phase + the working memory of what runs.
//
// Placements:
//   Resident        on the GPU for the whole generation (and after it).
//   RunThenRelease  on the GPU only while it runs, in pinned RAM otherwise: a text encoder comes
//                   in, encodes and leaves before the denoiser runs; the VAE comes in to decode;
//                   a denoiser comes in for the sampler loop (diffusers' model CPU offload).
//   Streamed        the denoiser: during the loop its non-block weights and its FIRST K of N blocks
//                   (execution order) are on the GPU; blocks K..N−1 stay in pinned RAM and are
//                   copied in ahead of use on a side stream, `prefetchBlocks` in flight (the room
//                   for the largest ones is part of the peak). Copies of block K start while the
//                   resident blocks compute.
//   Cpu             T5 runs on the CPU (when not even T5 alone fits the budget).
// A Streamed or RunThenRelease denoiser with `kept` keeps its GPU part (the K blocks and non-block
// weights, or all of it) on the GPU through the encode and decode phases and between generations;
// without `kept` that part leaves while the text encoders and the VAE run and comes back for the
// loop (a copy of its bytes from pinned RAM per generation).
//
// Decision order (planPlacement):
//   1. everything resident, if it fits;
//   2. release text encoders and the VAE around the denoiser, largest first, one at a time;
//   3. the denoiser leaves the GPU while they run (not kept);
//   then, phase by phase:
//   4. decode does not fit: tiled VAE decode (if allowed);
//   5. denoise does not fit: fp8 storage of the denoiser (if allowed), then streaming with as many
//      blocks resident as fit (keeping room for `prefetchBlocks` in flight);
//   6. encode does not fit: T5 on the CPU (if allowed);
//   7. polish: keep the denoiser's part on the GPU between phases, and small components resident,
//      wherever that still fits.
// A plan that does not fit even so is returned with fits = false and `problem` saying why.

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <array>
#include <optional>
#include <vector>

namespace tp::gpu {

enum class ComponentKind { TextEncoder, T5, Denoiser, Vae };
// "text encoder", "T5", "denoiser", "VAE"
QString componentKindName(ComponentKind kind);

enum class Placement { Resident, RunThenRelease, Streamed, Cpu };
// "resident", "run-then-release", "streamed", "cpu" (as the sidecar writes them)
QString placementName(Placement placement);

// Which of `count` denoiser blocks stay on the GPU when `resident` of them do: spread evenly, so that
// every streamed block has resident blocks before it to hide its copy behind (the BlockStreamer's
// choice, and what the planner's figures assume).
std::vector<bool> spreadResident(int count, int resident);

enum class Phase { Encode, Denoise, Decode };
QString phaseName(Phase phase); // "encode", "denoise", "decode"

// One component as the planner sees it. Bytes are what the weights take on the GPU at the run's
// precision (not on disk).
struct ComponentSize {
    QString name;  // the diffusers component: "text_encoder_3", "transformer", "unet", "vae"
    QString label; // for people: "T5", "CLIP-L", "CLIP-G", "transformer", "UNet", "VAE"
    ComponentKind kind = ComponentKind::TextEncoder;
    qint64 weightBytes = 0;
    qint64 activationBytes = 0; // working memory while it runs (estimated, or learned)
    // The denoiser: its blocks in execution order and the rest (embeddings, final layers);
    // weightBytes = nonBlockBytes + Σ blockBytes. Empty blocks: it cannot be streamed.
    std::vector<qint64> blockBytes;
    qint64 nonBlockBytes = 0;
    // The denoiser with its large (2-D and up) weights stored in fp8; empty: fp8 is no lever
    // (not offered, or the weights are fp8 already).
    std::vector<qint64> fp8BlockBytes;
    qint64 fp8NonBlockBytes = 0;
    // The VAE: working memory of a tiled decode; 0 = tiling not possible.
    qint64 tiledActivationBytes = 0;

    // A denoiser of `blocks` equal blocks of `perBlock` bytes plus `rest`.
    static ComponentSize denoiser(const QString& name, const QString& label, int blocks, qint64 perBlock,
                                  qint64 rest, qint64 activation);
    int blocks() const { return int(blockBytes.size()); }
    bool canUseFp8() const { return kind == ComponentKind::Denoiser && !fp8BlockBytes.empty(); }
};

struct PlannerOptions {
    bool fp8Allowed = false;    // the denoiser may be stored in fp8 on the GPU
    bool tilingAllowed = true;  // the VAE may decode in tiles
    bool t5OnCpuAllowed = true; // T5 may run on the CPU
    int prefetchBlocks = 2;     // streamed blocks in flight
    // Kept free under the budget for what no estimate sees (allocator fragmentation, the latents,
    // the text embeddings). -1: 5 % of the budget, at least 256 MiB, at most 1 GiB.
    qint64 headroomBytes = -1;
};

struct PlanInput {
    std::vector<ComponentSize> components; // at most one denoiser and one VAE
    qint64 budgetBytes = 0;
    PlannerOptions options;
    int steps = 0; // denoising steps, for the bytes streamed per image (0: not shown)
};

struct ComponentPlan {
    ComponentSize size;
    Placement placement = Placement::Resident;
    int residentBlocks = 0; // Streamed: K (spread evenly: spreadResident()); otherwise all of them
    bool fp8 = false;       // the denoiser is stored in fp8
    bool kept = true;       // its GPU part stays between phases (Resident: always)
    bool tiled = false;     // the VAE decodes in tiles

    // Weights on the GPU while it runs (a streamed denoiser: non-block + K blocks + prefetch room).
    qint64 runningBytes = 0;
    // Weights that stay on the GPU while others run (Resident, or a kept denoiser's part).
    qint64 stayingBytes = 0;
    // "GPU", "on demand", "on the GPU while denoising", "22 of 38 blocks on the GPU, 16 streamed", "CPU".
    QString placementText() const;
};

struct PhasePeak {
    qint64 weightBytes = 0;     // weights on the GPU at the phase's peak
    qint64 activationBytes = 0; // working memory of what runs then
    QString runs;               // the component whose run makes the peak ("T5")
    qint64 peak() const { return weightBytes + activationBytes; }
};

struct Plan {
    PlanInput input;
    std::vector<ComponentPlan> components; // in the input's order
    qint64 budgetBytes = 0;
    qint64 headroomBytes = 0;
    qint64 usableBytes = 0; // budget − headroom: what the predicted peak must stay within
    std::array<PhasePeak, 3> phases;
    qint64 predictedPeakBytes = 0;   // the largest phase peak
    qint64 streamedBytesPerStep = 0; // bytes copied in per denoiser call (streamed blocks)
    bool fits = false;
    QString problem; // when !fits: what does not fit, and what would help
    int level = 0;   // shrink steps taken from the first plan

    const ComponentPlan* find(ComponentKind kind) const;
    const ComponentPlan* denoiser() const { return find(ComponentKind::Denoiser); }
    const ComponentPlan* vae() const { return find(ComponentKind::Vae); }
    const PhasePeak& phase(Phase p) const { return phases[size_t(p)]; }
    bool vaeTiled() const;
    // "T5: CPU · CLIP-L: GPU · transformer: 22 of 38 blocks on the GPU, 16 streamed · VAE: on demand"
    QString description() const;
    // description() + " · peak 11.2 GiB of 12.0 GiB"
    QString summary() const;
    // Everything above for the sidecar and the log.
    QJsonObject toJson() const;
};

// The plan for `input` (decision order above).
Plan planPlacement(const PlanInput& input);

// One step lower, for the retry after an out-of-memory error, in this order: release every
// component still resident beside the denoiser; stop keeping the denoiser's part between phases;
// tile the VAE decode; store the denoiser in fp8 (if allowed); fewer resident blocks (streaming
// starts, or max(1, N/8) blocks fewer); T5 on the CPU. `where` (the phase that ran out of memory)
// skips the steps that cannot help it. nullopt when nothing lower exists.
std::optional<Plan> shrink(const Plan& plan, std::optional<Phase> where = std::nullopt);

// planPlacement() followed by `level` shrink steps (fewer when the lowest plan comes first);
// the result's `level` says how many were taken. The engine passes the level learned from an
// earlier out-of-memory error (PlanMemory::level).
Plan planAtLevel(const PlanInput& input, int level);

} // namespace tp::gpu
