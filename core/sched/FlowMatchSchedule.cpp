#include "core/sched/FlowMatchSchedule.h"

#include "core/sched/NoiseSchedule.h"
#include "core/sched/NumpyCompat.h"
#include "core/sched/SchedulerConfig.h"

#include <cmath>

namespace tp::sched {

namespace {

// The ends of __init__'s float32 table (sigmas[0], sigmas[-1] as Python floats): t / T for t = T
// and t = 1, shifted unless dynamic shifting defers the shift to set_timesteps.
std::pair<double, double> initSigmaRange(const FlowMatchConfig& c) {
    const auto n = static_cast<float>(c.numTrainTimesteps);
    float ends[2] = {n / n, 1.0f / n};
    if (!c.useDynamicShifting) {
        const auto shift = static_cast<float>(c.shift);
        const auto shiftMinus1 = static_cast<float>(c.shift - 1.0);
        for (float& s : ends)
            s = shift * s / (1.0f + shiftMinus1 * s);
    }
    return {ends[0], ends[1]};
}

// Steps 2 and 3 of set_timesteps in numpy's dtype T (float64 for the spaced timesteps, float32
// for custom sigmas); Python float operands take T as numpy does.
template <typename T>
void shiftAndStretch(const FlowMatchConfig& c, std::optional<double> mu, std::vector<T>& s) {
    if (c.useDynamicShifting) {
        // (1 / t - 1) ** 1.0 is exact; e^μ is Python's math.exp, then rounded to T.
        const auto m = static_cast<T>(c.timeShiftType == TimeShiftType::Exponential ? std::exp(*mu) : *mu);
        for (T& x : s)
            x = m / (m + (T(1) / x - T(1)));
    } else {
        const auto shift = static_cast<T>(c.shift);
        const auto shiftMinus1 = static_cast<T>(c.shift - 1.0);
        for (T& x : s)
            x = shift * x / (T(1) + shiftMinus1 * x);
    }
    if (c.shiftTerminal && *c.shiftTerminal != 0) {
        std::vector<T> oneMinusZ(s.size());
        for (size_t i = 0; i < s.size(); ++i)
            oneMinusZ[i] = T(1) - s[i];
        const T scale = oneMinusZ.back() / static_cast<T>(1.0 - *c.shiftTerminal);
        for (size_t i = 0; i < s.size(); ++i)
            s[i] = T(1) - oneMinusZ[i] / scale;
    }
}

template <typename T> std::vector<double> toDouble(const std::vector<T>& v) {
    return std::vector<double>(v.begin(), v.end());
}

} // namespace

FlowMatchConfig readFlowMatchEulerConfig(ConfigReader& reader) {
    FlowMatchConfig c;
    c.numTrainTimesteps = reader.integer("num_train_timesteps", 1000);
    if (c.numTrainTimesteps < 1) {
        reader.fail(
            QStringLiteral("\"num_train_timesteps\" must be at least 1, not %1").arg(c.numTrainTimesteps));
        c.numTrainTimesteps = 1000;
    }
    c.shift = reader.number("shift", 1.0);
    if (!(c.shift > 0) || !std::isfinite(c.shift))
        reader.fail(QStringLiteral("\"shift\" must be a positive number, not %1").arg(c.shift));
    c.useDynamicShifting = reader.boolean("use_dynamic_shifting", false);
    c.baseShift = reader.number("base_shift", 0.5);
    c.maxShift = reader.number("max_shift", 1.15);
    c.baseImageSeqLen = reader.integer("base_image_seq_len", 256);
    c.maxImageSeqLen = reader.integer("max_image_seq_len", 4096);
    if (c.maxImageSeqLen == c.baseImageSeqLen)
        reader.fail(QStringLiteral("\"max_image_seq_len\" and \"base_image_seq_len\" must differ"));
    c.invertSigmas = reader.boolean("invert_sigmas", false);
    c.shiftTerminal = reader.optionalNumber("shift_terminal");
    if (c.shiftTerminal && *c.shiftTerminal == 1.0)
        reader.fail(QStringLiteral("\"shift_terminal\" must not be 1"));
    c.useKarras = reader.boolean("use_karras_sigmas", false);
    reader.requireDefault("use_exponential_sigmas", false);
    reader.requireDefault("use_beta_sigmas", false);
    reader.requireDefault("stochastic_sampling", false);
    c.timeShiftType =
        reader.choice("time_shift_type", QStringLiteral("exponential"),
                      {QStringLiteral("exponential"), QStringLiteral("linear")}) == QLatin1String("linear")
            ? TimeShiftType::Linear
            : TimeShiftType::Exponential;
    return c;
}

Result<FlowMatchTables> flowMatchSchedule(const FlowMatchConfig& c, int steps,
                                          const TimestepOptions& options) {
    using R = Result<FlowMatchTables>;
    if (steps < 1 || steps > c.numTrainTimesteps)
        return R::fail(
            QStringLiteral("flow matching: %1 steps is outside 1..%2; choose a step count in that range")
                .arg(steps)
                .arg(c.numTrainTimesteps));
    if (c.useDynamicShifting && !options.mu)
        return R::fail(
            QStringLiteral("flow matching with use_dynamic_shifting needs mu (the pipeline computes it "
                           "from the image size with calculate_shift)"));
    if (!options.sigmas.empty()) {
        if (static_cast<int>(options.sigmas.size()) != steps)
            return R::fail(QStringLiteral("flow matching: %1 custom sigmas for %2 steps; give one per step")
                               .arg(options.sigmas.size())
                               .arg(steps));
        for (double s : options.sigmas)
            if (!std::isfinite(s))
                return R::fail(
                    QStringLiteral("flow matching: custom sigma %1 is not a finite number").arg(s));
    }

    const auto n = static_cast<float>(c.numTrainTimesteps);
    std::vector<double> sigmas;
    if (options.sigmas.empty()) {
        const auto [sigmaMax, sigmaMin] = initSigmaRange(c);
        std::vector<double> s =
            np::linspace(sigmaMax * c.numTrainTimesteps, sigmaMin * c.numTrainTimesteps, steps);
        for (double& x : s)
            x = x / c.numTrainTimesteps;
        shiftAndStretch(c, options.mu, s);
        sigmas = std::move(s);
    } else {
        std::vector<float> s(options.sigmas.begin(),
                             options.sigmas.end()); // np.array(sigmas).astype(float32)
        shiftAndStretch(c, options.mu, s);
        sigmas = toDouble(s);
    }
    if (c.useKarras)
        sigmas = karrasSigmas(sigmas.back(), sigmas.front(), steps);

    FlowMatchTables t;
    for (double s : sigmas) {
        // diffusers lets NaN through (shift_terminal with one step divides 0 by 0); refuse it.
        if (!std::isfinite(static_cast<float>(s)))
            return R::fail(
                QStringLiteral("flow matching: the scheduler config gives a non-finite schedule for "
                               "%1 steps (shift_terminal needs at least 2); choose more steps")
                    .arg(steps));
        t.sigmas.push_back(static_cast<float>(s));
    }
    if (c.invertSigmas)
        for (float& s : t.sigmas)
            s = 1.0f - s;
    for (float s : t.sigmas)
        t.timesteps.push_back(s * n);
    t.sigmas.push_back(c.invertSigmas ? 1.0f : 0.0f);
    return R::ok(std::move(t));
}

double calculateShift(int64_t imageSeqLen, int baseSeqLen, int maxSeqLen, double baseShift, double maxShift) {
    const double m = (maxShift - baseShift) / (maxSeqLen - baseSeqLen);
    const double b = baseShift - m * baseSeqLen;
    return static_cast<double>(imageSeqLen) * m + b;
}

Result<double> calculateShift(int64_t imageSeqLen, const QJsonObject& schedulerConfig) {
    ConfigReader reader(schedulerConfig, QStringLiteral("FlowMatchEulerDiscreteScheduler"));
    const FlowMatchConfig c = readFlowMatchEulerConfig(reader);
    if (!reader.ok())
        return Result<double>::fail(reader.error());
    return Result<double>::ok(
        calculateShift(imageSeqLen, c.baseImageSeqLen, c.maxImageSeqLen, c.baseShift, c.maxShift));
}

std::vector<double> linearFlowSigmas(int steps) {
    return np::linspace(1.0, 1.0 / steps, steps);
}

} // namespace tp::sched
