#include "core/nn/UNet2DCondition.h"

#include "core/nn/ConfigJson.h"

#include <algorithm>

namespace tp::nn {

namespace {

const QString kComponent = QStringLiteral("unet");

// Keys whose non-default values select parts of diffusers' UNet that SD 1.x/2.x/SDXL
// checkpoints do not use and this implementation does not have.
void rejectUnsupported(ConfigReader& r, const QJsonObject& json) {
    auto nullOnly = [&](const char* key) {
        if (r.has(key))
            r.fail(QStringLiteral("\"%1\" = %2 is not supported yet (only null)")
                       .arg(QLatin1String(key), json.value(QLatin1String(key)).toVariant().toString()));
    };
    for (const char* key : {"class_embed_type", "num_class_embeds", "encoder_hid_dim", "encoder_hid_dim_type",
                            "time_embedding_act_fn", "timestep_post_act", "cross_attention_norm"})
        nullOnly(key);
    if (r.boolean("dual_cross_attention", false))
        r.fail(QStringLiteral("\"dual_cross_attention\" = true is not supported"));
    if (r.boolean("class_embeddings_concat", false))
        r.fail(QStringLiteral("\"class_embeddings_concat\" = true is not supported"));
    const auto timeType = r.string("time_embedding_type", QStringLiteral("positional"));
    if (timeType != QLatin1String("positional"))
        r.fail(QStringLiteral("time_embedding_type \"%1\" is not supported yet (only \"positional\")")
                   .arg(timeType));
    const auto attentionType = r.string("attention_type", QStringLiteral("default"));
    if (attentionType != QLatin1String("default"))
        r.fail(QStringLiteral("attention_type \"%1\" is not supported yet (only \"default\")")
                   .arg(attentionType));
}

} // namespace

Result<UNet2DConditionConfig> UNet2DConditionConfig::fromJson(const QJsonObject& json) {
    ConfigReader r(json, kComponent);
    UNet2DConditionConfig c;
    rejectUnsupported(r, json);

    c.inChannels = r.integer("in_channels", 4);
    c.outChannels = r.integer("out_channels", 4);
    c.centerInputSample = r.boolean("center_input_sample", false);
    c.flipSinToCos = r.boolean("flip_sin_to_cos", true);
    c.freqShift = r.number("freq_shift", 0);
    c.downBlockTypes = r.stringList("down_block_types");
    c.upBlockTypes = r.stringList("up_block_types");
    const int n = int(c.downBlockTypes.size());
    c.blockOutChannels = r.integerList("block_out_channels", n);
    c.layersPerBlock = r.integerList("layers_per_block", n, 2);
    c.downsamplePadding = r.integer("downsample_padding", 1);
    c.midBlockScaleFactor = r.number("mid_block_scale_factor", 1.0);
    if (auto act = parseActivation(r.string("act_fn", QStringLiteral("silu"))))
        c.activation = *act;
    else
        r.fail(act.error());
    c.normNumGroups = r.integer("norm_num_groups", 32);
    c.normEps = r.number("norm_eps", 1e-5);
    c.crossAttentionDim = r.integerList("cross_attention_dim", n, 1280);
    c.transformerLayersPerBlock = r.integerList("transformer_layers_per_block", n, 1);
    if (r.has("reverse_transformer_layers_per_block"))
        c.reverseTransformerLayersPerBlock = r.integerList("reverse_transformer_layers_per_block", n);
    // diffusers: num_attention_heads = num_attention_heads or attention_head_dim (the
    // "attention_head_dim" of SD 1.x/2.x configs is really the number of heads).
    if (r.has("num_attention_heads"))
        c.attentionHeads = r.integerList("num_attention_heads", n);
    else
        c.attentionHeads = r.integerList("attention_head_dim", n, 8);
    c.onlyCrossAttention = r.booleanList("only_cross_attention", n, false);
    c.useLinearProjection = r.boolean("use_linear_projection", false);
    c.upcastAttention = r.boolean("upcast_attention", false);
    const auto shift = r.string("resnet_time_scale_shift", QStringLiteral("default"));
    if (shift == QLatin1String("scale_shift"))
        c.resnetScaleShift = true;
    else if (shift != QLatin1String("default"))
        r.fail(QStringLiteral("resnet_time_scale_shift \"%1\" is not supported (default or scale_shift)")
                   .arg(shift));
    c.timeEmbeddingDim = r.integer("time_embedding_dim", 0);
    c.timeCondProjDim = r.integer("time_cond_proj_dim", 0);
    c.convInKernel = r.integer("conv_in_kernel", 3);
    c.convOutKernel = r.integer("conv_out_kernel", 3);
    c.sampleSize = r.has("sample_size") && json.value(QStringLiteral("sample_size")).isDouble()
                       ? r.integer("sample_size")
                       : 0;

    const auto addition = r.string("addition_embed_type", QString());
    if (addition == QLatin1String("text_time")) {
        c.textTimeEmbedding = true;
        c.additionTimeEmbedDim = r.integer("addition_time_embed_dim");
        c.projectionClassEmbeddingsInputDim = r.integer("projection_class_embeddings_input_dim");
    } else if (!addition.isEmpty()) {
        r.fail(QStringLiteral("addition_embed_type \"%1\" is not supported yet (null or \"text_time\")")
                   .arg(addition));
    }

    const auto mid = r.string("mid_block_type", QStringLiteral("UNetMidBlock2DCrossAttn"));
    if (mid != QLatin1String("UNetMidBlock2DCrossAttn"))
        r.fail(QStringLiteral("mid_block_type \"%1\" is not supported yet (only UNetMidBlock2DCrossAttn)")
                   .arg(mid));
    if (!r.status())
        return Result<UNet2DConditionConfig>::fail(r.status().error());

    // Structure checks that would otherwise surface as shape errors deep in the model.
    if (n == 0)
        r.fail(QStringLiteral("\"down_block_types\" is empty"));
    if (c.upBlockTypes.size() != n)
        r.fail(QStringLiteral("%1 down blocks but %2 up blocks").arg(n).arg(c.upBlockTypes.size()));
    for (const auto& type : c.downBlockTypes)
        if (type != QLatin1String("CrossAttnDownBlock2D") && type != QLatin1String("DownBlock2D"))
            r.fail(QStringLiteral(
                       "down block type \"%1\" is not supported yet (CrossAttnDownBlock2D, DownBlock2D)")
                       .arg(type));
    for (const auto& type : c.upBlockTypes)
        if (type != QLatin1String("CrossAttnUpBlock2D") && type != QLatin1String("UpBlock2D"))
            r.fail(QStringLiteral("up block type \"%1\" is not supported yet (CrossAttnUpBlock2D, UpBlock2D)")
                       .arg(type));
    for (size_t i = 0; i < c.blockOutChannels.size(); ++i) {
        const auto ch = c.blockOutChannels[i];
        if (ch <= 0 || c.normNumGroups <= 0 || ch % c.normNumGroups != 0)
            r.fail(QStringLiteral("block_out_channels[%1] = %2 is not a multiple of norm_num_groups %3")
                       .arg(i)
                       .arg(ch)
                       .arg(c.normNumGroups));
        if (i < c.attentionHeads.size() && c.attentionHeads[i] <= 0)
            r.fail(QStringLiteral("the number of attention heads of block %1 must be positive").arg(i));
    }
    if (c.convInKernel % 2 == 0 || c.convOutKernel % 2 == 0)
        r.fail(QStringLiteral("conv_in_kernel/conv_out_kernel must be odd"));
    if (!r.status())
        return Result<UNet2DConditionConfig>::fail(r.status().error());
    return Result<UNet2DConditionConfig>::ok(std::move(c));
}

Result<UNet2DConditionConfig> UNet2DConditionConfig::fromFile(const QString& path) {
    auto json = ConfigReader::readFile(path);
    if (!json)
        return Result<UNet2DConditionConfig>::fail(json.error());
    auto config = fromJson(*json);
    if (!config)
        return Result<UNet2DConditionConfig>::fail(QStringLiteral("%1 (%2)").arg(config.error(), path));
    return config;
}

UNet2DConditionImpl::UNet2DConditionImpl(const UNet2DConditionConfig& config,
                                         const at::TensorOptions& tensorOptions)
    : torch::nn::Module("unet")
    , m_config(config) {
    const auto& c = config;
    const int n = int(c.blockOutChannels.size());
    TORCH_CHECK(n > 0 && c.downBlockTypes.size() == n && c.upBlockTypes.size() == n,
                "UNet2DCondition: inconsistent config (use UNet2DConditionConfig::fromJson)");
    const int64_t timeEmbedDim = c.timeEmbeddingDim > 0 ? c.timeEmbeddingDim : c.blockOutChannels[0] * 4;
    m_timeProjDim = c.blockOutChannels[0];

    m_convIn = register_module("conv_in", Conv2d(c.inChannels, c.blockOutChannels[0], c.convInKernel, 1,
                                                 (c.convInKernel - 1) / 2, true, tensorOptions));
    m_timeEmbedding =
        register_module("time_embedding", TimestepEmbedder(m_timeProjDim, timeEmbedDim, c.activation,
                                                           c.timeCondProjDim, tensorOptions));
    if (c.textTimeEmbedding)
        m_addEmbedding =
            register_module("add_embedding", TimestepEmbedder(c.projectionClassEmbeddingsInputDim,
                                                              timeEmbedDim, c.activation, 0, tensorOptions));

    ResnetGroupOptions resnet;
    resnet.tembChannels = timeEmbedDim;
    resnet.groups = c.normNumGroups;
    resnet.eps = c.normEps;
    resnet.activation = c.activation;
    resnet.scaleShift = c.resnetScaleShift;

    auto attentionFor = [&](int block, int64_t transformerLayers, bool cross) {
        CrossAttentionBlockOptions a;
        a.enabled = cross;
        a.heads = c.attentionHeads[size_t(block)];
        a.layers = transformerLayers;
        a.crossAttentionDim = c.crossAttentionDim[size_t(block)];
        a.useLinearProjection = c.useLinearProjection;
        a.onlyCrossAttention = c.onlyCrossAttention[size_t(block)];
        a.upcastAttention = c.upcastAttention;
        return a;
    };

    auto downBlocks = register_module("down_blocks", torch::nn::ModuleList());
    int64_t outputChannel = c.blockOutChannels[0];
    for (int i = 0; i < n; ++i) {
        DownBlockOptions o;
        o.inChannels = outputChannel;
        outputChannel = c.blockOutChannels[size_t(i)];
        o.outChannels = outputChannel;
        o.layers = c.layersPerBlock[size_t(i)];
        o.addDownsample = i != n - 1;
        o.downsamplePadding = c.downsamplePadding;
        o.resnet = resnet;
        o.attention = attentionFor(i, c.transformerLayersPerBlock[size_t(i)],
                                   c.downBlockTypes[i] == QLatin1String("CrossAttnDownBlock2D"));
        m_downBlocks.push_back(DownBlock2D(o, tensorOptions));
        downBlocks->push_back(m_downBlocks.back());
    }

    {
        ResnetGroupOptions midResnet = resnet;
        midResnet.outputScaleFactor = c.midBlockScaleFactor;
        auto attention = attentionFor(n - 1, c.transformerLayersPerBlock.back(), true);
        attention.onlyCrossAttention = false; // diffusers does not pass it to the mid block
        m_midBlock = register_module("mid_block", MidBlock2DCrossAttn(c.blockOutChannels.back(), 1, midResnet,
                                                                      attention, tensorOptions));
    }

    auto upBlocks = register_module("up_blocks", torch::nn::ModuleList());
    std::vector<int64_t> reversedChannels(c.blockOutChannels.rbegin(), c.blockOutChannels.rend());
    std::vector<int64_t> reversedTransformerLayers = c.reverseTransformerLayersPerBlock;
    if (reversedTransformerLayers.empty())
        reversedTransformerLayers.assign(c.transformerLayersPerBlock.rbegin(),
                                         c.transformerLayersPerBlock.rend());
    outputChannel = reversedChannels[0];
    for (int i = 0; i < n; ++i) {
        const int mirrored = n - 1 - i; // the down block whose per-block settings this up block reverses
        UpBlockOptions o;
        o.prevOutputChannels = outputChannel;
        outputChannel = reversedChannels[size_t(i)];
        o.outChannels = outputChannel;
        o.inChannels = reversedChannels[size_t(std::min(i + 1, n - 1))];
        o.layers = c.layersPerBlock[size_t(mirrored)] + 1;
        o.skipConnections = true;
        o.addUpsample = i != n - 1;
        o.resnet = resnet;
        o.attention = attentionFor(mirrored, reversedTransformerLayers[size_t(i)],
                                   c.upBlockTypes[i] == QLatin1String("CrossAttnUpBlock2D"));
        m_upBlocks.push_back(UpBlock2D(o, tensorOptions));
        upBlocks->push_back(m_upBlocks.back());
    }

    m_convNormOut = register_module(
        "conv_norm_out", GroupNorm(c.normNumGroups, c.blockOutChannels[0], c.normEps, tensorOptions));
    m_convOut = register_module("conv_out", Conv2d(c.blockOutChannels[0], c.outChannels, c.convOutKernel, 1,
                                                   (c.convOutKernel - 1) / 2, true, tensorOptions));
}

at::Tensor UNet2DConditionImpl::forward(const at::Tensor& sample, const at::Tensor& timestep,
                                        const at::Tensor& encoderHiddenStates,
                                        const UNetAddedConditions& added,
                                        const at::Tensor& timestepCond) const {
    TORCH_CHECK(sample.dim() == 4 && sample.size(1) == m_config.inChannels, "UNet: sample must be [B, ",
                m_config.inChannels, ", H, W], got ", sample.sizes());
    TORCH_CHECK(encoderHiddenStates.dim() == 3, "UNet: encoder_hidden_states must be [B, L, D]");
    const auto batch = sample.size(0);
    const auto dtype = sample.scalar_type();

    auto timesteps = timestep.to(sample.device()).reshape({-1});
    if (timesteps.numel() == 1)
        timesteps = timesteps.expand({batch});
    TORCH_CHECK(timesteps.numel() == batch, "UNet: ", timesteps.numel(), " timesteps for a batch of ", batch);

    auto tEmb =
        timestepEmbedding(timesteps, m_timeProjDim, m_config.flipSinToCos, m_config.freqShift).to(dtype);
    auto cond = timestepCond.defined() ? timestepCond.to(sample.device(), dtype) : timestepCond;
    auto emb = m_timeEmbedding->forward(tEmb, cond);
    if (m_addEmbedding) {
        TORCH_CHECK(added.textEmbeds.defined() && added.timeIds.defined(),
                    "UNet: this model (addition_embed_type text_time) needs text_embeds and time_ids");
        auto timeEmbeds =
            timestepEmbedding(added.timeIds.to(sample.device()).reshape({-1}), m_config.additionTimeEmbedDim,
                              m_config.flipSinToCos, m_config.freqShift);
        timeEmbeds = timeEmbeds.reshape({added.textEmbeds.size(0), -1});
        auto addEmbeds = at::cat(
            {added.textEmbeds.to(sample.device(), emb.scalar_type()), timeEmbeds.to(emb.scalar_type())}, -1);
        emb = emb + m_addEmbedding->forward(addEmbeds);
    }

    auto h = m_config.centerInputSample ? sample * 2 - 1.0 : sample;
    h = m_convIn->forward(h);
    std::vector<at::Tensor> skips{h};
    int index = 0;
    for (const auto& block : m_downBlocks) {
        beforeBlock(index);
        h = block->forward(h, emb, encoderHiddenStates, &skips);
        afterBlock(index++);
    }
    beforeBlock(index);
    h = m_midBlock->forward(h, emb, encoderHiddenStates);
    afterBlock(index++);
    for (size_t i = 0; i < m_upBlocks.size(); ++i) {
        const auto& block = m_upBlocks[i];
        // Upsample to the size of the skip connection the next block starts with, so odd
        // latent sizes work (diffusers' forward_upsample_size; identical to 2x otherwise).
        std::vector<int64_t> upsampleSize;
        const size_t used = size_t(block->layers());
        if (i + 1 < m_upBlocks.size() && skips.size() > used) {
            const auto& next = skips[skips.size() - used - 1];
            upsampleSize = {next.size(2), next.size(3)};
        }
        beforeBlock(index);
        h = block->forward(h, emb, encoderHiddenStates, &skips, upsampleSize);
        afterBlock(index++);
    }
    h = activate(m_convNormOut->forward(h), m_config.activation);
    return m_convOut->forward(h);
}

std::vector<torch::nn::Module*> UNet2DConditionImpl::blocks() const {
    std::vector<torch::nn::Module*> out;
    for (const auto& b : m_downBlocks)
        out.push_back(b.ptr().get());
    out.push_back(m_midBlock.ptr().get());
    for (const auto& b : m_upBlocks)
        out.push_back(b.ptr().get());
    return out;
}

} // namespace tp::nn
