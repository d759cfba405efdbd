#include "core/pipeline/ModelSource.h"

#include "core/common/Log.h"
#include "core/io/SafeTensors.h"
#include "core/nn/WeightLoader.h"

namespace tp::pipeline {

Result<ModelSource> ModelSource::open(const QString& path) {
    Result<io::ModelFolder> folder = io::ModelFolder::open(path);
    if (!folder)
        return Result<ModelSource>::fail(folder.error());
    ModelSource s;
    s.m_path = folder->path();
    s.m_folder = std::move(*folder);
    return Result<ModelSource>::ok(std::move(s));
}

Result<QJsonObject> ModelSource::config(const QString& name) const {
    const io::ModelComponent* c = m_folder->component(name);
    if (!c)
        return Result<QJsonObject>::fail(QStringLiteral("%1 has no %2.").arg(m_path, name));
    return Result<QJsonObject>::ok(c->config);
}

Result<QString> ModelSource::folder(const QString& name) const {
    const io::ModelComponent* c = m_folder->component(name);
    if (!c)
        return Result<QString>::fail(QStringLiteral("%1 has no %2.").arg(m_path, name));
    return Result<QString>::ok(c->folder);
}

Result<io::SafeTensorsArchive> ModelSource::archive(const QString& name) const {
    const io::ModelComponent* c = m_folder->component(name);
    if (!c || !c->hasWeights())
        return Result<io::SafeTensorsArchive>::fail(QStringLiteral("%1 has no weights for %2.").arg(m_path, name));
    return io::SafeTensorsArchive::open(c->weightsPath);
}

Status ModelSource::loadWeights(const QString& name, torch::nn::Module& module, const at::Device& device,
                                at::ScalarType dtype, qint64* bytes) const {
    Result<io::SafeTensorsArchive> weights = archive(name);
    if (!weights)
        return Status::fail(weights.error());
    nn::LoadReport report;
    if (Status s = nn::loadWeights(module, *weights, QString(), device, dtype, &report); !s)
        return s;
    if (bytes)
        *bytes += report.bytes;
    spdlog::debug("{}: {} tensors, {:.1f} MiB in {:.0f} ms", name, report.tensors, report.bytes / 1048576.0,
                  report.milliseconds);
    return Status::ok();
}

} // namespace tp::pipeline
