#pragma once

#include "core/sched/FlowMatchSchedule.h"
#include "core/sched/Scheduler.h"

namespace tp::sched {

// diffusers FlowMatchHeunDiscreteScheduler (s_churn = 0): Heun's second-order method on the
// flow-matching schedule (static shift only). n steps give 2n − 1 model calls: timesteps
// [t0, t1, t1, …, t(n−1), t(n−1)] and sigmas [σ0, σ1, σ1, …, σ(n−1), σ(n−1), 0]. Even indices take
// the Euler step and remember its slope, odd ones correct it with the average slope; the last
// (even) index is a plain Euler step to 0. Call step() for every index in order.
class FlowMatchHeunScheduler final : public Scheduler {
public:
    static Result<std::unique_ptr<Scheduler>> fromConfig(const QJsonObject& config);

    QString name() const override { return QStringLiteral("flow_heun"); }
    Status setTimesteps(int steps) override;
    at::Tensor step(const at::Tensor& modelOutput, int stepIndex, const at::Tensor& sample,
                    at::Generator* gen) override;

private:
    explicit FlowMatchHeunScheduler(FlowMatchConfig config)
        : Scheduler(at::kFloat)
        , m_config(std::move(config)) {}

    FlowMatchConfig m_config;
    std::vector<float> m_sigmasF; // size() + 1
    // The first-order half's state, set on even indices and consumed on odd ones.
    at::Tensor m_prevDerivative;
    at::Tensor m_prevSample;
    float m_dt = 0;
    int m_lastStep = -1;
};

} // namespace tp::sched
