#include "core/services/VramEstimate.h"

#include "core/services/Format.h"

#include <algorithm>

namespace tp::services {

GenerationVramEstimate estimateGenerationVram(const GenerationShape& s) {
    GenerationVramEstimate e;
    const int scale = std::max(1, s.latentScale);
    const bool dit = s.denoiser == GenerationShape::Denoiser::Dit;
    const int patch = dit ? std::max(1, s.patchSize) : 1;
    const qint64 tokens =
        qint64(std::max(1, s.width / scale / patch)) * std::max(1, s.height / scale / patch) +
        (dit ? std::max(0, s.contextTokens) : 0);
    const qint64 batch = std::max(1, s.batch);
    const qint64 n = batch * (s.guidance ? 2 : 1);
    const qint64 b = std::max(1, s.bytesPerElement);
    const qint64 perToken =
        (dit ? 16 * qint64(std::max(1, s.ditHidden)) : 24 * qint64(std::max(1, s.baseChannels))) +
        (s.materializedAttention ? qint64(std::max(1, s.attentionHeads)) * tokens : 0);
    e.weightsBytes = std::max<qint64>(0, s.weightsBytes);
    e.unetBytes = n * tokens * b * perToken;
    e.vaeBytes = estimateVaeDecodeVram(s.width, s.height, int(batch));
    e.workingBytes = std::max(e.unetBytes, e.vaeBytes);
    e.totalBytes = e.weightsBytes + e.workingBytes;
    e.explanation =
        QStringLiteral("%1x%2, batch %3: weights %4 + working memory %5 (%9 %6, VAE decode %7) = %8")
            .arg(s.width)
            .arg(s.height)
            .arg(batch)
            .arg(formatBytes(e.weightsBytes), formatBytes(e.workingBytes), formatBytes(e.unetBytes),
                 formatBytes(e.vaeBytes), formatBytes(e.totalBytes),
                 dit ? QStringLiteral("transformer") : QStringLiteral("UNet"));
    return e;
}

qint64 estimateVaeDecodeVram(int width, int height, int batch) {
    return qint64(std::max(1, batch)) * std::max(1, width) * std::max(1, height) * 4 * 128 * 4;
}

qint64 estimateTiledVaeDecodeVram(int width, int height, int batch, int tileSide) {
    const int tileW = std::min(std::max(1, width), std::max(8, tileSide));
    const int tileH = std::min(std::max(1, height), std::max(8, tileSide));
    return estimateVaeDecodeVram(tileW, tileH, batch) +
           qint64(std::max(1, batch)) * std::max(1, width) * std::max(1, height) * 3 * 4;
}

qint64 estimateTextEncoderVram(const TextEncoderShape& s) {
    const qint64 seq = std::max(1, s.sequence);
    return qint64(std::max(1, s.prompts)) * seq * std::max(1, s.bytesPerElement) *
           (6 * qint64(std::max(1, s.hidden)) + 2 * qint64(std::max(1, s.ffn)) +
            qint64(std::max(1, s.heads)) * seq);
}

} // namespace tp::services
