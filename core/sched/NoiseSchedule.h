#pragma once

// The training noise schedule shared by every sampler: betas → ᾱ (alphas_cumprod) → σ, computed
// in float32 the way diffusers does it with torch on the CPU, so that every derived table
// matches Python bit for bit.

#include <vector>

namespace tp::sched {

enum class BetaSchedule { Linear, ScaledLinear, SquaredCosCapV2 };

struct BetaConfig {
    int numTrainTimesteps = 1000;
    double betaStart = 0.0001;
    double betaEnd = 0.02;
    BetaSchedule schedule = BetaSchedule::Linear;
    std::vector<double> trainedBetas; // non-empty: used instead of the schedule
    bool rescaleZeroTerminalSnr = false;
};

// torch.linspace(start, end, steps, dtype=float32) as PyTorch's CPU kernel computes it on x86:
// the first half counts up from `start`, the second half down from `end`, each element one
// fused multiply-add.
std::vector<float> torchLinspaceF32(double start, double end, int steps);

// betas (float32) for the config, zero-terminal-SNR rescaling included when asked for.
std::vector<float> makeBetas(const BetaConfig& config);

// rescale_zero_terminal_snr (Lin et al. 2023, algorithm 1) in float32.
std::vector<float> rescaleZeroTerminalSnr(const std::vector<float>& betas);

// torch.cumprod(1 - betas) on the CPU: accumulates in double, stores float32.
std::vector<float> alphasCumprod(const std::vector<float>& betas);

// ((1 - ᾱ) / ᾱ) ** 0.5 in float32, indexed by training timestep.
std::vector<float> trainSigmas(const std::vector<float>& alphasCumprod);

// numpy.log of the float32 sigma table (float32 results).
std::vector<float> logSigmas(const std::vector<float>& sigmas);

// Karras et al. (2022) sigmas, ρ = 7, from sigmaMax down to sigmaMin (float64).
std::vector<double> karrasSigmas(double sigmaMin, double sigmaMax, int count);

// diffusers' _sigma_to_t: the fractional training timestep whose log-sigma is `sigma`'s,
// interpolated in the float32 log-sigma table.
double sigmaToT(double sigma, const std::vector<float>& logSigmas);

// Python's float ** int-like exponent spelled out the way torch's CPU pow kernel does it for
// float32 tensors: x ** 2 is x * x, x ** 0.5 is sqrt(x).
inline float sq(float x) {
    return x * x;
}

} // namespace tp::sched
