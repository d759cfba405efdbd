#include "core/io/SingleFileCheckpoint.h"

#include "core/common/Paths.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>

namespace tp::io {

namespace {

// Key prefixes of the original checkpoints (diffusers' CHECKPOINT_KEY_NAMES and
// LDM_*_KEY, stable-diffusion.cpp's name_conversion.cpp).
const QString kUNet = QStringLiteral("model.diffusion_model.");
const QString kSd1Clip = QStringLiteral("cond_stage_model.transformer.");
const QString kSd2OpenClip = QStringLiteral("cond_stage_model.model.");
const QString kSdxlClip = QStringLiteral("conditioner.embedders.0.transformer.");
const QString kSdxlOpenClip = QStringLiteral("conditioner.embedders.1.model.");
const QString kSdxlRefinerOpenClip = QStringLiteral("conditioner.embedders.0.model.");
const QString kSd3Clip = QStringLiteral("text_encoders.");

// The scheduler configs diffusers' pipelines for these models ship with.
QJsonObject ldmSchedulerConfig(const QString& className, const QString& predictionType) {
    return {
        {QStringLiteral("_class_name"), className},
        {QStringLiteral("beta_end"), 0.012},
        {QStringLiteral("beta_schedule"), QStringLiteral("scaled_linear")},
        {QStringLiteral("beta_start"), 0.00085},
        {QStringLiteral("clip_sample"), false},
        {QStringLiteral("num_train_timesteps"), 1000},
        {QStringLiteral("prediction_type"), predictionType},
        {QStringLiteral("set_alpha_to_one"), false},
        {QStringLiteral("skip_prk_steps"), true},
        {QStringLiteral("steps_offset"), 1},
        {QStringLiteral("timestep_spacing"), QStringLiteral("leading")},
        {QStringLiteral("trained_betas"), QJsonValue()},
    };
}

QJsonObject sdxlSchedulerConfig(const QString& predictionType) {
    QJsonObject c = ldmSchedulerConfig(QStringLiteral("EulerDiscreteScheduler"), predictionType);
    c.insert(QStringLiteral("interpolation_type"), QStringLiteral("linear"));
    c.insert(QStringLiteral("sample_max_value"), 1.0);
    c.insert(QStringLiteral("use_karras_sigmas"), false);
    return c;
}

bool anyStartsWith(const Header& h, const QString& prefix) {
    // The tensors are sorted by name: the first name not below `prefix` decides.
    const auto it = std::lower_bound(h.tensors.begin(), h.tensors.end(), prefix,
                                     [](const TensorInfo& t, const QString& p) { return t.name < p; });
    return it != h.tensors.end() && it->name.startsWith(prefix);
}

bool anyContains(const Header& h, const QString& part) {
    return std::any_of(h.tensors.begin(), h.tensors.end(),
                       [&](const TensorInfo& t) { return t.name.contains(part); });
}

std::vector<qint64> shapeOf(const Header& h, const QString& name) {
    const TensorInfo* t = h.find(name);
    return t ? t->shape : std::vector<qint64>{};
}

// The UNet's cross-attention width: the first attn2.to_k weight's input.
qint64 crossAttentionDim(const Header& h) {
    for (const TensorInfo& t : h.tensors)
        if (t.name.startsWith(kUNet) && t.name.endsWith(QLatin1String(".attn2.to_k.weight")) &&
            t.shape.size() == 2)
            return t.shape[1];
    return 0;
}

QString precisionOf(const Header& h) {
    QStringList floats;
    const QMap<DType, qint64> bytes = h.bytesByDType();
    for (auto it = bytes.constBegin(); it != bytes.constEnd(); ++it)
        if (dtypeIsFloat(it.key()) && it.value() > 0)
            floats << precisionName(it.key());
    floats.removeDuplicates();
    return floats.isEmpty()     ? QStringLiteral("none")
           : floats.size() == 1 ? floats.first()
                                : QStringLiteral("mixed");
}

std::optional<QString> predictionFromText(QString value) {
    value = value.trimmed().toLower();
    if (value == QLatin1String("v") || value == QLatin1String("v_prediction") ||
        value == QLatin1String("v-prediction") || value == QLatin1String("velocity") ||
        value == QLatin1String("v_pred"))
        return QStringLiteral("v_prediction");
    if (value == QLatin1String("epsilon") || value == QLatin1String("eps") || value == QLatin1String("noise"))
        return QStringLiteral("epsilon");
    return std::nullopt;
}

} // namespace

bool isSafeTensorsFileName(const QString& fileName) {
    return fileName.endsWith(QLatin1String(".safetensors"), Qt::CaseInsensitive);
}

bool isPickleCheckpointFileName(const QString& fileName) {
    for (const char* ext : {".ckpt", ".pt", ".pth", ".bin"})
        if (fileName.endsWith(QLatin1String(ext), Qt::CaseInsensitive))
            return true;
    return false;
}

Result<SingleFileCheckpoint> SingleFileCheckpoint::open(const QString& path,
                                                        const SingleFileOptions& options) {
    using R = Result<SingleFileCheckpoint>;
    const QFileInfo fi(path);
    if (!fi.isFile())
        return R::fail(QStringLiteral("%1 is not a file.").arg(path));
    if (!isSafeTensorsFileName(fi.fileName()))
        return R::fail(
            isPickleCheckpointFileName(fi.fileName())
                ? QStringLiteral("%1: PyTorch pickle checkpoints are not supported (loading one can run "
                                 "code): convert it to .safetensors.")
                      .arg(fi.fileName())
                : QStringLiteral("%1 is not a .safetensors file.").arg(fi.fileName()));
    Result<Header> header = readSafeTensorsHeader(path);
    if (!header)
        return R::fail(header.error());

    SingleFileCheckpoint c;
    c.m_path = fi.absoluteFilePath();
    c.m_fileSize = fi.size();
    c.m_header = std::move(*header);
    c.m_precision = precisionOf(c.m_header);
    c.classify(options);
    if (c.m_problem.isEmpty())
        c.buildComponents(options);
    if (!c.m_components.empty() && !options.configFolder.isEmpty())
        c.applyConfigFolder(options.configFolder);
    for (const ComponentMapping& m : c.m_components)
        if (c.m_problem.isEmpty() && !m.configProblem.isEmpty())
            c.m_problem = m.configProblem + QLatin1Char('.');
    // Mapped but not runnable yet: the mapping stays available (for tests and the engine's work
    // on the family), supported() says no.
    if (c.m_problem.isEmpty() && !familySupported(c.m_family))
        c.m_problem = QStringLiteral("%1 models are not supported yet.").arg(familyName(c.m_family));
    return R::ok(std::move(c));
}

void SingleFileCheckpoint::contradiction(const QString& detail) {
    if (m_problem.isEmpty())
        m_problem =
            QStringLiteral("Its shapes contradict a %1 checkpoint: %2. The file mixes parts of different "
                           "models or is damaged.")
                .arg(familyName(m_family), detail);
}

void SingleFileCheckpoint::classify(const SingleFileOptions& options) {
    const Header& h = m_header;
    const bool unet = anyStartsWith(h, kUNet + QStringLiteral("input_blocks."));
    const bool sd3 = anyStartsWith(h, kUNet + QStringLiteral("joint_blocks.")) ||
                     anyStartsWith(h, QStringLiteral("joint_blocks."));
    const bool flux = anyStartsWith(h, kUNet + QStringLiteral("double_blocks.")) ||
                      anyStartsWith(h, QStringLiteral("double_blocks."));
    const bool sd1Clip = anyStartsWith(h, kSd1Clip);
    const bool sd2OpenClip = anyStartsWith(h, kSd2OpenClip);
    const bool sdxlClip = anyStartsWith(h, kSdxlClip);
    const bool sdxlOpenClip = anyStartsWith(h, kSdxlOpenClip);
    const bool refinerOpenClip = anyStartsWith(h, kSdxlRefinerOpenClip);
    const bool vae = anyStartsWith(h, QStringLiteral("first_stage_model.")) ||
                     anyStartsWith(h, QStringLiteral("vae.encoder.down."));
    const QString name = QFileInfo(m_path).fileName();

    // Prediction type (used by SD 2.x; recorded for all).
    {
        QString type, reason;
        const QMap<QString, QString>& meta = h.metadata;
        if (!options.predictionType.isEmpty()) {
            if (auto p = predictionFromText(options.predictionType)) {
                type = *p;
                reason = QStringLiteral("chosen by the caller");
            }
        }
        for (const char* key : {"modelspec.prediction_type", "prediction_type"}) {
            if (!type.isEmpty())
                break;
            if (auto p = predictionFromText(meta.value(QLatin1String(key)))) {
                type = *p;
                reason = QStringLiteral("metadata %1 = %2")
                             .arg(QLatin1String(key), meta.value(QLatin1String(key)));
            }
        }
        if (type.isEmpty() && meta.value(QStringLiteral("ss_v_parameterization")).trimmed().toLower() ==
                                  QLatin1String("true")) {
            type = QStringLiteral("v_prediction");
            reason = QStringLiteral("metadata ss_v_parameterization = true");
        }
        const QString architecture = meta.value(QStringLiteral("modelspec.architecture"));
        if (type.isEmpty() && architecture.startsWith(QLatin1String("stable-diffusion"))) {
            type = architecture.endsWith(QLatin1String("-v")) ? QStringLiteral("v_prediction")
                                                              : QStringLiteral("epsilon");
            reason = QStringLiteral("metadata modelspec.architecture = %1").arg(architecture);
        }
        if (type.isEmpty() && h.find(QStringLiteral("v_pred"))) {
            type = QStringLiteral("v_prediction");
            reason = QStringLiteral("the file's v_pred marker tensor");
        }
        const QString lower = name.toLower();
        if (type.isEmpty()) {
            for (const char* hint : {"768-v", "v-pred", "vpred", "v_pred", "v-prediction"})
                if (lower.contains(QLatin1String(hint))) {
                    type = QStringLiteral("v_prediction");
                    reason = QStringLiteral("the file name (\"%1\")").arg(QLatin1String(hint));
                    break;
                }
        }
        const bool isSd2 = unet && sd2OpenClip;
        if (type.isEmpty() && isSd2 &&
            (lower.contains(QLatin1String("768")) || lower.contains(QLatin1String("512")))) {
            const bool v = lower.contains(QLatin1String("768"));
            type = v ? QStringLiteral("v_prediction") : QStringLiteral("epsilon");
            reason = QStringLiteral("the file name (\"%1\": the SD 2.x %1 models are %2)")
                         .arg(v ? QStringLiteral("768") : QStringLiteral("512"),
                              v ? QStringLiteral("v-prediction") : QStringLiteral("epsilon"));
        }
        if (type.isEmpty()) {
            type = isSd2 ? QStringLiteral("v_prediction") : QStringLiteral("epsilon");
            reason =
                isSd2 ? QStringLiteral("the SD 2.x default (nothing in the file says; most SD 2.x files are "
                                       "the 768-v models): pass the prediction type if images are noise")
                      : QStringLiteral("the default");
        }
        m_predictionType = type;
        m_predictionReason = reason;
    }

    if (sd3 || flux) {
        m_family = sd3 ? ModelFamily::SD3 : ModelFamily::Flux;
        m_predictionType = QStringLiteral("flow");
        m_predictionReason = QStringLiteral("flow matching (%1)").arg(familyName(m_family));
        return;
    }
    if (unet) {
        const qint64 context = crossAttentionDim(h);
        const std::vector<qint64> convIn = shapeOf(h, kUNet + QStringLiteral("input_blocks.0.0.weight"));
        const qint64 inChannels = convIn.size() == 4 ? convIn[1] : 0;
        if (sdxlClip && sdxlOpenClip)
            m_family = ModelFamily::SDXL;
        else if (refinerOpenClip && !sdxlClip)
            m_family = ModelFamily::SDXL, m_variant = QStringLiteral("refiner");
        else if (sd2OpenClip)
            m_family = ModelFamily::SD2;
        else if (sd1Clip)
            m_family = ModelFamily::SD1;
        else
            m_family = context == 768    ? ModelFamily::SD1
                       : context == 1024 ? ModelFamily::SD2
                       : context == 2048 ? ModelFamily::SDXL
                                         : ModelFamily::Unknown;

        if (m_variant == QLatin1String("refiner")) {
            m_problem = QStringLiteral("An SDXL refiner checkpoint: it refines the base model's images "
                                       "(image-to-image) and cannot make images from text on its own. Use an "
                                       "SDXL base checkpoint.");
        } else if (h.find(QStringLiteral("edm_mean")) && h.find(QStringLiteral("edm_std"))) {
            m_variant = QStringLiteral("EDM");
            m_problem = QStringLiteral("A Playground v2.5-style checkpoint (EDM sampling with its own latent "
                                       "mean and deviation), which TwistedPic does not run yet.");
        } else if (inChannels == 9) {
            m_variant = QStringLiteral("inpainting");
            m_problem =
                QStringLiteral("An inpainting checkpoint (its UNet takes 9 input channels: the latents, a "
                               "mask and the masked image). TwistedPic makes images from text only: use "
                               "the non-inpainting version of this model.");
        } else if (inChannels == 8) {
            m_variant = QStringLiteral("instruct-pix2pix");
            m_problem =
                QStringLiteral("An InstructPix2Pix checkpoint (its UNet takes 8 input channels: the "
                               "latents and an image to edit). TwistedPic makes images from text only.");
        } else if (!sd1Clip && !sd2OpenClip && !sdxlClip && !sdxlOpenClip && !refinerOpenClip) {
            m_variant = QStringLiteral("UNet only");
            m_problem =
                QStringLiteral("The file holds only a UNet (model.diffusion_model.), without the text "
                               "encoder and VAE it needs; TwistedPic loads complete checkpoints.");
        } else if (!vae) {
            m_variant = QStringLiteral("no VAE");
            m_problem = QStringLiteral("The checkpoint has no VAE (first_stage_model.), and a separate VAE "
                                       "file cannot be chosen yet; use a checkpoint with its VAE baked in.");
        }
        return;
    }

    // No UNet: a part of a model, a LoRA, or something else.
    m_family = ModelFamily::Unknown;
    if (anyContains(h, QStringLiteral("lora_down")) || anyContains(h, QStringLiteral("lora_up")) ||
        anyContains(h, QStringLiteral(".lora_A.")) || anyStartsWith(h, QStringLiteral("lora_unet_")) ||
        anyStartsWith(h, QStringLiteral("lora_te"))) {
        m_variant = QStringLiteral("LoRA");
        m_problem =
            QStringLiteral("A LoRA (an add-on to a base model), not a checkpoint; TwistedPic does not load "
                           "LoRAs yet.");
    } else if (vae ||
               (anyStartsWith(h, QStringLiteral("encoder.down.")) &&
                anyStartsWith(h, QStringLiteral("decoder.up."))) ||
               (anyStartsWith(h, QStringLiteral("encoder.down_blocks.")) &&
                anyStartsWith(h, QStringLiteral("decoder.up_blocks.")))) {
        m_variant = QStringLiteral("VAE only");
        m_problem =
            QStringLiteral("A VAE on its own (no UNet or text encoder), not a checkpoint; it goes with a "
                           "single-file SD 3.x or Flux model that lacks one (found beside it), and cannot "
                           "yet replace the VAE of SD 1.x/2.x/SDXL checkpoints.");
    } else if (anyContains(h, QStringLiteral("embeddings.token_embedding.weight")) ||
               anyStartsWith(h, QStringLiteral("encoder.block.0.layer.")) ||
               anyStartsWith(h, QStringLiteral("shared.weight")) ||
               anyStartsWith(h, QStringLiteral("token_embedding.weight"))) {
        m_variant = QStringLiteral("text encoder only");
        m_problem = QStringLiteral("A text encoder on its own (CLIP or T5), not a checkpoint; it is loaded "
                                   "together with a model that needs it.");
    } else if (anyStartsWith(h, QStringLiteral("down_blocks.")) ||
               anyStartsWith(h, QStringLiteral("unet.down_blocks."))) {
        m_variant = QStringLiteral("UNet only");
        m_problem =
            QStringLiteral("A UNet in diffusers layout on its own, not a checkpoint: use the diffusers "
                           "folder it belongs to.");
    } else {
        QStringList first;
        for (const TensorInfo& t : h.tensors) {
            if (first.size() == 3)
                break;
            first << t.name;
        }
        m_variant = QStringLiteral("unknown layout");
        m_problem =
            first.isEmpty()
                ? QStringLiteral("The file holds no tensors.")
                : QStringLiteral("Not a Stable Diffusion checkpoint TwistedPic knows: none of the key "
                                 "layouts of SD 1.x/2.x/SDXL/SD 3/Flux files (model.diffusion_model., "
                                 "first_stage_model., cond_stage_model., conditioner.embedders.) is "
                                 "there (first tensors: %1).")
                      .arg(first.join(QStringLiteral(", ")));
    }
}

void SingleFileCheckpoint::buildComponents(const SingleFileOptions& options) {
    if (m_family == ModelFamily::SD3 || m_family == ModelFamily::Flux) {
        buildDitComponents(options);
        return;
    }
    const Header& h = m_header;
    const QString vaePrefix = anyStartsWith(h, QStringLiteral("first_stage_model."))
                                  ? QStringLiteral("first_stage_model.")
                                  : QStringLiteral("vae.");
    const bool v = m_predictionType == QLatin1String("v_prediction");

    keymap::UNetHints unet;
    keymap::VaeHints vae;
    std::vector<std::pair<QString, Result<ComponentMapping>>> parts;
    qint64 textWidth = 0;
    switch (m_family) {
    case ModelFamily::SD1: {
        m_nativeSize = 512;
        unet.fixedHeads = 8;
        keymap::TextEncoderHints te;
        parts.emplace_back(QStringLiteral("text_encoder"), keymap::clipText(h, kSd1Clip, te));
        textWidth = keymap::textEncoderWidth(h, kSd1Clip);
        m_schedulerConfig = ldmSchedulerConfig(QStringLiteral("PNDMScheduler"), m_predictionType);
        break;
    }
    case ModelFamily::SD2: {
        m_nativeSize = v ? 768 : 512;
        unet.upcastAttention = v; // stable-diffusion-2-1's config (fp16 attention overflows otherwise)
        keymap::TextEncoderHints te;
        te.hiddenAct = QStringLiteral("gelu");
        te.dropLastLayers = 1; // SD 2.x conditions on the penultimate layer
        parts.emplace_back(QStringLiteral("text_encoder"), keymap::openClipText(h, kSd2OpenClip, te));
        textWidth = keymap::textEncoderWidth(h, kSd2OpenClip);
        m_schedulerConfig = ldmSchedulerConfig(QStringLiteral("DDIMScheduler"), m_predictionType);
        break;
    }
    case ModelFamily::SDXL: {
        m_nativeSize = 1024;
        vae.scalingFactor = 0.13025;
        keymap::TextEncoderHints clip;
        keymap::TextEncoderHints bigG;
        bigG.hiddenAct = QStringLiteral("gelu");
        bigG.withProjection = true;
        parts.emplace_back(QStringLiteral("text_encoder"), keymap::clipText(h, kSdxlClip, clip));
        parts.emplace_back(QStringLiteral("text_encoder_2"), keymap::openClipText(h, kSdxlOpenClip, bigG));
        textWidth = keymap::textEncoderWidth(h, kSdxlClip) + keymap::textEncoderWidth(h, kSdxlOpenClip);
        unet.pooledTextDim = keymap::textProjectionWidth(h, kSdxlOpenClip);
        m_schedulerConfig = sdxlSchedulerConfig(m_predictionType);
        if (h.find(QStringLiteral("ztsnr"))) { // NoobAI-style marker: trained with zero terminal SNR
            m_schedulerConfig.insert(QStringLiteral("rescale_betas_zero_snr"), true);
            m_notes << QStringLiteral("the file's ztsnr marker: zero terminal SNR (rescale_betas_zero_snr)");
        }
        break;
    }
    default:
        m_problem = QStringLiteral("%1 models are not supported yet.").arg(familyName(m_family));
        return;
    }
    unet.sampleSize = m_nativeSize / 8;
    vae.sampleSize = m_nativeSize;
    parts.emplace_back(QStringLiteral("unet"), keymap::ldmUNet(h, kUNet, unet));
    parts.emplace_back(QStringLiteral("vae"), keymap::ldmVae(h, vaePrefix, vae));

    if (!takeParts(parts))
        return;
    m_notes << QStringLiteral("prediction type %1: %2").arg(m_predictionType, m_predictionReason);

    // The parts must fit each other.
    const QJsonObject unetConfig = mapping(QStringLiteral("unet"))->config;
    const QJsonObject vaeConfig = mapping(QStringLiteral("vae"))->config;
    const qint64 context = unetConfig.value(QStringLiteral("cross_attention_dim")).toInteger();
    if (textWidth != context)
        contradiction(
            m_family == ModelFamily::SDXL
                ? QStringLiteral("the text encoders are %1 wide together but the UNet's cross-attention "
                                 "takes %2")
                      .arg(textWidth)
                      .arg(context)
                : QStringLiteral("the text encoder is %1 wide but the UNet's cross-attention takes %2")
                      .arg(textWidth)
                      .arg(context));
    const qint64 latent = vaeConfig.value(QStringLiteral("latent_channels")).toInteger();
    const qint64 in = unetConfig.value(QStringLiteral("in_channels")).toInteger();
    const qint64 out = unetConfig.value(QStringLiteral("out_channels")).toInteger();
    if (latent != in || latent != out)
        contradiction(QStringLiteral("the VAE has %1 latent channels but the UNet takes %2 and gives %3")
                          .arg(latent)
                          .arg(in)
                          .arg(out));
    if (!m_problem.isEmpty())
        m_components.clear();
}

namespace {

// CLIP-G's pooled projection, and CLIP-L's (its own, or the identity SAI's files imply).
qint64 pooledWidth(const CompanionFile& c) {
    return c.kind == CompanionKind::ClipG || c.projection > 0 ? c.projection : c.width;
}

// How well a VAE file's name fits the family: 0 names it, 1 says nothing, -1 names the other family.
// SD 3's and Flux's VAEs have the same shapes; only the name can tell them apart.
int vaeNameRank(const CompanionFile& c, bool sd3) {
    const QString name = QFileInfo(c.path).completeBaseName().toLower();
    const bool flux = name == QLatin1String("ae") || name.contains(QLatin1String("flux"));
    const bool sd3Name = name.contains(QLatin1String("sd3")) || name.contains(QLatin1String("sd_3")) ||
                         name.contains(QLatin1String("sd3.5")) || name.contains(QLatin1String("sd35"));
    if (sd3 ? sd3Name : flux)
        return 0;
    return (sd3 ? flux : sd3Name) ? -1 : 1;
}

// The first of `files` that `fits`, those whose rank is lowest first (a negative rank: never).
template <typename Fits, typename Rank>
std::optional<CompanionFile> bestCompanion(const std::vector<CompanionFile>& files, Fits fits, Rank rank) {
    const CompanionFile* best = nullptr;
    int bestRank = 0;
    for (const CompanionFile& c : files) {
        if (!fits(c))
            continue;
        const int r = rank(c);
        if (r >= 0 && (!best || r < bestRank)) {
            best = &c;
            bestRank = r;
        }
    }
    return best ? std::optional<CompanionFile>(*best) : std::nullopt;
}

} // namespace

void SingleFileCheckpoint::buildDitComponents(const SingleFileOptions& options) {
    const Header& h = m_header;
    const bool sd3 = m_family == ModelFamily::SD3;
    const QString prefix =
        anyStartsWith(h, kUNet + (sd3 ? QStringLiteral("joint_blocks.") : QStringLiteral("double_blocks.")))
            ? kUNet
            : QString();
    // The VAE: first_stage_model. (SAI), vae. (ComfyUI), or none (BFL's ae.safetensors is separate).
    QString vaePrefix;
    bool fileVae = true;
    if (anyStartsWith(h, QStringLiteral("first_stage_model.encoder.")))
        vaePrefix = QStringLiteral("first_stage_model.");
    else if (anyStartsWith(h, QStringLiteral("vae.encoder.")))
        vaePrefix = QStringLiteral("vae.");
    else
        fileVae = false;
    const QString clipL = kSd3Clip + QStringLiteral("clip_l.transformer.");
    const QString clipG = kSd3Clip + QStringLiteral("clip_g.transformer.");
    const QString t5 = kSd3Clip + QStringLiteral("t5xxl.transformer.");
    const bool fileClipL = anyStartsWith(h, clipL), fileClipG = anyStartsWith(h, clipG),
               fileT5 = anyStartsWith(h, t5);
    m_nativeSize = 1024;

    // The transformer first: the other parts must fit it.
    Result<ComponentMapping> transformerMap =
        sd3 ? keymap::sd3Transformer(h, prefix) : keymap::fluxTransformer(h, prefix);
    if (!transformerMap) {
        m_problem = transformerMap.error();
        return;
    }
    const QJsonObject transformer = transformerMap->config;
    const qint64 pooled = transformer.value(QStringLiteral("pooled_projection_dim")).toInteger();
    const qint64 joint = transformer.value(QStringLiteral("joint_attention_dim")).toInteger();
    const qint64 in = transformer.value(QStringLiteral("in_channels")).toInteger();
    // Flux packs 2×2 latent patches into its 64 input channels; SD 3 patches inside the model.
    const qint64 latentChannels = sd3 ? in : in / 4;

    // Companion files: those the caller names take their roles outright (a misfit is reported
    // below); those found beside the checkpoint fill what is still missing, where they fit.
    std::optional<CompanionFile> compL, compG, compT5, compVae;
    std::vector<CompanionFile> givenClips;
    const QStringList givenPaths =
        options.textEncoderFiles + (options.vaeFile.isEmpty() ? QStringList() : QStringList{options.vaeFile});
    for (int i = 0; i < givenPaths.size(); ++i) {
        const QString& path = givenPaths[i];
        const bool asVae = i >= options.textEncoderFiles.size();
        const QString what = asVae ? QStringLiteral("VAE") : QStringLiteral("text encoder");
        if (!QFileInfo(path).isFile()) {
            m_problem = QStringLiteral("The %1 file %2 does not exist.").arg(what, path);
            return;
        }
        Result<std::optional<CompanionFile>> c = identifyCompanionFile(path);
        if (!c) {
            m_problem = c.error();
            return;
        }
        if (!*c) {
            m_problem = QStringLiteral("%1 is not a text encoder (CLIP-L, CLIP-G, T5-XXL) or VAE file that "
                                       "TwistedPic knows, so it cannot be the %2 of %3.")
                            .arg(QFileInfo(path).fileName(), what, QFileInfo(m_path).fileName());
            return;
        }
        const CompanionFile& f = **c;
        if (asVae != (f.kind == CompanionKind::Vae)) {
            m_problem = asVae ? QStringLiteral("%1 is a %2 text encoder, not a VAE.")
                                    .arg(f.fileName(), companionKindName(f.kind))
                              : QStringLiteral("%1 is a VAE, not a text encoder: give it as the VAE.")
                                    .arg(f.fileName());
            return;
        }
        if (f.kind == CompanionKind::Vae)
            compVae = f;
        else if (f.kind == CompanionKind::T5)
            compT5 = f;
        else
            givenClips.push_back(f);
    }
    // Given CLIPs: CLIP-L and CLIP-G by kind; those the width cannot tell fill what remains,
    // the narrower first (CLIP-L is the narrower of the two).
    std::stable_sort(givenClips.begin(), givenClips.end(),
                     [](const CompanionFile& a, const CompanionFile& b) { return a.width < b.width; });
    std::vector<CompanionFile> unknownClips;
    for (const CompanionFile& c : givenClips) {
        if (c.kind == CompanionKind::ClipL && !compL)
            compL = c;
        else if (c.kind == CompanionKind::ClipG && sd3 && !compG)
            compG = c;
        else
            unknownClips.push_back(c);
    }
    for (const CompanionFile& c : unknownClips) {
        if (c.kind == CompanionKind::Clip && !compL)
            compL = c;
        else if (c.kind == CompanionKind::Clip && sd3 && !compG)
            compG = c;
        else {
            m_problem = QStringLiteral("%1 (%2) is not used: %3 models take %4.")
                            .arg(c.fileName(), companionKindName(c.kind), familyName(m_family),
                                 sd3 ? QStringLiteral("one CLIP-L, one CLIP-G and one T5-XXL")
                                     : QStringLiteral("one CLIP-L and one T5-XXL"));
            return;
        }
    }

    const bool lacking = !(compL || fileClipL) || (sd3 && !(compG || fileClipG)) || !(compT5 || fileT5) ||
                         !(compVae || fileVae);
    if (options.findCompanions && lacking) {
        const std::vector<CompanionFile> found = findCompanions(m_path);
        // Names that say which CLIP it is rank before the others.
        const auto clipRank = [](CompanionKind preferred) {
            return [preferred](const CompanionFile& c) { return c.kind == preferred ? 0 : 1; };
        };
        if (sd3 && (!(compL || fileClipL) || !(compG || fileClipG))) {
            // The two CLIPs' projections together make the pooled vector.
            const qint64 fixedL = compL       ? pooledWidth(*compL)
                                  : fileClipL ? (keymap::textProjectionWidth(h, clipL) > 0
                                                     ? keymap::textProjectionWidth(h, clipL)
                                                     : keymap::textEncoderWidth(h, clipL))
                                              : -1;
            const qint64 fixedG = compG       ? compG->projection
                                  : fileClipG ? keymap::textProjectionWidth(h, clipG)
                                              : -1;
            const auto isL = [](const CompanionFile& c) {
                return c.kind == CompanionKind::ClipL || c.kind == CompanionKind::Clip;
            };
            const auto isG = [](const CompanionFile& c) {
                return (c.kind == CompanionKind::ClipG || c.kind == CompanionKind::Clip) && c.projection > 0;
            };
            if (fixedL < 0 && fixedG < 0) {
                for (int rank = 0; rank <= 2 && !compL; ++rank)
                    for (const CompanionFile& l : found)
                        for (const CompanionFile& g : found)
                            if (!compL && isL(l) && isG(g) && l.path != g.path &&
                                (l.kind == CompanionKind::ClipL ? 0 : 1) +
                                        (g.kind == CompanionKind::ClipG ? 0 : 1) ==
                                    rank &&
                                pooledWidth(l) + g.projection == pooled) {
                                compL = l;
                                compG = g;
                            }
            } else if (fixedL < 0) {
                compL = bestCompanion(
                    found,
                    [&](const CompanionFile& c) { return isL(c) && pooledWidth(c) + fixedG == pooled; },
                    clipRank(CompanionKind::ClipL));
            } else if (fixedG < 0) {
                compG = bestCompanion(
                    found, [&](const CompanionFile& c) { return isG(c) && fixedL + c.projection == pooled; },
                    clipRank(CompanionKind::ClipG));
            }
        } else if (!sd3 && !(compL || fileClipL)) {
            // Flux pools CLIP-L's output as it is: its width is the pooled vector's.
            compL = bestCompanion(
                found,
                [&](const CompanionFile& c) {
                    return c.isClip() && c.kind != CompanionKind::ClipG && c.width == pooled;
                },
                clipRank(CompanionKind::ClipL));
        }
        if (!(compT5 || fileT5))
            compT5 = bestCompanion(
                found,
                [&](const CompanionFile& c) { return c.kind == CompanionKind::T5 && c.width == joint; },
                [](const CompanionFile& c) { return c.fp8 ? 1 : 0; }); // fp16 before fp8, as it is
        if (!(compVae || fileVae)) {
            int candidates = 0;
            compVae = bestCompanion(
                found,
                [&](const CompanionFile& c) {
                    const bool fits = c.kind == CompanionKind::Vae && c.width == latentChannels;
                    candidates += fits && vaeNameRank(c, sd3) >= 0;
                    return fits;
                },
                [&](const CompanionFile& c) { return vaeNameRank(c, sd3); });
            if (compVae && candidates > 1 && vaeNameRank(*compVae, sd3) > 0)
                m_notes << QStringLiteral("%1 VAE files fit; using %2 (name the VAE file to choose another)")
                               .arg(candidates)
                               .arg(compVae->path);
        }
    }
    const bool hasClipL = compL || fileClipL, hasClipG = sd3 && (compG || fileClipG),
               hasT5 = compT5 || fileT5, vae = compVae || fileVae;

    std::vector<std::pair<QString, Result<ComponentMapping>>> parts;
    keymap::TextEncoderHints l;
    l.withProjection = sd3; // SD 3 pools both CLIPs' projections; Flux uses CLIP-L's pooled output as it is
    l.identityProjectionIfMissing = true;
    keymap::TextEncoderHints g;
    g.hiddenAct = QStringLiteral("gelu");
    g.withProjection = true;
    keymap::VaeHints v;
    v.scalingFactor = sd3 ? 1.5305 : 0.3611;
    v.shiftFactor = sd3 ? 0.0609 : 0.1159;
    v.sampleSize = m_nativeSize;
    const auto fromCompanion = [&](const QString& component, const CompanionFile& c) {
        const keymap::TextEncoderHints& hints = component == QLatin1String("text_encoder") ? l : g;
        Result<ComponentMapping> m = c.kind == CompanionKind::T5    ? keymap::t5Encoder(*c.header, c.prefix)
                                     : c.kind == CompanionKind::Vae ? keymap::ldmVae(*c.header, c.prefix, v)
                                     : c.openClip ? keymap::openClipText(*c.header, c.prefix, hints)
                                                  : keymap::clipText(*c.header, c.prefix, hints);
        if (!m)
            return Result<ComponentMapping>::fail(QStringLiteral("%1: %2").arg(c.fileName(), m.error()));
        m->file = c.path;
        if (!m->configProblem.isEmpty()) // the mappers name the prefix, which is empty here: name the file
            m->configProblem =
                c.fileName() +
                (m->configProblem.startsWith(QLatin1String(": ")) ? QString() : QStringLiteral(": ")) +
                m->configProblem;
        const bool given = std::any_of(givenPaths.begin(), givenPaths.end(), [&](const QString& p) {
            return QFileInfo(p).absoluteFilePath() == c.path;
        });
        m_companions.push_back({component, c.path, c.kind, given});
        return m;
    };
    const QString t5Component = sd3 ? QStringLiteral("text_encoder_3") : QStringLiteral("text_encoder_2");
    if (compL)
        parts.emplace_back(QStringLiteral("text_encoder"),
                           fromCompanion(QStringLiteral("text_encoder"), *compL));
    else if (fileClipL)
        parts.emplace_back(QStringLiteral("text_encoder"), keymap::clipText(h, clipL, l));
    if (sd3 && compG)
        parts.emplace_back(QStringLiteral("text_encoder_2"),
                           fromCompanion(QStringLiteral("text_encoder_2"), *compG));
    else if (sd3 && fileClipG)
        parts.emplace_back(QStringLiteral("text_encoder_2"), keymap::clipText(h, clipG, g));
    if (compT5)
        parts.emplace_back(t5Component, fromCompanion(t5Component, *compT5));
    else if (fileT5)
        parts.emplace_back(t5Component, keymap::t5Encoder(h, t5));
    parts.emplace_back(QStringLiteral("transformer"), std::move(transformerMap));
    if (compVae)
        parts.emplace_back(QStringLiteral("vae"), fromCompanion(QStringLiteral("vae"), *compVae));
    else if (fileVae)
        parts.emplace_back(QStringLiteral("vae"), keymap::ldmVae(h, vaePrefix, v));
    if (!takeParts(parts)) {
        m_companions.clear();
        return;
    }

    if (sd3) {
        m_schedulerConfig = {
            {QStringLiteral("_class_name"), QStringLiteral("FlowMatchEulerDiscreteScheduler")},
            {QStringLiteral("num_train_timesteps"), 1000},
            {QStringLiteral("shift"), 3.0}};
    } else {
        const bool dev = transformer.value(QStringLiteral("guidance_embeds")).toBool();
        // FLUX.1-dev's scheduler config (dynamic shifting by image size); schnell: shift 1, none.
        m_schedulerConfig = {
            {QStringLiteral("_class_name"), QStringLiteral("FlowMatchEulerDiscreteScheduler")},
            {QStringLiteral("base_image_seq_len"), 256},
            {QStringLiteral("base_shift"), 0.5},
            {QStringLiteral("max_image_seq_len"), 4096},
            {QStringLiteral("max_shift"), 1.15},
            {QStringLiteral("num_train_timesteps"), 1000},
            {QStringLiteral("shift"), dev ? 3.0 : 1.0},
            {QStringLiteral("use_dynamic_shifting"), dev}};
    }

    // The parts must fit each other. A misfit that involves a companion file names it.
    const auto misfit = [&](const QString& detail, const QStringList& components) {
        QStringList files;
        for (const CompanionUse& c : m_companions)
            if (components.contains(c.component))
                files << QFileInfo(c.path).fileName();
        if (files.isEmpty())
            return contradiction(detail);
        if (m_problem.isEmpty())
            m_problem = QStringLiteral("%1 does not fit %2: %3. Use the %4 files of the same model.")
                            .arg(files.join(QStringLiteral(", ")), QFileInfo(m_path).fileName(), detail,
                                 familyName(m_family));
    };
    if (hasClipL && (!sd3 || hasClipG)) {
        const qint64 pooledText =
            sd3 ? config(QStringLiteral("text_encoder"))
                          ->value(QStringLiteral("projection_dim"))
                          .toInteger() +
                      config(QStringLiteral("text_encoder_2"))
                          ->value(QStringLiteral("projection_dim"))
                          .toInteger()
                : config(QStringLiteral("text_encoder"))->value(QStringLiteral("hidden_size")).toInteger();
        if (pooledText != pooled)
            misfit(QStringLiteral("the pooled text is %1 wide but the transformer takes %2")
                       .arg(pooledText)
                       .arg(pooled),
                   {QStringLiteral("text_encoder"), QStringLiteral("text_encoder_2")});
    }
    if (hasT5) {
        const qint64 width = config(t5Component)->value(QStringLiteral("d_model")).toInteger();
        if (width != joint)
            misfit(
                QStringLiteral("T5 is %1 wide but the transformer's context takes %2").arg(width).arg(joint),
                {t5Component});
    }
    if (vae) {
        const qint64 latent =
            config(QStringLiteral("vae"))->value(QStringLiteral("latent_channels")).toInteger();
        const qint64 patch = transformer.value(QStringLiteral("patch_size")).toInteger();
        if (latent != latentChannels || patch <= 0)
            misfit(QStringLiteral("the VAE has %1 latent channels but the transformer takes %2")
                       .arg(latent)
                       .arg(in),
                   {QStringLiteral("vae")});
    }
    if (!m_problem.isEmpty()) {
        m_components.clear();
        m_companions.clear();
        return;
    }

    // What the file itself holds.
    const bool fileComplete = fileClipL && (!sd3 || fileClipG) && fileVae;
    if (!fileClipL && !fileClipG && !fileT5 && !fileVae)
        m_variant = QStringLiteral("transformer only");
    else if (!fileComplete || (!sd3 && !fileT5))
        m_variant = QStringLiteral("partial");

    QStringList missing;
    if (!hasClipL)
        missing << QStringLiteral("CLIP-L (clip_l.safetensors)");
    if (sd3 && !hasClipG)
        missing << QStringLiteral("CLIP-G (clip_g.safetensors)");
    if (!hasT5)
        missing << QStringLiteral("T5-XXL (t5xxl_fp16.safetensors or t5xxl_fp8_e4m3fn.safetensors)");
    if (!vae)
        missing << (sd3 ? QStringLiteral("the SD 3 VAE") : QStringLiteral("the VAE (ae.safetensors)"));
    if (sd3 && missing.size() == 1 && !hasT5) {
        // SD 3 runs without T5 (zeros stand in for its tokens), as diffusers allows.
        m_notes << QStringLiteral("no T5-XXL in the file or beside it: SD 3 runs without it (zeros for its "
                                  "tokens); to use it, %1")
                       .arg(whereCompanionsGo(false, true)
                                .replace(QStringLiteral("the text encoders"),
                                         QStringLiteral("t5xxl_fp16.safetensors")));
    } else if (!missing.isEmpty()) {
        for (const QString& m : missing)
            m_missingParts << (m.startsWith(QLatin1String("the ")) ? QStringLiteral("VAE")
                                                                   : m.section(QLatin1Char(' '), 0, 0));
        QStringList held;
        if (fileClipL)
            held << QStringLiteral("CLIP-L");
        if (fileClipG)
            held << QStringLiteral("CLIP-G");
        if (fileT5)
            held << QStringLiteral("T5-XXL");
        if (fileVae)
            held << QStringLiteral("the VAE");
        const QString what = QStringLiteral("the %1 transformer").arg(familyName(m_family));
        const auto andJoined = [](QStringList items) {
            const QString last = items.takeLast();
            return items.isEmpty() ? last : items.join(QStringLiteral(", ")) + QStringLiteral(" and ") + last;
        };
        m_problem = QStringLiteral("%1 holds %2 %3, which come as separate files: %4 (TwistedPic recognises "
                                   "them by their contents).")
                        .arg(QFileInfo(m_path).fileName(),
                             held.isEmpty() ? QString(QStringLiteral("only ") + what + QLatin1Char(','))
                                            : QString(what + QStringLiteral(" and ") + andJoined(held)),
                             (held.isEmpty() ? QStringLiteral("not ") : QStringLiteral("but not ")) +
                                 andJoined(missing),
                             whereCompanionsGo(!vae, !hasClipL || (sd3 && !hasClipG) || !hasT5));
    }
    for (const CompanionUse& c : m_companions)
        m_notes << QStringLiteral("%1 from %2").arg(c.component, c.path);
}

QString SingleFileCheckpoint::whereCompanionsGo(bool vae, bool text) const {
    const QDir own = QFileInfo(m_path).absoluteDir();
    QDir parent = own;
    const bool hasParent = parent.cdUp();
    const QStringList folders = companionFolders(m_path);
    // The sibling folder that exists, else the one ComfyUI would have.
    const auto sibling = [&](std::initializer_list<const char*> names) {
        for (const char* name : names)
            for (const QString& f : folders.mid(1))
                if (QFileInfo(f).fileName().compare(QLatin1String(name), Qt::CaseInsensitive) == 0)
                    return f;
        return hasParent ? parent.filePath(QLatin1String(*names.begin())) : own.absolutePath();
    };
    const QString textFolder = sibling({"text_encoders", "clip", "text_encoder"});
    const QString vaeFolder = sibling({"vae"});
    if (vae && text)
        return QStringLiteral("put the VAE in %1 and the text encoders in %2, or both next to the file")
            .arg(vaeFolder, textFolder);
    if (vae)
        return QStringLiteral("put the VAE in %1 or next to the file").arg(vaeFolder);
    return QStringLiteral("put the text encoders in %1 or next to the file").arg(textFolder);
}

bool SingleFileCheckpoint::takeParts(std::vector<std::pair<QString, Result<ComponentMapping>>>& parts) {
    for (auto& [component, mapping] : parts) {
        if (!mapping) {
            m_problem = mapping.error();
            m_components.clear();
            return false;
        }
        mapping->component = component;
        if (!mapping->ignored.isEmpty())
            m_notes << QStringLiteral("%1: %2 tensors under %3 are not used (%4%5)")
                           .arg(component)
                           .arg(mapping->ignored.size())
                           .arg(mapping->prefix, mapping->ignored.mid(0, 3).join(QStringLiteral(", ")),
                                mapping->ignored.size() > 3 ? QStringLiteral(", …") : QString());
        m_components.push_back(std::move(*mapping));
    }
    return true;
}

void SingleFileCheckpoint::applyConfigFolder(const QString& folder) {
    const QDir dir(folder);
    for (ComponentMapping& c : m_components) {
        const QString path = dir.filePath(c.component + QStringLiteral("/config.json"));
        if (!QFileInfo::exists(path))
            continue;
        Result<QJsonObject> config = readJsonObject(path);
        if (!config) {
            m_problem = config.error();
            m_components.clear();
            return;
        }
        c.config = *config;
        c.configProblem.clear();
    }
    const QString scheduler = dir.filePath(QStringLiteral("scheduler/scheduler_config.json"));
    if (QFileInfo::exists(scheduler)) {
        Result<QJsonObject> config = readJsonObject(scheduler);
        if (!config) {
            m_problem = config.error();
            m_components.clear();
            return;
        }
        m_schedulerConfig = *config;
    }
    if (QFileInfo::exists(dir.filePath(QStringLiteral("model_index.json")))) {
        Result<QJsonObject> index = readJsonObject(dir.filePath(QStringLiteral("model_index.json")));
        if (!index) {
            m_problem = index.error();
            m_components.clear();
            return;
        }
        m_modelIndex = *index;
    }
    for (const QString& t :
         {QStringLiteral("tokenizer"), QStringLiteral("tokenizer_2"), QStringLiteral("tokenizer_3")})
        if (QFileInfo(dir.filePath(t)).isDir())
            m_tokenizers.push_back({t, dir.filePath(t), QString()});
    const QJsonObject denoiser =
        mapping(components().contains(QStringLiteral("unet")) ? QStringLiteral("unet")
                                                              : QStringLiteral("transformer"))
            .valueOr({})
            .config;
    const QJsonObject vae = mapping(QStringLiteral("vae")).valueOr({}).config;
    const int sample = denoiser.value(QStringLiteral("sample_size")).toInt();
    const int levels = int(vae.value(QStringLiteral("block_out_channels")).toArray().size());
    if (sample > 0 && levels > 0)
        m_nativeSize = sample << (levels - 1);
    m_notes << QStringLiteral("configs from %1").arg(folder);
}

QString SingleFileCheckpoint::pipelineClass() const {
    switch (m_family) {
    case ModelFamily::SD1:
    case ModelFamily::SD2:
        return QStringLiteral("StableDiffusionPipeline");
    case ModelFamily::SDXL:
        return QStringLiteral("StableDiffusionXLPipeline");
    case ModelFamily::SD3:
        return QStringLiteral("StableDiffusion3Pipeline");
    case ModelFamily::Flux:
        return QStringLiteral("FluxPipeline");
    case ModelFamily::Unknown:
        break;
    }
    return {};
}

QJsonObject SingleFileCheckpoint::modelIndex() const {
    if (!m_modelIndex.isEmpty())
        return m_modelIndex;
    QJsonObject index{{QStringLiteral("_class_name"), pipelineClass()}};
    for (const ComponentMapping& c : m_components) {
        const QJsonArray architectures = c.config.value(QStringLiteral("architectures")).toArray();
        const bool transformers = !architectures.isEmpty();
        const QString cls = transformers ? architectures.first().toString()
                                         : c.config.value(QStringLiteral("_class_name")).toString();
        index.insert(
            c.component,
            QJsonArray{transformers ? QStringLiteral("transformers") : QStringLiteral("diffusers"), cls});
        if (c.component.startsWith(QLatin1String("text_encoder"))) {
            const bool t5 = c.config.value(QStringLiteral("model_type")).toString() == QLatin1String("t5");
            index.insert(
                QString(c.component).replace(QStringLiteral("text_encoder"), QStringLiteral("tokenizer")),
                QJsonArray{QStringLiteral("transformers"),
                           t5 ? QStringLiteral("T5TokenizerFast") : QStringLiteral("CLIPTokenizer")});
        }
    }
    if (!m_components.empty())
        index.insert(
            QStringLiteral("scheduler"),
            QJsonArray{QStringLiteral("diffusers"), m_schedulerConfig.value(QStringLiteral("_class_name"))});
    if (m_family == ModelFamily::SDXL)
        index.insert(QStringLiteral("force_zeros_for_empty_prompt"), true);
    return index;
}

QStringList SingleFileCheckpoint::companionFiles() const {
    QStringList out;
    for (const CompanionUse& c : m_companions)
        if (!out.contains(c.path))
            out << c.path;
    return out;
}

qint64 SingleFileCheckpoint::totalSize() const {
    qint64 sum = m_fileSize;
    for (const QString& f : companionFiles())
        sum += std::max<qint64>(0, QFileInfo(f).size());
    return sum;
}

QStringList SingleFileCheckpoint::components() const {
    QStringList out;
    for (const ComponentMapping& c : m_components)
        out << c.component;
    return out;
}

Result<ComponentMapping> SingleFileCheckpoint::mapping(const QString& component) const {
    using R = Result<ComponentMapping>;
    if (m_components.empty())
        return R::fail(QStringLiteral("%1: %2").arg(QFileInfo(m_path).fileName(), m_problem));
    for (const ComponentMapping& c : m_components)
        if (c.component == component)
            return R::ok(c);
    return R::fail(
        QStringLiteral("%1 has no %2 (it holds %3).")
            .arg(QFileInfo(m_path).fileName(), component, components().join(QStringLiteral(", "))));
}

Result<QJsonObject> SingleFileCheckpoint::config(const QString& component) const {
    Result<ComponentMapping> m = mapping(component);
    if (!m)
        return Result<QJsonObject>::fail(m.error());
    return Result<QJsonObject>::ok(m->config);
}

Result<std::vector<TokenizerChoice>> SingleFileCheckpoint::tokenizers() const {
    using R = Result<std::vector<TokenizerChoice>>;
    if (m_components.empty())
        return R::fail(QStringLiteral("%1: %2").arg(QFileInfo(m_path).fileName(), m_problem));
    std::vector<TokenizerChoice> out;
    for (const ComponentMapping& c : m_components) {
        if (!c.component.startsWith(QLatin1String("text_encoder")))
            continue;
        const QString name =
            QString(c.component).replace(QStringLiteral("text_encoder"), QStringLiteral("tokenizer"));
        const auto own = std::find_if(m_tokenizers.begin(), m_tokenizers.end(),
                                      [&](const TokenizerChoice& t) { return t.component == name; });
        if (own != m_tokenizers.end()) {
            out.push_back(*own);
            continue;
        }
        // T5 uses its SentencePiece model; CLIP text encoders CLIP's BPE vocabulary, which
        // OpenCLIP ones (gelu: SD 2.x's, SDXL's and SD 3's second) pad with "!" (id 0).
        const bool t5 = c.config.value(QStringLiteral("model_type")).toString() == QLatin1String("t5");
        const QString kind = t5 ? QStringLiteral("t5") : QStringLiteral("clip");
        const QString folder = paths::bundledTokenizerDir(kind);
        if (folder.isEmpty())
            return R::fail(
                QStringLiteral("The %1 tokenizer that comes with TwistedPic is missing (looked in %2); "
                               "single-file checkpoints need it. Reinstall TwistedPic.")
                    .arg(t5 ? QStringLiteral("T5") : QStringLiteral("CLIP"),
                         paths::bundledTokenizerDirs().join(QStringLiteral(", "))));
        const bool openClip =
            !t5 && c.config.value(QStringLiteral("hidden_act")).toString() == QLatin1String("gelu");
        out.push_back({name, folder, openClip ? QStringLiteral("!") : QString()});
    }
    return R::ok(std::move(out));
}

} // namespace tp::io
