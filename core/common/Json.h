#pragma once

#include <QByteArray>
#include <QJsonDocument>

namespace tp {

// QJsonDocument::fromJson, but also accepting what Python's json module writes for non-finite
// floats: NaN becomes null, Infinity and -Infinity the largest finite doubles. diffusers'
// save_pretrained writes such configs (a DPM-Solver scheduler's "lambda_min_clipped": -Infinity).
QJsonDocument parseJson(const QByteArray& bytes, QJsonParseError* error = nullptr);

} // namespace tp
