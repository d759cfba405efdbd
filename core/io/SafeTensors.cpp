#include "core/io/SafeTensors.h"

#include "core/io/Fp8.h"

#include "core/common/Log.h"
#include "core/io/SafeTensorsIndex.h"

#include <QFile>
#include <QFileInfo>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static_assert(Q_BYTE_ORDER == Q_LITTLE_ENDIAN, "safetensors data is little-endian; add byte swapping");

namespace tp::io {

// A private, copy-on-write mapping of a whole file; unmapped when the last owner goes.
class FileMapping final {
public:
    static Result<std::shared_ptr<const FileMapping>> map(const QString& path, const QString& shortName) {
        using R = Result<std::shared_ptr<const FileMapping>>;
        const QByteArray native = QFile::encodeName(path);
        const int fd = ::open(native.constData(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return R::fail(QStringLiteral("%1: cannot open: %2.")
                               .arg(shortName, QString::fromLocal8Bit(strerror(errno))));
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            return R::fail(QStringLiteral("%1: not a regular file.").arg(shortName));
        }
        auto m = std::shared_ptr<FileMapping>(new FileMapping);
        m->m_size = qint64(st.st_size);
        if (m->m_size > 0) {
            void* p = ::mmap(nullptr, size_t(m->m_size), PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED) {
                const QString why = QString::fromLocal8Bit(strerror(errno));
                ::close(fd);
                return R::fail(
                    QStringLiteral("%1: cannot map the file into memory: %2.").arg(shortName, why));
            }
            m->m_data = static_cast<char*>(p);
        }
        ::close(fd); // the mapping keeps the file
        return R::ok(std::move(m));
    }

    ~FileMapping() {
        if (m_data)
            ::munmap(m_data, size_t(m_size));
    }
    FileMapping(const FileMapping&) = delete;
    FileMapping& operator=(const FileMapping&) = delete;

    char* data() const { return m_data; }
    qint64 size() const { return m_size; }

private:
    FileMapping() = default;
    char* m_data = nullptr;
    qint64 m_size = 0;
};

at::ScalarType toScalarType(DType dtype) {
    switch (dtype) {
    case DType::F64:
        return at::kDouble;
    case DType::F32:
        return at::kFloat;
    case DType::F16:
        return at::kHalf;
    case DType::BF16:
        return at::kBFloat16;
    case DType::I64:
        return at::kLong;
    case DType::I32:
        return at::kInt;
    case DType::I16:
        return at::kShort;
    case DType::I8:
        return at::kChar;
    case DType::U8:
        return at::kByte;
    case DType::Bool:
        return at::kBool;
    case DType::F8_E4M3:
    case DType::F8_E5M2:
        // libtorch 1.13 has no float8: the raw codes, which load() decodes (core/io/Fp8.h).
        return fp8ScalarType(dtype).value_or(at::kByte);
    }
    return at::kByte;
}

std::optional<DType> fromScalarType(at::ScalarType type) {
    switch (type) {
    case at::kDouble:
        return DType::F64;
    case at::kFloat:
        return DType::F32;
    case at::kHalf:
        return DType::F16;
    case at::kBFloat16:
        return DType::BF16;
    case at::kLong:
        return DType::I64;
    case at::kInt:
        return DType::I32;
    case at::kShort:
        return DType::I16;
    case at::kChar:
        return DType::I8;
    case at::kByte:
        return DType::U8;
    case at::kBool:
        return DType::Bool;
    default:
        if (type == fp8ScalarType(DType::F8_E4M3))
            return DType::F8_E4M3;
        if (type == fp8ScalarType(DType::F8_E5M2))
            return DType::F8_E5M2;
        return std::nullopt;
    }
}

// ---------------------------------------------------------------------------------------------
// SafeTensorsFile

SafeTensorsFile::SafeTensorsFile(QString path, std::shared_ptr<const FileMapping> mapping, Header header)
    : m_path(std::move(path))
    , m_shortName(shortFileName(m_path))
    , m_mapping(std::move(mapping))
    , m_header(std::move(header)) {}

Result<std::shared_ptr<const SafeTensorsFile>> SafeTensorsFile::open(const QString& path) {
    using R = Result<std::shared_ptr<const SafeTensorsFile>>;
    const QString name = shortFileName(path);
    Result<std::shared_ptr<const FileMapping>> mapping = FileMapping::map(path, name);
    if (!mapping)
        return R::fail(mapping.error());
    const FileMapping& m = **mapping;
    Result<Header> header = parseSafeTensorsHeader(m.data(), m.size(), name);
    if (!header)
        return R::fail(header.error());
    return R::ok(std::make_shared<const SafeTensorsFile>(path, std::move(*mapping), std::move(*header)));
}

qint64 SafeTensorsFile::fileSize() const {
    return m_mapping->size();
}
const char* SafeTensorsFile::mappedData() const {
    return m_mapping->data();
}
qint64 SafeTensorsFile::mappedSize() const {
    return m_mapping->size();
}

Result<at::Tensor> SafeTensorsFile::view(const QString& name) const {
    using R = Result<at::Tensor>;
    const TensorInfo* ti = m_header.find(name);
    if (!ti)
        return R::fail(QStringLiteral("%1: has no tensor '%2'.").arg(m_shortName, name));
    const std::vector<int64_t> sizes(ti->shape.begin(), ti->shape.end());
    const auto options = at::TensorOptions().dtype(toScalarType(ti->dtype)).device(at::kCPU);
    if (ti->byteSize() == 0)
        return R::ok(at::empty(sizes, options));

    char* p = m_mapping->data() + m_header.dataOffset + ti->begin;
    if (ti->dtype == DType::Bool) {
        // Any other byte is not a bool and makes torch's behaviour undefined.
        const auto* b = reinterpret_cast<const unsigned char*>(p);
        for (qint64 i = 0; i < ti->byteSize(); ++i)
            if (b[i] > 1)
                return R::fail(
                    QStringLiteral("%1: BOOL tensor '%2' holds the byte %3 at element %4; only 0 and "
                                   "1 are booleans. The file is damaged.")
                        .arg(m_shortName, name)
                        .arg(int(b[i]))
                        .arg(i));
    }
    if (reinterpret_cast<quintptr>(p) % quintptr(dtypeSize(ti->dtype)) != 0) {
        at::Tensor copy = at::empty(sizes, options);
        std::memcpy(copy.data_ptr(), p, size_t(ti->byteSize()));
        return R::ok(std::move(copy));
    }
    std::shared_ptr<const FileMapping> keep = m_mapping;
    return R::ok(at::from_blob(
        p, sizes, [keep](void*) mutable { keep.reset(); }, options));
}

Result<at::Tensor> SafeTensorsFile::load(const QString& name, at::Device device, at::ScalarType type) const {
    Result<at::Tensor> v = view(name);
    if (!v)
        return v;
    at::Tensor t = std::move(*v);
    const DType stored = m_header.find(name)->dtype;
    if (device.is_cpu() && t.scalar_type() == type)
        return Result<at::Tensor>::ok(std::move(t));
    if (stored == DType::F8_E4M3 || stored == DType::F8_E5M2) {
        if (isFp8(type)) // another fp8 format: through float32, which holds both exactly
            return Result<at::Tensor>::ok(decodeFp8(t, stored, device, at::kFloat).to(type));
        return Result<at::Tensor>::ok(decodeFp8(t, stored, device, type));
    }
    if (isFp8(type)) // fp8 storage of a wider tensor: rounded on the device, where it is fast
        return Result<at::Tensor>::ok(t.to(device, /*non_blocking=*/false, /*copy=*/true).to(type));
    // A dtype change or another device always makes a new tensor; copy=true makes sure of it.
    return Result<at::Tensor>::ok(t.to(device, type, /*non_blocking=*/false, /*copy=*/true));
}

// ---------------------------------------------------------------------------------------------
// SafeTensorsArchive

Result<SafeTensorsArchive> SafeTensorsArchive::open(const QString& path) {
    using R = Result<SafeTensorsArchive>;
    SafeTensorsArchive a;
    a.m_path = path;
    if (!path.endsWith(QLatin1String(".json"))) {
        Result<std::shared_ptr<const SafeTensorsFile>> f = SafeTensorsFile::open(path);
        if (!f)
            return R::fail(f.error());
        a.m_metadata = (*f)->metadata();
        for (const TensorInfo& t : (*f)->header().tensors)
            a.m_where.insert(t.name, 0);
        a.m_files.push_back(std::move(*f));
        return R::ok(std::move(a));
    }

    Result<ShardIndex> index = readShardIndex(path);
    if (!index)
        return R::fail(index.error());
    QHash<QString, int> fileIndex;
    for (const QString& shard : index->shards) {
        Result<std::shared_ptr<const SafeTensorsFile>> f = SafeTensorsFile::open(shard);
        if (!f)
            return R::fail(QStringLiteral("%1 (a shard named by %2)").arg(f.error(), shortFileName(path)));
        for (auto it = (*f)->metadata().constBegin(); it != (*f)->metadata().constEnd(); ++it)
            if (!a.m_metadata.contains(it.key()))
                a.m_metadata.insert(it.key(), it.value());
        fileIndex.insert(shard, int(a.m_files.size()));
        a.m_files.push_back(std::move(*f));
    }
    for (auto it = index->metadata.constBegin(); it != index->metadata.constEnd(); ++it)
        a.m_metadata.insert(it.key(), it.value());
    for (auto it = index->weightMap.constBegin(); it != index->weightMap.constEnd(); ++it) {
        const int fi = fileIndex.value(it.value());
        if (!a.m_files[size_t(fi)]->contains(it.key()))
            return R::fail(QStringLiteral("%1: names tensor '%2' in %3, but that shard does not hold it. "
                                          "The download is incomplete or mixed; download the model again.")
                               .arg(shortFileName(path), it.key(), QFileInfo(it.value()).fileName()));
        a.m_where.insert(it.key(), fi);
    }
    return R::ok(std::move(a));
}

QStringList SafeTensorsArchive::names() const {
    QStringList out = m_where.keys();
    out.sort();
    return out;
}

const SafeTensorsFile* SafeTensorsArchive::fileOf(const QString& name) const {
    const auto it = m_where.constFind(name);
    return it == m_where.constEnd() ? nullptr : m_files[size_t(*it)].get();
}

const TensorInfo* SafeTensorsArchive::info(const QString& name) const {
    const SafeTensorsFile* f = fileOf(name);
    return f ? f->info(name) : nullptr;
}

Result<at::Tensor> SafeTensorsArchive::view(const QString& name) const {
    const SafeTensorsFile* f = fileOf(name);
    if (!f)
        return Result<at::Tensor>::fail(
            QStringLiteral("%1: has no tensor '%2'.").arg(shortFileName(m_path), name));
    return f->view(name);
}

Result<at::Tensor> SafeTensorsArchive::load(const QString& name, at::Device device,
                                            at::ScalarType type) const {
    const SafeTensorsFile* f = fileOf(name);
    if (!f)
        return Result<at::Tensor>::fail(
            QStringLiteral("%1: has no tensor '%2'.").arg(shortFileName(m_path), name));
    return f->load(name, device, type);
}

qint64 SafeTensorsArchive::totalBytes() const {
    qint64 sum = 0;
    for (auto it = m_where.constBegin(); it != m_where.constEnd(); ++it)
        sum += m_files[size_t(*it)]->info(it.key())->byteSize();
    return sum;
}

QMap<DType, qint64> SafeTensorsArchive::bytesByDType() const {
    QMap<DType, qint64> out;
    for (auto it = m_where.constBegin(); it != m_where.constEnd(); ++it) {
        const TensorInfo* t = m_files[size_t(*it)]->info(it.key());
        out[t->dtype] += t->byteSize();
    }
    return out;
}

DType SafeTensorsArchive::dominantDType() const {
    const QMap<DType, qint64> bytes = bytesByDType();
    std::optional<DType> best, bestFloat;
    for (auto it = bytes.constBegin(); it != bytes.constEnd(); ++it) {
        if (!best || it.value() > bytes.value(*best))
            best = it.key();
        if (dtypeIsFloat(it.key()) && (!bestFloat || it.value() > bytes.value(*bestFloat)))
            bestFloat = it.key();
    }
    return bestFloat ? *bestFloat : best.value_or(DType::F32);
}

} // namespace tp::io
