#include "core/io/SafeTensors.h"
#include "core/sched/GaussKronrod.h"
#include "core/sched/LmsScheduler.h"
#include "core/sched/NoiseSchedule.h"
#include "core/sched/NumpyCompat.h"
#include "core/sched/Random.h"
#include "core/sched/Scheduler.h"
#include "core/sched/Timesteps.h"
#include "tests/support/TestUtil.h"

#include <ATen/ATen.h>

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include <cmath>

using namespace tp;
using namespace tp::sched;

namespace {

QJsonObject readJson(const QString& relative) {
    QFile f(test::dataPath(relative));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

// The config the reference tables were made with (cases.json "scheduler_config": the SD 1.5
// PNDM config without timestep_spacing, so each class uses its own default spacing).
QJsonObject casesConfig() {
    return readJson(QStringLiteral("sd15-tiny/cases.json"))
        .value(QLatin1String("scheduler_config"))
        .toObject();
}

// The pipeline folder's config as save_pretrained wrote it ("timestep_spacing": "leading").
QJsonObject folderConfig() {
    return readJson(QStringLiteral("sd15-tiny/pipeline/scheduler/scheduler_config.json"));
}

std::unique_ptr<Scheduler> make(const QString& name, const QJsonObject& config) {
    auto r = makeScheduler(name, config);
    if (!r)
        qWarning("%s", qPrintable(r.error()));
    return r ? std::move(r).value() : nullptr;
}

// ᾱ of the SD 1.5 schedule in float64, computed independently of the float32 production code.
std::vector<double> sdAlphasCumprod64() {
    const int n = 1000;
    const double a = std::sqrt(0.00085);
    const double b = std::sqrt(0.012);
    std::vector<double> out(n);
    double acc = 1;
    for (int i = 0; i < n; ++i) {
        const double beta = std::pow(a + (b - a) * i / (n - 1), 2);
        acc *= 1 - beta;
        out[i] = acc;
    }
    return out;
}

double maxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

at::Tensor fixedTensor(uint64_t seed, at::IntArrayRef shape = {1, 4, 8, 8}) {
    at::Generator g = makeCpuGenerator(seed);
    return randnCpu(shape, g);
}

} // namespace

class TestSchedulers final : public QObject {
    Q_OBJECT

private:
    std::shared_ptr<const io::SafeTensorsFile> m_reference;
    double m_worstTableError = 0; // relative, over every reference table entry

    at::Tensor reference(const QString& name) const {
        const Result<at::Tensor> t = m_reference->view(name);
        return t ? t.value() : at::Tensor();
    }

private Q_SLOTS:
    void initTestCase() {
        QVERIFY2(!casesConfig().isEmpty(), "tests/data/sd15-tiny/cases.json has no scheduler_config");
        QVERIFY(!folderConfig().isEmpty());
        auto file =
            io::SafeTensorsFile::open(test::dataPath(QStringLiteral("sd15-tiny/reference.safetensors")));
        QVERIFY2(file, qPrintable(file.error()));
        m_reference = file.value();
    }

    void cleanupTestCase() {
        qInfo("largest relative error against the diffusers tables: %.3g", m_worstTableError);
    }

    // --- the diffusers reference tables ----------------------------------------------------

    // timesteps, sigmas and init_noise_sigma of XScheduler.from_config(config).set_timesteps(n).
    void referenceTables_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("steps");
        for (const QString& n : schedulerNames())
            for (int steps : {4, 10, 25})
                QTest::newRow(qPrintable(QStringLiteral("%1/%2").arg(n).arg(steps))) << n << steps;
    }
    void referenceTables() {
        QFETCH(QString, name);
        QFETCH(int, steps);
        auto s = make(name, casesConfig());
        QVERIFY(s);
        QVERIFY(s->setTimesteps(steps));
        const QString prefix = QStringLiteral("sched.%1.n%2.").arg(name).arg(steps);
        double worst = 0;
        const auto compare = [&](const QString& what, const std::vector<double>& got) {
            const at::Tensor ref = reference(prefix + what).to(at::kDouble).contiguous();
            QVERIFY2(ref.defined(), qPrintable(prefix + what + QStringLiteral(" is missing")));
            QCOMPARE(int(ref.numel()), int(got.size()));
            for (int i = 0; i < int(got.size()); ++i) {
                const double r = ref.data_ptr<double>()[i];
                const double e = std::abs(got[i] - r) / std::max(std::abs(r), 1e-30);
                worst = std::max(worst, r == 0 ? std::abs(got[i]) : e);
            }
        };
        compare(QStringLiteral("timesteps"), s->timesteps());
        if (m_reference->contains(prefix + QStringLiteral("sigmas")))
            compare(QStringLiteral("sigmas"), s->sigmas());
        else
            QVERIFY(s->sigmas().empty());
        compare(QStringLiteral("init_noise_sigma"), {s->initNoiseSigma()});
        m_worstTableError = std::max(m_worstTableError, worst);
        QVERIFY2(worst <= 1e-12, qPrintable(QStringLiteral("max relative error %1").arg(worst)));
    }

    // torch.randn(shape, generator=torch.Generator().manual_seed(42)) from PyTorch 2.11.
    void randnMatchesReference_data() {
        QTest::addColumn<QString>("name");
        QTest::newRow("1x4x8x8") << QStringLiteral("rng.seed42.randn_1x4x8x8");
        QTest::newRow("2x4x16x16") << QStringLiteral("rng.seed42.randn_2x4x16x16");
    }
    void randnMatchesReference() {
        QFETCH(QString, name);
        const at::Tensor ref = reference(name);
        QVERIFY(ref.defined());
        at::Generator g = makeCpuGenerator(42);
        const at::Tensor x = randnCpu(ref.sizes(), g);
        const double err = maxAbsDiff(x, ref);
        qInfo("%s: max abs error %.3g", qPrintable(name), err);
        QVERIFY2(err <= 1e-6, qPrintable(QString::number(err)));
    }

    // --- factory and config ----------------------------------------------------------------

    void factoryBuildsEveryName_data() {
        QTest::addColumn<QString>("name");
        for (const QString& n : schedulerNames())
            QTest::newRow(qPrintable(n)) << n;
    }
    void factoryBuildsEveryName() {
        QFETCH(QString, name);
        auto s = make(name, casesConfig());
        QVERIFY(s);
        QCOMPARE(s->name(), name);
        QVERIFY(s->setTimesteps(10));
        QCOMPARE(s->size(), name == QLatin1String("pndm") ? 11 : 10);
        for (int i = 1; i < s->size(); ++i)
            QVERIFY(s->timesteps()[i] <= s->timesteps()[i - 1]);
        if (!s->sigmas().empty())
            QCOMPARE(int(s->sigmas().size()), s->size() + 1);
        QVERIFY(s->initNoiseSigma() >= 1.0);
    }

    void factoryRejectsUnknownName() {
        auto r = makeScheduler(QStringLiteral("heun"), casesConfig());
        QVERIFY(!r);
        QVERIFY(r.error().contains(QLatin1String("\"heun\"")));
        for (const QString& n : schedulerNames())
            QVERIFY2(r.error().contains(n), qPrintable(r.error()));
    }

    void configErrorsNameTheKey() {
        QJsonObject bad = casesConfig();
        bad.insert(QStringLiteral("beta_schedule"), QStringLiteral("cosine"));
        auto r = makeScheduler(QStringLiteral("euler"), bad);
        QVERIFY(!r);
        QVERIFY2(r.error().contains(QLatin1String("beta_schedule")) &&
                     r.error().contains(QLatin1String("EulerDiscreteScheduler")) &&
                     r.error().contains(QLatin1String("scaled_linear")),
                 qPrintable(r.error()));

        QJsonObject noPlms = casesConfig();
        noPlms.remove(QStringLiteral("skip_prk_steps"));
        r = makeScheduler(QStringLiteral("pndm"), noPlms);
        QVERIFY(!r);
        QVERIFY2(r.error().contains(QLatin1String("skip_prk_steps")), qPrintable(r.error()));

        QJsonObject wrongType = casesConfig();
        wrongType.insert(QStringLiteral("num_train_timesteps"), QStringLiteral("many"));
        r = makeScheduler(QStringLiteral("ddim"), wrongType);
        QVERIFY(!r);
        QVERIFY2(r.error().contains(QLatin1String("num_train_timesteps")), qPrintable(r.error()));

        QJsonObject sde = casesConfig();
        sde.insert(QStringLiteral("algorithm_type"), QStringLiteral("sde-dpmsolver++"));
        r = makeScheduler(QStringLiteral("dpmpp_2m"), sde);
        QVERIFY(!r);
        QVERIFY2(r.error().contains(QLatin1String("algorithm_type")), qPrintable(r.error()));

        QJsonObject badBetas = casesConfig();
        badBetas.insert(QStringLiteral("trained_betas"), QJsonArray{0.1, 0.2});
        r = makeScheduler(QStringLiteral("lms"), badBetas);
        QVERIFY(!r);
        QVERIFY2(r.error().contains(QLatin1String("trained_betas")), qPrintable(r.error()));
    }

    void stepCountsAreChecked() {
        auto euler = make(QStringLiteral("euler"), casesConfig());
        QVERIFY(!euler->setTimesteps(0));
        QVERIFY(!euler->setTimesteps(1001));
        auto lcm = make(QStringLiteral("lcm"), casesConfig());
        QVERIFY(lcm->setTimesteps(50));
        const Status tooMany = lcm->setTimesteps(51);
        QVERIFY(!tooMany);
        QVERIFY(tooMany.error().contains(QLatin1String("original_inference_steps")));
    }

    // The folder's config says "leading": Euler then starts from t = 901 and scales the initial
    // noise by sqrt(σ_max² + 1); without the key (the class default "linspace") it starts at 999.
    void spacingFromConfigChangesEuler() {
        auto leading = make(QStringLiteral("euler"), folderConfig());
        auto linspace = make(QStringLiteral("euler"), casesConfig());
        QVERIFY(leading->setTimesteps(10));
        QVERIFY(linspace->setTimesteps(10));
        QCOMPARE(leading->timesteps().front(), 901.0);
        QCOMPARE(leading->timesteps().back(), 1.0);
        QCOMPARE(linspace->timesteps().front(), 999.0);
        const double sigmaMax = leading->sigmas().front();
        QCOMPARE(leading->initNoiseSigma(), double(std::sqrt(float(sigmaMax) * float(sigmaMax) + 1.0f)));
        QCOMPARE(linspace->initNoiseSigma(), linspace->sigmas().front());
    }

    // --- numpy and quadrature building blocks --------------------------------------------

    void numpyHelpers() {
        const std::vector<double> a = np::linspace(0, 999, 4);
        QCOMPARE(a, (std::vector<double>{0, 333, 666, 999}));
        const std::vector<double> b = np::linspace(0, 50, 4, /*endpoint=*/false);
        QCOMPARE(b, (std::vector<double>{0, 12.5, 25, 37.5}));
        QCOMPARE(np::roundHalfEven(0.5), 0.0);
        QCOMPARE(np::roundHalfEven(1.5), 2.0);
        QCOMPARE(np::roundHalfEven(2.5), 2.0);
        QCOMPARE(np::roundHalfEven(499.5), 500.0);
        QCOMPARE(np::interpAtIndex(0.25, {10, 20, 40}), 12.5);
        QCOMPARE(np::interpAtIndex(1.25, {10, 20, 40}), 25.0);
        QCOMPARE(np::interpAtIndex(2, {10, 20, 40}), 40.0);
        QCOMPARE(np::interpAtIndex(-1, {10, 20, 40}), 10.0);
        // numpy.arange(1000, 0, -1000/61) has 62 elements (the ratio rounds so that the length
        // computes to 61.000000000000007): diffusers' "trailing" inherits the extra timestep.
        const std::vector<double> r = np::arange(1000, 0, -1000.0 / 61);
        QCOMPARE(int(r.size()), 62);
        QVERIFY(std::abs(r.back()) < 1e-9);
        const std::vector<int64_t> ddim = ddimTimesteps(TimestepSpacing::Trailing, 1000, 61, 0);
        QCOMPARE(int(ddim.size()), 62);
        QCOMPARE(ddim.front(), int64_t(999));
        QCOMPARE(ddim.back(), int64_t(-1));
        QCOMPARE(int(ddimTimesteps(TimestepSpacing::Trailing, 1000, 60, 0).size()), 60);
    }

    void gaussKronrodIsExactForPolynomials() {
        for (int k = 0; k <= 21; ++k) {
            const double a = 0.3, b = 2.7;
            const auto f = [k](double x) { return std::pow(x, k); };
            const double exact = (std::pow(b, k + 1) - std::pow(a, k + 1)) / (k + 1);
            const Qk21Result r = gaussKronrod21(f, a, b);
            QVERIFY2(std::abs(r.result - exact) <= 1e-14 * std::abs(exact), qPrintable(QString::number(k)));
            // reversed limits give the negated integral, as quad does
            QVERIFY(std::abs(gaussKronrod21(f, b, a).result + exact) <= 1e-14 * std::abs(exact));
        }
        // a cubic like the LMS integrands: the error estimate passes quad's epsrel = 1e-4 test
        const auto cubic = [](double x) { return (x - 3) * (x - 4) * (x - 5) / 6.0; };
        const Qk21Result c = gaussKronrod21(cubic, 2.0, 1.0);
        QVERIFY(c.abserr <= 1e-4 * std::abs(c.result));
    }

    // Σ_j ∫ ℓ_j = ∫ 1: the LMS coefficients of one step add up to σ_{t+1} − σ_t (the integrand
    // is evaluated in float32, so to float32 accuracy).
    void lmsCoefficientsSumToTheInterval() {
        auto made = LmsScheduler::fromConfig(casesConfig());
        QVERIFY(made);
        auto* lms = static_cast<LmsScheduler*>(made.value().get());
        QVERIFY(lms->setTimesteps(25));
        const std::vector<double>& s = lms->sigmas();
        for (int t = 0; t < 25; ++t) {
            const int order = std::min(t + 1, 4);
            double sum = 0;
            for (int cur = 0; cur < order; ++cur)
                sum += lms->lmsCoefficient(order, t, cur);
            const double interval = s[t + 1] - s[t];
            QVERIFY2(std::abs(sum - interval) <= 2e-6 * std::abs(interval) + 1e-7,
                     qPrintable(QStringLiteral("t=%1 sum=%2 interval=%3").arg(t).arg(sum).arg(interval)));
        }
        // order 1: the integral of the constant 1
        QVERIFY(std::abs(lms->lmsCoefficient(1, 0, 0) - (s[1] - s[0])) <= 1e-14 * std::abs(s[1] - s[0]));
    }

    // --- random numbers ------------------------------------------------------------------

    void randnMatchesTorchForSmallDraws() {
        // torch.randn(2, 3, generator=torch.Generator().manual_seed(42))
        at::Generator g = makeCpuGenerator(42);
        const at::Tensor x = randnCpu({2, 3}, g);
        const double expected[6] = {0.3367, 0.1288, 0.2345, 0.2303, -1.1229, -0.1863};
        for (int i = 0; i < 6; ++i)
            QVERIFY(std::abs(x.view({-1})[i].item<double>() - expected[i]) < 1e-4);
        QCOMPARE(x.scalar_type(), at::kFloat);
    }

    void randnIsDeterministicPerSeed() {
        at::Generator a = makeCpuGenerator(7);
        at::Generator b = makeCpuGenerator(7);
        at::Generator c = makeCpuGenerator(8);
        const at::Tensor x = randnCpu({2, 4, 16, 16}, a);
        QVERIFY(at::equal(x, randnTensor({2, 4, 16, 16}, &b, at::kFloat, at::kCPU)));
        QVERIFY(!at::equal(x, randnCpu({2, 4, 16, 16}, c)));
        // consecutive draws continue the stream
        QVERIFY(!at::equal(randnCpu({2, 4, 16, 16}, a), x));
    }

    // --- single steps against hand-written formulas ------------------------------------

    void ddimStepMatchesFormula() {
        auto s = make(QStringLiteral("ddim"), casesConfig());
        QVERIFY(s->setTimesteps(4)); // 751, 501, 251, 1
        const std::vector<double> ac = sdAlphasCumprod64();
        const at::Tensor x = fixedTensor(1);
        const at::Tensor eps = fixedTensor(2);
        for (int i : {0, 3}) {
            const auto t = int64_t(s->timesteps()[i]);
            const int64_t prev = t - 250;
            const double aT = ac[t];
            const double ap = prev >= 0 ? ac[prev] : ac[0]; // set_alpha_to_one = false
            const at::Tensor x0 =
                (x.to(at::kDouble) - std::sqrt(1 - aT) * eps.to(at::kDouble)) / std::sqrt(aT);
            const at::Tensor expected = std::sqrt(ap) * x0 + std::sqrt(1 - ap) * eps.to(at::kDouble);
            const at::Tensor got = s->step(eps, i, x, nullptr);
            QCOMPARE(got.scalar_type(), at::kFloat);
            QVERIFY2(maxAbsDiff(got, expected) < 2e-5,
                     qPrintable(QString::number(maxAbsDiff(got, expected))));
        }
    }

    void eulerStepMatchesFormula() {
        auto s = make(QStringLiteral("euler"), casesConfig());
        QVERIFY(s->setTimesteps(10));
        const at::Tensor x = fixedTensor(3) * 10;
        const at::Tensor eps = fixedTensor(4);
        const double s0 = s->sigmas()[0];
        const double s1 = s->sigmas()[1];
        // x_{i+1} = x + (σ_{i+1} − σ_i) · ε for an epsilon model
        const at::Tensor expected = x.to(at::kDouble) + (s1 - s0) * eps.to(at::kDouble);
        QVERIFY(maxAbsDiff(s->step(eps, 0, x, nullptr), expected) < 1e-5);
        // the input scaling is 1 / sqrt(σ² + 1)
        QVERIFY(maxAbsDiff(s->scaleModelInput(x, 0), x.to(at::kDouble) / std::sqrt(s0 * s0 + 1)) < 1e-5);
        // the result takes the model output's dtype (diffusers upcasts only inside the step)
        QCOMPARE(s->step(eps.to(at::kHalf), 1, x, nullptr).scalar_type(), at::kHalf);
    }

    // DPM-Solver++(2M): the second step combines the current and the stored previous denoised
    // predictions; written out here in float64 from the paper's formulas (VP form: α = 1/√(σ²+1),
    // σ_t = σα, λ = log α − log σ_t).
    void dpmSecondOrderUsesPreviousOutput() {
        auto s = make(QStringLiteral("dpmpp_2m"), casesConfig());
        QVERIFY(s->setTimesteps(10));
        const std::vector<double>& sig = s->sigmas();
        const auto alpha = [](double sigma) { return 1 / std::sqrt(sigma * sigma + 1); };
        const auto lambda = [&](double sigma) {
            return std::log(alpha(sigma)) - std::log(sigma * alpha(sigma));
        };
        const at::Tensor x = fixedTensor(5);
        const at::Tensor eps0 = fixedTensor(6);
        const at::Tensor eps1 = fixedTensor(7);
        const auto x0Of = [&](const at::Tensor& xt, const at::Tensor& e, double sigma) {
            return (xt.to(at::kDouble) - sigma * alpha(sigma) * e.to(at::kDouble)) / alpha(sigma);
        };
        // step 0: first order
        const at::Tensor d0 = x0Of(x, eps0, sig[0]);
        const double h0 = lambda(sig[1]) - lambda(sig[0]);
        const auto vpSigma = [&](double sigma) { return sigma * alpha(sigma); };
        const at::Tensor x1Expected = (vpSigma(sig[1]) / vpSigma(sig[0])) * x.to(at::kDouble) -
                                      alpha(sig[1]) * (std::exp(-h0) - 1) * d0;
        const at::Tensor x1 = s->step(eps0, 0, x, nullptr);
        QVERIFY2(maxAbsDiff(x1, x1Expected) < 1e-5, qPrintable(QString::number(maxAbsDiff(x1, x1Expected))));
        // step 1: second order with D1 = (m0 − m1) / r0
        const at::Tensor m0 = x0Of(x1, eps1, sig[1]);
        const double h = lambda(sig[2]) - lambda(sig[1]);
        const double r0 = (lambda(sig[1]) - lambda(sig[0])) / h;
        const double c = alpha(sig[2]) * (std::exp(-h) - 1);
        const at::Tensor x2Expected =
            (vpSigma(sig[2]) / vpSigma(sig[1])) * x1.to(at::kDouble) - c * m0 - 0.5 * c * ((m0 - d0) / r0);
        const at::Tensor x2 = s->step(eps1, 1, x1, nullptr);
        QVERIFY2(maxAbsDiff(x2, x2Expected) < 1e-5, qPrintable(QString::number(maxAbsDiff(x2, x2Expected))));

        // With solver_order 1 the history is ignored: a different first output changes nothing.
        QJsonObject firstOrder = casesConfig();
        firstOrder.insert(QStringLiteral("solver_order"), 1);
        auto a = make(QStringLiteral("dpmpp_2m"), firstOrder);
        auto b = make(QStringLiteral("dpmpp_2m"), firstOrder);
        QVERIFY(a->setTimesteps(10) && b->setTimesteps(10));
        a->step(eps0, 0, x, nullptr);
        b->step(eps1, 0, x, nullptr);
        QVERIFY(at::equal(a->step(eps1, 1, x1, nullptr), b->step(eps1, 1, x1, nullptr)));
        // ... while the second-order solver does use it.
        QVERIFY(s->setTimesteps(10));
        s->step(eps1, 0, x, nullptr);
        QVERIFY(maxAbsDiff(s->step(eps1, 1, x1, nullptr), x2) > 1e-3);
    }

    // Euler a: the deterministic part plus σ_up times the generator's next normal draw.
    void eulerAncestralNoiseComesFromGenerator() {
        auto s = make(QStringLiteral("euler_a"), casesConfig());
        QVERIFY(s->setTimesteps(5));
        const at::Tensor x = fixedTensor(8) * 14;
        const at::Tensor eps = fixedTensor(9);
        at::Generator g1 = makeCpuGenerator(2026);
        at::Generator g2 = makeCpuGenerator(2026);
        const at::Tensor a = s->step(eps, 0, x, &g1);
        QVERIFY(s->setTimesteps(5));
        QVERIFY(at::equal(a, s->step(eps, 0, x, &g2))); // same seed, same result

        const double from = s->sigmas()[0];
        const double to = s->sigmas()[1];
        const double up = std::sqrt(to * to * (from * from - to * to) / (from * from));
        const double down = std::sqrt(to * to - up * up);
        at::Generator g3 = makeCpuGenerator(2026);
        const at::Tensor noise = randnCpu({1, 4, 8, 8}, g3);
        const at::Tensor expected =
            x.to(at::kDouble) + eps.to(at::kDouble) * (down - from) + noise.to(at::kDouble) * up;
        QVERIFY(maxAbsDiff(a, expected) < 1e-4);
        QVERIFY(up > 1.0); // the noise term is not negligible, so a wrong draw would show
    }

    // LCM: intermediate steps re-noise with the generator; the last returns the denoised sample
    // c_skip·x + c_out·x̂0 and draws nothing.
    void lcmFinalStepReturnsDenoised() {
        auto s = make(QStringLiteral("lcm"), casesConfig());
        QVERIFY(s->setTimesteps(4)); // 999, 759, 499, 259
        const std::vector<double> ac = sdAlphasCumprod64();
        const at::Tensor x = fixedTensor(10);
        const at::Tensor eps = fixedTensor(11);
        const int last = s->size() - 1;
        const auto t = int64_t(s->timesteps()[last]);
        QCOMPARE(t, int64_t(259));
        const double scaled = 10.0 * t;
        const double cSkip = 0.25 / (scaled * scaled + 0.25);
        const double cOut = scaled / std::sqrt(scaled * scaled + 0.25);
        const at::Tensor x0 =
            (x.to(at::kDouble) - std::sqrt(1 - ac[t]) * eps.to(at::kDouble)) / std::sqrt(ac[t]);
        const at::Tensor expected = cOut * x0 + cSkip * x.to(at::kDouble);
        at::Generator g = makeCpuGenerator(99);
        const at::Tensor got = s->step(eps, last, x, &g);
        QVERIFY(maxAbsDiff(got, expected) < 1e-5);
        // the generator was not touched: its next draw is a fresh generator's first
        at::Generator fresh = makeCpuGenerator(99);
        QVERIFY(at::equal(randnCpu({8}, g), randnCpu({8}, fresh)));
        // an intermediate step does draw
        at::Generator h = makeCpuGenerator(99);
        s->step(eps, 0, x, &h);
        at::Generator fresh2 = makeCpuGenerator(99);
        QVERIFY(!at::equal(randnCpu({8}, h), randnCpu({8}, fresh2)));
    }

    // --- whole runs with a perfect model -------------------------------------------------

    // The "model" returns the true noise of its input, so every sampler must end at x0.
    void perfectModelLandsOnX0_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("steps");
        for (const QString& n : schedulerNames())
            for (int steps : {4, 10, 25})
                QTest::newRow(qPrintable(QStringLiteral("%1/%2").arg(n).arg(steps))) << n << steps;
    }
    void perfectModelLandsOnX0() {
        QFETCH(QString, name);
        QFETCH(int, steps);
        QJsonObject config = casesConfig();
        config.insert(QStringLiteral("set_alpha_to_one"), true); // DDIM/PNDM end exactly at x0
        auto s = make(name, config);
        QVERIFY(s);
        QVERIFY(s->setTimesteps(steps));
        const std::vector<double> ac = sdAlphasCumprod64();
        const at::Tensor x0 = fixedTensor(12).clamp(-2, 2);
        const at::Tensor noise = fixedTensor(13);
        const bool sigmaBased = !s->sigmas().empty();
        const bool veLatents = sigmaBased && s->initNoiseSigma() > 1.0; // Euler, Euler a, LMS

        // The sample at step i in the sampler's own parametrisation, and the noise it contains.
        const auto sigmaAt = [&](int i) { return s->sigmas()[i]; };
        const auto alphaBarAt = [&](int i) -> double {
            if (sigmaBased)
                return 1 / (sigmaAt(i) * sigmaAt(i) + 1);
            return ac[int64_t(s->timestepForModel(i))];
        };
        at::Tensor x;
        if (veLatents)
            x = x0 + noise * sigmaAt(0);
        else
            x = x0 * std::sqrt(alphaBarAt(0)) + noise * std::sqrt(1 - alphaBarAt(0));
        at::Generator g = makeCpuGenerator(5);
        for (int i = 0; i < s->size(); ++i) {
            const at::Tensor in = s->scaleModelInput(x, i);
            const double ab = alphaBarAt(i);
            const at::Tensor eps = (in - x0 * std::sqrt(ab)) / std::sqrt(1 - ab);
            x = s->step(eps, i, x, &g);
        }
        const double err = maxAbsDiff(x, x0);
        QVERIFY2(err < 1e-4, qPrintable(QStringLiteral("max |x - x0| = %1").arg(err)));
    }
};

QTEST_GUILESS_MAIN(TestSchedulers)
#include "tst_schedulers.moc"
