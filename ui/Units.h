#pragma once

#include <QString>

namespace tp::ui {

// "512 MiB", "2.1 GiB" (the locale's decimal separator); "—" for a negative (unknown) value.
QString formatBytes(double bytes, int decimals = 1);
// "0.8 s", "12 s", "3 min 05 s"
QString formatDuration(double seconds);

} // namespace tp::ui
