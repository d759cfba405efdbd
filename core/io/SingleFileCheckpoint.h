#pragma once

// A single-file checkpoint: the one .safetensors that most SD 1.x/2.x/SDXL users have
// (A1111/Civitai, `models/Stable-diffusion/`), with the UNet, VAE and text encoders in the
// original LDM/SGM layout; or an SD 3.x / Flux file (SAI, BFL, ComfyUI layouts), whose missing
// text encoders and VAE come from companion files given in the options or found beside it
// (core/io/Companions.h). From the header alone (never the weights) this tells the family,
// whether TwistedPic can run it and, if not, why; and for each component the diffusers
// config.json it would have, inferred from tensor shapes, with the mapping of its tensors
// (core/io/CheckpointKeyMap.h), the scheduler config of the family and the tokenizers to use
// (single files carry none: the CLIP vocabulary ships with the app).
//
// Torch-free (the catalogue and the GUI include it). The engine turns a component's mapping
// into a WeightMap with core/io/SingleFileComponent.h and loads it with nn::loadWeights.

#include "core/common/Result.h"
#include "core/io/CheckpointKeyMap.h"
#include "core/io/Companions.h"
#include "core/io/ModelFolder.h"
#include "core/io/SafeTensorsHeader.h"

#include <QJsonObject>
#include <QMap>
#include <QString>
#include <QStringList>

#include <vector>

namespace tp::io {

struct SingleFileOptions {
    // A diffusers folder whose `<component>/config.json`, `scheduler/scheduler_config.json` and
    // `tokenizer*/` folders replace the inferred ones where present (diffusers'
    // `from_single_file(config=...)`): for models whose configs the shapes cannot tell
    // (non-standard head counts, norm groups or vocabularies, as in tiny test models).
    QString configFolder;
    // "epsilon" or "v_prediction": replaces what the file says (see predictionType()).
    QString predictionType;
    // SD 3.x and Flux: separate text encoder files (CLIP-L, CLIP-G, T5-XXL: ComfyUI's clip_l,
    // clip_g, t5xxl_fp16 / t5xxl_fp8_e4m3fn) and a VAE file (Flux's ae.safetensors, an SD 3 VAE)
    // for what the checkpoint lacks; they replace the checkpoint's own where it has them. Each is
    // recognised by its tensors (core/io/Companions.h); a file that is none of these is refused.
    QStringList textEncoderFiles;
    QString vaeFile;
    // SD 3.x and Flux: what is still missing is looked for next to the checkpoint and in the
    // sibling folders ComfyUI and Forge keep such files in (companionFolders()).
    bool findCompanions = true;
};

// A component that comes from another file than the checkpoint.
struct CompanionUse {
    QString component; // "text_encoder", "text_encoder_2", "text_encoder_3", "vae"
    QString path;      // the companion file
    CompanionKind kind = CompanionKind::Clip;
    bool given = false; // SingleFileOptions named it (else it was found)
};

// Which tokenizer a text encoder uses.
struct TokenizerChoice {
    QString component; // "tokenizer", "tokenizer_2", "tokenizer_3"
    QString folder;    // a CLIP tokenizer folder (vocab.json + merges.txt, or tokenizer.json), or T5's
                       // (spiece.model)
    // The pad token to use instead of the folder's own when not empty: "!" for OpenCLIP text
    // encoders (SD 2.x, SDXL's second), whose tokenizer is CLIP's vocabulary padded with id 0.
    QString padToken;
};

class SingleFileCheckpoint final {
public:
    // Reads the header of `path` (8 + N bytes) and classifies the file. Fails only when the file
    // cannot be read or its header is not valid safetensors (truncated or damaged: the message
    // names the file); every other problem — an unknown layout, a family or variant TwistedPic
    // does not run, shapes that contradict the family — opens with supported() false and
    // problem() saying why, so the catalogue can list it.
    static Result<SingleFileCheckpoint> open(const QString& path, const SingleFileOptions& options = {});

    QString path() const { return m_path; }
    qint64 fileSize() const { return m_fileSize; }
    const Header& header() const { return m_header; }

    ModelFamily family() const { return m_family; }
    // What the file holds beyond its family: "" for a complete text-to-image checkpoint, else
    // "refiner", "inpainting", "instruct-pix2pix", "UNet only", "no VAE", "VAE only",
    // "text encoder only", "LoRA", "unknown layout", and for SD 3.x/Flux "transformer only"
    // (BFL's flux1-dev.safetensors, sd3.5_large.safetensors) or "partial".
    QString variant() const { return m_variant; }
    bool supported() const { return m_problem.isEmpty(); }
    // Why the engine cannot run it; empty when supported().
    QString problem() const { return m_problem; }
    // Things worth a log line (tensors left unused, how the prediction type was chosen).
    QStringList notes() const { return m_notes; }
    // The components taken from companion files (SD 3.x and Flux), in load order.
    const std::vector<CompanionUse>& companions() const { return m_companions; }
    // Their files, each once.
    QStringList companionFiles() const;
    // What an SD 3.x / Flux file still lacks after its companions ("CLIP-L", "CLIP-G", "T5-XXL",
    // "VAE"); problem() says where to put the files. Empty when nothing is missing (SD 3 without
    // T5 runs: T5 is not listed then).
    QStringList missingParts() const { return m_missingParts; }
    // The checkpoint's size plus its companions'.
    qint64 totalSize() const;
    // "fp16", "fp32", "bf16", "mixed" over the floating-point tensors (as WeightSummary).
    QString precision() const { return m_precision; }
    // The image side the model was trained at (512 SD 1.x, 512/768 SD 2.x, 1024 SDXL); 0 if unknown.
    int nativeSize() const { return m_nativeSize; }
    // model_index.json's _class_name for the family ("StableDiffusionPipeline",
    // "StableDiffusionXLPipeline"); empty when unknown.
    QString pipelineClass() const;
    // The model_index.json a diffusers folder of this model would have: _class_name, one
    // [library, class] entry per component (scheduler and tokenizers included) and the
    // pipeline's own settings (SDXL base: force_zeros_for_empty_prompt true, as diffusers'
    // from_single_file takes them from stabilityai/stable-diffusion-xl-base-1.0); the config
    // folder's model_index.json when it has one.
    QJsonObject modelIndex() const;

    // "epsilon" or "v_prediction" ("flow" for SD 3.x and Flux, which are flow-matching models).
    // SD 2.x cannot be told from the keys; the rule, first match:
    // SingleFileOptions::predictionType; the metadata (`modelspec.prediction_type` "v"/"epsilon",
    // `prediction_type`, `modelspec.architecture` "…-v", kohya's `ss_v_parameterization`); a
    // `v_pred` marker tensor; the file name ("768-v", "v-pred", "vpred", "v_pred", then "768" → v,
    // "512" → epsilon for SD 2.x); else v_prediction for SD 2.x (diffusers' from_single_file does
    // the same: most SD 2.x files are the 768-v models) and epsilon for the others.
    QString predictionType() const { return m_predictionType; }
    // Which rule chose it, for logs ("metadata modelspec.prediction_type = v").
    QString predictionTypeReason() const { return m_predictionReason; }

    // The model components the file holds and the engine would load, in load order
    // ("text_encoder", "text_encoder_2", "unet", "vae"; SD 3.x: "text_encoder", "text_encoder_2",
    // "text_encoder_3" (T5), "transformer", "vae"; Flux: "text_encoder" (CLIP-L),
    // "text_encoder_2" (T5), "transformer", "vae"), those present in the file or taken from its companion
    // files (companions(); mapping().file names the file). Available whenever the layout
    // is understood, even for a family the engine cannot run yet (supported() says that); empty for a
    // refiner, an inpainting model, an unknown layout, contradicting shapes, ...
    QStringList components() const;
    // The component's config and tensor mapping. Fails when the file has no such component.
    Result<ComponentMapping> mapping(const QString& component) const;
    Result<QJsonObject> config(const QString& component) const;
    // The family's scheduler config (diffusers' defaults for its pipelines: the SD 1.5 PNDM
    // config, SD 2.x's DDIM config with the prediction type, SDXL's EulerDiscrete config), or
    // the config folder's.
    QJsonObject schedulerConfig() const { return m_schedulerConfig; }
    // The tokenizers of the text encoders ("tokenizer" for "text_encoder", "tokenizer_2", ...): the
    // vocabularies shipped with the app (CLIP's BPE, padded with "!" for OpenCLIP encoders; T5's
    // SentencePiece model in tokenizers/t5), or the config folder's. Fails when a shipped folder
    // is missing (a broken installation).
    Result<std::vector<TokenizerChoice>> tokenizers() const;

private:
    void classify(const SingleFileOptions& options);
    void buildComponents(const SingleFileOptions& options);
    void buildDitComponents(const SingleFileOptions& options);
    // "put the VAE in …/vae and the text encoders in …/text_encoders, or both next to the file".
    QString whereCompanionsGo(bool vae, bool text) const;
    bool takeParts(std::vector<std::pair<QString, Result<ComponentMapping>>>& parts);
    void applyConfigFolder(const QString& folder);
    void contradiction(const QString& detail);

    QString m_path;
    qint64 m_fileSize = 0;
    Header m_header;
    ModelFamily m_family = ModelFamily::Unknown;
    QString m_variant;
    QString m_problem;
    QStringList m_notes;
    QString m_precision;
    int m_nativeSize = 0;
    QString m_predictionType = QStringLiteral("epsilon");
    QString m_predictionReason;
    std::vector<ComponentMapping> m_components;
    std::vector<CompanionUse> m_companions;
    QStringList m_missingParts;
    QJsonObject m_schedulerConfig;
    std::vector<TokenizerChoice> m_tokenizers; // config folder's; empty: the shipped vocabulary
    QJsonObject m_modelIndex;                  // config folder's model_index.json, if any
};

// "*.safetensors" (case-insensitive).
bool isSafeTensorsFileName(const QString& fileName);
// "*.ckpt", "*.pt", "*.pth", "*.bin": PyTorch pickles, refused for safety.
bool isPickleCheckpointFileName(const QString& fileName);

} // namespace tp::io
