#pragma once

#include "core/common/Result.h"
#include "core/nn/Layers.h"
#include "core/nn/UNetBlocks.h"
#include "core/nn/VaeTiling.h"

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
    // The image-space tile edge VaeTiling{} (sampleTileSize 0) means: sample_size as diffusers
    // takes it, or 512 px when the config has none or a smaller one than 256 px.
    int64_t defaultTileSize() const { return sampleSize >= 256 ? sampleSize : 512; }

    static Result<AutoencoderKLConfig> fromJson(const QJsonObject& json);
    static Result<AutoencoderKLConfig> fromFile(const QString& path);
};

// The encoder's posterior: a diagonal Gaussian per latent element.
struct LatentDistribution {
    at::Tensor mean;   // [B, latent, h, w]
    at::Tensor logvar; // clamped to [-30, 20] like diffusers
    at::Tensor std;    // exp(0.5 * logvar)
    // From the encoder's moments [B, 2*latent, h, w] (mean; logvar), as diffusers'
    // DiagonalGaussianDistribution.
    static LatentDistribution fromMoments(const at::Tensor& moments);
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

    // Tiled versions (diffusers' enable_tiling(): its tiled_decode/_tiled_encode with blend_v/
    // blend_h). An input no larger than one tile in both directions takes the one-pass path, so
    // its result is bit-identical to decode()/encode(); a larger one is cut into tiles of
    // geometry(tiling).latentTile latents (sampleTile pixels) every latentStride latents, each
    // through the one-pass code. Throws c10::Error for a tiling that does not fit this VAE.
    at::Tensor decodeTiled(const at::Tensor& latents, const VaeTiling& tiling) const;
    at::Tensor decodeScaledTiled(const at::Tensor& latents, const VaeTiling& tiling) const;
    LatentDistribution encodeTiled(const at::Tensor& image, const VaeTiling& tiling) const;

    // What a VaeTiling means for this VAE.
    struct TileGeometry {
        int64_t sampleTile = 0;   // tile edge in pixels
        int64_t latentTile = 0;   // tile edge in latents: sampleTile / downscale factor
        int64_t latentStride = 0; // tile starts: int(latentTile * (1 - overlap)), at least 1
    };
    TileGeometry geometry(const VaeTiling& tiling) const;

    const AutoencoderKLConfig& config() const { return m_config; }

private:
    // Encoder and quant_conv: the posterior's moments [B, 2*latent, h, w].
    at::Tensor encodeMoments(const at::Tensor& image) const;
    // decodeScaled()'s first half: the pipeline's latents in the VAE's space and dtype.
    at::Tensor unscale(const at::Tensor& latents) const;

    AutoencoderKLConfig m_config;
    VaeEncoder m_encoder{nullptr};
    VaeDecoder m_decoder{nullptr};
    Conv2d m_quantConv{nullptr};
    Conv2d m_postQuantConv{nullptr};
};
TORCH_MODULE(AutoencoderKL);

} // namespace tp::nn
