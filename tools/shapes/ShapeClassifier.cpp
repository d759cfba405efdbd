#include "tools/shapes/ShapeClassifier.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace tp::shapes {

namespace {

// Decision thresholds, from the exact shapes: fill circle pi/4, square 1, triangle 1/2,
// star 0.38 (solidity 0.56), ring hole pi*0.55^2/4 = 0.24 of its box.
constexpr double RingHoleMin = 0.04;
constexpr double StarSolidityMax = 0.78;
constexpr double SquareFillMin = 0.89;
constexpr double CircleFillMin = 0.64;
// Extents: small 0.22, medium 0.36, large 0.66 of the side.
constexpr double SmallExtentMax = 0.29;
constexpr double MediumExtentMax = 0.51;
// A pixel belongs to the foreground candidates when this far (RGB units) from the background.
constexpr double CandidateDistance = 40.0;

struct Rgb {
    double r = 0, g = 0, b = 0;
};

double median(std::vector<double>& v) {
    if (v.empty())
        return 0.0;
    const size_t mid = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(mid), v.end());
    return v[mid];
}

Rgb medianColour(const std::vector<Rgb>& pixels) {
    std::vector<double> r, g, b;
    r.reserve(pixels.size());
    g.reserve(pixels.size());
    b.reserve(pixels.size());
    for (const Rgb& p : pixels) {
        r.push_back(p.r);
        g.push_back(p.g);
        b.push_back(p.b);
    }
    return {median(r), median(g), median(b)};
}

double distance(const Rgb& a, const Rgb& b) {
    return std::sqrt((a.r - b.r) * (a.r - b.r) + (a.g - b.g) * (a.g - b.g) + (a.b - b.b) * (a.b - b.b));
}

using Point = std::array<long long, 2>;

long long cross(const Point& o, const Point& a, const Point& b) {
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

// Area of the convex hull of the points (Andrew's monotone chain + shoelace).
double hullArea(std::vector<Point> pts) {
    std::sort(pts.begin(), pts.end());
    pts.erase(std::unique(pts.begin(), pts.end()), pts.end());
    if (pts.size() < 3)
        return 0.0;
    std::vector<Point> hull(2 * pts.size());
    size_t k = 0;
    for (size_t i = 0; i < pts.size(); ++i) {
        while (k >= 2 && cross(hull[k - 2], hull[k - 1], pts[i]) <= 0)
            --k;
        hull[k++] = pts[i];
    }
    for (size_t i = pts.size() - 1, t = k + 1; i > 0; --i) {
        while (k >= t && cross(hull[k - 2], hull[k - 1], pts[i - 1]) <= 0)
            --k;
        hull[k++] = pts[i - 1];
    }
    hull.resize(k - 1);
    long long twice = 0;
    for (size_t i = 0; i < hull.size(); ++i) {
        const Point& a = hull[i];
        const Point& b = hull[(i + 1) % hull.size()];
        twice += a[0] * b[1] - b[0] * a[1];
    }
    return std::abs(double(twice)) / 2.0;
}

// Labels the 4-connected region of `mask` (value `from`) that contains `start` with `to`;
// returns its size.
int floodFill(std::vector<uint8_t>& mask, int w, int h, int start, uint8_t from, uint8_t to) {
    if (mask[size_t(start)] != from)
        return 0;
    std::vector<int> stack{start};
    mask[size_t(start)] = to;
    int count = 0;
    while (!stack.empty()) {
        const int i = stack.back();
        stack.pop_back();
        ++count;
        const int x = i % w;
        const int y = i / w;
        const int next[4] = {x > 0 ? i - 1 : -1, x + 1 < w ? i + 1 : -1, y > 0 ? i - w : -1,
                             y + 1 < h ? i + w : -1};
        for (int j : next)
            if (j >= 0 && mask[size_t(j)] == from) {
                mask[size_t(j)] = to;
                stack.push_back(j);
            }
    }
    return count;
}

} // namespace

QString Classification::describe() const {
    if (!found)
        return QStringLiteral("no shape found (background %1)")
            .arg(background >= 0 ? QLatin1String(palette()[size_t(background)].name) : QLatin1String("?"));
    Scene s;
    s.colour = colour;
    s.background = background;
    s.shape = shape;
    s.size = size;
    s.position = position;
    s.sayMedium = true;
    s.sayCenter = true;
    return caption(s) + QStringLiteral(" (fill %1, solidity %2, holes %3, extent %4, centre %5,%6)")
                            .arg(fill, 0, 'f', 2)
                            .arg(solidity, 0, 'f', 2)
                            .arg(holeRatio, 0, 'f', 2)
                            .arg(extent, 0, 'f', 2)
                            .arg(centreX, 0, 'f', 2)
                            .arg(centreY, 0, 'f', 2);
}

Classification classify(const QImage& input) {
    Classification out;
    const QImage img = input.convertToFormat(QImage::Format_RGB888);
    const int w = img.width();
    const int h = img.height();
    if (w < 8 || h < 8)
        return out;
    std::vector<Rgb> pixels(size_t(w) * size_t(h));
    for (int y = 0; y < h; ++y) {
        const uchar* line = img.constScanLine(y);
        for (int x = 0; x < w; ++x)
            pixels[size_t(y) * size_t(w) + size_t(x)] = {double(line[3 * x]), double(line[3 * x + 1]),
                                                         double(line[3 * x + 2])};
    }

    // Background: median of a two-pixel frame.
    std::vector<Rgb> frame;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            if (x < 2 || y < 2 || x >= w - 2 || y >= h - 2)
                frame.push_back(pixels[size_t(y) * size_t(w) + size_t(x)]);
    const Rgb bg = medianColour(frame);
    out.background = nearestColour(bg.r, bg.g, bg.b, &out.backgroundDistance);

    // Shape colour: median of the candidates that are at least as far as their median.
    std::vector<double> dist(pixels.size());
    std::vector<double> candidateDist;
    for (size_t i = 0; i < pixels.size(); ++i) {
        dist[i] = distance(pixels[i], bg);
        if (dist[i] > CandidateDistance)
            candidateDist.push_back(dist[i]);
    }
    if (candidateDist.size() < pixels.size() / 500 + 4)
        return out;
    std::vector<double> tmp = candidateDist;
    const double cut = median(tmp);
    std::vector<Rgb> strong;
    for (size_t i = 0; i < pixels.size(); ++i)
        if (dist[i] > CandidateDistance && dist[i] >= cut)
            strong.push_back(pixels[i]);
    const Rgb fgGuess = medianColour(strong);

    // Foreground: nearer to the shape colour than to the background (the 50% coverage line).
    const Rgb axis{fgGuess.r - bg.r, fgGuess.g - bg.g, fgGuess.b - bg.b};
    const double axis2 = std::max(1.0, axis.r * axis.r + axis.g * axis.g + axis.b * axis.b);
    std::vector<double> along(pixels.size());
    std::vector<uint8_t> mask(pixels.size(), 0);
    for (size_t i = 0; i < pixels.size(); ++i) {
        const Rgb& p = pixels[i];
        along[i] = ((p.r - bg.r) * axis.r + (p.g - bg.g) * axis.g + (p.b - bg.b) * axis.b) / axis2;
        mask[i] = (dist[i] > CandidateDistance && along[i] > 0.5) ? 1 : 0;
    }

    // Keep the largest 4-connected region (label 2), drop the rest.
    int best = -1;
    int bestSize = 0;
    {
        std::vector<uint8_t> labels = mask;
        for (size_t i = 0; i < labels.size(); ++i)
            if (labels[i] == 1) {
                const int n = floodFill(labels, w, h, int(i), 1, 3);
                if (n > bestSize) {
                    bestSize = n;
                    best = int(i);
                }
            }
    }
    if (best < 0)
        return out;
    floodFill(mask, w, h, best, 1, 2);

    int x0 = w, y0 = h, x1 = -1, y1 = -1;
    Rgb sum;
    int interior = 0;
    std::vector<Point> corners;
    for (int y = 0; y < h; ++y) {
        int left = -1, right = -1;
        for (int x = 0; x < w; ++x) {
            const size_t i = size_t(y) * size_t(w) + size_t(x);
            if (mask[i] != 2)
                continue;
            if (left < 0)
                left = x;
            right = x;
            x0 = std::min(x0, x);
            x1 = std::max(x1, x);
            y0 = std::min(y0, y);
            y1 = std::max(y1, y);
            if (along[i] > 0.75) {
                sum.r += pixels[i].r;
                sum.g += pixels[i].g;
                sum.b += pixels[i].b;
                ++interior;
            }
        }
        if (left >= 0)
            for (int cx : {left, right + 1})
                for (int cy : {y, y + 1})
                    corners.push_back(Point{cx, cy});
    }
    const int bw = x1 - x0 + 1;
    const int bh = y1 - y0 + 1;

    // Holes: pixels of the box not reachable from outside the region.
    const int pw = bw + 2, ph = bh + 2;
    std::vector<uint8_t> outside(size_t(pw) * size_t(ph), 0);
    for (int y = 0; y < ph; ++y)
        for (int x = 0; x < pw; ++x) {
            const int ix = x0 - 1 + x, iy = y0 - 1 + y;
            const bool in =
                ix >= 0 && iy >= 0 && ix < w && iy < h && mask[size_t(iy) * size_t(w) + size_t(ix)] == 2;
            outside[size_t(y) * size_t(pw) + size_t(x)] = in ? 1 : 0;
        }
    floodFill(outside, pw, ph, 0, 0, 2);
    int holes = 0;
    for (uint8_t v : outside)
        holes += v == 0 ? 1 : 0;

    const double boxArea = double(bw) * double(bh);
    out.found = true;
    out.fill = bestSize / boxArea;
    out.holeRatio = holes / boxArea;
    const double hull = hullArea(corners);
    out.solidity = hull > 0 ? std::min(1.0, (bestSize + holes) / hull) : 1.0;
    out.extent = double(std::max(bw, bh)) / double(std::max(w, h));
    out.centreX = (x0 + x1 + 1) / 2.0 / double(w);
    out.centreY = (y0 + y1 + 1) / 2.0 / double(h);

    const Rgb fg = interior > 0 ? Rgb{sum.r / interior, sum.g / interior, sum.b / interior} : fgGuess;
    out.colour = nearestColour(fg.r, fg.g, fg.b, &out.colourDistance);

    if (out.holeRatio > RingHoleMin)
        out.shape = Shape::Ring;
    else if (out.solidity < StarSolidityMax)
        out.shape = Shape::Star;
    else if (out.fill > SquareFillMin)
        out.shape = Shape::Square;
    else if (out.fill > CircleFillMin)
        out.shape = Shape::Circle;
    else
        out.shape = Shape::Triangle;

    out.size = out.extent <= SmallExtentMax ? Size::Small
                                            : (out.extent <= MediumExtentMax ? Size::Medium : Size::Large);
    const double lo = 0.5 - GridOffset / 2.0, hi = 0.5 + GridOffset / 2.0;
    const int col = out.centreX < lo ? 0 : (out.centreX > hi ? 2 : 1);
    const int row = out.centreY < lo ? 0 : (out.centreY > hi ? 2 : 1);
    out.position = Position(row * 3 + col);
    return out;
}

} // namespace tp::shapes
