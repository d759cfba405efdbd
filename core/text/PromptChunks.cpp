#include "core/text/PromptChunks.h"

#include <algorithm>
#include <optional>

namespace tp::text {

namespace {

int resolvedChunkLength(const ClipTokenizer& tokenizer, int chunkLength) {
    return chunkLength > 0 ? chunkLength : std::max(1, tokenizer.modelMaxLength() - 2);
}

// Chunk construction state, as webui's tokenize_line keeps it.
class Chunker {
public:
    Chunker(const ClipTokenizer& tokenizer, int chunkLength, int commaBacktrack)
        : m_tokenizer(tokenizer)
        , m_chunkLength(size_t(chunkLength))
        , m_commaBacktrack(commaBacktrack)
        , m_commaId(tokenizer.tokenId(QStringLiteral(",</w>"))) {}

    void add(std::int64_t token, float weight) {
        if (m_commaId && token == *m_commaId) {
            m_lastComma = std::ptrdiff_t(m_tokens.size());
        } else if (m_commaBacktrack > 0 && m_tokens.size() == m_chunkLength && m_lastComma >= 0 &&
                   std::ptrdiff_t(m_tokens.size()) - m_lastComma <= m_commaBacktrack) {
            const auto breakAt = m_lastComma + 1;
            std::vector<std::int64_t> movedTokens(m_tokens.begin() + breakAt, m_tokens.end());
            std::vector<float> movedWeights(m_weights.begin() + breakAt, m_weights.end());
            m_tokens.resize(size_t(breakAt));
            m_weights.resize(size_t(breakAt));
            close();
            m_tokens = std::move(movedTokens);
            m_weights = std::move(movedWeights);
        }
        if (m_tokens.size() == m_chunkLength)
            close();
        m_tokens.push_back(token);
        m_weights.push_back(weight);
    }

    // Pads the current chunk, appends it and starts an empty one.
    void close() {
        PromptChunk chunk;
        chunk.tokens = int(m_tokens.size());
        chunk.ids.reserve(m_chunkLength + 2);
        chunk.ids.push_back(m_tokenizer.bosId());
        chunk.ids.insert(chunk.ids.end(), m_tokens.begin(), m_tokens.end());
        chunk.ids.push_back(m_tokenizer.eosId());
        chunk.ids.resize(m_chunkLength + 2, m_tokenizer.padId());
        chunk.weights.reserve(m_chunkLength + 2);
        chunk.weights.push_back(1.0f);
        chunk.weights.insert(chunk.weights.end(), m_weights.begin(), m_weights.end());
        chunk.weights.resize(m_chunkLength + 2, 1.0f);
        m_chunks.push_back(std::move(chunk));
        m_tokens.clear();
        m_weights.clear();
        m_lastComma = -1;
    }

    std::vector<PromptChunk> finish() {
        if (!m_tokens.empty() || m_chunks.empty())
            close();
        return std::move(m_chunks);
    }

private:
    const ClipTokenizer& m_tokenizer;
    size_t m_chunkLength;
    int m_commaBacktrack;
    std::optional<std::int64_t> m_commaId;
    std::vector<std::int64_t> m_tokens;
    std::vector<float> m_weights;
    std::ptrdiff_t m_lastComma = -1;
    std::vector<PromptChunk> m_chunks;
};

} // namespace

bool ChunkedPrompt::weighted() const {
    if (emphasis == Emphasis::Ignore || emphasis == Emphasis::Off)
        return false;
    for (const PromptChunk& chunk : chunks)
        for (float w : chunk.weights)
            if (w != 1.0f)
                return true;
    return false;
}

std::vector<std::int64_t> ChunkedPrompt::allIds() const {
    std::vector<std::int64_t> ids;
    for (const PromptChunk& chunk : chunks)
        ids.insert(ids.end(), chunk.ids.begin(), chunk.ids.end());
    return ids;
}

std::vector<float> ChunkedPrompt::allWeights() const {
    std::vector<float> weights;
    for (const PromptChunk& chunk : chunks)
        weights.insert(weights.end(), chunk.weights.begin(), chunk.weights.end());
    return weights;
}

ChunkedPrompt chunkSegments(const ClipTokenizer& tokenizer, const std::vector<PromptSegment>& segments,
                            const ChunkOptions& options) {
    ChunkedPrompt out;
    out.chunkLength = resolvedChunkLength(tokenizer, options.chunkLength);
    out.emphasis = options.emphasis;
    Chunker chunker(tokenizer, out.chunkLength, options.commaBacktrack);
    for (const PromptSegment& segment : segments) {
        if (segment.isBreak) {
            chunker.close();
            continue;
        }
        // Python's float → torch.asarray → float32, as webui's multipliers.
        const auto weight = static_cast<float>(segment.weight);
        for (std::int64_t token : tokenizer.encode(segment.text)) {
            chunker.add(token, weight);
            ++out.promptTokens;
        }
    }
    out.chunks = chunker.finish();
    return out;
}

ChunkedPrompt chunkPrompt(const ClipTokenizer& tokenizer, const QString& prompt,
                          const ChunkOptions& options) {
    return chunkSegments(tokenizer, parsePrompt(prompt, options.emphasis), options);
}

PromptChunk emptyChunk(const ClipTokenizer& tokenizer, int chunkLength) {
    Chunker chunker(tokenizer, resolvedChunkLength(tokenizer, chunkLength), 0);
    return chunker.finish().front();
}

void padToSameChunkCount(ChunkedPrompt& a, ChunkedPrompt& b, const ClipTokenizer& tokenizer) {
    ChunkedPrompt& shorter = a.chunks.size() < b.chunks.size() ? a : b;
    const size_t target = std::max(a.chunks.size(), b.chunks.size());
    if (shorter.chunks.size() == target)
        return;
    const PromptChunk empty = emptyChunk(tokenizer, shorter.chunkLength);
    shorter.chunks.resize(target, empty);
}

QString chunkSummary(const ChunkedPrompt& prompt) {
    return QStringLiteral("%1 %2 (%3 %4)")
        .arg(prompt.chunkCount())
        .arg(prompt.chunkCount() == 1 ? QStringLiteral("chunk") : QStringLiteral("chunks"))
        .arg(prompt.promptTokens)
        .arg(prompt.promptTokens == 1 ? QStringLiteral("token") : QStringLiteral("tokens"));
}

} // namespace tp::text
