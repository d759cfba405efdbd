#include "core/sched/LcmScheduler.h"

#include "core/sched/NumpyCompat.h"
#include "core/sched/Random.h"
#include "core/sched/StepMath.h"

#include <ATen/ATen.h>

#include <cmath>

namespace tp::sched {

Result<std::unique_ptr<Scheduler>> LcmScheduler::fromConfig(const QJsonObject& json) {
    ConfigReader reader(json, QStringLiteral("LCMScheduler"));
    Config c;
    c.betas = reader.betaConfig(0.00085, 0.012, QStringLiteral("scaled_linear"), /*hasRescaleKey=*/true);
    c.prediction = reader.predictionType(
        {QStringLiteral("epsilon"), QStringLiteral("v_prediction"), QStringLiteral("sample")});
    c.originalInferenceSteps = reader.integer("original_inference_steps", 50);
    if (c.originalInferenceSteps < 1 || c.originalInferenceSteps > c.betas.numTrainTimesteps)
        reader.fail(QStringLiteral("\"original_inference_steps\" %1 is outside 1..num_train_timesteps")
                        .arg(c.originalInferenceSteps));
    c.timestepScaling = reader.number("timestep_scaling", 10.0);
    c.setAlphaToOne = reader.boolean("set_alpha_to_one", true);
    c.clipSample = reader.boolean("clip_sample", false);
    c.clipSampleRange = reader.number("clip_sample_range", 1.0);
    reader.requireDefault("thresholding", false);
    if (!reader.ok())
        return Result<std::unique_ptr<Scheduler>>::fail(reader.error());
    return Result<std::unique_ptr<Scheduler>>::ok(std::unique_ptr<Scheduler>(new LcmScheduler(std::move(c))));
}

LcmScheduler::LcmScheduler(Config config)
    : Scheduler(at::kLong)
    , m_config(std::move(config)) {
    m_alphasCumprod = alphasCumprod(makeBetas(m_config.betas));
    m_finalAlphaCumprod = m_config.setAlphaToOne ? 1.0f : m_alphasCumprod.front();
}

Status LcmScheduler::setTimesteps(int steps) {
    const int original = m_config.originalInferenceSteps;
    if (steps < 1 || steps > original)
        return Status::fail(
            QStringLiteral("lcm: %1 steps is outside 1..%2 (original_inference_steps); LCM models "
                           "are meant for 2-8 steps")
                .arg(steps)
                .arg(original));
    // lcm_origin_timesteps = arange(1, original + 1) * (N // original) - 1, reversed
    const int k = m_config.betas.numTrainTimesteps / original;
    std::vector<int64_t> origin;
    for (int i = original; i >= 1; --i)
        origin.push_back(static_cast<int64_t>(i) * k - 1);
    // floor(np.linspace(0, len(origin), n, endpoint=False)) picks the inference timesteps
    m_timesteps.clear();
    for (double idx : np::linspace(0, static_cast<double>(origin.size()), steps, /*endpoint=*/false))
        m_timesteps.push_back(static_cast<double>(origin[static_cast<size_t>(std::floor(idx))]));
    return Status::ok();
}

at::Tensor LcmScheduler::step(const at::Tensor& modelOutput, int stepIndex, const at::Tensor& sample,
                              at::Generator* gen) {
    checkStepIndex(stepIndex, "step");
    const auto i = static_cast<size_t>(stepIndex);
    const auto timestep = static_cast<int64_t>(m_timesteps[i]);
    // 1. previous step value: the next timestep of the schedule (the same one on the last step)
    const int64_t prevTimestep =
        i + 1 < m_timesteps.size() ? static_cast<int64_t>(m_timesteps[i + 1]) : timestep;
    // 2. alphas, betas
    const float alphaProdT = pyIndex(m_alphasCumprod, timestep);
    const float alphaProdTPrev =
        prevTimestep >= 0 ? pyIndex(m_alphasCumprod, prevTimestep) : m_finalAlphaCumprod;
    const float betaProdT = 1.0f - alphaProdT;
    const float betaProdTPrev = 1.0f - alphaProdTPrev;
    // 3. boundary-condition scalings; timestep * timestep_scaling is int64 * float → float32
    const float sigmaData = 0.5f;
    const float scaled = static_cast<float>(timestep) * static_cast<float>(m_config.timestepScaling);
    const float cSkip = sq(sigmaData) / (sq(scaled) + sq(sigmaData));
    const float cOut = scaled / std::sqrt(sq(scaled) + sq(sigmaData));
    // 4. predicted x_0
    at::Tensor predOriginal;
    switch (m_config.prediction) {
    case PredictionType::Epsilon:
        predOriginal = (sample - modelOutput * scalar(std::sqrt(betaProdT))) / scalar(std::sqrt(alphaProdT));
        break;
    case PredictionType::Sample:
        predOriginal = modelOutput;
        break;
    case PredictionType::VPrediction:
        predOriginal = sample * scalar(std::sqrt(alphaProdT)) - modelOutput * scalar(std::sqrt(betaProdT));
        break;
    }
    // 5. clip
    if (m_config.clipSample)
        predOriginal = predOriginal.clamp(-m_config.clipSampleRange, m_config.clipSampleRange);
    // 6. denoise with the boundary conditions
    const at::Tensor denoised = predOriginal * scalar(cOut) + sample * scalar(cSkip);
    // 7. re-noise to the next timestep, except on the last step
    if (stepIndex == size() - 1)
        return denoised;
    const at::Tensor noise =
        randnTensor(modelOutput.sizes(), gen, denoised.scalar_type(), modelOutput.device());
    return denoised * scalar(std::sqrt(alphaProdTPrev)) + noise * scalar(std::sqrt(betaProdTPrev));
}

} // namespace tp::sched
