#include "core/nn/KeyAliases.h"

namespace tp::nn {

namespace {
struct Rename {
    const char* current; // a whole dotted segment sequence, with its dots
    const char* legacy;
};

// diffusers' _convert_deprecated_attention_blocks, in reverse.
constexpr Rename kRenames[] = {
    {".to_q.", ".query."},
    {".to_k.", ".key."},
    {".to_v.", ".value."},
    {".to_out.0.", ".proj_attn."},
};
} // namespace

QStringList legacyNames(const QString& name) {
    QStringList out;
    const QString dotted = QLatin1Char('.') + name;
    for (const auto& r : kRenames) {
        const QLatin1String current(r.current);
        const int at = dotted.lastIndexOf(current);
        if (at < 0)
            continue;
        QString legacy = dotted;
        legacy.replace(at, current.size(), QLatin1String(r.legacy));
        out << legacy.mid(1);
    }
    return out;
}

} // namespace tp::nn
