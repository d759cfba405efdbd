// twistedpic: the desktop app. Wires the engine, the VRAM monitor and the model catalogue to
// the main window; all work happens in core, on its own threads.
#include "core/common/Log.h"
#include "core/common/Paths.h"
#include "core/engine/Engine.h"
#include "core/gpu/SystemVramSource.h"
#include "core/gpu/VramMonitor.h"
#include "core/io/ModelCatalogue.h"
#include "core/settings/Settings.h"
#include "ui/AppWiring.h"
#include "ui/MainWindow.h"
#include "ui/Translation.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QProcess>

#include <memory>
#include <unistd.h>

using namespace tp;

namespace {

// Without any display the app cannot open a window; the CLI twin does the main job instead.
bool noDisplay() {
    return qEnvironmentVariableIsEmpty("DISPLAY") && qEnvironmentVariableIsEmpty("WAYLAND_DISPLAY") &&
           qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM");
}

int runHeadless(int argc, char** argv) {
    const QString cli =
        QFileInfo(QString::fromLocal8Bit(argv[0])).absolutePath() + QStringLiteral("/twistedpic-cli");
    fprintf(stderr, "twistedpic: no display found; running the headless main job with %s generate\n",
            qPrintable(cli));
    std::vector<char*> args;
    QByteArray path = QFile::encodeName(cli);
    QByteArray generate("generate");
    QByteArray promptFlag("--prompt");
    QByteArray prompt("a red circle on a blue background");
    args.push_back(path.data());
    args.push_back(generate.data());
    bool hasPrompt = false;
    for (int i = 1; i < argc; ++i) {
        hasPrompt = hasPrompt || qstrcmp(argv[i], "--prompt") == 0 || qstrcmp(argv[i], "-p") == 0;
        args.push_back(argv[i]);
    }
    if (!hasPrompt) {
        args.push_back(promptFlag.data());
        args.push_back(prompt.data());
    }
    args.push_back(nullptr);
    execv(path.constData(), args.data());
    perror("twistedpic: cannot start twistedpic-cli");
    return 1;
}

} // namespace

int main(int argc, char** argv) {
    log::initEarly();
    if (noDisplay())
        return runHeadless(argc, argv);

    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("TwistedPic"));
    QApplication::setOrganizationName(QStringLiteral("TwistedPic"));
    QApplication::setApplicationVersion(QStringLiteral(TWISTEDPIC_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("io.github.twistedpic.TwistedPic"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Stable Diffusion that shares the GPU politely with Ollama."));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption config(QStringLiteral("config"), QStringLiteral("Settings file."),
                                    QStringLiteral("PATH"));
    const QCommandLineOption verbose(QStringLiteral("verbose"), QStringLiteral("Debug logging."));
    parser.addOption(config);
    parser.addOption(verbose);
    parser.process(app);

    Settings settings(parser.isSet(config) ? paths::expandHome(parser.value(config))
                                           : paths::defaultConfigFile());
    log::Options logOptions;
    logOptions.verbose = parser.isSet(verbose) || settings.verboseLogging();
    log::init(logOptions);
    log::installQtMessageHandler();
    ui::followLanguageSetting(settings);

    engine::Engine engine;
    // The allocator figures ("TwistedPic holds …") are read for the engine's device: cuda:N.
    const QString device = settings.device();
    const int selfDevice = device.startsWith(QLatin1String("cuda:")) ? device.mid(5).toInt() : 0;
    gpu::VramMonitor monitor(gpu::VramMonitor::SourceFactory([selfDevice] {
        gpu::SystemVramSource::Options options;
        options.selfDevice = selfDevice;
        return std::make_unique<gpu::SystemVramSource>(options);
    }));
    ui::MainWindow window(settings);
    ui::AppWiring wiring(settings, engine, monitor, window, parser.isSet(verbose));
    window.show();
    for (const QString& w : settings.loadWarnings())
        window.showError(w);
    return app.exec();
}
