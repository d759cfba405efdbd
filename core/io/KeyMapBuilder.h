#pragma once

// The pieces every key mapper of core/io/CheckpointKeyMap.h is made of: the tensors of a header
// under a prefix, table-driven renames of leading name parts, and a builder that collects a
// component's mapping and its first problem. Internal to the mappers; torch-free.

#include "core/common/Result.h"
#include "core/io/CheckpointKeyMap.h"

#include <QJsonArray>
#include <QJsonObject>

#include <algorithm>
#include <optional>
#include <set>
#include <vector>

namespace tp::io::keymap::detail {

using Shape = std::vector<qint64>;

struct Rename {
    const char* from; // a leading part of a name, with its trailing dot
    const char* to;
};

// `name` with the first matching leading part replaced; nullopt when none matches.
inline std::optional<QString> renamed(const QString& name, const Rename* begin, const Rename* end) {
    for (const Rename* r = begin; r != end; ++r) {
        const QLatin1String from(r->from);
        if (name.startsWith(from))
            return QLatin1String(r->to) + name.mid(from.size());
    }
    return std::nullopt;
}
template <size_t N> std::optional<QString> renamed(const QString& name, const Rename (&table)[N]) {
    return renamed(name, table, table + N);
}

// The tensors under one prefix of a header, by their names without it.
class Tensors {
public:
    Tensors(const Header& header, QString prefix)
        : m_header(header)
        , m_prefix(std::move(prefix)) {
        for (const TensorInfo& t : header.tensors)
            if (t.name.startsWith(m_prefix))
                m_names << t.name.mid(m_prefix.size());
    }
    const QStringList& names() const { return m_names; }
    const TensorInfo* find(const QString& rel) const { return m_header.find(m_prefix + rel); }
    bool has(const QString& rel) const { return find(rel) != nullptr; }
    Shape shape(const QString& rel) const {
        const TensorInfo* t = find(rel);
        return t ? t->shape : Shape{};
    }
    qint64 dim(const QString& rel, size_t i) const {
        const Shape s = shape(rel);
        return i < s.size() ? s[i] : 0;
    }
    QString key(const QString& rel) const { return m_prefix + rel; }
    const QString& prefix() const { return m_prefix; }

    // Numbers N of "head.N." names, sorted.
    std::vector<int> indices(const QString& head) const {
        std::set<int> out;
        for (const QString& n : m_names)
            if (n.startsWith(head)) {
                bool ok = false;
                const int i = n.mid(head.size()).section(QLatin1Char('.'), 0, 0).toInt(&ok);
                if (ok && i >= 0)
                    out.insert(i);
            }
        return {out.begin(), out.end()};
    }
    bool anyStartsWith(const QString& head) const {
        return std::any_of(m_names.begin(), m_names.end(),
                           [&](const QString& n) { return n.startsWith(head); });
    }

private:
    const Header& m_header;
    QString m_prefix;
    QStringList m_names;
};

// Collects a component's mapping; the first structural problem is kept for the result.
class Builder {
public:
    Builder(const Tensors& t, QString component)
        : m_t(t) {
        m_m.component = std::move(component);
        m_m.prefix = t.prefix();
    }
    void map(const QString& target, const QString& rel, std::vector<WeightOp> ops = {}) {
        m_m.tensors.insert(target, WeightSource{0, m_t.key(rel), std::move(ops)});
    }
    // A 1x1 convolution or a 3-D conv1d weight seen as a linear weight.
    void mapAsLinear(const QString& target, const QString& rel) {
        const Shape s = m_t.shape(rel);
        if (s.size() > 2)
            map(target, rel, {WeightOp::reshape({s[0], s[1]})});
        else
            map(target, rel);
    }
    // An n×n identity made by the loader, for a tensor the file lacks.
    void mapIdentity(const QString& target, qint64 n) {
        m_m.tensors.insert(target, WeightSource{0, QString(), {WeightOp::identity(n)}});
    }
    void ignore(const QString& rel) { m_m.ignored << m_t.key(rel); }
    void configProblem(const QString& why) {
        if (m_m.configProblem.isEmpty())
            m_m.configProblem = why;
    }
    void fail(const QString& message) {
        if (m_error.isEmpty())
            m_error = message;
    }
    bool failed() const { return !m_error.isEmpty(); }
    Result<ComponentMapping> finish(QJsonObject config) {
        if (failed())
            return Result<ComponentMapping>::fail(m_error);
        m_m.config = std::move(config);
        return Result<ComponentMapping>::ok(std::move(m_m));
    }

private:
    const Tensors& m_t;
    ComponentMapping m_m;
    QString m_error;
};

inline QJsonArray jsonInts(const std::vector<qint64>& v) {
    QJsonArray a;
    for (qint64 x : v)
        a.append(x);
    return a;
}
inline QJsonArray jsonStrings(const QStringList& v) {
    QJsonArray a;
    for (const QString& s : v)
        a.append(s);
    return a;
}
// An int when all entries are equal (how diffusers writes uniform values), else the list.
inline QJsonValue intOrList(const std::vector<qint64>& v) {
    if (!v.empty() && std::all_of(v.begin(), v.end(), [&](qint64 x) { return x == v.front(); }))
        return v.front();
    return jsonInts(v);
}

inline QString missingMessage(const Tensors& t, const QString& rel, const QString& what) {
    return QStringLiteral("%1%2 is missing, so the %3 is incomplete (a damaged or partial file?)")
        .arg(t.prefix(), rel, what);
}

} // namespace tp::io::keymap::detail
