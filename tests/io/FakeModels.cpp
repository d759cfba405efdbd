#include "tests/io/FakeModels.h"

#include <QCryptographicHash>
#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>

namespace tp::test {

namespace {

int elementSize(const QString& dtype) {
    if (dtype == QLatin1String("F64") || dtype == QLatin1String("I64"))
        return 8;
    if (dtype == QLatin1String("F32") || dtype == QLatin1String("I32"))
        return 4;
    if (dtype == QLatin1String("F16") || dtype == QLatin1String("BF16") || dtype == QLatin1String("I16"))
        return 2;
    return 1;
}

QJsonArray spec(const char* library, const char* cls) {
    return QJsonArray{QString::fromLatin1(library), QString::fromLatin1(cls)};
}

struct Builder {
    QDir root;
    FakeModelOptions o;
    bool ok = true;

    QString floatType(const QString& component) const {
        return component == QLatin1String("vae") && !o.vaeDtype.isEmpty() ? o.vaeDtype : o.dtype;
    }

    void weights(const QString& component, const QString& base, bool mayShard) {
        const QDir d(root.filePath(component));
        const QString ft = floatType(component);
        const std::vector<FakeTensor> a{{QStringLiteral("a.weight"), ft, {4, 8}},
                                        {QStringLiteral("a.bias"), ft, {4}}};
        const std::vector<FakeTensor> b{{QStringLiteral("b.weight"), ft, {2, 3, 3, 3}}};
        if (mayShard && o.shardedUnet) {
            const QString s1 = base + QStringLiteral("-00001-of-00002.safetensors");
            const QString s2 = base + QStringLiteral("-00002-of-00002.safetensors");
            ok = ok && writeTinySafeTensors(d.filePath(s1), a) && writeTinySafeTensors(d.filePath(s2), b);
            QJsonObject map{{QStringLiteral("a.weight"), s1},
                            {QStringLiteral("a.bias"), s1},
                            {QStringLiteral("b.weight"), s2}};
            ok = ok && writeJson(d.filePath(base + QStringLiteral(".safetensors.index.json")),
                                 QJsonObject{{QStringLiteral("weight_map"), map}});
            return;
        }
        std::vector<FakeTensor> all = a;
        all.insert(all.end(), b.begin(), b.end());
        if (component == QLatin1String("text_encoder"))
            all.push_back({QStringLiteral("position_ids"), QStringLiteral("I64"), {1, 77}});
        if (!o.fp16VariantOnly)
            ok = ok && writeTinySafeTensors(d.filePath(base + QStringLiteral(".safetensors")), all);
        if (o.fp16VariantOnly || o.withFp16Variant) {
            for (FakeTensor& t : all)
                if (t.dtype.startsWith(QLatin1Char('F')))
                    t.dtype = QStringLiteral("F16");
            ok = ok && writeTinySafeTensors(d.filePath(base + QStringLiteral(".fp16.safetensors")), all);
        }
    }

    void model(const QString& name, const QJsonObject& config, bool diffusers, bool mayShard = false) {
        ok = ok && root.mkpath(name) &&
             writeJson(root.filePath(name + QStringLiteral("/config.json")), config);
        weights(name, diffusers ? QStringLiteral("diffusion_pytorch_model") : QStringLiteral("model"),
                mayShard);
    }

    void tokenizer(const QString& name) {
        ok = ok && root.mkpath(name) &&
             writeJson(root.filePath(name + QStringLiteral("/tokenizer_config.json")),
                       QJsonObject{{QStringLiteral("model_max_length"), 77}}) &&
             writeText(root.filePath(name + QStringLiteral("/vocab.json")), "{\"a</w>\": 0}") &&
             writeText(root.filePath(name + QStringLiteral("/merges.txt")), "#version: 0.2\n");
    }

    void scheduler(const char* cls) {
        ok = ok && root.mkpath(QStringLiteral("scheduler")) &&
             writeJson(root.filePath(QStringLiteral("scheduler/scheduler_config.json")),
                       QJsonObject{{QStringLiteral("_class_name"), QString::fromLatin1(cls)},
                                   {QStringLiteral("num_train_timesteps"), 1000}});
    }

    QJsonObject clip(int hidden, const char* act) {
        return {{QStringLiteral("architectures"), QJsonArray{QStringLiteral("CLIPTextModel")}},
                {QStringLiteral("hidden_size"), hidden},
                {QStringLiteral("hidden_act"), QString::fromLatin1(act)}};
    }
    QJsonObject vae(int latent) {
        return {{QStringLiteral("_class_name"), QStringLiteral("AutoencoderKL")},
                {QStringLiteral("latent_channels"), latent}};
    }
};

} // namespace

bool writeTinySafeTensors(const QString& path, const std::vector<FakeTensor>& tensors) {
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
    QByteArray json = QJsonDocument(header).toJson(QJsonDocument::Compact);
    json += QByteArray((8 - json.size() % 8) % 8, ' ');
    QByteArray bytes(8, '\0');
    for (int i = 0; i < 8; ++i)
        bytes[i] = char((quint64(json.size()) >> (8 * i)) & 0xFF);
    return writeText(path, bytes + json + QByteArray(int(offset), '\0'));
}

bool writeJson(const QString& path, const QJsonObject& object) {
    return writeText(path, QJsonDocument(object).toJson());
}

bool writeText(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

bool makeFakeModel(const QString& dir, FakeFamily family, const FakeModelOptions& options) {
    Builder b{QDir(dir), options};
    if (!b.root.mkpath(QStringLiteral(".")))
        return false;
    QJsonObject index{{QStringLiteral("_diffusers_version"), QStringLiteral("0.30.0")},
                      {QStringLiteral("scheduler"), spec("diffusers", "PNDMScheduler")},
                      {QStringLiteral("vae"), spec("diffusers", "AutoencoderKL")},
                      {QStringLiteral("text_encoder"), spec("transformers", "CLIPTextModel")},
                      {QStringLiteral("tokenizer"), spec("transformers", "CLIPTokenizer")}};
    const QJsonObject unetBase{{QStringLiteral("_class_name"), QStringLiteral("UNet2DConditionModel")},
                               {QStringLiteral("in_channels"), options.unetInChannels}};
    b.tokenizer(QStringLiteral("tokenizer"));
    switch (family) {
    case FakeFamily::SD1:
    case FakeFamily::SD2: {
        const bool sd2 = family == FakeFamily::SD2;
        index.insert(QStringLiteral("_class_name"), QStringLiteral("StableDiffusionPipeline"));
        index.insert(QStringLiteral("unet"), spec("diffusers", "UNet2DConditionModel"));
        index.insert(QStringLiteral("safety_checker"), QJsonArray{QJsonValue(), QJsonValue()});
        index.insert(QStringLiteral("feature_extractor"), spec("transformers", "CLIPImageProcessor"));
        QJsonObject unet = unetBase;
        unet.insert(QStringLiteral("cross_attention_dim"), sd2 ? 1024 : 768);
        b.model(QStringLiteral("unet"), unet, true, true);
        b.model(QStringLiteral("text_encoder"), b.clip(sd2 ? 1024 : 768, sd2 ? "gelu" : "quick_gelu"), false);
        b.model(QStringLiteral("vae"), b.vae(4), true);
        b.scheduler("PNDMScheduler");
        b.ok = b.ok && b.root.mkpath(QStringLiteral("feature_extractor")) &&
               writeJson(b.root.filePath(QStringLiteral("feature_extractor/preprocessor_config.json")),
                         QJsonObject{{QStringLiteral("crop_size"), 224}});
        break;
    }
    case FakeFamily::SDXL: {
        index.insert(QStringLiteral("_class_name"), QStringLiteral("StableDiffusionXLPipeline"));
        index.insert(QStringLiteral("unet"), spec("diffusers", "UNet2DConditionModel"));
        index.insert(QStringLiteral("text_encoder_2"), spec("transformers", "CLIPTextModelWithProjection"));
        index.insert(QStringLiteral("tokenizer_2"), spec("transformers", "CLIPTokenizer"));
        QJsonObject unet = unetBase;
        unet.insert(QStringLiteral("cross_attention_dim"), 2048);
        unet.insert(QStringLiteral("addition_embed_type"), QStringLiteral("text_time"));
        b.model(QStringLiteral("unet"), unet, true, true);
        b.model(QStringLiteral("text_encoder"), b.clip(768, "quick_gelu"), false);
        b.model(QStringLiteral("text_encoder_2"), b.clip(1280, "gelu"), false);
        b.tokenizer(QStringLiteral("tokenizer_2"));
        b.model(QStringLiteral("vae"), b.vae(4), true);
        b.scheduler("EulerDiscreteScheduler");
        break;
    }
    case FakeFamily::SD3:
    case FakeFamily::Flux: {
        const bool flux = family == FakeFamily::Flux;
        index.insert(QStringLiteral("_class_name"),
                     flux ? QStringLiteral("FluxPipeline") : QStringLiteral("StableDiffusion3Pipeline"));
        index.insert(QStringLiteral("transformer"), flux ? spec("diffusers", "FluxTransformer2DModel")
                                                         : spec("diffusers", "SD3Transformer2DModel"));
        index.insert(QStringLiteral("text_encoder_2"), spec("transformers", "T5EncoderModel"));
        index.insert(QStringLiteral("tokenizer_2"), spec("transformers", "T5TokenizerFast"));
        index.insert(QStringLiteral("scheduler"), spec("diffusers", "FlowMatchEulerDiscreteScheduler"));
        // Flux packs 2x2 latent patches into its 64 input channels.
        b.model(QStringLiteral("transformer"), QJsonObject{{QStringLiteral("in_channels"), flux ? 64 : 16}}, true,
                true);
        b.model(QStringLiteral("text_encoder"), b.clip(768, "quick_gelu"), false);
        b.model(QStringLiteral("text_encoder_2"), QJsonObject{{QStringLiteral("d_model"), 4096}}, false);
        b.tokenizer(QStringLiteral("tokenizer_2"));
        b.model(QStringLiteral("vae"), b.vae(16), true);
        b.scheduler("FlowMatchEulerDiscreteScheduler");
        break;
    }
    }
    return b.ok && writeJson(b.root.filePath(QStringLiteral("model_index.json")), index);
}

QString addToFakeHfCache(const QString& cacheDir, const QString& repoId, const QString& staging,
                         const QString& revision, bool writeRef) {
    QDir repo(QDir(cacheDir).filePath(QStringLiteral("models--") +
                                      QString(repoId).replace(QLatin1Char('/'), QStringLiteral("--"))));
    if (!repo.mkpath(QStringLiteral("blobs")) || !repo.mkpath(QStringLiteral("snapshots/") + revision))
        return {};
    const QString snapshot = repo.filePath(QStringLiteral("snapshots/") + revision);
    QDirIterator it(staging, QDir::Files | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        const QString file = it.next();
        const QString rel = QDir(staging).relativeFilePath(file);
        QFile f(file);
        if (!f.open(QIODevice::ReadOnly))
            return {};
        const QByteArray sha = QCryptographicHash::hash(f.readAll(), QCryptographicHash::Sha256).toHex();
        f.close();
        const QString blob = repo.filePath(QStringLiteral("blobs/") + QString::fromLatin1(sha));
        if (!QFile::exists(blob) && !QFile::rename(file, blob))
            return {};
        const QString link = QDir(snapshot).filePath(rel);
        if (!QDir().mkpath(QFileInfo(link).absolutePath()))
            return {};
        // Relative, as huggingface_hub makes them: ../../blobs/<sha> (one more ../ per sub-folder).
        const QString target = QString(QStringLiteral("../")).repeated(rel.count(QLatin1Char('/')) + 2) +
                               QStringLiteral("blobs/") + QString::fromLatin1(sha);
        if (!QFile::link(target, link))
            return {};
    }
    if (writeRef && !(repo.mkpath(QStringLiteral("refs")) &&
                      writeText(repo.filePath(QStringLiteral("refs/main")), revision.toLatin1())))
        return {};
    return snapshot;
}

qint64 totalFileSize(const QString& dir) {
    qint64 sum = 0;
    QDirIterator it(dir, QDir::Files | QDir::NoDotAndDotDot, QDirIterator::Subdirectories);
    while (it.hasNext()) {
        it.next();
        sum += it.fileInfo().size();
    }
    return sum;
}

} // namespace tp::test
