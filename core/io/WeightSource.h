#pragma once

// Where one of the engine's tensors comes from: a tensor of a safetensors file plus the steps
// that turn it into the tensor the engine's module wants (a slice of a fused QKV, a transposed
// projection, a 1x1 convolution seen as a linear layer). Torch-free: the single-file key
// mapper builds these from headers alone; core/io/WeightMap.h applies them to tensors.

#include "core/common/Result.h"

#include <QString>
#include <QtGlobal>

#include <vector>

namespace tp::io {

struct WeightOp {
    enum class Kind {
        Slice,      // rows [start, start + length) of dim 0 (a fused q/k/v or Flux's linear1)
        SwapHalves, // the two halves of dim 0 exchanged (the final adaLN's [shift, scale] of SD3/Flux)
        Transpose,  // a 2-D tensor transposed (OpenCLIP's text_projection)
        Reshape,    // the same elements in another shape (a 1x1 convolution as a linear weight)
        Identity,   // an n×n identity matrix, whatever came before (SD 3 files lack CLIP-L's projection)
    };
    Kind kind = Kind::Slice;
    qint64 start = 0;
    qint64 length = 0;
    std::vector<qint64> shape;

    static WeightOp slice(qint64 start, qint64 length) { return {Kind::Slice, start, length, {}}; }
    static WeightOp swapHalves() { return {Kind::SwapHalves, 0, 0, {}}; }
    static WeightOp transpose() { return {Kind::Transpose, 0, 0, {}}; }
    static WeightOp reshape(std::vector<qint64> shape) { return {Kind::Reshape, 0, 0, std::move(shape)}; }
    static WeightOp identity(qint64 n) { return {Kind::Identity, 0, n, {}}; }

    // "[0:768]", "swapped halves", "transposed", "as [320,320]" (for messages).
    QString text() const;
    bool operator==(const WeightOp& o) const {
        return kind == o.kind && start == o.start && length == o.length && shape == o.shape;
    }
};

struct WeightSource {
    int archive = 0; // index into the WeightMap's archives
    // The tensor's name in that archive; empty for a tensor the ops make from nothing (Identity),
    // which is float32.
    QString key;
    std::vector<WeightOp> ops; // applied in order

    // "cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight[0:1024]".
    QString text() const;
    bool operator==(const WeightSource& o) const {
        return archive == o.archive && key == o.key && ops == o.ops;
    }
};

// The shape a tensor of `shape` has after `ops`; fails, saying why, when an op does not fit
// (a slice past the end, an odd dimension to swap, a reshape to another element count).
Result<std::vector<qint64>> shapeAfter(std::vector<qint64> shape, const std::vector<WeightOp>& ops);

// "[320,4,3,3]"
QString shapeString(const std::vector<qint64>& shape);

} // namespace tp::io
