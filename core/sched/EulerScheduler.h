#pragma once

#include "core/sched/SigmaScheduler.h"

namespace tp::sched {

// diffusers EulerDiscreteScheduler (Karras et al. 2022, algorithm 2, s_churn = 0): timestep
// spacing "linspace" by default, optional Karras sigmas, final sigma 0 or sigma_min.
// The step upcasts the sample to float32 and returns the model output's dtype.
class EulerScheduler final : public SigmaScheduler {
public:
    static Result<std::unique_ptr<Scheduler>> fromConfig(const QJsonObject& config);

    QString name() const override { return QStringLiteral("euler"); }
    at::Tensor step(const at::Tensor& modelOutput, int stepIndex, const at::Tensor& sample,
                    at::Generator* gen) override;

private:
    explicit EulerScheduler(SigmaConfig config)
        : SigmaScheduler(std::move(config)) {}
};

} // namespace tp::sched
