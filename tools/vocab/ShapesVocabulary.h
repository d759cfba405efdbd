#pragma once

#include "core/common/Result.h"
#include "tools/vocab/ClipBpe.h"

// The bundled model's vocabulary: BPE merges learnt from every caption the shapes generator
// can write, so that each word of a caption is one token.
namespace tp::vocab {

ClipVocabulary shapesVocabulary();
// Fails (naming the word) unless every word of every caption encodes to a single token.
Status checkWholeWords(const ClipVocabulary& vocabulary, const QStringList& captions);

} // namespace tp::vocab
