#pragma once

// What the pipeline parity tests share: the device they run on (TWISTEDPIC_TEST_DEVICE=cuda runs them on
// the GPU in float32 without TF32), a fixture's cases.json as a request, model folders made of another
// folder's parts, and the error measure.
#include "core/common/Json.h"
#include "core/pipeline/TextToImage.h"
#include "tests/support/TestUtil.h"

#include <ATen/ATen.h>
#include <torch/cuda.h>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonObject>

#include <map>

namespace tp::test {

enum class TestDevice { Cpu, Cuda, CudaMissing };

// TWISTEDPIC_TEST_DEVICE=cuda: the GPU, with TF32 off so that float32 means float32 (the caller QSKIPs
// on CudaMissing).
inline TestDevice testDevice() {
    if (qEnvironmentVariable("TWISTEDPIC_TEST_DEVICE") != QLatin1String("cuda"))
        return TestDevice::Cpu;
    if (!torch::cuda::is_available())
        return TestDevice::CudaMissing;
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setFloat32MatmulPrecision("highest");
    return TestDevice::Cuda;
}

inline pipeline::DeviceChoice float32Device(bool cuda) {
    pipeline::DeviceChoice d;
    d.device = cuda ? at::Device(at::kCUDA, 0) : at::Device(at::kCPU);
    d.dtype = at::kFloat;
    d.description = QStringLiteral("test float32");
    return d;
}

inline double maxAbs(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kCPU, at::kFloat) - b.to(at::kFloat)).abs().max().item<double>();
}

inline QJsonObject readCases(const QString& fixture) {
    QFile f(dataPath(fixture + QStringLiteral("/cases.json")));
    if (!f.open(QIODevice::ReadOnly))
        qFatal("cannot read %s/cases.json", qPrintable(fixture));
    return parseJson(f.readAll()).object();
}

// A case of a fixture's cases.json as a request: what the case names (the sampler, scheduler_config,
// max_sequence_length, t5 = false for a run without T5, true_cfg_scale); the rest stays as defaulted.
inline pipeline::TextToImageParams caseParams(const QJsonObject& c) {
    pipeline::TextToImageParams p;
    p.prompt = c.value(QStringLiteral("prompt")).toString();
    const QJsonValue negative = c.value(QStringLiteral("negative_prompt"));
    if (!negative.isNull() && !negative.isUndefined())
        p.negativePrompt = negative.toString();
    if (c.contains(QStringLiteral("sampler")))
        p.sampler = c.value(QStringLiteral("sampler")).toString();
    p.steps = c.value(QStringLiteral("steps")).toInt();
    p.guidance = c.value(QStringLiteral("guidance_scale")).toDouble();
    p.width = c.value(QStringLiteral("width")).toInt();
    p.height = c.value(QStringLiteral("height")).toInt();
    p.seed = static_cast<uint64_t>(c.value(QStringLiteral("seed")).toInteger());
    p.maxSequenceLength = c.value(QStringLiteral("max_sequence_length")).toInt();
    p.withoutT5 = c.contains(QStringLiteral("t5")) && !c.value(QStringLiteral("t5")).toBool(true);
    p.trueCfgScale = c.value(QStringLiteral("true_cfg_scale")).toDouble(1.0);
    if (c.contains(QStringLiteral("scheduler_config")))
        p.schedulerConfig = c.value(QStringLiteral("scheduler_config")).toObject();
    return p;
}

// A model folder made of `base`'s entries (symbolic links) with some replaced by other folders (the
// fixtures keep SD 3.5's transformer and Flux schnell's transformer + scheduler beside the main pipeline).
inline bool linkVariant(const QString& base, const std::map<QString, QString>& replaced,
                        const QString& target) {
    QDir().mkpath(target);
    for (const QFileInfo& entry : QDir(base).entryInfoList(QDir::AllEntries | QDir::NoDotAndDotDot)) {
        const auto it = replaced.find(entry.fileName());
        const QString from = it == replaced.end() ? entry.absoluteFilePath() : it->second;
        if (!QFile::link(from, QDir(target).filePath(entry.fileName())))
            return false;
    }
    return true;
}

} // namespace tp::test
