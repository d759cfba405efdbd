#pragma once

#include "core/sched/Scheduler.h"
#include "core/sched/SchedulerConfig.h"

namespace tp::sched {

// diffusers LCMScheduler (latent consistency models): timesteps picked from the distillation
// schedule of original_inference_steps (default 50) evenly spaced training steps; each step
// predicts x_0, applies the consistency boundary conditions c_skip/c_out (timestep_scaling 10,
// σ_data 0.5), and, except on the last step, re-noises to the next timestep with noise from the
// generator. The last step returns the denoised sample itself.
class LcmScheduler final : public Scheduler {
public:
    static Result<std::unique_ptr<Scheduler>> fromConfig(const QJsonObject& config);

    QString name() const override { return QStringLiteral("lcm"); }
    Status setTimesteps(int steps) override;
    at::Tensor step(const at::Tensor& modelOutput, int stepIndex, const at::Tensor& sample,
                    at::Generator* gen) override;

private:
    struct Config {
        BetaConfig betas;
        PredictionType prediction = PredictionType::Epsilon;
        int originalInferenceSteps = 50;
        double timestepScaling = 10.0;
        bool setAlphaToOne = true;
        bool clipSample = false;
        double clipSampleRange = 1.0;
    };
    explicit LcmScheduler(Config config);

    Config m_config;
    std::vector<float> m_alphasCumprod;
    float m_finalAlphaCumprod = 1.0f;
};

} // namespace tp::sched
