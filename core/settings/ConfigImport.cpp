#include "core/settings/ConfigImport.h"

#include "core/common/GenerationLimits.h"
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
    };
    for (const PythonAssignment& a : py.assignments) {
        const QString where = QStringLiteral("%1 (line %2)").arg(a.name).arg(a.line);
        if (a.name == QLatin1String("REFINER_PROMPT_TEMPLATE")) {
            // The original's placeholders are ours under other names.
            QString tpl = a.value.toString();
            tpl.replace(QLatin1String("{target_keywords}"), QLatin1String("{count}"));
            tpl.replace(QLatin1String("{distorted_prompt}"), QLatin1String("{text}"));
            m.map(a.name, keys::RefinerTemplate, tpl);
        } else if (simple.contains(a.name)) {
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
            QVariantList list = a.value.toList();
            if (a.value.typeId() == QMetaType::QVariantMap) {
                list.clear();
                for (const QString& key : a.order.isEmpty() ? a.value.toMap().keys() : a.order)
                    list << a.value.toMap().value(key);
            }
            QStringList presets;
            for (const QVariant& r : list)
                if (const QString s = sizeText(r); !s.isEmpty())
                    presets << s;
            m.map(a.name, keys::SizePresets, presets);
        } else if (a.name == QLatin1String("IMAGE_MODELS")) {
            // The original: {"key": {"name", "model_id", "default", "optimal_steps",
            // "optimal_guidance", ...}, ...}; older layouts: {"label": "repo/id"} or a list of ids.
            struct Entry {
                QString source;
                QString id;
                bool flaggedDefault = false;
                QVariant steps, guidance;
            };
            QVector<Entry> entries;
            if (a.value.typeId() == QMetaType::QVariantMap) {
                const QVariantMap models = a.value.toMap();
                for (const QString& key : a.order.isEmpty() ? models.keys() : a.order) {
                    const QVariant v = models.value(key);
                    Entry e;
                    e.source = QStringLiteral("IMAGE_MODELS['%1']").arg(key);
                    if (v.typeId() == QMetaType::QVariantMap) {
                        const QVariantMap d = v.toMap();
                        e.id = d.value(QStringLiteral("model_id")).toString();
                        e.flaggedDefault = d.value(QStringLiteral("default")).toBool();
                        e.steps = d.value(QStringLiteral("optimal_steps"));
                        e.guidance = d.value(QStringLiteral("optimal_guidance"));
                    } else {
                        e.id = v.toString();
                    }
                    entries << e;
                }
            } else {
                for (const QVariant& v : a.value.toList())
                    entries << Entry{QStringLiteral("IMAGE_MODELS"), v.toString(), false, {}, {}};
            }
            const io::ModelCatalogue cache = io::ModelCatalogue::scan({}, {}, hfCacheDir);
            QStringList present, perModel;
            QString flagged;
            for (const Entry& e : entries) {
                if (e.id.isEmpty()) {
                    m.ignore(e.source, QStringLiteral("no model_id"));
                    continue;
                }
                // Steps and guidance are kept for every model, also one downloaded later.
                QStringList fields;
                if (e.steps.isValid() && e.steps.toInt() >= limits::MinSteps &&
                    e.steps.toInt() <= limits::MaxSteps)
                    fields << QStringLiteral("steps=%1").arg(e.steps.toInt());
                if (e.guidance.isValid() && e.guidance.toDouble() >= limits::MinGuidance &&
                    e.guidance.toDouble() <= limits::MaxGuidance)
                    fields << QStringLiteral("guidance=%1").arg(e.guidance.toDouble());
                if (!fields.isEmpty())
                    perModel << e.id + QLatin1Char(' ') + fields.join(QLatin1Char(' '));
                const io::ModelInfo* info = cache.find(e.id);
                if (!info)
                    m.ignore(QStringLiteral("%1 '%2'").arg(e.source, e.id),
                             QStringLiteral("not in the Hugging Face cache"));
                else if (!info->supported)
                    m.ignore(QStringLiteral("%1 '%2'").arg(e.source, e.id),
                             QStringLiteral("found, but %1").arg(info->problem));
                else {
                    present << info->repoId;
                    if (e.flaggedDefault)
                        flagged = info->repoId;
                }
            }
            if (!perModel.isEmpty())
                m.map(QStringLiteral("IMAGE_MODELS optimal_steps/optimal_guidance"), keys::PerModelDefaults,
                      perModel);
            if (!flagged.isEmpty())
                m.map(QStringLiteral("IMAGE_MODELS \"default\": True"), keys::DefaultModel, flagged);
            else if (!present.isEmpty())
                m.map(QStringLiteral(
                          "IMAGE_MODELS: the first one found in the cache (the one marked default is "
                          "not there)"),
                      keys::DefaultModel, present.first());
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
