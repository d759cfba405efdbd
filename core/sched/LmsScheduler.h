#pragma once

#include "core/sched/SigmaScheduler.h"

#include <deque>

namespace tp::sched {

// diffusers LMSDiscreteScheduler, order 4: a linear multistep over the ODE derivatives of the
// last (up to) four steps. The coefficients are integrals of Lagrange basis polynomials in σ,
// which diffusers evaluates in float32 inside scipy.integrate.quad; this class evaluates the
// integrand the same way and integrates with quad's own 21-point Gauss–Kronrod rule.
class LmsScheduler final : public SigmaScheduler {
public:
    static Result<std::unique_ptr<Scheduler>> fromConfig(const QJsonObject& config);

    QString name() const override { return QStringLiteral("lms"); }
    at::Tensor step(const at::Tensor& modelOutput, int stepIndex, const at::Tensor& sample,
                    at::Generator* gen) override;

    // get_lms_coefficient(order, t, current_order) for the current schedule.
    double lmsCoefficient(int order, int t, int currentOrder) const;

private:
    explicit LmsScheduler(SigmaConfig config)
        : SigmaScheduler(std::move(config)) {}
    void resetHistory() override { m_derivatives.clear(); }

    static constexpr int kOrder = 4;
    std::deque<at::Tensor> m_derivatives; // oldest first
};

} // namespace tp::sched
