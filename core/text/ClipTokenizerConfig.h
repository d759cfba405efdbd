#pragma once

#include "core/common/Result.h"

#include <QString>

#include <cstdint>
#include <vector>

namespace tp::text {

// What tokenizer_config.json and special_tokens_map.json say about a CLIP tokenizer; both are
// optional, special_tokens_map.json wins where both name a token (as in transformers).
struct ClipTokenizerConfig final {
    struct Token {
        QString content;
        bool normalized = false; // {"content": …, "normalized": true}: matched after normalisation
        QString origin;          // the file that named it, for messages
        bool isDefault = false;  // CLIPTokenizer's default: no file named it
    };
    struct AddedToken { // tokenizer_config.json's added_tokens_decoder
        QString content;
        std::int64_t id = -1;
        bool normalized = false;
    };

    // CLIPTokenizer's defaults; SD 2.x (OpenCLIP) folders set pad to "!".
    Token bos{QStringLiteral("<|startoftext|>"), false, QStringLiteral("the CLIP default"), true};
    Token eos{QStringLiteral("<|endoftext|>"), false, QStringLiteral("the CLIP default"), true};
    Token unk{QStringLiteral("<|endoftext|>"), false, QStringLiteral("the CLIP default"), true};
    Token pad{QStringLiteral("<|endoftext|>"), false, QStringLiteral("the CLIP default"), true};
    int modelMaxLength = 77;
    std::vector<AddedToken> addedTokens;

    static Result<ClipTokenizerConfig> read(const QString& folder);
};

} // namespace tp::text
