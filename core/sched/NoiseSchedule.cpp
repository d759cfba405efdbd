#include "core/sched/NoiseSchedule.h"

#include "core/sched/NumpyCompat.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace tp::sched {

std::vector<float> torchLinspaceF32(double start, double end, int steps) {
    std::vector<float> out;
    if (steps <= 0)
        return out;
    const auto s = static_cast<float>(start);
    const auto e = static_cast<float>(end);
    if (steps == 1)
        return {s};
    out.resize(static_cast<size_t>(steps));
    const float step = (e - s) / static_cast<float>(steps - 1);
    const int halfway = steps / 2;
    for (int i = 0; i < steps; ++i)
        out[i] = i < halfway ? s + step * static_cast<float>(i) : e - step * static_cast<float>(steps - i - 1);
    return out;
}

namespace {

// betas_for_alpha_bar with the cosine ("squaredcos_cap_v2") transform, max_beta 0.999; Python
// floats, then torch.tensor(..., dtype=float32).
std::vector<float> cosineBetas(int n) {
    const auto alphaBar = [](double t) {
        const double c = std::cos((t + 0.008) / 1.008 * M_PI / 2);
        return std::pow(c, 2.0);
    };
    std::vector<float> betas(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        const double t1 = static_cast<double>(i) / n;
        const double t2 = static_cast<double>(i + 1) / n;
        betas[i] = static_cast<float>(std::min(1 - alphaBar(t2) / alphaBar(t1), 0.999));
    }
    return betas;
}

} // namespace

std::vector<float> makeBetas(const BetaConfig& config) {
    std::vector<float> betas;
    if (!config.trainedBetas.empty()) {
        betas.reserve(config.trainedBetas.size());
        for (double b : config.trainedBetas)
            betas.push_back(static_cast<float>(b));
    } else if (config.schedule == BetaSchedule::Linear) {
        betas = torchLinspaceF32(config.betaStart, config.betaEnd, config.numTrainTimesteps);
    } else if (config.schedule == BetaSchedule::ScaledLinear) {
        betas = torchLinspaceF32(std::pow(config.betaStart, 0.5), std::pow(config.betaEnd, 0.5),
                                 config.numTrainTimesteps);
        for (float& b : betas)
            b = sq(b);
    } else {
        betas = cosineBetas(config.numTrainTimesteps);
    }
    if (config.rescaleZeroTerminalSnr)
        betas = rescaleZeroTerminalSnr(betas);
    return betas;
}

std::vector<float> rescaleZeroTerminalSnr(const std::vector<float>& betas) {
    if (betas.size() < 2)
        return betas;
    std::vector<float> sqrtBar = alphasCumprod(betas);
    for (float& a : sqrtBar)
        a = std::sqrt(a);
    const float a0 = sqrtBar.front();
    const float aT = sqrtBar.back();
    for (float& a : sqrtBar)
        a -= aT;
    const float scale = a0 / (a0 - aT);
    for (float& a : sqrtBar)
        a *= scale;
    std::vector<float> bar(sqrtBar.size());
    for (size_t i = 0; i < bar.size(); ++i)
        bar[i] = sq(sqrtBar[i]);
    std::vector<float> out(bar.size());
    out[0] = 1.0f - bar[0];
    for (size_t i = 1; i < bar.size(); ++i)
        out[i] = 1.0f - bar[i] / bar[i - 1];
    return out;
}

std::vector<float> alphasCumprod(const std::vector<float>& betas) {
    std::vector<float> out(betas.size());
    double acc = 1.0;
    for (size_t i = 0; i < betas.size(); ++i) {
        acc *= static_cast<double>(1.0f - betas[i]);
        out[i] = static_cast<float>(acc);
    }
    return out;
}

std::vector<float> trainSigmas(const std::vector<float>& alphasCumprod) {
    std::vector<float> out(alphasCumprod.size());
    for (size_t i = 0; i < out.size(); ++i)
        out[i] = std::sqrt((1.0f - alphasCumprod[i]) / alphasCumprod[i]);
    return out;
}

std::vector<float> logSigmas(const std::vector<float>& sigmas) {
    std::vector<float> out(sigmas.size());
    for (size_t i = 0; i < out.size(); ++i)
        out[i] = std::log(sigmas[i]);
    return out;
}

std::vector<double> karrasSigmas(double sigmaMin, double sigmaMax, int count) {
    const double rho = 7.0;
    const std::vector<double> ramp = np::linspace(0, 1, count);
    const double minInvRho = std::pow(sigmaMin, 1 / rho);
    const double maxInvRho = std::pow(sigmaMax, 1 / rho);
    std::vector<double> out(ramp.size());
    for (size_t i = 0; i < ramp.size(); ++i)
        out[i] = std::pow(maxInvRho + ramp[i] * (minInvRho - maxInvRho), rho);
    return out;
}

double sigmaToT(double sigma, const std::vector<float>& logSigmas) {
    const auto n = static_cast<int64_t>(logSigmas.size());
    const double logSigma = std::log(std::max(sigma, 1e-10));
    // low_idx = argmax(cumsum(log_sigma - log_sigmas >= 0)), clipped to n - 2: the last index
    // whose log-sigma is <= log_sigma (log_sigmas grows with t), 0 when there is none.
    int64_t low = 0;
    for (int64_t i = 0; i < n; ++i) {
        if (logSigma - static_cast<double>(logSigmas[i]) >= 0)
            low = i;
    }
    low = std::min(low, n - 2);
    const int64_t high = low + 1;
    const float lowLog = logSigmas[low];
    const float highLog = logSigmas[high];
    // (float32 - float64) / (float32 - float32): the denominator is a float32 difference.
    double w = (static_cast<double>(lowLog) - logSigma) / static_cast<double>(lowLog - highLog);
    w = std::clamp(w, 0.0, 1.0);
    return (1 - w) * static_cast<double>(low) + w * static_cast<double>(high);
}

} // namespace tp::sched
