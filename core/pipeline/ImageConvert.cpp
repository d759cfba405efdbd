#include "core/pipeline/ImageConvert.h"

#include <QJsonArray>

#if TWISTEDPIC_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace tp::pipeline {

QImage toQImage(const at::Tensor& image) {
    at::Tensor t = image.dim() == 4 ? image[0] : image;
    t = t.detach()
            .to(at::kCPU, at::kFloat)
            .clamp(0, 1)
            .mul(255)
            .round()
            .to(at::kByte)
            .permute({1, 2, 0})
            .contiguous();
    const int h = static_cast<int>(t.size(0));
    const int w = static_cast<int>(t.size(1));
    QImage out(w, h, QImage::Format_RGB888);
    const uint8_t* src = t.data_ptr<uint8_t>();
    for (int y = 0; y < h; ++y)
        memcpy(out.scanLine(y), src + static_cast<size_t>(y) * w * 3, static_cast<size_t>(w) * 3);
    return out;
}

QVector<QImage> toQImages(const at::Tensor& images) {
    QVector<QImage> out;
    for (int64_t i = 0; i < images.size(0); ++i)
        out.push_back(toQImage(images[i]));
    return out;
}

at::Tensor fromQImage(const QImage& image) {
    const QImage rgb = image.convertToFormat(QImage::Format_RGB888);
    const int w = rgb.width();
    const int h = rgb.height();
    at::Tensor t = at::empty({h, w, 3}, at::kByte);
    uint8_t* dst = t.data_ptr<uint8_t>();
    for (int y = 0; y < h; ++y)
        memcpy(dst + static_cast<size_t>(y) * w * 3, rgb.constScanLine(y), static_cast<size_t>(w) * 3);
    return t.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat).div(127.5).sub(1.0).contiguous();
}

LatentPreview::LatentPreview(const QJsonObject& vaeConfig, int latentChannels) {
    const QJsonArray rows = vaeConfig.value(QStringLiteral("latent_rgb_factors")).toArray();
    if (rows.size() == latentChannels) {
        m_factors = at::empty({latentChannels, 3}, at::kFloat);
        auto acc = m_factors.accessor<float, 2>();
        for (int c = 0; c < latentChannels; ++c)
            for (int k = 0; k < 3; ++k)
                acc[c][k] = static_cast<float>(rows[c].toArray().at(k).toDouble());
        const QJsonArray bias = vaeConfig.value(QStringLiteral("latent_rgb_bias")).toArray();
        m_bias = at::zeros({3}, at::kFloat);
        for (int k = 0; k < 3 && k < bias.size(); ++k)
            m_bias[k] = bias[k].toDouble();
    } else if (latentChannels == 4) {
        // The SD 1.x/2.x VAE's latent -> RGB least-squares factors (also used by A1111/ComfyUI).
        const float f[4][3] = {{0.3512f, 0.2297f, 0.3227f},
                               {0.3250f, 0.4974f, 0.2350f},
                               {-0.2829f, 0.1762f, 0.2721f},
                               {-0.2120f, -0.2616f, -0.7177f}};
        m_factors = at::from_blob(const_cast<float*>(&f[0][0]), {4, 3}, at::kFloat).clone();
        m_bias = at::zeros({3}, at::kFloat);
    }
}

QImage LatentPreview::render(const at::Tensor& latents) const {
    if (!available())
        return {};
    const at::Tensor l = latents[0].detach().to(at::kCPU, at::kFloat); // [C, h, w]
    const at::Tensor rgb = at::einsum("chw,ck->khw", {l, m_factors}) + m_bias.view({3, 1, 1});
    return toQImage(rgb.add(1).div(2));
}

struct AsyncLatentPreview::Copy {
#if TWISTEDPIC_WITH_CUDA
    at::cuda::CUDAEvent done; // recorded on the stream after the copy
#endif
};

AsyncLatentPreview::AsyncLatentPreview(const LatentPreview& preview)
    : m_preview(preview)
    , m_copy(std::make_unique<Copy>()) {}

AsyncLatentPreview::~AsyncLatentPreview() {
#if TWISTEDPIC_WITH_CUDA
    // The copy may still be writing into m_host: it must end before the pinned block is freed.
    if (m_pending && m_fromGpu)
        m_copy->done.synchronize();
#endif
}

void AsyncLatentPreview::start(const at::Tensor& latents) {
    if (m_pending || !m_preview.available())
        return;
    const at::Tensor first = latents[0].detach();
#if TWISTEDPIC_WITH_CUDA
    if (first.is_cuda()) {
        if (!m_host.defined() || m_host.sizes() != first.sizes() ||
            m_host.scalar_type() != first.scalar_type())
            m_host = at::empty(first.sizes(), first.options().device(at::kCPU).pinned_memory(true));
        m_host.copy_(first, /*non_blocking=*/true);
        m_copy->done.record(c10::cuda::getCurrentCUDAStream(first.device().index()));
        m_pending = m_fromGpu = true;
        return;
    }
#endif
    m_host = first.to(at::kCPU, /*non_blocking=*/false, /*copy=*/true); // not a view of the loop's latents
    m_pending = true;
    m_fromGpu = false;
}

QImage AsyncLatentPreview::take() {
    if (!m_pending)
        return {};
#if TWISTEDPIC_WITH_CUDA
    if (m_fromGpu && !m_copy->done.query())
        return {};
#endif
    m_pending = false;
    return m_preview.render(m_host.unsqueeze(0));
}

} // namespace tp::pipeline
