#pragma once

#include "core/sched/SigmaScheduler.h"

namespace tp::sched {

// diffusers EulerAncestralDiscreteScheduler: an Euler step down to σ_down followed by fresh
// noise of size σ_up drawn from the generator (every step, the last one included, as diffusers
// draws it). Predictions: epsilon and v_prediction ("sample" is not implemented in diffusers).
class EulerAncestralScheduler final : public SigmaScheduler {
public:
    static Result<std::unique_ptr<Scheduler>> fromConfig(const QJsonObject& config);

    QString name() const override { return QStringLiteral("euler_a"); }
    at::Tensor step(const at::Tensor& modelOutput, int stepIndex, const at::Tensor& sample,
                    at::Generator* gen) override;

private:
    explicit EulerAncestralScheduler(SigmaConfig config)
        : SigmaScheduler(std::move(config)) {}
};

} // namespace tp::sched
