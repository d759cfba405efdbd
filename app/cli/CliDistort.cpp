// twistedpic-cli distort --mode M --tone T --gain G [--model X] [--refine|--no-refine] TEXT
#include "app/cli/CliPromptPipeline.h"
#include "core/services/OllamaClient.h"
#include "core/services/ServiceSetup.h"
#include "core/services/TwistedPairClient.h"
#include "core/settings/Settings.h"

#include <QEventLoop>
#include <QJsonDocument>
#include <QJsonObject>

namespace tp::cli {

services::PromptPipelineResult runPromptPipeline(Context& ctx, const QString& prompt,
                                                 const services::PromptPipelineConfig& config) {
    services::OllamaClient ollama;
    services::TwistedPairClient twistedPair;
    services::applySettings(ctx.settings, ollama);
    services::applySettings(ctx.settings, twistedPair);
    services::PromptPipeline pipeline(&twistedPair, &ollama);
    if (ctx.verbose) {
        QObject::connect(&pipeline, &services::PromptPipeline::stageStarted, [&](const QString& stage) {
            ctx.err << (stage == QLatin1String("distort") ? "Distorting with TwistedPair…\n"
                                                          : "Refining with Ollama…\n");
            ctx.err.flush();
        });
    }
    services::PromptPipelineResult result;
    QEventLoop loop;
    bool finished = false;
    pipeline.run(prompt, config, [&](const services::PromptPipelineResult& r) {
        result = r;
        finished = true;
        loop.quit();
    });
    if (!finished)
        loop.exec();
    return result;
}

namespace {

QString seconds(const QVariant& ms) {
    return QString::number(ms.toDouble() / 1000.0, 'f', 1) + QStringLiteral(" s");
}

void printStages(Context& ctx, const services::PromptPipelineResult& r) {
    const QVariantMap d = r.record.value(QStringLiteral("distort")).toMap();
    const QVariantMap f = r.record.value(QStringLiteral("refine")).toMap();
    ctx.out << "prompt:\n  " << r.input << "\n";
    if (!r.distorted.isEmpty()) {
        const QString model = d.value(QStringLiteral("model")).toString();
        ctx.out << "distorted (TwistedPair " << d.value(QStringLiteral("mode")).toString() << ", "
                << d.value(QStringLiteral("tone")).toString() << ", gain "
                << d.value(QStringLiteral("gain")).toInt() << ", model "
                << (model.isEmpty() ? QStringLiteral("TwistedPair's default") : model) << ", "
                << seconds(d.value(QStringLiteral("ms"))) << "):\n  " << r.distorted << "\n";
    }
    if (!r.refined.isEmpty()) {
        ctx.out << "refined (Ollama " << f.value(QStringLiteral("model")).toString() << ", "
                << f.value(QStringLiteral("keywordCount")).toInt() << " keywords of "
                << f.value(QStringLiteral("keywords")).toInt() << " asked, "
                << seconds(f.value(QStringLiteral("ms"))) << "):\n  " << r.refined << "\n";
    } else if (r.ok && !f.value(QStringLiteral("enabled")).toBool()) {
        ctx.out << "refined: (refinement off)\n";
    }
    if (r.ok)
        ctx.out << "final:\n  " << r.finalPrompt << "\n";
}

int runDistort(Context& ctx, const QStringList& args) {
    const Settings& s = ctx.settings;
    QCommandLineParser parser;
    const QCommandLineOption mode(QStringLiteral("mode"),
                                  QStringLiteral("TwistedPair mode (default from settings: %1).")
                                      .arg(s.value(keys::DistortMode).toString()),
                                  QStringLiteral("MODE"));
    const QCommandLineOption tone(
        QStringLiteral("tone"),
        QStringLiteral("TwistedPair tone (default: %1).").arg(s.value(keys::DistortTone).toString()),
        QStringLiteral("TONE"));
    const QCommandLineOption gain(
        QStringLiteral("gain"),
        QStringLiteral("Gain 1..10 (default: %1).").arg(s.value(keys::DistortGain).toInt()),
        QStringLiteral("GAIN"));
    const QCommandLineOption model(QStringLiteral("model"),
                                   QStringLiteral("Ollama model TwistedPair distorts with (default: %1).")
                                       .arg(s.value(keys::DistortModel).toString()),
                                   QStringLiteral("MODEL"));
    const QCommandLineOption refine(QStringLiteral("refine"),
                                    QStringLiteral("Boil the result down to visual keywords "
                                                   "with Ollama."));
    const QCommandLineOption noRefine(QStringLiteral("no-refine"),
                                      QStringLiteral("Use the distorted text as is."));
    const QCommandLineOption refiner(QStringLiteral("refiner-model"),
                                     QStringLiteral("Ollama model for the keywords (default: %1).")
                                         .arg(s.value(keys::RefinerModel).toString()),
                                     QStringLiteral("MODEL"));
    const QCommandLineOption keywords(QStringLiteral("keywords"),
                                      QStringLiteral("How many keywords to ask for."), QStringLiteral("N"));
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print every stage as JSON."));
    parser.addOptions({mode, tone, gain, model, refine, noRefine, refiner, keywords, json});
    parser.addPositionalArgument(QStringLiteral("TEXT"), QStringLiteral("The prompt to distort."));
    int code = Ok;
    if (!parseCommandLine(
            ctx, parser, args,
            QStringLiteral("Run a prompt through TwistedPair's distortion and Ollama's keyword refinement, "
                           "as a generation with distortion would, and print each stage."),
            &code))
        return code;
    const QString text = parser.positionalArguments().join(QLatin1Char(' ')).trimmed();
    if (text.isEmpty()) {
        ctx.err << "Nothing to distort: give the prompt, e.g. twistedpic-cli distort \"a quiet harbour\".\n";
        return Usage;
    }
    if (parser.isSet(refine) && parser.isSet(noRefine)) {
        ctx.err << "--refine and --no-refine contradict each other.\n";
        return Usage;
    }

    services::PromptPipelineConfig config = services::PromptPipelineConfig::fromSettings(s);
    config.distortEnabled = true;
    if (parser.isSet(mode))
        config.mode = parser.value(mode);
    if (parser.isSet(tone))
        config.tone = parser.value(tone);
    if (parser.isSet(gain)) {
        bool ok = false;
        config.gain = parser.value(gain).toInt(&ok);
        if (!ok) {
            ctx.err << "--gain '" << parser.value(gain) << "' is not a whole number.\n";
            return Usage;
        }
    }
    if (parser.isSet(model))
        config.distortModel = parser.value(model);
    if (parser.isSet(refine))
        config.refineEnabled = true;
    if (parser.isSet(noRefine))
        config.refineEnabled = false;
    if (parser.isSet(refiner))
        config.refinerModel = parser.value(refiner);
    if (parser.isSet(keywords)) {
        bool ok = false;
        config.refinerKeywords = parser.value(keywords).toInt(&ok);
        if (!ok || config.refinerKeywords < 1) {
            ctx.err << "--keywords '" << parser.value(keywords) << "' is not a positive whole number.\n";
            return Usage;
        }
    }
    services::DistortRequest check;
    check.text = text;
    check.mode = config.mode;
    check.tone = config.tone;
    check.gain = config.gain;
    if (const Status valid = services::TwistedPairClient::validate(check); !valid) {
        ctx.err << valid.error() << "\n";
        return Usage;
    }

    const services::PromptPipelineResult r = runPromptPipeline(ctx, text, config);
    if (parser.isSet(json))
        ctx.out << QJsonDocument(QJsonObject::fromVariantMap(r.record)).toJson(QJsonDocument::Indented);
    else
        printStages(ctx, r);
    if (!r.ok) {
        ctx.err << (r.failedStage == QLatin1String("distort") ? "Distortion failed: " : "Refinement failed: ")
                << r.error << "\n";
        if (!r.unrefinedPrompt.isEmpty())
            ctx.err << "Unrefined prompt: " << r.unrefinedPrompt << "\n";
        ctx.err << "The prompt as typed: " << r.promptAsTyped << "\n";
        return Failure;
    }
    return Ok;
}

} // namespace

TP_CLI_COMMAND("distort", "Distort a prompt with TwistedPair (+ Ollama keywords) and show each stage",
               runDistort);

} // namespace tp::cli
