// The transformer denoisers' and T5's original names → diffusers': SAI's SD 3.x MMDiT
// (joint_blocks.N.{x_block,context_block}), BFL's Flux (double_blocks / single_blocks), and
// T5-XXL as SD 3.x files hold it (text_encoders.t5xxl.transformer.). After diffusers'
// convert_sd3_transformer_checkpoint_to_diffusers / convert_flux_transformer_checkpoint_to_diffusers:
// fused qkv (and Flux's linear1: q, k, v, mlp) sliced, the final adaLN's [shift, scale] swapped.
#include "core/io/CheckpointKeyMap.h"

#include "core/io/KeyMapBuilder.h"

#include <cmath>

namespace tp::io::keymap {

using namespace detail;

namespace {

// "joint_blocks.7.x_block.attn.qkv.weight" → 7 and "x_block.attn.qkv.weight".
std::optional<std::pair<int, QString>> indexed(const QString& name, QLatin1String head) {
    if (!name.startsWith(head) || name.size() <= head.size() || name[head.size()] != QLatin1Char('.'))
        return std::nullopt;
    const QString rest = name.mid(head.size() + 1);
    bool ok = false;
    const int i = rest.section(QLatin1Char('.'), 0, 0).toInt(&ok);
    if (!ok || i < 0)
        return std::nullopt;
    return std::pair{i, rest.section(QLatin1Char('.'), 1)};
}

// Maps a fused [q; k; v] (and optionally a fourth part) weight or bias by slices of dim 0.
void mapFused(Builder& b, const Tensors& t, const QString& rel, const std::vector<QString>& targets,
              const std::vector<qint64>& sizes) {
    const qint64 rows = t.dim(rel, 0);
    qint64 total = 0;
    for (qint64 s : sizes)
        total += s;
    if (rows != total) {
        b.fail(
            QStringLiteral("%1 has %2 rows where the model needs %3").arg(t.key(rel)).arg(rows).arg(total));
        return;
    }
    qint64 start = 0;
    for (size_t i = 0; i < targets.size(); ++i) {
        b.map(targets[i], rel, {WeightOp::slice(start, sizes[i])});
        start += sizes[i];
    }
}

// ".weight" / ".bias" of the name.
QString kindOf(const QString& rel) {
    return rel.section(QLatin1Char('.'), -1);
}

const Rename kSd3Top[] = {
    {"x_embedder.proj.", "pos_embed.proj."},
    {"t_embedder.mlp.0.", "time_text_embed.timestep_embedder.linear_1."},
    {"t_embedder.mlp.2.", "time_text_embed.timestep_embedder.linear_2."},
    {"y_embedder.mlp.0.", "time_text_embed.text_embedder.linear_1."},
    {"y_embedder.mlp.2.", "time_text_embed.text_embedder.linear_2."},
    {"context_embedder.", "context_embedder."},
    {"final_layer.linear.", "proj_out."},
};
// Inside joint_blocks.N.
const Rename kSd3Block[] = {
    {"x_block.attn.ln_q.", "attn.norm_q."},
    {"x_block.attn.ln_k.", "attn.norm_k."},
    {"context_block.attn.ln_q.", "attn.norm_added_q."},
    {"context_block.attn.ln_k.", "attn.norm_added_k."},
    {"x_block.attn.proj.", "attn.to_out.0."},
    {"context_block.attn.proj.", "attn.to_add_out."},
    {"x_block.attn2.ln_q.", "attn2.norm_q."},
    {"x_block.attn2.ln_k.", "attn2.norm_k."},
    {"x_block.attn2.proj.", "attn2.to_out.0."},
    {"x_block.adaLN_modulation.1.", "norm1.linear."},
    {"x_block.mlp.fc1.", "ff.net.0.proj."},
    {"x_block.mlp.fc2.", "ff.net.2."},
    {"context_block.mlp.fc1.", "ff_context.net.0.proj."},
    {"context_block.mlp.fc2.", "ff_context.net.2."},
};

} // namespace

Result<ComponentMapping> sd3Transformer(const Header& header, const QString& prefix) {
    using R = Result<ComponentMapping>;
    const Tensors t(header, prefix);
    Builder b(t, QStringLiteral("transformer"));
    for (const char* required : {"x_embedder.proj.weight", "pos_embed", "context_embedder.weight",
                                 "y_embedder.mlp.0.weight", "final_layer.linear.weight"})
        if (!t.has(QLatin1String(required)))
            return R::fail(missingMessage(t, QLatin1String(required), QStringLiteral("SD 3 transformer")));
    const Shape patch = t.shape(QStringLiteral("x_embedder.proj.weight")); // [hidden, in, p, p]
    const Shape pos = t.shape(QStringLiteral("pos_embed"));                // [1, N, hidden]
    const auto blocks = t.indices(QStringLiteral("joint_blocks."));
    if (patch.size() != 4 || pos.size() != 3 || blocks.empty() || blocks.back() + 1 != int(blocks.size()))
        return R::fail(QStringLiteral("%1: x_embedder %2, pos_embed %3 and %4 joint blocks are not an SD 3 "
                                      "transformer TwistedPic knows")
                           .arg(prefix, shapeString(patch), shapeString(pos))
                           .arg(blocks.size()));
    const qint64 hidden = patch[0], p = patch[2];
    const int layers = int(blocks.size());
    const qint64 side = qint64(std::llround(std::sqrt(double(pos[1]))));
    if (side * side != pos[1])
        return R::fail(
            QStringLiteral("%1: a %2-wide transformer with %3 positions is not an SD 3 transformer "
                           "TwistedPic knows")
                .arg(prefix)
                .arg(hidden)
                .arg(pos[1]));
    // SD 3's heads are 64 wide; another width's head count cannot be told from the shapes.
    if (hidden % 64 != 0)
        b.configProblem(
            QStringLiteral("%1: cannot infer the attention heads of a %2-wide transformer; give the "
                           "model's config folder")
                .arg(prefix)
                .arg(hidden));
    QJsonArray dual;
    for (int i = 0; i < layers; ++i)
        if (t.has(QStringLiteral("joint_blocks.%1.x_block.attn2.qkv.weight").arg(i)))
            dual.append(i);
    const bool qkNorm = t.has(QStringLiteral("joint_blocks.0.x_block.attn.ln_q.weight"));
    QJsonObject config{
        {QStringLiteral("_class_name"), QStringLiteral("SD3Transformer2DModel")},
        {QStringLiteral("attention_head_dim"), 64},
        {QStringLiteral("caption_projection_dim"), t.dim(QStringLiteral("context_embedder.weight"), 0)},
        {QStringLiteral("dual_attention_layers"), dual},
        {QStringLiteral("in_channels"), patch[1]},
        {QStringLiteral("joint_attention_dim"), t.dim(QStringLiteral("context_embedder.weight"), 1)},
        {QStringLiteral("num_attention_heads"), hidden / 64},
        {QStringLiteral("num_layers"), layers},
        {QStringLiteral("out_channels"), t.dim(QStringLiteral("final_layer.linear.weight"), 0) / (p * p)},
        {QStringLiteral("patch_size"), p},
        {QStringLiteral("pooled_projection_dim"), t.dim(QStringLiteral("y_embedder.mlp.0.weight"), 1)},
        {QStringLiteral("pos_embed_max_size"), side},
        {QStringLiteral("qk_norm"), qkNorm ? QJsonValue(QStringLiteral("rms_norm")) : QJsonValue()},
        {QStringLiteral("sample_size"), 128},
    };

    const std::vector<qint64> thirds(3, hidden);
    for (const QString& name : t.names()) {
        if (name == QLatin1String("pos_embed")) {
            b.map(QStringLiteral("pos_embed.pos_embed"), name);
        } else if (name.startsWith(QLatin1String("final_layer.adaLN_modulation.1."))) {
            b.map(QStringLiteral("norm_out.linear.") + kindOf(name), name, {WeightOp::swapHalves()});
        } else if (auto top = renamed(name, kSd3Top)) {
            b.map(*top, name);
        } else if (auto block = indexed(name, QLatin1String("joint_blocks"))) {
            const auto& [i, rest] = *block;
            const QString to = QStringLiteral("transformer_blocks.%1.").arg(i);
            const QString kind = kindOf(rest);
            const bool last = i == layers - 1;
            if (rest.startsWith(QLatin1String("x_block.attn.qkv.")))
                mapFused(b, t, name,
                         {to + QStringLiteral("attn.to_q.") + kind, to + QStringLiteral("attn.to_k.") + kind,
                          to + QStringLiteral("attn.to_v.") + kind},
                         thirds);
            else if (rest.startsWith(QLatin1String("context_block.attn.qkv.")))
                mapFused(b, t, name,
                         {to + QStringLiteral("attn.add_q_proj.") + kind,
                          to + QStringLiteral("attn.add_k_proj.") + kind,
                          to + QStringLiteral("attn.add_v_proj.") + kind},
                         thirds);
            else if (rest.startsWith(QLatin1String("x_block.attn2.qkv.")))
                mapFused(b, t, name,
                         {to + QStringLiteral("attn2.to_q.") + kind,
                          to + QStringLiteral("attn2.to_k.") + kind,
                          to + QStringLiteral("attn2.to_v.") + kind},
                         thirds);
            else if (rest.startsWith(QLatin1String("context_block.adaLN_modulation.1.")))
                // The last block's context stream only modulates (context_pre_only): [shift, scale].
                b.map(to + QStringLiteral("norm1_context.linear.") + kind, name,
                      last ? std::vector<WeightOp>{WeightOp::swapHalves()} : std::vector<WeightOp>{});
            else if (auto r = renamed(rest, kSd3Block))
                b.map(to + *r, name);
            else
                b.ignore(name);
        } else {
            b.ignore(name);
        }
    }
    return b.finish(std::move(config));
}

namespace {

const Rename kFluxTop[] = {
    {"time_in.in_layer.", "time_text_embed.timestep_embedder.linear_1."},
    {"time_in.out_layer.", "time_text_embed.timestep_embedder.linear_2."},
    {"vector_in.in_layer.", "time_text_embed.text_embedder.linear_1."},
    {"vector_in.out_layer.", "time_text_embed.text_embedder.linear_2."},
    {"guidance_in.in_layer.", "time_text_embed.guidance_embedder.linear_1."},
    {"guidance_in.out_layer.", "time_text_embed.guidance_embedder.linear_2."},
    {"txt_in.", "context_embedder."},
    {"img_in.", "x_embedder."},
    {"final_layer.linear.", "proj_out."},
};
const Rename kFluxDouble[] = {
    {"img_mod.lin.", "norm1.linear."},
    {"txt_mod.lin.", "norm1_context.linear."},
    {"img_attn.norm.query_norm.scale", "attn.norm_q.weight"},
    {"img_attn.norm.key_norm.scale", "attn.norm_k.weight"},
    {"txt_attn.norm.query_norm.scale", "attn.norm_added_q.weight"},
    {"txt_attn.norm.key_norm.scale", "attn.norm_added_k.weight"},
    {"img_mlp.0.", "ff.net.0.proj."},
    {"img_mlp.2.", "ff.net.2."},
    {"txt_mlp.0.", "ff_context.net.0.proj."},
    {"txt_mlp.2.", "ff_context.net.2."},
    {"img_attn.proj.", "attn.to_out.0."},
    {"txt_attn.proj.", "attn.to_add_out."},
};
const Rename kFluxSingle[] = {
    {"modulation.lin.", "norm.linear."},
    {"norm.query_norm.scale", "attn.norm_q.weight"},
    {"norm.key_norm.scale", "attn.norm_k.weight"},
    {"linear2.", "proj_out."},
};

} // namespace

Result<ComponentMapping> fluxTransformer(const Header& header, const QString& prefix) {
    using R = Result<ComponentMapping>;
    const Tensors t(header, prefix);
    Builder b(t, QStringLiteral("transformer"));
    for (const char* required :
         {"img_in.weight", "txt_in.weight", "vector_in.in_layer.weight", "final_layer.linear.weight",
          "double_blocks.0.img_attn.norm.query_norm.scale"})
        if (!t.has(QLatin1String(required)))
            return R::fail(missingMessage(t, QLatin1String(required), QStringLiteral("Flux transformer")));
    const qint64 hidden = t.dim(QStringLiteral("img_in.weight"), 0);
    const qint64 headDim = t.dim(QStringLiteral("double_blocks.0.img_attn.norm.query_norm.scale"), 0);
    const auto doubles = t.indices(QStringLiteral("double_blocks."));
    const auto singles = t.indices(QStringLiteral("single_blocks."));
    if (headDim <= 0 || hidden % headDim != 0 || doubles.back() + 1 != int(doubles.size()) ||
        (!singles.empty() && singles.back() + 1 != int(singles.size())))
        return R::fail(
            QStringLiteral("%1: a %2-wide transformer with %3-wide heads, %4 double and %5 single blocks "
                           "is not a Flux transformer TwistedPic knows")
                .arg(prefix.isEmpty() ? QStringLiteral("Flux") : prefix)
                .arg(hidden)
                .arg(headDim)
                .arg(doubles.size())
                .arg(singles.size()));
    const qint64 mlp = 4 * hidden; // diffusers' FluxSingleTransformerBlock: mlp_ratio 4
    const qint64 in = t.dim(QStringLiteral("img_in.weight"), 1);
    const qint64 out = t.dim(QStringLiteral("final_layer.linear.weight"), 0);
    QJsonObject config{
        {QStringLiteral("_class_name"), QStringLiteral("FluxTransformer2DModel")},
        {QStringLiteral("attention_head_dim"), headDim},
        {QStringLiteral("guidance_embeds"), t.has(QStringLiteral("guidance_in.in_layer.weight"))},
        {QStringLiteral("in_channels"), in},
        {QStringLiteral("joint_attention_dim"), t.dim(QStringLiteral("txt_in.weight"), 1)},
        {QStringLiteral("num_attention_heads"), hidden / headDim},
        {QStringLiteral("num_layers"), int(doubles.size())},
        {QStringLiteral("num_single_layers"), int(singles.size())},
        {QStringLiteral("out_channels"), out == in ? QJsonValue() : QJsonValue(out)},
        {QStringLiteral("patch_size"), 1},
        {QStringLiteral("pooled_projection_dim"), t.dim(QStringLiteral("vector_in.in_layer.weight"), 1)},
    };
    // RoPE axes: (16, 56, 56) for Flux.1's 128-wide heads; other widths need a config folder.
    if (headDim == 128)
        config.insert(QStringLiteral("axes_dims_rope"), QJsonArray{16, 56, 56});
    else
        b.configProblem(
            QStringLiteral("%1: cannot infer the RoPE axes of %2-wide heads; give the model's config folder")
                .arg(prefix.isEmpty() ? QStringLiteral("Flux") : prefix)
                .arg(headDim));

    const std::vector<qint64> thirds(3, hidden);
    for (const QString& name : t.names()) {
        if (name.startsWith(QLatin1String("final_layer.adaLN_modulation.1."))) {
            b.map(QStringLiteral("norm_out.linear.") + kindOf(name), name, {WeightOp::swapHalves()});
        } else if (auto top = renamed(name, kFluxTop)) {
            b.map(*top, name);
        } else if (auto d = indexed(name, QLatin1String("double_blocks"))) {
            const QString to = QStringLiteral("transformer_blocks.%1.").arg(d->first);
            const QString kind = kindOf(d->second);
            if (d->second.startsWith(QLatin1String("img_attn.qkv.")))
                mapFused(b, t, name,
                         {to + QStringLiteral("attn.to_q.") + kind, to + QStringLiteral("attn.to_k.") + kind,
                          to + QStringLiteral("attn.to_v.") + kind},
                         thirds);
            else if (d->second.startsWith(QLatin1String("txt_attn.qkv.")))
                mapFused(b, t, name,
                         {to + QStringLiteral("attn.add_q_proj.") + kind,
                          to + QStringLiteral("attn.add_k_proj.") + kind,
                          to + QStringLiteral("attn.add_v_proj.") + kind},
                         thirds);
            else if (auto r = renamed(d->second, kFluxDouble))
                b.map(to + *r, name);
            else
                b.ignore(name);
        } else if (auto s = indexed(name, QLatin1String("single_blocks"))) {
            const QString to = QStringLiteral("single_transformer_blocks.%1.").arg(s->first);
            const QString kind = kindOf(s->second);
            if (s->second.startsWith(QLatin1String("linear1.")))
                mapFused(b, t, name,
                         {to + QStringLiteral("attn.to_q.") + kind, to + QStringLiteral("attn.to_k.") + kind,
                          to + QStringLiteral("attn.to_v.") + kind, to + QStringLiteral("proj_mlp.") + kind},
                         {hidden, hidden, hidden, mlp});
            else if (auto r = renamed(s->second, kFluxSingle))
                b.map(to + *r, name);
            else
                b.ignore(name);
        } else {
            b.ignore(name);
        }
    }
    return b.finish(std::move(config));
}

Result<ComponentMapping> t5Encoder(const Header& header, const QString& prefix) {
    using R = Result<ComponentMapping>;
    const Tensors t(header, prefix);
    Builder b(t, QStringLiteral("text_encoder_3"));
    const Shape shared = t.shape(QStringLiteral("shared.weight"));
    const QString bias =
        QStringLiteral("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight");
    const Shape buckets = t.shape(bias); // [buckets, heads]
    const auto blocks = t.indices(QStringLiteral("encoder.block."));
    if (shared.size() != 2 || buckets.size() != 2 || blocks.empty())
        return R::fail(missingMessage(t, shared.size() != 2 ? QStringLiteral("shared.weight") : bias,
                                      QStringLiteral("T5 text encoder")));
    const qint64 heads = buckets[1];
    const qint64 inner = t.dim(QStringLiteral("encoder.block.0.layer.0.SelfAttention.q.weight"), 0);
    const bool gated = t.has(QStringLiteral("encoder.block.0.layer.1.DenseReluDense.wi_0.weight"));
    const qint64 ff = t.dim(gated ? QStringLiteral("encoder.block.0.layer.1.DenseReluDense.wi_0.weight")
                                  : QStringLiteral("encoder.block.0.layer.1.DenseReluDense.wi.weight"),
                            0);
    QJsonObject config{
        {QStringLiteral("architectures"), QJsonArray{QStringLiteral("T5EncoderModel")}},
        {QStringLiteral("d_ff"), ff},
        {QStringLiteral("d_kv"), heads > 0 ? inner / heads : 0},
        {QStringLiteral("d_model"), shared[1]},
        {QStringLiteral("dense_act_fn"), gated ? QStringLiteral("gelu_new") : QStringLiteral("relu")},
        {QStringLiteral("eos_token_id"), 1},
        {QStringLiteral("feed_forward_proj"), gated ? QStringLiteral("gated-gelu") : QStringLiteral("relu")},
        {QStringLiteral("is_gated_act"), gated},
        {QStringLiteral("layer_norm_epsilon"), 1e-6},
        {QStringLiteral("model_type"), QStringLiteral("t5")},
        {QStringLiteral("num_heads"), heads},
        {QStringLiteral("num_layers"), int(blocks.size())},
        {QStringLiteral("pad_token_id"), 0},
        {QStringLiteral("relative_attention_max_distance"), 128},
        {QStringLiteral("relative_attention_num_buckets"), buckets[0]},
        {QStringLiteral("vocab_size"), shared[0]},
    };
    for (const QString& name : t.names()) {
        if (name == QLatin1String("shared.weight")) {
            b.map(name, name);
            b.map(QStringLiteral("encoder.embed_tokens.weight"), name); // tied, as in transformers
        } else if (name.startsWith(QLatin1String("encoder."))) {
            b.map(name, name);
        } else {
            b.ignore(name);
        }
    }
    return b.finish(std::move(config));
}

} // namespace tp::io::keymap
