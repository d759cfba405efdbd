#include "core/services/VramEstimate.h"

#include "core/services/Format.h"

#include <algorithm>

namespace tp::services {

GenerationVramEstimate estimateGenerationVram(const GenerationShape& s) {
    GenerationVramEstimate e;
    const int scale = std::max(1, s.latentScale);
    const qint64 tokens = qint64(std::max(1, s.width / scale)) * std::max(1, s.height / scale);
    const qint64 batch = std::max(1, s.batch);
    const qint64 n = batch * (s.guidance ? 2 : 1);
    const qint64 b = std::max(1, s.bytesPerElement);
    const qint64 perToken = 24 * qint64(std::max(1, s.baseChannels)) +
                            (s.materializedAttention ? qint64(std::max(1, s.attentionHeads)) * tokens : 0);
    e.weightsBytes = std::max<qint64>(0, s.weightsBytes);
    e.unetBytes = n * tokens * b * perToken;
    e.vaeBytes = batch * qint64(std::max(1, s.width)) * std::max(1, s.height) * 4 * 128 * 4;
    e.workingBytes = std::max(e.unetBytes, e.vaeBytes);
    e.totalBytes = e.weightsBytes + e.workingBytes;
    e.explanation =
        QStringLiteral("%1x%2, batch %3: weights %4 + working memory %5 (UNet %6, VAE decode %7) = %8")
            .arg(s.width)
            .arg(s.height)
            .arg(batch)
            .arg(formatBytes(e.weightsBytes), formatBytes(e.workingBytes), formatBytes(e.unetBytes),
                 formatBytes(e.vaeBytes), formatBytes(e.totalBytes));
    return e;
}

} // namespace tp::services
