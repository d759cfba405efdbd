#include "core/io/ModelFolder.h"

#include "core/common/Json.h"
#include "core/io/SafeTensorsIndex.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

#include <algorithm>

namespace tp::io {

namespace {

// Components a pipeline runs without (diffusers' optional components).
const QStringList kOptionalComponents{QStringLiteral("safety_checker"), QStringLiteral("feature_extractor"),
                                      QStringLiteral("image_encoder")};

// Classes that carry no weights.
bool isWeightless(const QString& className) {
    static const char* const suffixes[] = {"Tokenizer",      "TokenizerFast",    "Scheduler",
                                           "ImageProcessor", "FeatureExtractor", "Processor"};
    for (const char* s : suffixes)
        if (className.endsWith(QLatin1String(s)))
            return true;
    return false;
}

bool isPickleWeight(const QString& fileName) {
    for (const char* ext : {".bin", ".ckpt", ".pt", ".pth", ".pkl"})
        if (fileName.endsWith(QLatin1String(ext)))
            return true;
    return false;
}

// A symbolic link whose target is gone (an interrupted Hugging Face download).
bool isDanglingLink(const QString& path) {
    const QFileInfo fi(path);
    return fi.isSymLink() && !fi.exists();
}

struct WeightChoice {
    QString weightsPath;
    QStringList files;
    bool fp16 = false;
};

// Picks a component's weights the way diffusers does: without a variant the plain files
// (single, then sharded), with the fp16 variant its files; the other kind is the fallback.
Result<WeightChoice> chooseWeights(const QString& dir, const QString& rel, bool preferFp16) {
    using R = Result<WeightChoice>;
    const QDir d(dir);
    const QStringList plainSingle{QStringLiteral("diffusion_pytorch_model.safetensors"),
                                  QStringLiteral("model.safetensors")};
    const QStringList plainSharded{QStringLiteral("diffusion_pytorch_model.safetensors.index.json"),
                                   QStringLiteral("model.safetensors.index.json")};
    const QStringList fp16Single{QStringLiteral("diffusion_pytorch_model.fp16.safetensors"),
                                 QStringLiteral("model.fp16.safetensors")};
    const QStringList fp16Sharded{QStringLiteral("diffusion_pytorch_model.safetensors.index.fp16.json"),
                                  QStringLiteral("model.safetensors.index.fp16.json"),
                                  QStringLiteral("diffusion_pytorch_model.fp16.safetensors.index.json"),
                                  QStringLiteral("model.fp16.safetensors.index.json")};
    std::vector<std::pair<QStringList, bool>> order;
    if (preferFp16)
        order = {{fp16Single, true}, {fp16Sharded, true}, {plainSingle, false}, {plainSharded, false}};
    else
        order = {{plainSingle, false}, {plainSharded, false}, {fp16Single, true}, {fp16Sharded, true}};

    for (const auto& [names, fp16] : order) {
        for (const QString& name : names) {
            const QString path = d.filePath(name);
            if (isDanglingLink(path))
                return R::fail(QStringLiteral("%1/%2 is a link to a file that does not exist (an interrupted "
                                              "download?). Download the model again.")
                                   .arg(rel, name));
            if (!QFileInfo(path).isFile())
                continue;
            WeightChoice c;
            c.weightsPath = path;
            c.fp16 = fp16;
            if (isShardIndexFileName(name)) {
                Result<ShardIndex> index = readShardIndex(path);
                if (!index)
                    return R::fail(index.error());
                for (const QString& shard : index->shards) {
                    if (!QFileInfo(shard).isFile())
                        return R::fail(
                            QStringLiteral("%1/%2 names the shard %3, which is missing. Download the "
                                           "model again.")
                                .arg(rel, name, QFileInfo(shard).fileName()));
                }
                c.files = index->shards;
            } else {
                c.files = QStringList{path};
            }
            return R::ok(std::move(c));
        }
    }

    const QStringList all = d.entryList(QDir::Files | QDir::System | QDir::NoDotAndDotDot, QDir::Name);
    QStringList pickles;
    for (const QString& f : all)
        if (isPickleWeight(f))
            pickles << f;
    if (!pickles.isEmpty())
        return R::fail(
            QStringLiteral("%1/ has only PyTorch pickle weights (%2). PyTorch pickle weights are not "
                           "loaded for safety; convert to safetensors.")
                .arg(rel, pickles.join(QStringLiteral(", "))));
    return R::fail(QStringLiteral("%1/ has no weights (expected diffusion_pytorch_model.safetensors, "
                                  "model.safetensors, an fp16 variant or a *.safetensors.index.json).")
                       .arg(rel));
}

} // namespace

ModelFamily detectFamily(const QString& cls, const QJsonObject& unet, const QJsonObject& textEncoder) {
    if (cls.startsWith(QLatin1String("StableDiffusionXL")))
        return ModelFamily::SDXL;
    if (cls.startsWith(QLatin1String("StableDiffusion3")))
        return ModelFamily::SD3;
    if (cls.startsWith(QLatin1String("Flux")))
        return ModelFamily::Flux;
    if (!cls.startsWith(QLatin1String("StableDiffusion")) || !cls.endsWith(QLatin1String("Pipeline")))
        return ModelFamily::Unknown;
    const int cross = unet.value(QLatin1String("cross_attention_dim")).toInt();
    if (cross == 768)
        return ModelFamily::SD1;
    if (cross == 1024)
        return ModelFamily::SD2;
    const int hidden = textEncoder.value(QLatin1String("hidden_size")).toInt();
    if (hidden == 768)
        return ModelFamily::SD1;
    if (hidden == 1024)
        return ModelFamily::SD2;
    const QString act = textEncoder.value(QLatin1String("hidden_act")).toString();
    if (act == QLatin1String("gelu"))
        return ModelFamily::SD2;
    return ModelFamily::SD1;
}

Result<QJsonObject> readJsonObject(const QString& path) {
    using R = Result<QJsonObject>;
    QFile f(path);
    if (isDanglingLink(path))
        return R::fail(
            QStringLiteral("%1 is a link to a file that does not exist (an interrupted download?).")
                .arg(path));
    if (!f.open(QIODevice::ReadOnly))
        return R::fail(QStringLiteral("%1: cannot open: %2.").arg(path, f.errorString()));
    if (f.size() > 64 * 1024 * 1024)
        return R::fail(
            QStringLiteral("%1: %2 bytes is too large for a configuration file.").arg(path).arg(f.size()));
    QJsonParseError err{};
    const QJsonDocument doc = parseJson(f.readAll(), &err);
    if (err.error != QJsonParseError::NoError)
        return R::fail(
            QStringLiteral("%1: invalid JSON: %2 at byte %3. Download the model again or repair the file.")
                .arg(path, err.errorString())
                .arg(err.offset));
    if (!doc.isObject())
        return R::fail(QStringLiteral("%1: expected a JSON object.").arg(path));
    return R::ok(doc.object());
}

Result<ModelFolder> ModelFolder::open(const QString& dirPath, const ModelFolderOptions& options) {
    using R = Result<ModelFolder>;
    const QFileInfo dirInfo(dirPath);
    if (!dirInfo.isDir())
        return R::fail(QStringLiteral("%1 is not a folder.").arg(dirPath));
    ModelFolder m;
    m.m_path = dirInfo.absoluteFilePath();
    const QDir dir(m.m_path);
    const QString indexPath = dir.filePath(QStringLiteral("model_index.json"));
    if (!QFileInfo::exists(indexPath) && !isDanglingLink(indexPath))
        return R::fail(
            QStringLiteral("%1 has no model_index.json: it is not a diffusers model folder (single-file "
                           "checkpoints are not supported).")
                .arg(m.m_path));
    Result<QJsonObject> index = readJsonObject(indexPath);
    if (!index)
        return R::fail(index.error());
    m.m_modelIndex = *index;
    m.m_pipelineClass = m.m_modelIndex.value(QLatin1String("_class_name")).toString();
    if (m.m_pipelineClass.isEmpty())
        return R::fail(QStringLiteral("%1: has no \"_class_name\" naming the pipeline.").arg(indexPath));

    for (auto it = m.m_modelIndex.constBegin(); it != m.m_modelIndex.constEnd(); ++it) {
        if (it.key().startsWith(QLatin1Char('_')) || !it.value().isArray())
            continue;
        const QJsonArray spec = it.value().toArray();
        if (spec.size() != 2 || !spec.at(1).isString())
            continue; // [null, null]: the pipeline was saved without this component
        ModelComponent c;
        c.name = it.key();
        c.library = spec.at(0).toString();
        c.className = spec.at(1).toString();
        c.folder = dir.filePath(c.name);
        const bool optional = kOptionalComponents.contains(c.name);
        if (c.name.contains(QLatin1Char('/')) || c.name.contains(QLatin1Char('\\')) ||
            c.name.startsWith(QLatin1Char('.')))
            return R::fail(
                QStringLiteral("%1: component name '%2' is not a folder name.").arg(indexPath, c.name));
        if (!QFileInfo(c.folder).isDir()) {
            if (optional) {
                m.m_notes << QStringLiteral("%1/ is missing (optional, left out)").arg(c.name);
                continue;
            }
            return R::fail(
                QStringLiteral("%1: model_index.json lists the component '%2', but the folder %2/ is "
                               "missing. Download the model again.")
                    .arg(m.m_path, c.name));
        }
        const QDir cdir(c.folder);
        const bool weightless = isWeightless(c.className);
        for (const char* cfg :
             {"config.json", "scheduler_config.json", "tokenizer_config.json", "preprocessor_config.json"}) {
            const QString p = cdir.filePath(QLatin1String(cfg));
            if (QFileInfo::exists(p) || isDanglingLink(p)) {
                c.configPath = p;
                break;
            }
        }
        if (!weightless && c.configPath != cdir.filePath(QStringLiteral("config.json"))) {
            if (optional) {
                m.m_notes << QStringLiteral("%1/config.json is missing (optional, left out)").arg(c.name);
                continue;
            }
            return R::fail(QStringLiteral("%1/%2/config.json is missing. Download the model again.")
                               .arg(m.m_path, c.name));
        }
        if (!c.configPath.isEmpty()) {
            Result<QJsonObject> cfg = readJsonObject(c.configPath);
            if (!cfg) {
                if (optional) {
                    m.m_notes << cfg.error() + QStringLiteral(" (optional, left out)");
                    continue;
                }
                return R::fail(cfg.error());
            }
            c.config = *cfg;
        }
        if (weightless) {
            for (const QFileInfo& fi : cdir.entryInfoList(QDir::Files | QDir::NoDotAndDotDot, QDir::Name))
                m.m_extraFiles << fi.absoluteFilePath();
        } else {
            Result<WeightChoice> w = chooseWeights(c.folder, c.name, options.preferFp16Variant);
            if (!w) {
                if (optional) {
                    m.m_notes << w.error() + QStringLiteral(" (optional, left out)");
                    continue;
                }
                return R::fail(w.error());
            }
            c.weightsPath = w->weightsPath;
            c.weightFiles = w->files;
            c.fp16Variant = w->fp16;
        }
        m.m_components.push_back(std::move(c));
    }

    const ModelComponent* unet = m.component(QStringLiteral("unet"));
    const ModelComponent* te = m.component(QStringLiteral("text_encoder"));
    m.m_family =
        detectFamily(m.m_pipelineClass, unet ? unet->config : QJsonObject(), te ? te->config : QJsonObject());
    if (m.m_family == ModelFamily::Unknown) {
        m.m_problem = QStringLiteral("The pipeline %1 is not one TwistedPic knows.").arg(m.m_pipelineClass);
    } else if (!familySupported(m.m_family)) {
        m.m_problem = QStringLiteral("%1 models are not supported yet.").arg(familyName(m.m_family));
    } else {
        m.m_problem = m.checkComponents();
    }
    return R::ok(std::move(m));
}

QString ModelFolder::checkComponents() const {
    const FamilyTraits& traits = familyTraits(m_family);
    QStringList missing;
    for (const QString& name : traits.requiredComponents)
        if (!component(name))
            missing << name;
    if (!missing.isEmpty())
        return QStringLiteral("model_index.json lists no %1; a %2 text-to-image model needs it.")
            .arg(missing.join(QStringLiteral(", ")), traits.name);
    const ModelComponent* denoiser = component(traits.denoiserComponent);
    const ModelComponent* vae = component(QStringLiteral("vae"));
    if (!traits.denoiserClasses.contains(denoiser->className))
        return QStringLiteral("Its %1 is a %2, not a %3.")
            .arg(denoiser->name, denoiser->className, traits.denoiserClasses.join(QStringLiteral(" or ")));
    if (vae->className != QLatin1String("AutoencoderKL"))
        return QStringLiteral("Its vae is a %1, not an AutoencoderKL.").arg(vae->className);
    // The denoiser's input is the VAE's latent (Flux: packed 2x2, four times the channels).
    const int in = denoiser->config.value(QLatin1String("in_channels")).toInt();
    const int latent = vae->config.value(QLatin1String("latent_channels")).toInt();
    const int packed = m_family == ModelFamily::Flux ? 4 * latent : latent;
    if (in != 0 && latent != 0 && in != packed)
        return QStringLiteral("Its %1 takes %2 input channels but the VAE makes %3 latent channels: an "
                              "inpainting or image-editing model. Only text-to-image models are supported.")
            .arg(denoiser->name == QLatin1String("unet") ? QStringLiteral("UNet") : denoiser->name)
            .arg(in)
            .arg(latent);
    return {};
}

const ModelComponent* ModelFolder::component(const QString& name) const {
    const auto it = std::find_if(m_components.begin(), m_components.end(),
                                 [&](const ModelComponent& c) { return c.name == name; });
    return it == m_components.end() ? nullptr : &*it;
}

QStringList ModelFolder::componentNames() const {
    QStringList out;
    for (const ModelComponent& c : m_components)
        out << c.name;
    return out;
}

QStringList ModelFolder::files() const {
    QStringList out{QDir(m_path).filePath(QStringLiteral("model_index.json"))};
    for (const ModelComponent& c : m_components) {
        if (!c.configPath.isEmpty())
            out << c.configPath;
        if (c.hasWeights() && !c.weightFiles.contains(c.weightsPath))
            out << c.weightsPath; // the shard index
        out << c.weightFiles;
    }
    out << m_extraFiles;
    out.removeDuplicates();
    return out;
}

qint64 ModelFolder::sizeOnDisk() const {
    qint64 sum = 0;
    for (const QString& f : files())
        sum += std::max<qint64>(0, QFileInfo(f).size()); // size() follows symbolic links
    return sum;
}

Result<WeightSummary> ModelFolder::inspectWeights() const {
    WeightSummary s;
    for (const ModelComponent& c : m_components) {
        for (const QString& f : c.weightFiles) {
            Result<Header> h = readSafeTensorsHeader(f);
            if (!h)
                return Result<WeightSummary>::fail(h.error());
            s.tensorBytes += h->tensorBytes();
            const QMap<DType, qint64> bytes = h->bytesByDType();
            for (auto it = bytes.constBegin(); it != bytes.constEnd(); ++it)
                s.bytesByDType[it.key()] += it.value();
        }
    }
    QStringList floats;
    for (auto it = s.bytesByDType.constBegin(); it != s.bytesByDType.constEnd(); ++it)
        if (dtypeIsFloat(it.key()) && it.value() > 0)
            floats << precisionName(it.key());
    floats.removeDuplicates();
    s.precision = floats.isEmpty()     ? QStringLiteral("none")
                  : floats.size() == 1 ? floats.first()
                                       : QStringLiteral("mixed");
    return Result<WeightSummary>::ok(std::move(s));
}

} // namespace tp::io
