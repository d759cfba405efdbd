#pragma once

// Reads a diffusers scheduler_config.json the way `XScheduler.from_config(config)` does: keys the
// class knows take the file's value, absent (or null) keys take the class's own default, keys
// of other classes are ignored. Problems are collected and reported together.

#include "core/sched/NoiseSchedule.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <optional>
#include <vector>

namespace tp::sched {

enum class PredictionType { Epsilon, VPrediction, Sample };
enum class TimestepSpacing { Leading, Trailing, Linspace };

class ConfigReader final {
public:
    // className names the diffusers class in messages, e.g. "EulerDiscreteScheduler".
    ConfigReader(const QJsonObject& json, QString className);

    int integer(const char* key, int fallback);
    double number(const char* key, double fallback);
    std::optional<double> optionalNumber(const char* key);
    bool boolean(const char* key, bool fallback);
    // One of `allowed`; anything else is an error.
    QString choice(const char* key, const QString& fallback, const QStringList& allowed);
    // A key whose only supported value is the default: any other value is an error that says so.
    void requireDefault(const char* key, bool fallback);
    void requireDefault(const char* key, const QString& fallback);

    // The shared keys, with this class's defaults.
    BetaConfig betaConfig(double betaStart, double betaEnd, const QString& schedule, bool hasRescaleKey);
    PredictionType predictionType(const QStringList& supported);
    TimestepSpacing timestepSpacing(const QString& fallback);

    void fail(const QString& message);
    bool ok() const { return m_errors.isEmpty(); }
    // All problems in one message, naming the class and what to do.
    QString error() const;

private:
    bool present(const char* key) const;
    QJsonObject m_json;
    QString m_class;
    QStringList m_errors;
};

} // namespace tp::sched
