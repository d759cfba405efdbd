#pragma once

#include <QString>
#include <QtGlobal>

#include <optional>
#include <utility>

namespace tp {

// The outcome of something that can fail on user input (files, JSON, HTTP): a value,
// or a message a person can act on. Exceptions never cross a signal; this does.
template <typename T> class [[nodiscard]] Result final {
public:
    static Result ok(T value) { return Result(std::move(value), {}); }
    static Result fail(QString message) { return Result(std::nullopt, std::move(message)); }

    bool isOk() const { return m_value.has_value(); }
    explicit operator bool() const { return isOk(); }

    // Reading the value of a failed result is a bug: it stops the program with the error (in
    // release builds too), instead of reading an empty optional.
    const T& value() const& { return checked(), *m_value; }
    T& value() & { return checked(), *m_value; }
    T&& value() && { return checked(), std::move(*m_value); }
    const T* operator->() const { return checked(), &*m_value; }
    T* operator->() { return checked(), &*m_value; }
    const T& operator*() const& { return checked(), *m_value; }
    T& operator*() & { return checked(), *m_value; }

    T valueOr(T fallback) const { return m_value ? *m_value : std::move(fallback); }
    const QString& error() const { return m_error; }

private:
    void checked() const {
        if (!m_value.has_value())
            qFatal("tp::Result: the value of a failed result was read (error: %s)", qPrintable(m_error));
    }
    Result(std::optional<T> value, QString error)
        : m_value(std::move(value))
        , m_error(std::move(error)) {}
    std::optional<T> m_value;
    QString m_error;
};

// Result without a value.
class [[nodiscard]] Status final {
public:
    static Status ok() { return Status({}); }
    static Status fail(QString message) { return Status(std::move(message), true); }
    template <typename T> static Status from(const Result<T>& r) { return r ? ok() : fail(r.error()); }

    bool isOk() const { return !m_failed; }
    explicit operator bool() const { return isOk(); }
    const QString& error() const { return m_error; }

private:
    explicit Status(QString error, bool failed = false)
        : m_error(std::move(error))
        , m_failed(failed) {}
    QString m_error;
    bool m_failed = false;
};

} // namespace tp
