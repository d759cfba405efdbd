#pragma once

#include <ATen/ATen.h>

#include <QImage>
#include <QJsonObject>
#include <QVector>

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

} // namespace tp::pipeline
