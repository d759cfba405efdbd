#pragma once

// The few numpy routines diffusers builds its schedules with, reproduced operation for
// operation in float64 so that timesteps and sigmas come out bit-identical to Python's.

#include <cstdint>
#include <vector>

namespace tp::sched::np {

// numpy.linspace(start, stop, num, endpoint): y[i] = i * ((stop - start) / div) + start,
// with the last element set to `stop` when endpoint is true.
std::vector<double> linspace(double start, double stop, int num, bool endpoint = true);

// numpy.arange(start, stop, step) with a float step: length ceil((stop - start) / step),
// y[0] = start, y[1] = start + step, y[i] = start + i * (y[1] - y[0]).
std::vector<double> arange(double start, double stop, double step);

// numpy.round / numpy.rint: to nearest, ties to even.
double roundHalfEven(double x);

// numpy.interp(x, arange(fp.size()), fp) for 0 <= x <= fp.size() - 1 (values outside clamp).
double interpAtIndex(double x, const std::vector<double>& fp);

// Rounds a double to float32 precision (numpy .astype(np.float32)).
inline double toF32(double x) {
    return static_cast<double>(static_cast<float>(x));
}

} // namespace tp::sched::np
