// twistedpic-cli import-config PATH/config.py [--dry-run]: the original app's settings, read
// without running the file, mapped and (unless --dry-run) saved.
#include "app/cli/Cli.h"
#include "core/io/ModelCatalogue.h"
#include "core/settings/ConfigImport.h"
#include "core/settings/Settings.h"

namespace tp::cli {
namespace {

int runImportConfig(Context& ctx, const QStringList& args) {
    QCommandLineParser parser;
    const QCommandLineOption dryRun(QStringLiteral("dry-run"),
                                    QStringLiteral("Show what would change; change nothing."));
    parser.addOption(dryRun);
    parser.addPositionalArgument(QStringLiteral("config.py"),
                                 QStringLiteral("The original app's config.py."));
    int code = Ok;
    if (!parseCommandLine(
            ctx, parser, args,
            QStringLiteral("Imports the Python original's config.py: GPU memory switches, output folder, "
                           "Ollama/TwistedPair URLs and timeout, distortion and refiner defaults, "
                           "image defaults, resolutions and the image models found in the Hugging Face "
                           "cache. The file is read, never run."),
            &code))
        return code;
    if (parser.positionalArguments().size() != 1) {
        ctx.err << "import-config needs the path of the original's config.py.\n";
        return Usage;
    }
    const Result<ConfigImportReport> report = readOriginalConfig(
        parser.positionalArguments().first(), ctx.settings, io::ModelCatalogue::defaultHfCacheDir());
    if (!report) {
        ctx.err << report.error() << "\n";
        return Failure;
    }
    ctx.out << "From " << report->path << ":\n";
    for (const ConfigImportItem& item : report->mapped)
        ctx.out << "  " << item.key << " = " << Settings::toText(item.value) << "    (" << item.source
                << ")\n";
    if (report->mapped.isEmpty())
        ctx.out << "  nothing that TwistedPic uses\n";
    if (!report->ignored.isEmpty()) {
        ctx.out << "Ignored:\n";
        for (const QString& line : report->ignored)
            ctx.out << "  " << line << "\n";
    }
    if (parser.isSet(dryRun)) {
        ctx.out << "Dry run: nothing was changed.\n";
        return Ok;
    }
    if (const Status s = applyConfigImport(*report, ctx.settings); !s) {
        ctx.err << "Nothing was saved: " << s.error() << "\n";
        return Failure;
    }
    ctx.out << "Saved " << report->mapped.size() << " setting(s).\n";
    return Ok;
}

} // namespace

TP_CLI_COMMAND("import-config", "Import the Python original's config.py (read, never run; --dry-run)",
               runImportConfig);

} // namespace tp::cli
