#include "tools/train/ShapeData.h"

#include "tools/shapes/ShapeRenderer.h"

#include <sstream>

namespace tp::train {

ShapeData::ShapeData(quint64 seed, int imageSize, at::Device device, const text::ClipTokenizer* tokenizer,
                     double captionDropout, int maxTokens)
    : m_sampler(seed)
    , m_imageSize(imageSize)
    , m_device(device)
    , m_tokenizer(tokenizer)
    , m_captionDropout(captionDropout)
    , m_maxTokens(maxTokens) {}

std::vector<int64_t> ShapeData::tokenize(const QString& caption) {
    auto it = m_tokenCache.constFind(caption);
    if (it != m_tokenCache.constEnd())
        return *it;
    std::vector<int64_t> ids = m_tokenizer->tokenize(caption, m_maxTokens).ids;
    ids.resize(size_t(m_maxTokens), m_tokenizer->padId());
    m_tokenCache.insert(caption, ids);
    return ids;
}

Batch ShapeData::next(int batchSize) {
    Batch b;
    b.scenes.reserve(size_t(batchSize));
    for (int i = 0; i < batchSize; ++i) {
        b.scenes.push_back(m_sampler.next());
        // Drawn for every scene, so the data stream does not depend on the tokenizer.
        const bool drop = m_sampler.uniform() < m_captionDropout;
        b.captions.append(drop ? QString() : shapes::caption(b.scenes.back()));
    }
    b.images = shapes::renderScenes(b.scenes, m_imageSize, m_device) * 2.0 - 1.0;
    if (m_tokenizer) {
        at::Tensor ids = at::empty({batchSize, m_maxTokens}, at::TensorOptions().dtype(at::kLong));
        int64_t* out = ids.data_ptr<int64_t>();
        for (int i = 0; i < batchSize; ++i) {
            const std::vector<int64_t> t = tokenize(b.captions[i]);
            std::copy(t.begin(), t.end(), out + int64_t(i) * m_maxTokens);
        }
        b.tokens = ids.to(m_device);
    }
    return b;
}

std::string ShapeData::state() const {
    std::ostringstream s;
    s << m_sampler.engine();
    return s.str();
}

bool ShapeData::restore(const std::string& state) {
    std::istringstream s(state);
    s >> m_sampler.engine();
    return !s.fail();
}

} // namespace tp::train
