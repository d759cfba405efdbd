#include "core/sched/Timesteps.h"

#include "core/sched/NumpyCompat.h"

#include <algorithm>

namespace tp::sched {

namespace {

// (np.arange(0, count) * ratio).round(), integer arithmetic.
std::vector<int64_t> leadingAscending(int count, int64_t ratio) {
    std::vector<int64_t> out(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i)
        out[i] = static_cast<int64_t>(i) * ratio;
    return out;
}

// np.arange(start, 0, -ratio).round(), descending (possibly one element longer than expected).
std::vector<double> trailingDescending(double start, double ratio) {
    std::vector<double> out = np::arange(start, 0, -ratio);
    for (double& t : out)
        t = np::roundHalfEven(t);
    return out;
}

} // namespace

std::vector<double> sigmaFamilyTimesteps(TimestepSpacing spacing, int numTrain, int steps, int stepsOffset) {
    std::vector<double> out;
    switch (spacing) {
    case TimestepSpacing::Linspace:
        // np.linspace(0, N - 1, n, dtype=np.float32)[::-1]
        for (double t : np::linspace(0, numTrain - 1, steps))
            out.push_back(np::toF32(t));
        std::reverse(out.begin(), out.end());
        break;
    case TimestepSpacing::Leading:
        // (np.arange(0, n) * (N // n)).round()[::-1].astype(np.float32) + steps_offset
        for (int64_t t : leadingAscending(steps, numTrain / steps))
            out.push_back(np::toF32(static_cast<double>(np::toF32(static_cast<double>(t))) + stepsOffset));
        std::reverse(out.begin(), out.end());
        break;
    case TimestepSpacing::Trailing:
        // np.arange(N, 0, -N / n).round().astype(np.float32) - 1
        for (double t : trailingDescending(numTrain, static_cast<double>(numTrain) / steps))
            out.push_back(np::toF32(np::toF32(t) - 1));
        break;
    }
    return out;
}

std::vector<int64_t> ddimTimesteps(TimestepSpacing spacing, int numTrain, int steps, int stepsOffset) {
    std::vector<int64_t> out;
    switch (spacing) {
    case TimestepSpacing::Linspace:
        for (double t : np::linspace(0, numTrain - 1, steps))
            out.push_back(static_cast<int64_t>(np::roundHalfEven(t)));
        std::reverse(out.begin(), out.end());
        break;
    case TimestepSpacing::Leading:
        for (int64_t t : leadingAscending(steps, numTrain / steps))
            out.push_back(t + stepsOffset);
        std::reverse(out.begin(), out.end());
        break;
    case TimestepSpacing::Trailing:
        for (double t : trailingDescending(numTrain, static_cast<double>(numTrain) / steps))
            out.push_back(static_cast<int64_t>(t) - 1);
        break;
    }
    return out;
}

std::vector<int64_t> pndmBaseTimesteps(TimestepSpacing spacing, int numTrain, int steps, int stepsOffset) {
    std::vector<int64_t> out;
    switch (spacing) {
    case TimestepSpacing::Linspace:
        for (double t : np::linspace(0, numTrain - 1, steps))
            out.push_back(static_cast<int64_t>(np::roundHalfEven(t)));
        break;
    case TimestepSpacing::Leading:
        for (int64_t t : leadingAscending(steps, numTrain / steps))
            out.push_back(t + stepsOffset);
        break;
    case TimestepSpacing::Trailing: {
        std::vector<double> desc = trailingDescending(numTrain, static_cast<double>(numTrain) / steps);
        std::reverse(desc.begin(), desc.end());
        for (double t : desc)
            out.push_back(static_cast<int64_t>(t) - 1);
        break;
    }
    }
    return out;
}

std::vector<int64_t> dpmTimesteps(TimestepSpacing spacing, int numTrain, int lastTimestep, int steps,
                                  int stepsOffset) {
    std::vector<int64_t> out;
    switch (spacing) {
    case TimestepSpacing::Linspace: {
        // np.linspace(0, last - 1, n + 1).round()[::-1][:-1]
        std::vector<double> pts = np::linspace(0, lastTimestep - 1, steps + 1);
        for (auto it = pts.rbegin(); it != pts.rend() - 1; ++it)
            out.push_back(static_cast<int64_t>(np::roundHalfEven(*it)));
        break;
    }
    case TimestepSpacing::Leading: {
        // (np.arange(0, n + 1) * (last // (n + 1))).round()[::-1][:-1] + steps_offset
        std::vector<int64_t> pts = leadingAscending(steps + 1, lastTimestep / (steps + 1));
        for (auto it = pts.rbegin(); it != pts.rend() - 1; ++it)
            out.push_back(*it + stepsOffset);
        break;
    }
    case TimestepSpacing::Trailing:
        // np.arange(last, 0, -N / n).round() - 1
        for (double t : trailingDescending(lastTimestep, static_cast<double>(numTrain) / steps))
            out.push_back(static_cast<int64_t>(t) - 1);
        break;
    }
    return out;
}

} // namespace tp::sched
