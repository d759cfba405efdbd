// twistedpic-cli settings get|set|list|reset|path
#include "app/cli/Cli.h"
#include "core/settings/Settings.h"

namespace tp::cli {
namespace {

int runSettings(Context& ctx, const QStringList& args) {
    QCommandLineParser parser;
    // `settings set generation/seed -1`: after the action, "-1" is a value, not an option.
    parser.setOptionsAfterPositionalArgumentsMode(QCommandLineParser::ParseAsPositionalArguments);
    parser.addPositionalArgument(QStringLiteral("action"),
                                 QStringLiteral("list | get KEY | set KEY VALUE | reset KEY | path"));
    int code = Ok;
    if (!parseCommandLine(ctx, parser, args,
                          QStringLiteral("Read and change the settings file. Lists are comma-separated."),
                          &code))
        return code;
    const QStringList pos = parser.positionalArguments();
    const QString action = pos.value(0);
    Settings& s = ctx.settings;

    if (action == QLatin1String("list") && pos.size() == 1) {
        for (const SettingDef& def : Settings::definitions()) {
            if (def.type == SettingDef::Type::Bytes)
                continue; // window geometry: not for people
            ctx.out << def.key << " = " << Settings::toText(s.value(def.key));
            if (s.value(def.key) != def.defaultValue)
                ctx.out << "    (default: " << Settings::toText(def.defaultValue) << ")";
            ctx.out << "\n";
        }
        return Ok;
    }
    if (action == QLatin1String("path") && pos.size() == 1) {
        ctx.out << s.path() << "\n";
        return Ok;
    }
    if (action == QLatin1String("get") && pos.size() == 2) {
        if (!Settings::definition(pos[1])) {
            ctx.err << "Unknown setting '" << pos[1] << "'. 'twistedpic-cli settings list' shows them all.\n";
            return Failure;
        }
        ctx.out << Settings::toText(s.value(pos[1])) << "\n";
        return Ok;
    }
    if (action == QLatin1String("set") && pos.size() == 3) {
        const Result<QVariant> v = s.parse(pos[1], pos[2]);
        if (!v) {
            ctx.err << "Cannot set " << pos[1] << ": " << v.error() << "\n";
            return Failure;
        }
        if (const Status st = s.set(pos[1], *v); !st) {
            ctx.err << st.error() << "\n";
            return Failure;
        }
        ctx.out << pos[1] << " = " << Settings::toText(s.value(pos[1])) << "\n";
        return Ok;
    }
    if (action == QLatin1String("reset") && pos.size() == 2) {
        if (const Status st = s.resetToDefault(pos[1]); !st) {
            ctx.err << st.error() << "\n";
            return Failure;
        }
        ctx.out << pos[1] << " = " << Settings::toText(s.value(pos[1])) << "\n";
        return Ok;
    }
    ctx.err << "Usage: twistedpic-cli settings list | get KEY | set KEY VALUE | reset KEY | path\n";
    return Usage;
}

} // namespace

TP_CLI_COMMAND("settings", "Show or change settings (list, get, set, reset, path)", runSettings);

} // namespace tp::cli
