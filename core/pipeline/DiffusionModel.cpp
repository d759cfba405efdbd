#include "core/pipeline/DiffusionModel.h"

#include "core/nn/AutoencoderKL.h"
#include "core/pipeline/ModelSource.h"

#include "core/common/Log.h"
#include "core/nn/Layers.h"

namespace tp::pipeline {

namespace {

at::Tensor repeatRows(const at::Tensor& t, int64_t n) {
    if (!t.defined() || n == 1)
        return t;
    std::vector<int64_t> reps(static_cast<size_t>(t.dim()), 1);
    reps[0] = n;
    return t.repeat(reps);
}

at::Tensor catRows(const at::Tensor& a, const at::Tensor& b) {
    if (!a.defined() || !b.defined())
        return a.defined() ? a : b;
    return at::cat({a, b});
}

at::Tensor cast(const at::Tensor& t, at::ScalarType dtype) {
    return t.defined() ? t.to(dtype) : t;
}

} // namespace

Conditioning Conditioning::repeated(int64_t n) const {
    return {repeatRows(context, n), repeatRows(pooled, n), repeatRows(extra, n)};
}

Conditioning Conditioning::concat(const Conditioning& first, const Conditioning& second) {
    return {catRows(first.context, second.context), catRows(first.pooled, second.pooled),
            catRows(first.extra, second.extra)};
}

Conditioning Conditioning::to(at::ScalarType dtype) const {
    return {cast(context, dtype), cast(pooled, dtype), cast(extra, dtype)};
}

DiffusionModel::DiffusionModel(io::ModelFamily family, QString source, DeviceChoice device)
    : m_device(std::move(device))
    , m_family(family)
    , m_source(std::move(source))
    , m_root(std::make_shared<torch::nn::Module>("model")) {}

Status DiffusionModel::loadComponent(const ModelSource& source, const QString& name, at::ScalarType dtype) {
    const auto it = std::find_if(m_components.begin(), m_components.end(),
                                 [&](const ModelComponentRef& c) { return c.name == name; });
    if (it == m_components.end())
        return Status::fail(QStringLiteral("internal: no component %1 registered").arg(name));
    qint64 bytes = 0;
    // fp8 storage is for the denoiser, where the memory is (diffusers' enable_layerwise_casting on
    // the transformer/UNet); fp8 tensors of other files (t5xxl_fp8_e4m3fn) stay fp8 as stored.
    const bool denoiser = name == io::familyTraits(m_family).denoiserComponent;
    const nn::Fp8Weights fp8 =
        m_device.fp8Weights && denoiser ? nn::Fp8Weights::Store : nn::Fp8Weights::AsStored;
    if (Status s = source.loadWeights(name, *it->module, m_device.device, dtype, &bytes, fp8); !s)
        return s;
    if (m_device.fp8MatMul && denoiser)
        spdlog::info("{}: {} linear layers multiply in fp8", name.toStdString(),
                     nn::enableFp8MatMul(*it->module));
    recordComponentBytes(name, bytes);
    return Status::ok();
}

bool DiffusionModel::hasComponent(const QString& name) const {
    return std::any_of(m_components.begin(), m_components.end(),
                       [&](const ModelComponentRef& c) { return c.name == name; });
}

Status DiffusionModel::dropComponent(const QString& name) {
    const auto it = std::find_if(m_components.begin(), m_components.end(),
                                 [&](const ModelComponentRef& c) { return c.name == name; });
    if (it == m_components.end())
        return Status::fail(QStringLiteral("%1 has no %2 loaded.").arg(m_source, name));
    if (!forgetComponent(name))
        return Status::fail(
            QStringLiteral("%1 models cannot run without their %2.").arg(io::familyName(m_family), name));
    m_root->unregister_module(name.toStdString());
    m_weightBytes -= it->bytes;
    m_components.erase(it);
    return Status::ok();
}

void DiffusionModel::recordComponentBytes(const QString& name, qint64 bytes) {
    m_weightBytes = 0;
    for (ModelComponentRef& c : m_components) {
        if (c.name == name)
            c.bytes = bytes;
        m_weightBytes += c.bytes;
    }
}

void DiffusionModel::setPreview(const QJsonObject& vaeConfig, int latentChannels) {
    m_preview.emplace(vaeConfig, latentChannels);
}

void DiffusionModel::setLatentGeometry(int64_t channels, int64_t downscale, int sizeMultiple) {
    m_latentChannels = channels;
    m_downscale = downscale;
    m_sizeMultiple = sizeMultiple;
}

at::Tensor DiffusionModel::decodeLatents(const nn::AutoencoderKLImpl& vae, const at::Tensor& latents) const {
    return m_vaeTiling ? vae.decodeScaledTiled(latents, *m_vaeTiling) : vae.decodeScaled(latents);
}

Result<std::unique_ptr<sched::Scheduler>>
DiffusionModel::makeScheduler(const QString& name, const QJsonObject& config, int steps, int, int) const {
    Result<std::unique_ptr<sched::Scheduler>> made = sched::makeScheduler(name, config);
    if (!made)
        return made;
    if (Status st = (*made)->setTimesteps(steps); !st)
        return Result<std::unique_ptr<sched::Scheduler>>::fail(st.error());
    return made;
}

Result<LatentShape> DiffusionModel::latentShape(int width, int height) const {
    const int multiple = std::max<int>(m_sizeMultiple, static_cast<int>(m_downscale));
    if (width <= 0 || height <= 0 || width % multiple != 0 || height % multiple != 0)
        return Result<LatentShape>::fail(
            QStringLiteral("The size %1×%2 is not a multiple of %3 (%4 needs it).")
                .arg(width)
                .arg(height)
                .arg(multiple)
                .arg(io::familyName(m_family)));
    return Result<LatentShape>::ok({m_latentChannels, height / m_downscale, width / m_downscale});
}

} // namespace tp::pipeline
