// twistedpic-plot: renders the trainer's loss CSV files to a PNG.
#include "tools/plot/LossPlot.h"

#include <QCommandLineParser>
#include <QFileInfo>
#include <QGuiApplication>

#include <cstdio>

int main(int argc, char** argv) {
    // Text rendering needs a platform plugin; offscreen works without a display.
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QGuiApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Renders loss curves from CSV files (header row, first column = step) to a PNG, one panel per file.\n"
        "Example: twistedpic-plot --out loss.png out/vae_loss.csv out/unet_loss.csv"));
    parser.addHelpOption();
    parser.addPositionalArgument(QStringLiteral("csv"), QStringLiteral("CSV files, one panel each."));
    parser.addOption({QStringLiteral("out"), QStringLiteral("PNG to write."), QStringLiteral("png")});
    parser.addOption({QStringLiteral("columns"),
                      QStringLiteral("Comma-separated columns (default: every *loss* column)."),
                      QStringLiteral("list")});
    parser.addOption({QStringLiteral("smooth"),
                      QStringLiteral("Moving-average memory in rows (default 4, 0 = off)."),
                      QStringLiteral("n"), QStringLiteral("4")});
    parser.addOption({QStringLiteral("linear"), QStringLiteral("Linear instead of logarithmic y axis.")});
    parser.addOption({QStringLiteral("width"), QStringLiteral("Panel width in pixels."), QStringLiteral("px"),
                      QStringLiteral("900")});
    parser.addOption({QStringLiteral("height"), QStringLiteral("Panel height in pixels."),
                      QStringLiteral("px"), QStringLiteral("420")});
    parser.process(app);
    const QStringList files = parser.positionalArguments();
    if (files.isEmpty() || !parser.isSet(QStringLiteral("out"))) {
        std::fprintf(stderr, "twistedpic-plot: give --out PNG and at least one CSV file (see --help)\n");
        return 2;
    }
    QStringList columns;
    if (parser.isSet(QStringLiteral("columns")))
        columns = parser.value(QStringLiteral("columns")).split(QLatin1Char(','), Qt::SkipEmptyParts);
    QVector<tp::plot::Chart> charts;
    for (const QString& file : files) {
        auto chart = tp::plot::readCsv(file, columns, parser.value(QStringLiteral("smooth")).toInt());
        if (!chart) {
            std::fprintf(stderr, "twistedpic-plot: %s\n", qPrintable(chart.error()));
            return 1;
        }
        chart->title = QFileInfo(file).completeBaseName();
        chart->logY = !parser.isSet(QStringLiteral("linear"));
        charts.append(*chart);
    }
    const QImage image = tp::plot::renderCharts(charts, parser.value(QStringLiteral("width")).toInt(),
                                                parser.value(QStringLiteral("height")).toInt());
    const QString out = parser.value(QStringLiteral("out"));
    if (!image.save(out)) {
        std::fprintf(stderr, "twistedpic-plot: could not write %s\n", qPrintable(out));
        return 1;
    }
    std::printf("%s\n", qPrintable(out));
    return 0;
}
