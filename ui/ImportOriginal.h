#pragma once

#include <QString>

class QWidget;

namespace tp {
class Settings;
}

namespace tp::ui {

// "Import from the original…": asks for the Python original's config.py (unless `path` is
// given), shows what would change and what is ignored, and saves it only when confirmed.
// Returns true when the settings were changed.
bool importOriginalConfig(QWidget* parent, Settings& settings, const QString& path = {});

} // namespace tp::ui
