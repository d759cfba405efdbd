#pragma once

#include "core/sched/Scheduler.h"
#include "core/sched/SchedulerConfig.h"

#include <array>
#include <limits>

namespace tp::sched {

struct DpmConfig {
    BetaConfig betas;
    PredictionType prediction = PredictionType::Epsilon;
    TimestepSpacing spacing = TimestepSpacing::Linspace;
    int stepsOffset = 0;
    int solverOrder = 2;
    bool lowerOrderFinal = true;
    bool eulerAtFinal = false;
    bool useKarras = false;
    bool finalSigmaMin = false; // final_sigmas_type "sigma_min"; default "zero"
    double lambdaMinClipped = -std::numeric_limits<double>::infinity();
};

// diffusers DPMSolverMultistepScheduler with algorithm_type "dpmsolver++" and the midpoint
// solver, order 1 or 2 ("DPM++ 2M"); Karras sigmas for "dpmpp_2m_karras". The step keeps the
// previous denoised prediction for the second-order update, falls back to first order on the first
// step and (lower_order_final / final sigma 0) on the last, and upcasts the sample to float32.
class DpmSolverMultistepScheduler final : public Scheduler {
public:
    // karras: the factory's choice between "dpmpp_2m" (false) and "dpmpp_2m_karras" (true).
    static Result<std::unique_ptr<Scheduler>> fromConfig(const QJsonObject& config, bool karras);

    QString name() const override;
    Status setTimesteps(int steps) override;
    at::Tensor step(const at::Tensor& modelOutput, int stepIndex, const at::Tensor& sample,
                    at::Generator* gen) override;

private:
    explicit DpmSolverMultistepScheduler(DpmConfig config);
    at::Tensor convertModelOutput(const at::Tensor& modelOutput, int stepIndex,
                                  const at::Tensor& sample) const;

    DpmConfig m_config;
    std::vector<float> m_alphasCumprod;
    std::vector<float> m_trainSigmas;
    std::vector<float> m_logSigmas;
    std::vector<float> m_sigmasF;
    std::array<at::Tensor, 2> m_modelOutputs; // [older, newer]; solver order <= 2
    int m_lowerOrderNums = 0;
};

} // namespace tp::sched
