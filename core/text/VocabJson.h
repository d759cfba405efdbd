#pragma once

#include "core/common/Result.h"

#include <QByteArrayView>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tp::text {

// The entries of a vocab.json ({"token": id, …}), token texts unescaped to UTF-8 and stored back
// to back in `arena`. A strict scanner for exactly that shape: QJsonDocument takes ~10× longer
// on CLIP's 49,408 entries, which matters because every model load reads the file.
struct VocabJson final {
    struct Entry {
        std::uint32_t offset = 0; // into arena
        std::uint32_t length = 0;
        std::int32_t id = 0;
    };
    std::string arena;
    std::vector<Entry> entries;

    std::string_view text(const Entry& e) const { return std::string_view(arena).substr(e.offset, e.length); }

    // Fails with "<what is wrong> at byte N".
    static Result<VocabJson> parse(QByteArrayView json);
};

} // namespace tp::text
