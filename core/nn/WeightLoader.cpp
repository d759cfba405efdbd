#include "core/nn/WeightLoader.h"

#include "core/common/Log.h"
#include "core/io/Fp8.h"
#include "core/io/SafeTensors.h"
#include "core/io/WeightMap.h"
#include "core/nn/KeyAliases.h"
#include "core/nn/Layers.h"

#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>

#include <torch/version.h>

#include <QElapsedTimer>
#include <QFileInfo>
#include <QSet>

namespace tp::nn {

namespace {

constexpr int kListedProblems = 5;

QString shapeText(at::IntArrayRef shape) {
    QStringList parts;
    for (auto d : shape)
        parts << QString::number(d);
    return QLatin1Char('[') + parts.join(QLatin1Char(',')) + QLatin1Char(']');
}

QString shapeText(const std::vector<qint64>& shape) {
    return shapeText(at::IntArrayRef(reinterpret_cast<const int64_t*>(shape.data()), shape.size()));
}

// The same shape, or the module's with trailing ones (a 1x1 convolution's weight where the
// module has a linear layer, as in old attention blocks).
bool compatibleShape(const std::vector<qint64>& file, at::IntArrayRef module) {
    if (file.size() < module.size())
        return false;
    for (size_t i = 0; i < file.size(); ++i)
        if (file[i] != (i < module.size() ? module[i] : 1))
            return false;
    return true;
}

QString listFirst(const QStringList& items) {
    QString text = items.mid(0, kListedProblems).join(QStringLiteral(", "));
    if (items.size() > kListedProblems)
        text += QStringLiteral(" and %1 more").arg(items.size() - kListedProblems);
    return text;
}

struct Entry {
    QString name; // module's name
    QString key;  // the map's name: the module's, or the older spelling the file uses
    at::Tensor tensor;
    bool parameter = true;
};

// The parameters of `module`'s linear and convolution layers ("a.b.weight" → the layer "a.b"):
// the ones that may be fp8.
QHash<QString, QString> fp8CapableParameters(torch::nn::Module& module) {
    QHash<QString, QString> layerOf;
    for (const auto& item : module.named_modules(/*name_prefix=*/"", /*include_self=*/false)) {
        torch::nn::Module* m = item.value().get();
        if (!dynamic_cast<LinearImpl*>(m) && !dynamic_cast<Conv2dImpl*>(m))
            continue;
        const QString layer = QString::fromStdString(item.key());
        for (const auto& p : m->named_parameters(/*recurse=*/false))
            layerOf.insert(layer + QLatin1Char('.') + QString::fromStdString(p.key()), layer);
    }
    return layerOf;
}

} // namespace

bool storesFp8(const QString& moduleName) {
    for (const char* part : {"pos_embed", "patch_embed", "norm"})
        if (moduleName.contains(QLatin1String(part)))
            return false;
    return moduleName != QLatin1String("proj_in") && moduleName != QLatin1String("proj_out");
}

Status loadWeights(torch::nn::Module& module, const tp::io::SafeTensorsArchive& weights,
                   const QString& prefix, at::Device device, at::ScalarType dtype, LoadReport* report,
                   Fp8Weights fp8) {
    return loadWeights(module, tp::io::WeightMap::identity(weights, prefix), device, dtype, report, fp8);
}

Status loadWeights(torch::nn::Module& module, const tp::io::WeightMap& weights, at::Device device,
                   at::ScalarType dtype, LoadReport* report, Fp8Weights fp8) {
    QElapsedTimer timer;
    timer.start();
    const QString component = QString::fromStdString(module.name());
    const QString file = weights.fileNames();
    const auto storeType = tp::io::fp8ScalarType(tp::io::DType::F8_E4M3);
    if (fp8 == Fp8Weights::Store && !storeType)
        return Status::fail(QStringLiteral("%1: storing weights in fp8 needs libtorch 2.1 or newer; this "
                                           "build has %2. Use fp16 or bf16.")
                                .arg(component, QString::fromLatin1(TORCH_VERSION)));
    const QHash<QString, QString> fp8Capable =
        fp8 == Fp8Weights::Upcast || !storeType ? QHash<QString, QString>() : fp8CapableParameters(module);

    std::vector<Entry> entries;
    for (const auto& item : module.named_parameters(/*recurse=*/true))
        entries.push_back(
            {QString::fromStdString(item.key()), QString::fromStdString(item.key()), item.value(), true});
    for (const auto& item : module.named_buffers(/*recurse=*/true))
        entries.push_back(
            {QString::fromStdString(item.key()), QString::fromStdString(item.key()), item.value(), false});

    // Check everything before touching the module.
    QStringList missing, missingBuffers, mismatches;
    QSet<QString> wanted;
    // The first segments of the map's names: a module whose top-level child has none in the
    // map may find its tensors one level up, as transformers writes a base model without its
    // wrapper (CLIPTextModel without "text_model.").
    const QStringList mapped = weights.names();
    QSet<QString> fileTopLevel;
    for (const auto& name : mapped)
        fileTopLevel.insert(name.section(QLatin1Char('.'), 0, 0));

    for (auto& e : entries) {
        if (!weights.contains(e.key)) {
            QStringList candidates = legacyNames(e.name);
            const QString top = e.name.section(QLatin1Char('.'), 0, 0);
            if (!fileTopLevel.contains(top) && top.size() < e.name.size()) {
                const QString unwrapped = e.name.mid(top.size() + 1);
                candidates << unwrapped << legacyNames(unwrapped);
            }
            for (const auto& candidate : candidates)
                if (weights.contains(candidate)) {
                    e.key = candidate;
                    break;
                }
        }
        wanted.insert(e.key);
        if (!weights.contains(e.key)) {
            (e.parameter ? missing : missingBuffers) << weights.describe(e.key);
            continue;
        }
        const auto info = weights.info(e.key);
        if (!info)
            mismatches << info.error();
        else if (!compatibleShape(info->shape, e.tensor.sizes()))
            mismatches << QStringLiteral("%1 has shape %2 in the file but the config needs %3")
                              .arg(weights.describe(e.key), shapeText(info->shape),
                                   shapeText(e.tensor.sizes()));
        else if (e.tensor.is_floating_point() && !tp::io::dtypeIsFloat(info->dtype))
            mismatches << QStringLiteral("%1 holds %2 values in the file where float weights belong")
                              .arg(weights.describe(e.key), tp::io::dtypeName(info->dtype));
    }
    if (!mismatches.isEmpty()) {
        QString message = QStringLiteral("%1: %2").arg(
            component, mismatches.mid(0, kListedProblems).join(QStringLiteral("; ")));
        if (mismatches.size() > kListedProblems)
            message += QStringLiteral("; %1 more tensors differ").arg(mismatches.size() - kListedProblems);
        message += QStringLiteral(" (%1 does not fit config.json: are both from the same model?)").arg(file);
        return Status::fail(message);
    }
    if (!missing.isEmpty())
        return Status::fail(
            QStringLiteral("%1: %2 of %3 weights are missing from %4: %5 (is this the right file "
                           "for this model? Checkpoints in another layout, such as single-file "
                           ".ckpt/.safetensors, need converting)")
                .arg(component)
                .arg(missing.size())
                .arg(entries.size())
                .arg(file, listFirst(missing)));

    QStringList unexpected;
    for (const auto& name : mapped)
        if (!wanted.contains(name))
            unexpected << weights.describe(name);

    c10::InferenceMode normal(false);
    at::NoGradGuard noGrad;
    LoadReport r;
    for (auto& e : entries) {
        if (!weights.contains(e.key))
            continue;
        auto type = e.tensor.is_floating_point() ? dtype : e.tensor.scalar_type();
        if (const auto layer = fp8Capable.constFind(e.name); layer != fp8Capable.constEnd()) {
            const auto stored = tp::io::fp8ScalarType(weights.info(e.key)->dtype);
            if (stored)
                type = *stored;
            else if (fp8 == Fp8Weights::Store && storesFp8(*layer))
                type = *storeType;
        }
        auto loaded = weights.load(e.key, device, type);
        if (!loaded)
            return Status::fail(QStringLiteral("%1: %2").arg(component, loaded.error()));
        e.tensor.set_data(loaded->sizes() == e.tensor.sizes() ? *loaded : loaded->reshape(e.tensor.sizes()));
        ++r.tensors;
        r.fp8Tensors += tp::io::isFp8(loaded->scalar_type()) ? 1 : 0;
        r.bytes += qint64(loaded->numel()) * qint64(loaded->element_size());
    }
    r.missingBuffers = missingBuffers;
    r.unexpected = unexpected;
    r.milliseconds = double(timer.nsecsElapsed()) / 1e6;

    if (r.fp8Tensors > 0)
        spdlog::info("{}: loaded {} tensors ({:.1f} MiB; {} of them fp8, upcast per layer to {}) from {} in "
                     "{:.0f} ms",
                     component, r.tensors, double(r.bytes) / (1024.0 * 1024.0), r.fp8Tensors,
                     c10::toString(dtype), file, r.milliseconds);
    else
        spdlog::info("{}: loaded {} tensors ({:.1f} MiB, {}) from {} in {:.0f} ms", component, r.tensors,
                     double(r.bytes) / (1024.0 * 1024.0), c10::toString(dtype), file, r.milliseconds);
    if (!unexpected.isEmpty())
        spdlog::debug("{}: {} tensors in {} are not used: {}", component, unexpected.size(), file,
                      listFirst(unexpected));
    if (!missingBuffers.isEmpty())
        spdlog::warn("{}: {} buffers are not in {}, kept as built: {}", component, missingBuffers.size(),
                     file, listFirst(missingBuffers));
    if (report)
        *report = std::move(r);
    return Status::ok();
}

} // namespace tp::nn
