// The twistedpic_sentencepiece module: a C interface over Debian's libsentencepiece, loaded by
// core/text/SentencePieceModel.cpp with dlopen(RTLD_LOCAL | RTLD_DEEPBIND) (see there why). It
// links nothing of the project and no Qt; nothing but C types cross its interface.
#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#define TP_SPM_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using Processor = sentencepiece::SentencePieceProcessor;

// Copies `message` into `buffer` (NUL-terminated, cut to `capacity`).
void copyText(const std::string& message, char* buffer, size_t capacity) {
    if (!buffer || capacity == 0)
        return;
    const size_t n = std::min(message.size(), capacity - 1);
    std::memcpy(buffer, message.data(), n);
    buffer[n] = '\0';
}

const Processor* processor(const void* model) {
    return static_cast<const Processor*>(model);
}

} // namespace

// Version of this interface; the loader refuses another.
TP_SPM_EXPORT int tp_spm_interface_version() {
    return 1;
}

// A model from a serialized ModelProto (the bytes of a .model file); nullptr and a message on failure.
TP_SPM_EXPORT void* tp_spm_load(const char* data, size_t size, char* error, size_t errorCapacity) {
    try {
        auto* model = new Processor();
        const auto status = model->LoadFromSerializedProto(std::string_view(data, size));
        if (!status.ok()) {
            copyText(status.ToString(), error, errorCapacity);
            delete model;
            return nullptr;
        }
        return model;
    } catch (const std::exception& e) {
        copyText(e.what(), error, errorCapacity);
    } catch (...) {
        copyText("unknown error", error, errorCapacity);
    }
    return nullptr;
}

TP_SPM_EXPORT void tp_spm_free(void* model) {
    delete static_cast<Processor*>(model);
}

// Encodes UTF-8 text into ids: returns their count (the first `capacity` are written; call again
// with more room when the count is larger), or -1 with a message.
TP_SPM_EXPORT int tp_spm_encode(const void* model, const char* text, size_t size, int* ids, int capacity,
                                char* error, size_t errorCapacity) {
    try {
        std::vector<int> out;
        const auto status = processor(model)->Encode(std::string_view(text, size), &out);
        if (!status.ok()) {
            copyText(status.ToString(), error, errorCapacity);
            return -1;
        }
        std::copy_n(out.begin(), std::min<size_t>(out.size(), size_t(std::max(capacity, 0))), ids);
        return int(out.size());
    } catch (const std::exception& e) {
        copyText(e.what(), error, errorCapacity);
    } catch (...) {
        copyText("unknown error", error, errorCapacity);
    }
    return -1;
}

TP_SPM_EXPORT int tp_spm_piece_count(const void* model) {
    return processor(model)->GetPieceSize();
}

TP_SPM_EXPORT int tp_spm_piece_to_id(const void* model, const char* piece, size_t size) {
    return processor(model)->PieceToId(std::string_view(piece, size));
}

// The piece's UTF-8 bytes: returns their length (the first `capacity` are written), or -1 for an
// id outside the model.
TP_SPM_EXPORT int tp_spm_id_to_piece(const void* model, int id, char* buffer, size_t capacity) {
    if (id < 0 || id >= processor(model)->GetPieceSize())
        return -1;
    const std::string& piece = processor(model)->IdToPiece(id);
    std::memcpy(buffer, piece.data(), std::min(piece.size(), capacity));
    return int(piece.size());
}

TP_SPM_EXPORT int tp_spm_is_unknown(const void* model, int id) {
    return processor(model)->IsUnknown(id) ? 1 : 0;
}
