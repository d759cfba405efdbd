#pragma once

#include "core/common/Result.h"
#include "tools/train/TrainOptions.h"

#include <ATen/ATen.h>

#include <QString>

namespace tp::train {

// Call first thing in main(): CUDA reads CUBLAS_WORKSPACE_CONFIG when it starts.
void prepareEnvironment(bool deterministic);

// Resolves --device, sets CPU threads, TF32 and the deterministic-kernel switches. The
// description names the device for the log ("cuda:0 (NVIDIA H100 ...)" or "cpu, 2 threads").
Result<at::Device> setUpDevice(const TrainOptions& options, QString* description);

// The device's default generator, seeded (draws noise, timesteps and posterior samples).
at::Generator seededGenerator(at::Device device, quint64 seed);

// Waits for queued GPU work (timing); nothing on the CPU.
void synchronize(at::Device device);

// bf16 autocast for the forward passes on CUDA, while alive (libtorch >= 2.4).
class AutocastScope final {
public:
    explicit AutocastScope(bool enabled);
    ~AutocastScope();
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;
    static bool available();

private:
    bool m_enabled;
};

} // namespace tp::train
