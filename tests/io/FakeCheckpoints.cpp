#include "tests/io/FakeCheckpoints.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include <algorithm>

namespace tp::test {

namespace {

using Shape = std::vector<qint64>;

struct Out {
    QString dtype;
    std::vector<FakeTensor> tensors;
    void add(const QString& name, Shape shape) { tensors.push_back({name, dtype, std::move(shape)}); }
    void weightBias(const QString& name, Shape weight) {
        const qint64 out = weight.front();
        add(name + QStringLiteral(".weight"), std::move(weight));
        add(name + QStringLiteral(".bias"), {out});
    }
    void norm(const QString& name, qint64 ch) { weightBias(name, {ch}); }
};

// An LDM ResBlock (input_blocks.N.0, middle_block.0, output_blocks.N.0).
void unetResnet(Out& o, const QString& p, qint64 in, qint64 out, qint64 temb) {
    o.norm(p + QStringLiteral("in_layers.0"), in);
    o.weightBias(p + QStringLiteral("in_layers.2"), {out, in, 3, 3});
    o.weightBias(p + QStringLiteral("emb_layers.1"), {out, temb});
    o.norm(p + QStringLiteral("out_layers.0"), out);
    o.weightBias(p + QStringLiteral("out_layers.3"), {out, out, 3, 3});
    if (in != out)
        o.weightBias(p + QStringLiteral("skip_connection"), {out, in, 1, 1});
}

// An LDM SpatialTransformer (…N.1).
void unetAttention(Out& o, const QString& p, qint64 ch, qint64 depth, qint64 context, bool linear) {
    o.norm(p + QStringLiteral("norm"), ch);
    const Shape proj = linear ? Shape{ch, ch} : Shape{ch, ch, 1, 1};
    o.weightBias(p + QStringLiteral("proj_in"), proj);
    for (qint64 k = 0; k < depth; ++k) {
        const QString b = p + QStringLiteral("transformer_blocks.%1.").arg(k);
        for (const char* a : {"attn1", "attn2"}) {
            const qint64 kv = QLatin1String(a) == QLatin1String("attn1") ? ch : context;
            o.add(b + QLatin1String(a) + QStringLiteral(".to_q.weight"), {ch, ch});
            o.add(b + QLatin1String(a) + QStringLiteral(".to_k.weight"), {ch, kv});
            o.add(b + QLatin1String(a) + QStringLiteral(".to_v.weight"), {ch, kv});
            o.weightBias(b + QLatin1String(a) + QStringLiteral(".to_out.0"), {ch, ch});
        }
        for (const char* n : {"norm1", "norm2", "norm3"})
            o.norm(b + QLatin1String(n), ch);
        o.weightBias(b + QStringLiteral("ff.net.0.proj"), {8 * ch, ch});
        o.weightBias(b + QStringLiteral("ff.net.2"), {ch, 4 * ch});
    }
    o.weightBias(p + QStringLiteral("proj_out"), proj);
}

void ldmUnet(Out& o, const FakeCheckpointOptions& opt, qint64 context, bool linear, qint64 admIn) {
    const QString p = QStringLiteral("model.diffusion_model.");
    const auto& ch = opt.channels;
    const qint64 temb = 4 * ch[0];
    o.weightBias(p + QStringLiteral("time_embed.0"), {temb, ch[0]});
    o.weightBias(p + QStringLiteral("time_embed.2"), {temb, temb});
    if (admIn > 0) {
        o.weightBias(p + QStringLiteral("label_emb.0.0"), {temb, admIn});
        o.weightBias(p + QStringLiteral("label_emb.0.2"), {temb, temb});
    }
    o.weightBias(p + QStringLiteral("input_blocks.0.0"), {ch[0], opt.inChannels, 3, 3});
    std::vector<qint64> skips{ch[0]};
    qint64 current = ch[0];
    int n = 1;
    const int levels = int(ch.size());
    for (int l = 0; l < levels; ++l) {
        for (qint64 j = 0; j < opt.layers; ++j, ++n) {
            const QString b = p + QStringLiteral("input_blocks.%1.").arg(n);
            unetResnet(o, b + QStringLiteral("0."), current, ch[size_t(l)], temb);
            current = ch[size_t(l)];
            if (opt.depth[size_t(l)] > 0)
                unetAttention(o, b + QStringLiteral("1."), current, opt.depth[size_t(l)], context, linear);
            skips.push_back(current);
        }
        if (l + 1 < levels) {
            o.weightBias(p + QStringLiteral("input_blocks.%1.0.op").arg(n), {current, current, 3, 3});
            skips.push_back(current);
            ++n;
        }
    }
    unetResnet(o, p + QStringLiteral("middle_block.0."), current, current, temb);
    unetAttention(o, p + QStringLiteral("middle_block.1."), current, std::max<qint64>(opt.depth.back(), 1),
                  context, linear);
    unetResnet(o, p + QStringLiteral("middle_block.2."), current, current, temb);
    n = 0;
    for (int l = levels - 1; l >= 0; --l) {
        for (qint64 j = 0; j <= opt.layers; ++j, ++n) {
            const QString b = p + QStringLiteral("output_blocks.%1.").arg(n);
            const qint64 skip = skips.back();
            skips.pop_back();
            unetResnet(o, b + QStringLiteral("0."), current + skip, ch[size_t(l)], temb);
            current = ch[size_t(l)];
            int part = 1;
            if (opt.depth[size_t(l)] > 0) {
                unetAttention(o, b + QStringLiteral("1."), current, opt.depth[size_t(l)], context, linear);
                part = 2;
            }
            if (l > 0 && j == opt.layers)
                o.weightBias(b + QStringLiteral("%1.conv").arg(part), {current, current, 3, 3});
        }
    }
    o.norm(p + QStringLiteral("out.0"), ch[0]);
    o.weightBias(p + QStringLiteral("out.2"), {4, ch[0], 3, 3});
}

void vaeResnet(Out& o, const QString& p, qint64 in, qint64 out) {
    o.norm(p + QStringLiteral("norm1"), in);
    o.weightBias(p + QStringLiteral("conv1"), {out, in, 3, 3});
    o.norm(p + QStringLiteral("norm2"), out);
    o.weightBias(p + QStringLiteral("conv2"), {out, out, 3, 3});
    if (in != out)
        o.weightBias(p + QStringLiteral("nin_shortcut"), {out, in, 1, 1});
}

void vaeMid(Out& o, const QString& p, qint64 ch) {
    vaeResnet(o, p + QStringLiteral("mid.block_1."), ch, ch);
    o.norm(p + QStringLiteral("mid.attn_1.norm"), ch);
    for (const char* x : {"q", "k", "v", "proj_out"})
        o.weightBias(p + QStringLiteral("mid.attn_1.") + QLatin1String(x), {ch, ch, 1, 1});
    vaeResnet(o, p + QStringLiteral("mid.block_2."), ch, ch);
}

void ldmVae(Out& o, const QString& prefix, const FakeCheckpointOptions& opt) {
    const auto& ch = opt.vaeChannels;
    const qint64 z = opt.latentChannels;
    const int levels = int(ch.size());
    const qint64 layers = 2;
    const QString e = prefix + QStringLiteral("encoder.");
    o.weightBias(e + QStringLiteral("conv_in"), {ch[0], 3, 3, 3});
    qint64 current = ch[0];
    for (int i = 0; i < levels; ++i) {
        for (qint64 j = 0; j < layers; ++j) {
            vaeResnet(o, e + QStringLiteral("down.%1.block.%2.").arg(i).arg(j), current, ch[size_t(i)]);
            current = ch[size_t(i)];
        }
        if (i + 1 < levels)
            o.weightBias(e + QStringLiteral("down.%1.downsample.conv").arg(i), {current, current, 3, 3});
    }
    vaeMid(o, e, current);
    o.norm(e + QStringLiteral("norm_out"), current);
    o.weightBias(e + QStringLiteral("conv_out"), {2 * z, current, 3, 3});
    if (opt.quantConv) {
        o.weightBias(prefix + QStringLiteral("quant_conv"), {2 * z, 2 * z, 1, 1});
        o.weightBias(prefix + QStringLiteral("post_quant_conv"), {z, z, 1, 1});
    }
    const QString d = prefix + QStringLiteral("decoder.");
    current = ch.back();
    o.weightBias(d + QStringLiteral("conv_in"), {current, z, 3, 3});
    vaeMid(o, d, current);
    for (int i = levels - 1; i >= 0; --i) {
        for (qint64 j = 0; j <= layers; ++j) {
            vaeResnet(o, d + QStringLiteral("up.%1.block.%2.").arg(i).arg(j), current, ch[size_t(i)]);
            current = ch[size_t(i)];
        }
        if (i > 0)
            o.weightBias(d + QStringLiteral("up.%1.upsample.conv").arg(i), {current, current, 3, 3});
    }
    o.norm(d + QStringLiteral("norm_out"), current);
    o.weightBias(d + QStringLiteral("conv_out"), {3, current, 3, 3});
}

// transformers' CLIPTextModel names under prefix + "text_model.".
void clip(Out& o, const QString& prefix, qint64 width, qint64 layers) {
    const QString p = prefix + QStringLiteral("text_model.");
    o.add(p + QStringLiteral("embeddings.token_embedding.weight"), {49408, width});
    o.add(p + QStringLiteral("embeddings.position_embedding.weight"), {77, width});
    o.tensors.push_back({p + QStringLiteral("embeddings.position_ids"), QStringLiteral("I64"), {1, 77}});
    for (qint64 i = 0; i < layers; ++i) {
        const QString l = p + QStringLiteral("encoder.layers.%1.").arg(i);
        for (const char* x : {"q_proj", "k_proj", "v_proj", "out_proj"})
            o.weightBias(l + QStringLiteral("self_attn.") + QLatin1String(x), {width, width});
        o.norm(l + QStringLiteral("layer_norm1"), width);
        o.norm(l + QStringLiteral("layer_norm2"), width);
        o.weightBias(l + QStringLiteral("mlp.fc1"), {4 * width, width});
        o.weightBias(l + QStringLiteral("mlp.fc2"), {width, 4 * width});
    }
    o.norm(p + QStringLiteral("final_layer_norm"), width);
}

void openClip(Out& o, const QString& p, qint64 width, qint64 layers, qint64 projection) {
    o.add(p + QStringLiteral("token_embedding.weight"), {49408, width});
    o.add(p + QStringLiteral("positional_embedding"), {77, width});
    for (qint64 i = 0; i < layers; ++i) {
        const QString l = p + QStringLiteral("transformer.resblocks.%1.").arg(i);
        o.norm(l + QStringLiteral("ln_1"), width);
        o.add(l + QStringLiteral("attn.in_proj_weight"), {3 * width, width});
        o.add(l + QStringLiteral("attn.in_proj_bias"), {3 * width});
        o.weightBias(l + QStringLiteral("attn.out_proj"), {width, width});
        o.norm(l + QStringLiteral("ln_2"), width);
        o.weightBias(l + QStringLiteral("mlp.c_fc"), {4 * width, width});
        o.weightBias(l + QStringLiteral("mlp.c_proj"), {width, 4 * width});
    }
    o.norm(p + QStringLiteral("ln_final"), width);
    o.add(p + QStringLiteral("text_projection"), {width, projection});
    o.add(p + QStringLiteral("logit_scale"), {});
}

// transformers' T5EncoderModel names under prefix.
void t5(Out& o, const QString& p, qint64 d, qint64 layers) {
    const qint64 heads = d / 32, ff = 2 * d;
    o.add(p + QStringLiteral("shared.weight"), {32128, d});
    for (qint64 i = 0; i < layers; ++i) {
        const QString b = p + QStringLiteral("encoder.block.%1.layer.").arg(i);
        for (const char* x : {"q", "k", "v", "o"})
            o.add(b + QStringLiteral("0.SelfAttention.") + QLatin1String(x) + QStringLiteral(".weight"),
                  {d, d});
        if (i == 0)
            o.add(b + QStringLiteral("0.SelfAttention.relative_attention_bias.weight"), {32, heads});
        o.add(b + QStringLiteral("0.layer_norm.weight"), {d});
        o.add(b + QStringLiteral("1.DenseReluDense.wi_0.weight"), {ff, d});
        o.add(b + QStringLiteral("1.DenseReluDense.wi_1.weight"), {ff, d});
        o.add(b + QStringLiteral("1.DenseReluDense.wo.weight"), {d, ff});
        o.add(b + QStringLiteral("1.layer_norm.weight"), {d});
    }
    o.add(p + QStringLiteral("encoder.final_layer_norm.weight"), {d});
}

void ditVae(Out& o, const FakeDitOptions& d) {
    FakeCheckpointOptions v;
    v.latentChannels = 16;
    v.quantConv = false;
    v.dtype = d.dtype;
    ldmVae(o, d.vaePrefix, v);
}

} // namespace

std::vector<FakeTensor> fakeSd3Tensors(const FakeDitOptions& d) {
    Out o{d.dtype, {}};
    const QString p = d.prefix;
    const qint64 h = d.hidden;
    const qint64 pooled = d.clipLWidth + d.clipGWidth;
    o.add(p + QStringLiteral("pos_embed"), {1, 256, h});
    o.weightBias(p + QStringLiteral("x_embedder.proj"), {h, 16, 2, 2});
    o.weightBias(p + QStringLiteral("t_embedder.mlp.0"), {h, 256});
    o.weightBias(p + QStringLiteral("t_embedder.mlp.2"), {h, h});
    o.weightBias(p + QStringLiteral("y_embedder.mlp.0"), {h, pooled});
    o.weightBias(p + QStringLiteral("y_embedder.mlp.2"), {h, h});
    o.weightBias(p + QStringLiteral("context_embedder"), {h, d.t5Width});
    for (int i = 0; i < d.layers; ++i) {
        const QString b = p + QStringLiteral("joint_blocks.%1.").arg(i);
        const bool last = i == d.layers - 1;
        const bool dual =
            std::find(d.dualAttention.begin(), d.dualAttention.end(), i) != d.dualAttention.end();
        for (const char* stream : {"x_block.", "context_block."}) {
            const QString s = b + QLatin1String(stream);
            const bool context = QLatin1String(stream) == QLatin1String("context_block.");
            o.weightBias(s + QStringLiteral("attn.qkv"), {3 * h, h});
            if (d.qkNorm) {
                o.add(s + QStringLiteral("attn.ln_q.weight"), {d.headDim});
                o.add(s + QStringLiteral("attn.ln_k.weight"), {d.headDim});
            }
            const qint64 modulation = context && last ? 2 : (!context && dual ? 9 : 6);
            o.weightBias(s + QStringLiteral("adaLN_modulation.1"), {modulation * h, h});
            if (context && last)
                continue; // context_pre_only: no output projection or MLP
            o.weightBias(s + QStringLiteral("attn.proj"), {h, h});
            o.weightBias(s + QStringLiteral("mlp.fc1"), {4 * h, h});
            o.weightBias(s + QStringLiteral("mlp.fc2"), {h, 4 * h});
        }
        if (dual) {
            o.weightBias(b + QStringLiteral("x_block.attn2.qkv"), {3 * h, h});
            o.weightBias(b + QStringLiteral("x_block.attn2.proj"), {h, h});
            if (d.qkNorm) {
                o.add(b + QStringLiteral("x_block.attn2.ln_q.weight"), {d.headDim});
                o.add(b + QStringLiteral("x_block.attn2.ln_k.weight"), {d.headDim});
            }
        }
    }
    o.weightBias(p + QStringLiteral("final_layer.linear"), {2 * 2 * 16, h});
    o.weightBias(p + QStringLiteral("final_layer.adaLN_modulation.1"), {2 * h, h});
    if (d.clipL)
        clip(o, QStringLiteral("text_encoders.clip_l.transformer."), d.clipLWidth, 2); // no text_projection
    if (d.clipG) {
        clip(o, QStringLiteral("text_encoders.clip_g.transformer."), d.clipGWidth, 2);
        o.add(QStringLiteral("text_encoders.clip_g.transformer.text_projection.weight"),
              {d.clipGWidth, d.clipGWidth});
    }
    if (d.t5)
        t5(o, QStringLiteral("text_encoders.t5xxl.transformer."), d.t5Width, 2);
    if (d.vae)
        ditVae(o, d);
    return std::move(o.tensors);
}

std::vector<FakeTensor> fakeFluxTensors(const FakeDitOptions& d) {
    Out o{d.dtype, {}};
    const QString p = d.prefix;
    const qint64 h = d.hidden;
    o.weightBias(p + QStringLiteral("img_in"), {h, 64});
    o.weightBias(p + QStringLiteral("txt_in"), {h, d.t5Width});
    o.weightBias(p + QStringLiteral("time_in.in_layer"), {h, 256});
    o.weightBias(p + QStringLiteral("time_in.out_layer"), {h, h});
    o.weightBias(p + QStringLiteral("vector_in.in_layer"), {h, d.clipLWidth});
    o.weightBias(p + QStringLiteral("vector_in.out_layer"), {h, h});
    if (d.guidance) {
        o.weightBias(p + QStringLiteral("guidance_in.in_layer"), {h, 256});
        o.weightBias(p + QStringLiteral("guidance_in.out_layer"), {h, h});
    }
    for (int i = 0; i < d.layers; ++i) {
        const QString b = p + QStringLiteral("double_blocks.%1.").arg(i);
        for (const char* s : {"img", "txt"}) {
            const QString x = b + QLatin1String(s);
            o.weightBias(x + QStringLiteral("_mod.lin"), {6 * h, h});
            o.weightBias(x + QStringLiteral("_attn.qkv"), {3 * h, h});
            o.add(x + QStringLiteral("_attn.norm.query_norm.scale"), {d.headDim});
            o.add(x + QStringLiteral("_attn.norm.key_norm.scale"), {d.headDim});
            o.weightBias(x + QStringLiteral("_attn.proj"), {h, h});
            o.weightBias(x + QStringLiteral("_mlp.0"), {4 * h, h});
            o.weightBias(x + QStringLiteral("_mlp.2"), {h, 4 * h});
        }
    }
    for (int i = 0; i < d.singleLayers; ++i) {
        const QString b = p + QStringLiteral("single_blocks.%1.").arg(i);
        o.weightBias(b + QStringLiteral("linear1"), {3 * h + 4 * h, h});
        o.weightBias(b + QStringLiteral("linear2"), {h, h + 4 * h});
        o.add(b + QStringLiteral("norm.query_norm.scale"), {d.headDim});
        o.add(b + QStringLiteral("norm.key_norm.scale"), {d.headDim});
        o.weightBias(b + QStringLiteral("modulation.lin"), {3 * h, h});
    }
    o.weightBias(p + QStringLiteral("final_layer.linear"), {64, h});
    o.weightBias(p + QStringLiteral("final_layer.adaLN_modulation.1"), {2 * h, h});
    if (d.clipL)
        clip(o, QStringLiteral("text_encoders.clip_l.transformer."), d.clipLWidth, 2);
    if (d.t5)
        t5(o, QStringLiteral("text_encoders.t5xxl.transformer."), d.t5Width, 2);
    if (d.vae)
        ditVae(o, d);
    return std::move(o.tensors);
}

std::vector<FakeTensor> fakeCheckpointTensors(FakeCheckpointKind kind, const FakeCheckpointOptions& opt) {
    Out o{opt.dtype, {}};
    qint64 context = 0;
    qint64 adm = 0;
    bool linear = true;
    switch (kind) {
    case FakeCheckpointKind::SD1:
        if (opt.withText)
            clip(o, QStringLiteral("cond_stage_model.transformer."), opt.clipWidth, opt.textLayers);
        context = opt.clipWidth;
        linear = false;
        break;
    case FakeCheckpointKind::SD2:
        if (opt.withText)
            openClip(o, QStringLiteral("cond_stage_model.model."), opt.openClipWidth, opt.textLayers + 1,
                     opt.projection);
        context = opt.openClipWidth;
        break;
    case FakeCheckpointKind::SDXL:
        if (opt.withText) {
            clip(o, QStringLiteral("conditioner.embedders.0.transformer."), opt.clipWidth, opt.textLayers);
            openClip(o, QStringLiteral("conditioner.embedders.1.model."), opt.openClipWidth, opt.textLayers,
                     opt.projection);
        }
        context = opt.clipWidth + opt.openClipWidth;
        adm = opt.projection + 6 * 256;
        break;
    case FakeCheckpointKind::SDXLRefiner:
        if (opt.withText)
            openClip(o, QStringLiteral("conditioner.embedders.0.model."), opt.openClipWidth, opt.textLayers,
                     opt.projection);
        context = opt.openClipWidth;
        adm = opt.projection + 5 * 256;
        break;
    }
    if (opt.contextDim > 0)
        context = opt.contextDim;
    if (opt.withUnet)
        ldmUnet(o, opt, context, linear, adm);
    if (opt.withVae)
        ldmVae(o, QStringLiteral("first_stage_model."), opt);
    return std::move(o.tensors);
}

std::vector<FakeTensor> fakeLdmVaeTensors(const QString& prefix, const FakeCheckpointOptions& options) {
    Out o{options.dtype, {}};
    ldmVae(o, prefix, options);
    return std::move(o.tensors);
}

bool writeSparseSafeTensors(const QString& path, const std::vector<FakeTensor>& tensors,
                            const QMap<QString, QString>& metadata) {
    auto elementSize = [](const QString& dtype) -> qint64 {
        if (dtype == QLatin1String("F64") || dtype == QLatin1String("I64"))
            return 8;
        if (dtype == QLatin1String("F32") || dtype == QLatin1String("I32"))
            return 4;
        if (dtype == QLatin1String("F16") || dtype == QLatin1String("BF16") || dtype == QLatin1String("I16"))
            return 2;
        return 1;
    };
    QJsonObject header;
    qint64 offset = 0;
    for (const FakeTensor& t : tensors) {
        qint64 n = elementSize(t.dtype);
        QJsonArray shape;
        for (qint64 d : t.shape) {
            n *= d;
            shape.append(d);
        }
        header.insert(t.name, QJsonObject{{QStringLiteral("dtype"), t.dtype},
                                          {QStringLiteral("shape"), shape},
                                          {QStringLiteral("data_offsets"), QJsonArray{offset, offset + n}}});
        offset += n;
    }
    if (!metadata.isEmpty()) {
        QJsonObject meta;
        for (auto it = metadata.constBegin(); it != metadata.constEnd(); ++it)
            meta.insert(it.key(), it.value());
        header.insert(QStringLiteral("__metadata__"), meta);
    }
    QByteArray json = QJsonDocument(header).toJson(QJsonDocument::Compact);
    json += QByteArray((8 - json.size() % 8) % 8, ' ');
    QByteArray bytes(8, '\0');
    for (int i = 0; i < 8; ++i)
        bytes[i] = char((quint64(json.size()) >> (8 * i)) & 0xFF);
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes + json) == bytes.size() + json.size() &&
           f.resize(8 + json.size() + offset);
}

} // namespace tp::test
