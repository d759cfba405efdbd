// twistedpic-train: trains the bundled shapes model and writes it as a diffusers folder.
#include "tools/train/DeviceSetup.h"
#include "tools/train/TrainOptions.h"
#include "tools/train/Trainer.h"

#include <QCoreApplication>

#include <c10/util/Exception.h>

#include <cstdio>

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments().mid(1);
    if (args.contains(QStringLiteral("--help")) || args.contains(QStringLiteral("-h"))) {
        std::printf("%s", qPrintable(tp::train::trainUsage()));
        return 0;
    }
    auto options = tp::train::parseTrainOptions(args);
    if (!options) {
        std::fprintf(stderr, "twistedpic-train: %s\n", qPrintable(options.error()));
        return 2;
    }
    tp::train::prepareEnvironment(options->deterministic);
    try {
        tp::train::Trainer trainer(*options);
        if (tp::Status s = trainer.run(); !s) {
            std::fprintf(stderr, "twistedpic-train: %s\n", qPrintable(s.error()));
            return 1;
        }
    } catch (const c10::Error& e) {
        std::fprintf(stderr, "twistedpic-train: libtorch error: %s\n", e.what_without_backtrace());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "twistedpic-train: %s\n", e.what());
        return 1;
    }
    return 0;
}
