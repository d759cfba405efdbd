#include "core/sched/GaussKronrod.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace tp::sched {

namespace {

// Abscissae and weights on (-1, 1), positive half, from QUADPACK (Piessens et al. 1983).
// xgk[1], xgk[3], ... are the 10-point Gauss abscissae; the others are the Kronrod additions.
constexpr double xgk[11] = {0.995657163025808080735527280689003, 0.973906528517171720077964012084452,
                            0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
                            0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
                            0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
                            0.294392862701460198131126603103866, 0.148874338981631210884826001129720,
                            0.000000000000000000000000000000000};
constexpr double wgk[11] = {0.011694638867371874278064396062192, 0.032558162307964727478818972459390,
                            0.054755896574351996031381300244580, 0.075039674810919952767043140916190,
                            0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
                            0.123491976262065851077958109831074, 0.134709217311473325928054001771707,
                            0.142775938577060080797094273138717, 0.147739104901338491374841515972068,
                            0.149445554002916905664936468389821};
constexpr double wg[5] = {0.066671344308688137593568809893332, 0.149451349150580593145776339657697,
                          0.219086362515982043995534934228163, 0.269266719309996355091226921569469,
                          0.295524224714752870173892994651338};

} // namespace

Qk21Result gaussKronrod21(const std::function<double(double)>& f, double a, double b) {
    const double epmach = DBL_EPSILON;
    const double uflow = DBL_MIN;
    const double centr = 0.5 * (a + b);
    const double hlgth = 0.5 * (b - a);
    const double dhlgth = std::abs(hlgth);

    double fv1[10];
    double fv2[10];
    const double fc = f(centr);
    double resg = 0;
    double resk = fc * wgk[10];
    double resabs = std::abs(resk);
    for (int j = 1; j <= 5; ++j) { // the Gauss points: xgk(2), xgk(4), ... in Fortran numbering
        const int jtw = 2 * j - 1;
        const double absc = hlgth * xgk[jtw];
        const double fval1 = f(centr - absc);
        const double fval2 = f(centr + absc);
        fv1[jtw] = fval1;
        fv2[jtw] = fval2;
        const double fsum = fval1 + fval2;
        resg = resg + wg[j - 1] * fsum;
        resk = resk + wgk[jtw] * fsum;
        resabs = resabs + wgk[jtw] * (std::abs(fval1) + std::abs(fval2));
    }
    for (int j = 1; j <= 5; ++j) { // the Kronrod points: xgk(1), xgk(3), ...
        const int jtwm1 = 2 * j - 2;
        const double absc = hlgth * xgk[jtwm1];
        const double fval1 = f(centr - absc);
        const double fval2 = f(centr + absc);
        fv1[jtwm1] = fval1;
        fv2[jtwm1] = fval2;
        const double fsum = fval1 + fval2;
        resk = resk + wgk[jtwm1] * fsum;
        resabs = resabs + wgk[jtwm1] * (std::abs(fval1) + std::abs(fval2));
    }
    const double reskh = resk * 0.5;
    double resasc = wgk[10] * std::abs(fc - reskh);
    for (int j = 0; j < 10; ++j)
        resasc = resasc + wgk[j] * (std::abs(fv1[j] - reskh) + std::abs(fv2[j] - reskh));

    Qk21Result r;
    r.result = resk * hlgth;
    resabs = resabs * dhlgth;
    resasc = resasc * dhlgth;
    double abserr = std::abs((resk - resg) * hlgth);
    if (resasc != 0 && abserr != 0)
        abserr = resasc * std::min(1.0, std::pow(200 * abserr / resasc, 1.5));
    if (resabs > uflow / (50 * epmach))
        abserr = std::max((epmach * 50) * resabs, abserr);
    r.abserr = abserr;
    r.resabs = resabs;
    r.resasc = resasc;
    return r;
}

} // namespace tp::sched
