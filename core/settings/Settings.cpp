#include "core/settings/Settings.h"

#include "core/common/Log.h"
#include "core/common/Paths.h"

#include "core/common/GenerationLimits.h"
#include "core/gpu/VramBudget.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLockFile>
#include <QPointer>
#include <QRegularExpression>
#include <QSettings>
#include <QStringDecoder>
#include <QTemporaryFile>
#include <QThreadPool>
#include <QTimer>
#include <QUrl>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <unistd.h>

namespace tp {
namespace {

using Type = SettingDef::Type;
const QString kSchemaKey = QStringLiteral("meta/schemaVersion");

std::vector<SettingDef> makeDefinitions() {
    const QStringList presets = {QStringLiteral("512x512"),   QStringLiteral("512x384"),
                                 QStringLiteral("1024x768"),  QStringLiteral("768x1024"),
                                 QStringLiteral("1024x1024"), QStringLiteral("1344x768"),
                                 QStringLiteral("768x1344")};
    return {
        {keys::CleanupAfterGeneration,
         Type::Bool,
         true,
         0,
         0,
         {},
         QStringLiteral("Free cached GPU memory after every generation")},
        {keys::UnloadAfterGeneration,
         Type::Bool,
         false,
         0,
         0,
         {},
         QStringLiteral("Move the model's weights to RAM after every generation")},
        {keys::IdleUnloadMinutes,
         Type::Int,
         0,
         0,
         24 * 60,
         {},
         QStringLiteral("Unload the model after this many idle minutes (0 = never)")},
        {keys::Device,
         Type::Choice,
         QStringLiteral("auto"),
         0,
         0,
         {QStringLiteral("auto"), QStringLiteral("cpu"), QStringLiteral("cuda"), QStringLiteral("cuda:*")},
         QStringLiteral("Where to run: auto, cpu, cuda or cuda:N")},
        {keys::Precision, Type::Choice, QStringLiteral("auto"), 0, 0, limits::precisionNames(),
         QStringLiteral(
             "Weights and activations on the GPU: auto (the model family's fp16 or bf16), fp16, bf16, fp32, "
             "or fp8 (the denoiser's weights in 8 bits, half the VRAM; needs libtorch 2.1+)")},
        {keys::MakeRoomBeforeGenerating,
         Type::Bool,
         false,
         0,
         0,
         {},
         QStringLiteral("Ask Ollama to unload idle models when VRAM is short before generating")},
        {keys::VramBudget,
         Type::String,
         QStringLiteral("auto"),
         0,
         0,
         {},
         QStringLiteral("GPU memory a generation may use: auto (leave room for Ollama's models and the "
                        "reserve), all, or a size such as 12GiB, 12 GB or 12000MiB (a plain number is GiB)")},
        {keys::VramReserveMiB,
         Type::Int,
         2048,
         0,
         65536,
         {},
         QStringLiteral("GPU memory (MiB) the auto budget leaves free for other programs")},
        {keys::CudaGraphs,
         Type::Bool,
         true,
         0,
         0,
         {},
         QStringLiteral("Replay each denoising step as a captured CUDA graph (faster; the same images)")},
        {keys::MonitorIntervalMs,
         Type::Int,
         500,
         100,
         10000,
         {},
         QStringLiteral("VRAM sampling interval in milliseconds")},
        {keys::LogVerbose, Type::Bool, false, 0, 0, {}, QStringLiteral("Verbose (debug) logging")},
        {keys::ModelSearchPaths,
         Type::StringList,
         QStringList(),
         0,
         0,
         {},
         QStringLiteral("Extra folders that hold diffusers model folders")},
        {keys::DefaultModel,
         Type::String,
         QString(),
         0,
         0,
         {},
         QStringLiteral("Model selected at start (empty = the bundled default model)")},
        {keys::PerModelDefaults,
         Type::StringList,
         QStringList(),
         0,
         0,
         {},
         QStringLiteral("Steps and guidance per model: 'MODEL_ID steps=N guidance=X' entries")},
        {keys::OutputDirectory,
         Type::String,
         paths::defaultOutputDir(),
         0,
         0,
         {},
         QStringLiteral("Where generated images are written")},
        {keys::OllamaUrl,
         Type::Url,
         QStringLiteral("http://localhost:11434"),
         0,
         0,
         {},
         QStringLiteral("Ollama server")},
        {keys::TwistedPairUrl,
         Type::Url,
         QStringLiteral("http://localhost:8001"),
         0,
         0,
         {},
         QStringLiteral("TwistedPair distortion service")},
        {keys::TwistedPairTimeoutSec,
         Type::Int,
         120,
         1,
         3600,
         {},
         QStringLiteral("Seconds to wait for a TwistedPair answer")},
        // Prompt pipeline and co-tenancy (core/services); defaults from the Python original.
        {keys::OllamaTimeoutSec,
         Type::Int,
         120,
         1,
         3600,
         {},
         QStringLiteral("Seconds to wait for an Ollama answer (refinement; a cold model load is slow)")},
        {keys::MakeRoomMarginMiB,
         Type::Int,
         512,
         0,
         65536,
         {},
         QStringLiteral("Extra VRAM (MiB) to keep free when making room before generating")},
        {keys::DistortEnabled,
         Type::Bool,
         false,
         0,
         0,
         {},
         QStringLiteral("Distort the prompt with TwistedPair before generating")},
        {keys::DistortMode,
         Type::Choice,
         QStringLiteral("echo_er"),
         0,
         0,
         {QStringLiteral("invert_er"), QStringLiteral("so_what_er"), QStringLiteral("echo_er"),
          QStringLiteral("what_if_er"), QStringLiteral("cucumb_er"), QStringLiteral("archiv_er")},
         QStringLiteral("TwistedPair mode")},
        {keys::DistortTone,
         Type::Choice,
         QStringLiteral("neutral"),
         0,
         0,
         {QStringLiteral("neutral"), QStringLiteral("technical"), QStringLiteral("primal"),
          QStringLiteral("poetic"), QStringLiteral("satirical")},
         QStringLiteral("TwistedPair tone")},
        {keys::DistortGain, Type::Int, 5, 1, 10, {}, QStringLiteral("TwistedPair gain (intensity)")},
        {keys::DistortModel,
         Type::String,
         QStringLiteral("mistral:latest"),
         0,
         0,
         {},
         QStringLiteral("Ollama model TwistedPair distorts with (empty = TwistedPair's default)")},
        {keys::RefineEnabled,
         Type::Bool,
         true,
         0,
         0,
         {},
         QStringLiteral("Boil the distorted text down to visual keywords with Ollama")},
        {keys::RefinerModel,
         Type::String,
         QStringLiteral("mistral:latest"),
         0,
         0,
         {},
         QStringLiteral("Ollama model that extracts the visual keywords")},
        {keys::RefinerKeywords,
         Type::Int,
         20,
         3,
         75,
         {},
         QStringLiteral("How many visual keywords to ask for")},
        {keys::RefinerTemplate,
         Type::String,
         QStringLiteral("You extract visual keywords for an image generator.\n"
                        "From the text below, list exactly {count} short VISUAL keywords: concrete objects, "
                        "colours, textures, lighting, art style, composition, atmosphere. No abstract ideas, "
                        "no explanations.\n"
                        "Answer with the keywords only, separated by commas.\n\n"
                        "Text:\n{text}\n\nVisual keywords:"),
         0,
         0,
         {},
         QStringLiteral("Refiner prompt; {text} = distorted text, {count} = keyword count")},
        {keys::WrapperTemplate,
         Type::String,
         QStringLiteral(" ;{distorted}; "),
         0,
         0,
         {},
         QStringLiteral("Final prompt; {distorted} = refined text, {prompt} = the prompt as typed")},
        {keys::Steps,
         Type::Int,
         20,
         limits::MinSteps,
         limits::MaxSteps,
         {},
         QStringLiteral("Denoising steps")},
        {keys::Guidance,
         Type::Double,
         7.5,
         limits::MinGuidance,
         limits::MaxGuidance,
         {},
         QStringLiteral("Classifier-free guidance scale")},
        {keys::Width,
         Type::Int,
         512,
         limits::MinSide,
         limits::MaxSide,
         {},
         QStringLiteral("Image width (multiple of 8)")},
        {keys::Height,
         Type::Int,
         512,
         limits::MinSide,
         limits::MaxSide,
         {},
         QStringLiteral("Image height (multiple of 8)")},
        {keys::Sampler, Type::Choice, QStringLiteral("euler_a"), 0, 0, samplerNames(),
         QStringLiteral("Sampler")},
        {keys::SeedMode,
         Type::Choice,
         QStringLiteral("random"),
         0,
         0,
         {QStringLiteral("random"), QStringLiteral("fixed")},
         QStringLiteral("random or fixed seed")},
        {keys::Seed,
         Type::Int64,
         qint64(42),
         0,
         double(limits::MaxSeed),
         {},
         QStringLiteral("Seed used when the seed mode is fixed")},
        {keys::ImageCount,
         Type::Int,
         1,
         limits::MinCount,
         limits::MaxCount,
         {},
         QStringLiteral("Images per generation")},
        {keys::ClipSkip,
         Type::Int,
         1,
         limits::MinClipSkip,
         limits::MaxClipSkip,
         {},
         QStringLiteral("Use the text encoder's Nth-from-last layer (1 = last)")},
        {keys::NegativePrompt, Type::String, QString(), 0, 0, {}, QStringLiteral("Default negative prompt")},
        {keys::SizePresets,
         Type::StringList,
         presets,
         0,
         0,
         {},
         QStringLiteral("Size presets offered in the UI (WxH)")},
        {keys::Language,
         Type::String,
         QStringLiteral("system"),
         0,
         0,
         {},
         QStringLiteral("Interface language: system, en, de, ja")},
        {keys::FirstRunDone,
         Type::Bool,
         false,
         0,
         0,
         {},
         QStringLiteral("The first-run assistant has been shown")},
        {keys::MainWindowGeometry, Type::Bytes, QByteArray(), 0, 0, {}, QStringLiteral("Window geometry")},
        {keys::MainWindowState, Type::Bytes, QByteArray(), 0, 0, {}, QStringLiteral("Window layout")},
    };
}

// Renamed keys, by the schema version that renamed them. Version 1 (the 0.0 previews)
// used the Python original's names.
struct Rename {
    int toVersion;
    const char* from;
    const char* to;
};
constexpr Rename kRenames[] = {
    {2, "gpu/memoryCleanup", "gpu/cleanupAfterGeneration"},
    {2, "gpu/unloadModelAfterGeneration", "gpu/unloadAfterGeneration"},
    {2, "output/dir", "output/directory"},
};

bool parseBool(const QString& text, bool* ok) {
    const QString t = text.trimmed().toLower();
    *ok = true;
    if (t == QLatin1String("true") || t == QLatin1String("1") || t == QLatin1String("yes") ||
        t == QLatin1String("on"))
        return true;
    if (t == QLatin1String("false") || t == QLatin1String("0") || t == QLatin1String("no") ||
        t == QLatin1String("off"))
        return false;
    *ok = false;
    return false;
}

// A settings file is a few KiB; anything far larger is not one (`--config /dev/zero`).
constexpr qint64 kMaxFileBytes = 1024 * 1024;
// One value: a refiner template is a few hundred characters.
constexpr int kMaxValueChars = 64 * 1024;

// A value as it may appear in a message: long ones are cut.
QString quoted(const QString& text) {
    const QString oneLine = QString(text).replace(QLatin1Char('\n'), QLatin1Char(' '));
    return QLatin1Char('\'') + (oneLine.size() > 60 ? oneLine.left(57) + QStringLiteral("...") : oneLine) +
           QLatin1Char('\'');
}

// "0..4294967295", "0..30" (never "4.29497e+09").
QString bound(double v, Type type) {
    if (type == Type::Int || type == Type::Int64) {
        if (v >= 9.2e18)
            return QString::number(std::numeric_limits<qint64>::max());
        return QString::number(static_cast<qint64>(v));
    }
    return QString::number(v, 'g', 15);
}

// What is on disk, read without changing anything. Lines that are not blank, comments,
// [sections] or key=value UTF-8 text are skipped and listed; the rest is kept.
struct DiskState {
    bool exists = false;
    QString unusable; // why the file was not read at all (not a file, too large, unreadable)
    QHash<QString, QVariant> raw;
    QStringList badLines; // "line 3", ...
    QByteArray bytes;     // the file as it was
};

DiskState readDisk(const QString& path) {
    DiskState d;
    const QFileInfo info(path);
    if (!info.exists())
        return d;
    d.exists = true;
    if (!info.isFile()) {
        d.unusable = QStringLiteral("it is not a regular file");
        return d;
    }
    if (info.size() > kMaxFileBytes) {
        d.unusable = QStringLiteral("it is %1 bytes, far more than a settings file (at most %2)")
                         .arg(info.size())
                         .arg(kMaxFileBytes);
        return d;
    }
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly)) {
        d.unusable = file.errorString();
        return d;
    }
    d.bytes = file.read(kMaxFileBytes + 1);
    if (d.bytes.size() > kMaxFileBytes) {
        d.unusable = QStringLiteral("it is larger than %1 bytes").arg(kMaxFileBytes);
        return d;
    }

    QByteArray clean;
    int lineNo = 0;
    for (const QByteArray& rawLine : d.bytes.split('\n')) {
        ++lineNo;
        QStringDecoder decoder(QStringDecoder::Utf8);
        const QString line = QString(decoder(rawLine)).trimmed();
        bool good = !rawLine.contains('\0') && !decoder.hasError();
        if (good &&
            !(line.isEmpty() || line.startsWith(QLatin1Char(';')) || line.startsWith(QLatin1Char('#')) ||
              (line.startsWith(QLatin1Char('[')) && line.endsWith(QLatin1Char(']'))) ||
              line.indexOf(QLatin1Char('=')) > 0))
            good = false;
        if (good) {
            clean += rawLine;
            clean += '\n';
        } else if (!(lineNo == d.bytes.count('\n') + 1 && rawLine.isEmpty())) {
            d.badLines << QStringLiteral("line %1").arg(lineNo);
        }
    }
    // QSettings parses the kept lines from a private copy: its cache of files it has read
    // must never stand in for what is on disk now (another process may have just written it).
    QTemporaryFile copy(QDir::tempPath() + QStringLiteral("/twistedpic-settings-XXXXXX.ini"));
    if (!copy.open() || copy.write(clean) != clean.size() || !copy.flush()) {
        d.unusable =
            QStringLiteral("no temporary copy could be made to parse it (%1)").arg(copy.errorString());
        return d;
    }
    copy.close();
    QSettings ini(copy.fileName(), QSettings::IniFormat);
    for (const QString& key : ini.allKeys())
        d.raw.insert(key, ini.value(key));
    if (ini.status() != QSettings::NoError && d.badLines.isEmpty())
        d.badLines << QStringLiteral("format error");
    return d;
}

bool fsyncPath(const QString& path, bool directory) {
    const int fd = ::open(QFile::encodeName(path).constData(), directory ? O_RDONLY | O_DIRECTORY : O_RDWR);
    if (fd < 0)
        return false;
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

} // namespace

const std::vector<SettingDef>& Settings::definitions() {
    static const std::vector<SettingDef> defs = makeDefinitions();
    return defs;
}

const SettingDef* Settings::definition(const QString& key) {
    for (const SettingDef& def : definitions())
        if (def.key == key)
            return &def;
    return nullptr;
}

Settings::Settings(QString path, QObject* parent)
    : QObject(parent)
    , m_path(std::move(path)) {
    for (const SettingDef& def : definitions())
        m_values.insert(def.key, def.defaultValue);
    load();
}

QStringList Settings::loadWarnings() const {
    QReadLocker lock(&m_lock);
    return m_warnings;
}

bool Settings::isReadOnly() const {
    QReadLocker lock(&m_lock);
    return m_readOnly;
}

void Settings::load() {
    // Reading never writes: problems are reported, and the file is only touched by the next
    // change that is saved (which first keeps a damaged file aside, once).
    DiskState disk = readDisk(m_path);
    if (!disk.exists)
        return; // first start: defaults, the file appears on the first change
    if (!disk.unusable.isEmpty()) {
        m_readOnly = true;
        m_warnings << QStringLiteral("Settings file %1 could not be read (%2). The defaults are in use and "
                                     "nothing will be saved until the file is fixed or moved away.")
                          .arg(m_path, disk.unusable);
        spdlog::warn("{}", m_warnings.last());
        return;
    }
    if (!disk.badLines.isEmpty()) {
        m_warnings << QStringLiteral(
                          "Settings file %1 has text that is not a setting (%2); it is skipped and "
                          "the rest is used. The file will be kept aside as %1.corrupt-<time> "
                          "before the next change is saved.")
                          .arg(m_path, disk.badLines.mid(0, 5).join(QStringLiteral(", ")) +
                                           (disk.badLines.size() > 5 ? QStringLiteral(", ...") : QString()));
        spdlog::warn("{}", m_warnings.last());
    }
    QHash<QString, QVariant>& raw = disk.raw;
    const int version = raw.contains(kSchemaKey) ? raw.take(kSchemaKey).toInt() : 1;
    if (version > SchemaVersion) {
        m_readOnly = true;
        m_warnings << QStringLiteral("Settings file %1 was written by a newer TwistedPic (schema %2, this "
                                     "one knows %3). It is read but not written.")
                          .arg(m_path)
                          .arg(version)
                          .arg(SchemaVersion);
        spdlog::warn("{}", m_warnings.last());
    }
    if (version < SchemaVersion)
        migrate(version, raw); // in memory; the file follows at the next change

    for (auto it = raw.cbegin(); it != raw.cend(); ++it) {
        const SettingDef* def = definition(it.key());
        if (!def) {
            spdlog::debug("settings: keeping unknown key {}", it.key());
            continue;
        }
        Result<QVariant> valid = validate(*def, it.value());
        if (valid) {
            m_values.insert(def->key, *valid);
        } else {
            m_warnings << QStringLiteral("Setting %1 has an invalid value (%2); using the default %3. The "
                                         "file keeps its value until the setting is changed.")
                              .arg(def->key, valid.error(), quoted(toText(def->defaultValue)));
            spdlog::warn("{}", m_warnings.last());
        }
    }
}

void Settings::migrate(int fromVersion, QHash<QString, QVariant>& raw) const {
    for (const Rename& r : kRenames) {
        if (r.toVersion <= fromVersion)
            continue;
        const QString from = QString::fromLatin1(r.from);
        const QString to = QString::fromLatin1(r.to);
        if (raw.contains(from)) {
            const QVariant v = raw.take(from);
            if (!raw.contains(to))
                raw.insert(to, v);
            spdlog::info("settings: migrated {} to {} (schema {} -> {})", from, to, fromVersion,
                         SchemaVersion);
        }
    }
}

Result<QVariant> Settings::validate(const SettingDef& def, const QVariant& value) const {
    const bool bounded = def.min != def.max;
    auto outOfRange = [&](double v, const QString& shown) {
        if (!bounded || (v >= def.min && v <= def.max))
            return QString();
        QString e = QStringLiteral("%1 is outside %2..%3")
                        .arg(shown, bound(def.min, def.type), bound(def.max, def.type));
        if (def.key == keys::Seed && v < 0)
            e += QStringLiteral(" (for a random seed set generation/seedMode to random)");
        return e;
    };
    if (def.type != Type::Bytes && value.toString().size() > kMaxValueChars)
        return Result<QVariant>::fail(QStringLiteral("the value is %1 characters long; at most %2 are kept")
                                          .arg(value.toString().size())
                                          .arg(kMaxValueChars));
    switch (def.type) {
    case Type::Bool: {
        if (value.typeId() == QMetaType::Bool)
            return Result<QVariant>::ok(value.toBool());
        bool ok = false;
        const bool b = parseBool(value.toString(), &ok);
        if (!ok)
            return Result<QVariant>::fail(
                QStringLiteral("%1 is not true or false").arg(quoted(value.toString())));
        return Result<QVariant>::ok(b);
    }
    case Type::Int:
    case Type::Int64: {
        bool ok = false;
        const QString text = value.toString().trimmed();
        const qint64 v = text.toLongLong(&ok);
        if (!ok) {
            static const QRegularExpression integer(QStringLiteral("^[+-]?\\d+$"));
            return Result<QVariant>::fail(
                integer.match(text).hasMatch()
                    ? QStringLiteral("%1 is outside %2..%3")
                          .arg(quoted(text), bound(def.min, def.type), bound(def.max, def.type))
                    : QStringLiteral("%1 is not a whole number").arg(quoted(text)));
        }
        if (const QString e = outOfRange(double(v), QString::number(v)); !e.isEmpty())
            return Result<QVariant>::fail(e);
        if ((def.key == keys::Width || def.key == keys::Height) && v % 8 != 0)
            return Result<QVariant>::fail(QStringLiteral("%1 is not a multiple of 8").arg(v));
        return Result<QVariant>::ok(def.type == Type::Int ? QVariant(int(v)) : QVariant(v));
    }
    case Type::Double: {
        bool ok = false;
        const double v = value.toString().trimmed().toDouble(&ok);
        if (!ok || !std::isfinite(v))
            return Result<QVariant>::fail(QStringLiteral("%1 is not a number").arg(quoted(value.toString())));
        if (const QString e = outOfRange(v, QString::number(v, 'g', 15)); !e.isEmpty())
            return Result<QVariant>::fail(e);
        return Result<QVariant>::ok(v);
    }
    case Type::String:
        if (value.typeId() == QMetaType::QStringList)
            return Result<QVariant>::ok(value.toStringList().join(QLatin1Char(',')));
        if (def.key == keys::VramBudget) {
            const Result<gpu::BudgetSetting> budget = gpu::parseBudget(value.toString(), QString());
            if (!budget)
                return Result<QVariant>::fail(budget.error());
            return Result<QVariant>::ok(value.toString().trimmed());
        }
        return Result<QVariant>::ok(value.toString());
    case Type::StringList: {
        if (value.typeId() == QMetaType::QStringList)
            return Result<QVariant>::ok(value.toStringList());
        const QString s = value.toString();
        return Result<QVariant>::ok(s.isEmpty() ? QStringList() : QStringList{s});
    }
    case Type::Choice: {
        const QString s = value.toString().trimmed();
        for (const QString& c : def.choices) {
            if (c.endsWith(QLatin1Char('*')) ? s.startsWith(c.chopped(1)) && s.size() > c.size() - 1 : s == c)
                return Result<QVariant>::ok(s);
        }
        return Result<QVariant>::fail(
            QStringLiteral("%1 is not one of %2").arg(quoted(s), def.choices.join(QStringLiteral(", "))));
    }
    case Type::Url: {
        const QString s = value.toString().trimmed();
        const QUrl url(s, QUrl::StrictMode);
        if (!url.isValid() ||
            (url.scheme() != QLatin1String("http") && url.scheme() != QLatin1String("https")) ||
            url.host().isEmpty())
            return Result<QVariant>::fail(QStringLiteral("%1 is not an http(s) URL").arg(quoted(s)));
        return Result<QVariant>::ok(s);
    }
    case Type::Bytes:
        return Result<QVariant>::ok(value.toByteArray());
    }
    return Result<QVariant>::fail(QStringLiteral("unknown type"));
}

QVariant Settings::value(const QString& key) const {
    QReadLocker lock(&m_lock);
    return m_values.value(key);
}

QVariant Settings::defaultValue(const QString& key) const {
    const SettingDef* def = definition(key);
    return def ? def->defaultValue : QVariant();
}

Result<QVariant> Settings::parse(const QString& key, const QString& text) const {
    const SettingDef* def = definition(key);
    if (!def)
        return Result<QVariant>::fail(QStringLiteral("unknown setting '%1'").arg(key));
    if (def->type == Type::StringList) {
        QStringList items;
        for (const QString& part : text.split(QLatin1Char(','), Qt::SkipEmptyParts))
            items << part.trimmed();
        return validate(*def, items);
    }
    return validate(*def, text);
}

QString Settings::toText(const QVariant& value) {
    if (value.typeId() == QMetaType::QStringList)
        return value.toStringList().join(QLatin1Char(','));
    if (value.typeId() == QMetaType::QByteArray)
        return QString::fromLatin1(value.toByteArray().toBase64());
    if (value.typeId() == QMetaType::Bool)
        return value.toBool() ? QStringLiteral("true") : QStringLiteral("false");
    return value.toString();
}

void Settings::setOrWarn(const QString& key, const QVariant& value) {
    const SettingDef* def = definition(key);
    if (!def) {
        spdlog::warn("setting {} not saved: unknown setting", key);
        return;
    }
    Result<QVariant> v = validate(*def, value);
    if (!v) {
        spdlog::warn("setting {} not saved: {}", key, v.error());
        return;
    }
    {
        QWriteLocker lock(&m_lock);
        if (m_readOnly) {
            spdlog::warn("setting {} not saved: {}", key,
                         m_warnings.isEmpty() ? QStringLiteral("the settings file is read-only")
                                              : m_warnings.last());
            return;
        }
        if (m_values.value(key) == *v)
            return;
        m_values.insert(key, *v);
        m_pending.insert(key, *v);
    }
    Q_EMIT changed(key, *v);
    scheduleSave();
}

void Settings::scheduleSave() {
    if (!m_saveTimer) {
        m_saveTimer = new QTimer(this);
        m_saveTimer->setSingleShot(true);
        m_saveTimer->setInterval(150); // a spin box's run of changes is one write
        connect(m_saveTimer, &QTimer::timeout, this, &Settings::startBackgroundSave);
    }
    m_saveTimer->start();
}

void Settings::startBackgroundSave() {
    if (m_inFlightDone.valid() &&
        m_inFlightDone.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        m_saveTimer->start(); // one write at a time; the next one takes everything pending
        return;
    }
    QVariantMap changes;
    {
        QWriteLocker lock(&m_lock);
        changes.swap(m_pending);
    }
    if (changes.isEmpty())
        return;
    auto done = std::make_shared<std::promise<void>>();
    m_inFlightDone = done->get_future().share();
    QPointer<Settings> self(this);
    QThreadPool::globalInstance()->start([this, self, changes, done] {
        const Result<QHash<QString, QVariant>> written = writeChanges(changes);
        if (!written) {
            spdlog::warn("settings not saved: {}", written.error());
            const QString message = written.error();
            if (self)
                QMetaObject::invokeMethod(
                    self.data(),
                    [self, message] {
                        if (self)
                            Q_EMIT self->saveFailed(message);
                    },
                    Qt::QueuedConnection);
        }
        done->set_value();
    });
}

void Settings::flush() {
    if (m_saveTimer && m_saveTimer->isActive())
        m_saveTimer->stop();
    if (m_inFlightDone.valid())
        m_inFlightDone.wait();
    bool more = false;
    {
        QReadLocker lock(&m_lock);
        more = !m_pending.isEmpty();
    }
    if (more) {
        startBackgroundSave();
        if (m_inFlightDone.valid())
            m_inFlightDone.wait();
    }
}

Settings::~Settings() {
    flush();
}

Status Settings::set(const QString& key, const QVariant& value) {
    return setMany({{key, value}});
}

Status Settings::setMany(const QVariantMap& values) {
    QVariantMap validated;
    for (auto it = values.cbegin(); it != values.cend(); ++it) {
        const SettingDef* def = definition(it.key());
        if (!def)
            return Status::fail(QStringLiteral("Unknown setting '%1'.").arg(it.key()));
        Result<QVariant> v = validate(*def, it.value());
        if (!v)
            return Status::fail(QStringLiteral("Invalid value for %1: %2.").arg(it.key(), v.error()));
        validated.insert(it.key(), *v);
    }
    return applyAndSave(validated);
}

Status Settings::resetToDefault(const QString& key) {
    const SettingDef* def = definition(key);
    if (!def)
        return Status::fail(QStringLiteral("Unknown setting '%1'.").arg(key));
    return applyAndSave({{key, def->defaultValue}});
}

Status Settings::applyAndSave(const QVariantMap& validated) {
    QStringList changedKeys;
    {
        QWriteLocker lock(&m_lock);
        if (m_readOnly)
            return Status::fail(m_warnings.isEmpty() ? QStringLiteral("The settings file is read-only.")
                                                     : m_warnings.last());
        QVariantMap changes;
        for (auto it = validated.cbegin(); it != validated.cend(); ++it) {
            if (m_values.value(it.key()) != it.value()) {
                changes.insert(it.key(), it.value());
                changedKeys << it.key();
            }
        }
        if (changedKeys.isEmpty())
            return Status::ok();
        Result<QHash<QString, QVariant>> merged = writeChanges(changes);
        if (!merged)
            return Status::fail(merged.error()); // nothing changed in memory either
        // What the file holds now, other programs' changes included.
        for (auto it = merged->cbegin(); it != merged->cend(); ++it) {
            if (const SettingDef* def = definition(it.key())) {
                if (Result<QVariant> v = validate(*def, it.value()))
                    m_values.insert(def->key, *v);
            }
        }
        for (auto it = changes.cbegin(); it != changes.cend(); ++it)
            m_values.insert(it.key(), it.value());
        for (auto it = m_pending.cbegin(); it != m_pending.cend(); ++it)
            m_values.insert(it.key(), it.value()); // newer than the file: their save is on its way
    }
    for (const QString& key : changedKeys) {
        spdlog::debug("settings: {} = {}", key, quoted(toText(value(key))));
        Q_EMIT changed(key, value(key));
    }
    return Status::ok();
}

Status Settings::save() {
    QVariantMap all;
    {
        QReadLocker lock(&m_lock);
        if (m_readOnly)
            return Status::fail(
                QStringLiteral("The settings file %1 is not written (see the log).").arg(m_path));
        for (auto it = m_values.cbegin(); it != m_values.cend(); ++it)
            all.insert(it.key(), it.value());
    }
    return Status::from(writeChanges(all));
}

Result<QHash<QString, QVariant>> Settings::writeChanges(const QVariantMap& changes) const {
    using R = Result<QHash<QString, QVariant>>;
    const QFileInfo info(m_path);
    if (!QDir().mkpath(info.absolutePath()))
        return R::fail(
            QStringLiteral("Cannot create the folder %1 for the settings file.").arg(info.absolutePath()));

    // Another TwistedPic (the app, a CLI in a script) may write the same file: one writer at a
    // time, and each one merges its own changes into what is on disk now.
    QLockFile lock(m_path + QStringLiteral(".lock"));
    lock.setStaleLockTime(30000);
    if (!lock.tryLock(20000))
        return R::fail(QStringLiteral("The settings file %1 is being written by another program (lock file "
                                      "%1.lock). Your settings are unchanged; try again.")
                           .arg(m_path));

    DiskState disk = readDisk(m_path);
    if (!disk.unusable.isEmpty())
        return R::fail(QStringLiteral("The settings file %1 cannot be read (%2); it is not replaced. Your "
                                      "settings are unchanged.")
                           .arg(m_path, disk.unusable));
    QHash<QString, QVariant>& raw = disk.raw;
    const int version =
        raw.contains(kSchemaKey) ? raw.take(kSchemaKey).toInt() : (disk.exists ? 1 : SchemaVersion);
    if (version > SchemaVersion)
        return R::fail(QStringLiteral("Settings file %1 was written by a newer TwistedPic (schema %2); it is "
                                      "not written by this one.")
                           .arg(m_path)
                           .arg(version));
    if (version < SchemaVersion)
        migrate(version, raw);

    // A damaged file is kept aside once, before the cleaned-up one replaces it.
    if (!disk.badLines.isEmpty()) {
        const QString stamp = QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
        QString backup = m_path + QStringLiteral(".corrupt-") + stamp;
        for (int n = 2; QFileInfo::exists(backup); ++n)
            backup = m_path + QStringLiteral(".corrupt-%1-%2").arg(stamp).arg(n);
        QFile out(backup);
        if (!out.open(QIODevice::WriteOnly | QIODevice::NewOnly) ||
            out.write(disk.bytes) != disk.bytes.size() || !out.flush()) {
            out.remove();
            return R::fail(
                QStringLiteral("Settings file %1 has damaged lines and could not be kept aside as %2 "
                               "(%3); it is not replaced. Your settings are unchanged.")
                    .arg(m_path, backup, out.errorString()));
        }
        spdlog::warn("settings file {} had damaged lines ({}); the original is kept as {}", m_path,
                     disk.badLines.join(QStringLiteral(", ")), backup);
    }

    // Only what differs from the defaults is stored: a later version's better default then
    // reaches everyone who never chose otherwise. Keys this change does not touch (unknown
    // ones, other programs' changes, invalid values a person may still want to fix) stay as found.
    for (auto it = changes.cbegin(); it != changes.cend(); ++it) {
        const SettingDef* def = definition(it.key());
        if (def && def->defaultValue == it.value())
            raw.remove(it.key());
        else
            raw.insert(it.key(), it.value());
    }

    // A unique file beside the target, synced to the disk, then renamed over it: a crash or a
    // full disk never leaves half a file, and two writers never share a temporary name.
    QTemporaryFile temp(m_path + QStringLiteral(".XXXXXX.saving"));
    if (!temp.open())
        return R::fail(
            QStringLiteral("Could not write the settings file %1: %2. Your settings are unchanged.")
                .arg(m_path, temp.errorString()));
    temp.close();
    {
        QSettings ini(temp.fileName(), QSettings::IniFormat);
        ini.clear();
        ini.setValue(kSchemaKey, SchemaVersion);
        for (auto it = raw.cbegin(); it != raw.cend(); ++it)
            ini.setValue(it.key(), it.value());
        ini.sync();
        if (ini.status() != QSettings::NoError)
            return R::fail(QStringLiteral("Could not write the settings file %1 (disk full or no "
                                          "permission). Your settings are unchanged.")
                               .arg(m_path));
    }
    if (!fsyncPath(temp.fileName(), false))
        return R::fail(
            QStringLiteral("Could not write the settings file %1: %2. Your settings are unchanged.")
                .arg(m_path, QString::fromLocal8Bit(strerror(errno))));
    if (std::rename(QFile::encodeName(temp.fileName()).constData(), QFile::encodeName(m_path).constData()) !=
        0)
        return R::fail(QStringLiteral("Could not replace the settings file %1: %2.")
                           .arg(m_path, QString::fromLocal8Bit(strerror(errno))));
    temp.setAutoRemove(false);
    fsyncPath(info.absolutePath(), true);
    return R::ok(raw);
}

QString Settings::outputDirectory() const {
    return paths::expandHome(value(keys::OutputDirectory).toString());
}

QStringList Settings::modelSearchPaths() const {
    QStringList out;
    for (const QString& p : value(keys::ModelSearchPaths).toStringList())
        out << paths::expandHome(p);
    return out;
}

} // namespace tp
