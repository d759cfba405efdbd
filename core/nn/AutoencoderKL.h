#pragma once

#include "core/common/Result.h"
#include "core/nn/Layers.h"
#include "core/nn/UNetBlocks.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <optional>
#include <vector>

namespace tp::nn {

// diffusers AutoencoderKL, as its config.json describes it.
struct AutoencoderKLConfig {
    int64_t inChannels = 3;
    int64_t outChannels = 3;
    std::vector<int64_t> blockOutChannels;
    int64_t layersPerBlock = 1;
    int64_t latentChannels = 4;
    int64_t normNumGroups = 32;
    Activation activation = Activation::Silu;
    bool midBlockAddAttention = true;
    bool useQuantConv = true;
    bool usePostQuantConv = true;
    // Exposed for the pipeline; the module does not apply them:
    // latents = (mean - shift) * scaling on encode, z / scaling + shift before decode.
    double scalingFactor = 0.18215;
    std::optional<double> shiftFactor;
    bool forceUpcast = true; // diffusers runs this VAE in float32 when the pipeline is float16
    int64_t sampleSize = 0;  // informational

    // The spatial factor between image and latent (2^(levels-1)).
    int64_t downscaleFactor() const { return int64_t(1) << (blockOutChannels.size() - 1); }

    static Result<AutoencoderKLConfig> fromJson(const QJsonObject& json);
    static Result<AutoencoderKLConfig> fromFile(const QString& path);
};

// The encoder's posterior: a diagonal Gaussian per latent element.
struct LatentDistribution {
    at::Tensor mean;   // [B, latent, h, w]
    at::Tensor logvar; // clamped to [-30, 20] like diffusers
    at::Tensor std;    // exp(0.5 * logvar)
    // mean + std * noise, noise drawn from `generator` (or the default one) on mean's device.
    at::Tensor sample(c10::optional<at::Generator> generator = c10::nullopt) const;
};

class VaeEncoderImpl final : public torch::nn::Module {
public:
    VaeEncoderImpl(const AutoencoderKLConfig& config, const at::TensorOptions& tensorOptions);
    at::Tensor forward(const at::Tensor& image) const; // -> [B, 2*latent, h, w]

private:
    Activation m_activation;
    Conv2d m_convIn{nullptr};
    std::vector<DownBlock2D> m_downBlocks;
    MidBlock2D m_midBlock{nullptr};
    GroupNorm m_convNormOut{nullptr};
    Conv2d m_convOut{nullptr};
};
TORCH_MODULE(VaeEncoder);

class VaeDecoderImpl final : public torch::nn::Module {
public:
    VaeDecoderImpl(const AutoencoderKLConfig& config, const at::TensorOptions& tensorOptions);
    at::Tensor forward(const at::Tensor& latents) const;

private:
    Activation m_activation;
    Conv2d m_convIn{nullptr};
    MidBlock2D m_midBlock{nullptr};
    std::vector<UpBlock2D> m_upBlocks;
    GroupNorm m_convNormOut{nullptr};
    Conv2d m_convOut{nullptr};
};
TORCH_MODULE(VaeDecoder);

class AutoencoderKLImpl final : public torch::nn::Module {
public:
    explicit AutoencoderKLImpl(const AutoencoderKLConfig& config,
                               const at::TensorOptions& tensorOptions = at::TensorOptions());

    // image [B, in, H, W] in [-1, 1] -> posterior (no scaling factor applied).
    LatentDistribution encode(const at::Tensor& image) const;
    // latents [B, latent, h, w] (already divided by the scaling factor) -> image in ~[-1, 1].
    at::Tensor decode(const at::Tensor& latents) const;
    // The pipelines' latents (the denoiser's space) -> image: z / scaling_factor (+ shift_factor),
    // cast to the VAE's dtype, then decode().
    at::Tensor decodeScaled(const at::Tensor& latents) const;

    const AutoencoderKLConfig& config() const { return m_config; }

private:
    AutoencoderKLConfig m_config;
    VaeEncoder m_encoder{nullptr};
    VaeDecoder m_decoder{nullptr};
    Conv2d m_quantConv{nullptr};
    Conv2d m_postQuantConv{nullptr};
};
TORCH_MODULE(AutoencoderKL);

} // namespace tp::nn
