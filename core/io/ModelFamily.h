#pragma once

// What differs between the model families, seen from outside the engine: which components a
// diffusers folder must hold, the settings a model of the family generates best with, the
// sizes it was trained for and the samplers that apply. Torch-free: the catalogue, the CLI and
// the GUI read it. The engine side of a family (its text conditioning, denoiser and latent
// format) lives in core/pipeline, one group of files per family (see core/pipeline/Families.cpp).

#include <QJsonObject>
#include <QSize>
#include <QString>
#include <QStringList>
#include <QVector>

namespace tp::io {

enum class ModelFamily { SD1, SD2, SDXL, SD3, Flux, Unknown };

// "SD 1.x", "SD 2.x", "SDXL", "SD 3.x", "Flux", "unknown".
QString familyName(ModelFamily family);

// The settings a model generates best with (what the form offers when the model is chosen).
struct GenerationDefaults {
    int steps = 20;
    double guidance = 7.5;
    QString sampler = QStringLiteral("euler_a");
    int width = 512;
    int height = 512;
    // The guidance range that makes sense (distilled models: 0..1; Flux dev's embedded guidance).
    double minGuidance = 1.0;
    double maxGuidance = 30.0;
    bool negativePrompt = true; // false: the model ignores it (Flux, guidance-distilled turbo models)
};

struct FamilyTraits {
    ModelFamily family = ModelFamily::Unknown;
    QString name;
    // The engine can run models of this family.
    bool supported = false;
    // Components a diffusers folder of this family must list in model_index.json.
    QStringList requiredComponents;
    // Components it may leave out ([null, null] in model_index.json), e.g. SD 3's T5.
    QStringList optionalComponents;
    QString denoiserComponent;   // "unet" / "transformer"
    QStringList denoiserClasses; // accepted _class_name of the denoiser
    GenerationDefaults defaults;
    // Samplers offered for this family, the default first.
    QStringList samplers;
    // Sizes the family was trained for (width x height), the native square first.
    QVector<QSize> sizePresets;
    // The latent grid must be a multiple of this many pixels.
    int sizeMultiple = 8;
    // The T5 text encoder component a run may leave out ("text_encoder_3" for SD 3.x: zeros stand in
    // for its tokens, as diffusers allows; ~9.5 GB of T5-XXL saved for a small loss of prompt
    // fidelity); empty when the family has no T5 or cannot run without it (Flux: diffusers'
    // FluxPipeline has no run without T5, whose tokens are its only text context).
    QString optionalT5;
    // The GPU precision "auto" means for this family: fp16, or bf16 where fp16 overflows (SD 3's
    // and Flux's activations; their T5 too).
    QString autoPrecision = QStringLiteral("fp16");
};

// SDXL's micro-conditioning (diffusers' original_size, crops_coords_top_left, target_size);
// 0 = the image's own size, crop (0, 0).
struct SizeConditioning {
    int originalWidth = 0;
    int originalHeight = 0;
    int cropLeft = 0;
    int cropTop = 0;
    int targetWidth = 0;
    int targetHeight = 0;

    bool isDefault() const {
        return !originalWidth && !originalHeight && !cropLeft && !cropTop && !targetWidth && !targetHeight;
    }
};

const FamilyTraits& familyTraits(ModelFamily family);
// The precision words a device resolves for a model of `family`: "auto" (or empty) becomes the
// family's half precision (bf16 for SD 3 and Flux, where fp16 overflows; fp16 otherwise), "fp8" becomes
// "fp8:" + that; anything else is returned as is.
QString familyPrecision(const QString& precision, ModelFamily family);
// Whether the engine can run this family now.
bool familySupported(ModelFamily family);

// The defaults for one model: its family's, adjusted for known distilled variants (SDXL Turbo and
// Lightning, SD 3.5 Large Turbo, Flux schnell: few steps, little or no guidance), recognised from
// the repository id / folder name and the scheduler config, and for the size the model was
// trained at (`nativeSize`, 0 = unknown).
GenerationDefaults modelDefaults(ModelFamily family, const QString& nameOrRepoId,
                                 const QJsonObject& schedulerConfig = {}, int nativeSize = 0);

} // namespace tp::io
