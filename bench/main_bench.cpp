// twistedpic-bench SCENARIO [--quick] [--json FILE] [--verbose]: measures, prints a table and
// writes JSON. Scenarios live in bench/Scenario*.cpp, one a file.
#include "bench/Bench.h"
#include "core/common/Log.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

#include <algorithm>

using namespace tp;

namespace {

void usage(QTextStream& out) {
    out << "Usage: twistedpic-bench SCENARIO [--quick] [--json FILE] [--verbose]\n"
           "       twistedpic-bench --list\n\n"
           "  --quick       a short run (seconds)\n"
           "  --json FILE   also write the results as JSON\n"
           "  --verbose     show the engine's debug log\n\n"
           "Scenarios:\n";
    auto all = bench::scenarios();
    std::sort(all.begin(), all.end(),
              [](const bench::Scenario& a, const bench::Scenario& b) { return a.name < b.name; });
    for (const bench::Scenario& s : all)
        out << "  " << s.name.leftJustified(14) << " " << s.summary << "\n";
}

} // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("TwistedPic"));
    QCoreApplication::setOrganizationName(QStringLiteral("TwistedPic"));
    QTextStream out(stdout);
    QTextStream err(stderr);

    bench::Options options;
    QString name;
    bool verbose = false;
    QStringList args = app.arguments().mid(1);
    while (!args.isEmpty()) {
        const QString a = args.takeFirst();
        if (a == QLatin1String("--quick")) {
            options.quick = true;
        } else if (a == QLatin1String("--json") && !args.isEmpty()) {
            options.jsonPath = args.takeFirst();
        } else if (a.startsWith(QLatin1String("--json="))) {
            options.jsonPath = a.mid(7);
        } else if (a == QLatin1String("--verbose")) {
            verbose = true;
        } else if (a == QLatin1String("--list") || a == QLatin1String("-h") || a == QLatin1String("--help")) {
            usage(out);
            return 0;
        } else if (name.isEmpty() && !a.startsWith(QLatin1Char('-'))) {
            name = a;
        } else {
            options.extra << a;
        }
    }
    const auto& all = bench::scenarios();
    const auto it =
        std::find_if(all.begin(), all.end(), [&](const bench::Scenario& s) { return s.name == name; });
    if (it == all.end()) {
        if (!name.isEmpty())
            err << "Unknown scenario '" << name << "'.\n\n";
        usage(err);
        return 2;
    }

    log::Options logOptions;
    logOptions.verbose = verbose;
    logOptions.consoleWarningsOnly = !verbose;
    log::init(logOptions);
    log::installQtMessageHandler();

    bench::Report report(it->name, options);
    int code = 1;
    try {
        code = it->run(report);
    } catch (const std::exception& e) {
        report.note(QStringLiteral("FAILED: %1").arg(QString::fromLocal8Bit(e.what())));
        code = 1;
    }
    report.print(out);
    if (!options.jsonPath.isEmpty()) {
        QString error;
        if (!report.writeJson(options.jsonPath, &error)) {
            err << error << "\n";
            return 1;
        }
        out << "\nJSON: " << QDir::toNativeSeparators(QFileInfo(options.jsonPath).absoluteFilePath()) << "\n";
    }
    spdlog::default_logger()->flush();
    return code;
}
