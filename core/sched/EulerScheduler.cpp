#include "core/sched/EulerScheduler.h"

#include "core/sched/StepMath.h"

#include <ATen/ATen.h>

#include <cmath>

namespace tp::sched {

Result<std::unique_ptr<Scheduler>> EulerScheduler::fromConfig(const QJsonObject& json) {
    ConfigReader reader(json, QStringLiteral("EulerDiscreteScheduler"));
    SigmaConfig c = readSigmaConfig(reader, /*hasZeroSnrKey=*/true);
    c.prediction = reader.predictionType(
        {QStringLiteral("epsilon"), QStringLiteral("v_prediction"), QStringLiteral("sample")});
    c.useKarras = reader.boolean("use_karras_sigmas", false);
    c.sigmaMin = reader.optionalNumber("sigma_min");
    c.sigmaMax = reader.optionalNumber("sigma_max");
    c.finalSigmaMin =
        reader.choice("final_sigmas_type", QStringLiteral("zero"),
                      {QStringLiteral("zero"), QStringLiteral("sigma_min")}) == QLatin1String("sigma_min");
    reader.requireDefault("interpolation_type", QStringLiteral("linear"));
    reader.requireDefault("timestep_type", QStringLiteral("discrete"));
    reader.requireDefault("use_exponential_sigmas", false);
    reader.requireDefault("use_beta_sigmas", false);
    if (!reader.ok())
        return Result<std::unique_ptr<Scheduler>>::fail(reader.error());
    return Result<std::unique_ptr<Scheduler>>::ok(
        std::unique_ptr<Scheduler>(new EulerScheduler(std::move(c))));
}

at::Tensor EulerScheduler::step(const at::Tensor& modelOutput, int stepIndex, const at::Tensor& sampleIn,
                                at::Generator* /*gen: s_churn = 0 draws nothing*/) {
    checkStepIndex(stepIndex, "step");
    // Upcast to avoid precision issues when computing prev_sample.
    const at::Tensor sample = sampleIn.to(at::kFloat);
    const float sigma = this->sigma(stepIndex);
    const float sigmaHat = sigma * (0.0f + 1.0f); // gamma = 0 without churn
    at::Tensor predOriginal;
    switch (m_config.prediction) {
    case PredictionType::Epsilon:
        predOriginal = sample - modelOutput * scalar(sigmaHat);
        break;
    case PredictionType::VPrediction:
        // model_output * (-sigma / (sigma**2 + 1) ** 0.5) + (sample / (sigma**2 + 1))
        predOriginal =
            modelOutput * scalar(-sigma / std::sqrt(sq(sigma) + 1.0f)) + sample / scalar(sq(sigma) + 1.0f);
        break;
    case PredictionType::Sample:
        predOriginal = modelOutput;
        break;
    }
    const at::Tensor derivative = (sample - predOriginal) / scalar(sigmaHat);
    const float dt = this->sigma(stepIndex + 1) - sigmaHat;
    const at::Tensor prev = sample + derivative * scalar(dt);
    return prev.to(modelOutput.scalar_type());
}

} // namespace tp::sched
