#pragma once

// What the planner learns from runs: measured working memory per component, and the plan level
// a model must start from after an out-of-memory error. A small JSON file in the state folder
// (paths::stateDir()/plan-memory.json); losing it costs nothing but the lessons. Torch-free.
//
// Keys: family + component label + size bucket, where the bucket is the image's pixel count
// times the batch in units of 512² pixels, rounded up ("px4" = 1024² at batch 1, or 1024×768 ...
// up to 4 · 512²). A measured figure therefore stands for every request of its bucket, which
// holds at most as many pixels as the largest request measured there, so it errs high.
//
// The estimate used: max(formula, learned × 1.1).

#include "core/common/Result.h"
#include "core/gpu/PlacementPlanner.h"

#include <QHash>
#include <QString>

namespace tp::gpu {

struct RequestSize {
    int width = 512;
    int height = 512;
    int batch = 1;
};

class PlanMemory final {
public:
    // A store backed by `path` (not read until load()).
    explicit PlanMemory(QString path = defaultPath());
    // paths::stateDir() + "/plan-memory.json".
    static QString defaultPath();

    QString path() const { return m_path; }
    // Reads the file; a missing file is an empty store. A damaged file fails (the store stays
    // empty, and the next save() replaces it).
    Status load();
    // Writes the file atomically, creating its folder.
    Status save() const;

    // "px4" for 1024×1024 at batch 1.
    static QString sizeBucket(const RequestSize& size);
    // "SD 3.x/T5/px4"; `label` is the component's label, with " tiled" for a tiled VAE decode.
    static QString activationKey(const QString& family, const QString& label, const RequestSize& size);

    // The largest working memory measured for this key; 0 when none was.
    qint64 learnedActivation(const QString& family, const QString& label, const RequestSize& size) const;
    // Keeps the larger of the stored and the measured figure. Negative or zero figures are ignored.
    void recordActivation(const QString& family, const QString& label, const RequestSize& size,
                          qint64 activationBytes);
    // max(formula, learned · 1.1).
    static qint64 adjusted(qint64 formulaBytes, qint64 learnedBytes);
    // Replaces each component's activationBytes (and a VAE's tiledActivationBytes) by adjusted().
    void applyLearned(PlanInput& input, const QString& family, const RequestSize& size) const;
    // A phase's measured peak (the caching allocator's peak allocated bytes while it ran, with the
    // peak statistics reset at its start) minus the weights the plan had on the GPU then, recorded
    // for the component that made the plan's peak of that phase.
    void recordPhasePeak(const Plan& plan, Phase phase, qint64 peakAllocatedBytes, const QString& family,
                         const RequestSize& size);

    // The shrink level a model starts from at this size (0: the planner's first plan).
    int level(const QString& model, const RequestSize& size) const;
    void setLevel(const QString& model, const RequestSize& size, int level);
    // After an out-of-memory error with `plan`: its level + 1 from now on (the retry's level).
    void recordOutOfMemory(const QString& model, const RequestSize& size, const Plan& plan);
    // Forgets every level of `model` (empty: of all models).
    void resetLevels(const QString& model = {});

private:
    QString m_path;
    QHash<QString, qint64> m_activations;
    QHash<QString, int> m_levels;
};

} // namespace tp::gpu
