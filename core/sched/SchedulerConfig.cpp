#include "core/sched/SchedulerConfig.h"

#include <QJsonArray>

#include <cmath>
#include <limits>

namespace tp::sched {

namespace {

QString keyName(const char* key) {
    return QLatin1Char('"') + QLatin1String(key) + QLatin1Char('"');
}

QString describe(const QJsonValue& v) {
    switch (v.type()) {
    case QJsonValue::Bool:
        return v.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    case QJsonValue::Double:
        return QString::number(v.toDouble(), 'g', 17);
    case QJsonValue::String:
        return QLatin1Char('"') + v.toString() + QLatin1Char('"');
    case QJsonValue::Array:
        return QStringLiteral("a list");
    case QJsonValue::Object:
        return QStringLiteral("an object");
    default:
        return QStringLiteral("null");
    }
}

} // namespace

ConfigReader::ConfigReader(const QJsonObject& json, QString className)
    : m_json(json)
    , m_class(std::move(className)) {}

bool ConfigReader::present(const char* key) const {
    const QJsonValue v = m_json.value(QLatin1String(key));
    return !v.isUndefined() && !v.isNull();
}

void ConfigReader::fail(const QString& message) {
    m_errors.append(message);
}

QString ConfigReader::error() const {
    return QStringLiteral("scheduler config for %1: %2. Fix the model's scheduler/scheduler_config.json "
                          "or choose another sampler.")
        .arg(m_class, m_errors.join(QStringLiteral("; ")));
}

int ConfigReader::integer(const char* key, int fallback) {
    if (!present(key))
        return fallback;
    const QJsonValue v = m_json.value(QLatin1String(key));
    const double d = v.toDouble(std::numeric_limits<double>::quiet_NaN());
    if (!v.isDouble() || d != std::floor(d) || std::abs(d) > std::numeric_limits<int>::max()) {
        fail(QStringLiteral("%1 must be an integer, not %2").arg(keyName(key), describe(v)));
        return fallback;
    }
    return static_cast<int>(d);
}

double ConfigReader::number(const char* key, double fallback) {
    return optionalNumber(key).value_or(fallback);
}

std::optional<double> ConfigReader::optionalNumber(const char* key) {
    if (!present(key))
        return std::nullopt;
    const QJsonValue v = m_json.value(QLatin1String(key));
    if (!v.isDouble()) {
        fail(QStringLiteral("%1 must be a number, not %2").arg(keyName(key), describe(v)));
        return std::nullopt;
    }
    return v.toDouble();
}

bool ConfigReader::boolean(const char* key, bool fallback) {
    if (!present(key))
        return fallback;
    const QJsonValue v = m_json.value(QLatin1String(key));
    if (!v.isBool()) {
        fail(QStringLiteral("%1 must be true or false, not %2").arg(keyName(key), describe(v)));
        return fallback;
    }
    return v.toBool();
}

QString ConfigReader::choice(const char* key, const QString& fallback, const QStringList& allowed) {
    if (!present(key))
        return fallback;
    const QJsonValue v = m_json.value(QLatin1String(key));
    if (!v.isString() || !allowed.contains(v.toString())) {
        fail(QStringLiteral("%1 is %2; supported: %3")
                 .arg(keyName(key), describe(v), allowed.join(QStringLiteral(", "))));
        return fallback;
    }
    return v.toString();
}

void ConfigReader::requireDefault(const char* key, bool fallback) {
    if (boolean(key, fallback) != fallback)
        fail(QStringLiteral("%1 = %2 is not supported by TwistedPic")
                 .arg(keyName(key), fallback ? QStringLiteral("false") : QStringLiteral("true")));
}

void ConfigReader::requireDefault(const char* key, const QString& fallback) {
    if (!present(key))
        return;
    const QJsonValue v = m_json.value(QLatin1String(key));
    if (v.toString() != fallback)
        fail(QStringLiteral("%1 = %2 is not supported by TwistedPic (only \"%3\")")
                 .arg(keyName(key), describe(v), fallback));
}

BetaConfig ConfigReader::betaConfig(double betaStart, double betaEnd, const QString& schedule,
                                    bool hasRescaleKey) {
    BetaConfig c;
    c.numTrainTimesteps = integer("num_train_timesteps", 1000);
    if (c.numTrainTimesteps < 2) {
        fail(QStringLiteral("\"num_train_timesteps\" must be at least 2, not %1").arg(c.numTrainTimesteps));
        c.numTrainTimesteps = 1000;
    }
    c.betaStart = number("beta_start", betaStart);
    c.betaEnd = number("beta_end", betaEnd);
    const QString s = choice(
        "beta_schedule", schedule,
        {QStringLiteral("linear"), QStringLiteral("scaled_linear"), QStringLiteral("squaredcos_cap_v2")});
    c.schedule = s == QLatin1String("linear")          ? BetaSchedule::Linear
                 : s == QLatin1String("scaled_linear") ? BetaSchedule::ScaledLinear
                                                       : BetaSchedule::SquaredCosCapV2;
    if (present("trained_betas")) {
        const QJsonValue v = m_json.value(QLatin1String("trained_betas"));
        const QJsonArray list = v.toArray();
        bool good = v.isArray() && !list.isEmpty();
        for (const QJsonValue& b : list)
            good = good && b.isDouble();
        if (!good)
            fail(QStringLiteral("\"trained_betas\" must be a list of numbers, not %1").arg(describe(v)));
        else {
            for (const QJsonValue& b : list)
                c.trainedBetas.push_back(b.toDouble());
            if (list.size() != c.numTrainTimesteps)
                fail(QStringLiteral("\"trained_betas\" has %1 entries but \"num_train_timesteps\" is %2")
                         .arg(list.size())
                         .arg(c.numTrainTimesteps));
        }
    }
    c.rescaleZeroTerminalSnr = hasRescaleKey && boolean("rescale_betas_zero_snr", false);
    return c;
}

PredictionType ConfigReader::predictionType(const QStringList& supported) {
    const QString p = choice("prediction_type", QStringLiteral("epsilon"), supported);
    if (p == QLatin1String("v_prediction"))
        return PredictionType::VPrediction;
    if (p == QLatin1String("sample"))
        return PredictionType::Sample;
    return PredictionType::Epsilon;
}

TimestepSpacing ConfigReader::timestepSpacing(const QString& fallback) {
    const QString s =
        choice("timestep_spacing", fallback,
               {QStringLiteral("leading"), QStringLiteral("trailing"), QStringLiteral("linspace")});
    if (s == QLatin1String("trailing"))
        return TimestepSpacing::Trailing;
    if (s == QLatin1String("linspace"))
        return TimestepSpacing::Linspace;
    return TimestepSpacing::Leading;
}

} // namespace tp::sched
