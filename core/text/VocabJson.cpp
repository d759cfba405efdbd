#include "core/text/VocabJson.h"

#include "core/text/ClipPreTokenizer.h"

#include <QString>

namespace tp::text {

namespace {

class Scanner final {
public:
    explicit Scanner(QByteArrayView json)
        : m_p(json.data())
        , m_begin(json.data())
        , m_end(json.data() + json.size()) {}

    QString error() const { return m_error; }
    bool failed() const { return !m_error.isEmpty(); }

    bool fail(const char* what) {
        if (m_error.isEmpty())
            m_error = QStringLiteral("%1 at byte %2").arg(QLatin1String(what)).arg(m_p - m_begin);
        return false;
    }
    void skipSpace() {
        while (m_p < m_end && (*m_p == ' ' || *m_p == '\n' || *m_p == '\r' || *m_p == '\t'))
            ++m_p;
    }
    bool atEnd() const { return m_p >= m_end; }
    bool take(char c) {
        if (m_p < m_end && *m_p == c) {
            ++m_p;
            return true;
        }
        return false;
    }

    // A JSON string, unescaped into `out`.
    bool string(std::string& out) {
        if (!take('"'))
            return fail("expected '\"'");
        while (m_p < m_end) {
            const char* run = m_p;
            while (m_p < m_end && *m_p != '"' && *m_p != '\\' && static_cast<unsigned char>(*m_p) >= 0x20)
                ++m_p;
            out.append(run, size_t(m_p - run));
            if (m_p >= m_end)
                break;
            if (*m_p == '"') {
                ++m_p;
                return true;
            }
            if (*m_p != '\\')
                return fail("control character inside a string");
            ++m_p;
            if (m_p >= m_end)
                break;
            const char e = *m_p++;
            switch (e) {
            case '"':
                out.push_back('"');
                break;
            case '\\':
                out.push_back('\\');
                break;
            case '/':
                out.push_back('/');
                break;
            case 'b':
                out.push_back('\b');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'u': {
                char32_t c = 0;
                if (!hex4(c))
                    return false;
                if (c >= 0xD800 && c <= 0xDBFF) { // a UTF-16 pair written as two escapes
                    char32_t low = 0;
                    if (!take('\\') || !take('u') || !hex4(low) || low < 0xDC00 || low > 0xDFFF)
                        return fail("unpaired surrogate escape");
                    c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
                } else if (c >= 0xDC00 && c <= 0xDFFF) {
                    return fail("unpaired surrogate escape");
                }
                appendUtf8(c, out);
                break;
            }
            default:
                --m_p;
                return fail("invalid escape");
            }
        }
        return fail("unterminated string");
    }

    // A whole, non-negative number that fits an int32.
    bool id(std::int32_t& out) {
        const char* start = m_p;
        std::int64_t value = 0;
        while (m_p < m_end && *m_p >= '0' && *m_p <= '9') {
            value = value * 10 + (*m_p - '0');
            if (value > 0x7FFFFFFF)
                return fail("id too large");
            ++m_p;
        }
        if (m_p == start || (m_p - start > 1 && *start == '0'))
            return fail("expected a whole, non-negative id");
        if (m_p < m_end && (*m_p == '.' || *m_p == 'e' || *m_p == 'E'))
            return fail("expected a whole, non-negative id");
        out = std::int32_t(value);
        return true;
    }

private:
    bool hex4(char32_t& out) {
        if (m_end - m_p < 4)
            return fail("short \\u escape");
        out = 0;
        for (int i = 0; i < 4; ++i) {
            const char h = *m_p++;
            out <<= 4;
            if (h >= '0' && h <= '9')
                out |= char32_t(h - '0');
            else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
                out |= char32_t((h | 0x20) - 'a' + 10);
            else
                return fail("bad \\u escape");
        }
        return true;
    }

    const char* m_p;
    const char* m_begin;
    const char* m_end;
    QString m_error;
};

} // namespace

Result<VocabJson> VocabJson::parse(QByteArrayView json) {
    using R = Result<VocabJson>;
    VocabJson vocab;
    Scanner s(json);
    auto bad = [&](const char* what) {
        s.fail(what);
        return R::fail(s.error());
    };
    if (json.size() >= 0xFFFFFFFF)
        return bad("file too large for a vocabulary");
    vocab.arena.reserve(size_t(json.size()));
    s.skipSpace();
    if (!s.take('{'))
        return bad("expected '{'");
    s.skipSpace();
    if (!s.take('}')) {
        for (;;) {
            const size_t offset = vocab.arena.size();
            std::int32_t id = 0;
            if (!s.string(vocab.arena))
                return R::fail(s.error());
            s.skipSpace();
            if (!s.take(':'))
                return bad("expected ':'");
            s.skipSpace();
            if (!s.id(id))
                return R::fail(s.error());
            vocab.entries.push_back({std::uint32_t(offset), std::uint32_t(vocab.arena.size() - offset), id});
            s.skipSpace();
            if (s.take(','))
                s.skipSpace();
            else if (s.take('}'))
                break;
            else
                return bad("expected ',' or '}'");
        }
    }
    s.skipSpace();
    if (!s.atEnd())
        return bad("unexpected text after the object");
    return R::ok(std::move(vocab));
}

} // namespace tp::text
