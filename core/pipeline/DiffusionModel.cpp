#include "core/pipeline/DiffusionModel.h"

#include "core/common/Log.h"
#include "core/gpu/BlockStreamer.h"
#include "core/nn/AutoencoderKL.h"
#include "core/nn/BlockSequence.h"
#include "core/nn/Layers.h"
#include "core/nn/ModuleUtils.h"
#include "core/nn/T5Encoder.h"
#include "core/pipeline/DenoiserGraph.h"
#include "core/pipeline/ModelSource.h"

#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>

#include <unordered_set>

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

// Every distinct parameter and buffer of a module, by name.
std::vector<std::pair<std::string, at::Tensor>> namedTensors(torch::nn::Module& module) {
    std::vector<std::pair<std::string, at::Tensor>> out;
    std::unordered_set<const void*> seen;
    for (const auto& item : module.named_parameters(/*recurse=*/true))
        if (item.value().defined() && seen.insert(item.value().unsafeGetTensorImpl()).second)
            out.emplace_back(item.key(), item.value());
    for (const auto& item : module.named_buffers(/*recurse=*/true))
        if (item.value().defined() && seen.insert(item.value().unsafeGetTensorImpl()).second)
            out.emplace_back(item.key(), item.value());
    return out;
}

// Whether every value of `from` is exactly a value of `to` (so that converting back restores it).
bool convertsExactly(at::ScalarType from, at::ScalarType to) {
    if (from == to || to == at::kFloat || to == at::kDouble)
        return true;
    // bfloat16 holds fp8's values (e4m3, e5m2: fewer mantissa and exponent bits); not float16's.
    return to == at::kBFloat16 && c10::elementSize(from) == 1;
}

} // namespace

QString placementName(ComponentPlacement p) {
    switch (p) {
    case ComponentPlacement::Resident:
        return QStringLiteral("resident");
    case ComponentPlacement::RunThenRelease:
        return QStringLiteral("run then release");
    case ComponentPlacement::Cpu:
        return QStringLiteral("CPU");
    }
    return {};
}

QString stageName(Stage s) {
    switch (s) {
    case Stage::Encode:
        return QStringLiteral("encode");
    case Stage::Denoise:
        return QStringLiteral("denoise");
    case Stage::Decode:
        return QStringLiteral("decode");
    case Stage::Idle:
        return QStringLiteral("idle");
    }
    return {};
}

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
    , m_root(std::make_shared<torch::nn::Module>("model"))
    , m_memory(m_device.device.is_cuda() ? std::max<int>(0, m_device.device.index()) : 0) {}

DiffusionModel::~DiffusionModel() {
    m_graphs.reset(); // before the weights their kernels point at
    if (m_streamer) {
        if (nn::BlockSequence* blocks = denoiserBlocks())
            blocks->setBlockHooks(nullptr);
        m_streamer->discard(); // the weights go with the model: no need to copy them back first
    }
}

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
    if (Status s = source.loadWeights(name, *it->module, m_device.loadDevice(), dtype, &bytes, fp8); !s)
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
    releaseGraphs();
    m_placements.erase(name); // its residency points at the module
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

// ---- placement ---------------------------------------------------------------------------

const ModelComponentRef* DiffusionModel::component(const QString& name) const {
    const auto it = std::find_if(m_components.begin(), m_components.end(),
                                 [&](const ModelComponentRef& c) { return c.name == name; });
    return it == m_components.end() ? nullptr : &*it;
}

DiffusionModel::Placement& DiffusionModel::placementState(const QString& name) {
    Placement& state = m_placements[name];
    if (!state.residency) {
        const ModelComponentRef* c = component(name);
        state.residency = std::make_unique<gpu::ModelResidency>(
            std::vector<torch::nn::Module*>{c ? c->module : nullptr}, name);
    }
    return state;
}

gpu::ModelResidency* DiffusionModel::residency(const QString& name) {
    return component(name) ? placementState(name).residency.get() : nullptr;
}

ComponentPlacement DiffusionModel::placement(const QString& name) const {
    const auto it = m_placements.find(name);
    return it == m_placements.end() ? ComponentPlacement::Resident : it->second.placement;
}

Stage DiffusionModel::componentStage(const QString& name) const {
    if (name == io::familyTraits(m_family).denoiserComponent)
        return Stage::Denoise;
    if (name == QLatin1String("vae"))
        return Stage::Decode;
    return Stage::Encode;
}

at::Device DiffusionModel::componentDevice(const QString& name) const {
    return placement(name) == ComponentPlacement::Cpu ? at::Device(at::kCPU) : m_device.device;
}

bool DiffusionModel::componentOnDevice(const QString& name) const {
    const auto it = m_placements.find(name);
    if (it == m_placements.end())
        return component(name) != nullptr;
    return it->second.placement != ComponentPlacement::Cpu && it->second.onDevice;
}

void DiffusionModel::moveToCpu(const QString& name, Placement& state, at::ScalarType dtype) {
    const at::NoGradGuard noGrad;
    const c10::InferenceMode notInference(false);
    torch::nn::Module& module = *component(name)->module;
    // From pinned buffers (a released component) the weights are copied, so that those can go.
    const bool copy = state.residency->residency() != gpu::Residency::Cpu;
    for (auto& [key, t] : namedTensors(module)) {
        state.loadedDtypes.emplace(key, t.scalar_type()); // the first move's: what it was loaded in
        const at::ScalarType target = !t.is_floating_point()                    ? t.scalar_type()
                                      : convertsExactly(t.scalar_type(), dtype) ? dtype
                                                                                : at::kFloat;
        if (copy || !t.device().is_cpu() || t.scalar_type() != target)
            t.set_data(t.to(at::kCPU, target, /*non_blocking=*/false, /*copy=*/true));
    }
    state.onDevice = false;
    state.residency->releasePinnedBuffers();
    spdlog::info("{}: {} on the CPU in {} ({})", m_source.toStdString(), name.toStdString(),
                 dtypeName(dtype).toStdString(), formatBytes(state.residency->bytes()).toStdString());
}

void DiffusionModel::moveFromCpu(const QString& name, Placement& state) {
    const at::NoGradGuard noGrad;
    const c10::InferenceMode notInference(false);
    torch::nn::Module& module = *component(name)->module;
    for (auto& [key, t] : namedTensors(module)) {
        const auto it = state.loadedDtypes.find(key);
        const at::ScalarType target = it == state.loadedDtypes.end() ? t.scalar_type() : it->second;
        if (t.device() != m_device.device || t.scalar_type() != target)
            t.set_data(t.to(m_device.device, target));
    }
    state.loadedDtypes.clear();
    state.onDevice = true;
}

Status DiffusionModel::setPlacement(const QString& name, ComponentPlacement placement,
                                    at::ScalarType cpuDtype) {
    const ModelComponentRef* c = component(name);
    if (!c)
        return Status::fail(QStringLiteral("%1 has no component %2 to place.").arg(m_source, name));
    if (placement == ComponentPlacement::Cpu && !dynamic_cast<nn::T5EncoderModelImpl*>(c->module))
        return Status::fail(
            QStringLiteral("Only a T5 text encoder can run on the CPU; %1 is not one.").arg(name));
    if (placement == ComponentPlacement::Cpu && !at::isFloatingType(cpuDtype))
        return Status::fail(
            QStringLiteral("T5 on the CPU needs a floating-point dtype (float32 or bfloat16)."));
    Placement& state = placementState(name);
    if (placement == ComponentPlacement::Cpu)
        moveToCpu(name, state, cpuDtype);
    else if (state.placement == ComponentPlacement::Cpu)
        moveFromCpu(name, state);
    state.placement = placement;
    return Status::ok();
}

void DiffusionModel::beforeStage(Stage stage) {
    // The sampling loop calls this inside InferenceMode: pinned buffers made there would be inference
    // tensors, which a later move outside it (the engine's unload, releaseAll) could not copy into.
    const c10::InferenceMode normalTensors(false);
    m_lastTransfers.clear();
    if (stage != Stage::Idle)
        m_lastWorkStage = stage;
    for (const ModelComponentRef& c : m_components)
        placementState(c.name);
    auto wanted = [&](const QString& name, const Placement& state) {
        switch (state.placement) {
        case ComponentPlacement::Resident:
            return true;
        case ComponentPlacement::RunThenRelease:
            return stage != Stage::Idle && componentStage(name) == stage;
        case ComponentPlacement::Cpu:
            return false;
        }
        return true;
    };
    // Out first, so that what comes in finds the room. Captured denoiser graphs point at the
    // weights: they are freed before anything moves (issue 17).
    bool released = false;
    for (const ModelComponentRef& c : m_components) {
        Placement& state = m_placements.at(c.name);
        if (state.placement != ComponentPlacement::RunThenRelease || !state.onDevice || wanted(c.name, state))
            continue;
        releaseGraphs();
        m_lastTransfers.push_back(m_memory.unload(*state.residency, /*thenCleanup=*/false));
        released = released || m_lastTransfers.back().moved;
        state.onDevice = false;
    }
    if (m_streamer && stage != Stage::Denoise)
        m_streamer->releaseSlots();
    if (released)
        m_memory.cleanup();
    for (const ModelComponentRef& c : m_components) {
        Placement& state = m_placements.at(c.name);
        if (!wanted(c.name, state))
            continue;
        if (!state.onDevice || state.residency->residency() == gpu::Residency::PinnedCpu) {
            releaseGraphs();
            m_lastTransfers.push_back(m_memory.reload(*state.residency));
        }
        state.onDevice = true;
    }
    m_stage = stage;
}

std::vector<gpu::TransferReport> DiffusionModel::releaseAll() {
    const c10::InferenceMode normalTensors(false); // as beforeStage()
    std::vector<gpu::TransferReport> reports;
    releaseGraphs();
    if (m_streamer)
        m_streamer->releaseSlots();
    bool released = false;
    for (const ModelComponentRef& c : m_components) {
        Placement& state = placementState(c.name);
        if (state.placement == ComponentPlacement::Cpu)
            continue;
        reports.push_back(m_memory.unload(*state.residency, /*thenCleanup=*/false));
        released = released || reports.back().moved;
        state.onDevice = false;
    }
    if (released)
        m_memory.cleanup();
    m_stage = Stage::Idle;
    return reports;
}

Status DiffusionModel::settleWeights() {
    if (!m_device.device.is_cuda())
        return Status::ok();
    releaseGraphs();                               // weights may move
    const c10::InferenceMode normalTensors(false); // as beforeStage()
    const at::NoGradGuard noGrad;
    // The streamer's parked blocks stay in its host buffers.
    std::unordered_set<const void*> parked;
    if (m_streamer)
        if (nn::BlockSequence* blocks = denoiserBlocks())
            for (int i = 0; i < m_streamer->blockCount(); ++i)
                if (!m_streamer->isResident(i))
                    for (const at::Tensor& t : gpu::moduleTensors(*blocks->blocks()[static_cast<size_t>(i)]))
                        parked.insert(t.unsafeGetTensorImpl());
    try {
        for (const ModelComponentRef& c : m_components) {
            Placement& state = placementState(c.name);
            if (state.placement == ComponentPlacement::Cpu)
                continue;
            std::vector<at::Tensor> onHost;
            bool anyOnDevice = false;
            for (auto& [key, t] : namedTensors(*c.module)) {
                if (t.is_cuda())
                    anyOnDevice = true;
                else if (!parked.count(t.unsafeGetTensorImpl()) && !t.is_pinned())
                    onHost.push_back(t);
            }
            if (onHost.empty())
                continue;
            if (state.placement == ComponentPlacement::Resident) {
                qint64 bytes = 0;
                for (at::Tensor& t : onHost) {
                    bytes += t.numel() * static_cast<qint64>(t.element_size());
                    t.set_data(t.to(m_device.device));
                }
                state.onDevice = true;
                spdlog::info("{}: {} onto {} from host memory ({})", m_source.toStdString(),
                             c.name.toStdString(), m_device.device.str(), formatBytes(bytes).toStdString());
            } else {
                m_memory.stageOnHost(*state.residency, m_device.device, parked);
                // A component with a part on the device already (the streamer's resident blocks) is
                // sent out by the next beforeStage() of another stage.
                state.onDevice = anyOnDevice;
            }
        }
    } catch (const std::exception& e) {
        m_memory.cleanup();
        return Status::fail(
            QStringLiteral("%1: the weights could not be placed (%2); they stay in host memory.")
                .arg(m_source, QString::fromUtf8(e.what()).section(QLatin1Char('\n'), 0, 0)));
    }
    return Status::ok();
}

gpu::Residency DiffusionModel::weightsResidency() const {
    if (!m_device.device.is_cuda())
        return gpu::Residency::Cpu;
    bool allOn = true;
    bool allOff = true;
    for (const ModelComponentRef& c : m_components) {
        const auto it = m_placements.find(c.name);
        if (it != m_placements.end() && it->second.placement == ComponentPlacement::Cpu)
            continue;
        const gpu::Residency r = it != m_placements.end() && it->second.residency
                                     ? it->second.residency->residency()
                                     : gpu::ModelResidency({c.module}).residency();
        allOn = allOn && r == gpu::Residency::OnGpu;
        allOff = allOff && r == gpu::Residency::PinnedCpu;
    }
    if (m_streamer && m_streamer->residentCount() < m_streamer->blockCount())
        allOn = false;
    return allOn ? gpu::Residency::OnGpu : allOff ? gpu::Residency::PinnedCpu : gpu::Residency::Mixed;
}

// ---- streaming ---------------------------------------------------------------------------

nn::BlockSequence* DiffusionModel::denoiserBlocks() const {
    const ModelComponentRef* c = component(io::familyTraits(m_family).denoiserComponent);
    return c ? dynamic_cast<nn::BlockSequence*>(c->module) : nullptr;
}

std::vector<qint64> DiffusionModel::blockBytes() const {
    std::vector<qint64> out;
    if (const nn::BlockSequence* blocks = denoiserBlocks())
        for (const torch::nn::Module* block : blocks->blocks())
            out.push_back(gpu::moduleBytes(*block));
    return out;
}

qint64 DiffusionModel::denoiserNonBlockBytes() const {
    const ModelComponentRef* c = component(io::familyTraits(m_family).denoiserComponent);
    if (!c)
        return 0;
    qint64 total = gpu::moduleBytes(*c->module);
    for (qint64 b : blockBytes())
        total -= b;
    return total;
}

Status DiffusionModel::setStreaming(const gpu::BlockStreamerOptions& options) {
    nn::BlockSequence* blocks = denoiserBlocks();
    if (!blocks)
        return Status::fail(QStringLiteral("%1's denoiser cannot stream its blocks.").arg(m_source));
    releaseGraphs();
    if (Status s = stopStreaming(); !s)
        return s;
    const QString denoiser = io::familyTraits(m_family).denoiserComponent;
    // The streamer keeps its own host copies of the streamed blocks: pinned buffers of an earlier
    // unload would be a second copy (they are made again, for what stays resident, on the next one).
    if (gpu::ModelResidency* r = residency(denoiser))
        r->releasePinnedBuffers();
    Result<std::unique_ptr<gpu::BlockStreamer>> made =
        gpu::BlockStreamer::create(blocks->blocks(), m_device.device, options);
    if (!made)
        return Status::fail(made.error());
    m_streamer = std::move(*made);
    blocks->setBlockHooks(m_streamer.get());
    return Status::ok();
}

Status DiffusionModel::stopStreaming() {
    if (!m_streamer)
        return Status::ok();
    releaseGraphs();
    if (Status s = m_streamer->restore(); !s)
        return s;
    if (nn::BlockSequence* blocks = denoiserBlocks())
        blocks->setBlockHooks(nullptr);
    m_streamer.reset();
    return Status::ok();
}

// ---- CUDA graphs for the denoiser step (issue 17) -----------------------------------------

DenoiserGraphs& DiffusionModel::denoiserGraphs() {
    if (!m_graphs)
        m_graphs = std::make_unique<DenoiserGraphs>();
    return *m_graphs;
}

void DiffusionModel::releaseGraphs() {
    if (m_graphs)
        m_graphs->clear();
}

Status DiffusionModel::setChannelsLast(bool on) {
    if (on == m_channelsLast)
        return Status::ok();
    torch::nn::Module* denoiser = denoiserModule();
    if (!denoiser)
        return Status::fail(QStringLiteral("%1 has no denoiser to lay out channels-last.").arg(m_source));
    if (m_streamer)
        return Status::fail(QStringLiteral("Channels-last convolutions cannot be switched while the "
                                           "denoiser's blocks are streamed."));
    releaseGraphs(); // the weights get new storage
    const int changed = nn::setConvMemoryFormat(*denoiser, on ? at::MemoryFormat::ChannelsLast
                                                              : at::MemoryFormat::Contiguous);
    m_channelsLast = on;
    spdlog::info("{}: {} convolution weight(s) of the denoiser laid out {}", m_source.toStdString(), changed,
                 on ? "channels-last" : "contiguous");
    return Status::ok();
}

torch::nn::Module* DiffusionModel::denoiserModule() const {
    const ModelComponentRef* c = component(io::familyTraits(m_family).denoiserComponent);
    return c ? c->module : nullptr;
}

} // namespace tp::pipeline
