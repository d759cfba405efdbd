#pragma once

// CUDA graphs for the denoiser step (issue 17): one denoiser evaluation captured once per set of
// input shapes and replayed for every step after it, so that a step costs one graph launch instead
// of hundreds of kernel launches from the host. A model keeps one DenoiserGraphs
// (DiffusionModel::denoiserGraphs()); the sampling loop asks it for every step.
//
// A captured graph bakes in addresses and shapes, so each is cached under everything that decides
// them: the shapes, strides and dtypes of the inputs (latents, timestep, each conditioning tensor),
// the guidance where the family's denoiser embeds it (Flux), the CUDA math switches (TF32, cuDNN,
// attention backends), and a fingerprint of the denoiser's weights (the data_ptr, dtype and size of
// every parameter and buffer, taken once per generation in begin()). Weights that moved (an unload
// and reload, another placement, another precision or model) change the fingerprint, and every graph
// captured for the old ones is dropped before it could replay.
//
// A step replays like this: the step's inputs are copied into the graph's own input tensors (device
// to device, on the current stream), the graph is launched on the current stream, and its output is
// cloned for the caller (samplers keep model outputs across steps; the graph overwrites its own on
// the next replay). The first step of a new shape runs the denoiser once eagerly on the capture
// stream (cuBLAS/cuDNN handles, workspaces and lazily made tensors come into being outside the
// capture), captures it, then replays it.
//
// Where a graph cannot or must not be used the step runs eagerly, exactly as without this class,
// and the reason is logged once: graphs turned off (the setting gpu/cudaGraphs, or
// TWISTEDPIC_CUDA_GRAPHS=0), a denoiser with block hooks (streamed blocks: their hooks do host work
// and wait on events between blocks), not a CUDA device, a libtorch older than 2.0, or a capture that
// failed (caught; the capture is ended and the graph and its memory freed; that shape then stays
// eager until the weights change).
//
// Memory: all graphs of one DenoiserGraphs share one memory pool, which holds about one denoiser
// step's working memory for as long as a graph lives (the caching allocator's reserved, not
// allocated, bytes). clear() frees the graphs; the pool's memory is then the allocator's again (an
// allocation that would fail takes it back, and gpu::MemoryManager::cleanup() returns it to the
// driver). While graphs live, MemoryManager::cleanup() keeps cuBLAS's workspaces (the graphs' kernels
// use the one of the capture stream).
//
// Core-internal: libtorch types. Single-threaded like the model it belongs to.

#include "core/pipeline/DiffusionModel.h"

#include <ATen/core/Tensor.h>

#include <QString>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace tp::pipeline {

struct DenoiserGraphStats {
    int captures = 0;       // graphs captured (a recapture after the weights moved counts again)
    int replays = 0;        // steps that replayed a graph
    int eagerSteps = 0;     // steps run eagerly (graphs off, not possible, or a failed capture)
    int failedCaptures = 0; // captures that threw (the step then ran eagerly)
    int dropped = 0;        // graphs dropped: weights moved, clear(), or the cache was full
};

class DenoiserGraphs final {
public:
    // One evaluation of the denoiser (the family's denoise() with the request's guidance).
    using Denoise =
        std::function<at::Tensor(const at::Tensor& x, const at::Tensor& timestep, const Conditioning& cond)>;

    // At most this many graphs at once; a new shape beyond it drops them all first.
    static constexpr int kMaxGraphs = 4;

    DenoiserGraphs();
    ~DenoiserGraphs();
    DenoiserGraphs(const DenoiserGraphs&) = delete;
    DenoiserGraphs& operator=(const DenoiserGraphs&) = delete;

    // Once per generation, before its first step: whether its steps may replay graphs, and the
    // fingerprint of `denoiser`'s weights they must have been captured with (graphs of other weights
    // are dropped here). `hooked`: the denoiser's blocks run with hooks (streaming). `guidance`: the
    // guidance scale where denoise() embeds it in the graph (Flux), nullopt where it does not.
    // Returns why the steps will run eagerly, or an empty string when they will replay graphs.
    QString begin(torch::nn::Module& denoiser, const at::Device& device, bool hooked,
                  std::optional<double> guidance, bool enabled);

    // One step's denoiser evaluation: a replay of the graph for these inputs (captured first if there
    // is none), or `denoise(x, timestep, cond)` where begin() said no or the capture fails. The result
    // belongs to the caller. Call it inside c10::InferenceMode, as the sampling loop does.
    at::Tensor run(const at::Tensor& x, const at::Tensor& timestep, const Conditioning& cond,
                   const Denoise& denoise);

    // Why the current generation's steps run eagerly (begin()'s answer, or the failed capture's);
    // empty while they replay graphs.
    const QString& eagerReason() const { return m_reason; }
    int size() const { return static_cast<int>(m_entries.size()); }
    const DenoiserGraphStats& stats() const { return m_stats; }
    // The caching allocator's bytes reserved while the graphs were captured (their shared pool, about
    // one step's working memory); 0 without graphs.
    qint64 poolBytes() const { return m_poolBytes; }

    // Frees every graph and its memory pool (DiffusionModel::releaseGraphs()).
    void clear();

    // Tests: every capture throws inside the capture, as one that CUDA refuses would (the fallback path).
    void setFailCapture(bool fail) { m_failCapture = fail; }

private:
    struct Entry;
    struct Cuda;
    using Key = std::vector<int64_t>;

    Key keyFor(const at::Tensor& x, const at::Tensor& timestep, const Conditioning& cond) const;
    Entry* find(const Key& key);
    Entry* capture(const Key& key, const at::Tensor& x, const at::Tensor& timestep, const Conditioning& cond,
                   const Denoise& denoise);
    void drop(const char* why);
    void fallBack(const QString& reason);

    std::unique_ptr<Cuda> m_cuda; // the capture stream and the pool (CUDA builds); outlives the graphs
    std::vector<std::unique_ptr<Entry>> m_entries;
    std::vector<std::pair<Key, QString>>
        m_failed;               // captures that failed (and why): eager until the weights change
    std::set<QString> m_logged; // reasons already logged
    DenoiserGraphStats m_stats;
    QString m_reason;
    uint64_t m_weights = 0; // fingerprint of the weights the graphs were captured with
    int m_device = -1;
    bool m_active = false; // this generation may replay graphs
    bool m_failCapture = false;
    std::optional<double> m_guidance;
    qint64 m_poolBytes = 0;
};

} // namespace tp::pipeline
