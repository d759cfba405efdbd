#include "ui/Units.h"

#include <QCoreApplication>
#include <QLocale>

#include <cmath>

namespace tp::ui {

QString formatBytes(double bytes, int decimals) {
    if (bytes < 0 || !std::isfinite(bytes))
        return QStringLiteral("—");
    constexpr double MiB = 1024.0 * 1024.0;
    constexpr double GiB = 1024.0 * MiB;
    const QLocale locale;
    if (bytes >= GiB)
        return QCoreApplication::translate("tp::ui::Units", "%1 GiB")
            .arg(locale.toString(bytes / GiB, 'f', decimals));
    return QCoreApplication::translate("tp::ui::Units", "%1 MiB").arg(locale.toString(bytes / MiB, 'f', 0));
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
