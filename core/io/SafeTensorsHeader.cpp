#include "core/io/SafeTensorsHeader.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>
#include <cstring>

namespace tp::io {

namespace {

struct DTypeRow {
    DType dtype;
    const char* name;
    int size;
};

constexpr DTypeRow kDTypes[] = {
    {DType::F64, "F64", 8},   {DType::F32, "F32", 4},         {DType::F16, "F16", 2},
    {DType::BF16, "BF16", 2}, {DType::I64, "I64", 8},         {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},   {DType::I8, "I8", 1},           {DType::U8, "U8", 1},
    {DType::Bool, "BOOL", 1}, {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
};

const DTypeRow& row(DType d) {
    for (const DTypeRow& r : kDTypes)
        if (r.dtype == d)
            return r;
    return kDTypes[1];
}

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
// Returns the offset of the first bad byte, or -1.
qint64 firstInvalidUtf8(const unsigned char* s, qint64 n) {
    qint64 i = 0;
    while (i < n) {
        const unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        int len = 0;
        unsigned lo = 0x80, hi = 0xBF; // allowed range of the second byte
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            return i;
        }
        if (n - i < len)
            return i;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (int k = 2; k < len; ++k)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return i;
        i += len;
    }
    return -1;
}

// A JSON number that is a whole, non-negative qint64.
std::optional<qint64> nonNegativeInteger(const QJsonValue& v) {
    if (!v.isDouble())
        return std::nullopt;
    const qint64 a = v.toInteger(-1);
    const qint64 b = v.toInteger(-2);
    if (a != b || a < 0)
        return std::nullopt;
    return a;
}

QString jsonText(const QJsonValue& v) {
    switch (v.type()) {
    case QJsonValue::Null:
        return QStringLiteral("null");
    case QJsonValue::Bool:
        return v.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    case QJsonValue::Double:
        return QString::number(v.toDouble(), 'g', 17);
    case QJsonValue::String:
        return QLatin1Char('"') + v.toString().left(40) + QLatin1Char('"');
    case QJsonValue::Array:
        return QStringLiteral("an array");
    case QJsonValue::Object:
        return QStringLiteral("an object");
    case QJsonValue::Undefined:
        break;
    }
    return QStringLiteral("nothing");
}

// Tensor names in messages: quoted, shortened, control characters made visible.
QString quoted(const QString& name) {
    QString s = name.left(120);
    for (QChar& c : s)
        if (c.unicode() < 0x20)
            c = QChar(0xFFFD);
    return QLatin1Char('\'') + s + (name.size() > 120 ? QStringLiteral("...'") : QStringLiteral("'"));
}

} // namespace

QString dtypeName(DType dtype) {
    return QString::fromLatin1(row(dtype).name);
}

std::optional<DType> dtypeFromName(const QString& name) {
    for (const DTypeRow& r : kDTypes)
        if (name == QLatin1String(r.name))
            return r.dtype;
    return std::nullopt;
}

int dtypeSize(DType dtype) {
    return row(dtype).size;
}

bool dtypeIsFloat(DType dtype) {
    switch (dtype) {
    case DType::F64:
    case DType::F32:
    case DType::F16:
    case DType::BF16:
    case DType::F8_E4M3:
    case DType::F8_E5M2:
        return true;
    default:
        return false;
    }
}

QString precisionName(DType dtype) {
    switch (dtype) {
    case DType::F64:
        return QStringLiteral("fp64");
    case DType::F32:
        return QStringLiteral("fp32");
    case DType::F16:
        return QStringLiteral("fp16");
    case DType::BF16:
        return QStringLiteral("bf16");
    case DType::F8_E4M3:
    case DType::F8_E5M2:
        return QStringLiteral("fp8");
    default:
        return dtypeName(dtype).toLower();
    }
}

qint64 TensorInfo::numel() const {
    qint64 n = 1;
    for (qint64 d : shape)
        n *= d; // validated not to overflow by the parser
    return n;
}

QString TensorInfo::shapeText() const {
    QStringList dims;
    for (qint64 d : shape)
        dims << QString::number(d);
    return QLatin1Char('[') + dims.join(QLatin1Char(',')) + QLatin1Char(']');
}

const TensorInfo* Header::find(const QString& name) const {
    const auto it = m_index.constFind(name);
    return it == m_index.constEnd() ? nullptr : &tensors[size_t(*it)];
}

QStringList Header::names() const {
    QStringList out;
    out.reserve(int(tensors.size()));
    for (const TensorInfo& t : tensors)
        out << t.name;
    return out;
}

qint64 Header::tensorBytes() const {
    qint64 sum = 0;
    for (const TensorInfo& t : tensors)
        sum += t.byteSize();
    return sum;
}

QMap<DType, qint64> Header::bytesByDType() const {
    QMap<DType, qint64> out;
    for (const TensorInfo& t : tensors)
        out[t.dtype] += t.byteSize();
    return out;
}

Result<Header> parseSafeTensorsHeader(const char* data, qint64 available, qint64 fileSize,
                                      const QString& file) {
    using R = Result<Header>;
    const QString damaged =
        QStringLiteral(" The file is damaged or not a safetensors file; download it again.");
    if (!data || available < 8 || fileSize < 8)
        return R::fail(QStringLiteral("%1: file is %2 bytes long, too short for a safetensors header.")
                           .arg(file)
                           .arg(std::max<qint64>(0, fileSize)) +
                       damaged);
    quint64 n = 0;
    for (int i = 7; i >= 0; --i)
        n = (n << 8) | quint64(static_cast<unsigned char>(data[i]));
    if (n > quint64(MaxSafeTensorsHeaderLength))
        return R::fail(QStringLiteral("%1: header length %2 is larger than the %3-byte limit.")
                           .arg(file)
                           .arg(n)
                           .arg(MaxSafeTensorsHeaderLength) +
                       damaged);
    const qint64 headerLength = qint64(n);
    if (headerLength > fileSize - 8)
        return R::fail(QStringLiteral("%1: header length %2 runs past the end of the file (%3 bytes); "
                                      "the file is truncated or damaged.")
                           .arg(file)
                           .arg(headerLength)
                           .arg(fileSize) +
                       damaged);
    if (headerLength > available - 8)
        return R::fail(QStringLiteral("%1: only %2 of the %3 header bytes were read.")
                           .arg(file)
                           .arg(available - 8)
                           .arg(headerLength));
    if (headerLength < 2)
        return R::fail(QStringLiteral("%1: header length %2 is too small for a JSON object.")
                           .arg(file)
                           .arg(headerLength) +
                       damaged);

    const char* json = data + 8;
    if (const qint64 bad = firstInvalidUtf8(reinterpret_cast<const unsigned char*>(json), headerLength);
        bad >= 0)
        return R::fail(
            QStringLiteral("%1: header is not valid UTF-8 (byte %2 of the header).").arg(file).arg(bad) +
            damaged);
    if (json[0] != '{')
        return R::fail(QStringLiteral("%1: header does not start with a JSON object.").arg(file) + damaged);

    QJsonParseError perr{};
    const QJsonDocument doc =
        QJsonDocument::fromJson(QByteArray::fromRawData(json, int(headerLength)), &perr);
    if (perr.error != QJsonParseError::NoError)
        return R::fail(QStringLiteral("%1: header JSON is invalid: %2 at byte %3.")
                           .arg(file, perr.errorString())
                           .arg(perr.offset) +
                       damaged);
    if (!doc.isObject())
        return R::fail(QStringLiteral("%1: header is not a JSON object.").arg(file) + damaged);

    Header h;
    h.headerLength = headerLength;
    h.dataOffset = 8 + headerLength;
    h.dataSize = fileSize - h.dataOffset;

    const QJsonObject root = doc.object();
    h.tensors.reserve(size_t(root.size()));
    for (auto it = root.constBegin(); it != root.constEnd(); ++it) {
        const QString name = it.key();
        const QJsonValue value = it.value();
        if (name == QLatin1String("__metadata__")) {
            if (!value.isObject())
                return R::fail(QStringLiteral("%1: \"__metadata__\" is %2, not an object of strings.")
                                   .arg(file, jsonText(value)));
            const QJsonObject meta = value.toObject();
            for (auto m = meta.constBegin(); m != meta.constEnd(); ++m) {
                if (!m.value().isString())
                    return R::fail(QStringLiteral("%1: metadata entry %2 is %3, not a string.")
                                       .arg(file, quoted(m.key()), jsonText(m.value())));
                h.metadata.insert(m.key(), m.value().toString());
            }
            continue;
        }
        const QString t = QStringLiteral("%1: tensor %2").arg(file, quoted(name));
        if (name.isEmpty())
            return R::fail(QStringLiteral("%1: a tensor has an empty name.").arg(file) + damaged);
        if (!value.isObject())
            return R::fail(QStringLiteral("%1 is %2, not an object with dtype, shape and data_offsets.")
                               .arg(t, jsonText(value)));
        const QJsonObject entry = value.toObject();

        TensorInfo info;
        info.name = name;
        const QJsonValue dt = entry.value(QLatin1String("dtype"));
        if (!dt.isString())
            return R::fail(QStringLiteral("%1 has no dtype string (found %2).").arg(t, jsonText(dt)));
        const std::optional<DType> dtype = dtypeFromName(dt.toString());
        if (!dtype)
            return R::fail(QStringLiteral("%1 has dtype %2, which TwistedPic does not know "
                                          "(known: F64 F32 F16 BF16 F8_E4M3 F8_E5M2 I64 I32 I16 I8 U8 BOOL).")
                               .arg(t, jsonText(dt)));
        info.dtype = *dtype;

        const QJsonValue shapeValue = entry.value(QLatin1String("shape"));
        if (!shapeValue.isArray())
            return R::fail(QStringLiteral("%1 has no shape array (found %2).").arg(t, jsonText(shapeValue)));
        qint64 numel = 1;
        bool overflow = false;
        for (const QJsonValue d : shapeValue.toArray()) {
            const std::optional<qint64> dim = nonNegativeInteger(d);
            if (!dim)
                return R::fail(QStringLiteral("%1 has a shape entry %2 that is not a non-negative integer.")
                                   .arg(t, jsonText(d)));
            info.shape.push_back(*dim);
            if (!overflow && __builtin_mul_overflow(numel, *dim, &numel))
                overflow = true;
        }
        qint64 needed = 0;
        // A zero dimension makes the product 0 whatever came before it.
        if (std::find(info.shape.begin(), info.shape.end(), 0) != info.shape.end()) {
            numel = 0;
            overflow = false;
        }
        if (overflow || __builtin_mul_overflow(numel, qint64(dtypeSize(info.dtype)), &needed))
            return R::fail(
                QStringLiteral("%1 has shape %2 whose size overflows 64 bits.").arg(t, info.shapeText()) +
                damaged);

        const QJsonValue offsetsValue = entry.value(QLatin1String("data_offsets"));
        const QJsonArray offsets = offsetsValue.toArray();
        if (!offsetsValue.isArray() || offsets.size() != 2)
            return R::fail(QStringLiteral("%1 has no data_offsets pair [begin, end] (found %2).")
                               .arg(t, jsonText(offsetsValue)));
        const std::optional<qint64> begin = nonNegativeInteger(offsets.at(0));
        const std::optional<qint64> end = nonNegativeInteger(offsets.at(1));
        if (!begin || !end)
            return R::fail(QStringLiteral("%1 has data_offsets that are not non-negative integers.").arg(t) +
                           damaged);
        if (*begin > *end)
            return R::fail(QStringLiteral("%1 has data_offsets [%2,%3] whose begin is after its end.")
                               .arg(t)
                               .arg(*begin)
                               .arg(*end) +
                           damaged);
        if (*end > h.dataSize)
            return R::fail(QStringLiteral("%1 has data_offsets [%2,%3] past the end of the data "
                                          "(%4 bytes); the file is truncated or damaged.")
                               .arg(t)
                               .arg(*begin)
                               .arg(*end)
                               .arg(h.dataSize) +
                           damaged);
        info.begin = *begin;
        info.end = *end;
        if (info.byteSize() != needed)
            return R::fail(QStringLiteral("%1 has %2 bytes but its shape %3 of %4 needs %5.")
                               .arg(t)
                               .arg(info.byteSize())
                               .arg(info.shapeText(), dtypeName(info.dtype))
                               .arg(needed) +
                           damaged);
        h.tensors.push_back(std::move(info));
    }

    // No two tensors may share bytes (empty tensors occupy none).
    std::vector<const TensorInfo*> byOffset;
    byOffset.reserve(h.tensors.size());
    for (const TensorInfo& t : h.tensors)
        if (t.byteSize() > 0)
            byOffset.push_back(&t);
    std::sort(byOffset.begin(), byOffset.end(), [](const TensorInfo* a, const TensorInfo* b) {
        return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
    });
    for (size_t i = 1; i < byOffset.size(); ++i)
        if (byOffset[i]->begin < byOffset[i - 1]->end)
            return R::fail(QStringLiteral("%1: tensors %2 [%3,%4] and %5 [%6,%7] overlap.")
                               .arg(file, quoted(byOffset[i - 1]->name))
                               .arg(byOffset[i - 1]->begin)
                               .arg(byOffset[i - 1]->end)
                               .arg(quoted(byOffset[i]->name))
                               .arg(byOffset[i]->begin)
                               .arg(byOffset[i]->end) +
                           damaged);

    std::sort(h.tensors.begin(), h.tensors.end(),
              [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
    h.m_index.reserve(int(h.tensors.size()));
    for (size_t i = 0; i < h.tensors.size(); ++i)
        h.m_index.insert(h.tensors[i].name, int(i));
    return R::ok(std::move(h));
}

Result<Header> parseSafeTensorsHeader(const char* data, qint64 size, const QString& fileNameForMessages) {
    return parseSafeTensorsHeader(data, size, size, fileNameForMessages);
}

Result<Header> readSafeTensorsHeader(const QString& path) {
    const QString name = shortFileName(path);
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return Result<Header>::fail(QStringLiteral("%1: cannot open: %2.").arg(name, f.errorString()));
    const qint64 fileSize = f.size();
    QByteArray bytes = f.read(8);
    if (bytes.size() == 8) {
        quint64 n = 0;
        for (int i = 7; i >= 0; --i)
            n = (n << 8) | quint64(static_cast<unsigned char>(bytes[i]));
        if (n <= quint64(MaxSafeTensorsHeaderLength) && qint64(n) <= fileSize - 8) {
            bytes += f.read(qint64(n));
            if (bytes.size() != 8 + qint64(n))
                return Result<Header>::fail(
                    QStringLiteral("%1: cannot read the header: %2.").arg(name, f.errorString()));
        }
    }
    return parseSafeTensorsHeader(bytes.constData(), bytes.size(), fileSize, name);
}

QString shortFileName(const QString& path) {
    const QFileInfo fi(path);
    const QString parent = fi.dir().dirName();
    if (parent.isEmpty() || parent == QLatin1String("."))
        return fi.fileName();
    return parent + QLatin1Char('/') + fi.fileName();
}

} // namespace tp::io
