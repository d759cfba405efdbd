#include "app/cli/Cli.h"

namespace tp::cli {

std::vector<Command>& registry() {
    static std::vector<Command> commands;
    return commands;
}

bool parseCommandLine(Context& ctx, QCommandLineParser& parser, const QStringList& args,
                      const QString& description, int* exitCode) {
    parser.setApplicationDescription(description);
    const QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")},
                                  QStringLiteral("Show this help."));
    parser.addOption(help);
    if (!parser.parse(args)) {
        ctx.err << parser.errorText() << "\n"
                << "Try 'twistedpic-cli " << args.value(0) << " --help'.\n";
        *exitCode = Usage;
        return false;
    }
    if (parser.isSet(help)) {
        // Qt names the binary only; the first line gets the command too.
        QString text = parser.helpText();
        const qsizetype firstLineEnd = text.indexOf(QLatin1Char('\n'));
        const QString usage = text.left(firstLineEnd);
        text.replace(0, firstLineEnd,
                     usage.section(QLatin1Char(' '), 0, 1) + QLatin1Char(' ') + args.value(0) +
                         QLatin1Char(' ') + usage.section(QLatin1Char(' '), 2));
        ctx.out << text << (text.endsWith(QLatin1Char('\n')) ? "" : "\n");
        *exitCode = Ok;
        return false;
    }
    return true;
}

} // namespace tp::cli
