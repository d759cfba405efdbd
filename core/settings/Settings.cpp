#include "core/settings/Settings.h"

#include "core/common/Log.h"
#include "core/common/Paths.h"

#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSettings>
#include <QStringDecoder>
#include <QUrl>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

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
        {keys::Precision,
         Type::Choice,
         QStringLiteral("auto"),
         0,
         0,
         {QStringLiteral("auto"), QStringLiteral("fp16"), QStringLiteral("bf16"), QStringLiteral("fp32")},
         QStringLiteral("Weights and activations on the GPU: auto (fp16), fp16, bf16, fp32")},
        {keys::MakeRoomBeforeGenerating,
         Type::Bool,
         false,
         0,
         0,
         {},
         QStringLiteral("Ask Ollama to unload idle models when VRAM is short before generating")},
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
        {keys::Steps, Type::Int, 20, 1, 150, {}, QStringLiteral("Denoising steps")},
        {keys::Guidance, Type::Double, 7.5, 0.0, 30.0, {}, QStringLiteral("Classifier-free guidance scale")},
        {keys::Width, Type::Int, 512, 64, 4096, {}, QStringLiteral("Image width (multiple of 8)")},
        {keys::Height, Type::Int, 512, 64, 4096, {}, QStringLiteral("Image height (multiple of 8)")},
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
         4294967295.0,
         {},
         QStringLiteral("Seed used when the seed mode is fixed")},
        {keys::ImageCount, Type::Int, 1, 1, 16, {}, QStringLiteral("Images per generation")},
        {keys::ClipSkip,
         Type::Int,
         1,
         1,
         4,
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

// The file must be text a person could have written: UTF-8, no NUL bytes, and lines
// that are blank, comments, [sections] or key=value pairs.
QString checkIniText(const QByteArray& bytes) {
    if (bytes.contains('\0'))
        return QStringLiteral("it contains binary data");
    QStringDecoder decoder(QStringDecoder::Utf8);
    const QString text = decoder(bytes);
    if (decoder.hasError())
        return QStringLiteral("it is not valid UTF-8 text");
    int lineNo = 0;
    for (const QString& raw : text.split(QLatin1Char('\n'))) {
        ++lineNo;
        const QString line = raw.trimmed();
        if (line.isEmpty() || line.startsWith(QLatin1Char(';')) || line.startsWith(QLatin1Char('#')))
            continue;
        if (line.startsWith(QLatin1Char('[')) && line.endsWith(QLatin1Char(']')))
            continue;
        if (line.indexOf(QLatin1Char('=')) > 0)
            continue;
        return QStringLiteral("line %1 is neither a [section] nor key=value").arg(lineNo);
    }
    return {};
}

} // namespace

QStringList samplerNames() {
    return {QStringLiteral("euler_a"),  QStringLiteral("euler"),
            QStringLiteral("dpmpp_2m"), QStringLiteral("dpmpp_2m_karras"),
            QStringLiteral("ddim"),     QStringLiteral("pndm"),
            QStringLiteral("lms"),      QStringLiteral("lcm")};
}

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
    QFile file(m_path);
    if (!file.exists())
        return; // first start: defaults, the file appears on the first change

    auto keepAside = [this](const QString& why) {
        const QString backup = m_path + QStringLiteral(".corrupt-") +
                               QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
        if (QFile::copy(m_path, backup)) {
            m_warnings << QStringLiteral("Settings file %1 could not be used (%2). It was kept as %3 "
                                         "and the defaults are in use.")
                              .arg(m_path, why, backup);
        } else {
            m_readOnly = true;
            m_warnings << QStringLiteral("Settings file %1 could not be used (%2) and could not be "
                                         "backed up. The defaults are in use and nothing will be "
                                         "saved until the file is fixed or removed.")
                              .arg(m_path, why);
        }
        spdlog::warn("{}", m_warnings.last());
    };

    if (!file.open(QIODevice::ReadOnly)) {
        keepAside(file.errorString());
        return;
    }
    const QByteArray bytes = file.readAll();
    file.close();
    if (const QString problem = checkIniText(bytes); !problem.isEmpty()) {
        keepAside(problem);
        return;
    }

    QSettings ini(m_path, QSettings::IniFormat);
    if (ini.status() != QSettings::NoError) {
        keepAside(ini.status() == QSettings::FormatError ? QStringLiteral("format error")
                                                         : QStringLiteral("access error"));
        return;
    }
    QHash<QString, QVariant> raw;
    for (const QString& key : ini.allKeys())
        raw.insert(key, ini.value(key));

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
    const bool migrated = version < SchemaVersion;
    if (migrated)
        migrate(version, raw);

    for (auto it = raw.cbegin(); it != raw.cend(); ++it) {
        const SettingDef* def = definition(it.key());
        if (!def) {
            m_unknown.insert(it.key(), it.value());
            spdlog::debug("settings: keeping unknown key {}", it.key());
            continue;
        }
        Result<QVariant> valid = validate(*def, it.value());
        if (valid) {
            m_values.insert(def->key, *valid);
        } else {
            m_warnings << QStringLiteral("Setting %1 has an invalid value (%2); using the default %3.")
                              .arg(def->key, valid.error(), toText(def->defaultValue));
            spdlog::warn("{}", m_warnings.last());
        }
    }
    if (migrated && !m_readOnly) {
        if (Status s = save(); !s)
            spdlog::warn("settings: could not write the migrated file: {}", s.error());
    }
}

void Settings::migrate(int fromVersion, QHash<QString, QVariant>& raw) {
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
    auto outOfRange = [&](double v) {
        return bounded && (v < def.min || v > def.max)
                   ? QStringLiteral("%1 is outside %2..%3").arg(v).arg(def.min).arg(def.max)
                   : QString();
    };
    switch (def.type) {
    case Type::Bool: {
        if (value.typeId() == QMetaType::Bool)
            return Result<QVariant>::ok(value.toBool());
        bool ok = false;
        const bool b = parseBool(value.toString(), &ok);
        if (!ok)
            return Result<QVariant>::fail(QStringLiteral("'%1' is not true or false").arg(value.toString()));
        return Result<QVariant>::ok(b);
    }
    case Type::Int:
    case Type::Int64: {
        bool ok = false;
        const qint64 v = value.toString().trimmed().toLongLong(&ok);
        if (!ok)
            return Result<QVariant>::fail(QStringLiteral("'%1' is not a whole number").arg(value.toString()));
        if (const QString e = outOfRange(double(v)); !e.isEmpty())
            return Result<QVariant>::fail(e);
        if ((def.key == keys::Width || def.key == keys::Height) && v % 8 != 0)
            return Result<QVariant>::fail(QStringLiteral("%1 is not a multiple of 8").arg(v));
        return Result<QVariant>::ok(def.type == Type::Int ? QVariant(int(v)) : QVariant(v));
    }
    case Type::Double: {
        bool ok = false;
        const double v = value.toString().trimmed().toDouble(&ok);
        if (!ok || !std::isfinite(v))
            return Result<QVariant>::fail(QStringLiteral("'%1' is not a number").arg(value.toString()));
        if (const QString e = outOfRange(v); !e.isEmpty())
            return Result<QVariant>::fail(e);
        return Result<QVariant>::ok(v);
    }
    case Type::String:
        if (value.typeId() == QMetaType::QStringList)
            return Result<QVariant>::ok(value.toStringList().join(QLatin1Char(',')));
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
            QStringLiteral("'%1' is not one of %2").arg(s, def.choices.join(QStringLiteral(", "))));
    }
    case Type::Url: {
        const QString s = value.toString().trimmed();
        const QUrl url(s, QUrl::StrictMode);
        if (!url.isValid() ||
            (url.scheme() != QLatin1String("http") && url.scheme() != QLatin1String("https")) ||
            url.host().isEmpty())
            return Result<QVariant>::fail(QStringLiteral("'%1' is not an http(s) URL").arg(s));
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
    if (const Status st = set(key, value); !st)
        spdlog::warn("setting {} not saved: {}", key, st.error());
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
        QHash<QString, QVariant> next = m_values;
        for (auto it = validated.cbegin(); it != validated.cend(); ++it) {
            if (next.value(it.key()) != it.value()) {
                next.insert(it.key(), it.value());
                changedKeys << it.key();
            }
        }
        if (changedKeys.isEmpty())
            return Status::ok();
        if (Status s = writeFile(next); !s)
            return s; // nothing changed in memory either: the file and the app agree
        m_values = std::move(next);
    }
    for (const QString& key : changedKeys) {
        spdlog::debug("settings: {} = {}", key, toText(value(key)));
        Q_EMIT changed(key, value(key));
    }
    return Status::ok();
}

Status Settings::save() {
    QReadLocker lock(&m_lock);
    if (m_readOnly)
        return Status::fail(QStringLiteral("The settings file %1 is not written (see the log).").arg(m_path));
    return writeFile(m_values);
}

Status Settings::writeFile(const QHash<QString, QVariant>& values) const {
    const QFileInfo info(m_path);
    if (!QDir().mkpath(info.absolutePath()))
        return Status::fail(
            QStringLiteral("Cannot create the folder %1 for the settings file.").arg(info.absolutePath()));
    // QSettings serialises into a file beside the target; rename() then replaces the
    // target in one step, so a crash or a full disk never leaves half a file.
    const QString temp = m_path + QStringLiteral(".saving");
    QFile::remove(temp);
    {
        QSettings ini(temp, QSettings::IniFormat);
        ini.setValue(kSchemaKey, SchemaVersion);
        for (auto it = m_unknown.cbegin(); it != m_unknown.cend(); ++it)
            ini.setValue(it.key(), it.value());
        // Only what differs from the defaults: a later version's better default then
        // reaches everyone who never chose otherwise.
        for (auto it = values.cbegin(); it != values.cend(); ++it) {
            const SettingDef* def = definition(it.key());
            if (!def || def->defaultValue != it.value())
                ini.setValue(it.key(), it.value());
        }
        ini.sync();
        if (ini.status() != QSettings::NoError) {
            QFile::remove(temp);
            return Status::fail(QStringLiteral("Could not write the settings file %1 (disk full or no "
                                               "permission). Your settings are unchanged.")
                                    .arg(m_path));
        }
    }
    if (std::rename(QFile::encodeName(temp).constData(), QFile::encodeName(m_path).constData()) != 0) {
        QFile::remove(temp);
        return Status::fail(QStringLiteral("Could not replace the settings file %1: %2.")
                                .arg(m_path, QString::fromLocal8Bit(strerror(errno))));
    }
    return Status::ok();
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
