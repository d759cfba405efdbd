#pragma once

#include "tools/shapes/ShapeScene.h"

#include <ATen/ATen.h>
#include <QImage>

#include <vector>

// Draws scenes with signed distance functions on a pixel grid, in one batch of torch ops, so
// the same code feeds a GPU trainer (on CUDA) and the tests (on the CPU). Edges get ~1 px of
// anti-aliasing: coverage = clamp(0.5 - distance_in_pixels, 0, 1).
namespace tp::shapes {

// [N, 3, size, size] float32 in [0, 1] on `device`.
at::Tensor renderScenes(const std::vector<Scene>& scenes, int size, at::Device device = at::kCPU);

// Signed distance (in template units, negative inside) of a point q to the shape's template,
// whose bounding box is [-1, 1]^2. qx, qy: any shape, same device.
at::Tensor templateDistance(Shape shape, const at::Tensor& qx, const at::Tensor& qy);

// [3, H, W] in [0, 1] (any device, any float dtype) -> RGB888 image, and back.
QImage toQImage(const at::Tensor& image);
at::Tensor fromQImage(const QImage& image);

// One scene drawn on the CPU, for documentation and tests.
QImage renderImage(const Scene& scene, int size);

} // namespace tp::shapes
