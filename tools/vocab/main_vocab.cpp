// twistedpic-vocab: writes the bundled model's tokenizer folder (CLIP format).
#include "tools/shapes/ShapeScene.h"
#include "tools/vocab/ShapesVocabulary.h"

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDir>

#include <cstdio>

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(
        QStringLiteral("Learns BPE merges from the shapes captions and writes vocab.json, merges.txt, "
                       "tokenizer_config.json and special_tokens_map.json."));
    parser.addHelpOption();
    parser.addOption(
        {QStringLiteral("out"), QStringLiteral("Output folder (created)."), QStringLiteral("dir")});
    parser.process(app);
    if (!parser.isSet(QStringLiteral("out"))) {
        std::fprintf(stderr, "twistedpic-vocab: --out DIR is required\n");
        return 2;
    }
    const tp::vocab::ClipVocabulary vocab = tp::vocab::shapesVocabulary();
    if (tp::Status s = tp::vocab::checkWholeWords(vocab, tp::shapes::allCaptions()); !s) {
        std::fprintf(stderr, "twistedpic-vocab: %s\n", qPrintable(s.error()));
        return 1;
    }
    const QString out = parser.value(QStringLiteral("out"));
    if (tp::Status s = vocab.write(out); !s) {
        std::fprintf(stderr, "twistedpic-vocab: %s\n", qPrintable(s.error()));
        return 1;
    }
    std::printf("%d tokens (%d merges) written to %s\n", vocab.size(), int(vocab.merges().size()),
                qPrintable(QDir(out).absolutePath()));
    return 0;
}
