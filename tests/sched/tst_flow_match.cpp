// The flow-matching samplers (SD 3.x, Flux) against tables computed with diffusers' formulas
// (tests/data/flow-match/make_tables.py, its output tables.json): timesteps, sigmas, μ and whole
// denoising loops with a stand-in model must come out bit-identical.

#include "core/sched/FlowMatchSchedule.h"
#include "core/sched/Scheduler.h"
#include "tests/support/TestUtil.h"

#include <ATen/ATen.h>

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtTest>

#include <torch/version.h>

#include <cmath>

#include <cmath>

using namespace tp;
using namespace tp::sched;

namespace {

QJsonObject readTables() {
    QFile f(test::dataPath(QStringLiteral("flow-match/tables.json")));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    return QJsonDocument::fromJson(f.readAll()).object();
}

std::vector<double> doubles(const QJsonValue& v) {
    std::vector<double> out;
    for (const QJsonValue& x : v.toArray())
        out.push_back(x.toDouble());
    return out;
}

std::unique_ptr<Scheduler> make(const QString& name, const QJsonObject& config) {
    auto r = makeScheduler(name, config);
    if (!r)
        qWarning("%s", qPrintable(r.error()));
    return r ? std::move(r).value() : nullptr;
}

QJsonObject sd3Config() {
    return QJsonObject{{QStringLiteral("_class_name"), QStringLiteral("FlowMatchEulerDiscreteScheduler")},
                       {QStringLiteral("num_train_timesteps"), 1000},
                       {QStringLiteral("shift"), 3.0}};
}

QJsonObject fluxDevConfig() {
    QJsonObject c = sd3Config();
    c.insert(QStringLiteral("use_dynamic_shifting"), true);
    c.insert(QStringLiteral("base_shift"), 0.5);
    c.insert(QStringLiteral("max_shift"), 1.15);
    c.insert(QStringLiteral("base_image_seq_len"), 256);
    c.insert(QStringLiteral("max_image_seq_len"), 4096);
    return c;
}

at::ScalarType dtypeNamed(const QString& name) {
    if (name == QLatin1String("bfloat16"))
        return at::kBFloat16;
    if (name == QLatin1String("float16"))
        return at::kHalf;
    return at::kFloat;
}

} // namespace

class TestFlowMatch final : public QObject {
    Q_OBJECT

private:
    QJsonObject m_tables;

private Q_SLOTS:
    void initTestCase() {
        m_tables = readTables();
        QVERIFY2(!m_tables.isEmpty(), "tests/data/flow-match/tables.json is missing or unreadable");
    }

    // set_timesteps of FlowMatchEuler/HeunDiscreteScheduler: every float32 value equal.
    void tablesMatchDiffusers_data() {
        QTest::addColumn<QJsonObject>("entry");
        for (const QJsonValue& e : m_tables.value(QLatin1String("tables")).toArray())
            QTest::newRow(qPrintable(e.toObject().value(QLatin1String("name")).toString())) << e.toObject();
    }
    void tablesMatchDiffusers() {
        QFETCH(QJsonObject, entry);
        auto s = make(entry.value(QLatin1String("sampler")).toString(),
                      entry.value(QLatin1String("config")).toObject());
        QVERIFY(s);
        const int steps = entry.value(QLatin1String("steps")).toInt();
        TimestepOptions options;
        if (entry.value(QLatin1String("flux_sigmas")).toBool())
            options.sigmas = linearFlowSigmas(steps);
        if (entry.value(QLatin1String("mu")).isDouble())
            options.mu = entry.value(QLatin1String("mu")).toDouble();
        const Status st = s->setTimestepsWith(steps, options);
        QVERIFY2(st, qPrintable(st.error()));
        QCOMPARE(s->timesteps(), doubles(entry.value(QLatin1String("timesteps"))));
        QCOMPARE(s->sigmas(), doubles(entry.value(QLatin1String("sigmas"))));
        QCOMPARE(int(s->sigmas().size()), s->size() + 1);
        // what SD 3 passes to its transformer: the float32 timestep itself
        const at::Tensor t = s->timestepTensor(s->size() - 1);
        QCOMPARE(t.scalar_type(), at::kFloat);
        QCOMPARE(t.item<double>(), s->timesteps().back());
        QCOMPARE(s->initNoiseSigma(), 1.0);
    }

    void calculateShiftMatchesDiffusers() {
        for (const QJsonValue& v : m_tables.value(QLatin1String("calculate_shift")).toArray()) {
            const QJsonObject e = v.toObject();
            const int seq = e.value(QLatin1String("image_seq_len")).toInt();
            const double mu = e.value(QLatin1String("mu")).toDouble();
            QCOMPARE(calculateShift(seq, 256, 4096, 0.5, 1.15), mu);
            const Result<double> fromConfig = calculateShift(seq, fluxDevConfig());
            QVERIFY(fromConfig);
            QCOMPARE(fromConfig.value(), mu);
            // absent keys take the class defaults, which are the same numbers
            QCOMPARE(calculateShift(seq, sd3Config()).value(), mu);
        }
        QJsonObject other = fluxDevConfig();
        other.insert(QStringLiteral("max_shift"), 2.0);
        QCOMPARE(calculateShift(4096, other).value(), 2.0);
    }

    // Whole loops with v = 0.25·x − t/1000 in float32, bfloat16 and float16 model outputs: the
    // steps' dtypes and operation order reproduce diffusers' bits.
    void loopsMatchDiffusers_data() {
        QTest::addColumn<QJsonObject>("entry");
        for (const QJsonValue& e : m_tables.value(QLatin1String("loops")).toArray()) {
            const QJsonObject o = e.toObject();
            QTest::newRow(qPrintable(o.value(QLatin1String("name")).toString() + QLatin1Char('/') +
                                     o.value(QLatin1String("dtype")).toString()))
                << o;
        }
    }
    void loopsMatchDiffusers() {
        QFETCH(QJsonObject, entry);
        const QString name = entry.value(QLatin1String("name")).toString();
        std::unique_ptr<Scheduler> s;
        Status st = Status::ok();
        if (name == QLatin1String("euler-sd3-n6")) {
            s = make(QStringLiteral("flow_euler"), sd3Config());
            st = s->setTimesteps(6);
        } else if (name == QLatin1String("euler-flux-seq1024-n5")) {
            s = make(QStringLiteral("flow_euler"), fluxDevConfig());
            st = s->setTimestepsWith(5, {calculateShift(1024, 256, 4096, 0.5, 1.15), linearFlowSigmas(5)});
        } else if (name == QLatin1String("heun-sd3-n4")) {
            s = make(QStringLiteral("flow_heun"), sd3Config());
            st = s->setTimesteps(4);
            QCOMPARE(s->size(), 7);
        }
        QVERIFY2(s, qPrintable(name));
        QVERIFY2(st, qPrintable(st.error()));

        const at::ScalarType dtype = dtypeNamed(entry.value(QLatin1String("dtype")).toString());
        std::vector<int64_t> shape;
        for (const QJsonValue& d : m_tables.value(QLatin1String("x0_shape")).toArray())
            shape.push_back(d.toInt());
        const std::vector<double> x0 = doubles(m_tables.value(QLatin1String("x0")));
        at::Tensor x = at::tensor(x0, at::kDouble).to(at::kFloat).reshape(shape).to(dtype);
        for (int i = 0; i < s->size(); ++i) {
            const float t = s->timestepTensor(i).item<float>();
            const at::Tensor v = (x.to(at::kFloat) * 0.25 - at::Scalar(double(t / 1000.0f))).to(dtype);
            x = s->step(v, i, x, nullptr);
            QCOMPARE(x.scalar_type(), dtype);
        }
        const at::Tensor ref = at::tensor(doubles(entry.value(QLatin1String("result"))), at::kDouble);
        const double err = (x.to(at::kDouble).reshape({-1}) - ref).abs().max().item<double>();
        // Bit for bit with the libtorch that made the tables (Debian's 1.13, as diffusers on the CPU);
        // another libtorch build may round a half-precision operation the other way: one unit in
        // the last place of the largest value then (seen with libtorch 2.11).
        const double ulp = dtype == at::kBFloat16 ? std::ldexp(1.0, -7)
                           : dtype == at::kHalf   ? std::ldexp(1.0, -10)
                                                  : 0.0;
        const double tolerance =
            TORCH_VERSION_MAJOR == 1 ? 0.0 : ulp * std::max(1.0, ref.abs().max().item<double>());
        QVERIFY2(err <= tolerance, qPrintable(QStringLiteral("max abs error %1").arg(err)));
    }

    // --- the mechanism around it ---------------------------------------------------------

    void stepsTheVelocity() {
        auto s = make(QStringLiteral("flow_euler"), sd3Config());
        QVERIFY(s->setTimesteps(4));
        const at::Tensor x = at::full({1, 2}, 0.5);
        const at::Tensor v = at::full({1, 2}, 2.0);
        QCOMPARE(s->scaleModelInput(x, 0).equal(x), true);
        const at::Tensor next = s->step(v, 1, x, nullptr);
        const float dt = float(s->sigmas()[2]) - float(s->sigmas()[1]);
        QCOMPARE(next[0][0].item<float>(), 0.5f + 2.0f * dt);
    }

    void dynamicShiftingNeedsMu() {
        auto s = make(QStringLiteral("flow_euler"), fluxDevConfig());
        const Status st = s->setTimesteps(10);
        QVERIFY(!st);
        QVERIFY2(st.error().contains(QLatin1String("mu")) && st.error().contains(QLatin1String("flow_euler")),
                 qPrintable(st.error()));
        // a static shift ignores μ, as diffusers does (the Flux pipeline always passes it)
        auto schnell = make(QStringLiteral("flow_euler"), sd3Config());
        QVERIFY(schnell->setTimestepsWith(4, {0.7, {}}));
        auto plain = make(QStringLiteral("flow_euler"), sd3Config());
        QVERIFY(plain->setTimesteps(4));
        QCOMPARE(schnell->sigmas(), plain->sigmas());
    }

    void optionsAreChecked() {
        auto s = make(QStringLiteral("flow_euler"), sd3Config());
        Status st = s->setTimestepsWith(4, {std::nullopt, {1.0, 0.5}});
        QVERIFY(!st);
        QVERIFY2(st.error().contains(QLatin1String("2 custom sigmas for 4 steps")), qPrintable(st.error()));
        st = s->setTimestepsWith(2, {std::nullopt, {1.0, std::nan("")}});
        QVERIFY(!st);
        QVERIFY(!s->setTimesteps(0));
        QVERIFY(!s->setTimesteps(1001));
        // one step with shift_terminal: diffusers computes 0 / 0
        QJsonObject terminal = sd3Config();
        terminal.insert(QStringLiteral("shift_terminal"), 0.1);
        auto t = make(QStringLiteral("flow_euler"), terminal);
        st = t->setTimesteps(1);
        QVERIFY(!st);
        QVERIFY2(st.error().contains(QLatin1String("non-finite")), qPrintable(st.error()));
        QVERIFY(t->setTimesteps(2));
        // samplers without keyword arguments refuse them instead of ignoring them
        for (const QString& name : {QStringLiteral("flow_heun"), QStringLiteral("euler")}) {
            auto other = make(name, name == QLatin1String("euler") ? QJsonObject() : sd3Config());
            QVERIFY(other);
            st = other->setTimestepsWith(4, {1.0, {}});
            QVERIFY(!st);
            QVERIFY2(st.error().contains(name) && st.error().contains(QLatin1String("flow_euler")),
                     qPrintable(st.error()));
            QVERIFY(other->setTimestepsWith(4, {}));
            QCOMPARE(other->size(), name == QLatin1String("flow_heun") ? 7 : 4);
        }
    }

    void unsupportedConfigIsRejected_data() {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QJsonValue>("value");
        QTest::newRow("beta") << QStringLiteral("use_beta_sigmas") << QJsonValue(true);
        QTest::newRow("exponential") << QStringLiteral("use_exponential_sigmas") << QJsonValue(true);
        QTest::newRow("stochastic") << QStringLiteral("stochastic_sampling") << QJsonValue(true);
        QTest::newRow("time shift") << QStringLiteral("time_shift_type")
                                    << QJsonValue(QStringLiteral("cosine"));
        QTest::newRow("shift") << QStringLiteral("shift") << QJsonValue(-1.0);
        QTest::newRow("seq lens") << QStringLiteral("max_image_seq_len") << QJsonValue(256);
    }
    void unsupportedConfigIsRejected() {
        QFETCH(QString, key);
        QFETCH(QJsonValue, value);
        QJsonObject c = fluxDevConfig();
        c.insert(key, value);
        auto r = makeScheduler(QStringLiteral("flow_euler"), c);
        QVERIFY(!r);
        QVERIFY2(r.error().contains(key) &&
                     r.error().contains(QLatin1String("FlowMatchEulerDiscreteScheduler")),
                 qPrintable(r.error()));
    }

    void factoryNames() {
        QCOMPARE(flowMatchSchedulerNames(),
                 (QStringList{QStringLiteral("flow_euler"), QStringLiteral("flow_heun")}));
        for (const QString& n : flowMatchSchedulerNames()) {
            QVERIFY(!schedulerNames().contains(n)); // not offered to the noise-predicting UNets
            auto s = make(n, sd3Config());
            QVERIFY(s);
            QCOMPARE(s->name(), n);
            QCOMPARE(s->timestepDtype(), at::kFloat);
        }
        auto r = makeScheduler(QStringLiteral("heun"), sd3Config());
        QVERIFY(!r);
        QVERIFY2(r.error().contains(QLatin1String("flow_heun")), qPrintable(r.error()));
    }

    void heunStepsInOrder() {
        auto s = make(QStringLiteral("flow_heun"), sd3Config());
        QVERIFY(s->setTimesteps(3));
        const at::Tensor x = at::ones({2});
        QVERIFY_THROWS_EXCEPTION(c10::Error, s->step(x, 1, x, nullptr));
        s->step(x, 0, x, nullptr);
        s->step(x, 1, x, nullptr);
        QVERIFY_THROWS_EXCEPTION(c10::Error, s->step(x, 1, x, nullptr));
        // setTimesteps starts a new run
        QVERIFY(s->setTimesteps(3));
        const at::Tensor y = s->step(x, 0, x, nullptr);
        QCOMPARE(y.sizes(), x.sizes());
    }

    void linearFlowSigmasIsNumpyLinspace() {
        const std::vector<double> s = linearFlowSigmas(4);
        QCOMPARE(s, (std::vector<double>{1.0, 0.75, 0.5, 0.25}));
        QCOMPARE(linearFlowSigmas(1), (std::vector<double>{1.0}));
    }
};

QTEST_GUILESS_MAIN(TestFlowMatch)
#include "tst_flow_match.moc"
