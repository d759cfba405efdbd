// twistedpic-cli services [--json]: are Ollama and TwistedPair up, and where does
// Ollama run its models (GPU/CPU)? A report: exits 0 even when a service is down.
#include "app/cli/Cli.h"
#include "core/services/Format.h"
#include "core/services/OllamaClient.h"
#include "core/services/ServiceSetup.h"
#include "core/services/TwistedPairClient.h"
#include "core/settings/Settings.h"

#include <QEventLoop>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <optional>

namespace tp::cli {
namespace {

struct OllamaStatus {
    QString url;
    QString error; // empty: up
    QString version;
    QString versionError;
    std::optional<Result<QVector<services::OllamaModel>>> installed;
    std::optional<Result<QVector<services::OllamaLoadedModel>>> loaded;
};

struct TwistedPairStatus {
    QString url;
    QString error;
    std::optional<Result<services::TwistedPairModels>> models;
    std::optional<Result<services::TwistedPairKnobs>> knobs;
};

QString until(const QDateTime& t) {
    if (!t.isValid())
        return QStringLiteral("unknown");
    if (t < QDateTime::currentDateTimeUtc())
        return QStringLiteral("stopping");
    if (t.toUTC().date().year() > 2200)
        return QStringLiteral("forever");
    return t.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"));
}

QJsonObject toJson(const OllamaStatus& s) {
    QJsonObject o{{QStringLiteral("url"), s.url}, {QStringLiteral("up"), s.error.isEmpty()}};
    if (!s.error.isEmpty()) {
        o.insert(QStringLiteral("error"), s.error);
        return o;
    }
    o.insert(QStringLiteral("version"), s.version);
    if (!s.versionError.isEmpty())
        o.insert(QStringLiteral("versionError"), s.versionError);
    if (s.installed && s.installed->isOk()) {
        QJsonArray a;
        for (const services::OllamaModel& m : s.installed->value())
            a << QJsonObject{{QStringLiteral("name"), m.name},
                             {QStringLiteral("size"), m.size},
                             {QStringLiteral("modifiedAt"), m.modifiedAt.toString(Qt::ISODate)},
                             {QStringLiteral("family"), m.family},
                             {QStringLiteral("parameterSize"), m.parameterSize},
                             {QStringLiteral("quantizationLevel"), m.quantizationLevel}};
        o.insert(QStringLiteral("installed"), a);
    } else if (s.installed) {
        o.insert(QStringLiteral("installedError"), s.installed->error());
    }
    if (s.loaded && s.loaded->isOk()) {
        QJsonArray a;
        for (const services::OllamaLoadedModel& m : s.loaded->value())
            a << QJsonObject{{QStringLiteral("name"), m.name},
                             {QStringLiteral("size"), m.size},
                             {QStringLiteral("sizeVram"), m.sizeVram},
                             {QStringLiteral("gpuPercent"), m.gpuPercent()},
                             {QStringLiteral("processor"), m.processor()},
                             {QStringLiteral("share"), m.shareText()},
                             {QStringLiteral("partlyOnCpu"), m.partlyOnCpu()},
                             {QStringLiteral("expiresAt"), m.expiresAt.toString(Qt::ISODate)}};
        o.insert(QStringLiteral("loaded"), a);
    } else if (s.loaded) {
        o.insert(QStringLiteral("loadedError"), s.loaded->error());
    }
    return o;
}

QJsonObject toJson(const TwistedPairStatus& s) {
    QJsonObject o{{QStringLiteral("url"), s.url}, {QStringLiteral("up"), s.error.isEmpty()}};
    if (!s.error.isEmpty()) {
        o.insert(QStringLiteral("error"), s.error);
        return o;
    }
    if (s.models && s.models->isOk()) {
        o.insert(QStringLiteral("models"), QJsonArray::fromStringList(s.models->value().models));
        o.insert(QStringLiteral("defaultModel"), s.models->value().defaultModel);
    } else if (s.models) {
        o.insert(QStringLiteral("modelsError"), s.models->error());
    }
    if (s.knobs && s.knobs->isOk()) {
        const services::TwistedPairKnobs& k = s.knobs->value();
        o.insert(QStringLiteral("modes"), QJsonArray::fromStringList(k.modes));
        o.insert(QStringLiteral("tones"), QJsonArray::fromStringList(k.tones));
        o.insert(QStringLiteral("gain"), QJsonArray{k.gainMin, k.gainMax});
        if (!k.notes.isEmpty())
            o.insert(QStringLiteral("notes"), QJsonArray::fromStringList(k.notes));
    } else if (s.knobs) {
        o.insert(QStringLiteral("knobsError"), s.knobs->error());
    }
    return o;
}

void printText(QTextStream& out, const OllamaStatus& o, const TwistedPairStatus& t) {
    out << "Ollama       " << o.url << "\n";
    if (!o.error.isEmpty()) {
        out << "  down: " << o.error << "\n";
    } else {
        out << "  up, version " << (o.version.isEmpty() ? QStringLiteral("unknown (") + o.versionError + QLatin1Char(')')
                                                          : o.version)
            << "\n";
        if (o.installed && o.installed->isOk()) {
            out << "  installed: " << o.installed->value().size() << " model(s)\n";
            for (const services::OllamaModel& m : o.installed->value())
                out << "    " << m.name << "  " << services::formatBytes(m.size)
                    << (m.parameterSize.isEmpty() ? QString() : QStringLiteral("  ") + m.parameterSize)
                    << (m.quantizationLevel.isEmpty() ? QString() : QStringLiteral(" ") + m.quantizationLevel) << "\n";
        } else if (o.installed) {
            out << "  installed: " << o.installed->error() << "\n";
        }
        if (o.loaded && o.loaded->isOk()) {
            if (o.loaded->value().isEmpty())
                out << "  loaded: none\n";
            else
                out << "  loaded:\n";
            for (const services::OllamaLoadedModel& m : o.loaded->value())
                out << "    " << m.shareText() << "  (" << services::formatBytes(m.size) << ", "
                    << services::formatBytes(m.sizeVram) << " on the GPU, until " << until(m.expiresAt) << ")\n";
        } else if (o.loaded) {
            out << "  loaded: " << o.loaded->error() << "\n";
        }
    }
    out << "TwistedPair  " << t.url << "\n";
    if (!t.error.isEmpty()) {
        out << "  down: " << t.error << "\n";
        return;
    }
    out << "  up\n";
    if (t.models && t.models->isOk())
        out << "  models: " << t.models->value().models.join(QStringLiteral(", "))
            << (t.models->value().defaultModel.isEmpty() ? QString()
                                                          : QStringLiteral(" (default ") +
                                                                t.models->value().defaultModel + QLatin1Char(')'))
            << "\n";
    if (t.knobs && t.knobs->isOk()) {
        out << "  modes: " << t.knobs->value().modes.join(QStringLiteral(", ")) << "\n";
        out << "  tones: " << t.knobs->value().tones.join(QStringLiteral(", ")) << "\n";
        for (const QString& note : t.knobs->value().notes)
            out << "  note: " << note << "\n";
    }
}

int runServices(Context& ctx, const QStringList& args) {
    QCommandLineParser parser;
    const QCommandLineOption json(QStringLiteral("json"), QStringLiteral("Print the report as JSON."));
    parser.addOption(json);
    int code = Ok;
    if (!parseCommandLine(ctx, parser, args,
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
    OllamaStatus o;
    o.url = ollama.baseUrl().toString();
    TwistedPairStatus t;
    t.url = twistedPair.baseUrl().toString();

    // Everything at once; the loop ends when the last answer is in.
    QEventLoop loop;
    int pending = 0;
    auto arrived = [&] {
        if (--pending == 0)
            loop.quit();
    };
    pending = 7;
    ollama.health([&](Status s) {
        o.error = s.error();
        arrived();
    });
    ollama.version([&](const Result<QString>& r) {
        if (r)
            o.version = r.value();
        else
            o.versionError = r.error();
        arrived();
    });
    ollama.installedModels([&](const Result<QVector<services::OllamaModel>>& r) {
        o.installed = r;
        arrived();
    });
    ollama.loadedModels([&](const Result<QVector<services::OllamaLoadedModel>>& r) {
        o.loaded = r;
        arrived();
    });
    twistedPair.health([&](Status s) {
        t.error = s.error();
        arrived();
    });
    twistedPair.models([&](const Result<services::TwistedPairModels>& r) {
        t.models = r;
        arrived();
    });
    twistedPair.knobs([&](const Result<services::TwistedPairKnobs>& r) {
        t.knobs = r;
        arrived();
    });
    if (pending > 0)
        loop.exec();

    if (parser.isSet(json))
        ctx.out << QJsonDocument(QJsonObject{{QStringLiteral("ollama"), toJson(o)},
                                             {QStringLiteral("twistedPair"), toJson(t)}})
                       .toJson(QJsonDocument::Indented);
    else
        printText(ctx.out, o, t);
    return Ok;
}

} // namespace

TP_CLI_COMMAND("services", "Show Ollama's and TwistedPair's status and Ollama's GPU/CPU placement", runServices);

} // namespace tp::cli
