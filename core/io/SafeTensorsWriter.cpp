// writeSafeTensors(): the byte layout of the Python library's safetensors.torch.save_file.
#include "core/io/SafeTensors.h"

#include <QSaveFile>
#include <QSet>

#include <algorithm>

namespace tp::io {

namespace {

// The Rust crate's Dtype declaration order; data is laid out widest first (descending order).
int layoutRank(DType d) {
    switch (d) {
    case DType::Bool:
        return 0;
    case DType::U8:
        return 1;
    case DType::I8:
        return 2;
    case DType::F8_E5M2:
        return 3;
    case DType::F8_E4M3:
        return 4;
    case DType::I16:
        return 5;
    case DType::F16:
        return 6;
    case DType::BF16:
        return 7;
    case DType::I32:
        return 8;
    case DType::F32:
        return 9;
    case DType::F64:
        return 10;
    case DType::I64:
        return 11;
    }
    return 0;
}

// serde_json's string escaping: quotes, backslash and control characters; the rest as UTF-8.
void appendJsonString(QByteArray& out, const QString& s) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    for (const char c : s.toUtf8()) {
        const auto u = static_cast<unsigned char>(c);
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (u < 0x20) {
                out += "\\u00";
                out += hex[u >> 4];
                out += hex[u & 15];
            } else {
                out += c;
            }
        }
    }
    out += '"';
}

struct Item {
    QString name;
    QByteArray utf8Name;
    DType dtype;
    at::Tensor data; // contiguous, CPU
    qint64 bytes = 0;
};

} // namespace

Status writeSafeTensors(const QString& path, const std::vector<std::pair<QString, at::Tensor>>& tensors,
                        const QMap<QString, QString>& metadata) {
    std::vector<Item> items;
    items.reserve(tensors.size());
    QSet<QString> seen;
    for (const auto& [name, tensor] : tensors) {
        if (name.isEmpty() || name == QLatin1String("__metadata__"))
            return Status::fail(QStringLiteral("%1: cannot write a tensor named '%2'.").arg(path, name));
        if (seen.contains(name))
            return Status::fail(QStringLiteral("%1: tensor '%2' is given twice.").arg(path, name));
        seen.insert(name);
        if (!tensor.defined())
            return Status::fail(QStringLiteral("%1: tensor '%2' is undefined.").arg(path, name));
        const std::optional<DType> dtype = fromScalarType(tensor.scalar_type());
        if (!dtype)
            return Status::fail(
                QStringLiteral("%1: tensor '%2' has type %3, which safetensors cannot hold.")
                    .arg(path, name, QString::fromLatin1(c10::toString(tensor.scalar_type()))));
        Item item;
        item.name = name;
        item.utf8Name = name.toUtf8();
        item.dtype = *dtype;
        try {
            item.data = tensor.detach().to(at::kCPU).contiguous();
        } catch (const std::exception& e) {
            return Status::fail(QStringLiteral("%1: cannot bring tensor '%2' to the CPU: %3")
                                    .arg(path, name, QString::fromLocal8Bit(e.what())));
        }
        item.bytes = qint64(item.data.numel()) * dtypeSize(item.dtype);
        items.push_back(std::move(item));
    }
    std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
        const int ra = layoutRank(a.dtype), rb = layoutRank(b.dtype);
        return ra != rb ? ra > rb : a.utf8Name < b.utf8Name;
    });

    QByteArray header;
    header += '{';
    bool first = true;
    if (!metadata.isEmpty()) {
        header += "\"__metadata__\":{";
        for (auto it = metadata.constBegin(); it != metadata.constEnd(); ++it) {
            if (it != metadata.constBegin())
                header += ',';
            appendJsonString(header, it.key());
            header += ':';
            appendJsonString(header, it.value());
        }
        header += '}';
        first = false;
    }
    qint64 offset = 0;
    for (const Item& item : items) {
        if (!first)
            header += ',';
        first = false;
        appendJsonString(header, item.name);
        header += ":{\"dtype\":\"" + dtypeName(item.dtype).toLatin1() + "\",\"shape\":[";
        for (int64_t d = 0; d < item.data.dim(); ++d) {
            if (d)
                header += ',';
            header += QByteArray::number(qint64(item.data.size(d)));
        }
        header += "],\"data_offsets\":[" + QByteArray::number(offset) + ',' +
                  QByteArray::number(offset + item.bytes) + "]}";
        offset += item.bytes;
    }
    header += '}';
    header += QByteArray((8 - header.size() % 8) % 8, ' ');

    QByteArray length(8, '\0');
    for (int i = 0; i < 8; ++i)
        length[i] = char((quint64(header.size()) >> (8 * i)) & 0xFF);

    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly))
        return Status::fail(QStringLiteral("Cannot write %1: %2.").arg(path, f.errorString()));
    auto failed = [&] {
        const QString why = f.errorString();
        f.cancelWriting();
        return Status::fail(
            QStringLiteral("Cannot write %1: %2. Is the disk full? Nothing was changed.").arg(path, why));
    };
    if (f.write(length) != 8 || f.write(header) != header.size())
        return failed();
    for (const Item& item : items) {
        const char* p = static_cast<const char*>(item.data.data_ptr());
        qint64 left = item.bytes;
        while (left > 0) {
            const qint64 chunk = std::min<qint64>(left, qint64(64) << 20);
            if (f.write(p, chunk) != chunk)
                return failed();
            p += chunk;
            left -= chunk;
        }
    }
    if (!f.commit())
        return Status::fail(QStringLiteral("Cannot write %1: %2. Is the disk full? Nothing was changed.")
                                .arg(path, f.errorString()));
    return Status::ok();
}

} // namespace tp::io
