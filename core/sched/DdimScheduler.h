#pragma once

#include "core/sched/Scheduler.h"
#include "core/sched/SchedulerConfig.h"

namespace tp::sched {

// diffusers DDIMScheduler with eta = 0 (deterministic, the pipelines' default): integer
// timesteps ("leading" spacing by default), previous timestep t - N // n, ᾱ_prev of a negative
// timestep = final_alpha_cumprod (1 with set_alpha_to_one, else ᾱ_0), optional clip_sample.
class DdimScheduler final : public Scheduler {
public:
    static Result<std::unique_ptr<Scheduler>> fromConfig(const QJsonObject& config);

    QString name() const override { return QStringLiteral("ddim"); }
    Status setTimesteps(int steps) override;
    at::Tensor step(const at::Tensor& modelOutput, int stepIndex, const at::Tensor& sample,
                    at::Generator* gen) override;

private:
    struct Config {
        BetaConfig betas;
        PredictionType prediction = PredictionType::Epsilon;
        TimestepSpacing spacing = TimestepSpacing::Leading;
        int stepsOffset = 0;
        bool setAlphaToOne = true;
        bool clipSample = true;
        double clipSampleRange = 1.0;
    };
    explicit DdimScheduler(Config config);

    Config m_config;
    std::vector<float> m_alphasCumprod;
    float m_finalAlphaCumprod = 1.0f;
    int m_steps = 0;
};

} // namespace tp::sched
