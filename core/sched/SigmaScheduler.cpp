#include "core/sched/SigmaScheduler.h"

#include "core/sched/NumpyCompat.h"
#include "core/sched/Timesteps.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace tp::sched {

SigmaConfig readSigmaConfig(ConfigReader& reader, bool hasZeroSnrKey) {
    SigmaConfig c;
    c.betas = reader.betaConfig(0.0001, 0.02, QStringLiteral("linear"), hasZeroSnrKey);
    c.spacing = reader.timestepSpacing(QStringLiteral("linspace"));
    c.stepsOffset = reader.integer("steps_offset", 0);
    return c;
}

SigmaScheduler::SigmaScheduler(SigmaConfig config)
    : Scheduler(at::kFloat)
    , m_config(std::move(config)) {
    m_alphasCumprod = alphasCumprod(makeBetas(m_config.betas));
    if (m_config.betas.rescaleZeroTerminalSnr)
        m_alphasCumprod.back() = std::ldexp(1.0f, -24); // so that the first sigma is finite
    m_trainSigmas = trainSigmas(m_alphasCumprod);
    m_logSigmas = logSigmas(m_trainSigmas);
}

Status SigmaScheduler::setTimesteps(int steps) {
    const int numTrain = m_config.betas.numTrainTimesteps;
    if (steps < 1 || steps > numTrain)
        return Status::fail(QStringLiteral("%1: %2 steps is outside 1..%3; choose a step count in that range")
                                .arg(name())
                                .arg(steps)
                                .arg(numTrain));
    std::vector<double> timesteps =
        sigmaFamilyTimesteps(m_config.spacing, numTrain, steps, m_config.stepsOffset);
    const std::vector<double> table(m_trainSigmas.begin(), m_trainSigmas.end());
    std::vector<double> sigmas;
    sigmas.reserve(timesteps.size() + 1);
    for (double t : timesteps)
        sigmas.push_back(np::interpAtIndex(t, table));
    if (m_config.useKarras) {
        const double sigmaMin = m_config.sigmaMin.value_or(sigmas.back());
        const double sigmaMax = m_config.sigmaMax.value_or(sigmas.front());
        sigmas = karrasSigmas(sigmaMin, sigmaMax, steps);
        timesteps.clear();
        for (double s : sigmas)
            timesteps.push_back(np::toF32(sigmaToT(s, m_logSigmas)));
    }
    const float last =
        m_config.finalSigmaMin ? std::sqrt((1.0f - m_alphasCumprod[0]) / m_alphasCumprod[0]) : 0.0f;
    m_sigmasF.clear();
    for (double s : sigmas)
        m_sigmasF.push_back(static_cast<float>(s));
    m_sigmasF.push_back(last);
    m_sigmas.assign(m_sigmasF.begin(), m_sigmasF.end());
    m_timesteps = std::move(timesteps);
    resetHistory();
    return Status::ok();
}

double SigmaScheduler::initNoiseSigma() const {
    TORCH_CHECK(!m_sigmasF.empty(), name().toStdString(), "::initNoiseSigma: call setTimesteps() first");
    const float maxSigma = *std::max_element(m_sigmasF.begin(), m_sigmasF.end());
    if (m_config.spacing == TimestepSpacing::Linspace || m_config.spacing == TimestepSpacing::Trailing)
        return maxSigma;
    return std::sqrt(sq(maxSigma) + 1.0f);
}

at::Tensor SigmaScheduler::scaleModelInput(const at::Tensor& sample, int stepIndex) const {
    checkStepIndex(stepIndex, "scaleModelInput");
    // sample / ((sigma**2 + 1) ** 0.5)
    const float s = sigma(stepIndex);
    return sample / static_cast<double>(std::sqrt(sq(s) + 1.0f));
}

} // namespace tp::sched
