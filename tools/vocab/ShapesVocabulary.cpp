#include "tools/vocab/ShapesVocabulary.h"

#include "tools/shapes/ShapeScene.h"

#include <QSet>

namespace tp::vocab {

ClipVocabulary shapesVocabulary() {
    return ClipVocabulary(learnMerges(shapes::allCaptions()));
}

Status checkWholeWords(const ClipVocabulary& vocabulary, const QStringList& captions) {
    QSet<QString> seen;
    for (const QString& c : captions)
        for (const QStringList& word : pretokenize(c)) {
            const QString joined = word.join(QString());
            if (seen.contains(joined))
                continue;
            seen.insert(joined);
            const QStringList tokens = vocabulary.encodeWord(word);
            if (tokens.size() != 1 || vocabulary.id(tokens.first()) < 0)
                return Status::fail(QStringLiteral("The word \"%1\" (in \"%2\") splits into %3 tokens (%4); "
                                                   "learn the merges from a corpus that contains it.")
                                        .arg(joined, c)
                                        .arg(tokens.size())
                                        .arg(tokens.join(QLatin1Char(' '))));
        }
    return Status::ok();
}

} // namespace tp::vocab
