#pragma once

// What Euler, Euler ancestral and LMS share (k-diffusion style samplers): float32 timesteps,
// sigmas interpolated from the training table (or Karras sigmas), the input scaling
// x / sqrt(σ² + 1) and the initial-noise factor.

#include "core/sched/Scheduler.h"
#include "core/sched/SchedulerConfig.h"

#include <optional>
#include <vector>

namespace tp::sched {

struct SigmaConfig {
    BetaConfig betas;
    PredictionType prediction = PredictionType::Epsilon;
    TimestepSpacing spacing = TimestepSpacing::Linspace;
    int stepsOffset = 0;
    bool useKarras = false;
    std::optional<double> sigmaMin; // Karras bounds from the config (Euler only); else the table's
    std::optional<double> sigmaMax;
    bool finalSigmaMin = false; // final_sigmas_type "sigma_min" (Euler only); else 0
};

// Reads the keys the three classes share; `className` is the diffusers class for messages.
SigmaConfig readSigmaConfig(ConfigReader& reader, bool hasZeroSnrKey);

class SigmaScheduler : public Scheduler {
public:
    Status setTimesteps(int steps) override;
    double initNoiseSigma() const override;
    at::Tensor scaleModelInput(const at::Tensor& sample, int stepIndex) const override;

protected:
    explicit SigmaScheduler(SigmaConfig config);
    // Called by setTimesteps() after the schedule is built, to clear per-run state.
    virtual void resetHistory() {}

    float sigma(int i) const { return m_sigmasF[static_cast<size_t>(i)]; }

    SigmaConfig m_config;
    std::vector<float> m_alphasCumprod;
    std::vector<float> m_trainSigmas;
    std::vector<float> m_logSigmas;
    std::vector<float> m_sigmasF; // the float32 sigmas, size() + 1
};

} // namespace tp::sched
