#include "core/io/WeightMap.h"

#include "core/io/Fp8.h"

#include <QFileInfo>

namespace tp::io {

WeightMap WeightMap::identity(const SafeTensorsArchive& archive, const QString& prefix) {
    WeightMap map;
    map.m_prefix = prefix;
    map.addArchive(archive);
    for (const QString& name : archive.names())
        if (name.startsWith(prefix))
            map.m_entries.insert(name.mid(prefix.size()), WeightSource{0, name, {}});
    return map;
}

int WeightMap::addArchive(SafeTensorsArchive archive) {
    m_archives.push_back(std::move(archive));
    return int(m_archives.size()) - 1;
}

void WeightMap::set(const QString& name, WeightSource source) {
    Q_ASSERT(source.key.isEmpty() || (source.archive >= 0 && size_t(source.archive) < m_archives.size()));
    m_entries.insert(name, std::move(source));
}

QStringList WeightMap::names() const {
    QStringList out = m_entries.keys();
    out.sort();
    return out;
}

const WeightSource* WeightMap::source(const QString& name) const {
    const auto it = m_entries.constFind(name);
    return it == m_entries.constEnd() ? nullptr : &*it;
}

Result<WeightInfo> WeightMap::info(const QString& name) const {
    using R = Result<WeightInfo>;
    const WeightSource* s = source(name);
    if (!s)
        return R::fail(QStringLiteral("%1 is not mapped").arg(name));
    if (s->key.isEmpty()) {
        Result<std::vector<qint64>> shape = shapeAfter({}, s->ops);
        if (!shape)
            return R::fail(QStringLiteral("%1: %2").arg(name, shape.error()));
        return R::ok({DType::F32, std::move(*shape)});
    }
    const SafeTensorsArchive& archive = m_archives[size_t(s->archive)];
    const TensorInfo* stored = archive.info(s->key);
    if (!stored)
        return R::fail(QStringLiteral("%1 has no tensor %2").arg(shortFileName(archive.path()), s->key));
    Result<std::vector<qint64>> shape = shapeAfter(stored->shape, s->ops);
    if (!shape)
        return R::fail(QStringLiteral("%1: %2").arg(s->key, shape.error()));
    return R::ok({stored->dtype, std::move(*shape)});
}

Result<at::Tensor> WeightMap::load(const QString& name, at::Device device, at::ScalarType type) const {
    using R = Result<at::Tensor>;
    const WeightSource* s = source(name);
    if (!s)
        return R::fail(QStringLiteral("%1 is not mapped").arg(name));
    at::Tensor t;
    if (s->key.isEmpty()) {
        if (Result<std::vector<qint64>> shape = shapeAfter({}, s->ops); !shape)
            return R::fail(QStringLiteral("%1: %2").arg(name, shape.error()));
    } else {
        const SafeTensorsArchive& archive = m_archives[size_t(s->archive)];
        const TensorInfo* stored = archive.info(s->key);
        if (!stored)
            return R::fail(QStringLiteral("%1 has no tensor %2").arg(shortFileName(archive.path()), s->key));
        if (s->ops.empty())
            return archive.load(s->key, device, type);
        if (Result<std::vector<qint64>> shape = shapeAfter(stored->shape, s->ops); !shape)
            return R::fail(QStringLiteral("%1: %2").arg(s->key, shape.error()));
        Result<at::Tensor> view = archive.view(s->key);
        if (!view)
            return view;
        t = std::move(*view);
        // fp8 codes go through the ops as their (exact) float32 values: libtorch 1.13 holds them as
        // raw bytes, and not every op has a float8 kernel. Back to fp8 below is exact again.
        if (stored->dtype == DType::F8_E4M3 || stored->dtype == DType::F8_E5M2)
            t = decodeFp8(t, stored->dtype, at::kCPU, at::kFloat);
    }
    for (const WeightOp& op : s->ops) {
        switch (op.kind) {
        case WeightOp::Kind::Slice:
            t = t.narrow(0, op.start, op.length);
            break;
        case WeightOp::Kind::SwapHalves: {
            const int64_t half = t.size(0) / 2;
            t = at::cat({t.narrow(0, half, half), t.narrow(0, 0, half)});
            break;
        }
        case WeightOp::Kind::Transpose:
            t = t.t();
            break;
        case WeightOp::Kind::Reshape:
            t = t.reshape(std::vector<int64_t>(op.shape.begin(), op.shape.end()));
            break;
        case WeightOp::Kind::Identity:
            t = at::eye(op.length, at::TensorOptions().dtype(at::kFloat));
            break;
        }
    }
    if (device.is_cpu() && t.scalar_type() == type)
        return R::ok(t.contiguous());
    // A dtype change or another device always makes a new tensor, as SafeTensorsFile::load.
    if (isFp8(type)) // rounded on the device, where it is fast
        return R::ok(t.to(device, /*non_blocking=*/false, /*copy=*/true).to(type).contiguous());
    return R::ok(t.to(device, type, /*non_blocking=*/false, /*copy=*/true).contiguous());
}

QString WeightMap::describe(const QString& name) const {
    const WeightSource* s = source(name);
    return s ? s->text() : m_prefix + name;
}

QString WeightMap::fileNames() const {
    QStringList names;
    for (const SafeTensorsArchive& a : m_archives) {
        const QString n = QFileInfo(a.path()).fileName();
        if (!names.contains(n))
            names << n;
    }
    return names.join(QStringLiteral(", "));
}

} // namespace tp::io
