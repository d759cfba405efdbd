// twistedpic-cli: the same core as the desktop app, headless.
#include "app/cli/Cli.h"
#include "core/common/Log.h"
#include "core/common/Paths.h"
#include "core/settings/Settings.h"

#include <QCoreApplication>

#include <algorithm>

using namespace tp;

namespace {

void printUsage(QTextStream& out) {
    out << "Usage: twistedpic-cli [--config PATH] [--verbose] COMMAND [options]\n\n"
           "Generate images with Stable Diffusion models, sharing the GPU politely with Ollama.\n\n"
           "Global options:\n"
           "  --config PATH   settings file (default: $TWISTEDPIC_CONFIG or\n"
           "                  ~/.config/TwistedPic/TwistedPic.conf)\n"
           "  --verbose       show debug logging on the terminal\n"
           "  -h, --help      show this help; COMMAND --help shows a command's help\n"
           "  -v, --version   show the version\n\n"
           "Commands:\n";
    auto commands = cli::registry();
    std::sort(commands.begin(), commands.end(),
              [](const cli::Command& a, const cli::Command& b) { return a.name < b.name; });
    for (const cli::Command& c : commands)
        out << "  " << c.name.leftJustified(15) << " " << c.summary << "\n";
}

} // namespace

int main(int argc, char** argv) {
    log::initEarly(); // diagnostics go to stderr from the first line on
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("TwistedPic"));
    QCoreApplication::setOrganizationName(QStringLiteral("TwistedPic"));
    QCoreApplication::setApplicationVersion(QStringLiteral(TWISTEDPIC_VERSION));

    QTextStream out(stdout);
    QTextStream err(stderr);

    // Global options come before the command; everything after it belongs to the command.
    QStringList args = app.arguments().mid(1);
    QString configPath;
    bool verbose = false;
    while (!args.isEmpty() && args.first().startsWith(QLatin1Char('-'))) {
        const QString a = args.takeFirst();
        if (a == QLatin1String("--config") && !args.isEmpty()) {
            configPath = args.takeFirst();
        } else if (a.startsWith(QLatin1String("--config="))) {
            configPath = a.mid(9);
        } else if (a == QLatin1String("--verbose")) {
            verbose = true;
        } else if (a == QLatin1String("-h") || a == QLatin1String("--help")) {
            printUsage(out);
            return cli::Ok;
        } else if (a == QLatin1String("-v") || a == QLatin1String("--version")) {
            out << "twistedpic-cli " << TWISTEDPIC_VERSION << "\n";
            return cli::Ok;
        } else {
            err << "Unknown option " << a << ". Try 'twistedpic-cli --help'.\n";
            return cli::Usage;
        }
    }
    if (args.isEmpty()) {
        printUsage(err);
        return cli::Usage;
    }
    const auto& commands = cli::registry();
    const auto it = std::find_if(commands.begin(), commands.end(),
                                 [&](const cli::Command& c) { return c.name == args.first(); });
    if (it == commands.end()) {
        err << "Unknown command '" << args.first() << "'. Try 'twistedpic-cli --help'.\n";
        return cli::Usage;
    }

    Settings settings(configPath.isEmpty() ? paths::defaultConfigFile() : paths::expandHome(configPath));
    log::Options logOptions;
    logOptions.verbose = verbose || settings.verboseLogging();
    logOptions.consoleWarningsOnly = !verbose;
    log::init(logOptions);
    log::installQtMessageHandler();
    // The settings' load warnings were printed to stderr as they were found (log::initEarly).

    cli::Context ctx{settings, out, err, verbose};
    const int code = it->run(ctx, args);
    out.flush();
    err.flush();
    spdlog::default_logger()->flush();
    return code;
}
