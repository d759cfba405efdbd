#pragma once

#include "core/sched/Scheduler.h"
#include "core/sched/SchedulerConfig.h"

#include <deque>

namespace tp::sched {

// diffusers PNDMScheduler with skip_prk_steps=True, i.e. the PLMS sampler that Stable Diffusion
// configs select: steps + 1 timesteps (the second one repeats the first's successor), linear
// multistep over up to four earlier noise predictions, formula (9) of Liu et al. 2022.
// The Runge–Kutta warm-up (skip_prk_steps=False) is not implemented.
class PndmScheduler final : public Scheduler {
public:
    static Result<std::unique_ptr<Scheduler>> fromConfig(const QJsonObject& config);

    QString name() const override { return QStringLiteral("pndm"); }
    Status setTimesteps(int steps) override;
    at::Tensor step(const at::Tensor& modelOutput, int stepIndex, const at::Tensor& sample,
                    at::Generator* gen) override;

private:
    struct Config {
        BetaConfig betas;
        PredictionType prediction = PredictionType::Epsilon;
        TimestepSpacing spacing = TimestepSpacing::Leading;
        int stepsOffset = 0;
        bool setAlphaToOne = false;
    };
    explicit PndmScheduler(Config config);
    at::Tensor prevSample(const at::Tensor& sample, int64_t timestep, int64_t prevTimestep,
                          const at::Tensor& modelOutput) const;

    Config m_config;
    std::vector<float> m_alphasCumprod;
    float m_finalAlphaCumprod = 1.0f;
    int m_steps = 0;
    // PLMS state
    std::deque<at::Tensor> m_ets; // earlier model outputs, oldest first (at most 4)
    int m_counter = 0;
    at::Tensor m_curSample;
};

} // namespace tp::sched
