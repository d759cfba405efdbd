#include "core/common/Samplers.h"
#include "core/sched/DdimScheduler.h"
#include "core/sched/DpmSolverMultistepScheduler.h"
#include "core/sched/EulerAncestralScheduler.h"
#include "core/sched/EulerScheduler.h"
#include "core/sched/FlowMatchEulerScheduler.h"
#include "core/sched/FlowMatchHeunScheduler.h"
#include "core/sched/LcmScheduler.h"
#include "core/sched/LmsScheduler.h"
#include "core/sched/PndmScheduler.h"
#include "core/sched/Scheduler.h"

namespace tp::sched {

QStringList schedulerNames() {
    return tp::discreteSamplerNames(); // the one list (core/common/Samplers.h)
}

QStringList flowMatchSchedulerNames() {
    return {QStringLiteral("flow_euler"), QStringLiteral("flow_heun")};
}

Result<std::unique_ptr<Scheduler>> makeScheduler(const QString& name, const QJsonObject& config) {
    if (name == QLatin1String("pndm"))
        return PndmScheduler::fromConfig(config);
    if (name == QLatin1String("ddim"))
        return DdimScheduler::fromConfig(config);
    if (name == QLatin1String("euler"))
        return EulerScheduler::fromConfig(config);
    if (name == QLatin1String("euler_a"))
        return EulerAncestralScheduler::fromConfig(config);
    if (name == QLatin1String("dpmpp_2m"))
        return DpmSolverMultistepScheduler::fromConfig(config, /*karras=*/false);
    if (name == QLatin1String("dpmpp_2m_karras"))
        return DpmSolverMultistepScheduler::fromConfig(config, /*karras=*/true);
    if (name == QLatin1String("lms"))
        return LmsScheduler::fromConfig(config);
    if (name == QLatin1String("lcm"))
        return LcmScheduler::fromConfig(config);
    if (name == QLatin1String("flow_euler"))
        return FlowMatchEulerScheduler::fromConfig(config);
    if (name == QLatin1String("flow_heun"))
        return FlowMatchHeunScheduler::fromConfig(config);
    return Result<std::unique_ptr<Scheduler>>::fail(
        QStringLiteral("unknown sampler \"%1\"; choose one of: %2")
            .arg(name, (schedulerNames() + flowMatchSchedulerNames()).join(QStringLiteral(", "))));
}

} // namespace tp::sched
