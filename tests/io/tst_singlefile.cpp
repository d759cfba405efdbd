// Single-file checkpoints from their headers: family detection, the messages for what cannot
// run, configs inferred from shapes, the key mapping, prediction type and tokenizers.
// Torch-free: the files are sparse (a real header over a hole).
#include "core/common/Paths.h"
#include "core/io/SingleFileCheckpoint.h"
#include "core/text/T5Tokenizer.h"
#include "tests/io/FakeCheckpoints.h"

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QTemporaryDir>
#include <QtTest>

using namespace tp;
using namespace tp::io;
using namespace tp::test;

namespace {

QJsonArray ints(std::initializer_list<qint64> v) {
    QJsonArray a;
    for (qint64 x : v)
        a.append(x);
    return a;
}

QJsonArray strings(std::initializer_list<const char*> v) {
    QJsonArray a;
    for (const char* s : v)
        a.append(QLatin1String(s));
    return a;
}

} // namespace

class TestSingleFile final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

    QString write(const QString& name, const std::vector<FakeTensor>& tensors,
                  const QMap<QString, QString>& metadata = {}) {
        const QString path = m_dir.filePath(name);
        if (!writeSparseSafeTensors(path, tensors, metadata))
            qFatal("cannot write %s", qPrintable(path));
        return path;
    }

    SingleFileCheckpoint open(const QString& path, const SingleFileOptions& options = {}) {
        auto c = SingleFileCheckpoint::open(path, options);
        if (!c)
            qFatal("%s", qPrintable(c.error()));
        return std::move(*c);
    }

    static const WeightSource& source(const ComponentMapping& m, const char* name) {
        static const WeightSource none;
        const auto it = m.tensors.find(QLatin1String(name));
        if (it == m.tensors.end()) {
            qWarning("no mapping for %s", name);
            return none;
        }
        return *it;
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void sd1() {
        const QString path =
            write(QStringLiteral("sd1.safetensors"), fakeCheckpointTensors(FakeCheckpointKind::SD1));
        const SingleFileCheckpoint c = open(path);
        QCOMPARE(c.family(), ModelFamily::SD1);
        QVERIFY2(c.supported(), qPrintable(c.problem()));
        QCOMPARE(c.variant(), QString());
        QCOMPARE(c.precision(), QStringLiteral("fp16"));
        QCOMPARE(c.nativeSize(), 512);
        QCOMPARE(c.pipelineClass(), QStringLiteral("StableDiffusionPipeline"));
        QCOMPARE(c.modelIndex().value(QStringLiteral("text_encoder")).toArray(),
                 strings({"transformers", "CLIPTextModel"}));
        QCOMPARE(c.modelIndex().value(QStringLiteral("vae")).toArray(),
                 strings({"diffusers", "AutoencoderKL"}));
        QVERIFY(!c.modelIndex().contains(QStringLiteral("force_zeros_for_empty_prompt")));
        QCOMPARE(c.components(), (QStringList{QStringLiteral("text_encoder"), QStringLiteral("unet"),
                                              QStringLiteral("vae")}));
        QCOMPARE(c.predictionType(), QStringLiteral("epsilon"));
        QCOMPARE(c.fileSize(), QFileInfo(path).size());

        const auto unet = c.mapping(QStringLiteral("unet"));
        QVERIFY2(unet, qPrintable(unet.error()));
        const QJsonObject& u = unet->config;
        QCOMPARE(u.value(QStringLiteral("block_out_channels")).toArray(), ints({64, 128, 128}));
        QCOMPARE(u.value(QStringLiteral("layers_per_block")).toInt(), 2);
        QCOMPARE(u.value(QStringLiteral("attention_head_dim")).toInt(), 8); // SD 1.x: 8 heads
        QCOMPARE(u.value(QStringLiteral("cross_attention_dim")).toInt(), 64);
        QCOMPARE(u.value(QStringLiteral("use_linear_projection")).toBool(), false);
        QCOMPARE(u.value(QStringLiteral("transformer_layers_per_block")).toInt(), 1);
        QCOMPARE(u.value(QStringLiteral("down_block_types")).toArray(),
                 strings({"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"}));
        QCOMPARE(u.value(QStringLiteral("up_block_types")).toArray(),
                 strings({"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"}));
        QCOMPARE(u.value(QStringLiteral("in_channels")).toInt(), 4);
        QCOMPARE(u.value(QStringLiteral("out_channels")).toInt(), 4);
        QCOMPARE(u.value(QStringLiteral("sample_size")).toInt(), 64);
        QVERIFY(!u.contains(QStringLiteral("addition_embed_type")));
        QVERIFY(!u.contains(QStringLiteral("time_embedding_dim"))); // 4 × 64: the default

        // The block arithmetic: input block 3 is level 0's downsampler, 4 the next level's first resnet.
        const QString p = QStringLiteral("model.diffusion_model.");
        QCOMPARE(source(*unet, "conv_in.weight").key, p + QStringLiteral("input_blocks.0.0.weight"));
        QCOMPARE(source(*unet, "down_blocks.0.resnets.1.conv1.weight").key,
                 p + QStringLiteral("input_blocks.2.0.in_layers.2.weight"));
        QCOMPARE(source(*unet, "down_blocks.0.downsamplers.0.conv.bias").key,
                 p + QStringLiteral("input_blocks.3.0.op.bias"));
        QCOMPARE(source(*unet, "down_blocks.1.resnets.0.conv_shortcut.weight").key,
                 p + QStringLiteral("input_blocks.4.0.skip_connection.weight"));
        QCOMPARE(source(*unet, "down_blocks.1.attentions.1.transformer_blocks.0.attn2.to_k.weight").key,
                 p + QStringLiteral("input_blocks.5.1.transformer_blocks.0.attn2.to_k.weight"));
        QCOMPARE(source(*unet, "mid_block.resnets.1.time_emb_proj.weight").key,
                 p + QStringLiteral("middle_block.2.emb_layers.1.weight"));
        QCOMPARE(source(*unet, "mid_block.attentions.0.proj_in.weight").key,
                 p + QStringLiteral("middle_block.1.proj_in.weight"));
        QCOMPARE(source(*unet, "up_blocks.0.upsamplers.0.conv.weight").key,
                 p + QStringLiteral("output_blocks.2.1.conv.weight")); // no attention: part 1
        QCOMPARE(source(*unet, "up_blocks.1.upsamplers.0.conv.weight").key,
                 p + QStringLiteral("output_blocks.5.2.conv.weight")); // after the attention: part 2
        QCOMPARE(source(*unet, "up_blocks.2.attentions.2.proj_out.weight").key,
                 p + QStringLiteral("output_blocks.8.1.proj_out.weight"));
        QCOMPARE(source(*unet, "up_blocks.2.resnets.2.norm2.weight").key,
                 p + QStringLiteral("output_blocks.8.0.out_layers.0.weight"));
        QCOMPARE(source(*unet, "conv_norm_out.weight").key, p + QStringLiteral("out.0.weight"));
        QCOMPARE(source(*unet, "time_embedding.linear_2.bias").key, p + QStringLiteral("time_embed.2.bias"));
        QVERIFY(unet->ignored.isEmpty());
        // Every UNet tensor of the file is used once.
        int unetTensors = 0;
        for (const TensorInfo& t : c.header().tensors)
            unetTensors += t.name.startsWith(p);
        QCOMPARE(unet->tensors.size(), unetTensors);

        const auto vae = c.mapping(QStringLiteral("vae"));
        QVERIFY2(vae, qPrintable(vae.error()));
        const QJsonObject& v = vae->config;
        QCOMPARE(v.value(QStringLiteral("block_out_channels")).toArray(), ints({32, 64}));
        QCOMPARE(v.value(QStringLiteral("layers_per_block")).toInt(), 2);
        QCOMPARE(v.value(QStringLiteral("latent_channels")).toInt(), 4);
        QCOMPARE(v.value(QStringLiteral("scaling_factor")).toDouble(), 0.18215);
        QCOMPARE(v.value(QStringLiteral("mid_block_add_attention")).toBool(), true);
        QCOMPARE(v.value(QStringLiteral("use_quant_conv")).toBool(), true);
        const QString f = QStringLiteral("first_stage_model.");
        QCOMPARE(source(*vae, "decoder.up_blocks.0.resnets.2.conv2.weight").key,
                 f + QStringLiteral("decoder.up.1.block.2.conv2.weight")); // up levels are reversed
        QCOMPARE(source(*vae, "decoder.up_blocks.0.upsamplers.0.conv.weight").key,
                 f + QStringLiteral("decoder.up.1.upsample.conv.weight"));
        QCOMPARE(source(*vae, "encoder.down_blocks.1.resnets.0.conv_shortcut.weight").key,
                 f + QStringLiteral("encoder.down.1.block.0.nin_shortcut.weight"));
        QCOMPARE(source(*vae, "encoder.conv_norm_out.bias").key, f + QStringLiteral("encoder.norm_out.bias"));
        QCOMPARE(source(*vae, "decoder.mid_block.resnets.1.norm1.weight").key,
                 f + QStringLiteral("decoder.mid.block_2.norm1.weight"));
        // The attention's 1x1 convolutions are linear weights; biases and the norm stay as they are.
        const WeightSource& q = source(*vae, "encoder.mid_block.attentions.0.to_q.weight");
        QCOMPARE(q.key, f + QStringLiteral("encoder.mid.attn_1.q.weight"));
        QCOMPARE(q.ops, (std::vector<WeightOp>{WeightOp::reshape({64, 64})}));
        QCOMPARE(source(*vae, "decoder.mid_block.attentions.0.to_out.0.weight").key,
                 f + QStringLiteral("decoder.mid.attn_1.proj_out.weight"));
        QVERIFY(source(*vae, "decoder.mid_block.attentions.0.to_out.0.bias").ops.empty());
        QCOMPARE(source(*vae, "decoder.mid_block.attentions.0.group_norm.weight").key,
                 f + QStringLiteral("decoder.mid.attn_1.norm.weight"));

        const auto te = c.mapping(QStringLiteral("text_encoder"));
        QVERIFY2(te, qPrintable(te.error()));
        QCOMPARE(te->config.value(QStringLiteral("hidden_size")).toInt(), 64);
        QCOMPARE(te->config.value(QStringLiteral("num_attention_heads")).toInt(), 1);
        QCOMPARE(te->config.value(QStringLiteral("num_hidden_layers")).toInt(), 2);
        QCOMPARE(te->config.value(QStringLiteral("intermediate_size")).toInt(), 256);
        QCOMPARE(te->config.value(QStringLiteral("hidden_act")).toString(), QStringLiteral("quick_gelu"));
        QCOMPARE(te->config.value(QStringLiteral("vocab_size")).toInt(), 49408);
        QCOMPARE(te->config.value(QStringLiteral("architectures")).toArray(), strings({"CLIPTextModel"}));
        QCOMPARE(source(*te, "text_model.encoder.layers.1.mlp.fc2.weight").key,
                 QStringLiteral("cond_stage_model.transformer.text_model.encoder.layers.1.mlp.fc2.weight"));
        QCOMPARE(te->ignored, QStringList{QStringLiteral(
                                  "cond_stage_model.transformer.text_model.embeddings.position_ids")});

        const QJsonObject s = c.schedulerConfig();
        QCOMPARE(s.value(QStringLiteral("_class_name")).toString(), QStringLiteral("PNDMScheduler"));
        QCOMPARE(s.value(QStringLiteral("prediction_type")).toString(), QStringLiteral("epsilon"));
        QCOMPARE(s.value(QStringLiteral("beta_schedule")).toString(), QStringLiteral("scaled_linear"));
        QCOMPARE(s.value(QStringLiteral("steps_offset")).toInt(), 1);

        const auto tokenizers = c.tokenizers();
        QVERIFY2(tokenizers, qPrintable(tokenizers.error()));
        QCOMPARE(tokenizers->size(), size_t(1));
        QCOMPARE(tokenizers->at(0).component, QStringLiteral("tokenizer"));
        QVERIFY2(QFileInfo::exists(QDir(tokenizers->at(0).folder).filePath(QStringLiteral("vocab.json"))),
                 qPrintable(tokenizers->at(0).folder));
        QVERIFY(tokenizers->at(0).folder.endsWith(QLatin1String("tokenizers/clip")));
        QCOMPARE(tokenizers->at(0).padToken, QString());

        QVERIFY(!c.mapping(QStringLiteral("text_encoder_2")));
        QVERIFY(c.mapping(QStringLiteral("text_encoder_2"))
                    .error()
                    .contains(QStringLiteral("has no text_encoder_2")));
    }

    void sd2() {
        const QString path =
            write(QStringLiteral("sd2.safetensors"), fakeCheckpointTensors(FakeCheckpointKind::SD2));
        const SingleFileCheckpoint c = open(path);
        QCOMPARE(c.family(), ModelFamily::SD2);
        QVERIFY2(c.supported(), qPrintable(c.problem()));
        // Nothing in the file says: v-prediction, as diffusers does for SD 2.x, and 768 pixels.
        QCOMPARE(c.predictionType(), QStringLiteral("v_prediction"));
        QVERIFY2(c.predictionTypeReason().contains(QStringLiteral("SD 2.x default")),
                 qPrintable(c.predictionTypeReason()));
        QCOMPARE(c.nativeSize(), 768);
        QCOMPARE(c.schedulerConfig().value(QStringLiteral("prediction_type")).toString(),
                 QStringLiteral("v_prediction"));
        QCOMPARE(c.schedulerConfig().value(QStringLiteral("_class_name")).toString(),
                 QStringLiteral("DDIMScheduler"));

        const auto unet = c.mapping(QStringLiteral("unet"));
        QVERIFY2(unet, qPrintable(unet.error()));
        QCOMPARE(unet->config.value(QStringLiteral("attention_head_dim")).toArray(),
                 ints({1, 2, 2})); // 64-wide heads
        QCOMPARE(unet->config.value(QStringLiteral("use_linear_projection")).toBool(), true);
        QCOMPARE(unet->config.value(QStringLiteral("cross_attention_dim")).toInt(), 128);
        QCOMPARE(unet->config.value(QStringLiteral("upcast_attention")).toBool(), true);
        QCOMPARE(unet->config.value(QStringLiteral("sample_size")).toInt(), 96);

        const auto te = c.mapping(QStringLiteral("text_encoder"));
        QVERIFY2(te, qPrintable(te.error()));
        QCOMPARE(te->config.value(QStringLiteral("hidden_act")).toString(), QStringLiteral("gelu"));
        QCOMPARE(te->config.value(QStringLiteral("num_hidden_layers")).toInt(),
                 2); // 3 stored, the last unused
        QCOMPARE(te->config.value(QStringLiteral("num_attention_heads")).toInt(), 2);
        const QString layer = QStringLiteral("cond_stage_model.model.transformer.resblocks.1.");
        for (int i = 0; i < 3; ++i) {
            const char* names[] = {"text_model.encoder.layers.1.self_attn.q_proj.weight",
                                   "text_model.encoder.layers.1.self_attn.k_proj.weight",
                                   "text_model.encoder.layers.1.self_attn.v_proj.weight"};
            const WeightSource& s = source(*te, names[i]);
            QCOMPARE(s.key, layer + QStringLiteral("attn.in_proj_weight"));
            QCOMPARE(s.ops, (std::vector<WeightOp>{WeightOp::slice(128 * i, 128)}));
        }
        QCOMPARE(source(*te, "text_model.encoder.layers.1.self_attn.k_proj.bias").ops,
                 (std::vector<WeightOp>{WeightOp::slice(128, 128)}));
        QCOMPARE(source(*te, "text_model.encoder.layers.0.mlp.fc1.weight").key,
                 QStringLiteral("cond_stage_model.model.transformer.resblocks.0.mlp.c_fc.weight"));
        QCOMPARE(source(*te, "text_model.embeddings.position_embedding.weight").key,
                 QStringLiteral("cond_stage_model.model.positional_embedding"));
        QCOMPARE(source(*te, "text_model.final_layer_norm.bias").key,
                 QStringLiteral("cond_stage_model.model.ln_final.bias"));
        QVERIFY(!te->tensors.contains(QStringLiteral("text_model.encoder.layers.2.layer_norm1.weight")));
        QVERIFY(!te->tensors.contains(
            QStringLiteral("text_projection.weight"))); // SD 2.x's CLIPTextModel has none
        QVERIFY(te->ignored.contains(
            QStringLiteral("cond_stage_model.model.transformer.resblocks.2.attn.in_proj_weight")));
        QVERIFY(te->ignored.contains(QStringLiteral("cond_stage_model.model.text_projection")));

        const auto tokenizers = c.tokenizers();
        QVERIFY2(tokenizers, qPrintable(tokenizers.error()));
        QCOMPARE(tokenizers->size(), size_t(1));
        QCOMPARE(tokenizers->at(0).padToken, QStringLiteral("!")); // OpenCLIP pads with id 0
    }

    void sd2PredictionType_data() {
        QTest::addColumn<QString>("fileName");
        QTest::addColumn<QString>("metadataKey");
        QTest::addColumn<QString>("metadataValue");
        QTest::addColumn<QString>("override");
        QTest::addColumn<QString>("expected");
        QTest::addColumn<QString>("reason");
        QTest::newRow("modelspec v") << "a.safetensors"
                                     << "modelspec.prediction_type"
                                     << "v"
                                     << ""
                                     << "v_prediction"
                                     << "metadata modelspec.prediction_type = v";
        QTest::newRow("modelspec epsilon")
            << "768-v.safetensors"
            << "modelspec.prediction_type"
            << "epsilon"
            << ""
            << "epsilon"
            << "metadata modelspec.prediction_type"; // the metadata wins over the name
        QTest::newRow("prediction_type") << "b.safetensors"
                                         << "prediction_type"
                                         << "v_prediction"
                                         << ""
                                         << "v_prediction"
                                         << "metadata prediction_type";
        QTest::newRow("architecture 512") << "c.safetensors"
                                          << "modelspec.architecture"
                                          << "stable-diffusion-v2-512"
                                          << ""
                                          << "epsilon"
                                          << "modelspec.architecture";
        QTest::newRow("architecture 768-v") << "d.safetensors"
                                            << "modelspec.architecture"
                                            << "stable-diffusion-v2-768-v"
                                            << ""
                                            << "v_prediction"
                                            << "modelspec.architecture";
        QTest::newRow("kohya") << "e.safetensors"
                               << "ss_v_parameterization"
                               << "True"
                               << ""
                               << "v_prediction"
                               << "ss_v_parameterization";
        QTest::newRow("name 768-v") << "v2-1_768-v-ema.safetensors"
                                    << ""
                                    << ""
                                    << ""
                                    << "v_prediction"
                                    << "file name";
        QTest::newRow("name vpred") << "mymix-vpred.safetensors"
                                    << ""
                                    << ""
                                    << ""
                                    << "v_prediction"
                                    << "file name";
        QTest::newRow("name 512") << "v2-1_512-ema-pruned.safetensors"
                                  << ""
                                  << ""
                                  << ""
                                  << "epsilon"
                                  << "file name";
        QTest::newRow("name 768") << "v2-1_768-ema-pruned.safetensors"
                                  << ""
                                  << ""
                                  << ""
                                  << "v_prediction"
                                  << "file name";
        QTest::newRow("override") << "v2-1_768-v.safetensors"
                                  << "modelspec.prediction_type"
                                  << "v"
                                  << "epsilon"
                                  << "epsilon"
                                  << "caller";
    }

    void sd2PredictionType() {
        QFETCH(QString, fileName);
        QFETCH(QString, metadataKey);
        QFETCH(QString, metadataValue);
        QFETCH(QString, override);
        QFETCH(QString, expected);
        QFETCH(QString, reason);
        QMap<QString, QString> metadata;
        if (!metadataKey.isEmpty())
            metadata.insert(metadataKey, metadataValue);
        const QString path = write(fileName, fakeCheckpointTensors(FakeCheckpointKind::SD2), metadata);
        SingleFileOptions options;
        options.predictionType = override;
        const SingleFileCheckpoint c = open(path, options);
        QCOMPARE(c.predictionType(), expected);
        QVERIFY2(c.predictionTypeReason().contains(reason), qPrintable(c.predictionTypeReason()));
        QCOMPARE(c.schedulerConfig().value(QStringLiteral("prediction_type")).toString(), expected);
        QCOMPARE(c.nativeSize(), expected == QLatin1String("v_prediction") ? 768 : 512);
        QCOMPARE(c.config(QStringLiteral("unet"))->value(QStringLiteral("upcast_attention")).toBool(),
                 expected == QLatin1String("v_prediction"));
        QFile::remove(path);
    }

    void sdxl() {
        FakeCheckpointOptions o;
        o.channels = {64, 128, 192};
        o.depth = {0, 2, 3};
        const QString path =
            write(QStringLiteral("sdxl.safetensors"), fakeCheckpointTensors(FakeCheckpointKind::SDXL, o));
        const SingleFileCheckpoint c = open(path);
        QCOMPARE(c.family(), ModelFamily::SDXL);
        QCOMPARE(c.variant(), QString());
        QCOMPARE(c.pipelineClass(), QStringLiteral("StableDiffusionXLPipeline"));
        QCOMPARE(c.nativeSize(), 1024);
        // Mapped even while the engine cannot run the family; supported() follows familySupported().
        QCOMPARE(c.supported(), familySupported(ModelFamily::SDXL));
        QCOMPARE(c.components(),
                 (QStringList{QStringLiteral("text_encoder"), QStringLiteral("text_encoder_2"),
                              QStringLiteral("unet"), QStringLiteral("vae")}));

        const auto unet = c.mapping(QStringLiteral("unet"));
        QVERIFY2(unet, qPrintable(unet.error()));
        const QJsonObject& u = unet->config;
        QCOMPARE(u.value(QStringLiteral("transformer_layers_per_block")).toArray(), ints({1, 2, 3}));
        QCOMPARE(u.value(QStringLiteral("down_block_types")).toArray(),
                 strings({"DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"}));
        QCOMPARE(u.value(QStringLiteral("up_block_types")).toArray(),
                 strings({"CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"}));
        QCOMPARE(u.value(QStringLiteral("attention_head_dim")).toArray(), ints({1, 2, 3}));
        QCOMPARE(u.value(QStringLiteral("cross_attention_dim")).toInt(), 64 + 128);
        QCOMPARE(u.value(QStringLiteral("addition_embed_type")).toString(), QStringLiteral("text_time"));
        QCOMPARE(u.value(QStringLiteral("addition_time_embed_dim")).toInt(), 256);
        QCOMPARE(u.value(QStringLiteral("projection_class_embeddings_input_dim")).toInt(), 96 + 6 * 256);
        QCOMPARE(u.value(QStringLiteral("sample_size")).toInt(), 128);
        QCOMPARE(source(*unet, "add_embedding.linear_2.weight").key,
                 QStringLiteral("model.diffusion_model.label_emb.0.2.weight"));
        QCOMPARE(source(*unet, "mid_block.attentions.0.transformer_blocks.2.ff.net.2.bias").key,
                 QStringLiteral("model.diffusion_model.middle_block.1.transformer_blocks.2.ff.net.2.bias"));

        QCOMPARE(c.config(QStringLiteral("vae"))->value(QStringLiteral("scaling_factor")).toDouble(),
                 0.13025);
        const auto te = c.mapping(QStringLiteral("text_encoder"));
        QVERIFY2(te, qPrintable(te.error()));
        QCOMPARE(te->config.value(QStringLiteral("hidden_act")).toString(), QStringLiteral("quick_gelu"));
        QCOMPARE(source(*te, "text_model.final_layer_norm.weight").key,
                 QStringLiteral("conditioner.embedders.0.transformer.text_model.final_layer_norm.weight"));
        const auto te2 = c.mapping(QStringLiteral("text_encoder_2"));
        QVERIFY2(te2, qPrintable(te2.error()));
        QCOMPARE(te2->config.value(QStringLiteral("architectures")).toArray(),
                 strings({"CLIPTextModelWithProjection"}));
        QCOMPARE(te2->config.value(QStringLiteral("projection_dim")).toInt(), 96);
        QCOMPARE(te2->config.value(QStringLiteral("num_hidden_layers")).toInt(),
                 2); // all layers: SDXL keeps them
        QCOMPARE(te2->config.value(QStringLiteral("hidden_act")).toString(), QStringLiteral("gelu"));
        const WeightSource& proj = source(*te2, "text_projection.weight");
        QCOMPARE(proj.key, QStringLiteral("conditioner.embedders.1.model.text_projection"));
        QCOMPARE(proj.ops, (std::vector<WeightOp>{WeightOp::transpose()}));
        QCOMPARE(te2->ignored, QStringList{QStringLiteral("conditioner.embedders.1.model.logit_scale")});

        const QJsonObject index = c.modelIndex();
        QCOMPARE(index.value(QStringLiteral("_class_name")).toString(),
                 QStringLiteral("StableDiffusionXLPipeline"));
        QCOMPARE(index.value(QStringLiteral("force_zeros_for_empty_prompt")).toBool(), true);
        QCOMPARE(index.value(QStringLiteral("unet")).toArray(),
                 strings({"diffusers", "UNet2DConditionModel"}));
        QCOMPARE(index.value(QStringLiteral("text_encoder_2")).toArray(),
                 strings({"transformers", "CLIPTextModelWithProjection"}));
        QCOMPARE(index.value(QStringLiteral("tokenizer_2")).toArray(),
                 strings({"transformers", "CLIPTokenizer"}));
        QCOMPARE(index.value(QStringLiteral("scheduler")).toArray(),
                 strings({"diffusers", "EulerDiscreteScheduler"}));
        const QJsonObject s = c.schedulerConfig();
        QCOMPARE(s.value(QStringLiteral("_class_name")).toString(), QStringLiteral("EulerDiscreteScheduler"));
        QCOMPARE(s.value(QStringLiteral("prediction_type")).toString(), QStringLiteral("epsilon"));
        QCOMPARE(s.value(QStringLiteral("timestep_spacing")).toString(), QStringLiteral("leading"));

        const auto tokenizers = c.tokenizers();
        QVERIFY2(tokenizers, qPrintable(tokenizers.error()));
        QCOMPARE(tokenizers->size(), size_t(2));
        QCOMPARE(tokenizers->at(0).padToken, QString());
        QCOMPARE(tokenizers->at(1).component, QStringLiteral("tokenizer_2"));
        QCOMPARE(tokenizers->at(1).padToken, QStringLiteral("!"));
        QCOMPARE(tokenizers->at(1).folder, tokenizers->at(0).folder);
    }

    void sdxlVPredMarker() {
        auto tensors = fakeCheckpointTensors(FakeCheckpointKind::SDXL);
        tensors.push_back({QStringLiteral("v_pred"), QStringLiteral("F16"), {0}});
        tensors.push_back({QStringLiteral("ztsnr"), QStringLiteral("F16"), {0}});
        const SingleFileCheckpoint c = open(write(QStringLiteral("noob.safetensors"), tensors));
        QCOMPARE(c.predictionType(), QStringLiteral("v_prediction"));
        QCOMPARE(c.schedulerConfig().value(QStringLiteral("prediction_type")).toString(),
                 QStringLiteral("v_prediction"));
        QCOMPARE(c.schedulerConfig().value(QStringLiteral("rescale_betas_zero_snr")).toBool(), true);
    }

    // SD 3.x as SAI ships it with its text encoders: MMDiT names, fused qkv sliced, the last
    // context block's and the final adaLN's [shift, scale] swapped, CLIP-L's missing projection
    // an identity.
    void sd3() {
        FakeDitOptions d;
        d.dualAttention = {0, 1};
        d.qkNorm = true;
        const SingleFileCheckpoint c =
            open(write(QStringLiteral("sd3.5_medium_incl_clips.safetensors"), fakeSd3Tensors(d)));
        QCOMPARE(c.family(), ModelFamily::SD3);
        QCOMPARE(c.variant(), QString());
        QCOMPARE(c.supported(), familySupported(ModelFamily::SD3));
        QCOMPARE(c.pipelineClass(), QStringLiteral("StableDiffusion3Pipeline"));
        QCOMPARE(c.predictionType(), QStringLiteral("flow"));
        QCOMPARE(c.components(),
                 (QStringList{QStringLiteral("text_encoder"), QStringLiteral("text_encoder_2"),
                              QStringLiteral("text_encoder_3"), QStringLiteral("transformer"),
                              QStringLiteral("vae")}));
        const auto tr = c.mapping(QStringLiteral("transformer"));
        QVERIFY2(tr, qPrintable(tr.error()));
        const QJsonObject& cfg = tr->config;
        QCOMPARE(cfg.value(QStringLiteral("num_layers")).toInt(), 3);
        QCOMPARE(cfg.value(QStringLiteral("num_attention_heads")).toInt(), 2);
        QCOMPARE(cfg.value(QStringLiteral("attention_head_dim")).toInt(), 64);
        QCOMPARE(cfg.value(QStringLiteral("caption_projection_dim")).toInt(), 128);
        QCOMPARE(cfg.value(QStringLiteral("joint_attention_dim")).toInt(), 64);
        QCOMPARE(cfg.value(QStringLiteral("pooled_projection_dim")).toInt(), 64 + 128);
        QCOMPARE(cfg.value(QStringLiteral("pos_embed_max_size")).toInt(), 16);
        QCOMPARE(cfg.value(QStringLiteral("patch_size")).toInt(), 2);
        QCOMPARE(cfg.value(QStringLiteral("in_channels")).toInt(), 16);
        QCOMPARE(cfg.value(QStringLiteral("out_channels")).toInt(), 16);
        QCOMPARE(cfg.value(QStringLiteral("qk_norm")).toString(), QStringLiteral("rms_norm"));
        QCOMPARE(cfg.value(QStringLiteral("dual_attention_layers")).toArray(), ints({0, 1}));
        const QString p = QStringLiteral("model.diffusion_model.");
        const char* parts[] = {"to_q", "to_k", "to_v"};
        for (int i = 0; i < 3; ++i) {
            const QString name =
                QStringLiteral("transformer_blocks.1.attn.%1.weight").arg(QLatin1String(parts[i]));
            const WeightSource& x = source(*tr, qPrintable(name));
            QCOMPARE(x.key, p + QStringLiteral("joint_blocks.1.x_block.attn.qkv.weight"));
            QCOMPARE(x.ops, (std::vector<WeightOp>{WeightOp::slice(128 * i, 128)}));
        }
        QCOMPARE(source(*tr, "transformer_blocks.0.attn.add_v_proj.bias").ops,
                 (std::vector<WeightOp>{WeightOp::slice(256, 128)}));
        QCOMPARE(source(*tr, "transformer_blocks.1.attn2.to_k.weight").key,
                 p + QStringLiteral("joint_blocks.1.x_block.attn2.qkv.weight"));
        QCOMPARE(source(*tr, "transformer_blocks.2.attn.norm_added_k.weight").key,
                 p + QStringLiteral("joint_blocks.2.context_block.attn.ln_k.weight"));
        QCOMPARE(source(*tr, "transformer_blocks.0.attn.to_add_out.weight").key,
                 p + QStringLiteral("joint_blocks.0.context_block.attn.proj.weight"));
        QVERIFY(!tr->tensors.contains(QStringLiteral("transformer_blocks.2.attn.to_add_out.weight")));
        QVERIFY(source(*tr, "transformer_blocks.1.norm1_context.linear.weight").ops.empty());
        QCOMPARE(source(*tr, "transformer_blocks.2.norm1_context.linear.weight").ops,
                 (std::vector<WeightOp>{WeightOp::swapHalves()})); // the last, context_pre_only
        QCOMPARE(source(*tr, "norm_out.linear.bias").key,
                 p + QStringLiteral("final_layer.adaLN_modulation.1.bias"));
        QCOMPARE(source(*tr, "norm_out.linear.bias").ops, (std::vector<WeightOp>{WeightOp::swapHalves()}));
        QCOMPARE(source(*tr, "pos_embed.pos_embed").key, p + QStringLiteral("pos_embed"));
        QCOMPARE(source(*tr, "pos_embed.proj.weight").key, p + QStringLiteral("x_embedder.proj.weight"));
        QCOMPARE(source(*tr, "time_text_embed.text_embedder.linear_2.bias").key,
                 p + QStringLiteral("y_embedder.mlp.2.bias"));
        QCOMPARE(source(*tr, "transformer_blocks.0.ff_context.net.0.proj.weight").key,
                 p + QStringLiteral("joint_blocks.0.context_block.mlp.fc1.weight"));
        QVERIFY(tr->ignored.isEmpty());

        const auto clipL = c.mapping(QStringLiteral("text_encoder"));
        QVERIFY2(clipL, qPrintable(clipL.error()));
        QCOMPARE(clipL->config.value(QStringLiteral("architectures")).toArray(),
                 strings({"CLIPTextModelWithProjection"}));
        const WeightSource& eye = source(*clipL, "text_projection.weight");
        QCOMPARE(eye.key, QString());
        QCOMPARE(eye.ops, (std::vector<WeightOp>{WeightOp::identity(64)}));
        const auto clipG = c.mapping(QStringLiteral("text_encoder_2"));
        QCOMPARE(clipG->config.value(QStringLiteral("hidden_act")).toString(), QStringLiteral("gelu"));
        QCOMPARE(source(*clipG, "text_projection.weight").key,
                 QStringLiteral("text_encoders.clip_g.transformer.text_projection.weight"));
        const auto t5 = c.mapping(QStringLiteral("text_encoder_3"));
        QVERIFY2(t5, qPrintable(t5.error()));
        QCOMPARE(t5->config.value(QStringLiteral("d_model")).toInt(), 64);
        QCOMPARE(t5->config.value(QStringLiteral("num_heads")).toInt(), 2);
        QCOMPARE(t5->config.value(QStringLiteral("d_kv")).toInt(), 32);
        QCOMPARE(t5->config.value(QStringLiteral("d_ff")).toInt(), 128);
        QCOMPARE(t5->config.value(QStringLiteral("num_layers")).toInt(), 2);
        QCOMPARE(t5->config.value(QStringLiteral("feed_forward_proj")).toString(),
                 QStringLiteral("gated-gelu"));
        QCOMPARE(t5->config.value(QStringLiteral("relative_attention_num_buckets")).toInt(), 32);
        QCOMPARE(source(*t5, "encoder.embed_tokens.weight").key,
                 QStringLiteral("text_encoders.t5xxl.transformer.shared.weight"));
        QCOMPARE(source(*t5, "encoder.block.1.layer.1.DenseReluDense.wo.weight").key,
                 QStringLiteral(
                     "text_encoders.t5xxl.transformer.encoder.block.1.layer.1.DenseReluDense.wo.weight"));

        const QJsonObject vae = *c.config(QStringLiteral("vae"));
        QCOMPARE(vae.value(QStringLiteral("latent_channels")).toInt(), 16);
        QCOMPARE(vae.value(QStringLiteral("scaling_factor")).toDouble(), 1.5305);
        QCOMPARE(vae.value(QStringLiteral("shift_factor")).toDouble(), 0.0609);
        QCOMPARE(vae.value(QStringLiteral("use_quant_conv")).toBool(), false);
        QCOMPARE(c.schedulerConfig().value(QStringLiteral("_class_name")).toString(),
                 QStringLiteral("FlowMatchEulerDiscreteScheduler"));
        QCOMPARE(c.schedulerConfig().value(QStringLiteral("shift")).toDouble(), 3.0);

        // CLIP-L pads with <|endoftext|>, CLIP-G with "!", T5 reads the SentencePiece model that ships
        // with the app (resources/tokenizers/t5, share/twistedpic/tokenizers/t5 once installed).
        const auto tokenizers = c.tokenizers();
        QVERIFY2(tokenizers, qPrintable(tokenizers.error()));
        QCOMPARE(tokenizers->size(), size_t(3));
        QCOMPARE(tokenizers->at(0).padToken, QString());
        QCOMPARE(tokenizers->at(1).padToken, QStringLiteral("!"));
        QCOMPARE(tokenizers->at(2).component, QStringLiteral("tokenizer_3"));
        QCOMPARE(tokenizers->at(2).padToken, QString());
        QVERIFY2(tokenizers->at(2).folder.endsWith(QLatin1String("tokenizers/t5")),
                 qPrintable(tokenizers->at(2).folder));
        QCOMPARE(QDir(tokenizers->at(2).folder).canonicalPath(),
                 QDir(paths::bundledTokenizerDir(QStringLiteral("t5"))).canonicalPath());
        // What ModelSource::t5Tokenizer() then loads: T5's vocabulary (tst_t5_tokenizer checks its ids).
        auto t5Tokenizer = text::T5Tokenizer::load(tokenizers->at(2).folder);
        QVERIFY2(t5Tokenizer, qPrintable(t5Tokenizer.error()));
        QCOMPARE(t5Tokenizer->vocabSize(), 32100);
        QVERIFY(t5Tokenizer->tokenize(QStringLiteral("A long paragraph for summarization."), 12).ids ==
                (std::vector<std::int64_t>{71, 307, 8986, 21, 4505, 1635, 1707, 5, 1, 0, 0, 0}));
    }

    // sd3.5_large.safetensors holds the transformer only; without T5 SD 3 still runs.
    void sd3Parts() {
        FakeDitOptions d;
        d.clipL = d.clipG = d.t5 = d.vae = false;
        SingleFileCheckpoint c = open(write(QStringLiteral("sd3.5_large.safetensors"), fakeSd3Tensors(d)));
        QCOMPARE(c.variant(), QStringLiteral("transformer only"));
        QVERIFY(!c.supported());
        QVERIFY2(c.problem().contains(QStringLiteral(
                     "sd3.5_large.safetensors holds only the SD 3.x transformer, not CLIP-L "
                     "(clip_l.safetensors), CLIP-G (clip_g.safetensors), T5-XXL (t5xxl_fp16.safetensors "
                     "or t5xxl_fp8_e4m3fn.safetensors) and the SD 3 VAE, which come as separate files: "
                     "put the VAE in ")),
                 qPrintable(c.problem()));
        QCOMPARE(c.components(), QStringList{QStringLiteral("transformer")});
        d = FakeDitOptions();
        d.t5 = false;
        c = open(write(QStringLiteral("sd3_medium_incl_clips.safetensors"), fakeSd3Tensors(d)));
        QCOMPARE(c.variant(), QString());
        QVERIFY(c.notes().join(QLatin1Char(' ')).contains(QStringLiteral("SD 3 runs without it")));
        QCOMPARE(c.supported(), familySupported(ModelFamily::SD3));
    }

    // Flux: BFL's own file (no prefix, the transformer only) and ComfyUI's all-in-one.
    void flux() {
        FakeDitOptions d;
        d.prefix.clear();
        d.hidden = 256;
        d.headDim = 128;
        d.clipL = d.t5 = d.vae = false;
        SingleFileCheckpoint bfl = open(write(QStringLiteral("flux1-dev.safetensors"), fakeFluxTensors(d)));
        QCOMPARE(bfl.family(), ModelFamily::Flux);
        QCOMPARE(bfl.variant(), QStringLiteral("transformer only"));
        QVERIFY2(bfl.problem().contains(
                     QStringLiteral("flux1-dev.safetensors holds only the Flux transformer, not CLIP-L "
                                    "(clip_l.safetensors), T5-XXL (t5xxl_fp16.safetensors or "
                                    "t5xxl_fp8_e4m3fn.safetensors) and the VAE (ae.safetensors)")),
                 qPrintable(bfl.problem()));
        const auto tr = bfl.mapping(QStringLiteral("transformer"));
        QVERIFY2(tr, qPrintable(tr.error()));
        const QJsonObject& cfg = tr->config;
        QCOMPARE(cfg.value(QStringLiteral("num_layers")).toInt(), 3);
        QCOMPARE(cfg.value(QStringLiteral("num_single_layers")).toInt(), 2);
        QCOMPARE(cfg.value(QStringLiteral("num_attention_heads")).toInt(), 2);
        QCOMPARE(cfg.value(QStringLiteral("attention_head_dim")).toInt(), 128);
        QCOMPARE(cfg.value(QStringLiteral("in_channels")).toInt(), 64);
        QVERIFY(cfg.value(QStringLiteral("out_channels")).isNull());
        QCOMPARE(cfg.value(QStringLiteral("joint_attention_dim")).toInt(), 64);
        QCOMPARE(cfg.value(QStringLiteral("pooled_projection_dim")).toInt(), 64);
        QCOMPARE(cfg.value(QStringLiteral("guidance_embeds")).toBool(), true);
        QCOMPARE(cfg.value(QStringLiteral("axes_dims_rope")).toArray(), ints({16, 56, 56}));
        // linear1 = [q; k; v; mlp], 3 × 256 + 1024 rows.
        const char* parts[] = {"attn.to_q", "attn.to_k", "attn.to_v", "proj_mlp"};
        const qint64 starts[] = {0, 256, 512, 768}, lengths[] = {256, 256, 256, 1024};
        for (int i = 0; i < 4; ++i) {
            const QString name =
                QStringLiteral("single_transformer_blocks.1.%1.bias").arg(QLatin1String(parts[i]));
            const WeightSource& x = source(*tr, qPrintable(name));
            QCOMPARE(x.key, QStringLiteral("single_blocks.1.linear1.bias"));
            QCOMPARE(x.ops, (std::vector<WeightOp>{WeightOp::slice(starts[i], lengths[i])}));
        }
        QCOMPARE(source(*tr, "single_transformer_blocks.0.proj_out.weight").key,
                 QStringLiteral("single_blocks.0.linear2.weight"));
        QCOMPARE(source(*tr, "single_transformer_blocks.0.attn.norm_k.weight").key,
                 QStringLiteral("single_blocks.0.norm.key_norm.scale"));
        QCOMPARE(source(*tr, "single_transformer_blocks.0.norm.linear.weight").key,
                 QStringLiteral("single_blocks.0.modulation.lin.weight"));
        QCOMPARE(source(*tr, "transformer_blocks.2.attn.add_k_proj.weight").ops,
                 (std::vector<WeightOp>{WeightOp::slice(256, 256)}));
        QCOMPARE(source(*tr, "transformer_blocks.2.attn.add_k_proj.weight").key,
                 QStringLiteral("double_blocks.2.txt_attn.qkv.weight"));
        QCOMPARE(source(*tr, "transformer_blocks.0.norm1_context.linear.bias").key,
                 QStringLiteral("double_blocks.0.txt_mod.lin.bias"));
        QVERIFY(source(*tr, "transformer_blocks.0.norm1_context.linear.bias").ops.empty());
        QCOMPARE(source(*tr, "transformer_blocks.1.attn.norm_added_q.weight").key,
                 QStringLiteral("double_blocks.1.txt_attn.norm.query_norm.scale"));
        QCOMPARE(source(*tr, "transformer_blocks.1.ff_context.net.2.weight").key,
                 QStringLiteral("double_blocks.1.txt_mlp.2.weight"));
        QCOMPARE(source(*tr, "time_text_embed.guidance_embedder.linear_2.weight").key,
                 QStringLiteral("guidance_in.out_layer.weight"));
        QCOMPARE(source(*tr, "x_embedder.weight").key, QStringLiteral("img_in.weight"));
        QCOMPARE(source(*tr, "context_embedder.bias").key, QStringLiteral("txt_in.bias"));
        QCOMPARE(source(*tr, "norm_out.linear.weight").ops, (std::vector<WeightOp>{WeightOp::swapHalves()}));
        QVERIFY(tr->ignored.isEmpty());
        QCOMPARE(bfl.schedulerConfig().value(QStringLiteral("use_dynamic_shifting")).toBool(), true);

        // ComfyUI's all-in-one: model.diffusion_model., vae., text_encoders.; schnell has no guidance.
        d = FakeDitOptions();
        d.hidden = 256;
        d.headDim = 128;
        d.vaePrefix = QStringLiteral("vae.");
        d.guidance = false;
        const SingleFileCheckpoint comfy =
            open(write(QStringLiteral("flux1-schnell-fp8.safetensors"), fakeFluxTensors(d)));
        QCOMPARE(comfy.variant(), QString());
        QCOMPARE(comfy.supported(), familySupported(ModelFamily::Flux));
        QCOMPARE(comfy.components(),
                 (QStringList{QStringLiteral("text_encoder"), QStringLiteral("text_encoder_2"),
                              QStringLiteral("transformer"), QStringLiteral("vae")}));
        QCOMPARE(
            comfy.config(QStringLiteral("transformer"))->value(QStringLiteral("guidance_embeds")).toBool(),
            false);
        QCOMPARE(
            comfy.config(QStringLiteral("text_encoder"))->value(QStringLiteral("architectures")).toArray(),
            strings({"CLIPTextModel"})); // Flux pools CLIP-L without a projection
        QCOMPARE(comfy.config(QStringLiteral("vae"))->value(QStringLiteral("scaling_factor")).toDouble(),
                 0.3611);
        QCOMPARE(comfy.config(QStringLiteral("vae"))->value(QStringLiteral("shift_factor")).toDouble(),
                 0.1159);
        QCOMPARE(comfy.mapping(QStringLiteral("transformer"))
                     ->tensors.value(QStringLiteral("proj_out.weight"))
                     .key,
                 QStringLiteral("model.diffusion_model.final_layer.linear.weight"));
        QCOMPARE(
            comfy.mapping(QStringLiteral("vae"))->tensors.value(QStringLiteral("decoder.conv_in.weight")).key,
            QStringLiteral("vae.decoder.conv_in.weight"));
        QCOMPARE(comfy.schedulerConfig().value(QStringLiteral("use_dynamic_shifting")).toBool(), false);
        QCOMPARE(comfy.schedulerConfig().value(QStringLiteral("shift")).toDouble(), 1.0);
        // Flux's T5 (tokenizer_2) reads the shipped T5 vocabulary as SD 3's does.
        const auto tokenizers = comfy.tokenizers();
        QVERIFY2(tokenizers, qPrintable(tokenizers.error()));
        QCOMPARE(tokenizers->size(), size_t(2));
        QVERIFY(tokenizers->at(0).folder.endsWith(QLatin1String("tokenizers/clip")));
        QCOMPARE(tokenizers->at(1).component, QStringLiteral("tokenizer_2"));
        QVERIFY2(tokenizers->at(1).folder.endsWith(QLatin1String("tokenizers/t5")),
                 qPrintable(tokenizers->at(1).folder));
    }

    // What cannot run says why, each in its own words.
    void refusals_data() {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("family");
        QTest::addColumn<QString>("variant");
        QTest::addColumn<QString>("message");
        QTest::newRow("refiner") << "refiner" << int(ModelFamily::SDXL) << "refiner"
                                 << "SDXL refiner";
        QTest::newRow("playground") << "playground" << int(ModelFamily::SDXL) << "EDM"
                                    << "Playground v2.5";
        QTest::newRow("inpainting") << "inpainting" << int(ModelFamily::SD1) << "inpainting"
                                    << "inpainting checkpoint (its UNet takes 9 input channels";
        QTest::newRow("sdxl inpainting") << "sdxl-inpainting" << int(ModelFamily::SDXL) << "inpainting"
                                         << "use the non-inpainting version";
        QTest::newRow("pix2pix") << "pix2pix" << int(ModelFamily::SD1) << "instruct-pix2pix"
                                 << "InstructPix2Pix";
        QTest::newRow("unet only") << "unet-only" << int(ModelFamily::SD1) << "UNet only"
                                   << "holds only a UNet";
        QTest::newRow("no vae") << "no-vae" << int(ModelFamily::SD2) << "no VAE"
                                << "has no VAE";
        QTest::newRow("vae only") << "vae-only" << int(ModelFamily::Unknown) << "VAE only"
                                  << "A VAE on its own";
        QTest::newRow("bare ldm vae") << "vae-ft-mse" << int(ModelFamily::Unknown) << "VAE only"
                                      << "A VAE on its own";
        QTest::newRow("clip only") << "clip-only" << int(ModelFamily::Unknown) << "text encoder only"
                                   << "A text encoder on its own";
        QTest::newRow("lora") << "lora" << int(ModelFamily::Unknown) << "LoRA"
                              << "A LoRA";
        QTest::newRow("unknown")
            << "unknown" << int(ModelFamily::Unknown) << "unknown layout"
            << "Not a Stable Diffusion checkpoint TwistedPic knows: none of the key layouts";
        QTest::newRow("empty") << "empty" << int(ModelFamily::Unknown) << "unknown layout"
                               << "holds no tensors";
        QTest::newRow("sd3 damaged")
            << "sd3" << int(ModelFamily::SD3) << ""
            << "model.diffusion_model.x_embedder.proj.weight is missing, so the SD 3 "
               "transformer is incomplete";
        QTest::newRow("flux damaged") << "flux-bfl" << int(ModelFamily::Flux) << ""
                                      << "img_in.weight is missing, so the Flux transformer is incomplete";
        QTest::newRow("flux comfy damaged") << "flux-comfy" << int(ModelFamily::Flux) << ""
                                            << "model.diffusion_model.img_in.weight is missing";
        QTest::newRow("sd3 pooled")
            << "sd3-pooled" << int(ModelFamily::SD3) << ""
            << "Its shapes contradict a SD 3.x checkpoint: the pooled text is 192 wide but "
               "the transformer takes 100";
        QTest::newRow("flux latents") << "flux-latent" << int(ModelFamily::Flux) << ""
                                      << "the VAE has 4 latent channels but the transformer takes 64";
        QTest::newRow("text too wide")
            << "contradiction-text" << int(ModelFamily::SD1) << ""
            << "Its shapes contradict a SD 1.x checkpoint: the text encoder is 128 wide "
               "but the UNet's cross-attention takes 64";
        QTest::newRow("latents") << "contradiction-latent" << int(ModelFamily::SD1) << ""
                                 << "the VAE has 16 latent channels but the UNet takes 4 and gives 4";
        QTest::newRow("sdxl pooled")
            << "contradiction-pooled" << int(ModelFamily::SDXL) << ""
            << "label_emb takes 1631 inputs, which is not the pooled text width 96 plus 6 "
               "time ids";
        QTest::newRow("incomplete unet") << "incomplete-unet" << int(ModelFamily::SD1) << ""
                                         << "output_blocks: 8 blocks where the down path needs 9";
    }

    void refusals() {
        QFETCH(QString, name);
        QFETCH(int, family);
        QFETCH(QString, variant);
        QFETCH(QString, message);
        std::vector<FakeTensor> t;
        FakeCheckpointOptions o;
        if (name == QLatin1String("refiner")) {
            t = fakeCheckpointTensors(FakeCheckpointKind::SDXLRefiner);
        } else if (name == QLatin1String("playground")) {
            t = fakeCheckpointTensors(FakeCheckpointKind::SDXL);
            t.push_back({QStringLiteral("edm_mean"), QStringLiteral("F32"), {1, 4, 1, 1}});
            t.push_back({QStringLiteral("edm_std"), QStringLiteral("F32"), {1, 4, 1, 1}});
        } else if (name == QLatin1String("inpainting") || name == QLatin1String("pix2pix")) {
            o.inChannels = name == QLatin1String("pix2pix") ? 8 : 9;
            t = fakeCheckpointTensors(FakeCheckpointKind::SD1, o);
        } else if (name == QLatin1String("sdxl-inpainting")) {
            o.inChannels = 9;
            t = fakeCheckpointTensors(FakeCheckpointKind::SDXL, o);
        } else if (name == QLatin1String("unet-only")) {
            o.withText = o.withVae = false;
            o.contextDim = 768; // the family then follows the cross-attention width
            t = fakeCheckpointTensors(FakeCheckpointKind::SD1, o);
        } else if (name == QLatin1String("no-vae")) {
            o.withVae = false;
            t = fakeCheckpointTensors(FakeCheckpointKind::SD2, o);
        } else if (name == QLatin1String("vae-only")) {
            o.withText = o.withUnet = false;
            t = fakeCheckpointTensors(FakeCheckpointKind::SD1, o);
        } else if (name == QLatin1String("vae-ft-mse")) {
            t = fakeLdmVaeTensors(QString());
        } else if (name == QLatin1String("clip-only")) {
            o.withUnet = o.withVae = false;
            for (FakeTensor x : fakeCheckpointTensors(FakeCheckpointKind::SD1, o)) {
                x.name.remove(QStringLiteral("cond_stage_model.transformer."));
                t.push_back(x);
            }
        } else if (name == QLatin1String("lora")) {
            t = {{QStringLiteral("lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight"),
                  QStringLiteral("F16"),
                  {4, 320}}};
        } else if (name == QLatin1String("unknown")) {
            t = {{QStringLiteral("backbone.conv.weight"), QStringLiteral("F32"), {8, 3, 3, 3}},
                 {QStringLiteral("head.fc.weight"), QStringLiteral("F32"), {10, 8}}};
        } else if (name == QLatin1String("sd3")) {
            t = {{QStringLiteral("model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight"),
                  QStringLiteral("F16"),
                  {192, 64}}};
        } else if (name == QLatin1String("flux-bfl") || name == QLatin1String("flux-comfy")) {
            const QString p =
                name == QLatin1String("flux-comfy") ? QStringLiteral("model.diffusion_model.") : QString();
            t = {{p + QStringLiteral("double_blocks.0.img_attn.qkv.weight"),
                  QStringLiteral("BF16"),
                  {192, 64}}};
        } else if (name == QLatin1String("sd3-pooled")) {
            t = fakeSd3Tensors();
            for (FakeTensor& x : t)
                if (x.name == QLatin1String("model.diffusion_model.y_embedder.mlp.0.weight"))
                    x.shape[1] = 100;
        } else if (name == QLatin1String("flux-latent")) {
            FakeDitOptions d;
            d.hidden = 256;
            d.headDim = 128;
            t = fakeFluxTensors(d);
            t.erase(std::remove_if(t.begin(), t.end(),
                                   [](const FakeTensor& x) {
                                       return x.name.startsWith(QLatin1String("first_stage_model."));
                                   }),
                    t.end());
            o.latentChannels = 4;
            o.withText = o.withUnet = false;
            for (const FakeTensor& x : fakeCheckpointTensors(FakeCheckpointKind::SD1, o))
                t.push_back(x);
        } else if (name == QLatin1String("contradiction-text")) {
            o.clipWidth = 128;
            o.contextDim = 64;
            t = fakeCheckpointTensors(FakeCheckpointKind::SD1, o);
        } else if (name == QLatin1String("contradiction-latent")) {
            o.latentChannels = 16;
            t = fakeCheckpointTensors(FakeCheckpointKind::SD1, o);
        } else if (name == QLatin1String("contradiction-pooled")) {
            t = fakeCheckpointTensors(FakeCheckpointKind::SDXL, o);
            for (FakeTensor& x : t)
                if (x.name == QLatin1String("model.diffusion_model.label_emb.0.0.weight"))
                    x.shape[1] = 96 + 6 * 256 - 1; // not the pooled width + 6 time ids
        } else if (name == QLatin1String("incomplete-unet")) {
            t = fakeCheckpointTensors(FakeCheckpointKind::SD1, o);
            t.erase(std::remove_if(t.begin(), t.end(),
                                   [](const FakeTensor& x) {
                                       return x.name.startsWith(
                                           QLatin1String("model.diffusion_model.output_blocks.8."));
                                   }),
                    t.end());
        }
        const SingleFileCheckpoint c = open(write(name + QStringLiteral(".safetensors"), t));
        QVERIFY(!c.supported());
        QCOMPARE(int(c.family()), family);
        QCOMPARE(c.variant(), variant);
        QVERIFY2(c.problem().contains(message), qPrintable(c.problem()));
        // Nothing to load: no component is offered.
        QVERIFY(c.components().isEmpty());
        QVERIFY(!c.mapping(QStringLiteral("unet")));
        QVERIFY2(c.mapping(QStringLiteral("unet")).error().contains(message),
                 qPrintable(c.mapping(QStringLiteral("unet")).error()));
        QVERIFY(!c.tokenizers());
    }

    // A file cut short or with a header longer than itself is refused with its name and what to do.
    void truncatedAndDamaged() {
        const QString whole =
            write(QStringLiteral("whole.safetensors"), fakeCheckpointTensors(FakeCheckpointKind::SD1));
        const QString cut = m_dir.filePath(QStringLiteral("v1-5-cut.safetensors"));
        QVERIFY(QFile::copy(whole, cut));
        QFile f(cut);
        QVERIFY(f.resize(f.size() - 100));
        auto c = SingleFileCheckpoint::open(cut);
        QVERIFY(!c);
        QVERIFY2(c.error().contains(QStringLiteral("v1-5-cut.safetensors")), qPrintable(c.error()));
        QVERIFY2(c.error().contains(QStringLiteral("truncated or damaged")), qPrintable(c.error()));
        QVERIFY2(c.error().contains(QStringLiteral("download it again")), qPrintable(c.error()));

        // The header itself runs past the end.
        QVERIFY(f.resize(1000));
        c = SingleFileCheckpoint::open(cut);
        QVERIFY(!c);
        QVERIFY2(c.error().contains(QStringLiteral("v1-5-cut.safetensors")), qPrintable(c.error()));
        QVERIFY2(c.error().contains(QStringLiteral("runs past the end of the file")), qPrintable(c.error()));
        QVERIFY2(c.error().contains(QStringLiteral("truncated or damaged")), qPrintable(c.error()));

        // Not a safetensors file at all.
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write("PK\x03\x04 this is a zip file, not weights");
        f.close();
        c = SingleFileCheckpoint::open(cut);
        QVERIFY(!c);
        QVERIFY2(c.error().contains(QStringLiteral("v1-5-cut.safetensors")), qPrintable(c.error()));
    }

    void pickleAndOtherFiles() {
        const QString ckpt = m_dir.filePath(QStringLiteral("model.ckpt"));
        QVERIFY(writeText(ckpt, "PK"));
        auto c = SingleFileCheckpoint::open(ckpt);
        QVERIFY(!c);
        QVERIFY2(c.error().contains(QStringLiteral("pickle checkpoints are not supported")),
                 qPrintable(c.error()));
        QVERIFY2(c.error().contains(QStringLiteral("convert it to .safetensors")), qPrintable(c.error()));
        c = SingleFileCheckpoint::open(m_dir.filePath(QStringLiteral("absent.safetensors")));
        QVERIFY(!c);
        QVERIFY(c.error().contains(QStringLiteral("is not a file")));
        QVERIFY(isPickleCheckpointFileName(QStringLiteral("x.PT")));
        QVERIFY(isSafeTensorsFileName(QStringLiteral("x.SafeTensors")));
        QVERIFY(!isSafeTensorsFileName(QStringLiteral("x.safetensors.index.json")));
    }

    // SingleFileOptions::configFolder: a diffusers folder's configs, scheduler and tokenizers win.
    void configFolder() {
        const QString path =
            write(QStringLiteral("cfg.safetensors"), fakeCheckpointTensors(FakeCheckpointKind::SD1));
        const QString folder = m_dir.filePath(QStringLiteral("configs"));
        QVERIFY(QDir().mkpath(folder + QStringLiteral("/unet")) &&
                QDir().mkpath(folder + QStringLiteral("/tokenizer")) &&
                QDir().mkpath(folder + QStringLiteral("/scheduler")));
        QVERIFY(writeJson(
            folder + QStringLiteral("/unet/config.json"),
            QJsonObject{{QStringLiteral("norm_num_groups"), 8}, {QStringLiteral("sample_size"), 16}}));
        QVERIFY(writeJson(folder + QStringLiteral("/scheduler/scheduler_config.json"),
                          QJsonObject{{QStringLiteral("_class_name"), QStringLiteral("DDIMScheduler")}}));
        SingleFileOptions options;
        options.configFolder = folder;
        const SingleFileCheckpoint c = open(path, options);
        QVERIFY2(c.supported(), qPrintable(c.problem()));
        QCOMPARE(c.config(QStringLiteral("unet"))->value(QStringLiteral("norm_num_groups")).toInt(), 8);
        QCOMPARE(c.config(QStringLiteral("vae"))->value(QStringLiteral("norm_num_groups")).toInt(),
                 32); // inferred
        QCOMPARE(c.schedulerConfig().value(QStringLiteral("_class_name")).toString(),
                 QStringLiteral("DDIMScheduler"));
        QCOMPARE(c.nativeSize(), 16 * 2); // sample_size × the VAE's 2 levels
        const auto tokenizers = c.tokenizers();
        QVERIFY2(tokenizers, qPrintable(tokenizers.error()));
        QCOMPARE(tokenizers->at(0).folder, folder + QStringLiteral("/tokenizer"));
        // The mapping does not depend on the configs.
        QVERIFY(c.mapping(QStringLiteral("unet"))
                    ->tensors.contains(QStringLiteral("down_blocks.0.resnets.0.conv1.weight")));
    }

    void blockIndexParsing() {
        const auto b = keymap::blockIndex(QStringLiteral("input_blocks.7.1.proj_in.weight"),
                                          QLatin1String("input_blocks"));
        QVERIFY(b);
        QCOMPARE(b->block, 7);
        QCOMPARE(b->part, 1);
        QCOMPARE(b->rest, QStringLiteral("proj_in.weight"));
        QVERIFY(!keymap::blockIndex(QStringLiteral("input_blocksx.7.1.a"), QLatin1String("input_blocks")));
        QVERIFY(!keymap::blockIndex(QStringLiteral("input_blocks.7.weight"), QLatin1String("input_blocks")));
        QVERIFY(!keymap::blockIndex(QStringLiteral("input_blocks.a.1.b"), QLatin1String("input_blocks")));
    }
};

QTEST_GUILESS_MAIN(TestSingleFile)
#include "tst_singlefile.moc"
