#include "core/nn/AutoencoderKL.h"

#include "core/nn/ConfigJson.h"

#include <algorithm>
#include <functional>

namespace tp::nn {

namespace {
// diffusers' Encoder/Decoder use eps 1e-6 for every norm, whatever the config says.
constexpr double kNormEps = 1e-6;

ResnetGroupOptions vaeResnets(const AutoencoderKLConfig& c) {
    ResnetGroupOptions r;
    r.tembChannels = 0;
    r.groups = c.normNumGroups;
    r.eps = kNormEps;
    r.activation = c.activation;
    return r;
}
} // namespace

Result<AutoencoderKLConfig> AutoencoderKLConfig::fromJson(const QJsonObject& json) {
    ConfigReader r(json, QStringLiteral("vae"));
    AutoencoderKLConfig c;
    c.inChannels = r.integer("in_channels", 3);
    c.outChannels = r.integer("out_channels", 3);
    const auto down = r.stringList("down_block_types");
    const auto up = r.stringList("up_block_types");
    c.blockOutChannels = r.integerList("block_out_channels", int(down.size()));
    c.layersPerBlock = r.integer("layers_per_block", 1);
    c.latentChannels = r.integer("latent_channels", 4);
    c.normNumGroups = r.integer("norm_num_groups", 32);
    if (auto act = parseActivation(r.string("act_fn", QStringLiteral("silu"))))
        c.activation = *act;
    else
        r.fail(act.error());
    c.midBlockAddAttention = r.boolean("mid_block_add_attention", true);
    c.useQuantConv = r.boolean("use_quant_conv", true);
    c.usePostQuantConv = r.boolean("use_post_quant_conv", true);
    c.scalingFactor = r.number("scaling_factor", 0.18215);
    if (r.has("shift_factor"))
        c.shiftFactor = r.number("shift_factor", 0.0);
    c.forceUpcast = r.boolean("force_upcast", true);
    c.sampleSize = json.value(QStringLiteral("sample_size")).isDouble() ? r.integer("sample_size") : 0;
    if (r.has("latents_mean") || r.has("latents_std"))
        r.fail(QStringLiteral("\"latents_mean\"/\"latents_std\" are not supported yet"));
    if (!r.status())
        return Result<AutoencoderKLConfig>::fail(r.status().error());

    if (down.isEmpty())
        r.fail(QStringLiteral("\"down_block_types\" is empty"));
    if (up.size() != down.size())
        r.fail(QStringLiteral("%1 down blocks but %2 up blocks").arg(down.size()).arg(up.size()));
    for (const auto& t : down)
        if (t != QLatin1String("DownEncoderBlock2D"))
            r.fail(
                QStringLiteral("down block type \"%1\" is not supported (only DownEncoderBlock2D)").arg(t));
    for (const auto& t : up)
        if (t != QLatin1String("UpDecoderBlock2D"))
            r.fail(QStringLiteral("up block type \"%1\" is not supported (only UpDecoderBlock2D)").arg(t));
    for (size_t i = 0; i < c.blockOutChannels.size(); ++i)
        if (c.normNumGroups <= 0 || c.blockOutChannels[i] <= 0 ||
            c.blockOutChannels[i] % c.normNumGroups != 0)
            r.fail(QStringLiteral("block_out_channels[%1] = %2 is not a multiple of norm_num_groups %3")
                       .arg(i)
                       .arg(c.blockOutChannels[i])
                       .arg(c.normNumGroups));
    if (c.layersPerBlock <= 0 || c.latentChannels <= 0)
        r.fail(QStringLiteral("layers_per_block and latent_channels must be positive"));
    if (!r.status())
        return Result<AutoencoderKLConfig>::fail(r.status().error());
    return Result<AutoencoderKLConfig>::ok(std::move(c));
}

Result<AutoencoderKLConfig> AutoencoderKLConfig::fromFile(const QString& path) {
    auto json = ConfigReader::readFile(path);
    if (!json)
        return Result<AutoencoderKLConfig>::fail(json.error());
    auto config = fromJson(*json);
    if (!config)
        return Result<AutoencoderKLConfig>::fail(QStringLiteral("%1 (%2)").arg(config.error(), path));
    return config;
}

at::Tensor LatentDistribution::sample(c10::optional<at::Generator> generator) const {
    return mean + std * at::randn(mean.sizes(), generator, mean.options());
}

VaeEncoderImpl::VaeEncoderImpl(const AutoencoderKLConfig& c, const at::TensorOptions& o)
    : m_activation(c.activation) {
    const auto& ch = c.blockOutChannels;
    const auto resnets = vaeResnets(c);
    m_convIn = register_module("conv_in", Conv2d(c.inChannels, ch[0], 3, 1, 1, true, o));
    auto downBlocks = register_module("down_blocks", torch::nn::ModuleList());
    int64_t outputChannel = ch[0];
    for (size_t i = 0; i < ch.size(); ++i) {
        DownBlockOptions b;
        b.inChannels = outputChannel;
        outputChannel = ch[i];
        b.outChannels = outputChannel;
        b.layers = c.layersPerBlock;
        b.addDownsample = i + 1 != ch.size();
        b.downsamplePadding = 0;
        b.resnet = resnets;
        m_downBlocks.push_back(DownBlock2D(b, o));
        downBlocks->push_back(m_downBlocks.back());
    }
    m_midBlock = register_module("mid_block", MidBlock2D(ch.back(), c.midBlockAddAttention, resnets, o));
    m_convNormOut = register_module("conv_norm_out", GroupNorm(c.normNumGroups, ch.back(), kNormEps, o));
    m_convOut = register_module("conv_out", Conv2d(ch.back(), 2 * c.latentChannels, 3, 1, 1, true, o));
}

at::Tensor VaeEncoderImpl::forward(const at::Tensor& image) const {
    auto h = m_convIn->forward(image);
    for (const auto& block : m_downBlocks)
        h = block->forward(h, {}, {}, nullptr);
    h = m_midBlock->forward(h);
    return m_convOut->forward(activate(m_convNormOut->forward(h), m_activation));
}

VaeDecoderImpl::VaeDecoderImpl(const AutoencoderKLConfig& c, const at::TensorOptions& o)
    : m_activation(c.activation) {
    const auto& ch = c.blockOutChannels;
    const auto resnets = vaeResnets(c);
    m_convIn = register_module("conv_in", Conv2d(c.latentChannels, ch.back(), 3, 1, 1, true, o));
    m_midBlock = register_module("mid_block", MidBlock2D(ch.back(), c.midBlockAddAttention, resnets, o));
    auto upBlocks = register_module("up_blocks", torch::nn::ModuleList());
    const std::vector<int64_t> reversed(ch.rbegin(), ch.rend());
    int64_t outputChannel = reversed[0];
    for (size_t i = 0; i < reversed.size(); ++i) {
        UpBlockOptions b;
        b.inChannels = outputChannel; // UpDecoderBlock2D(in_channels = prev_output_channel)
        outputChannel = reversed[i];
        b.outChannels = outputChannel;
        b.layers = c.layersPerBlock + 1;
        b.skipConnections = false;
        b.addUpsample = i + 1 != reversed.size();
        b.resnet = resnets;
        m_upBlocks.push_back(UpBlock2D(b, o));
        upBlocks->push_back(m_upBlocks.back());
    }
    m_convNormOut = register_module("conv_norm_out", GroupNorm(c.normNumGroups, ch[0], kNormEps, o));
    m_convOut = register_module("conv_out", Conv2d(ch[0], c.outChannels, 3, 1, 1, true, o));
}

at::Tensor VaeDecoderImpl::forward(const at::Tensor& latents) const {
    auto h = m_convIn->forward(latents);
    h = m_midBlock->forward(h);
    for (const auto& block : m_upBlocks)
        h = block->forward(h, {}, {}, nullptr);
    return m_convOut->forward(activate(m_convNormOut->forward(h), m_activation));
}

AutoencoderKLImpl::AutoencoderKLImpl(const AutoencoderKLConfig& config,
                                     const at::TensorOptions& tensorOptions)
    : torch::nn::Module("vae")
    , m_config(config) {
    TORCH_CHECK(!config.blockOutChannels.empty(), "AutoencoderKL: empty block_out_channels");
    const auto latent = config.latentChannels;
    m_encoder = register_module("encoder", VaeEncoder(config, tensorOptions));
    m_decoder = register_module("decoder", VaeDecoder(config, tensorOptions));
    if (config.useQuantConv)
        m_quantConv =
            register_module("quant_conv", Conv2d(2 * latent, 2 * latent, 1, 1, 0, true, tensorOptions));
    if (config.usePostQuantConv)
        m_postQuantConv =
            register_module("post_quant_conv", Conv2d(latent, latent, 1, 1, 0, true, tensorOptions));
}

at::Tensor AutoencoderKLImpl::encodeMoments(const at::Tensor& image) const {
    TORCH_CHECK(image.dim() == 4 && image.size(1) == m_config.inChannels, "VAE: image must be [B, ",
                m_config.inChannels, ", H, W], got ", image.sizes());
    auto moments = m_encoder->forward(image);
    return m_quantConv ? m_quantConv->forward(moments) : moments;
}

LatentDistribution LatentDistribution::fromMoments(const at::Tensor& moments) {
    auto parts = moments.chunk(2, 1);
    LatentDistribution d;
    d.mean = parts[0];
    d.logvar = parts[1].clamp(-30.0, 20.0);
    d.std = at::exp(0.5 * d.logvar);
    return d;
}

LatentDistribution AutoencoderKLImpl::encode(const at::Tensor& image) const {
    return LatentDistribution::fromMoments(encodeMoments(image));
}

at::Tensor AutoencoderKLImpl::decode(const at::Tensor& latents) const {
    TORCH_CHECK(latents.dim() == 4 && latents.size(1) == m_config.latentChannels, "VAE: latents must be [B, ",
                m_config.latentChannels, ", h, w], got ", latents.sizes());
    auto z = m_postQuantConv ? m_postQuantConv->forward(latents) : latents;
    return m_decoder->forward(z);
}

at::Tensor AutoencoderKLImpl::unscale(const at::Tensor& latents) const {
    // The VAE's own dtype (SDXL's stays float32 where the rest runs in float16: force_upcast).
    const std::vector<at::Tensor> weights = parameters();
    at::Tensor z = latents.to(weights.empty() ? latents.scalar_type() : weights.front().scalar_type()) /
                   m_config.scalingFactor;
    if (m_config.shiftFactor)
        z = z + *m_config.shiftFactor;
    return z;
}

at::Tensor AutoencoderKLImpl::decodeScaled(const at::Tensor& latents) const {
    return decode(unscale(latents));
}

AutoencoderKLImpl::TileGeometry AutoencoderKLImpl::geometry(const VaeTiling& tiling) const {
    const int64_t factor = m_config.downscaleFactor();
    TileGeometry g;
    g.sampleTile = tiling.sampleTileSize > 0 ? tiling.sampleTileSize : m_config.defaultTileSize();
    TORCH_CHECK(g.sampleTile >= factor && g.sampleTile % factor == 0, "VAE tiling: a tile of ", g.sampleTile,
                " px is not a positive multiple of the VAE's downscale factor ", factor);
    TORCH_CHECK(tiling.overlap >= 0.0 && tiling.overlap < 1.0, "VAE tiling: the overlap ", tiling.overlap,
                " is not in [0, 1)");
    g.latentTile = g.sampleTile / factor;
    g.latentStride = std::max<int64_t>(1, int64_t(double(g.latentTile) * (1.0 - tiling.overlap)));
    return g;
}

namespace {

// diffusers' blend_v (dim 2) / blend_h (dim 3), in place: b's first `extent` rows or columns fade
// from a's last ones (weight 1 - y/extent) to b's own (y/extent), with the weights computed in
// double and applied in the tensors' dtype as diffusers' Python scalars are.
void blendEdge(const at::Tensor& a, at::Tensor& b, int64_t dim, int64_t extent) {
    extent = std::min({a.size(dim), b.size(dim), extent});
    if (extent <= 0)
        return;
    const at::Tensor y = at::arange(extent, at::TensorOptions().dtype(at::kDouble)) / double(extent);
    std::vector<int64_t> shape(size_t(4 - dim), 1);
    shape[0] = extent; // [extent, 1] for rows, [extent] for columns
    const auto weight = [&](const at::Tensor& w) { return w.to(b.options()).view(shape); };
    at::Tensor edge = b.narrow(dim, 0, extent);
    edge.copy_(a.narrow(dim, a.size(dim) - extent, extent) * weight(1.0 - y) + edge * weight(y));
}

// The loop of diffusers' tiled_decode/_tiled_encode: tiles of `tile` elements of `input` (dims 2
// and 3) every `stride` elements through `run`; each result blends `blend` rows and columns from
// its (already blended) neighbours above and to the left and keeps its first `keep`. Only one row
// of whole tiles is held at a time.
at::Tensor tiledRun(const at::Tensor& input, int64_t tile, int64_t stride, int64_t keep, int64_t blend,
                    const std::function<at::Tensor(const at::Tensor&)>& run) {
    std::vector<at::Tensor> rows;  // finished rows of the output
    std::vector<at::Tensor> above; // the previous row's tiles, blended, uncut
    for (int64_t i = 0; i < input.size(2); i += stride) {
        std::vector<at::Tensor> row;
        for (int64_t j = 0; j < input.size(3); j += stride) {
            at::Tensor out = run(input.slice(2, i, i + tile).slice(3, j, j + tile));
            if (!above.empty())
                blendEdge(above[row.size()], out, 2, blend);
            if (!row.empty())
                blendEdge(row.back(), out, 3, blend);
            row.push_back(out);
        }
        std::vector<at::Tensor> kept;
        kept.reserve(row.size());
        for (const at::Tensor& t : row)
            kept.push_back(t.slice(2, 0, keep).slice(3, 0, keep));
        rows.push_back(at::cat(kept, 3));
        above = std::move(row);
    }
    return at::cat(rows, 2);
}

} // namespace

// diffusers derives the overlap kept and blended from the tile size (row_limit = tile -
// int(tile * overlap)); here from the stride, so that the pieces always add up to the input's size.
// The two agree whenever diffusers' own do (latent tiles a multiple of 4 at overlap 0.25, as
// every real VAE's sample_size gives).
at::Tensor AutoencoderKLImpl::decodeTiled(const at::Tensor& latents, const VaeTiling& tiling) const {
    const TileGeometry g = geometry(tiling);
    TORCH_CHECK(latents.dim() == 4, "VAE: latents must be [B, ", m_config.latentChannels, ", h, w], got ",
                latents.sizes());
    if (latents.size(2) <= g.latentTile && latents.size(3) <= g.latentTile)
        return decode(latents);
    const int64_t factor = m_config.downscaleFactor();
    return tiledRun(latents, g.latentTile, g.latentStride, g.latentStride * factor,
                    (g.latentTile - g.latentStride) * factor,
                    [this](const at::Tensor& tile) { return decode(tile); });
}

at::Tensor AutoencoderKLImpl::decodeScaledTiled(const at::Tensor& latents, const VaeTiling& tiling) const {
    return decodeTiled(unscale(latents), tiling);
}

LatentDistribution AutoencoderKLImpl::encodeTiled(const at::Tensor& image, const VaeTiling& tiling) const {
    const TileGeometry g = geometry(tiling);
    TORCH_CHECK(image.dim() == 4, "VAE: image must be [B, ", m_config.inChannels, ", H, W], got ",
                image.sizes());
    if (image.size(2) <= g.sampleTile && image.size(3) <= g.sampleTile)
        return encode(image);
    const int64_t factor = m_config.downscaleFactor();
    return LatentDistribution::fromMoments(
        tiledRun(image, g.sampleTile, g.latentStride * factor, g.latentStride, g.latentTile - g.latentStride,
                 [this](const at::Tensor& tile) { return encodeMoments(tile); }));
}

} // namespace tp::nn
