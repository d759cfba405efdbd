#pragma once

// The safetensors header: parsing and validation only. Torch-free and spdlog-free so that
// the fuzzer, the model catalogue and the UI can use it (links Qt Core only).
//
// Layout: 8-byte little-endian header length N, N bytes of UTF-8 JSON
// {"name":{"dtype":"F16","shape":[...],"data_offsets":[begin,end]}, "__metadata__":{...}},
// then the data area; offsets are relative to the start of the data area.

#include "core/common/Result.h"

#include <QHash>
#include <QMap>
#include <QString>
#include <QStringList>

#include <optional>
#include <vector>

namespace tp::io {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool, F8_E4M3, F8_E5M2 };

// "F16", "BOOL", ... as the file spells it.
QString dtypeName(DType dtype);
std::optional<DType> dtypeFromName(const QString& name);
// Bytes per element.
int dtypeSize(DType dtype);
// Whether tensors of this dtype can be loaded (everything but the 8-bit floats).
bool dtypeIsFloat(DType dtype);
// "fp16", "fp32", "bf16", "fp64", "fp8" for float dtypes, else dtypeName() in lower case.
QString precisionName(DType dtype);

struct TensorInfo {
    QString name;
    DType dtype = DType::F32;
    std::vector<qint64> shape;
    qint64 begin = 0; // relative to the data area
    qint64 end = 0;

    qint64 byteSize() const { return end - begin; }
    qint64 numel() const;
    // "[320,4,3,3]"
    QString shapeText() const;
};

struct Header {
    qint64 headerLength = 0;         // N
    qint64 dataOffset = 0;           // 8 + N: where the data area starts in the file
    qint64 dataSize = 0;             // file size - dataOffset
    std::vector<TensorInfo> tensors; // sorted by name
    QMap<QString, QString> metadata;

    const TensorInfo* find(const QString& name) const;
    QStringList names() const;
    // Sum of the tensors' byte sizes.
    qint64 tensorBytes() const;
    QMap<DType, qint64> bytesByDType() const;

private:
    friend Result<Header> parseSafeTensorsHeader(const char*, qint64, qint64, const QString&);
    QHash<QString, int> m_index;
};

// Largest header accepted (the Python library's limit).
inline constexpr qint64 MaxSafeTensorsHeaderLength = 100'000'000;

// Parses and validates the header of a safetensors file whose first `available` bytes are at
// `data` and whose total size is `fileSize` (the data area is checked against fileSize, so the
// caller may pass only the header bytes). Every message starts with fileNameForMessages.
Result<Header> parseSafeTensorsHeader(const char* data, qint64 available, qint64 fileSize,
                                      const QString& fileNameForMessages);
// The whole file (or at least its header) is in memory: available == fileSize.
Result<Header> parseSafeTensorsHeader(const char* data, qint64 size, const QString& fileNameForMessages);

// Reads only the header of the file at `path` (8 + N bytes) and validates it against the
// file's size. Fast: the weights are not read. Follows symbolic links.
Result<Header> readSafeTensorsHeader(const QString& path);

// "unet/diffusion_pytorch_model.safetensors": the file name with its parent folder, for messages.
QString shortFileName(const QString& path);

} // namespace tp::io
