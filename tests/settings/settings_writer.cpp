// tp_settings_writer CONFIG KEY VALUE: sets one setting through the Settings class alone, as
// `twistedpic-cli settings set` does, without libtorch (the 20 x 20 process write storm starts 400
// of these; 400 starts of the libtorch-linked CLI take minutes on a two-core machine).
#include "core/settings/Settings.h"

#include <QCoreApplication>

#include <cstdio>

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    if (argc != 4) {
        std::fprintf(stderr, "usage: tp_settings_writer CONFIG KEY VALUE\n");
        return 2;
    }
    tp::Settings settings(QString::fromLocal8Bit(argv[1]));
    const QString key = QString::fromLocal8Bit(argv[2]);
    const tp::Result<QVariant> value = settings.parse(key, QString::fromLocal8Bit(argv[3]));
    if (!value) {
        std::fprintf(stderr, "%s\n", qPrintable(value.error()));
        return 1;
    }
    if (const tp::Status st = settings.set(key, *value); !st) {
        std::fprintf(stderr, "%s\n", qPrintable(st.error()));
        return 1;
    }
    return 0;
}
