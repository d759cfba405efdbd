#pragma once

// The files that complete a transformer-only SD 3.x or Flux checkpoint, the way ComfyUI and Forge
// users keep them: text encoders (`clip_l.safetensors`, `clip_g.safetensors`,
// `t5xxl_fp16.safetensors`, `t5xxl_fp8_e4m3fn.safetensors`) and VAEs (`ae.safetensors` for Flux,
// an SD 3 VAE). A file is recognised by its tensors, not its name: CLIP by its token embedding
// (768 wide: CLIP-L, 1280: CLIP-G/bigG), T5 by `encoder.block.*`, a VAE by its LDM encoder and
// decoder and its latent channels; the name only breaks ties the shapes cannot (tiny test models,
// SD 3's and Flux's VAEs, which have the same shapes). Torch-free; headers only.

#include "core/common/Result.h"
#include "core/io/SafeTensorsHeader.h"

#include <QString>
#include <QStringList>

#include <memory>
#include <optional>
#include <vector>

namespace tp::io {

enum class CompanionKind {
    ClipL, // CLIP ViT-L text encoder (768 wide)
    ClipG, // OpenCLIP bigG text encoder (1280 wide)
    Clip,  // a CLIP text encoder of another width whose name does not say which (tiny models)
    T5,    // T5-XXL encoder
    Vae,   // an LDM-layout VAE (Flux's ae.safetensors, SD 3's)
};

// "CLIP-L", "CLIP-G", "CLIP", "T5-XXL", "VAE".
QString companionKindName(CompanionKind kind);

struct CompanionFile {
    QString path; // absolute
    CompanionKind kind = CompanionKind::Clip;
    QString prefix;        // the key prefix of its tensors ("" for ComfyUI's files)
    bool openClip = false; // CLIP in OpenCLIP's layout (transformer.resblocks, fused in_proj)
    qint64 width = 0;      // text encoders: hidden width; VAE: latent channels
    qint64 projection = 0; // CLIP: text_projection's output width; 0 when it has none
    bool fp8 = false;      // its large weights are F8_E4M3/F8_E5M2
    qint64 sizeBytes = 0;
    std::shared_ptr<const Header> header;

    bool isTextEncoder() const { return kind != CompanionKind::Vae; }
    bool isClip() const {
        return kind == CompanionKind::ClipL || kind == CompanionKind::ClipG || kind == CompanionKind::Clip;
    }
    QString fileName() const;
};

// What `header` (of the file at `path`) is as a companion; nullopt when it is none (a checkpoint
// with a denoiser, a LoRA, anything else).
std::optional<CompanionFile> identifyCompanion(const QString& path, const Header& header);
// The same, reading the header (cached by path, size and modification time, so that a catalogue
// scan reads each file once). Fails when the file cannot be read or is not valid safetensors.
Result<std::optional<CompanionFile>> identifyCompanionFile(const QString& path);

// The folders a checkpoint's companions are looked for in, those that exist: its own folder, then
// the siblings of that folder that ComfyUI (`text_encoders`, `clip`, `vae`) and Forge/A1111
// (`text_encoder`, `VAE`) use, any case.
QStringList companionFolders(const QString& checkpointPath);
// Every companion file in companionFolders(checkpointPath), the checkpoint itself left out;
// unreadable files are skipped.
std::vector<CompanionFile> findCompanions(const QString& checkpointPath);

} // namespace tp::io
