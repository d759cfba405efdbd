// Model construction from configs, weight loading (including its errors), attention, and
// module helpers, on tiny random models.
#include "core/io/SafeTensors.h"
#include "core/nn/Attention.h"
#include "core/nn/AutoencoderKL.h"
#include "core/nn/ClipTextModel.h"
#include "core/nn/ModuleUtils.h"
#include "core/nn/ResnetBlock2D.h"
#include "core/nn/UNet2DCondition.h"
#include "core/nn/WeightLoader.h"
#include "tests/nn/NnTestUtil.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace tp::nn;
using tp::io::SafeTensorsArchive;
using tp::test::maxAbsError;
using tp::test::namedTensors;
using tp::test::randomizeModule;

namespace {

QJsonObject json(const char* text) {
    QJsonParseError error;
    const auto doc = QJsonDocument::fromJson(QByteArray(text), &error);
    if (error.error != QJsonParseError::NoError)
        qFatal("bad test JSON: %s", qPrintable(error.errorString()));
    return doc.object();
}

QJsonObject with(QJsonObject o, const char* key, const QJsonValue& value) {
    o.insert(QLatin1String(key), value);
    return o;
}

// SD 2.x-like: per-block heads (legacy attention_head_dim list), linear projections,
// several transformer layers per block, upcast attention.
const char* kUNetLinear = R"({
  "_class_name": "UNet2DConditionModel", "in_channels": 4, "out_channels": 4,
  "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
  "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
  "block_out_channels": [16, 32, 32], "layers_per_block": 1,
  "attention_head_dim": [2, 4, 4], "num_attention_heads": null,
  "cross_attention_dim": 24, "norm_num_groups": 8, "use_linear_projection": true,
  "transformer_layers_per_block": [1, 2, 2], "upcast_attention": true,
  "flip_sin_to_cos": true, "freq_shift": 0, "act_fn": "silu", "norm_eps": 1e-05,
  "mid_block_type": "UNetMidBlock2DCrossAttn", "addition_embed_type": null
})";

// SDXL-like: text_time conditioning, no attention in the first block.
const char* kUNetTextTime = R"({
  "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
  "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"],
  "block_out_channels": [16, 32], "layers_per_block": 2, "attention_head_dim": [2, 4],
  "cross_attention_dim": 24, "norm_num_groups": 8, "use_linear_projection": true,
  "transformer_layers_per_block": [1, 2], "addition_embed_type": "text_time",
  "addition_time_embed_dim": 8, "projection_class_embeddings_input_dim": 64
})";

const char* kVaeNoAttention = R"({
  "_class_name": "AutoencoderKL", "in_channels": 3, "out_channels": 3, "latent_channels": 4,
  "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D"],
  "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D"],
  "block_out_channels": [8, 16], "layers_per_block": 1, "norm_num_groups": 4,
  "mid_block_add_attention": false, "use_quant_conv": false, "use_post_quant_conv": false,
  "scaling_factor": 0.13025, "shift_factor": 0.0609
})";

const char* kClip = R"({
  "architectures": ["CLIPTextModel"], "hidden_size": 16, "intermediate_size": 32,
  "num_attention_heads": 2, "num_hidden_layers": 2, "max_position_embeddings": 8,
  "vocab_size": 50, "hidden_act": "gelu", "layer_norm_eps": 1e-05, "eos_token_id": 2,
  "projection_dim": 12
})";

UNet2DConditionConfig unetConfig(const QJsonObject& o) {
    auto c = UNet2DConditionConfig::fromJson(o);
    if (!c)
        qFatal("%s", qPrintable(c.error()));
    return *c;
}

at::Tensor randn(at::IntArrayRef shape, uint64_t seed) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    return at::randn(shape, gen, at::TensorOptions(at::kFloat));
}

bool hasParameter(const torch::nn::Module& m, const char* name) {
    return m.named_parameters(true).find(name) != nullptr;
}

} // namespace

class TestNn final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { setAttentionBackend(AttentionBackend::Auto); }
    void cleanupTestCase() { setManualAttentionChunkBytes(int64_t(256) << 20); }

    void attentionMatchesFormula_data();
    void attentionMatchesFormula();
    void attentionUpcastBFloat16();

    void unetConfigLegacyHeads();
    void unetConfigErrors_data();
    void unetConfigErrors();
    void unetLinearProjectionRoundTrip();
    void unetTextTime();

    void loaderShapeMismatch();
    void loaderMissingTensor();
    void loaderRefusesIntegerWeights();
    void loaderExtrasPrefixAndDtype();
    void loaderLegacyAttentionNames();

    void vaeWithoutAttentionOrQuantConv();
    void clipPoolingAndCausality();
    void clipConfigErrors();

    void moduleHelpers();
};

// ---- attention ---------------------------------------------------------------------------

void TestNn::attentionMatchesFormula_data() {
    QTest::addColumn<bool>("causal");
    QTest::addColumn<bool>("mask");
    QTest::addColumn<bool>("chunked");
    QTest::newRow("plain") << false << false << false;
    QTest::newRow("causal") << true << false << false;
    QTest::newRow("mask") << false << true << false;
    QTest::newRow("causal+mask, chunked") << true << true << true;
}

void TestNn::attentionMatchesFormula() {
    QFETCH(bool, causal);
    QFETCH(bool, mask);
    QFETCH(bool, chunked);
    setAttentionBackend(AttentionBackend::Manual);
    setManualAttentionChunkBytes(chunked ? 2 * 3 * 7 * 4 * 2 : int64_t(256) << 20); // 2 query rows a chunk
    const auto q = randn({2, 3, 7, 5}, 1), k = randn({2, 3, 7, 5}, 2), v = randn({2, 3, 7, 5}, 3);
    at::Tensor additive;
    if (mask) // drop key 4 for batch 1
    {
        additive = at::zeros({2, 1, 1, 7});
        additive.select(0, 1).select(-1, 4).fill_(-1e9);
    }
    AttentionOptions options;
    options.causal = causal;
    const auto out = scaledDotProductAttention(q, k, v, additive, options);

    auto scores = at::matmul(q, k.transpose(-2, -1)) / std::sqrt(5.0);
    if (mask)
        scores = scores + additive;
    if (causal)
        scores = scores.masked_fill(at::ones({7, 7}, at::kBool).triu(1), -1e30);
    const auto expected = at::matmul(at::softmax(scores, -1), v);
    QVERIFY2(maxAbsError(out, expected) < 1e-6, qPrintable(QString::number(maxAbsError(out, expected))));

    setAttentionBackend(AttentionBackend::Auto);
    QVERIFY(maxAbsError(scaledDotProductAttention(q, k, v, additive, options), expected) < 1e-5);
}

void TestNn::attentionUpcastBFloat16() {
    setAttentionBackend(AttentionBackend::Manual);
    const auto q = randn({1, 2, 6, 8}, 4) * 4, k = randn({1, 2, 6, 8}, 5) * 4, v = randn({1, 2, 6, 8}, 6);
    AttentionOptions upcast;
    upcast.upcast = true;
    const auto reference = scaledDotProductAttention(q, k, v);
    const auto out =
        scaledDotProductAttention(q.to(at::kBFloat16), k.to(at::kBFloat16), v.to(at::kBFloat16), {}, upcast);
    QCOMPARE(out.scalar_type(), at::kBFloat16);
    QVERIFY2(maxAbsError(out, reference) < 0.05, qPrintable(QString::number(maxAbsError(out, reference))));
}

// ---- UNet ------------------------------------------------------------------------------

void TestNn::unetConfigLegacyHeads() {
    const auto c = unetConfig(json(kUNetLinear));
    QCOMPARE(c.attentionHeads, (std::vector<int64_t>{2, 4, 4}));
    QCOMPARE(c.transformerLayersPerBlock, (std::vector<int64_t>{1, 2, 2}));
    QCOMPARE(c.layersPerBlock, (std::vector<int64_t>{1, 1, 1}));
    QCOMPARE(c.crossAttentionDim, (std::vector<int64_t>{24, 24, 24}));
    QVERIFY(c.useLinearProjection);
    QVERIFY(c.upcastAttention);
    // An explicit num_attention_heads wins over the legacy field.
    const auto explicitHeads = unetConfig(with(json(kUNetLinear), "num_attention_heads", 8));
    QCOMPARE(explicitHeads.attentionHeads, (std::vector<int64_t>{8, 8, 8}));
}

void TestNn::unetConfigErrors_data() {
    QTest::addColumn<QString>("key");
    QTest::addColumn<QJsonValue>("value");
    QTest::addColumn<QString>("expected");
    auto row = [](const char* name, const char* key, const QJsonValue& value, const char* expected) {
        QTest::newRow(name) << QString::fromUtf8(key) << value << QString::fromUtf8(expected);
    };
    row("block type", "down_block_types",
        QJsonArray{QStringLiteral("SimpleCrossAttnDownBlock2D"), QStringLiteral("CrossAttnDownBlock2D"),
                   QStringLiteral("DownBlock2D")},
        "\"SimpleCrossAttnDownBlock2D\" is not supported");
    row("list length", "attention_head_dim", QJsonArray{2, 4},
        "\"attention_head_dim\" has 2 entries but the model has 3 blocks");
    row("class embedding", "class_embed_type", QStringLiteral("timestep"),
        "\"class_embed_type\" = timestep is not supported");
    row("addition", "addition_embed_type", QStringLiteral("image"),
        "addition_embed_type \"image\" is not supported");
    row("missing", "block_out_channels", QJsonValue(QJsonValue::Null), "\"block_out_channels\" is missing");
    row("type", "use_linear_projection", 3, "\"use_linear_projection\" must be true or false");
    row("groups", "norm_num_groups", 5, "is not a multiple of norm_num_groups 5");
}

void TestNn::unetConfigErrors() {
    QFETCH(QString, key);
    QFETCH(QJsonValue, value);
    QFETCH(QString, expected);
    auto o = json(kUNetLinear);
    o.insert(key, value);
    const auto c = UNet2DConditionConfig::fromJson(o);
    QVERIFY(!c);
    QVERIFY2(c.error().startsWith(QStringLiteral("unet config: ")), qPrintable(c.error()));
    QVERIFY2(c.error().contains(expected), qPrintable(c.error()));
}

void TestNn::unetLinearProjectionRoundTrip() {
    const auto config = unetConfig(json(kUNetLinear));
    UNet2DCondition a(config);
    randomizeModule(*a, 7);
    // Linear projections: proj_in is a [inner, channels] matrix, not a 1x1 conv.
    QCOMPARE(a->named_parameters().find("down_blocks.0.attentions.0.proj_in.weight")->sizes().vec(),
             (std::vector<int64_t>{16, 16}));
    QVERIFY(hasParameter(*a, "down_blocks.1.attentions.0.transformer_blocks.1.ff.net.2.weight"));
    QVERIFY(!hasParameter(*a, "down_blocks.0.attentions.0.transformer_blocks.1.norm1.weight"));
    QVERIFY(hasParameter(*a, "up_blocks.1.attentions.1.transformer_blocks.1.attn2.to_k.weight"));
    QVERIFY(hasParameter(*a, "mid_block.attentions.0.transformer_blocks.1.attn1.to_out.0.bias"));
    QVERIFY(!hasParameter(*a, "up_blocks.0.attentions.0.norm.weight"));
    QVERIFY(!hasParameter(*a, "up_blocks.2.upsamplers.0.conv.weight"));
    QVERIFY(!hasParameter(*a, "down_blocks.2.downsamplers.0.conv.weight"));

    // Odd latent sizes: the upsamplers follow the skip connections' sizes.
    const auto sample = randn({2, 4, 9, 11}, 8);
    const auto context = randn({2, 5, 24}, 9);
    c10::InferenceMode guard;
    const auto out = a->forward(sample, at::tensor({10.0, 700.5}), context);
    QCOMPARE(out.sizes().vec(), sample.sizes().vec());
    QVERIFY(out.isfinite().all().item<bool>());
    QVERIFY(out.abs().max().item<double>() > 0);

    QTemporaryDir dir;
    const auto path = dir.filePath(QStringLiteral("unet.safetensors"));
    const auto written = tp::io::writeSafeTensors(path, namedTensors(*a));
    QVERIFY2(written, qPrintable(written.error()));
    auto weights = SafeTensorsArchive::open(path);
    QVERIFY2(weights, qPrintable(weights.error()));
    UNet2DCondition b(config);
    const auto status = loadWeights(*b, *weights, QString(), at::kCPU, at::kFloat);
    QVERIFY2(status, qPrintable(status.error()));
    QCOMPARE(maxAbsError(b->forward(sample, at::tensor({10.0, 700.5}), context), out), 0.0);
    // A different timestep changes the output (the time embedding is wired in).
    QVERIFY(maxAbsError(b->forward(sample, at::tensor({10.0, 10.0}), context), out) > 1e-4);
}

void TestNn::unetTextTime() {
    const auto config = unetConfig(json(kUNetTextTime));
    QVERIFY(config.textTimeEmbedding);
    UNet2DCondition unet(config);
    randomizeModule(*unet, 11);
    QCOMPARE(unet->named_parameters().find("add_embedding.linear_1.weight")->sizes().vec(),
             (std::vector<int64_t>{64, 64}));
    c10::InferenceMode guard;
    const auto sample = randn({2, 4, 8, 8}, 12);
    const auto context = randn({2, 3, 24}, 13);
    UNetAddedConditions added;
    added.textEmbeds = randn({2, 16}, 14);
    added.timeIds =
        at::tensor({1024.0, 1024.0, 0.0, 0.0, 1024.0, 1024.0, 512.0, 512.0, 0.0, 0.0, 512.0, 512.0})
            .reshape({2, 6});
    const auto out = unet->forward(sample, at::scalar_tensor(500), context, added);
    QCOMPARE(out.sizes().vec(), sample.sizes().vec());
    auto otherIds = added;
    otherIds.timeIds = added.timeIds.flip(0);
    QVERIFY(maxAbsError(unet->forward(sample, at::scalar_tensor(500), context, otherIds), out) > 1e-5);
    QVERIFY_THROWS_EXCEPTION(c10::Error, unet->forward(sample, at::scalar_tensor(500), context));
}

// ---- weight loading --------------------------------------------------------------------

namespace {
struct SavedUNet {
    QTemporaryDir dir;
    UNet2DConditionConfig config = unetConfig(json(kUNetLinear));
    std::vector<std::pair<QString, at::Tensor>> tensors;

    SavedUNet() {
        UNet2DCondition a(config);
        randomizeModule(*a, 21);
        tensors = namedTensors(*a);
    }
    std::optional<SafeTensorsArchive> write(const std::vector<std::pair<QString, at::Tensor>>& t) {
        const auto path = dir.filePath(QStringLiteral("w.safetensors"));
        if (!tp::io::writeSafeTensors(path, t))
            return std::nullopt;
        auto archive = SafeTensorsArchive::open(path);
        return archive ? std::optional<SafeTensorsArchive>(*archive) : std::nullopt;
    }
};
} // namespace

void TestNn::loaderShapeMismatch() {
    SavedUNet saved;
    auto tensors = saved.tensors;
    for (auto& [name, t] : tensors) {
        if (name == QLatin1String("down_blocks.0.resnets.0.conv1.weight"))
            t = at::zeros({8, 16, 3, 3});
        if (name == QLatin1String("conv_out.bias"))
            t = at::zeros({3});
    }
    auto weights = saved.write(tensors);
    QVERIFY(weights);
    UNet2DCondition unet(saved.config);
    const auto before = unet->named_parameters().find("conv_in.weight")->data_ptr();
    const auto status = loadWeights(*unet, *weights, QString(), at::kCPU, at::kFloat);
    QVERIFY(!status);
    QVERIFY2(status.error().startsWith(QStringLiteral("unet: ")), qPrintable(status.error()));
    QVERIFY2(
        status.error().contains(QStringLiteral("down_blocks.0.resnets.0.conv1.weight has shape [8,16,3,3] in "
                                               "the file but the config needs [16,16,3,3]")),
        qPrintable(status.error()));
    QVERIFY2(status.error().contains(
                 QStringLiteral("conv_out.bias has shape [3] in the file but the config needs [4]")),
             qPrintable(status.error()));
    // Nothing was loaded.
    QCOMPARE(unet->named_parameters().find("conv_in.weight")->data_ptr(), before);
}

void TestNn::loaderMissingTensor() {
    SavedUNet saved;
    auto tensors = saved.tensors;
    tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                                 [](const auto& t) {
                                     return t.first == QLatin1String("conv_in.bias") ||
                                            t.first ==
                                                QLatin1String("mid_block.attentions.0.proj_out.weight");
                                 }),
                  tensors.end());
    auto weights = saved.write(tensors);
    QVERIFY(weights);
    UNet2DCondition unet(saved.config);
    const auto status = loadWeights(*unet, *weights, QString(), at::kCPU, at::kFloat);
    QVERIFY(!status);
    QVERIFY2(status.error().contains(
                 QStringLiteral("unet: 2 of %1 weights are missing").arg(saved.tensors.size())),
             qPrintable(status.error()));
    QVERIFY2(status.error().contains(QStringLiteral("conv_in.bias")), qPrintable(status.error()));
    QVERIFY2(status.error().contains(QStringLiteral("mid_block.attentions.0.proj_out.weight")),
             qPrintable(status.error()));
}

// I8 or BOOL tensors where float weights belong are refused, not cast to garbage floats.
void TestNn::loaderRefusesIntegerWeights() {
    SavedUNet saved;
    auto tensors = saved.tensors;
    for (auto& [name, t] : tensors) {
        if (name == QLatin1String("conv_in.weight"))
            t = at::ones(t.sizes(), at::kChar);
        if (name == QLatin1String("conv_out.bias"))
            t = at::ones(t.sizes(), at::kBool);
    }
    auto weights = saved.write(tensors);
    QVERIFY(weights);
    UNet2DCondition unet(saved.config);
    const auto before = unet->named_parameters().find("conv_in.weight")->data_ptr();
    const auto status = loadWeights(*unet, *weights, QString(), at::kCPU, at::kFloat);
    QVERIFY(!status);
    QVERIFY2(status.error().contains(QStringLiteral("conv_in.weight holds I8 values in the file where float "
                                                    "weights belong")),
             qPrintable(status.error()));
    QVERIFY2(status.error().contains(QStringLiteral("conv_out.bias holds BOOL values")),
             qPrintable(status.error()));
    QCOMPARE(unet->named_parameters().find("conv_in.weight")->data_ptr(), before);
}

void TestNn::loaderExtrasPrefixAndDtype() {
    SavedUNet saved;
    std::vector<std::pair<QString, at::Tensor>> tensors;
    for (const auto& [name, t] : saved.tensors)
        tensors.emplace_back(QStringLiteral("model.") + name, t);
    tensors.emplace_back(QStringLiteral("model.text_model.embeddings.position_ids"),
                         at::arange(8, at::kLong));
    tensors.emplace_back(QStringLiteral("other.weight"), at::zeros({2}));
    auto weights = saved.write(tensors);
    QVERIFY(weights);

    UNet2DCondition unet(saved.config);
    LoadReport report;
    const auto status =
        loadWeights(*unet, *weights, QStringLiteral("model."), at::kCPU, at::kBFloat16, &report);
    QVERIFY2(status, qPrintable(status.error()));
    QCOMPARE(report.tensors, int(saved.tensors.size()));
    QCOMPARE(report.unexpected, QStringList{QStringLiteral("model.text_model.embeddings.position_ids")});
    QVERIFY(report.missingBuffers.isEmpty());
    for (const auto& p : unet->parameters())
        QCOMPARE(p.scalar_type(), at::kBFloat16);
    QCOMPARE(report.bytes, moduleSize(*unet).bytes);
    const auto& original = std::find_if(saved.tensors.begin(), saved.tensors.end(), [](const auto& t) {
                               return t.first == QLatin1String("conv_in.weight");
                           })->second;
    QCOMPARE(maxAbsError(*unet->named_parameters().find("conv_in.weight"), original.to(at::kBFloat16)), 0.0);
}

void TestNn::loaderLegacyAttentionNames() {
    // Older diffusers files name the VAE's mid-block attention query/key/value/proj_attn,
    // and LDM-converted ones store them as 1x1 convolutions.
    auto config = AutoencoderKLConfig::fromJson(with(json(kVaeNoAttention), "mid_block_add_attention", true));
    QVERIFY2(config, qPrintable(config.error()));
    AutoencoderKL a(*config);
    randomizeModule(*a, 61);
    std::vector<std::pair<QString, at::Tensor>> tensors;
    for (auto [name, t] : namedTensors(*a)) {
        for (const auto& [from, to] : {std::pair<const char*, const char*>{".to_q.", ".query."},
                                       {".to_k.", ".key."},
                                       {".to_v.", ".value."},
                                       {".to_out.0.", ".proj_attn."}})
            name.replace(QLatin1String(from), QLatin1String(to));
        if (name.endsWith(QLatin1String("query.weight")))
            t = t.reshape({t.size(0), t.size(1), 1, 1});
        tensors.emplace_back(name, t);
    }
    QTemporaryDir dir;
    const auto path = dir.filePath(QStringLiteral("vae.safetensors"));
    QVERIFY(tp::io::writeSafeTensors(path, tensors));
    auto weights = SafeTensorsArchive::open(path);
    QVERIFY2(weights, qPrintable(weights.error()));
    QVERIFY(weights->contains(QStringLiteral("decoder.mid_block.attentions.0.proj_attn.bias")));
    AutoencoderKL b(*config);
    LoadReport report;
    const auto status = loadWeights(*b, *weights, QString(), at::kCPU, at::kFloat, &report);
    QVERIFY2(status, qPrintable(status.error()));
    QVERIFY(report.unexpected.isEmpty());
    c10::InferenceMode guard;
    const auto latents = randn({1, 4, 5, 6}, 62);
    QCOMPARE(maxAbsError(b->decode(latents), a->decode(latents)), 0.0);
}

// ---- VAE and CLIP ------------------------------------------------------------------------

void TestNn::vaeWithoutAttentionOrQuantConv() {
    auto config = AutoencoderKLConfig::fromJson(json(kVaeNoAttention));
    QVERIFY2(config, qPrintable(config.error()));
    QCOMPARE(config->scalingFactor, 0.13025);
    QVERIFY(config->shiftFactor && std::abs(*config->shiftFactor - 0.0609) < 1e-12);
    QCOMPARE(config->downscaleFactor(), 2);
    AutoencoderKL vae(*config);
    randomizeModule(*vae, 31);
    QVERIFY(!hasParameter(*vae, "quant_conv.weight"));
    QVERIFY(!hasParameter(*vae, "post_quant_conv.weight"));
    QVERIFY(!hasParameter(*vae, "encoder.mid_block.attentions.0.to_q.weight"));
    QVERIFY(hasParameter(*vae, "decoder.mid_block.resnets.1.conv2.weight"));
    QVERIFY(hasParameter(*vae, "encoder.down_blocks.0.downsamplers.0.conv.weight"));
    QVERIFY(hasParameter(*vae, "decoder.up_blocks.1.resnets.0.conv_shortcut.weight")); // 16 -> 8 channels
    QVERIFY(!hasParameter(*vae, "decoder.up_blocks.1.resnets.1.conv_shortcut.weight"));
    c10::InferenceMode guard;
    const auto image = randn({1, 3, 16, 12}, 32).tanh();
    const auto posterior = vae->encode(image);
    QCOMPARE(posterior.mean.sizes().vec(), (std::vector<int64_t>{1, 4, 8, 6}));
    QCOMPARE(maxAbsError(posterior.std, at::exp(0.5 * posterior.logvar)), 0.0);
    QVERIFY(posterior.logvar.max().item<double>() <= 20.0);
    const auto decoded = vae->decode(posterior.mean);
    QCOMPARE(decoded.sizes().vec(), image.sizes().vec());
    auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
    QCOMPARE(posterior.sample(gen).sizes().vec(), posterior.mean.sizes().vec());
}

void TestNn::clipPoolingAndCausality() {
    for (const bool legacy : {true, false}) {
        auto o = json(kClip);
        if (!legacy)
            o = with(with(o, "eos_token_id", 7), "architectures",
                     QJsonArray{QStringLiteral("CLIPTextModelWithProjection")});
        auto config = ClipTextConfig::fromJson(o);
        QVERIFY2(config, qPrintable(config.error()));
        QCOMPARE(config->withProjection, !legacy);
        ClipTextModel clip(*config);
        randomizeModule(*clip, 41);
        ClipTextModel reloaded(*config); // built outside inference mode, like a real load
        QCOMPARE(hasParameter(*clip, "text_projection.weight"), !legacy);
        QVERIFY(hasParameter(*clip, "text_model.encoder.layers.1.mlp.fc2.bias"));
        QVERIFY(hasParameter(*clip, "text_model.embeddings.position_embedding.weight"));

        c10::InferenceMode guard;
        // Row 0: highest id (49) at 3, eos 7 at 2 and 5; row 1: eos 7 at 6, highest id 33 at 1.
        const auto ids =
            at::tensor({1, 4, 7, 49, 9, 7, 3, 3, 1, 33, 5, 6, 2, 8, 7, 7}, at::kLong).reshape({2, 8});
        const auto out = clip->forward(ids, true);
        const std::vector<int64_t> eos = legacy ? std::vector<int64_t>{3, 1} : std::vector<int64_t>{2, 6};
        for (int b = 0; b < 2; ++b)
            QCOMPARE(maxAbsError(out.pooled[b], out.lastHiddenState[b][eos[size_t(b)]]), 0.0);
        QCOMPARE(out.textEmbeds.defined(), !legacy);
        if (!legacy)
            QCOMPARE(out.textEmbeds.sizes().vec(), (std::vector<int64_t>{2, 12}));

        // Causal: changing token 5 leaves positions 0..4 alone and changes 5.
        auto changed = ids.clone();
        changed[0][5] = 11;
        const auto out2 = clip->forward(changed);
        QCOMPARE(maxAbsError(out2.lastHiddenState.narrow(1, 0, 5), out.lastHiddenState.narrow(1, 0, 5)), 0.0);
        QVERIFY(maxAbsError(out2.lastHiddenState[0][5], out.lastHiddenState[0][5]) > 1e-4);
        QVERIFY(out2.hiddenStates.empty());
        QVERIFY_THROWS_EXCEPTION(c10::Error, clip->forward(at::zeros({1, 9}, at::kLong)));

        // transformers 4 files keep the "text_model." wrapper (transformers 5 drops it; the
        // fixture's parity test loads that form).
        QTemporaryDir dir;
        const auto path = dir.filePath(QStringLiteral("clip.safetensors"));
        QVERIFY(tp::io::writeSafeTensors(path, namedTensors(*clip)));
        auto weights = SafeTensorsArchive::open(path);
        QVERIFY(weights && weights->contains(QStringLiteral("text_model.final_layer_norm.weight")));
        QVERIFY(loadWeights(*reloaded, *weights, QString(), at::kCPU, at::kFloat));
        QCOMPARE(maxAbsError(reloaded->forward(ids).pooled, out.pooled), 0.0);
    }
}

void TestNn::clipConfigErrors() {
    auto bad = ClipTextConfig::fromJson(with(json(kClip), "hidden_act", QStringLiteral("swiglu")));
    QVERIFY(!bad);
    QVERIFY2(bad.error().contains(QStringLiteral("unsupported activation \"swiglu\"")),
             qPrintable(bad.error()));
    bad = ClipTextConfig::fromJson(with(json(kClip), "num_attention_heads", 3));
    QVERIFY(!bad);
    QVERIFY2(bad.error().contains(QStringLiteral("not a multiple of num_attention_heads")),
             qPrintable(bad.error()));
    // A full CLIPModel config: the text part is read from "text_config".
    auto nested = ClipTextConfig::fromJson(QJsonObject{{QStringLiteral("text_config"), json(kClip)}});
    QVERIFY2(nested, qPrintable(nested.error()));
    QCOMPARE(nested->hiddenSize, 16);
    QCOMPARE(nested->hiddenAct, Activation::Gelu);
}

void TestNn::moduleHelpers() {
    ResnetBlock2DOptions o;
    o.inChannels = 8;
    o.outChannels = 16;
    o.tembChannels = 32;
    o.groups = 4;
    ResnetBlock2D block(o, at::TensorOptions());
    randomizeModule(*block, 51);
    const int64_t expected = 8 * 2 + 16 * 8 * 9 + 16 + 32 * 16 + 16 + 16 * 2 + 16 * 16 * 9 + 16 + 16 * 8 + 16;
    const auto size = moduleSize(*block);
    QCOMPARE(size.parameters, expected);
    QCOMPARE(size.bytes, expected * 4);
    QCOMPARE(moduleDtype(*block), at::kFloat);

    c10::InferenceMode guard;
    const auto x = randn({1, 8, 6, 6}, 52);
    const auto temb = randn({1, 32}, 53);
    const auto out = block->forward(x, temb);
    moveModule(*block, at::kCPU, at::kBFloat16);
    QCOMPARE(moduleDtype(*block), at::kBFloat16);
    QCOMPARE(moduleSize(*block).bytes, expected * 2);
    QCOMPARE(moduleDevice(*block), at::Device(at::kCPU));
    const auto outBf16 = block->forward(x.to(at::kBFloat16), temb.to(at::kBFloat16));
    QCOMPARE(outBf16.scalar_type(), at::kBFloat16);
    QVERIFY2(maxAbsError(outBf16, out) < 0.1 * out.abs().max().item<double>(),
             "bfloat16 result far from float32");
}

QTEST_GUILESS_MAIN(TestNn)
#include "tst_nn.moc"
