#include "core/common/Bytes.h"

namespace tp {

QString formatBytes(qint64 bytes, const QLocale& locale, int gibDecimals) {
    if (bytes < 0)
        return QStringLiteral("unknown");
    constexpr double KiB = 1024.0, MiB = KiB * 1024, GiB = MiB * 1024;
    const double b = static_cast<double>(bytes);
    if (bytes < 1024)
        return QStringLiteral("%1 B").arg(bytes);
    if (b >= GiB)
        return locale.toString(b / GiB, 'f', gibDecimals) + QStringLiteral(" GiB");
    const bool mib = b >= MiB;
    const double v = b / (mib ? MiB : KiB);
    return locale.toString(v, 'f', v < 9.95 ? 1 : 0) +
           (mib ? QStringLiteral(" MiB") : QStringLiteral(" KiB"));
}

} // namespace tp
