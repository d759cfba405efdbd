#pragma once

// The schedule of diffusers' rectified-flow samplers (FlowMatchEulerDiscreteScheduler,
// FlowMatchHeunDiscreteScheduler), number for number:
//
// - __init__ builds a float32 table σ = shift(t / T) for t = T..1 (unshifted with dynamic
//   shifting); only its ends σmax, σmin are used later.
// - set_timesteps(n) spaces timesteps linspace(σmax·T, σmin·T, n) in float64 and divides by T
//   (so the static shift is applied to the already shifted ends: diffusers' quirk, kept), or
//   takes the pipeline's custom sigmas in float32 (numpy float32 arithmetic from there on);
// - shifts them: static σ' = sσ / (1 + (s − 1)σ), or dynamic with μ: e^μ / (e^μ + 1/σ − 1)
//   ("exponential") or μ / (μ + 1/σ − 1) ("linear");
// - optionally stretches them to end at shift_terminal, or replaces them by Karras sigmas;
// - rounds to float32, timesteps = σ · T in float32, appends the terminal 0 (1 when inverted).
//
// Arithmetic between a float32 numpy array and a numpy float32 scalar follows numpy 2 (NEP 50:
// float32), as on the reference machine.

#include "core/common/Result.h"
#include "core/sched/Scheduler.h"

#include <QJsonObject>

#include <cstdint>
#include <optional>
#include <vector>

namespace tp::sched {

class ConfigReader;

enum class TimeShiftType { Exponential, Linear };

struct FlowMatchConfig {
    int numTrainTimesteps = 1000;
    double shift = 1.0;
    bool useDynamicShifting = false;
    TimeShiftType timeShiftType = TimeShiftType::Exponential;
    // calculate_shift's parameters, read by the pipeline through calculateShift(config json).
    double baseShift = 0.5;
    double maxShift = 1.15;
    int baseImageSeqLen = 256;
    int maxImageSeqLen = 4096;
    std::optional<double> shiftTerminal; // applied when set and non-zero, as `if shift_terminal:`
    bool useKarras = false;
    bool invertSigmas = false;
};

// Reads FlowMatchEulerDiscreteScheduler's keys; rejects exponential/beta sigmas and stochastic
// sampling, which TwistedPic does not implement.
FlowMatchConfig readFlowMatchEulerConfig(ConfigReader& reader);

// A built schedule: float32 sigmas (steps + 1, the terminal value last) and timesteps (steps).
struct FlowMatchTables {
    std::vector<float> sigmas;
    std::vector<float> timesteps;
};

// set_timesteps(steps, sigmas=options.sigmas or None, mu=options.mu). Fails when dynamic
// shifting has no μ, or the custom sigmas are not `steps` finite numbers.
Result<FlowMatchTables> flowMatchSchedule(const FlowMatchConfig& config, int steps,
                                          const TimestepOptions& options);

// diffusers' calculate_shift: μ linear in the image token count, from (baseSeqLen, baseShift) to
// (maxSeqLen, maxShift), in Python's float64.
double calculateShift(int64_t imageSeqLen, int baseSeqLen, int maxSeqLen, double baseShift, double maxShift);

// calculate_shift with the scheduler config's base_image_seq_len, max_image_seq_len, base_shift and
// max_shift (the FlowMatchEulerDiscreteScheduler defaults where absent), as the SD 3 and Flux
// pipelines call it. imageSeqLen: transformer tokens of the image ((H/16)·(W/16) for 8× VAEs).
Result<double> calculateShift(int64_t imageSeqLen, const QJsonObject& schedulerConfig);

// The Flux pipeline's custom sigmas: numpy.linspace(1.0, 1 / steps, steps).
std::vector<double> linearFlowSigmas(int steps);

} // namespace tp::sched
