#include "core/sched/PndmScheduler.h"

#include "core/sched/StepMath.h"
#include "core/sched/Timesteps.h"

#include <ATen/ATen.h>

#include <cmath>

namespace tp::sched {

Result<std::unique_ptr<Scheduler>> PndmScheduler::fromConfig(const QJsonObject& json) {
    ConfigReader reader(json, QStringLiteral("PNDMScheduler"));
    Config c;
    c.betas = reader.betaConfig(0.0001, 0.02, QStringLiteral("linear"), /*hasRescaleKey=*/false);
    c.prediction = reader.predictionType({QStringLiteral("epsilon"), QStringLiteral("v_prediction")});
    c.spacing = reader.timestepSpacing(QStringLiteral("leading"));
    c.stepsOffset = reader.integer("steps_offset", 0);
    c.setAlphaToOne = reader.boolean("set_alpha_to_one", false);
    if (!reader.boolean("skip_prk_steps", false))
        reader.fail(QStringLiteral("\"skip_prk_steps\" is false or missing: only the PLMS form of PNDM "
                                   "(skip_prk_steps = true, as in Stable Diffusion configs) is supported"));
    if (!reader.ok())
        return Result<std::unique_ptr<Scheduler>>::fail(reader.error());
    return Result<std::unique_ptr<Scheduler>>::ok(
        std::unique_ptr<Scheduler>(new PndmScheduler(std::move(c))));
}

PndmScheduler::PndmScheduler(Config config)
    : Scheduler(at::kLong)
    , m_config(std::move(config)) {
    m_alphasCumprod = alphasCumprod(makeBetas(m_config.betas));
    m_finalAlphaCumprod = m_config.setAlphaToOne ? 1.0f : m_alphasCumprod.front();
}

Status PndmScheduler::setTimesteps(int steps) {
    const int numTrain = m_config.betas.numTrainTimesteps;
    if (steps < 1 || steps > numTrain)
        return Status::fail(
            QStringLiteral("pndm: %1 steps is outside 1..%2; choose a step count in that range")
                .arg(steps)
                .arg(numTrain));
    const std::vector<int64_t> base =
        pndmBaseTimesteps(m_config.spacing, numTrain, steps, m_config.stepsOffset);
    for (int64_t v : base) {
        if (v >= numTrain)
            return Status::fail(
                QStringLiteral("pndm: timestep %1 (steps_offset %2) is past the %3 training steps; "
                               "fix steps_offset in scheduler_config.json")
                    .arg(v)
                    .arg(m_config.stepsOffset)
                    .arg(numTrain));
    }
    // plms_timesteps = concatenate([t[:-1], t[-2:-1], t[-1:]])[::-1]
    std::vector<int64_t> plms(base.begin(), base.end() - 1);
    if (base.size() >= 2)
        plms.push_back(base[base.size() - 2]);
    plms.push_back(base.back());
    m_timesteps.assign(plms.rbegin(), plms.rend());
    m_steps = steps;
    m_ets.clear();
    m_counter = 0;
    m_curSample = at::Tensor();
    return Status::ok();
}

at::Tensor PndmScheduler::prevSample(const at::Tensor& sample, int64_t timestep, int64_t prevTimestep,
                                     const at::Tensor& modelOutputIn) const {
    const float alphaProdT = pyIndex(m_alphasCumprod, timestep);
    const float alphaProdTPrev =
        prevTimestep >= 0 ? pyIndex(m_alphasCumprod, prevTimestep) : m_finalAlphaCumprod;
    const float betaProdT = 1.0f - alphaProdT;
    const float betaProdTPrev = 1.0f - alphaProdTPrev;
    at::Tensor modelOutput = modelOutputIn;
    if (m_config.prediction == PredictionType::VPrediction)
        modelOutput = modelOutput * scalar(std::sqrt(alphaProdT)) + sample * scalar(std::sqrt(betaProdT));
    // sqrt(α_(t−δ)) / sqrt(α_t)
    const float sampleCoeff = std::sqrt(alphaProdTPrev / alphaProdT);
    // denominator of e_θ(x_t, t) in formula (9)
    const float denom =
        alphaProdT * std::sqrt(betaProdTPrev) + std::sqrt(alphaProdT * betaProdT * alphaProdTPrev);
    // sample_coeff * sample - (alpha_prod_t_prev - alpha_prod_t) * model_output / denom
    return sample * scalar(sampleCoeff) - modelOutput * scalar(alphaProdTPrev - alphaProdT) / scalar(denom);
}

at::Tensor PndmScheduler::step(const at::Tensor& modelOutputIn, int stepIndex, const at::Tensor& sampleIn,
                               at::Generator* /*gen: deterministic*/) {
    checkStepIndex(stepIndex, "step");
    const int64_t stride = m_config.betas.numTrainTimesteps / m_steps;
    int64_t timestep = static_cast<int64_t>(m_timesteps[static_cast<size_t>(stepIndex)]);
    int64_t prevTimestep = timestep - stride;
    if (m_counter != 1) {
        while (m_ets.size() > 3)
            m_ets.pop_front();
        m_ets.push_back(modelOutputIn);
    } else {
        prevTimestep = timestep;
        timestep = timestep + stride;
    }

    at::Tensor modelOutput = modelOutputIn;
    at::Tensor sample = sampleIn;
    const size_t n = m_ets.size();
    if (n == 1 && m_counter == 0) {
        m_curSample = sampleIn;
    } else if (n == 1 && m_counter == 1) {
        modelOutput = (modelOutputIn + m_ets[n - 1]) / 2;
        sample = m_curSample;
        m_curSample = at::Tensor();
    } else if (n == 2) {
        modelOutput = (m_ets[n - 1] * 3 - m_ets[n - 2]) / 2;
    } else if (n == 3) {
        modelOutput = (m_ets[n - 1] * 23 - m_ets[n - 2] * 16 + m_ets[n - 3] * 5) / 12;
    } else {
        modelOutput =
            (m_ets[n - 1] * 55 - m_ets[n - 2] * 59 + m_ets[n - 3] * 37 - m_ets[n - 4] * 9) * (1.0 / 24);
    }
    at::Tensor prev = prevSample(sample, timestep, prevTimestep, modelOutput);
    ++m_counter;
    return prev;
}

} // namespace tp::sched
