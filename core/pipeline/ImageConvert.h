#pragma once

#include <ATen/ATen.h>

#include <QImage>
#include <QJsonObject>
#include <QVector>

#include <memory>

namespace tp::pipeline {

// [3, H, W] or [1, 3, H, W] floats in 0..1 (any device/dtype) -> 8-bit RGB image, rounded
// like PIL's (x * 255).round() after the pipeline's clamp.
QImage toQImage(const at::Tensor& image);
// [N, 3, H, W] -> N images.
QVector<QImage> toQImages(const at::Tensor& images);
// RGB image -> [1, 3, H, W] float32 in -1..1 on the CPU (the VAE encoder's input).
at::Tensor fromQImage(const QImage& image);

// A cheap latent -> RGB approximation for the live preview: a per-model linear map
// (vae/config.json "latent_rgb_factors" when the model ships one, else the well-known SD
// 1.x/2.x factors), no VAE call. Returns a small image (one pixel per latent).
class LatentPreview final {
public:
    explicit LatentPreview(const QJsonObject& vaeConfig, int latentChannels);
    QImage render(const at::Tensor& latents) const; // [B, C, h, w]: the first image
    bool available() const { return m_factors.defined(); }

private:
    at::Tensor m_factors; // [C, 3] float32
    at::Tensor m_bias;    // [3]
};

// The live preview without a host sync in the sampling loop (issue 17): start() queues a copy of the
// first image's latents into pinned host memory behind the step's work on the GPU and returns at
// once; take() renders it when that copy has finished (polling, never waiting) and otherwise returns
// a null image, so the preview shows up one or two steps later instead of stalling a step. One copy
// is in flight at a time. On the CPU the copy is done when start() returns.
class AsyncLatentPreview final {
public:
    explicit AsyncLatentPreview(const LatentPreview& preview);
    ~AsyncLatentPreview();
    AsyncLatentPreview(const AsyncLatentPreview&) = delete;
    AsyncLatentPreview& operator=(const AsyncLatentPreview&) = delete;

    bool pending() const { return m_pending; }
    void start(const at::Tensor& latents); // [B, C, h, w]; ignored while a copy is pending
    QImage take();                         // the image once its copy is done, else null

private:
    struct Copy;
    const LatentPreview& m_preview;
    at::Tensor m_host; // the first image's latents, pinned when they come from the GPU
    std::unique_ptr<Copy> m_copy;
    bool m_pending = false;
    bool m_fromGpu = false; // m_host is pinned and filled by an asynchronous copy
};

} // namespace tp::pipeline
