#include "ui/Units.h"

#include "core/common/Bytes.h"

#include <QCoreApplication>
#include <QLocale>

#include <cmath>

namespace tp::ui {

QString formatBytes(double bytes, int decimals) {
    if (bytes < 0 || !std::isfinite(bytes))
        return QStringLiteral("—");
    return tp::formatBytes(static_cast<qint64>(bytes), QLocale(), decimals); // the one formatter
}

QString formatDuration(double seconds) {
    const QLocale locale;
    if (seconds < 0 || !std::isfinite(seconds))
        return QStringLiteral("—");
    if (seconds < 10)
        return QCoreApplication::translate("tp::ui::Units", "%1 s").arg(locale.toString(seconds, 'f', 1));
    if (seconds < 60)
        return QCoreApplication::translate("tp::ui::Units", "%1 s").arg(qRound(seconds));
    const int total = qRound(seconds);
    return QCoreApplication::translate("tp::ui::Units", "%1 min %2 s")
        .arg(total / 60)
        .arg(total % 60, 2, 10, QLatin1Char('0'));
}

} // namespace tp::ui
