#pragma once

// Reading and writing safetensors files with libtorch. Core only: never include this from ui/.

#include "core/common/Result.h"
#include "core/io/SafeTensorsHeader.h"

#include <ATen/ATen.h>

#include <QMap>
#include <QString>
#include <QStringList>

#include <memory>
#include <utility>
#include <vector>

namespace tp::io {

at::ScalarType toScalarType(DType dtype);
std::optional<DType> fromScalarType(at::ScalarType type);

class FileMapping;

// One safetensors file, memory-mapped and validated before use. Views alias the mapping and
// keep it alive: the mapping lasts as long as this object or any view of it, whichever is longer.
//
// The file is opened read-only; the mapping is private copy-on-write, so an in-place op on a
// view changes only this process's copy of those pages and never the file.
class SafeTensorsFile final {
public:
    static Result<std::shared_ptr<const SafeTensorsFile>> open(const QString& path);

    QString path() const { return m_path; }
    QStringList names() const { return m_header.names(); }
    bool contains(const QString& name) const { return m_header.find(name) != nullptr; }
    // nullptr when there is no such tensor.
    const TensorInfo* info(const QString& name) const { return m_header.find(name); }
    const QMap<QString, QString>& metadata() const { return m_header.metadata; }
    const Header& header() const { return m_header; }
    qint64 fileSize() const;

    // A CPU tensor over the mapped bytes, no copy (a copy only when the bytes are not aligned
    // for the dtype). BOOL tensors are checked to hold only 0 and 1.
    Result<at::Tensor> view(const QString& name) const;
    // A contiguous tensor on `device` with `type`. On the CPU with the file's dtype this is the
    // view; otherwise a fresh tensor that does not alias the mapping.
    Result<at::Tensor> load(const QString& name, at::Device device, at::ScalarType type) const;

    // The mapped bytes (whole file), for tests and diagnostics.
    const char* mappedData() const;
    qint64 mappedSize() const;

    SafeTensorsFile(QString path, std::shared_ptr<const FileMapping> mapping, Header header);

private:
    QString m_path;
    QString m_shortName;
    std::shared_ptr<const FileMapping> m_mapping;
    Header m_header;
};

// A set of weights: one .safetensors file, or the shards named by a *.safetensors.index.json
// (`weight_map`: tensor name → shard file in the same folder). Cheap to copy (shares the files).
class SafeTensorsArchive final {
public:
    // `path`: a .safetensors file or a *.safetensors.index.json (also diffusers' variant
    // spelling *.safetensors.index.fp16.json). Every shard is opened and validated.
    static Result<SafeTensorsArchive> open(const QString& path);

    QString path() const { return m_path; }
    QStringList names() const; // sorted
    bool contains(const QString& name) const { return m_where.contains(name); }
    const TensorInfo* info(const QString& name) const;
    // Metadata of the single file, or of the index (its "metadata" object's string and
    // number values as text) merged over the shards' own metadata.
    QMap<QString, QString> metadata() const { return m_metadata; }
    Result<at::Tensor> view(const QString& name) const;
    Result<at::Tensor> load(const QString& name, at::Device device, at::ScalarType type) const;

    const std::vector<std::shared_ptr<const SafeTensorsFile>>& files() const { return m_files; }
    // The file that holds `name` (nullptr when absent).
    const SafeTensorsFile* fileOf(const QString& name) const;
    // Sum of all tensors' bytes.
    qint64 totalBytes() const;
    QMap<DType, qint64> bytesByDType() const;
    // The floating-point dtype holding the most bytes (the precision to show); when the archive
    // has no float tensors, the dtype holding the most bytes; F32 when it is empty.
    DType dominantDType() const;

private:
    QString m_path;
    std::vector<std::shared_ptr<const SafeTensorsFile>> m_files;
    QHash<QString, int> m_where; // tensor name → index into m_files
    QMap<QString, QString> m_metadata;
};

// Writes `tensors` as a safetensors file the way the Python library does: data ordered by
// dtype (widest first) then name, header JSON padded with spaces to a multiple of 8, so every
// tensor is aligned. Tensors may live on any device and have any strides. Atomic: the file
// appears complete or not at all.
Status writeSafeTensors(const QString& path, const std::vector<std::pair<QString, at::Tensor>>& tensors,
                        const QMap<QString, QString>& metadata = {});

} // namespace tp::io
