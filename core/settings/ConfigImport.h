#pragma once

// Import from the original Python app: its config.py is read without running it (its literal
// assignments only) and what has a meaning here is mapped to settings. Nothing changes until
// applyConfigImport() is called (the CLI's --dry-run stops before).

#include "core/common/Result.h"

#include <QString>
#include <QStringList>
#include <QVariant>
#include <QVector>

namespace tp {

class Settings;

struct ConfigImportItem {
    QString source; // "DEFAULT_IMAGE_PARAMS['steps']"
    QString key;    // "generation/steps"
    QVariant value; // as the setting takes it
};

struct ConfigImportReport {
    QString path;
    QVector<ConfigImportItem> mapped;
    QStringList ignored; // "NAME (line 12): why"
};

// hfCacheDir: where IMAGE_MODELS ids are looked up (empty: not looked up).
Result<ConfigImportReport> readOriginalConfig(const QString& path, const Settings& settings,
                                              const QString& hfCacheDir);
Status applyConfigImport(const ConfigImportReport& report, Settings& settings);

} // namespace tp
