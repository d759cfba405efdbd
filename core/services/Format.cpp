#include "core/services/Format.h"

#include <QRegularExpression>
#include <QTimeZone>

#include <cmath>

namespace tp::services {

QDateTime parseRfc3339(const QString& text) {
    static const QRegularExpression re(QStringLiteral(
        R"(^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$)"));
    const QRegularExpressionMatch m = re.match(text.trimmed());
    if (!m.hasMatch())
        return {};
    const QDate date(m.captured(1).toInt(), m.captured(2).toInt(), m.captured(3).toInt());
    int ms = 0;
    if (m.hasCaptured(7) && !m.captured(7).isEmpty())
        ms = QString(m.captured(7) + QStringLiteral("00")).left(3).toInt();
    const QTime time(m.captured(4).toInt(), m.captured(5).toInt(), m.captured(6).toInt(), ms);
    if (!date.isValid() || !time.isValid())
        return {};
    int offsetSeconds = 0;
    if (m.captured(8).isEmpty()) {
        offsetSeconds = m.captured(10).toInt() * 3600 + m.captured(11).toInt() * 60;
        if (m.captured(9) == QLatin1String("-"))
            offsetSeconds = -offsetSeconds;
    }
    return QDateTime(date, time, QTimeZone(offsetSeconds));
}

} // namespace tp::services
