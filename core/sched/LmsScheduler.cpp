#include "core/sched/LmsScheduler.h"

#include "core/sched/GaussKronrod.h"
#include "core/sched/StepMath.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace tp::sched {

Result<std::unique_ptr<Scheduler>> LmsScheduler::fromConfig(const QJsonObject& json) {
    ConfigReader reader(json, QStringLiteral("LMSDiscreteScheduler"));
    SigmaConfig c = readSigmaConfig(reader, /*hasZeroSnrKey=*/false);
    c.prediction = reader.predictionType(
        {QStringLiteral("epsilon"), QStringLiteral("v_prediction"), QStringLiteral("sample")});
    c.useKarras = reader.boolean("use_karras_sigmas", false);
    reader.requireDefault("use_exponential_sigmas", false);
    reader.requireDefault("use_beta_sigmas", false);
    if (!reader.ok())
        return Result<std::unique_ptr<Scheduler>>::fail(reader.error());
    return Result<std::unique_ptr<Scheduler>>::ok(std::unique_ptr<Scheduler>(new LmsScheduler(std::move(c))));
}

double LmsScheduler::lmsCoefficient(int order, int t, int currentOrder) const {
    TORCH_CHECK(t >= order - 1 && t + 1 < static_cast<int>(m_sigmasF.size()),
                "lms: coefficient index out of range");
    // lms_derivative(tau): prod over k != current_order of (tau - s[t-k]) / (s[t-cur] - s[t-k]),
    // where the s are 0-d float32 tensors, so every operation is float32 (tau rounded first).
    const auto integrand = [&](double tau) -> double {
        bool any = false;
        float prod = 1.0f;
        for (int k = 0; k < order; ++k) {
            if (k == currentOrder)
                continue;
            const float factor =
                (static_cast<float>(tau) - sigma(t - k)) / (sigma(t - currentOrder) - sigma(t - k));
            prod = any ? prod * factor : factor;
            any = true;
        }
        return any ? static_cast<double>(prod) : 1.0; // an empty product stays the Python float 1.0
    };
    return gaussKronrod21(integrand, sigma(t), sigma(t + 1)).result;
}

at::Tensor LmsScheduler::step(const at::Tensor& modelOutput, int stepIndex, const at::Tensor& sample,
                              at::Generator* /*gen: deterministic*/) {
    checkStepIndex(stepIndex, "step");
    const float sigma = this->sigma(stepIndex);
    at::Tensor predOriginal;
    switch (m_config.prediction) {
    case PredictionType::Epsilon:
        predOriginal = sample - modelOutput * scalar(sigma);
        break;
    case PredictionType::VPrediction:
        predOriginal =
            modelOutput * scalar(-sigma / std::sqrt(sq(sigma) + 1.0f)) + sample / scalar(sq(sigma) + 1.0f);
        break;
    case PredictionType::Sample:
        predOriginal = modelOutput;
        break;
    }
    m_derivatives.push_back((sample - predOriginal) / scalar(sigma));
    if (static_cast<int>(m_derivatives.size()) > kOrder)
        m_derivatives.pop_front();

    const int order = std::min(stepIndex + 1, kOrder);
    // sample + sum(coeff * derivative for coeff, derivative in zip(coeffs, reversed(derivatives)))
    at::Tensor sum;
    auto derivative = m_derivatives.rbegin();
    for (int cur = 0; cur < order && derivative != m_derivatives.rend(); ++cur, ++derivative) {
        const at::Tensor term = *derivative * lmsCoefficient(order, stepIndex, cur);
        sum = sum.defined() ? sum + term : term;
    }
    return sample + sum;
}

} // namespace tp::sched
