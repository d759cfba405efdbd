#include "core/sched/Scheduler.h"

#include <ATen/ATen.h>

namespace tp::sched {

at::Tensor Scheduler::scaleModelInput(const at::Tensor& sample, int stepIndex) const {
    checkStepIndex(stepIndex, "scaleModelInput");
    return sample;
}

Status Scheduler::setTimestepsWith(int steps, const TimestepOptions& options) {
    if (!options.empty())
        return Status::fail(QStringLiteral("%1 takes no mu or custom sigmas (only the flow-matching samplers "
                                           "%2 do); choose one of those for this model")
                                .arg(name(), flowMatchSchedulerNames().join(QStringLiteral(", "))));
    return setTimesteps(steps);
}

double Scheduler::timestepForModel(int stepIndex) const {
    checkStepIndex(stepIndex, "timestepForModel");
    return m_timesteps[static_cast<size_t>(stepIndex)];
}

at::Tensor Scheduler::timestepTensor(int stepIndex) const {
    return at::scalar_tensor(timestepForModel(stepIndex), at::TensorOptions().dtype(m_timestepDtype));
}

void Scheduler::checkStepIndex(int stepIndex, const char* where) const {
    TORCH_CHECK(!m_timesteps.empty(), name().toStdString(), "::", where, ": call setTimesteps() first");
    TORCH_CHECK(stepIndex >= 0 && stepIndex < size(), name().toStdString(), "::", where, ": step index ",
                stepIndex, " is outside [0, ", size(), ")");
}

} // namespace tp::sched
