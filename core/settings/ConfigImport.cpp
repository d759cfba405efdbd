#include "core/settings/ConfigImport.h"

#include "core/common/Paths.h"
#include "core/io/ModelCatalogue.h"
#include "core/settings/PythonLiterals.h"
#include "core/settings/Settings.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>

namespace tp {
namespace {

// The first of `names` that the dict has.
QVariant pick(const QVariantMap& map, const QStringList& names, QString* found) {
    for (const QString& n : names)
        if (map.contains(n)) {
            *found = n;
            return map.value(n);
        }
    return {};
}

QString sizeText(const QVariant& v) {
    const QVariantList pair = v.toList();
    if (pair.size() == 2)
        return QStringLiteral("%1x%2").arg(pair[0].toLongLong()).arg(pair[1].toLongLong());
    const QString s = v.toString().trimmed();
    return s.contains(QLatin1Char('x')) ? s : QString();
}

class Mapper {
public:
    Mapper(const Settings& settings, ConfigImportReport* report)
        : m_settings(settings)
        , m_report(report) {}

    void map(const QString& source, const QString& key, const QVariant& value) {
        const Result<QVariant> parsed = m_settings.parse(key, Settings::toText(value));
        if (!parsed) {
            m_report->ignored << QStringLiteral("%1: %2").arg(source, parsed.error());
            return;
        }
        for (ConfigImportItem& item : m_report->mapped)
            if (item.key == key) { // a later assignment wins, as in Python
                item = {source, key, *parsed};
                return;
            }
        m_report->mapped.push_back({source, key, *parsed});
    }
    void ignore(const QString& source, const QString& why) {
        m_report->ignored << source + QStringLiteral(": ") + why;
    }

private:
    const Settings& m_settings;
    ConfigImportReport* m_report;
};

} // namespace

Result<ConfigImportReport> readOriginalConfig(const QString& path, const Settings& settings,
                                              const QString& hfCacheDir) {
    using R = Result<ConfigImportReport>;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return R::fail(QStringLiteral("Cannot read %1: %2").arg(path, f.errorString()));
    const PythonLiterals py = parsePythonLiterals(QString::fromUtf8(f.readAll()));
    if (!py.error.isEmpty())
        return R::fail(QStringLiteral("%1, line %2: %3. Nothing was imported.")
                           .arg(path)
                           .arg(py.errorLine)
                           .arg(py.error));

    ConfigImportReport report;
    report.path = QFileInfo(path).absoluteFilePath();
    Mapper m(settings, &report);
    const QDir base = QFileInfo(path).absoluteDir();
    for (const PythonSkipped& s : py.skipped)
        report.ignored << QStringLiteral("line %1 \"%2\": %3").arg(s.line).arg(s.text.left(60), s.reason);

    const QHash<QString, QString> simple = {
        {QStringLiteral("GPU_MEMORY_CLEANUP"), keys::CleanupAfterGeneration},
        {QStringLiteral("UNLOAD_MODEL_AFTER_GENERATION"), keys::UnloadAfterGeneration},
        {QStringLiteral("OLLAMA_URL"), keys::OllamaUrl},
        {QStringLiteral("TWISTEDPAIR_URL"), keys::TwistedPairUrl},
        {QStringLiteral("TWISTEDPAIR_TIMEOUT"), keys::TwistedPairTimeoutSec},
        {QStringLiteral("PROMPT_WRAPPER_TEMPLATE"), keys::WrapperTemplate},
        {QStringLiteral("REFINER_MODEL"), keys::RefinerModel},
        {QStringLiteral("REFINER_TARGET_KEYWORDS"), keys::RefinerKeywords},
        {QStringLiteral("REFINER_PROMPT_TEMPLATE"), keys::RefinerTemplate},
    };
    for (const PythonAssignment& a : py.assignments) {
        const QString where = QStringLiteral("%1 (line %2)").arg(a.name).arg(a.line);
        if (simple.contains(a.name)) {
            m.map(a.name, simple.value(a.name), a.value);
        } else if (a.name == QLatin1String("OUTPUT_DIR")) {
            const QString dir = paths::expandHome(a.value.toString());
            m.map(a.name, keys::OutputDirectory,
                  QDir::isAbsolutePath(dir) ? dir : QDir::cleanPath(base.filePath(dir)));
        } else if (a.name == QLatin1String("DEFAULT_DISTORTION")) {
            const QVariantMap d = a.value.toMap();
            const QList<QPair<QString, QString>> fields = {{QStringLiteral("mode"), keys::DistortMode},
                                                           {QStringLiteral("tone"), keys::DistortTone},
                                                           {QStringLiteral("gain"), keys::DistortGain},
                                                           {QStringLiteral("model"), keys::DistortModel}};
            for (const auto& [field, key] : fields)
                if (d.contains(field))
                    m.map(QStringLiteral("DEFAULT_DISTORTION['%1']").arg(field), key, d.value(field));
        } else if (a.name == QLatin1String("DEFAULT_IMAGE_PARAMS")) {
            const QVariantMap p = a.value.toMap();
            QString f;
            QVariant v = pick(p, {QStringLiteral("steps"), QStringLiteral("num_inference_steps")}, &f);
            if (v.isValid())
                m.map(QStringLiteral("DEFAULT_IMAGE_PARAMS['%1']").arg(f), keys::Steps, v);
            v = pick(p,
                     {QStringLiteral("guidance"), QStringLiteral("guidance_scale"), QStringLiteral("cfg"),
                      QStringLiteral("cfg_scale")},
                     &f);
            if (v.isValid())
                m.map(QStringLiteral("DEFAULT_IMAGE_PARAMS['%1']").arg(f), keys::Guidance, v);
            v = pick(p, {QStringLiteral("resolution"), QStringLiteral("size")}, &f);
            const QString size = sizeText(v);
            if (!size.isEmpty()) {
                m.map(QStringLiteral("DEFAULT_IMAGE_PARAMS['%1']").arg(f), keys::Width,
                      size.section(QLatin1Char('x'), 0, 0));
                m.map(QStringLiteral("DEFAULT_IMAGE_PARAMS['%1']").arg(f), keys::Height,
                      size.section(QLatin1Char('x'), 1, 1));
            }
            for (const QString& dim : {QStringLiteral("width"), QStringLiteral("height")})
                if (p.contains(dim))
                    m.map(QStringLiteral("DEFAULT_IMAGE_PARAMS['%1']").arg(dim),
                          dim == QLatin1String("width") ? keys::Width : keys::Height, p.value(dim));
            v = pick(p,
                     {QStringLiteral("random_seed"), QStringLiteral("randomize_seed"),
                      QStringLiteral("use_random_seed")},
                     &f);
            if (v.isValid())
                m.map(QStringLiteral("DEFAULT_IMAGE_PARAMS['%1']").arg(f), keys::SeedMode,
                      v.toBool() ? QStringLiteral("random") : QStringLiteral("fixed"));
            if (p.contains(QStringLiteral("seed")) && p.value(QStringLiteral("seed")).isValid())
                m.map(QStringLiteral("DEFAULT_IMAGE_PARAMS['seed']"), keys::Seed,
                      p.value(QStringLiteral("seed")));
        } else if (a.name == QLatin1String("RESOLUTIONS")) {
            const QVariantList list =
                a.value.typeId() == QMetaType::QVariantMap ? a.value.toMap().values() : a.value.toList();
            QStringList presets;
            for (const QVariant& r : list)
                if (const QString s = sizeText(r); !s.isEmpty())
                    presets << s;
            m.map(a.name, keys::SizePresets, presets);
        } else if (a.name == QLatin1String("IMAGE_MODELS")) {
            const QVariantList ids =
                a.value.typeId() == QMetaType::QVariantMap ? a.value.toMap().values() : a.value.toList();
            const io::ModelCatalogue cache = io::ModelCatalogue::scan({}, {}, hfCacheDir);
            QStringList present;
            for (const QVariant& id : ids) {
                const io::ModelInfo* info = cache.find(id.toString());
                if (!info)
                    m.ignore(QStringLiteral("IMAGE_MODELS '%1'").arg(id.toString()),
                             QStringLiteral("not in the Hugging Face cache"));
                else if (!info->supported)
                    m.ignore(QStringLiteral("IMAGE_MODELS '%1'").arg(id.toString()),
                             QStringLiteral("found, but %1").arg(info->problem));
                else
                    present << info->repoId;
            }
            if (!present.isEmpty())
                m.map(QStringLiteral("IMAGE_MODELS[0] found in the cache"), keys::DefaultModel,
                      present.first());
        } else {
            m.ignore(where, QStringLiteral("has no meaning in TwistedPic"));
        }
    }
    return R::ok(report);
}

Status applyConfigImport(const ConfigImportReport& report, Settings& settings) {
    QVariantMap values;
    for (const ConfigImportItem& item : report.mapped)
        values.insert(item.key, item.value);
    return settings.setMany(values);
}

} // namespace tp
