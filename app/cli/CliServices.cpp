// twistedpic-cli services [--json]: are Ollama and TwistedPair up, and where does
// Ollama run its models (GPU/CPU)? A report: exits 0 even when a service is down.
#include "app/cli/Cli.h"
#include "core/services/Format.h"
#include "core/services/OllamaClient.h"
#include "core/services/ServiceSetup.h"
#include "core/services/ServiceStatus.h"
#include "core/services/TwistedPairClient.h"
#include "core/settings/Settings.h"

#include <QEventLoop>
#include <QJsonDocument>
#include <QJsonObject>

namespace tp::cli {
namespace {

QString until(const QDateTime& t) {
    if (!t.isValid())
        return QStringLiteral("unknown");
    if (t < QDateTime::currentDateTimeUtc())
        return QStringLiteral("stopping");
    if (t.toUTC().date().year() > 2200)
        return QStringLiteral("forever");
    return t.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
}

void printText(QTextStream& out, const services::OllamaStatus& o, const services::TwistedPairStatus& t) {
    out << "Ollama       " << o.url << "\n";
    if (!o.up) {
        out << "  down: " << o.error << "\n";
    } else {
        out << "  up, version " << (o.version.isEmpty() ? QStringLiteral("unknown") : o.version) << "\n";
        if (o.installedError.isEmpty()) {
            out << "  installed: " << o.installed.size() << " model(s)\n";
            for (const services::OllamaModel& m : o.installed)
                out << "    " << m.name << "  " << services::formatBytes(m.size)
                    << (m.parameterSize.isEmpty() ? QString() : QStringLiteral("  ") + m.parameterSize)
                    << (m.quantizationLevel.isEmpty() ? QString() : QStringLiteral(" ") + m.quantizationLevel)
                    << "\n";
        } else {
            out << "  installed: " << o.installedError << "\n";
        }
        if (o.loadedError.isEmpty()) {
            out << (o.loaded.isEmpty() ? "  loaded: none\n" : "  loaded:\n");
            for (const services::OllamaLoadedModel& m : o.loaded)
                out << "    " << m.shareText() << "  (" << services::formatBytes(m.size) << ", "
                    << services::formatBytes(m.sizeVram) << " on the GPU, until " << until(m.expiresAt)
                    << ")\n";
            if (o.anyPartlyOnCpu())
                out << "  note: a model partly on the CPU answers slowly. Free GPU memory and let Ollama "
                       "reload it "
                       "(the desktop app's Services panel does both).\n";
        } else {
            out << "  loaded: " << o.loadedError << "\n";
        }
    }
    out << "TwistedPair  " << t.url << "\n";
    if (!t.up) {
        out << "  down: " << t.error << "\n";
        return;
    }
    out << "  up\n";
    if (t.modelsError.isEmpty())
        out << "  models: " << t.models.models.join(QStringLiteral(", "))
            << (t.models.defaultModel.isEmpty()
                    ? QString()
                    : QStringLiteral(" (default ") + t.models.defaultModel + QLatin1Char(')'))
            << "\n";
    else
        out << "  models: " << t.modelsError << "\n";
    if (t.knobsError.isEmpty()) {
        out << "  modes: " << t.knobs.modes.join(QStringLiteral(", ")) << "\n";
        out << "  tones: " << t.knobs.tones.join(QStringLiteral(", ")) << "\n";
        for (const QString& note : t.knobs.notes)
            out << "  note: " << note << "\n";
    } else {
        out << "  knobs: " << t.knobsError << "\n";
    }
}

int runServices(Context& ctx, const QStringList& args) {
    QCommandLineParser parser;
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print the report as JSON."));
    parser.addOption(json);
    int code = Ok;
    if (!parseCommandLine(
            ctx, parser, args,
            QStringLiteral("Show whether Ollama and TwistedPair are running, and whether Ollama's loaded "
                           "models run on the GPU or partly on the CPU."),
            &code))
        return code;
    if (!parser.positionalArguments().isEmpty()) {
        ctx.err << "services takes no arguments. Try 'twistedpic-cli services --help'.\n";
        return Usage;
    }

    services::OllamaClient ollama;
    services::TwistedPairClient twistedPair;
    services::applySettings(ctx.settings, ollama);
    services::applySettings(ctx.settings, twistedPair);
    services::ServiceStatusPoller poller(&ollama, &twistedPair);
    QEventLoop loop;
    QObject::connect(&poller, &services::ServiceStatusPoller::refreshed, &loop, &QEventLoop::quit);
    poller.refresh();
    loop.exec();
    const services::OllamaStatus& o = poller.ollama();
    const services::TwistedPairStatus& t = poller.twistedPair();

    if (parser.isSet(json))
        ctx.out << QJsonDocument(QJsonObject{{QStringLiteral("ollama"), services::toJson(o)},
                                             {QStringLiteral("twistedPair"), services::toJson(t)}})
                       .toJson(QJsonDocument::Indented);
    else
        printText(ctx.out, o, t);
    return Ok;
}

} // namespace

TP_CLI_COMMAND("services", "Show Ollama's and TwistedPair's status and Ollama's GPU/CPU placement",
               runServices);

} // namespace tp::cli
