#include "core/gpu/ModelProfile.h"

#include "core/io/ModelFolder.h"
#include "core/io/SafeTensorsHeader.h"
#include "core/io/SingleFileCheckpoint.h"
#include "core/io/WeightSource.h"

#include <QFileInfo>
#include <QJsonArray>
#include <QMap>
#include <QRegularExpression>

#include <algorithm>
#include <functional>
#include <map>
#include <memory>

namespace tp::gpu {
namespace {

using io::ModelFamily;

// One tensor as the engine will hold it.
struct TensorFacts {
    QString name; // diffusers name within the component
    qint64 numel = 0;
    io::DType dtype = io::DType::F32;
    int dims = 0;
};

struct ComponentFacts {
    QString name;
    QString className;
    QJsonObject config;
    std::vector<TensorFacts> tensors;
};

bool isFp8(io::DType d) {
    return d == io::DType::F8_E4M3 || d == io::DType::F8_E5M2;
}

bool isFloating(io::DType d) {
    return io::dtypeIsFloat(d) || isFp8(d);
}

// Bytes on the GPU: floats at the run's element size (fp8 files stay one byte); with `fp8`, the
// large (2-D and up) float weights take one byte.
qint64 gpuBytes(const TensorFacts& t, int runBytes, bool fp8) {
    if (!isFloating(t.dtype))
        return t.numel * io::dtypeSize(t.dtype);
    if (isFp8(t.dtype) || (fp8 && t.dims >= 2))
        return t.numel;
    return t.numel * runBytes;
}

enum class DenoiserType { UNet, Sd3, Flux };

DenoiserType denoiserType(ModelFamily f) {
    if (f == ModelFamily::SD3)
        return DenoiserType::Sd3;
    if (f == ModelFamily::Flux)
        return DenoiserType::Flux;
    return DenoiserType::UNet;
}

int configInt(const QJsonObject& c, const char* key, int fallback = 0) {
    const QJsonValue v = c.value(QLatin1String(key));
    if (v.isArray() && !v.toArray().isEmpty())
        return v.toArray().first().toInt(fallback);
    return v.isDouble() ? v.toInt(fallback) : fallback;
}

// The blocks the config says the denoiser has, in execution order, with the index of a tensor's
// block (-1: not in a block).
struct BlockLayout {
    int count = 0;
    std::function<int(const QString&)> blockOf;
};

BlockLayout blockLayout(DenoiserType type, const QJsonObject& config) {
    BlockLayout b;
    if (type == DenoiserType::UNet) {
        const int down = config.value(QLatin1String("down_block_types")).toArray().size();
        const int up = config.value(QLatin1String("up_block_types")).toArray().size();
        const bool mid = !config.value(QLatin1String("mid_block_type")).isNull();
        b.count = down + (mid ? 1 : 0) + up;
        static const QRegularExpression re(QStringLiteral("^(down_blocks|up_blocks)\\.(\\d+)\\."));
        b.blockOf = [down, mid](const QString& name) {
            if (mid && name.startsWith(QLatin1String("mid_block.")))
                return down;
            const QRegularExpressionMatch m = re.match(name);
            if (!m.hasMatch())
                return -1;
            const int i = m.captured(2).toInt();
            return m.captured(1) == QLatin1String("down_blocks") ? i : down + (mid ? 1 : 0) + i;
        };
        return b;
    }
    const int doubles = configInt(config, "num_layers");
    const int singles = type == DenoiserType::Flux ? configInt(config, "num_single_layers") : 0;
    b.count = doubles + singles;
    static const QRegularExpression re(
        QStringLiteral("^(single_transformer_blocks|transformer_blocks)\\.(\\d+)\\."));
    b.blockOf = [doubles](const QString& name) {
        const QRegularExpressionMatch m = re.match(name);
        if (!m.hasMatch())
            return -1;
        const int i = m.captured(2).toInt();
        return m.captured(1) == QLatin1String("transformer_blocks") ? i : doubles + i;
    };
    return b;
}

QString textEncoderLabel(const ComponentFacts& c, bool t5) {
    if (t5)
        return QStringLiteral("T5");
    switch (configInt(c.config, "hidden_size")) {
    case 768:
        return QStringLiteral("CLIP-L");
    case 1280:
        return QStringLiteral("CLIP-G");
    case 1024:
        return QStringLiteral("OpenCLIP-H");
    default:
        break;
    }
    return c.name == QLatin1String("text_encoder")
               ? QStringLiteral("CLIP")
               : QStringLiteral("CLIP ") + c.name.section(QLatin1Char('_'), 2);
}

bool isT5(const ComponentFacts& c) {
    return c.config.value(QLatin1String("model_type")).toString() == QLatin1String("t5") ||
           c.className.startsWith(QLatin1String("T5"));
}

Result<std::vector<ComponentFacts>> folderFacts(const io::ModelFolder& folder) {
    std::vector<ComponentFacts> out;
    for (const io::ModelComponent& mc : folder.components()) {
        if (!mc.hasWeights())
            continue;
        ComponentFacts c;
        c.name = mc.name;
        c.className = mc.className;
        c.config = mc.config;
        for (const QString& file : mc.weightFiles) {
            const Result<io::Header> h = io::readSafeTensorsHeader(file);
            if (!h)
                return Result<std::vector<ComponentFacts>>::fail(h.error());
            for (const io::TensorInfo& t : h->tensors)
                c.tensors.push_back({t.name, t.numel(), t.dtype, int(t.shape.size())});
        }
        out.push_back(std::move(c));
    }
    return Result<std::vector<ComponentFacts>>::ok(std::move(out));
}

Result<std::vector<ComponentFacts>> singleFileFacts(const io::SingleFileCheckpoint& ckpt) {
    std::vector<ComponentFacts> out;
    std::map<QString, std::shared_ptr<io::Header>> companions;
    for (const QString& component : ckpt.components()) {
        const Result<io::ComponentMapping> m = ckpt.mapping(component);
        if (!m)
            return Result<std::vector<ComponentFacts>>::fail(m.error());
        const io::Header* header = &ckpt.header();
        if (!m->file.isEmpty()) {
            auto& h = companions[m->file];
            if (!h) {
                Result<io::Header> read = io::readSafeTensorsHeader(m->file);
                if (!read)
                    return Result<std::vector<ComponentFacts>>::fail(read.error());
                h = std::make_shared<io::Header>(std::move(*read));
            }
            header = h.get();
        }
        ComponentFacts c;
        c.name = component;
        c.config = m->config;
        if (const Result<QJsonObject> cfg = ckpt.config(component))
            c.config = *cfg;
        for (auto it = m->tensors.begin(); it != m->tensors.end(); ++it) {
            const io::WeightSource& src = it.value();
            std::vector<qint64> shape;
            io::DType dtype = io::DType::F32;
            if (!src.key.isEmpty()) {
                const io::TensorInfo* t = header->find(src.key);
                if (!t)
                    return Result<std::vector<ComponentFacts>>::fail(
                        QStringLiteral("%1: no tensor %2")
                            .arg(io::shortFileName(m->file.isEmpty() ? ckpt.path() : m->file), src.key));
                shape = t->shape;
                dtype = t->dtype;
            }
            const Result<std::vector<qint64>> after = io::shapeAfter(shape, src.ops);
            if (!after)
                return Result<std::vector<ComponentFacts>>::fail(after.error());
            qint64 numel = 1;
            for (qint64 d : *after)
                numel *= d;
            c.tensors.push_back({it.key(), numel, dtype, int(after->size())});
        }
        out.push_back(std::move(c));
    }
    return Result<std::vector<ComponentFacts>>::ok(std::move(out));
}

} // namespace

Result<ModelProfile> profileModel(const QString& modelPath, const ProfileOptions& options) {
    ModelProfile p;
    p.path = QFileInfo(modelPath).absoluteFilePath();
    std::vector<ComponentFacts> facts;
    if (QFileInfo(modelPath).isFile()) {
        io::SingleFileOptions so;
        so.textEncoderFiles = options.textEncoderFiles;
        so.vaeFile = options.vaeFile;
        const Result<io::SingleFileCheckpoint> ckpt = io::SingleFileCheckpoint::open(modelPath, so);
        if (!ckpt)
            return Result<ModelProfile>::fail(ckpt.error());
        if (ckpt->components().isEmpty())
            return Result<ModelProfile>::fail(QStringLiteral("%1: no components to plan for (%2)")
                                                  .arg(io::shortFileName(modelPath), ckpt->problem().isEmpty()
                                                                                         ? ckpt->variant()
                                                                                         : ckpt->problem()));
        if (!ckpt->supported())
            p.notes << ckpt->problem();
        p.family = ckpt->family();
        Result<std::vector<ComponentFacts>> f = singleFileFacts(*ckpt);
        if (!f)
            return Result<ModelProfile>::fail(f.error());
        facts = std::move(*f);
    } else {
        const Result<io::ModelFolder> folder = io::ModelFolder::open(modelPath);
        if (!folder)
            return Result<ModelProfile>::fail(folder.error());
        if (!folder->supported())
            p.notes << folder->problem();
        p.family = folder->family();
        Result<std::vector<ComponentFacts>> f = folderFacts(*folder);
        if (!f)
            return Result<ModelProfile>::fail(f.error());
        facts = std::move(*f);
    }
    p.familyName = io::familyName(p.family);
    p.precision = io::familyPrecision(options.precision, p.family);
    const bool fp8Run = p.precision.startsWith(QLatin1String("fp8"));
    const int runBytes = p.precision == QLatin1String("fp32") ? 4 : 2;
    const io::FamilyTraits& traits = io::familyTraits(p.family);
    const QString denoiserName =
        traits.denoiserComponent.isEmpty() ? QStringLiteral("unet") : traits.denoiserComponent;
    const DenoiserType type = denoiserType(p.family);

    for (const ComponentFacts& c : facts) {
        ComponentSize s;
        s.name = c.name;
        if (c.name == denoiserName) {
            s.kind = ComponentKind::Denoiser;
            s.label = type == DenoiserType::UNet ? QStringLiteral("UNet") : QStringLiteral("transformer");
            const BlockLayout layout = blockLayout(type, c.config);
            std::vector<qint64> blocks(size_t(std::max(0, layout.count)), 0);
            std::vector<qint64> fp8Blocks(blocks.size(), 0);
            std::vector<bool> seen(blocks.size(), false);
            qint64 rest = 0;
            qint64 fp8Rest = 0;
            int outside = 0;
            for (const TensorFacts& t : c.tensors) {
                const qint64 bytes = gpuBytes(t, runBytes, fp8Run);
                const qint64 fp8Bytes = gpuBytes(t, runBytes, true);
                const int i = layout.blockOf ? layout.blockOf(t.name) : -1;
                if (i >= 0 && i < layout.count) {
                    blocks[size_t(i)] += bytes;
                    fp8Blocks[size_t(i)] += fp8Bytes;
                    seen[size_t(i)] = true;
                } else {
                    outside += i >= 0 ? 1 : 0;
                    rest += bytes;
                    fp8Rest += fp8Bytes;
                }
                s.weightBytes += bytes;
            }
            const int found = int(std::count(seen.begin(), seen.end(), true));
            if (outside > 0 || found != layout.count) {
                p.notes << QStringLiteral(
                               "%1: the config names %2 blocks but the weights fill %3 (and %4 tensors "
                               "beyond them): it is planned as one piece, not streamed")
                               .arg(c.name)
                               .arg(layout.count)
                               .arg(found)
                               .arg(outside);
                blocks.clear();
                fp8Blocks.clear();
                rest = s.weightBytes;
            }
            s.blockBytes = blocks;
            s.nonBlockBytes = rest;
            if (!fp8Run && !blocks.empty()) {
                s.fp8BlockBytes = fp8Blocks;
                s.fp8NonBlockBytes = fp8Rest;
            }
            services::GenerationShape& g = p.denoiserShape;
            g.bytesPerElement = runBytes;
            if (type == DenoiserType::UNet) {
                g.denoiser = services::GenerationShape::Denoiser::UNet;
                g.baseChannels = configInt(c.config, "block_out_channels", 320);
                g.attentionHeads = configInt(c.config, "attention_head_dim", 8);
            } else {
                g.denoiser = services::GenerationShape::Denoiser::Dit;
                g.attentionHeads = configInt(c.config, "num_attention_heads", 1);
                g.ditHidden = g.attentionHeads * configInt(c.config, "attention_head_dim", 64);
                g.patchSize = 2; // SD 3's patch_size; Flux packs 2x2 latents into one token
                if (type == DenoiserType::Sd3)
                    g.contextTokens = 77 + 256;
                else
                    g.contextTokens =
                        c.config.value(QLatin1String("guidance_embeds")).toBool(true) ? 512 : 256;
            }
        } else if (c.name == QLatin1String("vae")) {
            s.kind = ComponentKind::Vae;
            s.label = QStringLiteral("VAE");
            for (const TensorFacts& t : c.tensors)
                s.weightBytes += gpuBytes(t, runBytes, false);
        } else if (c.name.startsWith(QLatin1String("text_encoder"))) {
            const bool t5 = isT5(c);
            if (t5 && options.withoutT5 && !traits.optionalT5.isEmpty())
                continue;
            s.kind = t5 ? ComponentKind::T5 : ComponentKind::TextEncoder;
            s.label = textEncoderLabel(c, t5);
            for (const TensorFacts& t : c.tensors)
                s.weightBytes += gpuBytes(t, runBytes, false);
            TextEncoderProfile te;
            te.component = c.name;
            te.shape.bytesPerElement = runBytes;
            if (t5) {
                te.shape.hidden = configInt(c.config, "d_model", 4096);
                te.shape.ffn = configInt(c.config, "d_ff", 10240);
                te.shape.heads = configInt(c.config, "num_heads", 64);
                te.shape.sequence = p.family == ModelFamily::Flux ? 512 : 256;
            } else {
                te.shape.hidden = configInt(c.config, "hidden_size", 768);
                te.shape.ffn = configInt(c.config, "intermediate_size", 4 * te.shape.hidden);
                te.shape.heads = configInt(c.config, "num_attention_heads", 12);
                te.shape.sequence = configInt(c.config, "max_position_embeddings", 77);
            }
            p.textEncoders.push_back(te);
        } else {
            continue; // safety checker, image encoder: not run
        }
        p.components.push_back(std::move(s));
    }
    if (std::none_of(p.components.begin(), p.components.end(),
                     [](const ComponentSize& s) { return s.kind == ComponentKind::Denoiser; }))
        return Result<ModelProfile>::fail(QStringLiteral("%1: no %2 with weights found")
                                              .arg(QFileInfo(modelPath).fileName(), denoiserName));
    return Result<ModelProfile>::ok(std::move(p));
}

PlanInput planInput(const ModelProfile& profile, const PlanRequest& request, qint64 budgetBytes,
                    const PlannerOptions& options, const PlanMemory* learned) {
    PlanInput in;
    in.budgetBytes = budgetBytes;
    in.options = options;
    in.steps = request.steps;
    const bool flux = profile.family == ModelFamily::Flux;
    const bool cfgBatch = !flux && request.guidance > 1.0;
    const int batch = std::max(1, request.size.batch);

    services::GenerationShape g = profile.denoiserShape;
    g.width = request.size.width;
    g.height = request.size.height;
    g.batch = batch;
    g.guidance = cfgBatch;
    g.materializedAttention = request.materializedAttention;
    const services::GenerationVramEstimate e = services::estimateGenerationVram(g);

    for (ComponentSize s : profile.components) {
        switch (s.kind) {
        case ComponentKind::Denoiser:
            s.activationBytes = e.unetBytes;
            break;
        case ComponentKind::Vae:
            s.activationBytes = e.vaeBytes;
            s.tiledActivationBytes = services::estimateTiledVaeDecodeVram(
                request.size.width, request.size.height, batch, request.vaeTileSide);
            if (s.tiledActivationBytes >= s.activationBytes)
                s.tiledActivationBytes = 0; // the image is no larger than a tile
            break;
        case ComponentKind::TextEncoder:
        case ComponentKind::T5:
            for (const TextEncoderProfile& te : profile.textEncoders)
                if (te.component == s.name) {
                    services::TextEncoderShape shape = te.shape;
                    shape.prompts = batch * (cfgBatch || (flux && request.trueCfg) ? 2 : 1);
                    s.activationBytes = services::estimateTextEncoderVram(shape);
                }
            break;
        }
        in.components.push_back(std::move(s));
    }
    if (learned)
        learned->applyLearned(in, profile.familyName, request.size);
    return in;
}

} // namespace tp::gpu
