#pragma once

#include "core/common/Result.h"
#include "core/common/Samplers.h"

#include <QHash>
#include <QObject>
#include <QReadWriteLock>
#include <QStringList>
#include <QVariant>

#include <future>
#include <memory>
#include <vector>

class QTimer;

namespace tp {

// INI names of every setting. The table in Settings.cpp holds their types, defaults
// and limits; these names are the only spelling used in code.
namespace keys {
inline const QString CleanupAfterGeneration = QStringLiteral("gpu/cleanupAfterGeneration");
inline const QString UnloadAfterGeneration = QStringLiteral("gpu/unloadAfterGeneration");
inline const QString IdleUnloadMinutes = QStringLiteral("gpu/idleUnloadMinutes");
inline const QString Device = QStringLiteral("gpu/device");
inline const QString Precision = QStringLiteral("gpu/precision");
inline const QString MakeRoomBeforeGenerating = QStringLiteral("gpu/makeRoomBeforeGenerating");
// VRAM budget: "auto", "all" or a size (gpu::parseBudget, core/gpu/VramBudget.h); the reserve auto leaves.
inline const QString VramBudget = QStringLiteral("gpu/vramBudget");
inline const QString VramReserveMiB = QStringLiteral("gpu/vramReserveMiB");
// Replay the denoiser step as a captured CUDA graph (issue 17; pipeline::DenoiserGraphs).
inline const QString CudaGraphs = QStringLiteral("gpu/cudaGraphs");
inline const QString MonitorIntervalMs = QStringLiteral("monitor/intervalMs");
inline const QString LogVerbose = QStringLiteral("log/verbose");
inline const QString ModelSearchPaths = QStringLiteral("models/searchPaths");
inline const QString DefaultModel = QStringLiteral("models/default");
// "MODEL_ID steps=N guidance=X" per model (e.g. the original's IMAGE_MODELS optimal_* values).
inline const QString PerModelDefaults = QStringLiteral("models/perModelDefaults");
inline const QString OutputDirectory = QStringLiteral("output/directory");
inline const QString OllamaUrl = QStringLiteral("services/ollamaUrl");
inline const QString TwistedPairUrl = QStringLiteral("services/twistedPairUrl");
inline const QString TwistedPairTimeoutSec = QStringLiteral("services/twistedPairTimeoutSec");
// Prompt pipeline (TwistedPair distortion → Ollama refinement → wrapper) and co-tenancy.
inline const QString OllamaTimeoutSec = QStringLiteral("services/ollamaTimeoutSec");
inline const QString MakeRoomMarginMiB = QStringLiteral("services/makeRoomMarginMiB");
inline const QString DistortEnabled = QStringLiteral("prompt/distortEnabled");
inline const QString DistortMode = QStringLiteral("prompt/distortMode");
inline const QString DistortTone = QStringLiteral("prompt/distortTone");
inline const QString DistortGain = QStringLiteral("prompt/distortGain");
inline const QString DistortModel = QStringLiteral("prompt/distortModel");
inline const QString RefineEnabled = QStringLiteral("prompt/refineEnabled");
inline const QString RefinerModel = QStringLiteral("prompt/refinerModel");
inline const QString RefinerKeywords = QStringLiteral("prompt/refinerKeywords");
inline const QString RefinerTemplate = QStringLiteral("prompt/refinerTemplate");
inline const QString WrapperTemplate = QStringLiteral("prompt/wrapperTemplate");
inline const QString Steps = QStringLiteral("generation/steps");
inline const QString Guidance = QStringLiteral("generation/guidance");
inline const QString Width = QStringLiteral("generation/width");
inline const QString Height = QStringLiteral("generation/height");
inline const QString Sampler = QStringLiteral("generation/sampler");
inline const QString SeedMode = QStringLiteral("generation/seedMode");
inline const QString Seed = QStringLiteral("generation/seed");
inline const QString ImageCount = QStringLiteral("generation/count");
inline const QString ClipSkip = QStringLiteral("generation/clipSkip");
inline const QString NegativePrompt = QStringLiteral("generation/negativePrompt");
inline const QString SizePresets = QStringLiteral("generation/sizePresets");
inline const QString Language = QStringLiteral("ui/language");
inline const QString FirstRunDone = QStringLiteral("ui/firstRunDone");
inline const QString MainWindowGeometry = QStringLiteral("ui/mainWindowGeometry");
inline const QString MainWindowState = QStringLiteral("ui/mainWindowState");
} // namespace keys

// samplerNames(): the sampler names the engine understands (core/common/Samplers.h).

// One definition per key: its type, default and what counts as valid.
struct SettingDef {
    enum class Type { Bool, Int, Int64, Double, String, StringList, Choice, Url, Bytes };
    QString key;
    Type type = Type::String;
    QVariant defaultValue;
    double min = 0;      // Int/Int64/Double
    double max = 0;      // Int/Int64/Double (min == max: unbounded)
    QStringList choices; // Choice; a trailing '*' in a choice accepts that prefix
    QString description; // one line, shown by `twistedpic-cli settings list`
};

// Persistent, typed settings in an INI file (KeePassXC's Config, qBittorrent's
// SettingsStorage). Reads are thread-safe; set() writes the file atomically at once, merged with
// what other processes wrote meanwhile (lock file, re-read, unique temporary file, fsync, rename).
class Settings final : public QObject {
    Q_OBJECT
public:
    static constexpr int SchemaVersion = 2;

    // Opens (or prepares to create) the file at `path`. Reading never writes. Lines that are not
    // settings are skipped (and reported); what parses is used. The next change that is saved
    // first keeps such a damaged file aside as "<path>.corrupt-<time>" (once). A file that is
    // not a regular file, is larger than 1 MiB or cannot be read is not used and never replaced.
    explicit Settings(QString path, QObject* parent = nullptr);
    ~Settings() override; // waits for background saves

    static const std::vector<SettingDef>& definitions();
    static const SettingDef* definition(const QString& key);

    QString path() const { return m_path; }
    // Problems met while loading (backups made, invalid values replaced), for the UI.
    QStringList loadWarnings() const;
    bool isReadOnly() const;

    QVariant value(const QString& key) const;
    QVariant defaultValue(const QString& key) const;
    // Validates, stores and saves. Unchanged values do nothing and emit nothing.
    Status set(const QString& key, const QVariant& value);
    // set() for a widget that changes one setting as the user clicks: validated and in memory at
    // once (changed() is emitted), saved in the background a moment later together with the
    // changes that follow (nothing slow on the GUI thread). A failed save (read-only or unwritable
    // file) is logged and emitted as saveFailed(); the UI goes on.
    void setOrWarn(const QString& key, const QVariant& value);
    // Waits until every background save has reached the file. The destructor does too.
    void flush();
    // All or nothing: every value is validated before any is stored; one save.
    Status setMany(const QVariantMap& values);
    Status resetToDefault(const QString& key);
    // Parses a value given as text (CLI, import), e.g. "true", "7.5", "a,b".
    Result<QVariant> parse(const QString& key, const QString& text) const;
    static QString toText(const QVariant& value);
    Status save();

    // Typed accessors for the keys code reads most.
    bool cleanupAfterGeneration() const { return value(keys::CleanupAfterGeneration).toBool(); }
    bool unloadAfterGeneration() const { return value(keys::UnloadAfterGeneration).toBool(); }
    int idleUnloadMinutes() const { return value(keys::IdleUnloadMinutes).toInt(); }
    QString device() const { return value(keys::Device).toString(); }
    bool verboseLogging() const { return value(keys::LogVerbose).toBool(); }
    QString outputDirectory() const;
    QStringList modelSearchPaths() const;
    QString ollamaUrl() const { return value(keys::OllamaUrl).toString(); }
    QString twistedPairUrl() const { return value(keys::TwistedPairUrl).toString(); }

Q_SIGNALS:
    void changed(const QString& key, const QVariant& value);
    void saveFailed(const QString& message);

private:
    void load();
    void migrate(int fromVersion, QHash<QString, QVariant>& raw) const;
    Result<QVariant> validate(const SettingDef& def, const QVariant& value) const;
    // Under a lock file: re-reads the file, merges `changes` into it (keeping every other key
    // as found), keeps a damaged file aside once, writes a unique temporary file, fsyncs it and
    // renames it over the file. Returns what the file holds now.
    Result<QHash<QString, QVariant>> writeChanges(const QVariantMap& changes) const;
    Status applyAndSave(const QVariantMap& validated);

    QString m_path;
    mutable QReadWriteLock m_lock;
    QHash<QString, QVariant> m_values; // known keys, validated
    // Background saves of setOrWarn(): changes waiting for the next write, and the write in flight.
    void scheduleSave();
    void startBackgroundSave();
    QVariantMap m_pending;
    QTimer* m_saveTimer = nullptr;
    std::shared_ptr<std::promise<void>> m_inFlight;
    std::shared_future<void> m_inFlightDone;
    QStringList m_warnings;
    bool m_readOnly = false;
};

} // namespace tp
