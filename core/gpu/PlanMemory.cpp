#include "core/gpu/PlanMemory.h"

#include "core/common/Paths.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QSaveFile>

#include <algorithm>
#include <cmath>

namespace tp::gpu {
namespace {

const QString kActivations = QStringLiteral("activations");
const QString kLevels = QStringLiteral("levels");
const QString kVersion = QStringLiteral("version");
constexpr int kFileVersion = 1;

QString levelKey(const QString& model, const RequestSize& size) {
    return model + QLatin1Char('/') + PlanMemory::sizeBucket(size);
}

// The label a VAE's tiled decode is learned under.
QString tiledLabel(const QString& label) {
    return label + QStringLiteral(" tiled");
}

} // namespace

PlanMemory::PlanMemory(QString path)
    : m_path(std::move(path)) {}

QString PlanMemory::defaultPath() {
    return paths::stateDir() + QStringLiteral("/plan-memory.json");
}

Status PlanMemory::load() {
    m_activations.clear();
    m_levels.clear();
    QFile file(m_path);
    if (!file.exists())
        return Status::ok();
    if (!file.open(QIODevice::ReadOnly))
        return Status::fail(QStringLiteral("%1: %2").arg(m_path, file.errorString()));
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(file.read(4 * 1024 * 1024), &error);
    if (!doc.isObject())
        return Status::fail(QStringLiteral("%1 is not a JSON object (%2); it will be replaced")
                                .arg(m_path, error.errorString()));
    const QJsonObject root = doc.object();
    const QJsonObject acts = root.value(kActivations).toObject();
    for (auto it = acts.begin(); it != acts.end(); ++it)
        if (const double v = it.value().toDouble(); v > 0 && std::isfinite(v))
            m_activations.insert(it.key(), qint64(v));
    const QJsonObject levels = root.value(kLevels).toObject();
    for (auto it = levels.begin(); it != levels.end(); ++it)
        if (const int v = it.value().toInt(); v > 0)
            m_levels.insert(it.key(), std::min(v, 64));
    return Status::ok();
}

Status PlanMemory::save() const {
    QJsonObject acts;
    for (auto it = m_activations.begin(); it != m_activations.end(); ++it)
        acts.insert(it.key(), double(it.value()));
    QJsonObject levels;
    for (auto it = m_levels.begin(); it != m_levels.end(); ++it)
        levels.insert(it.key(), it.value());
    const QJsonObject root{{kVersion, kFileVersion}, {kActivations, acts}, {kLevels, levels}};
    if (!QDir().mkpath(QFileInfo(m_path).absolutePath()))
        return Status::fail(QStringLiteral("%1: cannot create its folder").arg(m_path));
    QSaveFile file(m_path);
    if (!file.open(QIODevice::WriteOnly))
        return Status::fail(QStringLiteral("%1: %2").arg(m_path, file.errorString()));
    file.write(QJsonDocument(root).toJson(QJsonDocument::Indented));
    if (!file.commit())
        return Status::fail(QStringLiteral("%1: %2").arg(m_path, file.errorString()));
    return Status::ok();
}

QString PlanMemory::sizeBucket(const RequestSize& s) {
    const qint64 pixels = qint64(std::max(1, s.width)) * std::max(1, s.height) * std::max(1, s.batch);
    constexpr qint64 unit = 512 * 512;
    return QStringLiteral("px%1").arg((pixels + unit - 1) / unit);
}

QString PlanMemory::activationKey(const QString& family, const QString& label, const RequestSize& size) {
    return family + QLatin1Char('/') + label + QLatin1Char('/') + sizeBucket(size);
}

qint64 PlanMemory::learnedActivation(const QString& family, const QString& label,
                                     const RequestSize& size) const {
    return m_activations.value(activationKey(family, label, size), 0);
}

void PlanMemory::recordActivation(const QString& family, const QString& label, const RequestSize& size,
                                  qint64 activationBytes) {
    if (activationBytes <= 0)
        return;
    qint64& v = m_activations[activationKey(family, label, size)];
    v = std::max(v, activationBytes);
}

qint64 PlanMemory::adjusted(qint64 formulaBytes, qint64 learnedBytes) {
    return std::max(formulaBytes, qint64(std::ceil(double(learnedBytes) * 1.1)));
}

void PlanMemory::applyLearned(PlanInput& input, const QString& family, const RequestSize& size) const {
    for (ComponentSize& c : input.components) {
        c.activationBytes = adjusted(c.activationBytes, learnedActivation(family, c.label, size));
        if (c.kind == ComponentKind::Vae && c.tiledActivationBytes > 0)
            c.tiledActivationBytes =
                adjusted(c.tiledActivationBytes, learnedActivation(family, tiledLabel(c.label), size));
    }
}

void PlanMemory::recordPhasePeak(const Plan& plan, Phase phase, qint64 peakAllocatedBytes,
                                 const QString& family, const RequestSize& size) {
    const PhasePeak& pk = plan.phase(phase);
    if (pk.runs.isEmpty() || peakAllocatedBytes <= 0)
        return;
    QString label = pk.runs;
    if (phase == Phase::Decode && plan.vaeTiled())
        label = tiledLabel(label);
    recordActivation(family, label, size, peakAllocatedBytes - pk.weightBytes);
}

int PlanMemory::level(const QString& model, const RequestSize& size) const {
    return m_levels.value(levelKey(model, size), 0);
}

void PlanMemory::setLevel(const QString& model, const RequestSize& size, int level) {
    if (level <= 0)
        m_levels.remove(levelKey(model, size));
    else
        m_levels.insert(levelKey(model, size), std::min(level, 64));
}

void PlanMemory::recordOutOfMemory(const QString& model, const RequestSize& size, const Plan& plan) {
    setLevel(model, size, std::max(level(model, size), plan.level + 1));
}

void PlanMemory::resetLevels(const QString& model) {
    if (model.isEmpty()) {
        m_levels.clear();
        return;
    }
    const QString prefix = model + QLatin1Char('/');
    for (auto it = m_levels.begin(); it != m_levels.end();)
        it = it.key().startsWith(prefix) ? m_levels.erase(it) : std::next(it);
}

} // namespace tp::gpu
