#include "core/nn/ConfigJson.h"

#include "core/common/Json.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonParseError>
#include <QJsonValue>

#include <cmath>

namespace tp::nn {

namespace {
bool isInteger(const QJsonValue& v) {
    return v.isDouble() && std::floor(v.toDouble()) == v.toDouble();
}
} // namespace

ConfigReader::ConfigReader(QJsonObject object, QString component)
    : m_object(std::move(object))
    , m_component(std::move(component)) {}

Result<QJsonObject> ConfigReader::readFile(const QString& path) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return Result<QJsonObject>::fail(
            QStringLiteral("cannot open %1: %2 (is this a complete model folder?)")
                .arg(path, file.errorString()));
    QJsonParseError error;
    const auto doc = parseJson(file.readAll(), &error);
    if (error.error != QJsonParseError::NoError)
        return Result<QJsonObject>::fail(QStringLiteral("%1 is not valid JSON: %2 at offset %3")
                                             .arg(path, error.errorString())
                                             .arg(error.offset));
    if (!doc.isObject())
        return Result<QJsonObject>::fail(QStringLiteral("%1 does not hold a JSON object").arg(path));
    return Result<QJsonObject>::ok(doc.object());
}

bool ConfigReader::has(const char* key) const {
    const auto v = m_object.value(QLatin1String(key));
    return !v.isUndefined() && !v.isNull();
}

void ConfigReader::fail(const QString& message) {
    if (m_error.isEmpty())
        m_error = QStringLiteral("%1 config: %2").arg(m_component, message);
}

void ConfigReader::keyError(const char* key, const QString& what) {
    fail(QStringLiteral("\"%1\" %2").arg(QLatin1String(key), what));
}

Status ConfigReader::status() const {
    return m_error.isEmpty() ? Status::ok() : Status::fail(m_error);
}

int64_t ConfigReader::integer(const char* key) {
    const auto v = m_object.value(QLatin1String(key));
    if (v.isUndefined() || v.isNull()) {
        keyError(key, QStringLiteral("is missing"));
        return 0;
    }
    if (!isInteger(v)) {
        keyError(key, QStringLiteral("must be an integer"));
        return 0;
    }
    return int64_t(v.toDouble());
}

int64_t ConfigReader::integer(const char* key, int64_t fallback) {
    return has(key) ? integer(key) : fallback;
}

double ConfigReader::number(const char* key, double fallback) {
    if (!has(key))
        return fallback;
    const auto v = m_object.value(QLatin1String(key));
    if (!v.isDouble()) {
        keyError(key, QStringLiteral("must be a number"));
        return fallback;
    }
    return v.toDouble();
}

bool ConfigReader::boolean(const char* key, bool fallback) {
    if (!has(key))
        return fallback;
    const auto v = m_object.value(QLatin1String(key));
    if (!v.isBool()) {
        keyError(key, QStringLiteral("must be true or false"));
        return fallback;
    }
    return v.toBool();
}

QString ConfigReader::string(const char* key, const QString& fallback) {
    if (!has(key))
        return fallback;
    const auto v = m_object.value(QLatin1String(key));
    if (!v.isString()) {
        keyError(key, QStringLiteral("must be a string"));
        return fallback;
    }
    return v.toString();
}

QStringList ConfigReader::stringList(const char* key) {
    QStringList out;
    const auto v = m_object.value(QLatin1String(key));
    if (!v.isArray()) {
        keyError(key, has(key) ? QStringLiteral("must be a list of strings") : QStringLiteral("is missing"));
        return out;
    }
    for (const auto& item : v.toArray()) {
        if (!item.isString()) {
            keyError(key, QStringLiteral("must be a list of strings"));
            return {};
        }
        out << item.toString();
    }
    return out;
}

std::vector<int64_t> ConfigReader::integerList(const char* key, int count) {
    const auto v = m_object.value(QLatin1String(key));
    std::vector<int64_t> out;
    if (isInteger(v)) {
        out.assign(size_t(std::max(count, 1)), int64_t(v.toDouble()));
        return out;
    }
    if (!v.isArray()) {
        keyError(key, has(key) ? QStringLiteral("must be an integer or a list of integers")
                               : QStringLiteral("is missing"));
        return out;
    }
    for (const auto& item : v.toArray()) {
        if (!isInteger(item)) {
            keyError(key, QStringLiteral("must be an integer or a list of integers"));
            return {};
        }
        out.push_back(int64_t(item.toDouble()));
    }
    if (count > 0 && int(out.size()) != count) {
        keyError(key,
                 QStringLiteral("has %1 entries but the model has %2 blocks").arg(out.size()).arg(count));
        return {};
    }
    return out;
}

std::vector<int64_t> ConfigReader::integerList(const char* key, int count, int64_t fallback) {
    if (!has(key))
        return std::vector<int64_t>(size_t(std::max(count, 1)), fallback);
    return integerList(key, count);
}

std::vector<bool> ConfigReader::booleanList(const char* key, int count, bool fallback) {
    std::vector<bool> out(size_t(std::max(count, 1)), fallback);
    if (!has(key))
        return out;
    const auto v = m_object.value(QLatin1String(key));
    if (v.isBool()) {
        out.assign(out.size(), v.toBool());
        return out;
    }
    const auto array = v.toArray();
    if (!v.isArray() || (count > 0 && array.size() != count)) {
        keyError(key, QStringLiteral("must be true/false or a list of %1 of them").arg(count));
        return out;
    }
    out.clear();
    for (const auto& item : array) {
        if (!item.isBool()) {
            keyError(key, QStringLiteral("must be true/false or a list of them"));
            return std::vector<bool>(size_t(std::max(count, 1)), fallback);
        }
        out.push_back(item.toBool());
    }
    return out;
}

} // namespace tp::nn
