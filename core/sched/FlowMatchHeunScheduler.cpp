#include "core/sched/FlowMatchHeunScheduler.h"

#include "core/sched/SchedulerConfig.h"
#include "core/sched/StepMath.h"

#include <ATen/ATen.h>

#include <cmath>

namespace tp::sched {

Result<std::unique_ptr<Scheduler>> FlowMatchHeunScheduler::fromConfig(const QJsonObject& json) {
    // The class knows num_train_timesteps and shift only; other keys (dynamic shifting) are
    // ignored as from_config does.
    ConfigReader reader(json, QStringLiteral("FlowMatchHeunDiscreteScheduler"));
    FlowMatchConfig c;
    c.numTrainTimesteps = reader.integer("num_train_timesteps", 1000);
    if (c.numTrainTimesteps < 1)
        reader.fail(
            QStringLiteral("\"num_train_timesteps\" must be at least 1, not %1").arg(c.numTrainTimesteps));
    c.shift = reader.number("shift", 1.0);
    if (!(c.shift > 0) || !std::isfinite(c.shift))
        reader.fail(QStringLiteral("\"shift\" must be a positive number, not %1").arg(c.shift));
    if (!reader.ok())
        return Result<std::unique_ptr<Scheduler>>::fail(reader.error());
    return Result<std::unique_ptr<Scheduler>>::ok(
        std::unique_ptr<Scheduler>(new FlowMatchHeunScheduler(std::move(c))));
}

Status FlowMatchHeunScheduler::setTimesteps(int steps) {
    Result<FlowMatchTables> t = flowMatchSchedule(m_config, steps, {});
    if (!t)
        return Status::fail(QStringLiteral("%1: %2").arg(name(), t.error()));
    // timesteps = cat(t[:1], t[1:].repeat_interleave(2));
    // sigmas = cat(s[:1], s[1:-1].repeat_interleave(2), s[-1:]) with s ending in 0.
    const std::vector<float>& ts = t->timesteps;
    const std::vector<float>& ss = t->sigmas;
    m_timesteps = {ts[0]};
    m_sigmasF = {ss[0]};
    for (size_t i = 1; i < ts.size(); ++i) {
        m_timesteps.insert(m_timesteps.end(), 2, ts[i]);
        m_sigmasF.insert(m_sigmasF.end(), 2, ss[i]);
    }
    m_sigmasF.push_back(ss.back());
    m_sigmas.assign(m_sigmasF.begin(), m_sigmasF.end());
    m_prevDerivative = at::Tensor();
    m_prevSample = at::Tensor();
    m_lastStep = -1;
    return Status::ok();
}

at::Tensor FlowMatchHeunScheduler::step(const at::Tensor& modelOutput, int stepIndex,
                                        const at::Tensor& sampleIn,
                                        at::Generator* /*gen: s_churn = 0 draws nothing*/) {
    checkStepIndex(stepIndex, "step");
    TORCH_CHECK(stepIndex == m_lastStep + 1, "flow_heun::step: step ", stepIndex, " after step ", m_lastStep,
                "; call step() for every index in order (setTimesteps() starts again)");
    m_lastStep = stepIndex;
    const auto i = static_cast<size_t>(stepIndex);
    at::Tensor sample = sampleIn.to(at::kFloat);
    at::Tensor derivative;
    float dt = 0;
    if (stepIndex % 2 == 0) { // state_in_first_order
        const float sigma = m_sigmasF[i];
        const float sigmaNext = m_sigmasF[i + 1];
        const float sigmaHat = sigma * (0.0f + 1.0f); // gamma = 0 without churn
        const at::Tensor denoised = sample - modelOutput * scalar(sigma);
        derivative = (sample - denoised) / scalar(sigmaHat);
        dt = sigmaNext - sigmaHat;
        m_prevDerivative = derivative;
        m_dt = dt;
        m_prevSample = sample;
    } else {
        const float sigmaNext = m_sigmasF[i];
        const at::Tensor denoised = sample - modelOutput * scalar(sigmaNext);
        derivative = (sample - denoised) / scalar(sigmaNext);
        derivative = (m_prevDerivative + derivative) * 0.5;
        dt = m_dt;
        sample = m_prevSample;
        m_prevDerivative = at::Tensor();
        m_prevSample = at::Tensor();
    }
    const at::Tensor prev = sample + derivative * scalar(dt);
    return prev.to(modelOutput.scalar_type());
}

} // namespace tp::sched
