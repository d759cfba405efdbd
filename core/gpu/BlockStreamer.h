#pragma once

// Streams a denoiser's blocks through a few device buffers ("slots"): K blocks stay on the device,
// the others live in page-locked host memory and are copied in on a separate CUDA stream ahead of
// their turn, so that the copies overlap the blocks before them (ComfyUI's async offload, diffusers'
// group offload with streams). Core-internal (libtorch types).
//
// How: the streamed blocks' weights are laid out block by block in one pinned host allocation, with
// the same byte layout as a slot, so that bringing a block in is one copy. Before block i runs, the
// compute stream waits for the event its copy recorded and the block's parameters are pointed at
// views of the slot; after it, the compute stream records a "slot free" event that the next copy
// into that slot waits for, the parameters are pointed back at their host buffers (the parked
// state) and the next blocks are prefetched into free slots. Slots are allocated once (each the
// size of the largest streamed block) and reused: no allocator churn, no record_stream needed.
// Values are copied bit for bit, so streamed and resident denoising give identical results.
//
// Without CUDA (a CPU device) the same bookkeeping runs with synchronous copies between the host
// buffers and CPU slots, so that CPU tests exercise it.

#include "core/common/Result.h"
#include "core/nn/BlockSequence.h"

#include <c10/core/Device.h>

#include <QString>
#include <QtGlobal>

#include <memory>
#include <vector>

namespace tp::gpu {

struct BlockStreamerOptions {
    // Blocks kept on the device, spread evenly over the sequence (gpu::spreadResident()), so that every
    // streamed block has resident blocks before it to hide its copy behind. 0..count.
    int residentBlocks = 0;
    // Device buffers for the streamed blocks, each the size of the largest: 2 = one block computes
    // while the next one loads; more prefetches further ahead. At least 1.
    int slots = 2;
    // Tests on the CPU: parked blocks use buffers of NaN (0xFF bytes) instead of their host copies,
    // so that a block run without being brought in gives NaN instead of the right answer. Ignored
    // on CUDA, where running a parked block fails anyway (its weights are host tensors).
    bool poisonParked = false;
};

struct BlockStreamerStats {
    qint64 copies = 0;      // blocks copied into a slot
    qint64 bytesCopied = 0; // their bytes
    qint64 reused = 0;      // blocks used again from the slot they were still in (no copy)
};

// Bytes of a module's distinct parameters and buffers.
qint64 moduleBytes(const torch::nn::Module& module);
// The module's distinct parameters and buffers, in named_parameters() then named_buffers() order.
std::vector<at::Tensor> moduleTensors(const torch::nn::Module& module);

class BlockStreamer final : public nn::BlockHooks {
public:
    // Takes over the weights of `blocks` (a BlockSequence's blocks(), in order), which must all be
    // on `device` (CUDA, or the CPU for the synchronous mode) or in host memory (a model loaded with
    // DeviceChoice::loadOnHost: its resident blocks are then moved to `device`). Fails when they are
    // elsewhere, when the options are out of range, or when host memory cannot be had; the blocks are then
    // left as they were. The caller sets the returned streamer as the sequence's hooks.
    static Result<std::unique_ptr<BlockStreamer>> create(std::vector<torch::nn::Module*> blocks,
                                                         c10::Device device,
                                                         const BlockStreamerOptions& options = {});
    // restore(); when that fails the weights stay in host memory (logged).
    ~BlockStreamer() override;
    BlockStreamer(const BlockStreamer&) = delete;
    BlockStreamer& operator=(const BlockStreamer&) = delete;

    void beforeBlock(int index) override;
    void afterBlock(int index) override;

    // Frees the slots' device memory (waits for queued copies and compute first), e.g. while the
    // VAE decodes; they are allocated again by the next beforeBlock().
    void releaseSlots();
    // Puts every streamed block back on the device as it was before create() and frees the host
    // buffers; afterwards the hooks do nothing. Strong guarantee: on failure (CUDA out of memory)
    // the streamer keeps working as before.
    Status restore();
    bool restored() const;
    // Forgets the blocks without copying them back (their module is going away): they keep their
    // host buffers; afterwards the hooks do nothing.
    void discard();

    c10::Device device() const;
    int blockCount() const;
    int residentCount() const;
    bool isResident(int index) const;
    qint64 blockBytes(int index) const; // the block's parameters and buffers
    int slotCount() const;
    qint64 slotBytes() const;       // one slot (the largest streamed block, aligned)
    qint64 deviceSlotBytes() const; // what the slots hold on the device now (0 once released)
    qint64 hostBytes() const;       // the host buffers of the streamed blocks
    bool pageLocked() const;        // the host buffers are page-locked (CUDA)
    const BlockStreamerStats& stats() const;
    // "22 of 38 blocks on the GPU, 16 streamed (2 slots of 301 MiB, 4.7 GiB pinned RAM)".
    QString describe() const;

private:
    struct Impl;
    explicit BlockStreamer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> d;
};

} // namespace tp::gpu
