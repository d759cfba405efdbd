#include "core/gpu/PlacementPlanner.h"

#include "core/common/Bytes.h"

#include <QJsonArray>

#include <algorithm>
#include <functional>
#include <numeric>

namespace tp::gpu {
namespace {

constexpr qint64 MiB = 1024 * 1024;
constexpr qint64 GiB = 1024 * MiB;

QString bytesText(qint64 bytes) {
    return formatBytes(bytes, QLocale::c(), 1);
}

bool isTextEncoder(ComponentKind k) {
    return k == ComponentKind::TextEncoder || k == ComponentKind::T5;
}

// The denoiser's bytes: block i, and the rest.
qint64 blockAt(const ComponentPlan& c, int i) {
    return c.fp8 ? c.size.fp8BlockBytes[size_t(i)] : c.size.blockBytes[size_t(i)];
}
qint64 nonBlock(const ComponentPlan& c) {
    if (c.fp8)
        return c.size.fp8NonBlockBytes;
    return c.size.blockBytes.empty() ? c.size.weightBytes : c.size.nonBlockBytes;
}

// The denoiser with K blocks resident (spreadResident()); kept: its part stays between phases.
void setDenoiser(ComponentPlan& c, int residentBlocks, bool kept) {
    const int n = c.size.blocks();
    c.residentBlocks = std::clamp(residentBlocks, 0, n);
    c.kept = kept;
    if (c.residentBlocks == n)
        c.placement = kept ? Placement::Resident : Placement::RunThenRelease;
    else
        c.placement = Placement::Streamed;
}

// Fills the byte figures, the phase peaks and `fits` from the placements.
void evaluate(Plan& p) {
    const PlannerOptions& o = p.input.options;
    p.budgetBytes = std::max<qint64>(0, p.input.budgetBytes);
    p.headroomBytes =
        o.headroomBytes >= 0 ? o.headroomBytes : std::clamp<qint64>(p.budgetBytes / 20, 256 * MiB, GiB);
    p.usableBytes = std::max<qint64>(0, p.budgetBytes - p.headroomBytes);
    p.streamedBytesPerStep = 0;

    for (ComponentPlan& c : p.components) {
        if (c.size.kind == ComponentKind::Denoiser) {
            const int n = c.size.blocks();
            const std::vector<bool> kept = spreadResident(n, c.residentBlocks);
            qint64 resident = nonBlock(c);
            std::vector<qint64> streamed;
            for (int i = 0; i < n; ++i) {
                if (kept[size_t(i)])
                    resident += blockAt(c, i);
                else
                    streamed.push_back(blockAt(c, i));
            }
            qint64 prefetch = 0;
            if (c.placement == Placement::Streamed) {
                p.streamedBytesPerStep = std::accumulate(streamed.begin(), streamed.end(), qint64(0));
                std::sort(streamed.begin(), streamed.end(), std::greater<qint64>());
                for (int i = 0; i < std::max(1, o.prefetchBlocks) && i < int(streamed.size()); ++i)
                    prefetch += streamed[size_t(i)];
            }
            c.runningBytes = resident + prefetch;
            c.stayingBytes = c.kept ? resident : 0;
        } else {
            const bool onGpu = c.placement == Placement::Resident || c.placement == Placement::RunThenRelease;
            c.runningBytes = onGpu ? c.size.weightBytes : 0;
            c.stayingBytes = c.placement == Placement::Resident ? c.size.weightBytes : 0;
            c.kept = c.placement == Placement::Resident;
        }
    }

    qint64 staying = 0;
    for (const ComponentPlan& c : p.components)
        staying += c.stayingBytes;
    // What one running component adds on top of what stays.
    auto running = [](const ComponentPlan& c, qint64 activation) {
        PhasePeak add;
        add.weightBytes = c.stayingBytes > 0 ? c.runningBytes - c.stayingBytes : c.runningBytes;
        add.activationBytes = activation;
        add.runs = c.size.label;
        return add;
    };

    PhasePeak encode;
    encode.weightBytes = staying;
    PhasePeak denoise;
    denoise.weightBytes = staying;
    PhasePeak decode;
    decode.weightBytes = staying;
    qint64 encodeExtra = -1;
    for (const ComponentPlan& c : p.components) {
        if (isTextEncoder(c.size.kind) && c.placement != Placement::Cpu) {
            const PhasePeak add = running(c, c.size.activationBytes);
            if (add.peak() > encodeExtra) {
                encodeExtra = add.peak();
                encode.weightBytes = staying + add.weightBytes;
                encode.activationBytes = add.activationBytes;
                encode.runs = add.runs;
            }
        } else if (c.size.kind == ComponentKind::Denoiser) {
            const PhasePeak add = running(c, c.size.activationBytes);
            denoise.weightBytes = staying + add.weightBytes;
            denoise.activationBytes = add.activationBytes;
            denoise.runs = add.runs;
        } else if (c.size.kind == ComponentKind::Vae) {
            const PhasePeak add = running(c, c.tiled ? c.size.tiledActivationBytes : c.size.activationBytes);
            decode.weightBytes = staying + add.weightBytes;
            decode.activationBytes = add.activationBytes;
            decode.runs = add.runs;
        }
    }
    p.phases = {encode, denoise, decode};
    p.predictedPeakBytes = std::max({encode.peak(), denoise.peak(), decode.peak()});
    p.fits = p.predictedPeakBytes <= p.usableBytes;
    p.problem.clear();
    if (!p.fits) {
        QStringList over;
        for (Phase ph : {Phase::Encode, Phase::Denoise, Phase::Decode}) {
            const PhasePeak& pk = p.phase(ph);
            if (pk.peak() > p.usableBytes)
                over << QStringLiteral("%1 needs %2 (%3: weights %4 + working memory %5)")
                            .arg(phaseName(ph), bytesText(pk.peak()),
                                 pk.runs.isEmpty() ? QStringLiteral("-") : pk.runs, bytesText(pk.weightBytes),
                                 bytesText(pk.activationBytes));
        }
        p.problem = QStringLiteral("Even the smallest plan does not fit a budget of %1 (%2 usable after %3 "
                                   "headroom): %4. Raise the budget, make the image smaller, or allow fp8 "
                                   "storage and tiled decoding.")
                        .arg(bytesText(p.budgetBytes), bytesText(p.usableBytes), bytesText(p.headroomBytes),
                             over.join(QStringLiteral("; ")));
    }
}

bool phaseFits(const Plan& p, Phase ph) {
    return p.phase(ph).peak() <= p.usableBytes;
}

ComponentPlan* findMutable(Plan& p, ComponentKind kind) {
    for (ComponentPlan& c : p.components)
        if (c.size.kind == kind)
            return &c;
    return nullptr;
}

bool canTile(const Plan& p, const ComponentPlan* vae) {
    return vae && !vae->tiled && p.input.options.tilingAllowed && vae->size.tiledActivationBytes > 0 &&
           vae->placement != Placement::Cpu;
}

bool canFp8(const Plan& p, const ComponentPlan* d) {
    return d && !d->fp8 && p.input.options.fp8Allowed && d->size.canUseFp8() &&
           d->size.fp8BlockBytes.size() == d->size.blockBytes.size();
}

// The most resident blocks (< N) with which the denoise phase fits; -1 if none.
int mostResidentBlocks(Plan& p, ComponentPlan& d) {
    const bool kept = d.kept;
    for (int k = d.size.blocks() - 1; k >= 0; --k) {
        setDenoiser(d, k, kept);
        evaluate(p);
        if (phaseFits(p, Phase::Denoise))
            return k;
    }
    return -1;
}

// Keeps things on the GPU again where the plan still fits: the denoiser's part between phases,
// then the released small components, smallest first.
void polish(Plan& p) {
    if (ComponentPlan* d = findMutable(p, ComponentKind::Denoiser); d && !d->kept) {
        setDenoiser(*d, d->residentBlocks, true);
        evaluate(p);
        if (!p.fits) {
            setDenoiser(*d, d->residentBlocks, false);
            evaluate(p);
        }
    }
    std::vector<size_t> order;
    for (size_t i = 0; i < p.components.size(); ++i)
        if (p.components[i].size.kind != ComponentKind::Denoiser &&
            p.components[i].placement == Placement::RunThenRelease)
            order.push_back(i);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return p.components[a].size.weightBytes < p.components[b].size.weightBytes;
    });
    for (size_t i : order) {
        p.components[i].placement = Placement::Resident;
        evaluate(p);
        if (!p.fits) {
            p.components[i].placement = Placement::RunThenRelease;
            evaluate(p);
        }
    }
}

} // namespace

QString componentKindName(ComponentKind kind) {
    switch (kind) {
    case ComponentKind::TextEncoder:
        return QStringLiteral("text encoder");
    case ComponentKind::T5:
        return QStringLiteral("T5");
    case ComponentKind::Denoiser:
        return QStringLiteral("denoiser");
    case ComponentKind::Vae:
        return QStringLiteral("VAE");
    }
    return {};
}

std::vector<bool> spreadResident(int count, int resident) {
    std::vector<bool> out(static_cast<size_t>(std::max(count, 0)), false);
    resident = std::clamp(resident, 0, std::max(count, 0));
    // Block i is resident when the running share resident·i/count crosses an integer there.
    for (int i = 0; i < count; ++i)
        out[static_cast<size_t>(i)] = (int64_t(i + 1) * resident) / count != (int64_t(i) * resident) / count;
    return out;
}

QString placementName(Placement placement) {
    switch (placement) {
    case Placement::Resident:
        return QStringLiteral("resident");
    case Placement::RunThenRelease:
        return QStringLiteral("run-then-release");
    case Placement::Streamed:
        return QStringLiteral("streamed");
    case Placement::Cpu:
        return QStringLiteral("cpu");
    }
    return {};
}

QString phaseName(Phase phase) {
    switch (phase) {
    case Phase::Encode:
        return QStringLiteral("encode");
    case Phase::Denoise:
        return QStringLiteral("denoise");
    case Phase::Decode:
        return QStringLiteral("decode");
    }
    return {};
}

ComponentSize ComponentSize::denoiser(const QString& name, const QString& label, int blocks, qint64 perBlock,
                                      qint64 rest, qint64 activation) {
    ComponentSize s;
    s.name = name;
    s.label = label;
    s.kind = ComponentKind::Denoiser;
    s.blockBytes.assign(size_t(std::max(0, blocks)), perBlock);
    s.nonBlockBytes = rest;
    s.weightBytes = rest + perBlock * std::max(0, blocks);
    s.activationBytes = activation;
    return s;
}

QString ComponentPlan::placementText() const {
    QString t;
    switch (placement) {
    case Placement::Resident:
        t = QStringLiteral("GPU");
        break;
    case Placement::RunThenRelease:
        t = size.kind == ComponentKind::Denoiser ? QStringLiteral("on the GPU while denoising")
                                                 : QStringLiteral("on demand");
        break;
    case Placement::Streamed:
        t = QStringLiteral("%1 of %2 blocks on the GPU, %3 streamed")
                .arg(residentBlocks)
                .arg(size.blocks())
                .arg(size.blocks() - residentBlocks);
        break;
    case Placement::Cpu:
        t = QStringLiteral("CPU");
        break;
    }
    if (fp8)
        t += QStringLiteral(" (fp8)");
    if (tiled)
        t += QStringLiteral(", tiled");
    return t;
}

const ComponentPlan* Plan::find(ComponentKind kind) const {
    for (const ComponentPlan& c : components)
        if (c.size.kind == kind)
            return &c;
    return nullptr;
}

bool Plan::vaeTiled() const {
    const ComponentPlan* v = vae();
    return v && v->tiled;
}

QString Plan::description() const {
    QStringList parts;
    for (const ComponentPlan& c : components)
        parts << QStringLiteral("%1: %2").arg(c.size.label, c.placementText());
    return parts.join(QStringLiteral(" · "));
}

QString Plan::summary() const {
    return QStringLiteral("%1 · peak %2 of %3%4")
        .arg(description(), bytesText(predictedPeakBytes), bytesText(budgetBytes),
             fits ? QString() : QStringLiteral(" (does not fit)"));
}

QJsonObject Plan::toJson() const {
    QJsonArray comps;
    for (const ComponentPlan& c : components) {
        QJsonObject o{{QStringLiteral("name"), c.size.name},
                      {QStringLiteral("label"), c.size.label},
                      {QStringLiteral("kind"), componentKindName(c.size.kind)},
                      {QStringLiteral("placement"), placementName(c.placement)},
                      {QStringLiteral("weightBytes"), double(c.size.weightBytes)},
                      {QStringLiteral("activationBytes"), double(c.size.activationBytes)},
                      {QStringLiteral("runningBytes"), double(c.runningBytes)},
                      {QStringLiteral("keptBytes"), double(c.stayingBytes)}};
        if (c.size.kind == ComponentKind::Denoiser) {
            o.insert(QStringLiteral("blocks"), c.size.blocks());
            o.insert(QStringLiteral("residentBlocks"), c.residentBlocks);
            o.insert(QStringLiteral("fp8"), c.fp8);
            o.insert(QStringLiteral("kept"), c.kept);
        }
        if (c.size.kind == ComponentKind::Vae)
            o.insert(QStringLiteral("tiled"), c.tiled);
        comps.append(o);
    }
    QJsonObject phasesJson;
    for (Phase ph : {Phase::Encode, Phase::Denoise, Phase::Decode}) {
        const PhasePeak& pk = phase(ph);
        phasesJson.insert(phaseName(ph),
                          QJsonObject{{QStringLiteral("peakBytes"), double(pk.peak())},
                                      {QStringLiteral("weightBytes"), double(pk.weightBytes)},
                                      {QStringLiteral("activationBytes"), double(pk.activationBytes)},
                                      {QStringLiteral("runs"), pk.runs}});
    }
    QJsonObject o{{QStringLiteral("description"), description()},
                  {QStringLiteral("budgetBytes"), double(budgetBytes)},
                  {QStringLiteral("headroomBytes"), double(headroomBytes)},
                  {QStringLiteral("predictedPeakBytes"), double(predictedPeakBytes)},
                  {QStringLiteral("fits"), fits},
                  {QStringLiteral("level"), level},
                  {QStringLiteral("vaeTiled"), vaeTiled()},
                  {QStringLiteral("streamedBytesPerStep"), double(streamedBytesPerStep)},
                  {QStringLiteral("phases"), phasesJson},
                  {QStringLiteral("components"), comps}};
    if (!fits)
        o.insert(QStringLiteral("problem"), problem);
    return o;
}

Plan planPlacement(const PlanInput& input) {
    Plan p;
    p.input = input;
    for (const ComponentSize& s : input.components) {
        ComponentPlan c;
        c.size = s;
        c.placement = Placement::Resident;
        c.residentBlocks = s.blocks();
        p.components.push_back(c);
    }
    // 1. Everything resident.
    evaluate(p);
    if (p.fits)
        return p;

    // 2. Release text encoders and the VAE, largest first.
    std::vector<size_t> order;
    for (size_t i = 0; i < p.components.size(); ++i)
        if (p.components[i].size.kind != ComponentKind::Denoiser)
            order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return p.components[a].size.weightBytes > p.components[b].size.weightBytes;
    });
    for (size_t i : order) {
        p.components[i].placement = Placement::RunThenRelease;
        evaluate(p);
        if (p.fits)
            return p;
    }

    // 3. The denoiser leaves while they run.
    ComponentPlan* d = findMutable(p, ComponentKind::Denoiser);
    if (d) {
        setDenoiser(*d, d->residentBlocks, false);
        evaluate(p);
        if (p.fits) {
            polish(p);
            return p;
        }
    }

    // 4. Decode: tiles.
    ComponentPlan* vae = findMutable(p, ComponentKind::Vae);
    if (!phaseFits(p, Phase::Decode) && canTile(p, vae)) {
        vae->tiled = true;
        evaluate(p);
    }
    // 5. Denoise: fp8, then streaming.
    if (d && !phaseFits(p, Phase::Denoise) && canFp8(p, d)) {
        d->fp8 = true;
        evaluate(p);
    }
    if (d && !phaseFits(p, Phase::Denoise) && d->size.blocks() > 0) {
        if (mostResidentBlocks(p, *d) < 0)
            setDenoiser(*d, 0, false);
        evaluate(p);
    }
    // 6. Encode: T5 on the CPU.
    if (!phaseFits(p, Phase::Encode) && input.options.t5OnCpuAllowed) {
        if (ComponentPlan* t5 = findMutable(p, ComponentKind::T5)) {
            t5->placement = Placement::Cpu;
            evaluate(p);
        }
    }
    // 7. Keep what still fits.
    if (p.fits)
        polish(p);
    return p;
}

std::optional<Plan> shrink(const Plan& plan, std::optional<Phase> where) {
    Plan p = plan;
    auto helps = [&](std::initializer_list<Phase> phases) {
        return !where || std::find(phases.begin(), phases.end(), *where) != phases.end();
    };
    auto done = [&]() {
        evaluate(p);
        ++p.level;
        return std::optional<Plan>(p);
    };
    ComponentPlan* d = findMutable(p, ComponentKind::Denoiser);
    ComponentPlan* vae = findMutable(p, ComponentKind::Vae);

    // Release what stays beside the denoiser.
    bool released = false;
    for (ComponentPlan& c : p.components)
        if (c.size.kind != ComponentKind::Denoiser && c.placement == Placement::Resident) {
            c.placement = Placement::RunThenRelease;
            released = true;
        }
    if (released)
        return done();
    // The denoiser leaves while the others run.
    if (d && d->kept && helps({Phase::Encode, Phase::Decode})) {
        setDenoiser(*d, d->residentBlocks, false);
        return done();
    }
    if (helps({Phase::Decode}) && canTile(p, vae)) {
        vae->tiled = true;
        return done();
    }
    if (d && helps({Phase::Denoise})) {
        if (canFp8(p, d)) {
            d->fp8 = true;
            return done();
        }
        const int n = d->size.blocks();
        if (n > 0 && d->residentBlocks > 0) {
            const int step = std::max(1, (n + 7) / 8);
            setDenoiser(*d, d->residentBlocks == n ? n - step : d->residentBlocks - step, d->kept);
            return done();
        }
    }
    if (helps({Phase::Encode}) && plan.input.options.t5OnCpuAllowed) {
        ComponentPlan* t5 = findMutable(p, ComponentKind::T5);
        if (t5 && t5->placement != Placement::Cpu) {
            t5->placement = Placement::Cpu;
            return done();
        }
    }
    return std::nullopt;
}

Plan planAtLevel(const PlanInput& input, int level) {
    Plan p = planPlacement(input);
    for (int i = 0; i < level; ++i) {
        std::optional<Plan> lower = shrink(p);
        if (!lower)
            break;
        p = std::move(*lower);
    }
    return p;
}

} // namespace tp::gpu
