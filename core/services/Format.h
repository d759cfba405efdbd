#pragma once

#include "core/common/Bytes.h"

#include <QDateTime>
#include <QString>

// Small text helpers the service code shares.
namespace tp::services {

// RFC 3339 as Go writes it ("2025-05-04T17:37:44.706015396-07:00", "…Z"), with any
// number of fraction digits (kept to milliseconds). Invalid QDateTime when unparsable.
QDateTime parseRfc3339(const QString& text);

using tp::formatBytes; // the one byte formatter (core/common/Bytes.h)

} // namespace tp::services
