#pragma once

// The engine's tensor names mapped to tensors of one or more safetensors archives, each with
// the steps that turn the stored tensor into the engine's (WeightSource.h). The loader
// (core/nn/WeightLoader.h) reads a module's weights through one of these, so a diffusers
// folder (the identity map) and a single-file checkpoint in the original LDM/SGM layout (a
// converted map, core/io/SingleFileComponent.h) load the same way. Core only: libtorch types.

#include "core/common/Result.h"
#include "core/io/SafeTensors.h"
#include "core/io/WeightSource.h"

#include <ATen/ATen.h>

#include <QHash>
#include <QString>
#include <QStringList>

#include <vector>

namespace tp::io {

// A mapped tensor's dtype (the stored one) and its shape after the ops.
struct WeightInfo {
    DType dtype = DType::F32;
    std::vector<qint64> shape;
};

class WeightMap final {
public:
    WeightMap() = default;

    // Every tensor of `archive` whose name starts with `prefix`, under its name without the
    // prefix, unchanged. What loading a diffusers folder's component means.
    static WeightMap identity(const SafeTensorsArchive& archive, const QString& prefix = {});

    // Adds an archive that entries refer to by the returned index (0 for the first).
    int addArchive(SafeTensorsArchive archive);
    const std::vector<SafeTensorsArchive>& archives() const { return m_archives; }
    // Adds or replaces the entry `name`. The source's archive index must exist.
    void set(const QString& name, WeightSource source);
    void remove(const QString& name) { m_entries.remove(name); }

    bool contains(const QString& name) const { return m_entries.contains(name); }
    int size() const { return int(m_entries.size()); }
    bool isEmpty() const { return m_entries.isEmpty(); }
    QStringList names() const; // sorted
    // nullptr when there is no such entry.
    const WeightSource* source(const QString& name) const;

    // The mapped tensor's dtype and shape, from the headers alone. Fails when there is no entry,
    // its source tensor is not in the archive, or an op does not fit the stored shape.
    Result<WeightInfo> info(const QString& name) const;
    // The mapped tensor, contiguous, on `device` with `type`. Without ops and on the CPU with
    // the stored dtype this is a view of the file mapping (SafeTensorsArchive::load); a slice
    // of dim 0 stays a view too; other ops copy.
    Result<at::Tensor> load(const QString& name, at::Device device, at::ScalarType type) const;

    // For messages: the entry's source ("key[0:768]"), or the name as the archive would spell it
    // (the identity map's prefix + name) when there is no entry.
    QString describe(const QString& name) const;
    // The archives' file names, for messages ("v1-5-pruned-emaonly.safetensors").
    QString fileNames() const;

private:
    std::vector<SafeTensorsArchive> m_archives;
    QHash<QString, WeightSource> m_entries;
    QString m_prefix; // identity(): the prefix the names lost, for describe()
};

} // namespace tp::io
