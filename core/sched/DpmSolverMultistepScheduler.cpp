#include "core/sched/DpmSolverMultistepScheduler.h"

#include "core/sched/NumpyCompat.h"
#include "core/sched/StepMath.h"
#include "core/sched/Timesteps.h"

#include <ATen/ATen.h>

#include <cmath>

namespace tp::sched {

namespace {

// _sigma_to_alpha_sigma_t: alpha_t = 1 / (sigma**2 + 1) ** 0.5, sigma_t = sigma * alpha_t (float32).
struct AlphaSigma {
    float alpha;
    float sigma;
};
AlphaSigma alphaSigma(float sigma) {
    const float alpha = 1.0f / std::sqrt(sq(sigma) + 1.0f);
    return {alpha, sigma * alpha};
}
float lambdaOf(AlphaSigma as) {
    return std::log(as.alpha) - std::log(as.sigma);
}

} // namespace

Result<std::unique_ptr<Scheduler>> DpmSolverMultistepScheduler::fromConfig(const QJsonObject& json,
                                                                           bool karras) {
    ConfigReader reader(json, QStringLiteral("DPMSolverMultistepScheduler"));
    DpmConfig c;
    c.betas = reader.betaConfig(0.0001, 0.02, QStringLiteral("linear"), /*hasRescaleKey=*/true);
    c.prediction = reader.predictionType(
        {QStringLiteral("epsilon"), QStringLiteral("v_prediction"), QStringLiteral("sample")});
    c.spacing = reader.timestepSpacing(QStringLiteral("linspace"));
    c.stepsOffset = reader.integer("steps_offset", 0);
    c.solverOrder = reader.integer("solver_order", 2);
    if (c.solverOrder != 1 && c.solverOrder != 2)
        reader.fail(QStringLiteral("\"solver_order\" %1 is not supported (1 or 2)").arg(c.solverOrder));
    c.lowerOrderFinal = reader.boolean("lower_order_final", true);
    c.eulerAtFinal = reader.boolean("euler_at_final", false);
    c.finalSigmaMin =
        reader.choice("final_sigmas_type", QStringLiteral("zero"),
                      {QStringLiteral("zero"), QStringLiteral("sigma_min")}) == QLatin1String("sigma_min");
    c.lambdaMinClipped = reader.number("lambda_min_clipped", c.lambdaMinClipped);
    c.useKarras = karras;
    reader.requireDefault("algorithm_type", QStringLiteral("dpmsolver++"));
    reader.requireDefault("solver_type", QStringLiteral("midpoint"));
    reader.requireDefault("thresholding", false);
    reader.requireDefault("use_lu_lambdas", false);
    reader.requireDefault("use_exponential_sigmas", false);
    reader.requireDefault("use_beta_sigmas", false);
    reader.requireDefault("use_flow_sigmas", false);
    reader.requireDefault("use_dynamic_shifting", false);
    if (json.contains(QLatin1String("variance_type")) && !json.value(QLatin1String("variance_type")).isNull())
        reader.fail(QStringLiteral("\"variance_type\" (learned variance) is not supported by TwistedPic"));
    if (!reader.ok())
        return Result<std::unique_ptr<Scheduler>>::fail(reader.error());
    return Result<std::unique_ptr<Scheduler>>::ok(
        std::unique_ptr<Scheduler>(new DpmSolverMultistepScheduler(std::move(c))));
}

DpmSolverMultistepScheduler::DpmSolverMultistepScheduler(DpmConfig config)
    : Scheduler(at::kLong)
    , m_config(std::move(config)) {
    m_alphasCumprod = alphasCumprod(makeBetas(m_config.betas));
    if (m_config.betas.rescaleZeroTerminalSnr)
        m_alphasCumprod.back() = std::ldexp(1.0f, -24);
    m_trainSigmas = trainSigmas(m_alphasCumprod);
    m_logSigmas = logSigmas(m_trainSigmas);
}

QString DpmSolverMultistepScheduler::name() const {
    return m_config.useKarras ? QStringLiteral("dpmpp_2m_karras") : QStringLiteral("dpmpp_2m");
}

Status DpmSolverMultistepScheduler::setTimesteps(int steps) {
    const int numTrain = m_config.betas.numTrainTimesteps;
    if (steps < 1 || steps > numTrain)
        return Status::fail(QStringLiteral("%1: %2 steps is outside 1..%3; choose a step count in that range")
                                .arg(name())
                                .arg(steps)
                                .arg(numTrain));
    // clipped_idx = searchsorted(flip(lambda_t), lambda_min_clipped): how many of the noisiest
    // timesteps have log-SNR below the clip (in float32, as torch compares).
    const auto clip = static_cast<float>(m_config.lambdaMinClipped);
    int clipped = 0;
    for (int i = numTrain - 1; i >= 0; --i) {
        const float a = m_alphasCumprod[static_cast<size_t>(i)];
        const float lambda = std::log(std::sqrt(a)) - std::log(std::sqrt(1.0f - a));
        if (!(lambda < clip))
            break;
        ++clipped;
    }
    const int lastTimestep = numTrain - clipped;
    std::vector<int64_t> timesteps =
        dpmTimesteps(m_config.spacing, numTrain, lastTimestep, steps, m_config.stepsOffset);

    std::vector<double> sigmas;
    float last = 0.0f;
    if (m_config.useKarras) {
        // flip(sigmas) → Karras between the table's ends → timesteps by log-sigma interpolation.
        sigmas = karrasSigmas(m_trainSigmas.front(), m_trainSigmas.back(), steps);
        timesteps.clear();
        for (double s : sigmas) {
            const double t = sigmaToT(s, m_logSigmas);
            // .round() except for the cosine schedule; astype(int64) truncates.
            timesteps.push_back(static_cast<int64_t>(
                m_config.betas.schedule == BetaSchedule::SquaredCosCapV2 ? t : np::roundHalfEven(t)));
        }
        if (m_config.finalSigmaMin)
            last = static_cast<float>(sigmas.back());
    } else {
        const std::vector<double> table(m_trainSigmas.begin(), m_trainSigmas.end());
        for (int64_t t : timesteps)
            sigmas.push_back(np::interpAtIndex(static_cast<double>(t), table));
        if (m_config.finalSigmaMin)
            last = std::sqrt((1.0f - m_alphasCumprod[0]) / m_alphasCumprod[0]);
    }
    m_sigmasF.clear();
    for (double s : sigmas)
        m_sigmasF.push_back(static_cast<float>(s));
    m_sigmasF.push_back(last);
    m_sigmas.assign(m_sigmasF.begin(), m_sigmasF.end());
    m_timesteps.assign(timesteps.begin(), timesteps.end());
    m_modelOutputs = {};
    m_lowerOrderNums = 0;
    return Status::ok();
}

at::Tensor DpmSolverMultistepScheduler::convertModelOutput(const at::Tensor& modelOutput, int stepIndex,
                                                           const at::Tensor& sample) const {
    const AlphaSigma as = alphaSigma(m_sigmasF[static_cast<size_t>(stepIndex)]);
    switch (m_config.prediction) {
    case PredictionType::Epsilon:
        return (sample - modelOutput * scalar(as.sigma)) / scalar(as.alpha);
    case PredictionType::VPrediction:
        return sample * scalar(as.alpha) - modelOutput * scalar(as.sigma);
    case PredictionType::Sample:
        break;
    }
    return modelOutput;
}

at::Tensor DpmSolverMultistepScheduler::step(const at::Tensor& modelOutputIn, int stepIndex,
                                             const at::Tensor& sampleIn,
                                             at::Generator* /*gen: dpmsolver++ is deterministic*/) {
    checkStepIndex(stepIndex, "step");
    const int n = size();
    const bool lowerOrderFinal =
        stepIndex == n - 1 &&
        (m_config.eulerAtFinal || (m_config.lowerOrderFinal && n < 15) || !m_config.finalSigmaMin);
    // (diffusers' lower_order_second only steps a third-order solver down to second order.)

    const at::Tensor x0 = convertModelOutput(modelOutputIn, stepIndex, sampleIn);
    m_modelOutputs[0] = m_modelOutputs[1];
    m_modelOutputs[1] = x0;
    // Upcast to avoid precision issues when computing prev_sample.
    const at::Tensor sample = sampleIn.to(at::kFloat);

    const auto i = static_cast<size_t>(stepIndex);
    const AlphaSigma t = alphaSigma(m_sigmasF[i + 1]);
    const AlphaSigma s0 = alphaSigma(m_sigmasF[i]);
    const float lambdaT = lambdaOf(t);
    const float lambdaS0 = lambdaOf(s0);
    const float h = lambdaT - lambdaS0;
    // alpha_t * (torch.exp(-h) - 1.0)
    const float coeff = t.alpha * (std::exp(-h) - 1.0f);

    at::Tensor prev;
    if (m_config.solverOrder == 1 || m_lowerOrderNums < 1 || lowerOrderFinal) {
        // x_t = (sigma_t / sigma_s) * sample - (alpha_t * (exp(-h) - 1)) * x0
        prev = sample * scalar(t.sigma / s0.sigma) - x0 * scalar(coeff);
    } else {
        TORCH_CHECK(stepIndex >= 1, name().toStdString(),
                    "::step: a second-order step needs the previous step");
        const AlphaSigma s1 = alphaSigma(m_sigmasF[i - 1]);
        const float lambdaS1 = lambdaOf(s1);
        const float h0 = lambdaS0 - lambdaS1;
        const float r0 = h0 / h;
        const at::Tensor& m0 = m_modelOutputs[1];
        const at::Tensor& m1 = m_modelOutputs[0];
        // D0 = m0, D1 = (1.0 / r0) * (m0 - m1); midpoint:
        // x_t = (sigma_t / sigma_s0) * sample - coeff * D0 - 0.5 * coeff * D1
        const at::Tensor d1 = (m0 - m1) * scalar(1.0f / r0);
        prev = sample * scalar(t.sigma / s0.sigma) - m0 * scalar(coeff) - d1 * scalar(0.5f * coeff);
    }
    if (m_lowerOrderNums < m_config.solverOrder)
        ++m_lowerOrderNums;
    return prev.to(x0.scalar_type());
}

} // namespace tp::sched
