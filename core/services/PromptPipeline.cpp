#include "core/services/PromptPipeline.h"

#include "core/common/Log.h"
#include "core/services/OllamaClient.h"
#include "core/services/TwistedPairClient.h"
#include "core/settings/Settings.h"

#include <QDateTime>
#include <QRegularExpression>
#include <QTimer>

namespace tp::services {

QString PromptPipelineConfig::defaultRefinerTemplate() {
    const SettingDef* def = Settings::definition(keys::RefinerTemplate);
    return def ? def->defaultValue.toString() : QStringLiteral("List {count} visual keywords for:\n{text}");
}

PromptPipelineConfig PromptPipelineConfig::fromSettings(const Settings& s) {
    PromptPipelineConfig c;
    c.distortEnabled = s.value(keys::DistortEnabled).toBool();
    c.mode = s.value(keys::DistortMode).toString();
    c.tone = s.value(keys::DistortTone).toString();
    c.gain = s.value(keys::DistortGain).toInt();
    c.distortModel = s.value(keys::DistortModel).toString();
    c.refineEnabled = s.value(keys::RefineEnabled).toBool();
    c.refinerModel = s.value(keys::RefinerModel).toString();
    c.refinerKeywords = s.value(keys::RefinerKeywords).toInt();
    c.refinerTemplate = s.value(keys::RefinerTemplate).toString();
    c.wrapperTemplate = s.value(keys::WrapperTemplate).toString();
    return c;
}

Result<PromptPipelineConfig> PromptPipelineConfig::withDistortSpec(const PromptPipelineConfig& base,
                                                                   const QString& spec) {
    using R = Result<PromptPipelineConfig>;
    const QStringList parts = spec.split(QLatin1Char(','));
    if (parts.size() < 3 || parts.size() > 4)
        return R::fail(
            QStringLiteral("'%1' is not MODE,TONE,GAIN[,MODEL] (e.g. echo_er,neutral,5).").arg(spec));
    PromptPipelineConfig c = base;
    c.distortEnabled = true;
    c.mode = parts[0].trimmed();
    c.tone = parts[1].trimmed();
    bool ok = false;
    c.gain = parts[2].trimmed().toInt(&ok);
    if (!ok)
        return R::fail(
            QStringLiteral("The gain '%1' in '%2' is not a whole number.").arg(parts[2].trimmed(), spec));
    if (parts.size() == 4)
        c.distortModel = parts[3].trimmed();
    DistortRequest check;
    check.text = QStringLiteral("-");
    check.mode = c.mode;
    check.tone = c.tone;
    check.gain = c.gain;
    if (const Status s = TwistedPairClient::validate(check); !s)
        return R::fail(s.error());
    return R::ok(c);
}

PromptPipeline::PromptPipeline(TwistedPairClient* twistedPair, OllamaClient* ollama, QObject* parent)
    : QObject(parent)
    , m_twistedPair(twistedPair)
    , m_ollama(ollama) {}

QString PromptPipeline::fillTemplate(const QString& tpl, const QHash<QString, QString>& values) {
    QString out;
    out.reserve(tpl.size());
    qsizetype i = 0;
    while (i < tpl.size()) {
        const qsizetype open = tpl.indexOf(QLatin1Char('{'), i);
        if (open < 0) {
            out += QStringView(tpl).mid(i);
            break;
        }
        out += QStringView(tpl).mid(i, open - i);
        const qsizetype close = tpl.indexOf(QLatin1Char('}'), open + 1);
        const QString name = close < 0 ? QString() : tpl.mid(open + 1, close - open - 1);
        if (close >= 0 && values.contains(name)) {
            out += values.value(name);
            i = close + 1;
        } else {
            out += QLatin1Char('{');
            i = open + 1;
        }
    }
    return out;
}

QString PromptPipeline::cleanKeywords(const QString& text) {
    static const QRegularExpression label(QStringLiteral(R"(^\s*[\w\s]{0,30}keywords?\s*:\s*)"),
                                          QRegularExpression::CaseInsensitiveOption);
    static const QRegularExpression bullet(QStringLiteral(R"(^\s*(?:[-•·]|\d+[.)])\s+)"));
    QString t = text;
    t.remove(QLatin1Char('*')).remove(QLatin1Char('`'));
    t.remove(label);
    QStringList parts;
    for (QString line : t.split(QLatin1Char('\n'))) {
        line.remove(bullet);
        for (QString piece : line.split(QLatin1Char(','))) {
            piece = piece.trimmed();
            static const QString quotes = QStringLiteral("\"'“”‘’");
            while (!piece.isEmpty() && quotes.contains(piece.front()))
                piece.remove(0, 1);
            while (!piece.isEmpty() && (quotes.contains(piece.back()) || piece.back() == QLatin1Char('.')))
                piece.chop(1);
            piece = piece.trimmed();
            if (!piece.isEmpty())
                parts << piece;
        }
    }
    return parts.join(QStringLiteral(", "));
}

QString PromptPipeline::wrap(const QString& text) const {
    QString tpl = m_config.wrapperTemplate;
    if (!tpl.contains(QLatin1String("{distorted}")))
        tpl += QStringLiteral(" {distorted}"); // a wrapper that drops the text would waste the run
    return fillTemplate(tpl,
                        {{QStringLiteral("distorted"), text}, {QStringLiteral("prompt"), m_result.input}});
}

void PromptPipeline::run(const QString& prompt, const PromptPipelineConfig& config,
                         std::function<void(const PromptPipelineResult&)> done) {
    if (m_running)
        cancel();
    ++m_runId;
    m_running = true;
    m_config = config;
    if (m_config.refinerTemplate.trimmed().isEmpty())
        m_config.refinerTemplate = PromptPipelineConfig::defaultRefinerTemplate();
    m_result = PromptPipelineResult();
    m_result.input = prompt;
    m_distortRecord = {{QStringLiteral("enabled"), config.distortEnabled}};
    m_refineRecord = {{QStringLiteral("enabled"), config.distortEnabled && config.refineEnabled}};
    m_done = std::move(done);
    m_startMs = QDateTime::currentMSecsSinceEpoch();

    if (!config.distortEnabled) {
        // Nothing to do: the prompt goes through as typed. Still asynchronous.
        const quint64 id = m_runId;
        QTimer::singleShot(0, this, [this, id] {
            if (id == m_runId && m_running) {
                m_result.finalPrompt = m_result.input;
                finishOk();
            }
        });
        return;
    }
    startDistort();
}

void PromptPipeline::startDistort() {
    DistortRequest req;
    req.text = m_result.input;
    req.mode = m_config.mode;
    req.tone = m_config.tone;
    req.gain = m_config.gain;
    req.model = m_config.distortModel;
    m_distortRecord.insert(QStringLiteral("service"), QStringLiteral("TwistedPair"));
    m_distortRecord.insert(QStringLiteral("url"), m_twistedPair->baseUrl().toString());
    m_distortRecord.insert(QStringLiteral("mode"), req.mode);
    m_distortRecord.insert(QStringLiteral("tone"), req.tone);
    m_distortRecord.insert(QStringLiteral("gain"), req.gain);
    m_distortRecord.insert(QStringLiteral("model"), req.model);
    Q_EMIT stageStarted(QStringLiteral("distort"));
    spdlog::info("prompt pipeline: distorting with TwistedPair ({}, {}, gain {}, model {})", req.mode,
                 req.tone, req.gain, req.model.isEmpty() ? QStringLiteral("default") : req.model);
    const quint64 id = m_runId;
    m_request = m_twistedPair->distort(
        req, guarded(this, [this, id](const Result<DistortResult>& r) {
            if (id != m_runId || !m_running)
                return;
            m_request = {};
            if (!r) {
                const bool cancelled = r.error().startsWith(QLatin1String("Cancelled"));
                m_distortRecord.insert(QStringLiteral("error"), r.error());
                return fail(QStringLiteral("distort"), QStringLiteral("TwistedPair"), r.error(), cancelled);
            }
            m_result.distorted = r->output;
            m_distortRecord.insert(QStringLiteral("output"), r->output);
            m_distortRecord.insert(QStringLiteral("ms"), r->wallMs);
            if (!r->signalId.isEmpty())
                m_distortRecord.insert(QStringLiteral("signalId"), r->signalId);
            Q_EMIT stageFinished(QStringLiteral("distort"), r->output, r->wallMs);
            if (m_config.refineEnabled)
                startRefine();
            else {
                m_result.finalPrompt = wrap(m_result.distorted);
                finishOk();
            }
        }));
}

void PromptPipeline::startRefine() {
    QString tpl = m_config.refinerTemplate;
    if (!tpl.contains(QLatin1String("{text}")))
        tpl += QStringLiteral("\n\n{text}");
    const QString prompt =
        fillTemplate(tpl, {{QStringLiteral("text"), m_result.distorted},
                           {QStringLiteral("count"), QString::number(m_config.refinerKeywords)}});
    GenerateOptions options;
    options.temperature = m_config.refinerTemperature;
    options.numPredict = m_config.refinerNumPredict;
    m_refineRecord.insert(QStringLiteral("service"), QStringLiteral("Ollama"));
    m_refineRecord.insert(QStringLiteral("url"), m_ollama->baseUrl().toString());
    m_refineRecord.insert(QStringLiteral("model"), m_config.refinerModel);
    m_refineRecord.insert(QStringLiteral("keywords"), m_config.refinerKeywords);
    m_refineRecord.insert(QStringLiteral("temperature"), m_config.refinerTemperature);
    m_refineRecord.insert(QStringLiteral("numPredict"), m_config.refinerNumPredict);
    m_refineRecord.insert(QStringLiteral("template"), m_config.refinerTemplate);
    Q_EMIT stageStarted(QStringLiteral("refine"));
    spdlog::info("prompt pipeline: refining with Ollama {} into {} keywords", m_config.refinerModel,
                 m_config.refinerKeywords);
    const quint64 id = m_runId;
    m_request = m_ollama->generate(
        m_config.refinerModel, prompt, options, guarded(this, [this, id](const Result<GenerateResult>& r) {
            if (id != m_runId || !m_running)
                return;
            m_request = {};
            if (!r) {
                const bool cancelled = r.error().startsWith(QLatin1String("Cancelled"));
                m_refineRecord.insert(QStringLiteral("error"), r.error());
                return fail(QStringLiteral("refine"), QStringLiteral("Ollama"), r.error(), cancelled);
            }
            const QString keywords = cleanKeywords(r->response);
            m_refineRecord.insert(QStringLiteral("raw"), r->response);
            m_refineRecord.insert(QStringLiteral("ms"), r->wallMs);
            m_refineRecord.insert(QStringLiteral("ollamaTotalMs"), double(r->totalDurationNs) / 1e6);
            m_refineRecord.insert(QStringLiteral("evalCount"), r->evalCount);
            if (keywords.isEmpty()) {
                const QString error =
                    QStringLiteral("Ollama's model %1 returned no keywords. Try another refiner model "
                                   "in Settings → Services, or turn refinement off.")
                        .arg(m_config.refinerModel);
                m_refineRecord.insert(QStringLiteral("error"), error);
                return fail(QStringLiteral("refine"), QStringLiteral("Ollama"), error, false);
            }
            m_result.refined = keywords;
            m_refineRecord.insert(QStringLiteral("output"), keywords);
            m_refineRecord.insert(QStringLiteral("keywordCount"), int(keywords.count(QLatin1Char(',')) + 1));
            Q_EMIT stageFinished(QStringLiteral("refine"), keywords, r->wallMs);
            m_result.finalPrompt = wrap(keywords);
            finishOk();
        }));
}

void PromptPipeline::finishOk() {
    m_result.ok = true;
    deliver(m_result);
}

void PromptPipeline::fail(const QString& stage, const QString& service, const QString& error,
                          bool cancelled) {
    m_result.ok = false;
    m_result.cancelled = cancelled;
    m_result.failedStage = stage;
    m_result.failedService = service;
    m_result.error = error;
    m_result.promptAsTyped = m_result.input;
    if (stage == QLatin1String("refine") && !m_result.distorted.isEmpty())
        m_result.unrefinedPrompt = wrap(m_result.distorted);
    spdlog::warn("prompt pipeline: {} failed: {}", stage, error);
    deliver(m_result);
}

void PromptPipeline::deliver(PromptPipelineResult result) {
    m_running = false;
    QVariantMap record{
        {QStringLiteral("input"), result.input},
        {QStringLiteral("final"), result.finalPrompt},
        {QStringLiteral("ok"), result.ok},
        {QStringLiteral("distort"), m_distortRecord},
        {QStringLiteral("refine"), m_refineRecord},
        {QStringLiteral("totalMs"), double(QDateTime::currentMSecsSinceEpoch() - m_startMs)},
    };
    if (m_config.distortEnabled)
        record.insert(QStringLiteral("wrapper"),
                      QVariantMap{{QStringLiteral("template"), m_config.wrapperTemplate},
                                  {QStringLiteral("output"), result.finalPrompt}});
    if (!result.ok) {
        record.insert(QStringLiteral("failedStage"), result.failedStage);
        record.insert(QStringLiteral("failedService"), result.failedService);
        record.insert(QStringLiteral("error"), result.error);
        record.insert(QStringLiteral("cancelled"), result.cancelled);
    }
    result.record = record;
    m_result = result;
    auto done = std::move(m_done);
    m_done = {};
    if (done)
        done(result);
    Q_EMIT finished(result);
}

PromptPipeline::~PromptPipeline() {
    // Nobody is left to tell: drop the run quietly and stop its request.
    m_done = {};
    ++m_runId;
    m_running = false;
    m_request.cancel();
}

void PromptPipeline::cancel() {
    if (!m_running)
        return;
    if (m_request.isRunning()) {
        m_request.cancel(); // the request's callback reports the cancellation
        if (!m_running)
            return;
    }
    const QString stage = m_result.distorted.isEmpty() ? QStringLiteral("distort") : QStringLiteral("refine");
    fail(stage, stage == QLatin1String("distort") ? QStringLiteral("TwistedPair") : QStringLiteral("Ollama"),
         QStringLiteral("Cancelled."), true);
}

} // namespace tp::services
