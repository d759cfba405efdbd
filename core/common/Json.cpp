#include "core/common/Json.h"

#include <cstring>

namespace tp {

QJsonDocument parseJson(const QByteArray& bytes, QJsonParseError* error) {
    // Python's bare tokens appear only outside strings; copy the text, replacing them there.
    static const struct {
        const char* token;
        const char* replacement;
    } kTokens[] = {
        {"-Infinity", "-1.7976931348623157e308"}, {"Infinity", "1.7976931348623157e308"}, {"NaN", "null"}};
    if (!bytes.contains("Infinity") && !bytes.contains("NaN"))
        return QJsonDocument::fromJson(bytes, error);
    QByteArray out;
    out.reserve(bytes.size() + 64);
    bool inString = false;
    for (qsizetype i = 0; i < bytes.size(); ++i) {
        const char c = bytes[i];
        if (inString) {
            out += c;
            if (c == '\\' && i + 1 < bytes.size())
                out += bytes[++i];
            else if (c == '"')
                inString = false;
            continue;
        }
        if (c == '"') {
            inString = true;
            out += c;
            continue;
        }
        bool replaced = false;
        for (const auto& t : kTokens) {
            const qsizetype n = qsizetype(std::strlen(t.token));
            if (bytes.mid(i, n) == t.token) {
                out += t.replacement;
                i += n - 1;
                replaced = true;
                break;
            }
        }
        if (!replaced)
            out += c;
    }
    return QJsonDocument::fromJson(out, error);
}

} // namespace tp
