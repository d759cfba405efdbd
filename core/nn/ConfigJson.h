#pragma once

#include "core/common/Result.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <cstdint>
#include <optional>
#include <vector>

namespace tp::nn {

// Reads a model's config.json (diffusers or transformers) into typed values. The first
// problem is kept and reported by status() with the component's name and the key, so a
// parser reads every field it needs and checks once.
class ConfigReader final {
public:
    ConfigReader(QJsonObject object, QString component);
    static Result<QJsonObject> readFile(const QString& path);

    bool has(const char* key) const; // present and not null
    int64_t integer(const char* key);
    int64_t integer(const char* key, int64_t fallback);
    double number(const char* key, double fallback);
    bool boolean(const char* key, bool fallback);
    QString string(const char* key, const QString& fallback);
    QStringList stringList(const char* key);
    // An integer or a list of integers; a single integer is repeated `count` times; a list
    // must have `count` entries when count > 0.
    std::vector<int64_t> integerList(const char* key, int count = 0);
    std::vector<int64_t> integerList(const char* key, int count, int64_t fallback);
    std::vector<bool> booleanList(const char* key, int count, bool fallback);

    void fail(const QString& message); // records a problem of the caller's own
    Status status() const;
    const QString& component() const { return m_component; }

private:
    void keyError(const char* key, const QString& what);
    QJsonObject m_object;
    QString m_component;
    QString m_error;
};

} // namespace tp::nn
