#include "core/pipeline/ModelSource.h"

#include "core/common/Log.h"
#include "core/io/SingleFileComponent.h"
#include "core/io/WeightMap.h"
#include "core/nn/T5Encoder.h"
#include "core/nn/WeightLoader.h"

#include <QFileInfo>

namespace tp::pipeline {

Result<ModelSource> ModelSource::open(const QString& path, const io::SingleFileOptions& options) {
    using R = Result<ModelSource>;
    ModelSource s;
    if (QFileInfo(path).isFile()) {
        Result<io::SingleFileCheckpoint> file = io::SingleFileCheckpoint::open(path, options);
        if (!file)
            return R::fail(file.error());
        Result<io::SafeTensorsArchive> weights = io::SafeTensorsArchive::open(path);
        if (!weights)
            return R::fail(weights.error());
        for (const QString& companion : file->companionFiles()) {
            Result<io::SafeTensorsArchive> w = io::SafeTensorsArchive::open(companion);
            if (!w)
                return R::fail(w.error());
            s.m_companionWeights.emplace(companion, std::move(*w));
        }
        s.m_path = QFileInfo(path).absoluteFilePath();
        s.m_file = std::move(*file);
        s.m_fileWeights = std::move(*weights);
        return R::ok(std::move(s));
    }
    Result<io::ModelFolder> folder = io::ModelFolder::open(path);
    if (!folder)
        return R::fail(folder.error());
    s.m_path = folder->path();
    s.m_folder = std::move(*folder);
    return R::ok(std::move(s));
}

io::ModelFamily ModelSource::family() const {
    return m_file ? m_file->family() : m_folder->family();
}

QString ModelSource::problem() const {
    return m_file ? m_file->problem() : m_folder->problem();
}

QJsonObject ModelSource::pipelineConfig() const {
    return m_file ? m_file->modelIndex() : m_folder->modelIndex();
}

const io::SafeTensorsArchive* ModelSource::archiveOf(const QString& component) const {
    Result<io::ComponentMapping> mapping = m_file->mapping(component);
    if (!mapping || mapping->file.isEmpty())
        return &*m_fileWeights;
    const auto it = m_companionWeights.find(mapping->file);
    return it == m_companionWeights.end() ? nullptr : &it->second;
}

bool ModelSource::has(const QString& name) const {
    if (m_leftOut.contains(name) || (name.startsWith(QLatin1String("tokenizer")) &&
                                     m_leftOut.contains(QString(name).replace(
                                         QLatin1String("tokenizer"), QLatin1String("text_encoder")))))
        return false;
    if (!m_file)
        return m_folder->component(name) != nullptr;
    if (name.startsWith(QLatin1String("tokenizer"))) // "tokenizer_3" goes with "text_encoder_3"
        return m_file->components().contains(
            QString(name).replace(QLatin1String("tokenizer"), QLatin1String("text_encoder")));
    return name == QLatin1String("scheduler") || m_file->components().contains(name);
}

Result<QJsonObject> ModelSource::config(const QString& name) const {
    if (m_leftOut.contains(name))
        return Result<QJsonObject>::fail(QStringLiteral("%1: %2 is left out of this run.").arg(m_path, name));
    if (m_file) {
        if (name == QLatin1String("scheduler"))
            return Result<QJsonObject>::ok(m_file->schedulerConfig());
        return m_file->config(name);
    }
    const io::ModelComponent* c = m_folder->component(name);
    if (!c)
        return Result<QJsonObject>::fail(QStringLiteral("%1 has no %2.").arg(m_path, name));
    return Result<QJsonObject>::ok(c->config);
}

Result<QString> ModelSource::tokenizerFolder(const QString& name, QString* padToken) const {
    if (!m_file) {
        const io::ModelComponent* c = m_folder->component(name);
        if (!c)
            return Result<QString>::fail(QStringLiteral("%1 has no %2.").arg(m_path, name));
        return Result<QString>::ok(c->folder);
    }
    Result<std::vector<io::TokenizerChoice>> choices = m_file->tokenizers();
    if (!choices)
        return Result<QString>::fail(choices.error());
    for (const io::TokenizerChoice& c : *choices)
        if (c.component == name) {
            *padToken = c.padToken;
            return Result<QString>::ok(c.folder);
        }
    return Result<QString>::fail(QStringLiteral("%1 has no text encoder for %2.").arg(m_path, name));
}

Result<text::ClipTokenizer> ModelSource::clipTokenizer(const QString& name) const {
    QString pad;
    Result<QString> folder = tokenizerFolder(name, &pad);
    if (!folder)
        return Result<text::ClipTokenizer>::fail(folder.error());
    return text::ClipTokenizer::load(*folder, pad);
}

Result<text::T5Tokenizer> ModelSource::t5Tokenizer(const QString& name) const {
    QString pad;
    Result<QString> folder = tokenizerFolder(name, &pad);
    if (!folder)
        return Result<text::T5Tokenizer>::fail(folder.error());
    return text::T5Tokenizer::load(*folder);
}

Status ModelSource::loadWeights(const QString& name, torch::nn::Module& module, const at::Device& device,
                                at::ScalarType dtype, qint64* bytes, nn::Fp8Weights fp8) const {
    nn::LoadReport report;
    if (m_file) {
        const io::SafeTensorsArchive* archive = archiveOf(name);
        if (!archive)
            return Status::fail(QStringLiteral("%1: the file of %2 was not opened.").arg(m_path, name));
        Result<io::SingleFileComponent> component = io::singleFileComponent(*m_file, *archive, name);
        if (!component)
            return Status::fail(component.error());
        if (Status s = nn::loadWeights(module, component->weights, device, dtype, &report, fp8); !s)
            return s;
    } else {
        const io::ModelComponent* c = m_folder->component(name);
        if (!c || !c->hasWeights())
            return Status::fail(QStringLiteral("%1 has no weights for %2.").arg(m_path, name));
        Result<io::SafeTensorsArchive> weights = io::SafeTensorsArchive::open(c->weightsPath);
        if (!weights)
            return Status::fail(weights.error());
        if (Status s = nn::loadWeights(module, *weights, QString(), device, dtype, &report, fp8); !s)
            return s;
    }
    if (bytes)
        *bytes += report.bytes;
    spdlog::debug("{}: {} tensors, {:.1f} MiB in {:.0f} ms", name, report.tensors, report.bytes / 1048576.0,
                  report.milliseconds);
    return Status::ok();
}

Status ModelSource::loadT5Weights(const QString& name, nn::T5EncoderModelImpl& model,
                                  const at::Device& device, at::ScalarType dtype, qint64* bytes) const {
    if (m_file) // the single file's map names both embedding spellings
        return loadWeights(name, model, device, dtype, bytes);
    const io::ModelComponent* c = m_folder->component(name);
    if (!c || !c->hasWeights())
        return Status::fail(QStringLiteral("%1 has no weights for %2.").arg(m_path, name));
    Result<io::SafeTensorsArchive> weights = io::SafeTensorsArchive::open(c->weightsPath);
    if (!weights)
        return Status::fail(weights.error());
    nn::LoadReport report;
    if (Status s = nn::loadT5EncoderWeights(model, *weights, QString(), device, dtype, {}, &report); !s)
        return s;
    if (bytes)
        *bytes += report.bytes;
    return Status::ok();
}

} // namespace tp::pipeline
