#include "core/sched/FlowMatchEulerScheduler.h"

#include "core/sched/SchedulerConfig.h"
#include "core/sched/StepMath.h"

#include <ATen/ATen.h>

namespace tp::sched {

Result<std::unique_ptr<Scheduler>> FlowMatchEulerScheduler::fromConfig(const QJsonObject& json) {
    ConfigReader reader(json, QStringLiteral("FlowMatchEulerDiscreteScheduler"));
    FlowMatchConfig c = readFlowMatchEulerConfig(reader);
    if (!reader.ok())
        return Result<std::unique_ptr<Scheduler>>::fail(reader.error());
    return Result<std::unique_ptr<Scheduler>>::ok(
        std::unique_ptr<Scheduler>(new FlowMatchEulerScheduler(std::move(c))));
}

Status FlowMatchEulerScheduler::setTimesteps(int steps) {
    return setTimestepsWith(steps, {});
}

Status FlowMatchEulerScheduler::setTimestepsWith(int steps, const TimestepOptions& options) {
    Result<FlowMatchTables> t = flowMatchSchedule(m_config, steps, options);
    if (!t)
        return Status::fail(QStringLiteral("%1: %2").arg(name(), t.error()));
    m_sigmasF = std::move(t->sigmas);
    m_sigmas.assign(m_sigmasF.begin(), m_sigmasF.end());
    m_timesteps.assign(t->timesteps.begin(), t->timesteps.end());
    return Status::ok();
}

at::Tensor FlowMatchEulerScheduler::step(const at::Tensor& modelOutput, int stepIndex,
                                         const at::Tensor& sampleIn,
                                         at::Generator* /*gen: no stochastic sampling*/) {
    checkStepIndex(stepIndex, "step");
    // Upcast to avoid precision issues when computing prev_sample.
    const at::Tensor sample = sampleIn.to(at::kFloat);
    const auto i = static_cast<size_t>(stepIndex);
    const float dt = m_sigmasF[i + 1] - m_sigmasF[i];
    // dt * model_output is computed in the model output's dtype, then added in float32.
    const at::Tensor prev = sample + modelOutput * scalar(dt);
    return prev.to(modelOutput.scalar_type());
}

} // namespace tp::sched
