#pragma once

// The byte-level BPE model and special tokens of a Hugging Face `tokenizer.json`, for tokenizer
// folders that have no vocab.json/merges.txt (transformers 5 saves CLIP tokenizers that way):
// {"model": {"type": "BPE", "vocab": {token: id}, "merges": ["a b", …] or [["a", "b"], …],
//  "unk_token": …, "end_of_word_suffix": "</w>"}, "added_tokens": [{"id", "content", …}],
//  "post_processor": {"cls": [token, id], "sep": [token, id]}, "padding": {"pad_token": …}}.

#include "core/common/Result.h"
#include "core/text/VocabJson.h"

#include <QString>

#include <string>
#include <utility>
#include <vector>

namespace tp::text {

struct TokenizerJson final {
    struct AddedToken {
        QString content;
        std::int64_t id = -1;
        bool normalized = false;
    };

    VocabJson vocab;
    std::vector<std::pair<std::string, std::string>> merges; // in rank order, UTF-8
    QString unkToken;                                        // model.unk_token; empty when absent
    QString bosToken; // the post-processor's first (cls) token; empty when absent
    QString eosToken; // its last (sep) token
    QString padToken; // padding.pad_token; empty when absent
    std::vector<AddedToken> addedTokens;

    // Reads and checks the file: model.type must be "BPE" with CLIP's "</w>" word suffix.
    // Messages name the file and what is wrong.
    static Result<TokenizerJson> read(const QString& path);
};

} // namespace tp::text
