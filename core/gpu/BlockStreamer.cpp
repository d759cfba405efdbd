#include "core/gpu/BlockStreamer.h"

#include "core/common/Bytes.h"
#include "core/common/Log.h"
#include "core/gpu/GpuMemory.h"
#include "core/gpu/PlacementPlanner.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <torch/version.h>

#if TWISTEDPIC_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <algorithm>
#include <optional>
#include <unordered_set>

namespace tp::gpu {
namespace {

constexpr int64_t kAlign = 256; // cudaMemcpy's liking; keeps every dtype aligned

int64_t alignUp(int64_t n) {
    return (n + kAlign - 1) / kAlign * kAlign;
}

int64_t tensorBytes(const at::Tensor& t) {
    return static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size());
}

// A tensor shaped like `like` over `base`'s bytes from `offset` (`like` is dense: its strides).
// The view keeps `base` alive. Made outside inference mode, so that parameters pointed at it stay
// ordinary tensors.
at::Tensor carve(const at::Tensor& base, int64_t offset, const at::Tensor& like) {
    const c10::InferenceMode notInference(false);
    at::Tensor keep = base;
    return at::from_blob(
        static_cast<uint8_t*>(base.data_ptr()) + offset, like.sizes(), like.strides(), [keep](void*) {},
        at::TensorOptions().dtype(like.dtype()).device(base.device()));
}

// Points the parameter or buffer `t` (shared with the module) at `data`.
void point(at::Tensor& t, const at::Tensor& data) {
    const c10::InferenceMode notInference(false);
    t.set_data(data);
}

} // namespace

std::vector<at::Tensor> moduleTensors(const torch::nn::Module& module) {
    std::vector<at::Tensor> out;
    std::unordered_set<const void*> seen;
    auto add = [&](const at::Tensor& t) {
        if (t.defined() && seen.insert(t.unsafeGetTensorImpl()).second)
            out.push_back(t);
    };
    for (const auto& item : module.named_parameters(/*recurse=*/true))
        add(item.value());
    for (const auto& item : module.named_buffers(/*recurse=*/true))
        add(item.value());
    return out;
}

qint64 moduleBytes(const torch::nn::Module& module) {
    qint64 total = 0;
    for (const at::Tensor& t : moduleTensors(module))
        total += tensorBytes(t);
    return total;
}

struct BlockStreamer::Impl {
    struct Block {
        std::vector<at::Tensor> tensors; // the module's own (they share its TensorImpls)
        std::vector<int64_t> offsets;    // byte offsets in the block's layout (a slot's)
        int64_t layoutBytes = 0;
        qint64 bytes = 0;
        bool resident = true;
        int order = -1;                 // position among the streamed blocks
        at::Tensor host;                // uint8 view of its host region
        std::vector<at::Tensor> home;   // per tensor: its host copy
        std::vector<at::Tensor> parked; // per tensor: what it uses while not on the device
        int slot = -1;                  // the slot that holds it or receives it
    };
    struct Slot {
        at::Tensor bytes;
        std::vector<std::vector<at::Tensor>> views; // [streamed order][tensor]
        int block = -1;
        bool pending = false; // loaded ahead of its use
        bool inUse = false;   // between beforeBlock() and afterBlock()
        uint64_t lastUse = 0;
#if TWISTEDPIC_WITH_CUDA
        std::optional<at::cuda::CUDAEvent> ready; // recorded on the copy stream after its copy
        std::optional<at::cuda::CUDAEvent> free;  // recorded on the compute stream after its use
#endif
    };

    c10::Device device{c10::kCPU};
    BlockStreamerOptions options;
    std::vector<Block> blocks;
    std::vector<int> streamed; // block indices in order
    std::vector<Slot> slots;
    bool slotsAllocated = false;
    int64_t slotLayoutBytes = 0;
    at::Tensor host;
    bool locked = false;
    int cursor = 0;   // streamed order of the next block to prefetch
    int expected = 0; // streamed order of the next block to run
    uint64_t tick = 0;
    bool isRestored = false;
    BlockStreamerStats stats;
#if TWISTEDPIC_WITH_CUDA
    std::optional<c10::cuda::CUDAStream> copyStream;
#endif

    bool cuda() const {
        return device.is_cuda();
    }

    void synchronize() {
#if TWISTEDPIC_WITH_CUDA
        if (cuda()) {
            const c10::cuda::CUDAGuard guard(device);
            c10::cuda::device_synchronize();
        }
#endif
    }

    void allocateSlots() {
        if (slotsAllocated)
            return;
        const at::TensorOptions options = at::TensorOptions().dtype(at::kByte).device(device);
        for (Slot& s : slots) {
            s.bytes = at::empty({slotLayoutBytes}, options);
            s.views.assign(streamed.size(), {});
            for (size_t o = 0; o < streamed.size(); ++o) {
                const Block& b = blocks[static_cast<size_t>(streamed[o])];
                for (size_t k = 0; k < b.tensors.size(); ++k)
                    s.views[o].push_back(carve(s.bytes, b.offsets[k], b.tensors[k]));
            }
            s.block = -1;
            s.pending = s.inUse = false;
#if TWISTEDPIC_WITH_CUDA
            if (cuda()) {
                // The caching allocator may hand out memory whose previous owner's kernels are still
                // queued on the compute stream: the first copy into the slot waits for them.
                s.ready.emplace();
                s.free.emplace();
                s.free->record(c10::cuda::getCurrentCUDAStream(device.index()));
            }
#endif
        }
        slotsAllocated = true;
    }

    // Issues the copy of block `index` into slot `si`.
    void load(int index, int si) {
        Slot& s = slots[static_cast<size_t>(si)];
        Block& b = blocks[static_cast<size_t>(index)];
        if (s.block >= 0)
            blocks[static_cast<size_t>(s.block)].slot = -1;
        s.block = index;
        b.slot = si;
        at::Tensor target = s.bytes.narrow(0, 0, b.layoutBytes);
#if TWISTEDPIC_WITH_CUDA
        if (cuda()) {
            const c10::cuda::CUDAStreamGuard guard(*copyStream);
            s.free->block(*copyStream);
            target.copy_(b.host, /*non_blocking=*/true);
            s.ready->record(*copyStream);
        } else
#endif
        {
            target.copy_(b.host);
        }
        ++stats.copies;
        stats.bytesCopied += b.bytes;
    }

    // A slot that may be overwritten: not in use, not holding a prefetched block; an empty one
    // first, else the least recently used. -1 when none.
    int freeSlot() const {
        int best = -1;
        for (size_t i = 0; i < slots.size(); ++i) {
            const Slot& s = slots[i];
            if (s.inUse || s.pending)
                continue;
            if (s.block < 0)
                return static_cast<int>(i);
            if (best < 0 || s.lastUse < slots[static_cast<size_t>(best)].lastUse)
                best = static_cast<int>(i);
        }
        return best;
    }

    // Queues the next streamed blocks, in order of use (wrapping to the next forward), into free
    // slots.
    void prefetch() {
        const int m = static_cast<int>(streamed.size());
        for (int n = 0; n < m; ++n) {
            Block& b = blocks[static_cast<size_t>(streamed[static_cast<size_t>(cursor)])];
            if (b.slot >= 0) {
                Slot& s = slots[static_cast<size_t>(b.slot)];
                if (s.inUse || s.pending)
                    break;        // caught up with what is queued or running
                s.pending = true; // still in its slot from last time
                ++stats.reused;
            } else {
                const int si = freeSlot();
                if (si < 0)
                    break;
                load(streamed[static_cast<size_t>(cursor)], si);
                slots[static_cast<size_t>(si)].pending = true;
            }
            cursor = (cursor + 1) % m;
        }
    }

    void release(Slot& s) {
        Block& b = blocks[static_cast<size_t>(s.block)];
#if TWISTEDPIC_WITH_CUDA
        if (cuda())
            s.free->record(c10::cuda::getCurrentCUDAStream(device.index()));
#endif
        s.inUse = false;
        for (size_t k = 0; k < b.tensors.size(); ++k)
            point(b.tensors[k], b.parked[k]);
    }

    void before(int index) {
        if (isRestored || index < 0 || index >= static_cast<int>(blocks.size()))
            return;
        Block& b = blocks[static_cast<size_t>(index)];
        if (b.resident)
            return;
        allocateSlots();
        for (Slot& s : slots)
            if (s.inUse) // a forward that threw between before and after
                release(s);
        const int m = static_cast<int>(streamed.size());
        if (b.order != expected || b.slot < 0 || !slots[static_cast<size_t>(b.slot)].pending) {
            // Not the block expected next (first use, or an interrupted forward): forget what was
            // prefetched and go on from this block.
            for (Slot& s : slots)
                s.pending = false;
            cursor = (b.order + 1) % m;
            if (b.slot < 0) {
                int si = freeSlot();
                if (si < 0)
                    si = 0;
                load(index, si);
            } else {
                ++stats.reused;
            }
        }
        Slot& s = slots[static_cast<size_t>(b.slot)];
        s.pending = false;
        s.inUse = true;
        s.lastUse = ++tick;
#if TWISTEDPIC_WITH_CUDA
        if (cuda())
            s.ready->block(c10::cuda::getCurrentCUDAStream(device.index()));
#endif
        const std::vector<at::Tensor>& views = s.views[static_cast<size_t>(b.order)];
        for (size_t k = 0; k < b.tensors.size(); ++k)
            point(b.tensors[k], views[k]);
        expected = (b.order + 1) % m;
        prefetch();
    }

    void after(int index) {
        if (isRestored || index < 0 || index >= static_cast<int>(blocks.size()))
            return;
        Block& b = blocks[static_cast<size_t>(index)];
        if (b.resident || b.slot < 0 || !slots[static_cast<size_t>(b.slot)].inUse)
            return;
        release(slots[static_cast<size_t>(b.slot)]);
        prefetch();
    }

    void releaseSlots() {
        if (!slotsAllocated)
            return;
        synchronize();
        for (Slot& s : slots)
            if (s.inUse)
                release(s);
        for (Block& b : blocks)
            b.slot = -1;
        for (Slot& s : slots) {
            s.bytes.reset();
            s.views.clear();
            s.block = -1;
            s.pending = s.inUse = false;
#if TWISTEDPIC_WITH_CUDA
            s.ready.reset();
            s.free.reset();
#endif
        }
        slotsAllocated = false;
        cursor = expected = 0;
    }
};

BlockStreamer::BlockStreamer(std::unique_ptr<Impl> impl)
    : d(std::move(impl)) {}

BlockStreamer::~BlockStreamer() {
    if (d->isRestored)
        return;
    try {
        if (Status s = restore(); !s)
            spdlog::error("gpu: {}", s.error().toStdString());
    } catch (const std::exception& e) {
        spdlog::error("gpu: streamed blocks could not be put back on the device: {}", e.what());
    }
}

Result<std::unique_ptr<BlockStreamer>> BlockStreamer::create(std::vector<torch::nn::Module*> modules,
                                                             c10::Device device,
                                                             const BlockStreamerOptions& options) {
    using R = Result<std::unique_ptr<BlockStreamer>>;
    const int count = static_cast<int>(modules.size());
    if (options.residentBlocks < 0 || options.residentBlocks > count)
        return R::fail(QStringLiteral("Block streaming: %1 resident blocks asked of %2.")
                           .arg(options.residentBlocks)
                           .arg(count));
    if (options.slots < 1)
        return R::fail(QStringLiteral("Block streaming needs at least one slot, not %1.").arg(options.slots));
#if TWISTEDPIC_WITH_CUDA
    if (device.is_cuda() && !cudaAvailable())
        return R::fail(QStringLiteral("Block streaming to %1: %2")
                           .arg(QString::fromStdString(device.str()), noCudaReason()));
#endif
    if (!device.is_cpu() && !(TWISTEDPIC_WITH_CUDA && device.is_cuda()))
        return R::fail(QStringLiteral("Block streaming to %1 is not supported (CUDA or the CPU only).")
                           .arg(QString::fromStdString(device.str())));

    auto impl = std::make_unique<Impl>();
    impl->device = device;
    impl->options = options;
    const std::vector<bool> resident = gpu::spreadResident(count, options.residentBlocks);
    std::unordered_set<const void*> seen;
    for (int i = 0; i < count; ++i) {
        if (!modules[static_cast<size_t>(i)])
            return R::fail(QStringLiteral("Block streaming: block %1 is missing.").arg(i));
        Impl::Block b;
        b.resident = resident[static_cast<size_t>(i)];
        for (const at::Tensor& t : moduleTensors(*modules[static_cast<size_t>(i)])) {
            if (!seen.insert(t.unsafeGetTensorImpl()).second)
                continue; // shared with an earlier block: that one moves it
            // On the host: a model loaded with DeviceChoice::loadOnHost (resident blocks go to the device).
            if (t.device() != device && !t.device().is_cpu())
                return R::fail(
                    QStringLiteral("Block streaming: block %1 has weights on %2, not on %3.")
                        .arg(i)
                        .arg(QString::fromStdString(t.device().str()), QString::fromStdString(device.str())));
            if (!t.is_non_overlapping_and_dense())
                return R::fail(
                    QStringLiteral("Block streaming: block %1 has a weight that is not dense.").arg(i));
            b.tensors.push_back(t);
            b.offsets.push_back(b.layoutBytes);
            b.layoutBytes += alignUp(tensorBytes(t));
            b.bytes += tensorBytes(t);
        }
        if (!b.resident) {
            b.order = static_cast<int>(impl->streamed.size());
            impl->streamed.push_back(i);
            impl->slotLayoutBytes = std::max(impl->slotLayoutBytes, b.layoutBytes);
        }
        impl->blocks.push_back(std::move(b));
    }
    const int streamedCount = static_cast<int>(impl->streamed.size());
    impl->slots.resize(static_cast<size_t>(std::min(options.slots, std::max(streamedCount, 1))));
    // Resident blocks still in host memory (a model loaded there) move to the device first; on
    // failure (no room) the ones moved stay there, where they belong anyway.
    try {
        const c10::InferenceMode notInference(false);
        for (Impl::Block& b : impl->blocks)
            if (b.resident)
                for (at::Tensor& t : b.tensors)
                    if (t.device() != device)
                        t.set_data(t.to(device));
    } catch (const std::exception& e) {
        return R::fail(QStringLiteral("Block streaming: the resident blocks could not go to %1: %2")
                           .arg(QString::fromStdString(device.str()),
                                QString::fromUtf8(e.what()).section(QLatin1Char('\n'), 0, 0)));
    }
    if (streamedCount == 0)
        return R::ok(std::unique_ptr<BlockStreamer>(new BlockStreamer(std::move(impl))));

    try {
        int64_t hostTotal = 0;
        for (int i : impl->streamed)
            hostTotal += impl->blocks[static_cast<size_t>(i)].layoutBytes;
        impl->host = allocateHostBytes(hostTotal, &impl->locked);
        at::Tensor poison;
        if (options.poisonParked && device.is_cpu())
            poison = at::full({std::max<int64_t>(impl->slotLayoutBytes, 1)}, 0xFF,
                              at::TensorOptions().dtype(at::kByte));
        int64_t offset = 0;
        for (int i : impl->streamed) {
            Impl::Block& b = impl->blocks[static_cast<size_t>(i)];
            b.host = impl->host.narrow(0, offset, b.layoutBytes);
            for (size_t k = 0; k < b.tensors.size(); ++k) {
                b.home.push_back(carve(impl->host, offset + b.offsets[k], b.tensors[k]));
                b.home.back().copy_(b.tensors[k]);
                b.parked.push_back(poison.defined() ? carve(poison, b.offsets[k], b.tensors[k])
                                                    : b.home.back());
            }
            offset += b.layoutBytes;
        }
    } catch (const std::exception& e) {
        return R::fail(
            QStringLiteral("Block streaming: could not set up host memory for %1 streamed blocks: %2")
                .arg(streamedCount)
                .arg(QString::fromUtf8(e.what())));
    }
    impl->synchronize();
    // The weights leave the device (their device memory is freed once nothing else holds it).
    for (int i : impl->streamed) {
        Impl::Block& b = impl->blocks[static_cast<size_t>(i)];
        for (size_t k = 0; k < b.tensors.size(); ++k)
            point(b.tensors[k], b.parked[k]);
    }
#if TWISTEDPIC_WITH_CUDA
    if (device.is_cuda())
        impl->copyStream = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index());
#endif
    auto streamer = std::unique_ptr<BlockStreamer>(new BlockStreamer(std::move(impl)));
    spdlog::info("gpu: {}", streamer->describe().toStdString());
    return R::ok(std::move(streamer));
}

void BlockStreamer::beforeBlock(int index) {
    d->before(index);
}

void BlockStreamer::afterBlock(int index) {
    d->after(index);
}

void BlockStreamer::releaseSlots() {
    d->releaseSlots();
}

Status BlockStreamer::restore() {
    if (d->isRestored)
        return Status::ok();
    d->releaseSlots();
    std::vector<std::pair<at::Tensor*, at::Tensor>> moved;
    try {
        for (int i : d->streamed) {
            Impl::Block& b = d->blocks[static_cast<size_t>(i)];
            for (size_t k = 0; k < b.tensors.size(); ++k) {
                at::Tensor back;
                {
                    const c10::InferenceMode notInference(false);
                    back = d->cuda() ? at::empty_strided(b.home[k].sizes(), b.home[k].strides(),
                                                         b.home[k].options().device(d->device))
                                     : at::empty_strided(b.home[k].sizes(), b.home[k].strides(),
                                                         b.home[k].options());
                    back.copy_(b.home[k], /*non_blocking=*/d->cuda());
                }
                moved.emplace_back(&b.tensors[k], std::move(back));
            }
        }
        d->synchronize();
    } catch (const std::exception& e) {
        moved.clear();
        return Status::fail(QStringLiteral("The streamed blocks could not go back to %1 (%2); they stay in "
                                           "host memory and keep streaming.")
                                .arg(QString::fromStdString(d->device.str()), QString::fromUtf8(e.what())));
    }
    for (auto& [tensor, data] : moved)
        point(*tensor, data);
    for (int i : d->streamed) {
        Impl::Block& b = d->blocks[static_cast<size_t>(i)];
        b.home.clear();
        b.parked.clear();
        b.host.reset();
    }
    d->host.reset();
    d->isRestored = true;
    return Status::ok();
}

void BlockStreamer::discard() {
    d->releaseSlots();
    d->isRestored = true;
}

bool BlockStreamer::restored() const {
    return d->isRestored;
}

c10::Device BlockStreamer::device() const {
    return d->device;
}

int BlockStreamer::blockCount() const {
    return static_cast<int>(d->blocks.size());
}

int BlockStreamer::residentCount() const {
    return blockCount() - static_cast<int>(d->streamed.size());
}

bool BlockStreamer::isResident(int index) const {
    return index >= 0 && index < blockCount() && d->blocks[static_cast<size_t>(index)].resident;
}

qint64 BlockStreamer::blockBytes(int index) const {
    return index >= 0 && index < blockCount() ? d->blocks[static_cast<size_t>(index)].bytes : 0;
}

int BlockStreamer::slotCount() const {
    return d->streamed.empty() ? 0 : static_cast<int>(d->slots.size());
}

qint64 BlockStreamer::slotBytes() const {
    return d->slotLayoutBytes;
}

qint64 BlockStreamer::deviceSlotBytes() const {
    return d->slotsAllocated ? d->slotLayoutBytes * static_cast<qint64>(d->slots.size()) : 0;
}

qint64 BlockStreamer::hostBytes() const {
    return d->host.defined() ? d->host.numel() : 0;
}

bool BlockStreamer::pageLocked() const {
    return d->locked;
}

const BlockStreamerStats& BlockStreamer::stats() const {
    return d->stats;
}

QString BlockStreamer::describe() const {
    const QString where = d->cuda() ? QStringLiteral("the GPU") : QStringLiteral("the device");
    if (d->streamed.empty())
        return QStringLiteral("all %1 blocks on %2").arg(blockCount()).arg(where);
    return QStringLiteral("%1 of %2 blocks on %3, %4 streamed (%5 slots of %6, %7 %8RAM)")
        .arg(residentCount())
        .arg(blockCount())
        .arg(where)
        .arg(d->streamed.size())
        .arg(slotCount())
        .arg(formatBytes(slotBytes()), formatBytes(hostBytes()),
             d->locked ? QStringLiteral("pinned ") : QString());
}

} // namespace tp::gpu
