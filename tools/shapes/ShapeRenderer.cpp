#include "tools/shapes/ShapeRenderer.h"

#include <array>
#include <cmath>
#include <cstring>

namespace tp::shapes {

namespace {

using Vertex = std::array<double, 2>;

constexpr double Pi = 3.14159265358979323846;
// Ring: outer radius 1, hole radius RingHole (template units).
constexpr double RingHole = 0.55;
// Star: inner/outer radius of the five-pointed star.
constexpr double StarInner = 0.45;

// Equilateral triangle pointing up, bounding box [-1,1] x [-sqrt(3)/2, sqrt(3)/2] (image y down).
std::vector<Vertex> triangleVertices() {
    const double h = std::sqrt(3.0) / 2.0;
    return {Vertex{0.0, -h}, Vertex{1.0, h}, Vertex{-1.0, h}};
}

// Five-pointed star, one point up, scaled so that its bounding box is centred and its wider
// side (the width) spans [-1, 1].
constexpr double starOuter() {
    return 1.0 / 0.95105651629515357;
} // 1 / sin 72 deg
// Top at -outer, bottom points at outer*cos(36deg): move the centre down to centre the box.
constexpr double starShift() {
    return (starOuter() - starOuter() * 0.80901699437494742) / 2.0;
}

// Signed distance to a convex polygon as the largest distance to its edges' lines: exact
// inside and along the edges, a little short only off the corners, which is all that ~1 px
// of anti-aliasing needs. Float ops only (comparisons and where() are slow on the CPU).
at::Tensor convexDistance(const std::vector<Vertex>& v, const at::Tensor& qx, const at::Tensor& qy) {
    double twiceArea = 0.0;
    for (size_t i = 0; i < v.size(); ++i) {
        const Vertex& a = v[i];
        const Vertex& b = v[(i + 1) % v.size()];
        twiceArea += a[0] * b[1] - b[0] * a[1];
    }
    const double orient = twiceArea > 0 ? 1.0 : -1.0;
    at::Tensor d;
    for (size_t i = 0; i < v.size(); ++i) {
        const Vertex& a = v[i];
        const Vertex& b = v[(i + 1) % v.size()];
        const double ex = b[0] - a[0];
        const double ey = b[1] - a[1];
        const double len = std::sqrt(ex * ex + ey * ey);
        // Outward normal of a counter-clockwise (in these coordinates) polygon: (ey, -ex).
        const double nx = orient * ey / len;
        const double ny = -orient * ex / len;
        const at::Tensor e = qx * nx + qy * ny - (nx * a[0] + ny * a[1]);
        d = d.defined() ? at::maximum(d, e) : e;
    }
    return d;
}

// The star by symmetry: fold the angle around the centre into one half point (0..36 degrees
// from a tip), then take the distance to the line of that half point's outer edge. About
// fifteen float ops whatever the number of edges.
at::Tensor starDistance(const at::Tensor& qx, const at::Tensor& qy) {
    const double outer = starOuter();
    const double inner = outer * StarInner;
    const double sector = 2.0 * Pi / 5.0;
    const at::Tensor py = qy - starShift();
    const at::Tensor rho = (qx.square() + py.square()).sqrt();
    const at::Tensor phi = at::atan2(qx, -py); // 0 at the top tip
    const at::Tensor folded = (phi - at::round(phi / sector) * sector).abs();
    const at::Tensor u = rho * folded.cos(); // along the tip's direction
    const at::Tensor w = rho * folded.sin();
    // Edge from the tip (outer, 0) to the inner corner (inner cos 36, inner sin 36).
    const double iu = inner * std::cos(Pi / 5.0) - outer;
    const double iw = inner * std::sin(Pi / 5.0);
    const double len = std::hypot(iu, iw);
    // Normal pointing away from the centre.
    const double nu = iw / len;
    const double nw = -iu / len;
    return (u - outer) * nu + w * nw;
}

} // namespace

at::Tensor templateDistance(Shape shape, const at::Tensor& qx, const at::Tensor& qy) {
    switch (shape) {
    case Shape::Circle:
        return (qx.square() + qy.square()).sqrt() - 1.0;
    case Shape::Square:
        return at::maximum(qx.abs(), qy.abs()) - 1.0;
    case Shape::Triangle:
        return convexDistance(triangleVertices(), qx, qy);
    case Shape::Star:
        return starDistance(qx, qy);
    case Shape::Ring: {
        const double mid = (1.0 + RingHole) / 2.0;
        const double half = (1.0 - RingHole) / 2.0;
        return ((qx.square() + qy.square()).sqrt() - mid).abs() - half;
    }
    }
    return at::Tensor();
}

at::Tensor renderScenes(const std::vector<Scene>& scenes, int size, at::Device device) {
    const int64_t n = int64_t(scenes.size());
    const auto f32 = at::TensorOptions().dtype(at::kFloat);
    if (n == 0)
        return at::empty({0, 3, size, size}, f32.device(device));
    // Per-scene numbers travel to the device in one small tensor: cx, cy, r, fg rgb, bg rgb.
    at::Tensor params = at::empty({n, 9}, f32);
    auto p = params.accessor<float, 2>();
    for (int64_t i = 0; i < n; ++i) {
        const Scene& s = scenes[size_t(i)];
        const Colour& fg = palette()[size_t(s.colour)];
        const Colour& bg = palette()[size_t(s.background)];
        const float values[9] = {float(s.centreX()), float(s.centreY()), float(s.radius()),
                                 fg.r / 255.0f,      fg.g / 255.0f,      fg.b / 255.0f,
                                 bg.r / 255.0f,      bg.g / 255.0f,      bg.b / 255.0f};
        for (int k = 0; k < 9; ++k)
            p[i][k] = values[k];
    }
    params = params.to(device);
    const auto opts = f32.device(device);
    const at::Tensor coords = (at::arange(size, opts) + 0.5) / double(size);
    const at::Tensor xs = coords.view({1, 1, size});
    const at::Tensor ys = coords.view({1, size, 1});

    // Signed distance in pixels for every scene, one shape kind at a time; the groups are put
    // back in scene order with index_select (index_copy_ is nondeterministic on CUDA).
    std::vector<at::Tensor> parts;
    std::vector<int64_t> order; // order[j] = scene of row j of the concatenation
    for (int k = 0; k < ShapeCount; ++k) {
        std::vector<int64_t> picked;
        for (int64_t i = 0; i < n; ++i)
            if (int(scenes[size_t(i)].shape) == k)
                picked.push_back(i);
        if (picked.empty())
            continue;
        const at::Tensor idx = at::tensor(picked, at::TensorOptions().dtype(at::kLong)).to(device);
        const at::Tensor sub = params.index_select(0, idx);
        const at::Tensor cx = sub.select(1, 0).view({-1, 1, 1});
        const at::Tensor cy = sub.select(1, 1).view({-1, 1, 1});
        const at::Tensor r = sub.select(1, 2).view({-1, 1, 1});
        // Full-size contiguous coordinates: broadcasting in every op is many times slower on the CPU.
        const std::vector<int64_t> full{int64_t(picked.size()), size, size};
        const at::Tensor qx = ((xs - cx) / r).expand(full).contiguous();
        const at::Tensor qy = ((ys - cy) / r).expand(full).contiguous();
        parts.push_back(templateDistance(Shape(k), qx, qy) * (r * double(size)));
        order.insert(order.end(), picked.begin(), picked.end());
    }
    std::vector<int64_t> inverse(size_t(n), 0);
    for (size_t j = 0; j < order.size(); ++j)
        inverse[size_t(order[j])] = int64_t(j);
    const at::Tensor dist = at::cat(parts, 0).index_select(
        0, at::tensor(inverse, at::TensorOptions().dtype(at::kLong)).to(device));
    const at::Tensor alpha = (0.5 - dist).clamp(0.0, 1.0).unsqueeze(1);
    const at::Tensor fg = params.narrow(1, 3, 3).view({n, 3, 1, 1});
    const at::Tensor bg = params.narrow(1, 6, 3).view({n, 3, 1, 1});
    return bg + (fg - bg) * alpha;
}

QImage toQImage(const at::Tensor& image) {
    TORCH_CHECK(image.dim() == 3 && image.size(0) == 3, "toQImage expects [3, H, W], got ", image.sizes());
    const at::Tensor bytes = (image.detach().to(at::kCPU, at::kFloat).clamp(0.0, 1.0) * 255.0)
                                 .round()
                                 .to(at::kByte)
                                 .permute({1, 2, 0})
                                 .contiguous();
    const int h = int(bytes.size(0));
    const int w = int(bytes.size(1));
    QImage out(w, h, QImage::Format_RGB888);
    const uint8_t* src = bytes.data_ptr<uint8_t>();
    for (int y = 0; y < h; ++y)
        std::memcpy(out.scanLine(y), src + size_t(y) * size_t(w) * 3, size_t(w) * 3);
    return out;
}

at::Tensor fromQImage(const QImage& image) {
    const QImage rgb = image.convertToFormat(QImage::Format_RGB888);
    const int h = rgb.height();
    const int w = rgb.width();
    at::Tensor bytes = at::empty({h, w, 3}, at::TensorOptions().dtype(at::kByte));
    uint8_t* dst = bytes.data_ptr<uint8_t>();
    for (int y = 0; y < h; ++y)
        std::memcpy(dst + size_t(y) * size_t(w) * 3, rgb.constScanLine(y), size_t(w) * 3);
    return bytes.permute({2, 0, 1}).to(at::kFloat) / 255.0;
}

QImage renderImage(const Scene& scene, int size) {
    return toQImage(renderScenes({scene}, size)[0]);
}

} // namespace tp::shapes
