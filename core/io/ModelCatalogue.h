#pragma once

// The models on this machine: bundled model folders, the user's search paths and the
// Hugging Face cache. Torch-free (the UI includes it). Scanning reads JSON and safetensors
// headers only, never the weights.

#include "core/common/Result.h"
#include "core/io/ModelFamily.h"
#include "core/io/SingleFileCheckpoint.h"

#include <QString>
#include <QStringList>
#include <QVector>

namespace tp::io {

struct ModelInfo {
    // Folder name; the repo id ("ORG/NAME") for Hugging Face cache entries; a single file's name
    // without ".safetensors" (A1111's model name: "v1-5-pruned-emaonly").
    QString name;
    QString family;         // "SD 1.x", "SD 2.x", "SDXL", "SD 3.x", "Flux", "unknown"
    bool supported = false; // the engine can run it (family supported, files intact)
    // Absolute path of the model: the diffusers folder (a snapshot for the HF cache), or the
    // file itself for a single-file checkpoint (format "single-file" or "pickle").
    QString folder;
    QString format = QStringLiteral("diffusers"); // "diffusers", "single-file", "pickle"
    qint64 sizeBytes = 0;                         // weight + config files, following links
    QString precision; // "fp16", "fp32", "bf16", "mixed" from the weight headers; empty if unreadable
    QString source;    // "bundled", "hf-cache", "folder"
    QString repoId;    // "stabilityai/stable-diffusion-3.5-large" for HF cache entries, else empty
    QString problem;   // why it is unsupported or broken; empty when supported
    ModelFamily familyId = ModelFamily::Unknown;
    // The settings it generates best with (its family's, adjusted for distilled variants).
    GenerationDefaults defaults;
    int nativeSize = 0; // the image side it was trained at (UNet sample_size x VAE scale); 0 if unknown
    // SD 3.x / Flux single files: the separate text encoder and VAE files that complete it (found
    // beside it, core/io/Companions.h); sizeBytes counts them.
    QStringList companions;
    // What such a file still lacks ("CLIP-L", "T5-XXL", "VAE"; problem says where to put it).
    QStringList missingParts;
    // Families that can run without their T5 (io::FamilyTraits::optionalT5): what its weights take
    // on the GPU in half precision (fp8 weights stay one byte); 0 when the model has no T5.
    qint64 t5Bytes = 0;
};

// One place the scan looked, for "nothing found" messages.
struct SearchedLocation {
    QString kind; // "bundled", "folder", "hf-cache"
    QString path;
    bool exists = false;
};

class ModelCatalogue final {
public:
    // Scans, in this order: bundledDirs (folders holding model folders; their models come
    // first), searchPaths (each a model folder itself, a single-file checkpoint, or a folder
    // of model folders and single files — A1111's models/Stable-diffusion/ — one level down),
    // then the Hugging Face cache (defaultHfCacheDir()). A model reached twice is listed once.
    // Single files are read as far as their header, never the weights; *.ckpt/*.pt pickles are
    // listed as not supported; text encoder and VAE files found in a folder are not models and are
    // left out (they are an SD 3.x / Flux file's companions). Broken entries are listed with a problem;
    // nothing aborts the scan.
    static ModelCatalogue scan(const QStringList& searchPaths, const QStringList& bundledDirs);
    // The same with the cache folder given (empty: no cache).
    static ModelCatalogue scan(const QStringList& searchPaths, const QStringList& bundledDirs,
                               const QString& hfCacheDir);

    // HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub.
    static QString defaultHfCacheDir();
    // Describes one diffusers folder or single-file checkpoint (what scan() does for each entry).
    static ModelInfo inspect(const QString& folder, const QString& source, const QString& name = {},
                             const QString& repoId = {});
    // Describes one file: a .safetensors single-file checkpoint (with `options`' companion files),
    // or a pickle checkpoint.
    static ModelInfo inspectFile(const QString& path, const QString& source,
                                 const SingleFileOptions& options = {});

    const QVector<ModelInfo>& models() const { return m_models; }
    bool isEmpty() const { return m_models.isEmpty(); }
    const QVector<SearchedLocation>& searched() const { return m_searched; }
    qint64 scanMilliseconds() const { return m_scanMs; }

    // The catalogue entry for a name, a repo id ("stabilityai/stable-diffusion-3.5-large", any
    // case, or its cache folder name "models--ORG--NAME") or a model folder or file path; nullptr if none.
    // Valid as long as this catalogue.
    const ModelInfo* find(const QString& nameOrPath) const;
    // find(), and else a diffusers folder or checkpoint file outside the catalogue (inspected
    // now); fails with a message listing the known names. A single file is inspected again with
    // `companions` when they name text encoder or VAE files.
    Result<ModelInfo> resolve(const QString& nameOrPath, const SingleFileOptions& companions = {}) const;
    // The model to use when none is named: the first supported bundled model, else the first
    // supported model found; nullptr when there is none.
    const ModelInfo* defaultModel() const;

private:
    void add(ModelInfo info);
    void scanContainer(const QString& dir, const QString& source);
    void scanFiles(const QString& dir, const QString& source);
    void scanHfCache(const QString& cacheDir);

    QVector<ModelInfo> m_models;
    QVector<SearchedLocation> m_searched;
    QStringList m_seenFolders; // canonical paths
    qint64 m_scanMs = 0;
};

// "models--ORG--NAME" → "ORG/NAME" (empty when not a model cache folder).
QString repoIdFromCacheFolder(const QString& folderName);
// The snapshot folder refs/main names, else the only or newest snapshot; empty if none.
// `why` says what was used when refs/main could not be.
QString hfSnapshotFolder(const QString& repoCacheDir, QString* why = nullptr);
// "1.2 GiB", "345 MiB", "12 KiB".
QString formatSize(qint64 bytes);

} // namespace tp::io
