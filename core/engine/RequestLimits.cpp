#include "core/engine/RequestLimits.h"

#include "core/common/GenerationLimits.h"
#include "core/common/Samplers.h"

#include <QRegularExpression>

#include <cmath>

namespace tp::engine {
namespace {

Status outside(const char* what, qint64 v, qint64 lo, qint64 hi) {
    return Status::fail(
        QStringLiteral("%1: %2 is outside %3..%4").arg(QLatin1String(what)).arg(v).arg(lo).arg(hi));
}

} // namespace

Status checkRequest(const GenerationRequest& r) {
    using namespace limits;
    if (r.prompt.trimmed().isEmpty())
        return Status::fail(QStringLiteral("prompt: the prompt is empty; describe what to draw."));
    if (r.steps < MinSteps || r.steps > MaxSteps)
        return outside("steps", r.steps, MinSteps, MaxSteps);
    if (!std::isfinite(r.guidance) || r.guidance < MinGuidance || r.guidance > MaxGuidance)
        return Status::fail(QStringLiteral("guidance: %1 is outside %2..%3")
                                .arg(r.guidance)
                                .arg(MinGuidance)
                                .arg(MaxGuidance));
    for (const auto& [name, v] : {std::pair<const char*, int>{"width", r.width}, {"height", r.height}}) {
        if (v < MinSide || v > MaxSide)
            return outside(name, v, MinSide, MaxSide);
        if (v % SideMultiple != 0)
            return Status::fail(QStringLiteral("%1: %2 is not a multiple of %3")
                                    .arg(QLatin1String(name))
                                    .arg(v)
                                    .arg(SideMultiple));
    }
    if (r.count < MinCount || r.count > MaxCount)
        return outside("count", r.count, MinCount, MaxCount);
    if (r.clipSkip < MinClipSkip || r.clipSkip > MaxClipSkip)
        return outside("clip skip", r.clipSkip, MinClipSkip, MaxClipSkip);
    // Image i uses seed + i: the last one must still be a seed that is accepted again.
    const qint64 maxFirst = MaxSeed - (r.count - 1);
    if (r.seed < -1 || r.seed > maxFirst)
        return Status::fail(QStringLiteral("seed: %1 is not -1 (random) or a number from 0 to %2%3")
                                .arg(r.seed)
                                .arg(maxFirst)
                                .arg(r.count > 1 ? QStringLiteral(" (image i uses seed + i)") : QString()));
    if (!samplerNames().contains(r.sampler))
        return Status::fail(QStringLiteral("sampler: '%1' is not one of %2")
                                .arg(r.sampler.left(40), samplerNames().join(QStringLiteral(", "))));
    if (const QString p = unsupportedPrecisionMessage(r.precision); !p.isEmpty())
        return Status::fail(QStringLiteral("precision: ") + p);
    const QString d = r.device;
    static const QRegularExpression cudaN(QStringLiteral("^cuda:\\d{1,2}$"));
    if (d != QLatin1String("auto") && d != QLatin1String("cpu") && d != QLatin1String("cuda") &&
        !cudaN.match(d).hasMatch())
        return Status::fail(QStringLiteral("device: '%1' is not auto, cpu, cuda or cuda:N").arg(d.left(40)));
    return Status::ok();
}

} // namespace tp::engine
