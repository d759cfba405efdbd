#include "core/io/WeightSource.h"

#include <QStringList>

namespace tp::io {

QString shapeString(const std::vector<qint64>& shape) {
    QStringList parts;
    for (qint64 d : shape)
        parts << QString::number(d);
    return QLatin1Char('[') + parts.join(QLatin1Char(',')) + QLatin1Char(']');
}

QString WeightOp::text() const {
    switch (kind) {
    case Kind::Slice:
        return QStringLiteral("[%1:%2]").arg(start).arg(start + length);
    case Kind::SwapHalves:
        return QStringLiteral(" (halves swapped)");
    case Kind::Transpose:
        return QStringLiteral(" (transposed)");
    case Kind::Reshape:
        return QStringLiteral(" (as %1)").arg(shapeString(shape));
    case Kind::Identity:
        return QStringLiteral("identity(%1)").arg(length);
    }
    return {};
}

QString WeightSource::text() const {
    QString out = key;
    for (const WeightOp& op : ops)
        out += op.text();
    return out;
}

Result<std::vector<qint64>> shapeAfter(std::vector<qint64> shape, const std::vector<WeightOp>& ops) {
    using R = Result<std::vector<qint64>>;
    for (const WeightOp& op : ops) {
        switch (op.kind) {
        case WeightOp::Kind::Slice:
            if (shape.empty() || op.start < 0 || op.length <= 0 || op.start + op.length > shape[0])
                return R::fail(QStringLiteral("rows %1..%2 do not fit shape %3")
                                   .arg(op.start)
                                   .arg(op.start + op.length)
                                   .arg(shapeString(shape)));
            shape[0] = op.length;
            break;
        case WeightOp::Kind::SwapHalves:
            if (shape.empty() || shape[0] % 2 != 0)
                return R::fail(
                    QStringLiteral("shape %1 has no two equal halves to swap").arg(shapeString(shape)));
            break;
        case WeightOp::Kind::Transpose:
            if (shape.size() != 2)
                return R::fail(
                    QStringLiteral("shape %1 is not a matrix to transpose").arg(shapeString(shape)));
            std::swap(shape[0], shape[1]);
            break;
        case WeightOp::Kind::Reshape: {
            qint64 from = 1, to = 1;
            for (qint64 d : shape)
                from *= d;
            for (qint64 d : op.shape)
                to *= d;
            if (from != to)
                return R::fail(QStringLiteral("shape %1 cannot be seen as %2")
                                   .arg(shapeString(shape), shapeString(op.shape)));
            shape = op.shape;
            break;
        }
        case WeightOp::Kind::Identity:
            if (op.length <= 0)
                return R::fail(QStringLiteral("an identity matrix needs a positive size"));
            shape = {op.length, op.length};
            break;
        }
    }
    return R::ok(std::move(shape));
}

} // namespace tp::io
