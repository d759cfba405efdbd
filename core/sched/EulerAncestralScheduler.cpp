#include "core/sched/EulerAncestralScheduler.h"

#include "core/sched/Random.h"
#include "core/sched/StepMath.h"

#include <ATen/ATen.h>

#include <cmath>

namespace tp::sched {

Result<std::unique_ptr<Scheduler>> EulerAncestralScheduler::fromConfig(const QJsonObject& json) {
    ConfigReader reader(json, QStringLiteral("EulerAncestralDiscreteScheduler"));
    SigmaConfig c = readSigmaConfig(reader, /*hasZeroSnrKey=*/true);
    c.prediction = reader.predictionType({QStringLiteral("epsilon"), QStringLiteral("v_prediction")});
    if (!reader.ok())
        return Result<std::unique_ptr<Scheduler>>::fail(reader.error());
    return Result<std::unique_ptr<Scheduler>>::ok(
        std::unique_ptr<Scheduler>(new EulerAncestralScheduler(std::move(c))));
}

at::Tensor EulerAncestralScheduler::step(const at::Tensor& modelOutput, int stepIndex,
                                         const at::Tensor& sampleIn, at::Generator* gen) {
    checkStepIndex(stepIndex, "step");
    const float sigma = this->sigma(stepIndex);
    // Upcast to avoid precision issues when computing prev_sample.
    const at::Tensor sample = sampleIn.to(at::kFloat);
    at::Tensor predOriginal;
    if (m_config.prediction == PredictionType::VPrediction)
        predOriginal =
            modelOutput * scalar(-sigma / std::sqrt(sq(sigma) + 1.0f)) + sample / scalar(sq(sigma) + 1.0f);
    else
        predOriginal = sample - modelOutput * scalar(sigma);

    const float sigmaFrom = sigma;
    const float sigmaTo = this->sigma(stepIndex + 1);
    // (sigma_to**2 * (sigma_from**2 - sigma_to**2) / sigma_from**2) ** 0.5
    const float sigmaUp = std::sqrt(sq(sigmaTo) * (sq(sigmaFrom) - sq(sigmaTo)) / sq(sigmaFrom));
    const float sigmaDown = std::sqrt(sq(sigmaTo) - sq(sigmaUp));

    const at::Tensor derivative = (sample - predOriginal) / scalar(sigma);
    const float dt = sigmaDown - sigma;
    at::Tensor prev = sample + derivative * scalar(dt);
    const at::Tensor noise =
        randnTensor(modelOutput.sizes(), gen, modelOutput.scalar_type(), modelOutput.device());
    prev = prev + noise * scalar(sigmaUp);
    return prev.to(modelOutput.scalar_type());
}

} // namespace tp::sched
