#include "core/settings/PythonLiterals.h"

#include <QStringList>

namespace tp {
namespace {

class Parser {
public:
    explicit Parser(const QString& s)
        : m_s(s) {}

    PythonLiterals run() {
        PythonLiterals out;
        while (true) {
            skipBlank();
            if (atEnd() || !m_error.isEmpty())
                break;
            const int start = m_pos;
            const int line = lineAt(start);
            const QString name = identifier();
            bool assigned = false;
            if (!name.isEmpty()) {
                skipSpaces();
                if (peek() == QLatin1Char('=') && peek(1) != QLatin1Char('=')) {
                    ++m_pos;
                    skipSpaces();
                    const int valueStart = m_pos;
                    QVariant value;
                    QString why;
                    if (literal(&value, &why) && endOfStatement()) {
                        out.assignments.push_back(
                            {name, value, line,
                             value.typeId() == QMetaType::QVariantMap ? m_lastDictOrder : QStringList()});
                        assigned = true;
                    } else if (!m_error.isEmpty()) {
                        break;
                    } else {
                        m_pos = valueStart;
                        skipStatement();
                        out.skipped.push_back({line, firstLine(start),
                                               why.isEmpty() ? QStringLiteral("not a literal value") : why});
                        assigned = true;
                    }
                }
            }
            if (!assigned) {
                m_pos = start;
                const QString text = firstLine(start);
                skipStatement();
                out.skipped.push_back({line, text, QStringLiteral("not a literal assignment")});
            }
        }
        out.error = m_error;
        out.errorLine = m_errorLine;
        return out;
    }

private:
    const QString& m_s;
    int m_pos = 0;
    QString m_error;
    int m_errorLine = 0;

    bool atEnd() const { return m_pos >= m_s.size(); }
    QChar peek(int ahead = 0) const { return m_pos + ahead < m_s.size() ? m_s.at(m_pos + ahead) : QChar(); }
    int lineAt(int pos) const { return int(m_s.left(pos).count(QLatin1Char('\n'))) + 1; }
    QString firstLine(int pos) const {
        return m_s.mid(pos, m_s.indexOf(QLatin1Char('\n'), pos) - pos).trimmed();
    }
    void fail(const QString& why, int pos) {
        if (m_error.isEmpty()) {
            m_error = why;
            m_errorLine = lineAt(pos);
        }
    }

    void skipSpaces() { // within a statement: spaces, tabs, line continuations
        while (!atEnd()) {
            if (peek() == QLatin1Char(' ') || peek() == QLatin1Char('\t'))
                ++m_pos;
            else if (peek() == QLatin1Char('\\') && peek(1) == QLatin1Char('\n'))
                m_pos += 2;
            else
                break;
        }
    }
    void skipComment() {
        if (peek() == QLatin1Char('#'))
            while (!atEnd() && peek() != QLatin1Char('\n'))
                ++m_pos;
    }
    // Inside brackets: whitespace, newlines and comments.
    void skipInner() {
        while (!atEnd()) {
            if (peek().isSpace())
                ++m_pos;
            else if (peek() == QLatin1Char('#'))
                skipComment();
            else
                break;
        }
    }
    void skipBlank() { skipInner(); }

    QString identifier() {
        const int start = m_pos;
        if (!atEnd() && (peek().isLetter() || peek() == QLatin1Char('_')))
            while (!atEnd() && (peek().isLetterOrNumber() || peek() == QLatin1Char('_')))
                ++m_pos;
        return m_s.mid(start, m_pos - start);
    }

    bool endOfStatement() {
        skipSpaces();
        skipComment();
        return atEnd() || peek() == QLatin1Char('\n') || peek() == QLatin1Char(';');
    }

    // To the end of the logical line: brackets and strings may span lines; a line ending in ':'
    // takes its indented block along.
    void skipStatement() {
        int depth = 0;
        bool block = false;
        while (!atEnd()) {
            const QChar c = peek();
            if (c == QLatin1Char('"') || c == QLatin1Char('\'')) {
                QString ignored;
                if (!string(&ignored))
                    return;
                continue;
            }
            if (c == QLatin1Char('#')) {
                skipComment();
                continue;
            }
            if (c == QLatin1Char('(') || c == QLatin1Char('[') || c == QLatin1Char('{'))
                ++depth;
            else if (c == QLatin1Char(')') || c == QLatin1Char(']') || c == QLatin1Char('}'))
                depth = std::max(0, depth - 1);
            else if (c == QLatin1Char('\\') && peek(1) == QLatin1Char('\n')) {
                m_pos += 2;
                continue;
            } else if (c == QLatin1Char('\n') && depth == 0) {
                // the statement's last non-blank character before this newline
                int k = m_pos - 1;
                while (k >= 0 && (m_s.at(k) == QLatin1Char(' ') || m_s.at(k) == QLatin1Char('\t')))
                    --k;
                block = block || (k >= 0 && m_s.at(k) == QLatin1Char(':'));
                ++m_pos;
                if (!block)
                    return;
                // inside a block: go on while the next non-empty line is indented
                int q = m_pos;
                while (q < m_s.size() && m_s.at(q) == QLatin1Char('\n'))
                    ++q;
                if (q >= m_s.size() || !(m_s.at(q) == QLatin1Char(' ') || m_s.at(q) == QLatin1Char('\t')))
                    return;
                continue;
            }
            ++m_pos;
        }
    }

    bool string(QString* out) {
        // optional r/b/u/f prefixes were consumed by the caller as an identifier; here the quote
        const QChar q = peek();
        const bool triple = peek(1) == q && peek(2) == q;
        const int start = m_pos;
        m_pos += triple ? 3 : 1;
        QString text;
        while (true) {
            if (atEnd()) {
                fail(QStringLiteral("a string is not closed"), start);
                return false;
            }
            const QChar c = peek();
            if (c == QLatin1Char('\\')) {
                const QChar n = peek(1);
                m_pos += 2;
                switch (n.unicode()) {
                case 'n':
                    text += QLatin1Char('\n');
                    break;
                case 't':
                    text += QLatin1Char('\t');
                    break;
                case '\\':
                    text += QLatin1Char('\\');
                    break;
                case '\'':
                    text += QLatin1Char('\'');
                    break;
                case '"':
                    text += QLatin1Char('"');
                    break;
                case '\n':
                    break; // line continuation inside a string
                default:
                    text += QLatin1Char('\\');
                    text += n;
                    break;
                }
                continue;
            }
            if (triple ? (c == q && peek(1) == q && peek(2) == q) : c == q) {
                m_pos += triple ? 3 : 1;
                break;
            }
            if (!triple && c == QLatin1Char('\n')) {
                fail(QStringLiteral("a string is not closed"), start);
                return false;
            }
            text += c;
            ++m_pos;
        }
        *out = text;
        return true;
    }

    bool literal(QVariant* out, QString* why) {
        skipSpaces();
        const QChar c = peek();
        if (c == QLatin1Char('"') || c == QLatin1Char('\'')) {
            QString text;
            while (peek() == QLatin1Char('"') || peek() == QLatin1Char('\'')) { // "a" "b" -> "ab"
                QString part;
                if (!string(&part))
                    return false;
                text += part;
                const int save = m_pos;
                skipInner();
                if (!(peek() == QLatin1Char('"') || peek() == QLatin1Char('\'')))
                    m_pos = save;
            }
            *out = text;
            return true;
        }
        if (c.isDigit() || c == QLatin1Char('-') || c == QLatin1Char('+') || c == QLatin1Char('.'))
            return number(out, why);
        if (c == QLatin1Char('(') || c == QLatin1Char('['))
            return sequence(out, why);
        if (c == QLatin1Char('{'))
            return dict(out, why);
        const int start = m_pos;
        const QString word = identifier();
        if (word == QLatin1String("True") || word == QLatin1String("False")) {
            *out = word == QLatin1String("True");
            return true;
        }
        if (word == QLatin1String("None")) {
            *out = QVariant();
            return true;
        }
        if ((word == QLatin1String("r") || word == QLatin1String("R")) &&
            (peek() == QLatin1Char('"') || peek() == QLatin1Char('\''))) {
            m_pos = start + 1; // raw strings: read as is (escapes kept by our default case mostly)
            return literal(out, why);
        }
        if ((word == QLatin1String("f") || word == QLatin1String("F")) &&
            (peek() == QLatin1Char('"') || peek() == QLatin1Char('\''))) {
            *why = QStringLiteral("an f-string (computed when the original runs)");
            return false;
        }
        *why = word.isEmpty() ? QStringLiteral("not a literal value")
                              : QStringLiteral("not a literal (it uses %1)").arg(word);
        return false;
    }

    bool number(QVariant* out, QString* why) {
        const int start = m_pos;
        if (peek() == QLatin1Char('-') || peek() == QLatin1Char('+'))
            ++m_pos;
        while (!atEnd() &&
               (peek().isDigit() || peek() == QLatin1Char('.') || peek() == QLatin1Char('_') ||
                peek() == QLatin1Char('e') || peek() == QLatin1Char('E') ||
                ((peek() == QLatin1Char('-') || peek() == QLatin1Char('+')) &&
                 (m_s.at(m_pos - 1) == QLatin1Char('e') || m_s.at(m_pos - 1) == QLatin1Char('E')))))
            ++m_pos;
        QString text = m_s.mid(start, m_pos - start);
        text.remove(QLatin1Char('_'));
        bool ok = false;
        if (!text.contains(QLatin1Char('.')) && !text.contains(QLatin1Char('e')) &&
            !text.contains(QLatin1Char('E'))) {
            const qint64 v = text.toLongLong(&ok);
            if (ok)
                *out = v;
        } else {
            const double v = text.toDouble(&ok);
            if (ok)
                *out = v;
        }
        skipSpaces();
        if (ok && QStringLiteral("+-*/%").contains(peek())) {
            *why = QStringLiteral("an arithmetic expression");
            return false;
        }
        if (!ok)
            *why = QStringLiteral("not a number: %1").arg(text);
        return ok;
    }

    bool sequence(QVariant* out, QString* why) {
        const QChar close = peek() == QLatin1Char('(') ? QLatin1Char(')') : QLatin1Char(']');
        const int start = m_pos;
        ++m_pos;
        QVariantList items;
        bool sawComma = false;
        while (true) {
            skipInner();
            if (atEnd()) {
                fail(QStringLiteral("a bracket is not closed"), start);
                return false;
            }
            if (peek() == close) {
                ++m_pos;
                break;
            }
            QVariant item;
            if (!literal(&item, why))
                return false;
            items.push_back(item);
            skipInner();
            if (peek() == QLatin1Char(',')) {
                sawComma = true;
                ++m_pos;
            } else if (peek() != close) {
                *why = QStringLiteral("not a literal value");
                return false;
            }
        }
        // (x) is x, not a tuple
        *out =
            (close == QLatin1Char(')') && items.size() == 1 && !sawComma) ? items.first() : QVariant(items);
        return true;
    }

    bool dict(QVariant* out, QString* why) {
        const int start = m_pos;
        ++m_pos;
        QVariantMap map;
        QStringList order;
        while (true) {
            skipInner();
            if (atEnd()) {
                fail(QStringLiteral("a brace is not closed"), start);
                return false;
            }
            if (peek() == QLatin1Char('}')) {
                ++m_pos;
                break;
            }
            QVariant key, value;
            if (!literal(&key, why))
                return false;
            skipInner();
            if (peek() != QLatin1Char(':')) {
                *why = QStringLiteral("not a literal dict");
                return false;
            }
            ++m_pos;
            skipInner();
            if (!literal(&value, why))
                return false;
            map.insert(key.toString(), value);
            order.removeAll(key.toString());
            order << key.toString();
            skipInner();
            if (peek() == QLatin1Char(','))
                ++m_pos;
            else if (peek() != QLatin1Char('}')) {
                *why = QStringLiteral("not a literal dict");
                return false;
            }
        }
        *out = map;
        m_lastDictOrder = order; // the outermost dict finishes last
        return true;
    }

    QStringList m_lastDictOrder;
};

} // namespace

PythonLiterals parsePythonLiterals(const QString& source) {
    QString text = source;
    text.replace(QStringLiteral("\r\n"), QStringLiteral("\n"));
    return Parser(text).run();
}

} // namespace tp
