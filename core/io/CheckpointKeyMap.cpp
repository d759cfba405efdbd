#include "core/io/CheckpointKeyMap.h"

#include "core/io/KeyMapBuilder.h"

#include <QJsonArray>

#include <algorithm>
#include <map>
#include <set>

namespace tp::io::keymap {

using namespace detail;

namespace {

// ---- UNet -------------------------------------------------------------------------------

const Rename kUNetTop[] = {
    {"time_embed.0.", "time_embedding.linear_1."},
    {"time_embed.2.", "time_embedding.linear_2."},
    {"input_blocks.0.0.", "conv_in."},
    {"out.0.", "conv_norm_out."},
    {"out.2.", "conv_out."},
    {"label_emb.0.0.", "add_embedding.linear_1."},
    {"label_emb.0.2.", "add_embedding.linear_2."},
};
// diffusers' update_unet_resnet_ldm_to_diffusers.
const Rename kUNetResnet[] = {
    {"in_layers.0.", "norm1."},  {"in_layers.2.", "conv1."},          {"out_layers.0.", "norm2."},
    {"out_layers.3.", "conv2."}, {"emb_layers.1.", "time_emb_proj."}, {"skip_connection.", "conv_shortcut."},
};

// Transformer blocks inside an attention part ("…transformer_blocks.K.") → K + 1; 0 without.
qint64 transformerDepth(const Tensors& t, const QString& attentionHead) {
    const auto k = t.indices(attentionHead + QStringLiteral("transformer_blocks."));
    return k.empty() ? 0 : qint64(k.back()) + 1;
}

} // namespace

std::optional<BlockIndex> blockIndex(const QString& name, QLatin1String head) {
    if (!name.startsWith(head) || name.size() <= head.size() || name[head.size()] != QLatin1Char('.'))
        return std::nullopt;
    const QStringList parts = name.mid(head.size() + 1).split(QLatin1Char('.'));
    if (parts.size() < 3)
        return std::nullopt;
    bool ok1 = false, ok2 = false;
    BlockIndex b;
    b.block = parts[0].toInt(&ok1);
    b.part = parts[1].toInt(&ok2);
    if (!ok1 || !ok2 || b.block < 0 || b.part < 0)
        return std::nullopt;
    b.rest = parts.mid(2).join(QLatin1Char('.'));
    return b;
}

Result<ComponentMapping> ldmUNet(const Header& header, const QString& prefix, const UNetHints& hints) {
    using R = Result<ComponentMapping>;
    const Tensors t(header, prefix);
    Builder b(t, QStringLiteral("unet"));
    for (const char* required : {"input_blocks.0.0.weight", "out.2.weight", "time_embed.0.weight"})
        if (!t.has(QLatin1String(required)))
            return R::fail(missingMessage(t, QLatin1String(required), QStringLiteral("UNet")));

    // The down path: input block N ≥ 1 is a resnet (+ attention) of the current level, or the
    // level's downsampler ("N.0.op"), which closes the level.
    struct Place {
        int level = 0;
        int index = 0;
        bool downsampler = false;
    };
    std::map<int, Place> down;
    std::vector<qint64> layers{0};
    std::vector<std::vector<int>> levelBlocks{{}};
    for (int n : t.indices(QStringLiteral("input_blocks."))) {
        if (n == 0)
            continue;
        const int level = int(layers.size()) - 1;
        if (t.has(QStringLiteral("input_blocks.%1.0.op.weight").arg(n))) {
            down[n] = {level, 0, true};
            layers.push_back(0);
            levelBlocks.emplace_back();
        } else {
            down[n] = {level, int(layers.back()), false};
            levelBlocks.back().push_back(n);
            ++layers.back();
        }
    }
    const int levels = int(layers.size());
    for (int l = 0; l < levels; ++l)
        if (layers[size_t(l)] == 0)
            return R::fail(QStringLiteral("%1input_blocks: level %2 has no resnet blocks, so the UNet is "
                                          "incomplete (a damaged or partial file?)")
                               .arg(prefix)
                               .arg(l));

    // The up path: level u (the reverse of down level levels-1-u) has layers+1 blocks, the
    // last of which carries the upsampler (except in the last level).
    std::map<int, std::pair<int, int>> up; // output block → (up level, index)
    {
        const auto outs = t.indices(QStringLiteral("output_blocks."));
        qint64 expected = 0;
        for (qint64 n : layers)
            expected += n + 1;
        if (qint64(outs.size()) != expected || (!outs.empty() && outs.back() != int(expected) - 1))
            return R::fail(
                QStringLiteral("%1output_blocks: %2 blocks where the down path needs %3, so the UNet "
                               "is incomplete or not one TwistedPic knows")
                    .arg(prefix)
                    .arg(outs.size())
                    .arg(expected));
        int n = 0;
        for (int u = 0; u < levels; ++u)
            for (int j = 0; j <= layers[size_t(levels - 1 - u)]; ++j)
                up[n++] = {u, j};
    }

    // Config from shapes.
    const Shape convIn = t.shape(QStringLiteral("input_blocks.0.0.weight"));
    const Shape convOut = t.shape(QStringLiteral("out.2.weight"));
    const Shape timeEmbed = t.shape(QStringLiteral("time_embed.0.weight"));
    if (convIn.size() != 4 || convOut.size() != 4 || timeEmbed.size() != 2)
        return R::fail(
            QStringLiteral("%1: conv_in/conv_out/time_embed have shapes %2/%3/%4, not those of a UNet")
                .arg(prefix, shapeString(convIn), shapeString(convOut), shapeString(timeEmbed)));
    const qint64 modelChannels = convIn[0];

    std::vector<qint64> channels, depth;
    QStringList downTypes, upTypes;
    qint64 crossAttentionDim = 0;
    bool linearProjection = false;
    for (int l = 0; l < levels; ++l) {
        const int first = levelBlocks[size_t(l)].front();
        const qint64 ch = t.dim(QStringLiteral("input_blocks.%1.0.out_layers.3.weight").arg(first), 0);
        if (ch <= 0)
            return R::fail(missingMessage(t,
                                          QStringLiteral("input_blocks.%1.0.out_layers.3.weight").arg(first),
                                          QStringLiteral("UNet")));
        channels.push_back(ch);
        qint64 d = 0;
        for (int n : levelBlocks[size_t(l)]) {
            const qint64 blockDepth = transformerDepth(t, QStringLiteral("input_blocks.%1.1.").arg(n));
            if (n != first && blockDepth != d)
                return R::fail(
                    QStringLiteral("%1input_blocks.%2 has %3 transformer blocks but the other blocks of "
                                   "its level have %4: not a UNet TwistedPic knows")
                        .arg(prefix)
                        .arg(n)
                        .arg(blockDepth)
                        .arg(d));
            d = blockDepth;
        }
        downTypes << (d > 0 ? QStringLiteral("CrossAttnDownBlock2D") : QStringLiteral("DownBlock2D"));
        depth.push_back(std::max<qint64>(d, 1));
        if (d > 0 && crossAttentionDim == 0) {
            const QString attn = QStringLiteral("input_blocks.%1.1.").arg(first);
            crossAttentionDim = t.dim(attn + QStringLiteral("transformer_blocks.0.attn2.to_k.weight"), 1);
            linearProjection = t.shape(attn + QStringLiteral("proj_in.weight")).size() == 2;
        }
    }
    for (int u = 0; u < levels; ++u) {
        const int level = levels - 1 - u;
        const bool downAttention = downTypes[level] == QLatin1String("CrossAttnDownBlock2D");
        for (const auto& [n, place] : up) {
            if (place.first != u)
                continue;
            const qint64 d = transformerDepth(t, QStringLiteral("output_blocks.%1.1.").arg(n));
            if ((d > 0) != downAttention || (d > 0 && d != depth[size_t(level)]))
                return R::fail(
                    QStringLiteral("%1output_blocks.%2 has %3 transformer blocks where its level's "
                                   "input blocks have %4: not a UNet TwistedPic knows")
                        .arg(prefix)
                        .arg(n)
                        .arg(d)
                        .arg(downAttention ? depth[size_t(level)] : 0));
        }
        upTypes << (downAttention ? QStringLiteral("CrossAttnUpBlock2D") : QStringLiteral("UpBlock2D"));
    }
    const qint64 midDepth = transformerDepth(t, QStringLiteral("middle_block.1."));
    if (midDepth == 0)
        return R::fail(
            QStringLiteral("%1middle_block has no attention: not a text-conditioned UNet TwistedPic "
                           "knows")
                .arg(prefix));
    if (crossAttentionDim == 0) {
        crossAttentionDim = t.dim(QStringLiteral("middle_block.1.transformer_blocks.0.attn2.to_k.weight"), 1);
        linearProjection = t.shape(QStringLiteral("middle_block.1.proj_in.weight")).size() == 2;
    }
    if (midDepth != depth.back())
        return R::fail(QStringLiteral("%1middle_block has %2 transformer blocks but the last level has %3: "
                                      "not a UNet TwistedPic knows")
                           .arg(prefix)
                           .arg(midDepth)
                           .arg(depth.back()));
    if (crossAttentionDim <= 0)
        return R::fail(missingMessage(t, QStringLiteral("…attn2.to_k.weight"), QStringLiteral("UNet")));
    if (t.has(QStringLiteral("label_emb.weight")))
        return R::fail(QStringLiteral("%1label_emb.weight: a class-conditioned UNet (an upscaler?), which "
                                      "TwistedPic does not run")
                           .arg(prefix));

    QJsonArray heads;
    QString headsProblem;
    for (qint64 ch : channels) {
        if (hints.fixedHeads > 0)
            heads.append(hints.fixedHeads);
        else if (ch % 64 == 0)
            heads.append(ch / 64);
        else if (headsProblem.isEmpty())
            headsProblem =
                QStringLiteral("%1: cannot infer the attention heads of a %2-channel block (not a multiple "
                               "of 64-channel heads); give the model's config folder")
                    .arg(prefix)
                    .arg(ch);
    }

    QJsonObject config{
        {QStringLiteral("_class_name"), QStringLiteral("UNet2DConditionModel")},
        {QStringLiteral("act_fn"), QStringLiteral("silu")},
        {QStringLiteral("attention_head_dim"), hints.fixedHeads > 0     ? QJsonValue(hints.fixedHeads)
                                               : headsProblem.isEmpty() ? QJsonValue(heads)
                                                                        : QJsonValue()},
        {QStringLiteral("block_out_channels"), jsonInts(channels)},
        {QStringLiteral("center_input_sample"), false},
        {QStringLiteral("conv_in_kernel"), convIn[2]},
        {QStringLiteral("conv_out_kernel"), convOut[2]},
        {QStringLiteral("cross_attention_dim"), crossAttentionDim},
        {QStringLiteral("down_block_types"), jsonStrings(downTypes)},
        {QStringLiteral("downsample_padding"), 1},
        {QStringLiteral("flip_sin_to_cos"), true},
        {QStringLiteral("freq_shift"), 0},
        {QStringLiteral("in_channels"), convIn[1]},
        {QStringLiteral("layers_per_block"), intOrList(layers)},
        {QStringLiteral("mid_block_scale_factor"), 1},
        {QStringLiteral("mid_block_type"), QStringLiteral("UNetMidBlock2DCrossAttn")},
        {QStringLiteral("norm_eps"), 1e-5},
        {QStringLiteral("norm_num_groups"), 32},
        {QStringLiteral("out_channels"), convOut[0]},
        {QStringLiteral("sample_size"), hints.sampleSize},
        {QStringLiteral("transformer_layers_per_block"), intOrList(depth)},
        {QStringLiteral("up_block_types"), jsonStrings(upTypes)},
        {QStringLiteral("upcast_attention"), hints.upcastAttention},
        {QStringLiteral("use_linear_projection"), linearProjection},
    };
    if (timeEmbed[0] != 4 * modelChannels)
        config.insert(QStringLiteral("time_embedding_dim"), timeEmbed[0]);
    if (t.has(QStringLiteral("label_emb.0.0.weight"))) {
        const qint64 addIn = t.dim(QStringLiteral("label_emb.0.0.weight"), 1);
        const qint64 timeIds = addIn - hints.pooledTextDim;
        if (hints.pooledTextDim <= 0 || timeIds <= 0 || timeIds % 6 != 0)
            return R::fail(
                QStringLiteral("%1label_emb takes %2 inputs, which is not the pooled text width %3 plus "
                               "6 time ids: the UNet does not fit the text encoders")
                    .arg(prefix)
                    .arg(addIn)
                    .arg(hints.pooledTextDim));
        config.insert(QStringLiteral("addition_embed_type"), QStringLiteral("text_time"));
        config.insert(QStringLiteral("addition_time_embed_dim"), timeIds / 6);
        config.insert(QStringLiteral("projection_class_embeddings_input_dim"), addIn);
    }

    // The names.
    for (const QString& name : t.names()) {
        if (auto top = renamed(name, kUNetTop)) {
            b.map(*top, name);
        } else if (auto in = blockIndex(name, QLatin1String("input_blocks")); in && in->block > 0) {
            const Place p = down[in->block];
            if (p.downsampler && in->part == 0 && in->rest.startsWith(QLatin1String("op.")))
                b.map(
                    QStringLiteral("down_blocks.%1.downsamplers.0.conv.%2").arg(p.level).arg(in->rest.mid(3)),
                    name);
            else if (!p.downsampler && in->part == 0 && renamed(in->rest, kUNetResnet))
                b.map(QStringLiteral("down_blocks.%1.resnets.%2.%3")
                          .arg(p.level)
                          .arg(p.index)
                          .arg(*renamed(in->rest, kUNetResnet)),
                      name);
            else if (!p.downsampler && in->part == 1)
                b.map(
                    QStringLiteral("down_blocks.%1.attentions.%2.%3").arg(p.level).arg(p.index).arg(in->rest),
                    name);
            else
                b.ignore(name);
        } else if (name.startsWith(QLatin1String("middle_block."))) {
            // One index: middle_block.0 resnet, .1 attention, .2 resnet.
            const QString part = name.section(QLatin1Char('.'), 1, 1);
            const QString rest = name.section(QLatin1Char('.'), 2);
            const auto resnet = renamed(rest, kUNetResnet);
            if ((part == QLatin1String("0") || part == QLatin1String("2")) && resnet)
                b.map(QStringLiteral("mid_block.resnets.%1.%2")
                          .arg(part == QLatin1String("0") ? 0 : 1)
                          .arg(*resnet),
                      name);
            else if (part == QLatin1String("1"))
                b.map(QStringLiteral("mid_block.attentions.0.") + rest, name);
            else
                b.ignore(name);
        } else if (auto out = blockIndex(name, QLatin1String("output_blocks")); out && up.count(out->block)) {
            const auto [u, j] = up[out->block];
            if (out->part > 0 && out->rest.startsWith(QLatin1String("conv.")))
                b.map(QStringLiteral("up_blocks.%1.upsamplers.0.conv.%2").arg(u).arg(out->rest.mid(5)), name);
            else if (out->part == 0 && renamed(out->rest, kUNetResnet))
                b.map(QStringLiteral("up_blocks.%1.resnets.%2.%3")
                          .arg(u)
                          .arg(j)
                          .arg(*renamed(out->rest, kUNetResnet)),
                      name);
            else if (out->part == 1)
                b.map(QStringLiteral("up_blocks.%1.attentions.%2.%3").arg(u).arg(j).arg(out->rest), name);
            else
                b.ignore(name);
        } else {
            b.ignore(name);
        }
    }
    b.configProblem(headsProblem);
    return b.finish(std::move(config));
}

// ---- VAE --------------------------------------------------------------------------------

namespace {
const Rename kVaeTop[] = {
    {"encoder.norm_out.", "encoder.conv_norm_out."},
    {"decoder.norm_out.", "decoder.conv_norm_out."},
    {"encoder.conv_in.", "encoder.conv_in."},
    {"encoder.conv_out.", "encoder.conv_out."},
    {"decoder.conv_in.", "decoder.conv_in."},
    {"decoder.conv_out.", "decoder.conv_out."},
    {"quant_conv.", "quant_conv."},
    {"post_quant_conv.", "post_quant_conv."},
};
const Rename kVaeResnet[] = {
    {"norm1.", "norm1."},
    {"conv1.", "conv1."},
    {"norm2.", "norm2."},
    {"conv2.", "conv2."},
    {"nin_shortcut.", "conv_shortcut."},
};
// diffusers' update_vae_attentions_ldm_to_diffusers.
const Rename kVaeAttention[] = {
    {"norm.", "group_norm."}, {"q.", "to_q."}, {"k.", "to_k."}, {"v.", "to_v."}, {"proj_out.", "to_out.0."},
};
} // namespace

Result<ComponentMapping> ldmVae(const Header& header, const QString& prefix, const VaeHints& hints) {
    using R = Result<ComponentMapping>;
    const Tensors t(header, prefix);
    Builder b(t, QStringLiteral("vae"));
    for (const char* required : {"encoder.conv_in.weight", "encoder.conv_out.weight",
                                 "decoder.conv_in.weight", "decoder.conv_out.weight"})
        if (!t.has(QLatin1String(required)))
            return R::fail(missingMessage(t, QLatin1String(required), QStringLiteral("VAE")));

    const auto downLevels = t.indices(QStringLiteral("encoder.down."));
    const auto upLevels = t.indices(QStringLiteral("decoder.up."));
    const int levels = int(downLevels.size());
    if (levels == 0 || downLevels.back() != levels - 1 || int(upLevels.size()) != levels ||
        upLevels.back() != levels - 1)
        return R::fail(
            QStringLiteral("%1: the encoder has %2 levels and the decoder %3, so the VAE is incomplete "
                           "(a damaged or partial file?)")
                .arg(prefix.isEmpty() ? QStringLiteral("VAE") : prefix)
                .arg(downLevels.size())
                .arg(upLevels.size()));
    std::vector<qint64> channels;
    qint64 layers = 0;
    for (int i = 0; i < levels; ++i) {
        const auto blocks = t.indices(QStringLiteral("encoder.down.%1.block.").arg(i));
        const auto upBlocks = t.indices(QStringLiteral("decoder.up.%1.block.").arg(i));
        if (i == 0)
            layers = qint64(blocks.size());
        if (qint64(blocks.size()) != layers || qint64(upBlocks.size()) != layers + 1 || layers == 0)
            return R::fail(
                QStringLiteral("%1: the VAE's levels have %2 encoder and %3 decoder blocks at level %4 "
                               "where %5 and %6 are expected: not a VAE TwistedPic knows")
                    .arg(prefix.isEmpty() ? QStringLiteral("VAE") : prefix)
                    .arg(blocks.size())
                    .arg(upBlocks.size())
                    .arg(i)
                    .arg(layers)
                    .arg(layers + 1));
        channels.push_back(t.dim(QStringLiteral("encoder.down.%1.block.0.conv2.weight").arg(i), 0));
    }
    const qint64 latent = t.dim(QStringLiteral("decoder.conv_in.weight"), 1);
    if (t.dim(QStringLiteral("encoder.conv_out.weight"), 0) != 2 * latent)
        return R::fail(
            QStringLiteral("%1encoder.conv_out has %2 outputs where the decoder's %3 latent channels "
                           "need %4: the encoder and decoder do not belong together")
                .arg(prefix)
                .arg(t.dim(QStringLiteral("encoder.conv_out.weight"), 0))
                .arg(latent)
                .arg(2 * latent));

    QJsonArray downTypes, upTypes;
    for (int i = 0; i < levels; ++i) {
        downTypes.append(QStringLiteral("DownEncoderBlock2D"));
        upTypes.append(QStringLiteral("UpDecoderBlock2D"));
    }
    QJsonObject config{
        {QStringLiteral("_class_name"), QStringLiteral("AutoencoderKL")},
        {QStringLiteral("act_fn"), QStringLiteral("silu")},
        {QStringLiteral("block_out_channels"), jsonInts(channels)},
        {QStringLiteral("down_block_types"), downTypes},
        {QStringLiteral("force_upcast"), hints.forceUpcast},
        {QStringLiteral("in_channels"), t.dim(QStringLiteral("encoder.conv_in.weight"), 1)},
        {QStringLiteral("latent_channels"), latent},
        {QStringLiteral("layers_per_block"), layers},
        {QStringLiteral("mid_block_add_attention"), t.has(QStringLiteral("encoder.mid.attn_1.q.weight"))},
        {QStringLiteral("norm_num_groups"), 32},
        {QStringLiteral("out_channels"), t.dim(QStringLiteral("decoder.conv_out.weight"), 0)},
        {QStringLiteral("sample_size"), hints.sampleSize},
        {QStringLiteral("scaling_factor"), hints.scalingFactor},
        {QStringLiteral("shift_factor"), hints.shiftFactor ? QJsonValue(*hints.shiftFactor) : QJsonValue()},
        {QStringLiteral("up_block_types"), upTypes},
        {QStringLiteral("use_post_quant_conv"), t.has(QStringLiteral("post_quant_conv.weight"))},
        {QStringLiteral("use_quant_conv"), t.has(QStringLiteral("quant_conv.weight"))},
    };

    for (const QString& name : t.names()) {
        if (auto top = renamed(name, kVaeTop)) {
            b.map(*top, name);
            continue;
        }
        const QString part = name.section(QLatin1Char('.'), 0, 0); // encoder / decoder
        if (part != QLatin1String("encoder") && part != QLatin1String("decoder")) {
            b.ignore(name);
            continue;
        }
        const QString rest = name.mid(part.size() + 1);
        std::optional<QString> target;
        const QStringList s = rest.split(QLatin1Char('.'));
        bool ok = false;
        if (s.size() >= 5 && (s[0] == QLatin1String("down") || s[0] == QLatin1String("up")) &&
            s[2] == QLatin1String("block")) {
            const int level = s[1].toInt(&ok);
            bool ok2 = false;
            const int block = s[3].toInt(&ok2);
            const auto r = renamed(s.mid(4).join(QLatin1Char('.')), kVaeResnet);
            if (ok && ok2 && r)
                target = s[0] == QLatin1String("down")
                             ? QStringLiteral("down_blocks.%1.resnets.%2.%3").arg(level).arg(block).arg(*r)
                             : QStringLiteral("up_blocks.%1.resnets.%2.%3")
                                   .arg(levels - 1 - level)
                                   .arg(block)
                                   .arg(*r);
        } else if (s.size() >= 4 && s[0] == QLatin1String("down") && s[2] == QLatin1String("downsample") &&
                   s[3] == QLatin1String("conv")) {
            const int level = s[1].toInt(&ok);
            if (ok)
                target = QStringLiteral("down_blocks.%1.downsamplers.0.conv.%2")
                             .arg(level)
                             .arg(s.mid(4).join(QLatin1Char('.')));
        } else if (s.size() >= 4 && s[0] == QLatin1String("up") && s[2] == QLatin1String("upsample") &&
                   s[3] == QLatin1String("conv")) {
            const int level = s[1].toInt(&ok);
            if (ok)
                target = QStringLiteral("up_blocks.%1.upsamplers.0.conv.%2")
                             .arg(levels - 1 - level)
                             .arg(s.mid(4).join(QLatin1Char('.')));
        } else if (s.size() >= 3 && s[0] == QLatin1String("mid") &&
                   (s[1] == QLatin1String("block_1") || s[1] == QLatin1String("block_2"))) {
            if (const auto r = renamed(s.mid(2).join(QLatin1Char('.')), kVaeResnet))
                target = QStringLiteral("mid_block.resnets.%1.%2")
                             .arg(s[1] == QLatin1String("block_1") ? 0 : 1)
                             .arg(*r);
        } else if (s.size() >= 3 && s[0] == QLatin1String("mid") && s[1] == QLatin1String("attn_1")) {
            if (const auto r = renamed(s.mid(2).join(QLatin1Char('.')), kVaeAttention)) {
                const QString full = part + QStringLiteral(".mid_block.attentions.0.") + *r;
                if (r->endsWith(QLatin1String(".weight")) && !r->startsWith(QLatin1String("group_norm.")))
                    b.mapAsLinear(full, name);
                else
                    b.map(full, name);
                continue;
            }
        }
        if (target)
            b.map(part + QLatin1Char('.') + *target, name);
        else
            b.ignore(name);
    }
    return b.finish(std::move(config));
}

// ---- text encoders ----------------------------------------------------------------------

qint64 textEncoderWidth(const Header& header, const QString& prefix) {
    for (const char* rel : {"text_model.embeddings.token_embedding.weight",
                            "embeddings.token_embedding.weight", "token_embedding.weight"})
        if (const TensorInfo* t = header.find(prefix + QLatin1String(rel)); t && t->shape.size() == 2)
            return t->shape[1];
    return 0;
}

qint64 textProjectionWidth(const Header& header, const QString& prefix) {
    if (const TensorInfo* t = header.find(prefix + QStringLiteral("text_projection.weight"));
        t && t->shape.size() == 2)
        return t->shape[0]; // a Linear weight [out, in]
    if (const TensorInfo* t = header.find(prefix + QStringLiteral("text_projection"));
        t && t->shape.size() == 2)
        return t->shape[1]; // OpenCLIP stores [in, out]
    return 0;
}

namespace {

QJsonObject clipConfig(qint64 vocab, qint64 hidden, qint64 intermediate, qint64 layers, qint64 positions,
                       qint64 projection, const TextEncoderHints& hints) {
    return {
        {QStringLiteral("architectures"),
         QJsonArray{hints.withProjection ? QStringLiteral("CLIPTextModelWithProjection")
                                         : QStringLiteral("CLIPTextModel")}},
        {QStringLiteral("attention_dropout"), 0.0},
        // The ids of Stable Diffusion's text encoder configs: eos_token_id 2 makes the pooled
        // output come from argmax(input_ids), the end-of-text token of the real vocabulary.
        {QStringLiteral("bos_token_id"), 0},
        {QStringLiteral("eos_token_id"), 2},
        {QStringLiteral("pad_token_id"), 1},
        {QStringLiteral("hidden_act"), hints.hiddenAct},
        {QStringLiteral("hidden_size"), hidden},
        {QStringLiteral("intermediate_size"), intermediate},
        {QStringLiteral("layer_norm_eps"), 1e-5},
        {QStringLiteral("max_position_embeddings"), positions},
        {QStringLiteral("model_type"), QStringLiteral("clip_text_model")},
        {QStringLiteral("num_attention_heads"), hidden % 64 == 0 ? QJsonValue(hidden / 64) : QJsonValue()},
        {QStringLiteral("num_hidden_layers"), layers},
        {QStringLiteral("projection_dim"), projection > 0 ? projection : hidden},
        {QStringLiteral("vocab_size"), vocab},
    };
}

// CLIP text encoders have 64-wide heads; other widths leave the heads to a config folder.
QString clipHeadsProblem(const QString& prefix, qint64 hidden) {
    if (hidden % 64 == 0)
        return {};
    return QStringLiteral(
               "%1: cannot infer the attention heads of a %2-wide text encoder (CLIP uses 64-wide heads); "
               "give the model's config folder")
        .arg(prefix)
        .arg(hidden);
}

} // namespace

Result<ComponentMapping> clipText(const Header& header, const QString& prefix,
                                  const TextEncoderHints& hints) {
    using R = Result<ComponentMapping>;
    const Tensors t(header, prefix);
    Builder b(t, QStringLiteral("text_encoder"));
    const QString wrap = t.has(QStringLiteral("text_model.embeddings.token_embedding.weight"))
                             ? QStringLiteral("text_model.")
                             : QString();
    const Shape tokens = t.shape(wrap + QStringLiteral("embeddings.token_embedding.weight"));
    const Shape positions = t.shape(wrap + QStringLiteral("embeddings.position_embedding.weight"));
    const auto layerIndices = t.indices(wrap + QStringLiteral("encoder.layers."));
    if (tokens.size() != 2 || positions.size() != 2 || layerIndices.empty())
        return R::fail(missingMessage(t, wrap + QStringLiteral("embeddings.token_embedding.weight"),
                                      QStringLiteral("text encoder")));
    const qint64 hidden = tokens[1];
    b.configProblem(clipHeadsProblem(prefix, hidden));
    const qint64 layers = qint64(layerIndices.back()) + 1;
    const bool identity = hints.withProjection && hints.identityProjectionIfMissing &&
                          !t.has(QStringLiteral("text_projection.weight"));
    const qint64 projection = identity ? hidden : t.dim(QStringLiteral("text_projection.weight"), 0);
    if (hints.withProjection && projection <= 0)
        return R::fail(
            missingMessage(t, QStringLiteral("text_projection.weight"), QStringLiteral("text encoder")));
    if (identity)
        b.mapIdentity(QStringLiteral("text_projection.weight"), hidden);
    const QJsonObject config =
        clipConfig(tokens[0], hidden, t.dim(wrap + QStringLiteral("encoder.layers.0.mlp.fc1.weight"), 0),
                   layers, positions[0], projection, hints);

    for (const QString& name : t.names()) {
        if (name == QLatin1String("text_projection.weight")) {
            if (hints.withProjection)
                b.map(name, name);
            else
                b.ignore(name);
            continue;
        }
        if (!name.startsWith(wrap) || name.endsWith(QLatin1String("position_ids"))) {
            b.ignore(name);
            continue;
        }
        const QString rest = name.mid(wrap.size());
        b.map(QStringLiteral("text_model.") + rest, name);
    }
    return b.finish(config);
}

namespace {
const Rename kOpenClipTop[] = {
    {"token_embedding.", "text_model.embeddings.token_embedding."},
    {"ln_final.", "text_model.final_layer_norm."},
};
const Rename kOpenClipLayer[] = {
    {"ln_1.", "layer_norm1."},
    {"ln_2.", "layer_norm2."},
    {"mlp.c_fc.", "mlp.fc1."},
    {"mlp.c_proj.", "mlp.fc2."},
    {"attn.out_proj.", "self_attn.out_proj."},
};
} // namespace

Result<ComponentMapping> openClipText(const Header& header, const QString& prefix,
                                      const TextEncoderHints& hints) {
    using R = Result<ComponentMapping>;
    const Tensors t(header, prefix);
    Builder b(t, QStringLiteral("text_encoder"));
    const Shape tokens = t.shape(QStringLiteral("token_embedding.weight"));
    const Shape positions = t.shape(QStringLiteral("positional_embedding"));
    const auto layerIndices = t.indices(QStringLiteral("transformer.resblocks."));
    if (tokens.size() != 2 || positions.size() != 2 || layerIndices.empty())
        return R::fail(missingMessage(t, QStringLiteral("token_embedding.weight"),
                                      QStringLiteral("OpenCLIP text encoder")));
    const qint64 hidden = tokens[1];
    b.configProblem(clipHeadsProblem(prefix, hidden));
    const qint64 stored = qint64(layerIndices.back()) + 1;
    const qint64 layers = stored - hints.dropLastLayers;
    if (layers <= 0)
        return R::fail(
            QStringLiteral("%1: %2 layers are too few for this text encoder").arg(prefix).arg(stored));
    const qint64 projection = t.dim(QStringLiteral("text_projection"), 1);
    if (hints.withProjection && projection <= 0)
        return R::fail(
            missingMessage(t, QStringLiteral("text_projection"), QStringLiteral("OpenCLIP text encoder")));
    const QJsonObject config =
        clipConfig(tokens[0], hidden, t.dim(QStringLiteral("transformer.resblocks.0.mlp.c_fc.weight"), 0),
                   layers, positions[0], projection, hints);

    for (const QString& name : t.names()) {
        if (auto top = renamed(name, kOpenClipTop)) {
            b.map(*top, name);
        } else if (name == QLatin1String("positional_embedding")) {
            b.map(QStringLiteral("text_model.embeddings.position_embedding.weight"), name);
        } else if (name == QLatin1String("text_projection") && hints.withProjection) {
            b.map(QStringLiteral("text_projection.weight"), name, {WeightOp::transpose()});
        } else if (name.startsWith(QLatin1String("transformer.resblocks."))) {
            const QString afterHead = name.mid(QStringLiteral("transformer.resblocks.").size());
            bool ok = false;
            const int i = afterHead.section(QLatin1Char('.'), 0, 0).toInt(&ok);
            const QString rest = afterHead.section(QLatin1Char('.'), 1);
            if (!ok || i >= layers) {
                b.ignore(name);
                continue;
            }
            const QString layer = QStringLiteral("text_model.encoder.layers.%1.").arg(i);
            if (auto r = renamed(rest, kOpenClipLayer)) {
                b.map(layer + *r, name);
            } else if (rest == QLatin1String("attn.in_proj_weight") ||
                       rest == QLatin1String("attn.in_proj_bias")) {
                const QString kind = rest.endsWith(QLatin1String("weight")) ? QStringLiteral("weight")
                                                                            : QStringLiteral("bias");
                if (t.dim(name, 0) != 3 * hidden) {
                    b.fail(QStringLiteral("%1 has shape %2, not the fused q, k, v of a %3-wide layer")
                               .arg(t.key(name), shapeString(t.shape(name)))
                               .arg(hidden));
                    continue;
                }
                const char* parts[] = {"q_proj", "k_proj", "v_proj"};
                for (int p = 0; p < 3; ++p)
                    b.map(layer + QStringLiteral("self_attn.%1.%2").arg(QLatin1String(parts[p]), kind), name,
                          {WeightOp::slice(p * hidden, hidden)});
            } else {
                b.ignore(name);
            }
        } else {
            b.ignore(name); // logit_scale, attn_mask, an unused text_projection
        }
    }
    return b.finish(config);
}

} // namespace tp::io::keymap
