#include "core/sched/NumpyCompat.h"

#include <cfenv>
#include <cmath>

namespace tp::sched::np {

std::vector<double> linspace(double start, double stop, int num, bool endpoint) {
    std::vector<double> y;
    if (num <= 0)
        return y;
    y.resize(static_cast<size_t>(num));
    const int div = endpoint ? num - 1 : num;
    const double delta = stop - start;
    if (div > 0) {
        const double step = delta / div;
        if (step == 0) {
            for (int i = 0; i < num; ++i)
                y[i] = (static_cast<double>(i) / div) * delta + start;
        } else {
            for (int i = 0; i < num; ++i)
                y[i] = static_cast<double>(i) * step + start;
        }
    } else {
        for (int i = 0; i < num; ++i)
            y[i] = static_cast<double>(i) * delta + start;
    }
    if (endpoint && num > 1)
        y.back() = stop;
    return y;
}

std::vector<double> arange(double start, double stop, double step) {
    std::vector<double> y;
    const double len = std::ceil((stop - start) / step);
    if (!(len > 0))
        return y;
    const auto n = static_cast<size_t>(len);
    y.resize(n);
    y[0] = start;
    if (n == 1)
        return y;
    y[1] = start + step;
    const double delta = y[1] - y[0];
    for (size_t i = 2; i < n; ++i)
        y[i] = start + static_cast<double>(i) * delta;
    return y;
}

double roundHalfEven(double x) {
    // std::nearbyint honours the current rounding mode, which is round-to-nearest-even by default.
    const int mode = std::fegetround();
    if (mode != FE_TONEAREST)
        std::fesetround(FE_TONEAREST);
    const double r = std::nearbyint(x);
    if (mode != FE_TONEAREST)
        std::fesetround(mode);
    return r;
}

double interpAtIndex(double x, const std::vector<double>& fp) {
    const auto n = static_cast<int64_t>(fp.size());
    if (n == 0 || std::isnan(x))
        return x;
    if (x <= 0)
        return fp.front();
    if (x >= static_cast<double>(n - 1))
        return fp.back();
    const auto j = static_cast<int64_t>(std::floor(x));
    const auto xj = static_cast<double>(j);
    if (xj == x)
        return fp[j];
    // numpy: slope = (dy[j+1] - dy[j]) / (dx[j+1] - dx[j]); res = slope * (x - dx[j]) + dy[j]
    const double slope = (fp[j + 1] - fp[j]) / (static_cast<double>(j + 1) - xj);
    double res = slope * (x - xj) + fp[j];
    if (std::isnan(res)) {
        res = slope * (x - static_cast<double>(j + 1)) + fp[j + 1];
        if (std::isnan(res) && fp[j] == fp[j + 1])
            res = fp[j];
    }
    return res;
}

} // namespace tp::sched::np
