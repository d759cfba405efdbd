#pragma once

#include <QLocale>
#include <QString>

namespace tp {

// The one byte formatter (binary units): "512 B", "1.5 KiB", "12 KiB", "3.5 MiB", "640 MiB",
// "4.8 GiB". KiB and MiB get one decimal below 10, none from 10 up; GiB get `gibDecimals`.
// A negative count is "unknown" (a figure that could not be read). `locale` picks the decimal
// separator (the UI passes the user's; logs and the CLI use the C locale).
QString formatBytes(qint64 bytes, const QLocale& locale = QLocale::c(), int gibDecimals = 1);

} // namespace tp
