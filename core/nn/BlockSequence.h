#pragma once

// The seam for streaming a denoiser's weights block by block (core/gpu/BlockStreamer.h): a denoiser
// whose forward() runs an ordered list of blocks says which they are and calls hooks around each.
// Without hooks set it runs exactly as before (one null check per block).

#include <torch/nn/module.h>

#include <vector>

namespace tp::nn {

// Called by the denoiser around block `index` of its blocks(), on the thread that runs it.
// beforeBlock() must leave the block's weights usable on the compute device; afterBlock() is called
// once the block's work has been queued (not necessarily finished on the device).
class BlockHooks {
public:
    virtual ~BlockHooks() = default;
    virtual void beforeBlock(int index) = 0;
    virtual void afterBlock(int index) = 0;
};

// Mixed into a denoiser module (UNet2DConditionImpl, SD3Transformer2DImpl, FluxTransformer2DImpl).
// Contract: one forward() runs every block of blocks() once, in that order; the parameters and
// buffers outside the blocks are used around them and never inside them.
class BlockSequence {
public:
    virtual ~BlockSequence() = default;
    // The blocks in the order forward() runs them (UNet: down blocks, mid block, up blocks; SD 3:
    // transformer_blocks; Flux: transformer_blocks then single_transformer_blocks).
    virtual std::vector<torch::nn::Module*> blocks() const = 0;
    // Null: no hooks. The hooks must outlive their use.
    void setBlockHooks(BlockHooks* hooks) { m_blockHooks = hooks; }
    BlockHooks* blockHooks() const { return m_blockHooks; }

protected:
    void beforeBlock(int index) const {
        if (m_blockHooks)
            m_blockHooks->beforeBlock(index);
    }
    void afterBlock(int index) const {
        if (m_blockHooks)
            m_blockHooks->afterBlock(index);
    }

private:
    BlockHooks* m_blockHooks = nullptr;
};

} // namespace tp::nn
