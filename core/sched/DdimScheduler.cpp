#include "core/sched/DdimScheduler.h"

#include "core/sched/StepMath.h"
#include "core/sched/Timesteps.h"

#include <ATen/ATen.h>

#include <cmath>

namespace tp::sched {

Result<std::unique_ptr<Scheduler>> DdimScheduler::fromConfig(const QJsonObject& json) {
    ConfigReader reader(json, QStringLiteral("DDIMScheduler"));
    Config c;
    c.betas = reader.betaConfig(0.0001, 0.02, QStringLiteral("linear"), /*hasRescaleKey=*/true);
    c.prediction = reader.predictionType(
        {QStringLiteral("epsilon"), QStringLiteral("v_prediction"), QStringLiteral("sample")});
    c.spacing = reader.timestepSpacing(QStringLiteral("leading"));
    c.stepsOffset = reader.integer("steps_offset", 0);
    c.setAlphaToOne = reader.boolean("set_alpha_to_one", true);
    c.clipSample = reader.boolean("clip_sample", true);
    c.clipSampleRange = reader.number("clip_sample_range", 1.0);
    reader.requireDefault("thresholding", false);
    if (!reader.ok())
        return Result<std::unique_ptr<Scheduler>>::fail(reader.error());
    return Result<std::unique_ptr<Scheduler>>::ok(
        std::unique_ptr<Scheduler>(new DdimScheduler(std::move(c))));
}

DdimScheduler::DdimScheduler(Config config)
    : Scheduler(at::kLong)
    , m_config(std::move(config)) {
    m_alphasCumprod = alphasCumprod(makeBetas(m_config.betas));
    m_finalAlphaCumprod = m_config.setAlphaToOne ? 1.0f : m_alphasCumprod.front();
}

Status DdimScheduler::setTimesteps(int steps) {
    const int numTrain = m_config.betas.numTrainTimesteps;
    if (steps < 1 || steps > numTrain)
        return Status::fail(
            QStringLiteral("ddim: %1 steps is outside 1..%2; choose a step count in that range")
                .arg(steps)
                .arg(numTrain));
    const std::vector<int64_t> t = ddimTimesteps(m_config.spacing, numTrain, steps, m_config.stepsOffset);
    for (int64_t v : t) {
        if (v >= numTrain)
            return Status::fail(
                QStringLiteral("ddim: timestep %1 (steps_offset %2) is past the %3 training steps; "
                               "fix steps_offset in scheduler_config.json")
                    .arg(v)
                    .arg(m_config.stepsOffset)
                    .arg(numTrain));
    }
    m_timesteps.assign(t.begin(), t.end());
    m_steps = steps;
    return Status::ok();
}

at::Tensor DdimScheduler::step(const at::Tensor& modelOutput, int stepIndex, const at::Tensor& sample,
                               at::Generator* /*gen: eta = 0 draws nothing*/) {
    checkStepIndex(stepIndex, "step");
    const auto timestep = static_cast<int64_t>(m_timesteps[static_cast<size_t>(stepIndex)]);
    // 1. previous step value (= t - N // n)
    const int64_t prevTimestep = timestep - m_config.betas.numTrainTimesteps / m_steps;
    // 2. alphas, betas
    const float alphaProdT = pyIndex(m_alphasCumprod, timestep);
    const float alphaProdTPrev =
        prevTimestep >= 0 ? pyIndex(m_alphasCumprod, prevTimestep) : m_finalAlphaCumprod;
    const float betaProdT = 1.0f - alphaProdT;
    // 3. predicted x_0 and epsilon
    at::Tensor predOriginal;
    at::Tensor predEpsilon;
    switch (m_config.prediction) {
    case PredictionType::Epsilon:
        predOriginal = (sample - modelOutput * scalar(std::sqrt(betaProdT))) / scalar(std::sqrt(alphaProdT));
        predEpsilon = modelOutput;
        break;
    case PredictionType::Sample:
        predOriginal = modelOutput;
        predEpsilon = (sample - predOriginal * scalar(std::sqrt(alphaProdT))) / scalar(std::sqrt(betaProdT));
        break;
    case PredictionType::VPrediction:
        predOriginal = sample * scalar(std::sqrt(alphaProdT)) - modelOutput * scalar(std::sqrt(betaProdT));
        predEpsilon = modelOutput * scalar(std::sqrt(alphaProdT)) + sample * scalar(std::sqrt(betaProdT));
        break;
    }
    // 4. clip "predicted x_0"
    if (m_config.clipSample)
        predOriginal = predOriginal.clamp(-m_config.clipSampleRange, m_config.clipSampleRange);
    // 5. sigma_t(eta) = eta * variance ** 0.5 with eta = 0
    const float betaProdTPrev = 1.0f - alphaProdTPrev;
    const float variance = (betaProdTPrev / betaProdT) * (1.0f - alphaProdT / alphaProdTPrev);
    const float stdDevT = 0.0f * std::sqrt(variance);
    // 6. direction pointing to x_t: (1 - alpha_prod_t_prev - std_dev_t**2) ** 0.5 * pred_epsilon
    const at::Tensor direction = predEpsilon * scalar(std::sqrt(1.0f - alphaProdTPrev - sq(stdDevT)));
    // 7. x_{t-1} without noise
    return predOriginal * scalar(std::sqrt(alphaProdTPrev)) + direction;
}

} // namespace tp::sched
