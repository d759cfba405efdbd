// The model families the engine runs: one line each. A family is a DiffusionModel subclass in its
// own files (StableDiffusion.*, StableDiffusionXL.*, …) plus its torch-free traits in
// core/io/ModelFamily.cpp; nothing else in the engine, the CLI or the GUI asks which family a
// model is.
#include "core/common/Log.h"
#include "core/pipeline/DiffusionModel.h"
#include "core/pipeline/Flux.h"
#include "core/pipeline/ModelSource.h"
#include "core/pipeline/StableDiffusion.h"
#include "core/pipeline/StableDiffusion3.h"
#include "core/pipeline/StableDiffusionXL.h"

#include <QElapsedTimer>

namespace tp::pipeline {

namespace {

using Loader = Result<std::unique_ptr<DiffusionModel>> (*)(const ModelSource&, const DeviceChoice&);

struct FamilyEntry {
    io::ModelFamily family;
    Loader load;
};

const FamilyEntry kFamilies[] = {
    {io::ModelFamily::SD1, &StableDiffusionModel::load},
    {io::ModelFamily::SD2, &StableDiffusionModel::load},
    {io::ModelFamily::SDXL, &StableDiffusionXLModel::load},
    {io::ModelFamily::SD3, &StableDiffusion3Model::load},
    {io::ModelFamily::Flux, &FluxModel::load},
};

// Waits for queued device work so that the load time means something.
void sync(const at::Device& device) {
    if (device.is_cuda())
        at::zeros({1}, at::TensorOptions().device(device)).cpu();
}

} // namespace

Result<std::unique_ptr<DiffusionModel>> loadModel(const QString& path, const DeviceChoice& device,
                                                  LoadStats* stats) {
    Result<ModelSource> source = ModelSource::open(path);
    if (!source)
        return Result<std::unique_ptr<DiffusionModel>>::fail(source.error());
    return loadModel(*source, device, stats);
}

Result<std::unique_ptr<DiffusionModel>> loadModel(const ModelSource& source, const DeviceChoice& device,
                                                  LoadStats* stats) {
    using R = Result<std::unique_ptr<DiffusionModel>>;
    QElapsedTimer timer;
    timer.start();
    const QString& path = source.path();
    if (!source.problem().isEmpty())
        return R::fail(QStringLiteral("%1: %2").arg(path, source.problem()));
    for (const FamilyEntry& f : kFamilies) {
        if (f.family != source.family())
            continue;
        R model = f.load(source, device);
        if (!model)
            return model;
        sync(device.device);
        const double ms = static_cast<double>(timer.nsecsElapsed()) / 1e6;
        if (stats) {
            stats->milliseconds = ms;
            stats->weightBytes = (*model)->weightBytes();
        }
        spdlog::info("loaded {} ({}{}) on {} ({:.1f} MiB of weights) in {:.0f} ms", path,
                     io::familyName(source.family()), source.isSingleFile() ? ", single file" : "",
                     device.description, (*model)->weightBytes() / 1048576.0, ms);
        return model;
    }
    return R::fail(
        QStringLiteral("%1: %2 models are not supported yet.").arg(path, io::familyName(source.family())));
}

} // namespace tp::pipeline
