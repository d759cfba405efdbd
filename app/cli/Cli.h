#pragma once

#include <QCommandLineParser>
#include <QStringList>
#include <QTextStream>

#include <functional>
#include <memory>
#include <vector>

namespace tp {
class Settings;
}

namespace tp::cli {

enum ExitCode { Ok = 0, Failure = 1, Usage = 2 };

// What every command gets: the settings the global options chose, and the streams.
struct Context {
    Settings& settings;
    QTextStream& out;
    QTextStream& err;
    bool verbose = false;
};

struct Command {
    QString name;
    QString summary;                                           // one line for `--help`
    std::function<int(Context&, const QStringList& args)> run; // args[0] is the command name
};

// Commands add themselves from their own file (see TP_CLI_COMMAND).
std::vector<Command>& registry();
// Parses a command's own options from args (args[0] = command name). On --help prints
// the help and returns Ok through *exitCode; on a bad option prints why and returns Usage.
bool parseCommandLine(Context& ctx, QCommandLineParser& parser, const QStringList& args,
                      const QString& description, int* exitCode);

struct Registrar {
    explicit Registrar(Command c) { registry().push_back(std::move(c)); }
};

} // namespace tp::cli

#define TP_CLI_CONCAT2(a, b) a##b
#define TP_CLI_CONCAT(a, b) TP_CLI_CONCAT2(a, b)
#define TP_CLI_COMMAND(name, summary, fn)                                                                    \
    static const ::tp::cli::Registrar TP_CLI_CONCAT(tp_cli_registrar_, __LINE__)(                            \
        ::tp::cli::Command{QStringLiteral(name), QStringLiteral(summary), fn})
