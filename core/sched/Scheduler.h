#pragma once

// The samplers of diffusers 0.40 (PNDM/PLMS, DDIM, Euler, Euler ancestral, DPM-Solver++ 2M with
// or without Karras sigmas, LMS, LCM) on libtorch, reproducing Python's numbers: schedules in
// float64/float32 exactly as numpy and torch compute them, per-step tensor math in the same
// dtypes and the same order of operations as each diffusers class.
//
// The denoising loop that uses a scheduler:
//
//   sched->setTimesteps(steps);                         // Status: checks steps
//   latents = randnTensor({1, 4, h / 8, w / 8}, &gen, dtype, device) * sched->initNoiseSigma();
//   for (int i = 0; i < sched->size(); ++i) {           // PNDM runs steps + 1 iterations
//       x = sched->scaleModelInput(at::cat({latents, latents}), i);
//       eps = unet(x, sched->timestepTensor(i), cond);  // then classifier-free guidance
//       latents = sched->step(eps, i, latents, &gen);   // ancestral / LCM noise comes from gen
//   }
//
// Multistep samplers (PNDM, DPM++, LMS) keep the history of earlier steps: call step() once per
// index, in order; setTimesteps() starts a new run.
//
// Flow-matching pipelines (SD 3, Flux) pass diffusers' set_timesteps keyword arguments through
// setTimestepsWith(steps, {mu, sigmas}); the model is called with timestepTensor(i) as SD 3 does
// (0..1000; the Flux pipeline divides it by 1000 itself, as diffusers' FluxPipeline does).

#include "core/common/Result.h"

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <memory>
#include <optional>
#include <vector>

namespace tp::sched {

// diffusers' set_timesteps(..., sigmas=, mu=) keyword arguments, taken by the flow-matching
// samplers only.
struct TimestepOptions {
    // The exponent of the resolution-dependent shift (use_dynamic_shifting), as the pipeline
    // computes it with calculateShift() (core/sched/FlowMatchSchedule.h).
    std::optional<double> mu;
    // Custom sigmas, one per step, as the pipeline passes them (Flux: linspace(1, 1/n, n)).
    std::vector<double> sigmas;

    bool empty() const { return !mu && sigmas.empty(); }
};

class Scheduler {
public:
    virtual ~Scheduler() = default;
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    // The factory name: "pndm", "ddim", "euler", "euler_a", "dpmpp_2m", "dpmpp_2m_karras", "lms", "lcm".
    virtual QString name() const = 0;

    // Builds the schedule for `steps` inference steps and forgets any earlier run.
    virtual Status setTimesteps(int steps) = 0;
    // setTimesteps() with keyword arguments. Samplers that take none (all but flow matching)
    // fail on non-empty options; with empty ones this is setTimesteps(steps).
    virtual Status setTimestepsWith(int steps, const TimestepOptions& options);

    // Loop length: the number of timesteps (steps + 1 for PNDM).
    int size() const { return static_cast<int>(m_timesteps.size()); }
    // diffusers' scheduler.timesteps (int64 or float32 values, held as double).
    const std::vector<double>& timesteps() const { return m_timesteps; }
    // diffusers' scheduler.sigmas (float32 values, size() + 1 of them); empty for the
    // schedulers that have none (PNDM, DDIM, LCM).
    const std::vector<double>& sigmas() const { return m_sigmas; }
    // The factor for the initial noise (a float32 value).
    virtual double initNoiseSigma() const { return 1.0; }

    // The UNet's input for step i (x / sqrt(σ² + 1) for the sigma-based samplers).
    virtual at::Tensor scaleModelInput(const at::Tensor& sample, int stepIndex) const;

    // One denoising step: the sample for the next timestep, in the model output's dtype (DPM++:
    // the denoised prediction's dtype) as in diffusers. `gen` feeds the noise of euler_a and lcm
    // (diffusers' randn_tensor: a CPU generator draws on the CPU); null = the device's default.
    virtual at::Tensor step(const at::Tensor& modelOutput, int stepIndex, const at::Tensor& sample,
                            at::Generator* gen) = 0;

    // The timestep the UNet is called with at step i, and its dtype in diffusers (int64 for the
    // integer-timestep samplers, float32 for Euler, Euler a and LMS). The UNet takes t.float().
    double timestepForModel(int stepIndex) const;
    at::ScalarType timestepDtype() const { return m_timestepDtype; }
    // timestepForModel(i) as a 0-d CPU tensor of timestepDtype().
    at::Tensor timestepTensor(int stepIndex) const;

protected:
    explicit Scheduler(at::ScalarType timestepDtype)
        : m_timestepDtype(timestepDtype) {}
    // Throws c10::Error when setTimesteps() has not run or i is outside [0, size()).
    void checkStepIndex(int stepIndex, const char* where) const;

    std::vector<double> m_timesteps;
    std::vector<double> m_sigmas;

private:
    at::ScalarType m_timestepDtype;
};

// The sampler names makeScheduler() knows for the noise-predicting UNets (SD 1.x/2.x/XL), in
// the order the UI offers them.
QStringList schedulerNames();
// The flow-matching samplers for the rectified-flow transformers (SD 3.x, Flux): "flow_euler"
// (FlowMatchEulerDiscreteScheduler), "flow_heun" (FlowMatchHeunDiscreteScheduler).
QStringList flowMatchSchedulerNames();

// Builds sampler `name` from a diffusers scheduler_config.json object, as
// `XScheduler.from_config(config)` would ("dpmpp_2m_karras" adds use_karras_sigmas=True,
// "dpmpp_2m" forces it off). Fails on an unknown name or on config values it cannot honour.
Result<std::unique_ptr<Scheduler>> makeScheduler(const QString& name, const QJsonObject& config);

} // namespace tp::sched
