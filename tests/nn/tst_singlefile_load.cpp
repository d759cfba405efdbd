// Single-file checkpoints loaded into the engine's modules through their WeightMaps.
//
// The tiny SD 1.x fixture (tests/data/sd15-tiny, made by diffusers) is written here as a single
// file in the original LDM key layout, by an inverse mapping of this test's own (diffusers →
// LDM, written from the layout, not from the loader's tables); loading it back must give
// bit-identical tensors and outputs to the folder. The same inverse turns random SD 2.x/SDXL-
// shaped models (OpenCLIP's fused in_proj, the transposed projection, SDXL's text_time UNet)
// into single files that must load back exactly. And every config inferred from shapes must
// build modules that take all of the mapped tensors, nothing missing and nothing left over.
#include "core/io/SingleFileCheckpoint.h"
#include "core/io/SingleFileComponent.h"
#include "core/nn/AutoencoderKL.h"
#include "core/nn/ClipTextModel.h"
#include "core/nn/UNet2DCondition.h"
#include "core/nn/WeightLoader.h"
#include "tests/io/FakeCheckpoints.h"
#include "tests/nn/NnTestUtil.h"
#include "tests/support/TestUtil.h"

#include <c10/core/InferenceMode.h>

#include <QDir>
#include <QJsonArray>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <map>

using namespace tp;
using namespace tp::nn;
using io::SafeTensorsArchive;
using test::dataPath;
using test::maxAbsError;

namespace {

using Named = std::vector<std::pair<QString, at::Tensor>>;

QString pipelinePath(const QString& relative) {
    return dataPath(QStringLiteral("sd15-tiny/pipeline/") + relative);
}

// ---- diffusers → LDM, this test's own inverse ----------------------------------------

struct UNetLayout {
    int layers = 2;                // resnets per down level
    std::vector<bool> upAttention; // per up level
};

QString ldmResnet(QString rest) {
    const std::pair<const char*, const char*> table[] = {
        {"norm1.", "in_layers.0."},          {"conv1.", "in_layers.2."},
        {"norm2.", "out_layers.0."},         {"conv2.", "out_layers.3."},
        {"time_emb_proj.", "emb_layers.1."}, {"conv_shortcut.", "skip_connection."}};
    for (const auto& [from, to] : table)
        if (rest.startsWith(QLatin1String(from)))
            return QLatin1String(to) + rest.mid(int(strlen(from)));
    qFatal("unexpected resnet tensor %s", qPrintable(rest));
}

QString ldmUNetName(const QString& name, const UNetLayout& l) {
    static const QRegularExpression down(
        QStringLiteral(R"(^down_blocks\.(\d+)\.(resnets|attentions|downsamplers)\.(\d+)\.(.*)$)"));
    static const QRegularExpression up(
        QStringLiteral(R"(^up_blocks\.(\d+)\.(resnets|attentions|upsamplers)\.(\d+)\.(.*)$)"));
    static const QRegularExpression mid(QStringLiteral(R"(^mid_block\.(resnets|attentions)\.(\d+)\.(.*)$)"));
    const int per = l.layers + 1;
    QString out;
    if (auto m = down.match(name); m.hasMatch()) {
        const int level = m.captured(1).toInt(), j = m.captured(3).toInt();
        if (m.captured(2) == QLatin1String("resnets"))
            out =
                QStringLiteral("input_blocks.%1.0.%2").arg(1 + level * per + j).arg(ldmResnet(m.captured(4)));
        else if (m.captured(2) == QLatin1String("attentions"))
            out = QStringLiteral("input_blocks.%1.1.%2").arg(1 + level * per + j).arg(m.captured(4));
        else
            out = QStringLiteral("input_blocks.%1.0.op.%2").arg((level + 1) * per).arg(m.captured(4).mid(5));
    } else if (auto m = up.match(name); m.hasMatch()) {
        const int level = m.captured(1).toInt(), j = m.captured(3).toInt();
        if (m.captured(2) == QLatin1String("resnets"))
            out = QStringLiteral("output_blocks.%1.0.%2").arg(level * per + j).arg(ldmResnet(m.captured(4)));
        else if (m.captured(2) == QLatin1String("attentions"))
            out = QStringLiteral("output_blocks.%1.1.%2").arg(level * per + j).arg(m.captured(4));
        else
            out = QStringLiteral("output_blocks.%1.%2.%3")
                      .arg(level * per + l.layers)
                      .arg(l.upAttention[size_t(level)] ? 2 : 1)
                      .arg(m.captured(4)); // "conv.weight"
    } else if (auto m = mid.match(name); m.hasMatch()) {
        out = m.captured(1) == QLatin1String("attentions") ? QStringLiteral("middle_block.1.") + m.captured(3)
                                                           : QStringLiteral("middle_block.%1.%2")
                                                                 .arg(m.captured(2).toInt() * 2)
                                                                 .arg(ldmResnet(m.captured(3)));
    } else {
        const std::pair<const char*, const char*> top[] = {{"conv_in.", "input_blocks.0.0."},
                                                           {"time_embedding.linear_1.", "time_embed.0."},
                                                           {"time_embedding.linear_2.", "time_embed.2."},
                                                           {"add_embedding.linear_1.", "label_emb.0.0."},
                                                           {"add_embedding.linear_2.", "label_emb.0.2."},
                                                           {"conv_norm_out.", "out.0."},
                                                           {"conv_out.", "out.2."}};
        for (const auto& [from, to] : top)
            if (name.startsWith(QLatin1String(from)))
                out = QLatin1String(to) + name.mid(int(strlen(from)));
    }
    if (out.isEmpty())
        qFatal("unexpected UNet tensor %s", qPrintable(name));
    return QStringLiteral("model.diffusion_model.") + out;
}

// An LDM VAE: levels in up order are reversed, attention weights are 1x1 convolutions.
std::pair<QString, at::Tensor> ldmVae(const QString& name, const at::Tensor& t, int levels) {
    QString n = name;
    at::Tensor value = t;
    static const QRegularExpression down(
        QStringLiteral(R"(^encoder\.down_blocks\.(\d+)\.(resnets\.(\d+)|downsamplers\.0)\.(.*)$)"));
    static const QRegularExpression up(
        QStringLiteral(R"(^decoder\.up_blocks\.(\d+)\.(resnets\.(\d+)|upsamplers\.0)\.(.*)$)"));
    auto shortcut = [](QString s) {
        return s.replace(QStringLiteral("conv_shortcut."), QStringLiteral("nin_shortcut."));
    };
    if (auto m = down.match(n); m.hasMatch()) {
        n = m.captured(3).isEmpty()
                ? QStringLiteral("encoder.down.%1.downsample.%2").arg(m.captured(1), m.captured(4))
                : QStringLiteral("encoder.down.%1.block.%2.%3")
                      .arg(m.captured(1), m.captured(3), shortcut(m.captured(4)));
    } else if (auto m = up.match(n); m.hasMatch()) {
        const int level = levels - 1 - m.captured(1).toInt();
        n = m.captured(3).isEmpty()
                ? QStringLiteral("decoder.up.%1.upsample.%2").arg(level).arg(m.captured(4))
                : QStringLiteral("decoder.up.%1.block.%2.%3")
                      .arg(level)
                      .arg(m.captured(3), shortcut(m.captured(4)));
    } else if (n.contains(QLatin1String(".mid_block.resnets."))) {
        n.replace(QStringLiteral(".mid_block.resnets.0."), QStringLiteral(".mid.block_1."));
        n.replace(QStringLiteral(".mid_block.resnets.1."), QStringLiteral(".mid.block_2."));
    } else if (n.contains(QLatin1String(".mid_block.attentions.0."))) {
        n.replace(QStringLiteral(".mid_block.attentions.0."), QStringLiteral(".mid.attn_1."));
        for (const auto& [from, to] : {std::pair{"group_norm.", "norm."},
                                       {"to_q.", "q."},
                                       {"to_k.", "k."},
                                       {"to_v.", "v."},
                                       {"to_out.0.", "proj_out."}})
            n.replace(QLatin1String(from), QLatin1String(to));
        if (t.dim() == 2)
            value = t.reshape({t.size(0), t.size(1), 1, 1});
    } else {
        n.replace(QStringLiteral("conv_norm_out."), QStringLiteral("norm_out."));
    }
    return {QStringLiteral("first_stage_model.") + n, value};
}

// transformers CLIPTextModel → OpenCLIP (q, k, v fused into in_proj; the projection transposed).
Named openClip(const Named& clip, const QString& prefix, bool extraLayer = false) {
    Named out;
    std::map<int, std::map<QString, at::Tensor>> qkv;
    static const QRegularExpression layer(QStringLiteral(R"(^text_model\.encoder\.layers\.(\d+)\.(.*)$)"));
    int layers = 0;
    for (const auto& [name, t] : clip) {
        QString n;
        if (auto m = layer.match(name); m.hasMatch()) {
            const int i = m.captured(1).toInt();
            layers = std::max(layers, i + 1);
            QString rest = m.captured(2);
            if (rest.startsWith(QLatin1String("self_attn.")) &&
                !rest.startsWith(QLatin1String("self_attn.out_proj"))) {
                qkv[i][rest] = t;
                continue;
            }
            for (const auto& [from, to] : {std::pair{"layer_norm1.", "ln_1."},
                                           {"layer_norm2.", "ln_2."},
                                           {"mlp.fc1.", "mlp.c_fc."},
                                           {"mlp.fc2.", "mlp.c_proj."},
                                           {"self_attn.out_proj.", "attn.out_proj."}})
                if (rest.startsWith(QLatin1String(from)))
                    rest = QLatin1String(to) + rest.mid(int(strlen(from)));
            n = QStringLiteral("transformer.resblocks.%1.%2").arg(i).arg(rest);
        } else if (name == QLatin1String("text_model.embeddings.token_embedding.weight")) {
            n = QStringLiteral("token_embedding.weight");
        } else if (name == QLatin1String("text_model.embeddings.position_embedding.weight")) {
            n = QStringLiteral("positional_embedding");
        } else if (name.startsWith(QLatin1String("text_model.final_layer_norm."))) {
            n = QStringLiteral("ln_final.") + name.section(QLatin1Char('.'), 2);
        } else if (name == QLatin1String("text_projection.weight")) {
            out.emplace_back(prefix + QStringLiteral("text_projection"), t.t().contiguous());
            continue;
        } else {
            qFatal("unexpected CLIP tensor %s", qPrintable(name));
        }
        out.emplace_back(prefix + n, t);
    }
    for (auto& [i, parts] : qkv)
        for (const char* kind : {"weight", "bias"}) {
            auto get = [&](const char* p) {
                return parts.at(QStringLiteral("self_attn.%1.%2").arg(QLatin1String(p), QLatin1String(kind)));
            };
            out.emplace_back(prefix + QStringLiteral("transformer.resblocks.%1.attn.in_proj_%2")
                                          .arg(i)
                                          .arg(QLatin1String(kind)),
                             at::cat({get("q_proj"), get("k_proj"), get("v_proj")}));
        }
    if (extraLayer) // SD 2.x files hold one more layer than the model uses
        for (const auto& [name, t] : Named(out))
            if (name.startsWith(prefix + QStringLiteral("transformer.resblocks.0.")))
                out.emplace_back(QString(name).replace(QStringLiteral("resblocks.0."),
                                                       QStringLiteral("resblocks.%1.").arg(layers)),
                                 t + 1.0);
    out.emplace_back(prefix + QStringLiteral("logit_scale"), at::scalar_tensor(4.6f));
    return out;
}

Named readAll(const QString& path, const QString& prefix = {}) {
    auto a = SafeTensorsArchive::open(path);
    if (!a)
        qFatal("%s", qPrintable(a.error()));
    Named out;
    for (const QString& n : a->names())
        out.emplace_back(prefix + n,
                         *a->load(n, at::kCPU, a->info(n)->dtype == io::DType::I64 ? at::kLong : at::kFloat));
    return out;
}

std::map<std::string, at::Tensor> parameters(const torch::nn::Module& m) {
    std::map<std::string, at::Tensor> out;
    for (const auto& p : m.named_parameters(true))
        out[p.key()] = p.value();
    return out;
}

// Every parameter of a and b is the same, bit for bit.
bool identical(const torch::nn::Module& a, const torch::nn::Module& b, QString* why) {
    const auto pa = parameters(a), pb = parameters(b);
    if (pa.size() != pb.size()) {
        *why = QStringLiteral("%1 vs %2 parameters").arg(pa.size()).arg(pb.size());
        return false;
    }
    for (const auto& [name, t] : pa) {
        const auto it = pb.find(name);
        if (it == pb.end() || !at::equal(t, it->second)) {
            *why = QString::fromStdString(name);
            return false;
        }
    }
    return true;
}

template <typename Module, typename Config>
std::optional<Module> build(const QJsonObject& json, QString* error) {
    auto config = Config::fromJson(json);
    if (!config) {
        *error = config.error();
        return std::nullopt;
    }
    return Module(*config);
}

} // namespace

class TestSingleFileLoad final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

    // Loads `component` of `checkpoint` into `module`; all mapped tensors must be used.
    static Status load(torch::nn::Module& module, const io::SingleFileCheckpoint& checkpoint,
                       const SafeTensorsArchive& file, const QString& component, LoadReport* report) {
        auto c = io::singleFileComponent(checkpoint, file, component);
        if (!c)
            return Status::fail(c.error());
        return loadWeights(module, c->weights, at::kCPU, at::kFloat, report);
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    // tests/data/sd15-tiny as an A1111-style single file: bit-identical to the folder.
    void tinySd15RoundTrip() {
        const QString file = m_dir.filePath(QStringLiteral("sd15-tiny.safetensors"));
        {
            Named all;
            const auto unetConfig = test::dataPath(QStringLiteral("sd15-tiny/pipeline/unet/config.json"));
            UNetLayout layout;
            layout.layers = 2;
            layout.upAttention = {false, true, true}; // UpBlock2D, CrossAttnUpBlock2D, CrossAttnUpBlock2D
            for (const auto& [n, t] :
                 readAll(pipelinePath(QStringLiteral("unet/diffusion_pytorch_model.safetensors"))))
                all.emplace_back(ldmUNetName(n, layout), t);
            for (const auto& [n, t] :
                 readAll(pipelinePath(QStringLiteral("vae/diffusion_pytorch_model.safetensors"))))
                all.push_back(ldmVae(n, t, 4));
            // transformers 5 writes CLIPTextModel without "text_model."; LDM files have it.
            for (const auto& [n, t] : readAll(pipelinePath(QStringLiteral("text_encoder/model.safetensors"))))
                all.emplace_back(QStringLiteral("cond_stage_model.transformer.text_model.") + n, t);
            // What A1111 files hold besides the networks.
            all.emplace_back(
                QStringLiteral("cond_stage_model.transformer.text_model.embeddings.position_ids"),
                at::arange(77, at::kLong).unsqueeze(0));
            all.emplace_back(QStringLiteral("alphas_cumprod"), at::ones({1000}));
            all.emplace_back(QStringLiteral("model_ema.decay"), at::scalar_tensor(0.9999f));
            const Status s = io::writeSafeTensors(file, all);
            QVERIFY2(s, qPrintable(s.error()));
        }

        // Without its configs the tiny text encoder's heads cannot be told (32 wide, 4 heads).
        auto inferred = io::SingleFileCheckpoint::open(file);
        QVERIFY2(inferred, qPrintable(inferred.error()));
        QCOMPARE(inferred->family(), io::ModelFamily::SD1);
        QVERIFY(!inferred->supported());
        QVERIFY2(
            inferred->problem().contains(QStringLiteral("cannot infer the attention heads of a 32-wide text "
                                                        "encoder")),
            qPrintable(inferred->problem()));

        io::SingleFileOptions options;
        options.configFolder = pipelinePath(QString());
        auto checkpoint = io::SingleFileCheckpoint::open(file, options);
        QVERIFY2(checkpoint, qPrintable(checkpoint.error()));
        QVERIFY2(checkpoint->supported(), qPrintable(checkpoint->problem()));
        QCOMPARE(checkpoint->nativeSize(), 128);
        auto archive = SafeTensorsArchive::open(file);
        QVERIFY2(archive, qPrintable(archive.error()));
        const auto tokenizers = checkpoint->tokenizers();
        QVERIFY2(tokenizers, qPrintable(tokenizers.error()));
        QCOMPARE(QDir(tokenizers->at(0).folder).canonicalPath(),
                 QDir(pipelinePath(QStringLiteral("tokenizer"))).canonicalPath());
        QCOMPARE(checkpoint->schedulerConfig(),
                 io::readJsonObject(pipelinePath(QStringLiteral("scheduler/scheduler_config.json"))).value());

        auto folderWeights = [](const QString& rel) {
            auto a = SafeTensorsArchive::open(pipelinePath(rel));
            if (!a)
                qFatal("%s", qPrintable(a.error()));
            return *a;
        };
        QString why;
        c10::InferenceMode guard(false);

        // Text encoder.
        {
            auto config = checkpoint->config(QStringLiteral("text_encoder"));
            QVERIFY(config);
            auto fromFile = build<ClipTextModel, ClipTextConfig>(*config, &why);
            auto fromFolder = build<ClipTextModel, ClipTextConfig>(*config, &why);
            QVERIFY2(fromFile && fromFolder, qPrintable(why));
            LoadReport report;
            const Status s = load(**fromFile, *checkpoint, *archive, QStringLiteral("text_encoder"), &report);
            QVERIFY2(s, qPrintable(s.error()));
            QVERIFY2(report.unexpected.isEmpty(), qPrintable(report.unexpected.join(QLatin1Char(' '))));
            QVERIFY(loadWeights(**fromFolder, folderWeights(QStringLiteral("text_encoder/model.safetensors")),
                                QString(), at::kCPU, at::kFloat));
            QVERIFY2(identical(**fromFile, **fromFolder, &why), qPrintable(why));
        }
        // VAE: the attention's 1x1 convolutions became linear weights again.
        {
            auto config = checkpoint->config(QStringLiteral("vae"));
            auto fromFile = build<AutoencoderKL, AutoencoderKLConfig>(*config, &why);
            auto fromFolder = build<AutoencoderKL, AutoencoderKLConfig>(*config, &why);
            QVERIFY2(fromFile && fromFolder, qPrintable(why));
            LoadReport report;
            const Status s = load(**fromFile, *checkpoint, *archive, QStringLiteral("vae"), &report);
            QVERIFY2(s, qPrintable(s.error()));
            QVERIFY(report.unexpected.isEmpty());
            QVERIFY(loadWeights(**fromFolder,
                                folderWeights(QStringLiteral("vae/diffusion_pytorch_model.safetensors")),
                                QString(), at::kCPU, at::kFloat));
            QVERIFY2(identical(**fromFile, **fromFolder, &why), qPrintable(why));
            QCOMPARE(parameters(**fromFile).at("decoder.mid_block.attentions.0.to_q.weight").dim(), 2);
        }
        // UNet, and its output against diffusers' reference numbers.
        {
            auto config = checkpoint->config(QStringLiteral("unet"));
            auto fromFile = build<UNet2DCondition, UNet2DConditionConfig>(*config, &why);
            auto fromFolder = build<UNet2DCondition, UNet2DConditionConfig>(*config, &why);
            QVERIFY2(fromFile && fromFolder, qPrintable(why));
            LoadReport report;
            const Status s = load(**fromFile, *checkpoint, *archive, QStringLiteral("unet"), &report);
            QVERIFY2(s, qPrintable(s.error()));
            QVERIFY(report.unexpected.isEmpty());
            QCOMPARE(report.tensors,
                     int(folderWeights(QStringLiteral("unet/diffusion_pytorch_model.safetensors"))
                             .names()
                             .size()));
            QVERIFY(loadWeights(**fromFolder,
                                folderWeights(QStringLiteral("unet/diffusion_pytorch_model.safetensors")),
                                QString(), at::kCPU, at::kFloat));
            QVERIFY2(identical(**fromFile, **fromFolder, &why), qPrintable(why));

            auto reference =
                SafeTensorsArchive::open(dataPath(QStringLiteral("sd15-tiny/reference.safetensors")));
            QVERIFY(reference);
            c10::InferenceMode inference;
            const at::Tensor sample = *reference->view(QStringLiteral("unet.sample"));
            const at::Tensor context = *reference->view(QStringLiteral("unet.encoder_hidden_states"));
            const at::Tensor out = (*fromFile)->forward(sample, at::scalar_tensor(999, at::kLong), context);
            QCOMPARE(
                maxAbsError(out, (*fromFolder)->forward(sample, at::scalar_tensor(999, at::kLong), context)),
                0.0);
            const double error = maxAbsError(out, *reference->view(QStringLiteral("unet.t999.out")));
            qInfo("single-file UNet vs diffusers: max abs error %.3g", error);
            QVERIFY(error <= 3e-5);
        }
    }

    // The reference single files made by diffusers' converters (tools/reference: sd15-single,
    // sdxl-tiny/single; F16 files of the folders' float32 values, which are exact in float16):
    // every component loads from the single file bit-identical to the folder's.
    void referenceSingleFiles_data() {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("folder");
        QTest::addColumn<QStringList>("components");
        QTest::newRow("sd15-single") << QStringLiteral("sd15-single/sd15-single.safetensors")
                                     << QStringLiteral("sd15-single/pipeline")
                                     << QStringList{QStringLiteral("text_encoder"), QStringLiteral("unet"),
                                                    QStringLiteral("vae")};
        QTest::newRow("sdxl-tiny") << QStringLiteral("sdxl-tiny/single/sdxl-tiny.safetensors")
                                   << QStringLiteral("sdxl-tiny/pipeline")
                                   << QStringList{QStringLiteral("text_encoder"),
                                                  QStringLiteral("text_encoder_2"), QStringLiteral("unet"),
                                                  QStringLiteral("vae")};
    }
    void referenceSingleFiles() {
        QFETCH(QString, file);
        QFETCH(QString, folder);
        QFETCH(QStringList, components);
        io::SingleFileOptions options;
        options.configFolder = dataPath(folder);
        auto checkpoint = io::SingleFileCheckpoint::open(dataPath(file), options);
        QVERIFY2(checkpoint, qPrintable(checkpoint.error()));
        QVERIFY2(!checkpoint->components().isEmpty(), qPrintable(checkpoint->problem()));
        QCOMPARE(checkpoint->components(), components);
        QCOMPARE(checkpoint->precision(), QStringLiteral("fp16"));
        auto archive = SafeTensorsArchive::open(dataPath(file));
        QVERIFY2(archive, qPrintable(archive.error()));
        const auto tokenizers = checkpoint->tokenizers();
        QVERIFY2(tokenizers, qPrintable(tokenizers.error()));
        QCOMPARE(tokenizers->size(), size_t(components.size() - 2));
        QCOMPARE(tokenizers->at(0).folder, QDir(dataPath(folder)).filePath(QStringLiteral("tokenizer")));
        QCOMPARE(
            checkpoint->modelIndex(),
            io::readJsonObject(QDir(dataPath(folder)).filePath(QStringLiteral("model_index.json"))).value());

        c10::InferenceMode normal(false);
        std::map<QString, std::shared_ptr<torch::nn::Module>> loaded;
        for (const QString& component : components) {
            const QJsonObject config = *checkpoint->config(component);
            QString why;
            auto make = [&]() -> std::shared_ptr<torch::nn::Module> {
                if (component == QLatin1String("unet"))
                    return build<UNet2DCondition, UNet2DConditionConfig>(config, &why)->ptr();
                if (component == QLatin1String("vae"))
                    return build<AutoencoderKL, AutoencoderKLConfig>(config, &why)->ptr();
                return build<ClipTextModel, ClipTextConfig>(config, &why)->ptr();
            };
            std::shared_ptr<torch::nn::Module> fromFile = make(), fromFolder = make();
            LoadReport report;
            const Status s = load(*fromFile, *checkpoint, *archive, component, &report);
            QVERIFY2(s, qPrintable(component + QStringLiteral(": ") + s.error()));
            QVERIFY2(report.unexpected.isEmpty(), qPrintable(report.unexpected.join(QLatin1Char(' '))));
            const QDir dir(QDir(dataPath(folder)).filePath(component));
            const QString weights = dir.exists(QStringLiteral("model.safetensors"))
                                        ? dir.filePath(QStringLiteral("model.safetensors"))
                                        : dir.filePath(QStringLiteral("diffusion_pytorch_model.safetensors"));
            auto folderWeights = SafeTensorsArchive::open(weights);
            QVERIFY2(folderWeights, qPrintable(folderWeights.error()));
            QVERIFY(loadWeights(*fromFolder, *folderWeights, QString(), at::kCPU, at::kFloat));
            QVERIFY2(identical(*fromFile, *fromFolder, &why),
                     qPrintable(component + QStringLiteral(": ") + why));
            loaded[component] = fromFile;
        }
        if (!components.contains(QStringLiteral("text_encoder_2")))
            return;
        // SDXL's pooled text: bigG through the transposed projection, against diffusers.
        auto reference =
            SafeTensorsArchive::open(dataPath(QStringLiteral("sdxl-tiny/reference.safetensors")));
        QVERIFY(reference);
        c10::InferenceMode guard;
        auto* bigG = dynamic_cast<ClipTextModelImpl*>(loaded[QStringLiteral("text_encoder_2")].get());
        QVERIFY(bigG);
        const auto out = bigG->forward(*reference->view(QStringLiteral("te2.input_ids")));
        const double error = maxAbsError(out.textEmbeds, *reference->view(QStringLiteral("te2.text_embeds")));
        qInfo("sdxl-tiny single file: pooled text_embeds vs diffusers %.3g", error);
        QVERIFY(error <= 1e-5);
    }

    // Configs inferred from the shapes of SD 1.x/2.x/SDXL-shaped files build modules that take
    // exactly the mapped tensors (the files are sparse: the values are zeros).
    void inferredConfigsFitTheModules_data() {
        QTest::addColumn<int>("kind");
        QTest::newRow("sd1") << int(test::FakeCheckpointKind::SD1);
        QTest::newRow("sd2") << int(test::FakeCheckpointKind::SD2);
        QTest::newRow("sdxl") << int(test::FakeCheckpointKind::SDXL);
    }
    void inferredConfigsFitTheModules() {
        QFETCH(int, kind);
        test::FakeCheckpointOptions o;
        if (kind == int(test::FakeCheckpointKind::SDXL)) {
            o.channels = {64, 128, 192};
            o.depth = {0, 2, 3};
        }
        const QString path = m_dir.filePath(QStringLiteral("fake%1.safetensors").arg(kind));
        QVERIFY(test::writeSparseSafeTensors(path,
                                             test::fakeCheckpointTensors(test::FakeCheckpointKind(kind), o)));
        auto checkpoint = io::SingleFileCheckpoint::open(path);
        QVERIFY2(checkpoint, qPrintable(checkpoint.error()));
        QVERIFY2(!checkpoint->components().isEmpty(), qPrintable(checkpoint->problem()));
        auto archive = SafeTensorsArchive::open(path);
        QVERIFY2(archive, qPrintable(archive.error()));
        c10::InferenceMode guard(false);
        for (const QString& component : checkpoint->components()) {
            const QJsonObject config = *checkpoint->config(component);
            QString why;
            std::shared_ptr<torch::nn::Module> module;
            if (component == QLatin1String("unet")) {
                auto m = build<UNet2DCondition, UNet2DConditionConfig>(config, &why);
                QVERIFY2(m, qPrintable(why));
                module = m->ptr();
            } else if (component == QLatin1String("vae")) {
                auto m = build<AutoencoderKL, AutoencoderKLConfig>(config, &why);
                QVERIFY2(m, qPrintable(why));
                module = m->ptr();
            } else {
                auto m = build<ClipTextModel, ClipTextConfig>(config, &why);
                QVERIFY2(m, qPrintable(why));
                module = m->ptr();
            }
            LoadReport report;
            const Status s = load(*module, *checkpoint, *archive, component, &report);
            QVERIFY2(s, qPrintable(component + QStringLiteral(": ") + s.error()));
            QVERIFY2(report.unexpected.isEmpty(), qPrintable(report.unexpected.join(QLatin1Char(' '))));
            QCOMPARE(report.tensors, int(module->parameters().size()));
        }
    }

    // Random SD 2.x/SDXL-shaped models written the LDM/OpenCLIP way (q, k, v fused into
    // in_proj, the projection transposed, SD 2.x's unused last layer) load back exactly.
    void randomModelsRoundTrip_data() {
        QTest::addColumn<bool>("xl");
        QTest::newRow("sd2") << false;
        QTest::newRow("sdxl") << true;
    }
    void randomModelsRoundTrip() {
        QFETCH(bool, xl);
        // The configs of a file of that shape, then random modules of those configs.
        test::FakeCheckpointOptions o;
        o.channels = {64, 128};
        o.depth = xl ? std::vector<qint64>{0, 2} : std::vector<qint64>{1, 1};
        o.layers = 1;
        o.vaeChannels = {32, 32};
        const auto kind = xl ? test::FakeCheckpointKind::SDXL : test::FakeCheckpointKind::SD2;
        const QString fake = m_dir.filePath(QStringLiteral("shape%1.safetensors").arg(xl));
        QVERIFY(test::writeSparseSafeTensors(fake, test::fakeCheckpointTensors(kind, o)));
        auto shapes = io::SingleFileCheckpoint::open(fake);
        QVERIFY2(shapes && !shapes->components().isEmpty(),
                 qPrintable(shapes ? shapes->problem() : shapes.error()));

        QString why;
        c10::InferenceMode normal(false);
        std::map<QString, std::shared_ptr<torch::nn::Module>> originals;
        std::optional<ClipTextModel> projected;
        for (const QString& component : shapes->components()) {
            const QJsonObject config = *shapes->config(component);
            std::shared_ptr<torch::nn::Module> m;
            if (component == QLatin1String("unet"))
                m = build<UNet2DCondition, UNet2DConditionConfig>(config, &why)->ptr();
            else if (component == QLatin1String("vae"))
                m = build<AutoencoderKL, AutoencoderKLConfig>(config, &why)->ptr();
            else {
                auto clip = build<ClipTextModel, ClipTextConfig>(config, &why);
                if (component == QLatin1String("text_encoder_2"))
                    projected = clip;
                m = clip->ptr();
            }
            test::randomizeModule(*m, uint64_t(originals.size() + 1));
            originals[component] = m;
        }

        Named all;
        if (xl) {
            for (const auto& [n, t] : test::namedTensors(*originals[QStringLiteral("text_encoder")]))
                all.emplace_back(QStringLiteral("conditioner.embedders.0.transformer.") + n, t);
            for (auto& x : openClip(test::namedTensors(*originals[QStringLiteral("text_encoder_2")]),
                                    QStringLiteral("conditioner.embedders.1.model.")))
                all.push_back(std::move(x));
        } else {
            for (auto& x : openClip(test::namedTensors(*originals[QStringLiteral("text_encoder")]),
                                    QStringLiteral("cond_stage_model.model."), /*extraLayer=*/true))
                all.push_back(std::move(x));
            all.emplace_back(QStringLiteral("cond_stage_model.model.text_projection"), at::randn({128, 96}));
        }
        UNetLayout layout;
        layout.layers = 1;
        layout.upAttention = xl ? std::vector<bool>{true, false} : std::vector<bool>{true, true};
        for (const auto& [n, t] : test::namedTensors(*originals[QStringLiteral("unet")]))
            all.emplace_back(ldmUNetName(n, layout), t);
        for (const auto& [n, t] : test::namedTensors(*originals[QStringLiteral("vae")]))
            all.push_back(ldmVae(n, t, 2));
        const QString file = m_dir.filePath(QStringLiteral("random%1.safetensors").arg(xl));
        QVERIFY(io::writeSafeTensors(file, all));

        auto checkpoint = io::SingleFileCheckpoint::open(file);
        QVERIFY2(checkpoint, qPrintable(checkpoint.error()));
        QCOMPARE(checkpoint->family(), xl ? io::ModelFamily::SDXL : io::ModelFamily::SD2);
        QCOMPARE(checkpoint->components(), shapes->components());
        auto archive = SafeTensorsArchive::open(file);
        QVERIFY(archive);
        for (const QString& component : checkpoint->components()) {
            const QJsonObject config = *checkpoint->config(component);
            QCOMPARE(config, *shapes->config(component));
            std::shared_ptr<torch::nn::Module> loaded;
            if (component == QLatin1String("unet"))
                loaded = build<UNet2DCondition, UNet2DConditionConfig>(config, &why)->ptr();
            else if (component == QLatin1String("vae"))
                loaded = build<AutoencoderKL, AutoencoderKLConfig>(config, &why)->ptr();
            else
                loaded = build<ClipTextModel, ClipTextConfig>(config, &why)->ptr();
            LoadReport report;
            const Status s = load(*loaded, *checkpoint, *archive, component, &report);
            QVERIFY2(s, qPrintable(s.error()));
            QVERIFY2(report.unexpected.isEmpty(), qPrintable(report.unexpected.join(QLatin1Char(' '))));
            QVERIFY2(identical(*loaded, *originals[component], &why),
                     qPrintable(component + QStringLiteral(": ") + why));
        }
        if (!xl) {
            // The unused layer and projection are left out, and said so.
            const auto te = checkpoint->mapping(QStringLiteral("text_encoder"));
            QVERIFY(te->ignored.contains(
                QStringLiteral("cond_stage_model.model.transformer.resblocks.2.ln_1.weight")));
            QVERIFY(te->ignored.contains(QStringLiteral("cond_stage_model.model.text_projection")));
            return;
        }
        // The projected pooled output goes through the transposed text_projection.
        ClipTextModel reloaded(
            *ClipTextConfig::fromJson(*checkpoint->config(QStringLiteral("text_encoder_2"))));
        QVERIFY(load(*reloaded, *checkpoint, *archive, QStringLiteral("text_encoder_2"), nullptr));
        c10::InferenceMode guard;
        const auto ids = at::tensor({49406, 320, 1125, 49407, 0, 0}, at::kLong).unsqueeze(0);
        const auto a = (*projected)->forward(ids), b = reloaded->forward(ids);
        QCOMPARE(a.textEmbeds.size(1), 96);
        QCOMPARE(maxAbsError(a.textEmbeds, b.textEmbeds), 0.0);
    }

    // The loader's messages name the file's tensors, not only the engine's names.
    void mismatchNamesTheSourceTensor() {
        test::FakeCheckpointOptions o;
        const QString path = m_dir.filePath(QStringLiteral("mismatch.safetensors"));
        auto tensors = test::fakeCheckpointTensors(test::FakeCheckpointKind::SD1, o);
        QVERIFY(test::writeSparseSafeTensors(path, tensors));
        auto checkpoint = io::SingleFileCheckpoint::open(path);
        QVERIFY(checkpoint && checkpoint->supported());
        auto vaeConfig = *checkpoint->config(QStringLiteral("vae"));
        vaeConfig.insert(QStringLiteral("block_out_channels"), QJsonArray{32, 32}); // not the file's 32, 64
        auto config = AutoencoderKLConfig::fromJson(vaeConfig);
        QVERIFY(config);
        AutoencoderKL vae(*config);
        auto component = io::singleFileComponent(*checkpoint, QStringLiteral("vae"));
        QVERIFY2(component, qPrintable(component.error()));
        const Status s = loadWeights(*vae, component->weights, at::kCPU, at::kFloat);
        QVERIFY(!s);
        QVERIFY2(s.error().startsWith(
                     QStringLiteral("vae: first_stage_model.encoder.down.1.block.0.conv1.weight has "
                                    "shape [64,32,3,3] in the file but the config needs [32,32,3,3]")),
                 qPrintable(s.error()));
        QVERIFY2(s.error().contains(QStringLiteral("mismatch.safetensors")), qPrintable(s.error()));
    }
};

QTEST_GUILESS_MAIN(TestSingleFileLoad)
#include "tst_singlefile_load.moc"
