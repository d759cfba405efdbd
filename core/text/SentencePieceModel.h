#pragma once

#include "core/common/Result.h"

#include <QByteArray>
#include <QString>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tp::text {

// A SentencePiece model, run by Debian's libsentencepiece. The library is not linked into the
// program: it carries and exports its own copy of protobuf-lite, which clashes with the
// libprotobuf that Debian's libtorch loads (the program crashes before main() when both are
// linked). It is reached through the small twistedpic_sentencepiece module (SentencePieceModule.cpp),
// opened with dlopen(RTLD_LOCAL | RTLD_DEEPBIND) so that each library keeps its own protobuf.
// The module is looked up in $TWISTEDPIC_SENTENCEPIECE_MODULE, next to the installed program
// (../<libdir>/twistedpic/), in the build tree and in the install prefix.
// Const methods are thread-safe.
class SentencePieceModel final {
public:
    // A serialized ModelProto (the bytes of a .model file). `origin` names it in messages.
    static Result<std::shared_ptr<const SentencePieceModel>> load(const QByteArray& serialized,
                                                                  const QString& origin);
    ~SentencePieceModel();
    SentencePieceModel(const SentencePieceModel&) = delete;
    SentencePieceModel& operator=(const SentencePieceModel&) = delete;

    // Normalises, adds the "▁" prefix and segments `utf8` as SentencePiece's Encode does.
    Status encode(std::string_view utf8, std::vector<int>& ids) const;
    int pieceCount() const;
    int pieceToId(std::string_view piece) const; // the unknown piece's id when absent
    std::string idToPiece(int id) const;         // empty outside the model
    bool isUnknown(int id) const;

    // Where the module was loaded from, or why it could not be.
    static Result<QString> modulePath();

private:
    explicit SentencePieceModel(void* handle)
        : m_handle(handle) {}
    void* m_handle;
};

} // namespace tp::text
