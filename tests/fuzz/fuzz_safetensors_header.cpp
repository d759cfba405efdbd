// libFuzzer target: parseSafeTensorsHeader() on arbitrary bytes. Besides crashes and sanitizer
// reports, it traps when an accepted header breaks a promise the reader relies on.
#include "core/io/SafeTensorsHeader.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

using namespace tp::io;

namespace {

void check(bool ok) {
    if (!ok)
        __builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const auto* bytes = reinterpret_cast<const char*>(data);
    const qint64 n = qint64(size);
    const QString name = QStringLiteral("fuzz.safetensors");
    const tp::Result<Header> whole = parseSafeTensorsHeader(bytes, n, name);

    // Parsing only the header bytes against the true file size must agree.
    qint64 headerOnly = n;
    if (n >= 8) {
        quint64 len = 0;
        for (int i = 7; i >= 0; --i)
            len = (len << 8) | data[i];
        if (len <= quint64(n - 8))
            headerOnly = 8 + qint64(len);
    }
    const tp::Result<Header> prefix = parseSafeTensorsHeader(bytes, headerOnly, n, name);
    check(whole.isOk() == prefix.isOk());

    if (!whole) {
        check(whole.error().startsWith(name + QStringLiteral(": ")));
        check(prefix.error() == whole.error());
        return 0;
    }
    const Header& h = *whole;
    check(h.dataOffset == 8 + h.headerLength);
    check(h.dataOffset + h.dataSize == n);
    check(h.tensors.size() == prefix->tensors.size());
    std::vector<std::pair<qint64, qint64>> ranges;
    for (const TensorInfo& t : h.tensors) {
        check(t.begin >= 0 && t.begin <= t.end && t.end <= h.dataSize);
        check(t.byteSize() == t.numel() * dtypeSize(t.dtype));
        check(h.find(t.name) == &t);
        if (t.byteSize() > 0)
            ranges.emplace_back(t.begin, t.end);
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i)
        check(ranges[i].first >= ranges[i - 1].second);
    check(h.tensorBytes() <= h.dataSize);
    return 0;
}
