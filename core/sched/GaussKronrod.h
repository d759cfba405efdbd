#pragma once

// QUADPACK's 21-point Gauss–Kronrod rule (dqk21), summed in the same order as QUADPACK, which
// scipy.integrate.quad (dqagse) applies first. For the LMS sampler's integrands (polynomials of
// degree <= 3 whose sign does not change on the interval) the rule is exact and its error estimate
// always passes quad's epsrel=1e-4 test, so quad returns exactly this first result.

#include <functional>

namespace tp::sched {

struct Qk21Result {
    double result = 0; // the 21-point Kronrod estimate of the integral
    double abserr = 0; // QUADPACK's error estimate
    double resabs = 0; // integral of |f|
    double resasc = 0; // integral of |f - mean|
};

Qk21Result gaussKronrod21(const std::function<double(double)>& f, double a, double b);

} // namespace tp::sched
