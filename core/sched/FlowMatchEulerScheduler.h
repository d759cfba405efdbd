#pragma once

#include "core/sched/FlowMatchSchedule.h"
#include "core/sched/Scheduler.h"

namespace tp::sched {

// diffusers FlowMatchEulerDiscreteScheduler (SD 3.x, Flux): the model predicts the velocity v and
// the step is x + (σ_next − σ)·v, computed on the float32-upcast sample and returned in the model
// output's dtype. Timesteps are float32 σ·T (T = num_train_timesteps); scaleModelInput is the
// identity and initNoiseSigma 1. setTimestepsWith() takes mu (required with use_dynamic_shifting,
// ignored otherwise, as diffusers does) and custom sigmas. The step index runs 0..size()-1 in order.
class FlowMatchEulerScheduler final : public Scheduler {
public:
    static Result<std::unique_ptr<Scheduler>> fromConfig(const QJsonObject& config);

    QString name() const override { return QStringLiteral("flow_euler"); }
    Status setTimesteps(int steps) override;
    Status setTimestepsWith(int steps, const TimestepOptions& options) override;
    at::Tensor step(const at::Tensor& modelOutput, int stepIndex, const at::Tensor& sample,
                    at::Generator* gen) override;

    const FlowMatchConfig& config() const { return m_config; }

private:
    explicit FlowMatchEulerScheduler(FlowMatchConfig config)
        : Scheduler(at::kFloat)
        , m_config(std::move(config)) {}

    FlowMatchConfig m_config;
    std::vector<float> m_sigmasF; // size() + 1
};

} // namespace tp::sched
