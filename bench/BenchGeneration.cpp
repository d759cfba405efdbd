#include "bench/BenchGeneration.h"

#include "core/common/Paths.h"
#include "core/gpu/GpuMemory.h"
#include "core/io/ModelCatalogue.h"
#include "core/pipeline/TextToImage.h"
#include "core/pipeline/WarmUp.h"

#include <QDirIterator>
#include <QElapsedTimer>
#include <QFile>

#include <fcntl.h>
#include <unistd.h>

namespace tp::bench {

QString Args::value(const QString& name, const QString& fallback) const {
    const int i = m_extra.indexOf(name);
    if (i >= 0 && i + 1 < m_extra.size())
        return m_extra.at(i + 1);
    const QString prefix = name + QLatin1Char('=');
    for (const QString& a : m_extra)
        if (a.startsWith(prefix))
            return a.mid(prefix.size());
    return fallback;
}

int Args::integer(const QString& name, int fallback) const {
    bool ok = false;
    const int v = value(name).toInt(&ok);
    return ok ? v : fallback;
}

QStringList Args::list(const QString& name, const QString& fallback) const {
    return value(name, fallback).split(QLatin1Char(','), Qt::SkipEmptyParts);
}

std::optional<bool> Args::onOff(const QString& name, bool fallback, Report& report) const {
    const QString v = value(name, fallback ? QStringLiteral("on") : QStringLiteral("off")).toLower();
    if (v == QLatin1String("on") || v == QLatin1String("off"))
        return v == QLatin1String("on");
    report.note(QStringLiteral("%1 takes on or off, not '%2'.").arg(name, v));
    return std::nullopt;
}

struct BenchModelImpl {
    std::unique_ptr<pipeline::DiffusionModel> model;
    std::unique_ptr<gpu::ModelResidency> residency;
    gpu::MemoryManager memory{0};
    pipeline::LoadStats stats;
    int nativeSize = 0;
    bool cudaGraphs = true;
};

BenchModel::BenchModel()
    : d(std::make_unique<BenchModelImpl>()) {}
BenchModel::~BenchModel() = default;

Result<std::unique_ptr<BenchModel>> BenchModel::load(const QString& folder, const QString& device,
                                                     const QString& precision) {
    using R = Result<std::unique_ptr<BenchModel>>;
    pipeline::initCpuRuntime();
    const io::ModelInfo info = io::ModelCatalogue::inspect(folder, QStringLiteral("folder"));
    Result<pipeline::DeviceChoice> choice =
        pipeline::resolveDevice(device, io::familyPrecision(precision, info.familyId));
    if (!choice)
        return R::fail(choice.error());
    std::unique_ptr<BenchModel> m(new BenchModel());
    auto model = pipeline::loadModel(folder, *choice, &m->d->stats);
    if (!model)
        return R::fail(model.error());
    m->d->model = std::move(*model);
    m->d->nativeSize = info.nativeSize;
    m->d->memory = gpu::MemoryManager(choice->device.is_cuda() ? choice->device.index() : 0);
    m->d->residency = std::make_unique<gpu::ModelResidency>(
        std::vector<torch::nn::Module*>{&m->d->model->root()}, QStringLiteral("bench"));
    return R::ok(std::move(m));
}

double BenchModel::loadMs() const {
    return d->stats.milliseconds;
}
qint64 BenchModel::weightBytes() const {
    return d->stats.weightBytes;
}
QString BenchModel::description() const {
    return d->model->device().description;
}
bool BenchModel::cuda() const {
    return d->model->device().device.is_cuda();
}
int BenchModel::cudaDevice() const {
    return d->memory.device();
}
int BenchModel::nativeSize() const {
    return d->nativeSize;
}

void BenchModel::setCudaGraphs(bool on) {
    d->cudaGraphs = on;
}

Status BenchModel::setChannelsLast(bool on) {
    return d->model->setChannelsLast(on);
}

GenerationRun BenchModel::generate(int width, int height, int steps, int batch, quint64 seed, double guidance,
                                   const QString& sampler) {
    pipeline::TextToImageParams p;
    p.prompt = QStringLiteral("a red circle on a blue background");
    p.sampler = sampler;
    p.steps = steps;
    p.guidance = guidance;
    p.width = width;
    p.height = height;
    p.seed = seed;
    p.count = batch;
    p.cudaGraphs = d->cudaGraphs;
    gpu::resetPeak(d->memory.device());
    QElapsedTimer t;
    t.start();
    GenerationRun run;
    {
        Result<pipeline::TextToImageOutput> out = pipeline::textToImage(*d->model, p);
        if (!out)
            throw std::runtime_error(out.error().toStdString());
        run.firstStepMs = out->firstStepMs;
        run.encodeMs = out->encodeMs;
        run.denoiseMs = out->denoiseMs;
        run.decodeMs = out->decodeMs;
        run.eagerReason = out->eagerReason;
    }
    run.totalMs = double(t.nsecsElapsed()) / 1e6;
    run.itPerSec = run.denoiseMs > 0 ? steps * 1000.0 / run.denoiseMs : 0;
    const gpu::MemorySnapshot s = d->memory.snapshot();
    run.peakAllocatedBytes = s.cuda ? s.peakAllocatedBytes : -1;
    run.deviceUsedBytes = s.cuda ? s.deviceUsedBytes : -1;
    return run;
}

double BenchModel::warmUpDevice() {
    return pipeline::warmUpDevice(d->model->device().device, d->model->device().dtype);
}

double BenchModel::cleanup() {
    d->model->releaseGraphs(); // as the engine's cleanup does: their pool is cached memory too
    return d->memory.cleanup().durationMs;
}
double BenchModel::unload() {
    d->model->releaseGraphs(); // as the engine does before it moves the weights
    return d->memory.unload(*d->residency).totalMs;
}
double BenchModel::reload() {
    return d->memory.reload(*d->residency).totalMs;
}

bool evictFromPageCache(const QString& folder) {
    bool all = true;
    QDirIterator it(folder, {QStringLiteral("*.safetensors"), QStringLiteral("*.bin")}, QDir::Files,
                    QDirIterator::Subdirectories | QDirIterator::FollowSymlinks);
    while (it.hasNext()) {
        const QByteArray path = QFile::encodeName(it.next());
        const int fd = ::open(path.constData(), O_RDONLY);
        if (fd < 0) {
            all = false;
            continue;
        }
        all = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0 && all;
        ::close(fd);
    }
    return all;
}

qint64 residentBytes() {
    QFile f(QStringLiteral("/proc/self/statm"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    const QList<QByteArray> fields = f.readAll().split(' ');
    return fields.size() > 1 ? fields[1].toLongLong() * ::sysconf(_SC_PAGESIZE) : -1;
}

QString modelArgument(const Args& args, Report& report) {
    QString folder = args.value(QStringLiteral("--model"));
    if (folder.isEmpty()) {
        const io::ModelCatalogue catalogue = io::ModelCatalogue::scan({}, paths::bundledModelDirs(), {});
        if (const io::ModelInfo* m = catalogue.defaultModel())
            folder = m->folder;
    }
    report.set(QStringLiteral("model"), folder);
    return folder;
}

QString requireModel(const Args& args, Report& report) {
    const QString folder = modelArgument(args, report);
    if (folder.isEmpty())
        report.note(QStringLiteral(
            "No model: pass --model FOLDER (e.g. one made by twistedpic-train --untrained sd15)."));
    return folder;
}

std::unique_ptr<BenchModel> loadFromArgs(const Args& args, const QString& folder, Report& report) {
    auto model = BenchModel::load(folder, args.value(QStringLiteral("--device"), QStringLiteral("auto")),
                                  args.value(QStringLiteral("--precision"), QStringLiteral("auto")));
    if (!model) {
        report.note(model.error());
        return nullptr;
    }
    report.set(QStringLiteral("device"), (*model)->description());
    return std::move(*model);
}

} // namespace tp::bench
