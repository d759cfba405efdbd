#include "core/io/ModelFamily.h"

#include "core/common/Samplers.h"

#include <algorithm>
#include <array>

namespace tp::io {

namespace {

// Samplers of the discrete-time families (diffusers' schedulers over a 1000-step schedule): the
// one list (core/common/Samplers.h) but for the flow-matching Heun.
QStringList discreteSamplers(const QString& first) {
    QStringList all = discreteSamplerNames();
    all.removeAll(first);
    all.prepend(first);
    return all;
}

// The flow-matching families (SD 3, Flux): Euler and Heun on the flow-match schedule.
QStringList flowSamplers() {
    return {QStringLiteral("euler"), QStringLiteral("heun")};
}

QVector<QSize> squareAnd(int side, std::initializer_list<QSize> landscape) {
    QVector<QSize> out{QSize(side, side)};
    for (const QSize& s : landscape)
        out << s;
    for (const QSize& s : landscape)
        out << s.transposed();
    return out;
}

FamilyTraits makeSd1() {
    FamilyTraits t;
    t.family = ModelFamily::SD1;
    t.name = QStringLiteral("SD 1.x");
    t.supported = true;
    t.requiredComponents = {QStringLiteral("text_encoder"), QStringLiteral("tokenizer"),
                            QStringLiteral("unet"), QStringLiteral("vae"), QStringLiteral("scheduler")};
    t.denoiserComponent = QStringLiteral("unet");
    t.denoiserClasses = {QStringLiteral("UNet2DConditionModel")};
    t.defaults.steps = 20;
    t.defaults.guidance = 7.5;
    t.defaults.sampler = QStringLiteral("euler_a");
    t.defaults.width = t.defaults.height = 512;
    t.samplers = discreteSamplers(t.defaults.sampler);
    t.sizePresets = squareAnd(512, {QSize(768, 512), QSize(640, 512)});
    return t;
}

FamilyTraits makeSd2() {
    FamilyTraits t = makeSd1();
    t.family = ModelFamily::SD2;
    t.name = QStringLiteral("SD 2.x");
    t.defaults.width = t.defaults.height = 768; // the 768-v models; 512-base models say so in their config
    t.sizePresets = squareAnd(768, {QSize(1024, 768), QSize(768, 512)}) + squareAnd(512, {});
    return t;
}

FamilyTraits makeSdxl() {
    FamilyTraits t;
    t.family = ModelFamily::SDXL;
    t.name = QStringLiteral("SDXL");
    t.supported = true;
    t.requiredComponents = {QStringLiteral("text_encoder"), QStringLiteral("text_encoder_2"),
                            QStringLiteral("tokenizer"),    QStringLiteral("tokenizer_2"),
                            QStringLiteral("unet"),         QStringLiteral("vae"),
                            QStringLiteral("scheduler")};
    t.denoiserComponent = QStringLiteral("unet");
    t.denoiserClasses = {QStringLiteral("UNet2DConditionModel")};
    // The Python original's settings for SDXL.
    t.defaults.steps = 30;
    t.defaults.guidance = 7.5;
    t.defaults.sampler = QStringLiteral("euler");
    t.defaults.width = t.defaults.height = 1024;
    t.samplers = discreteSamplers(t.defaults.sampler);
    // SDXL's training buckets near one megapixel.
    t.sizePresets = squareAnd(1024, {QSize(1152, 896), QSize(1216, 832), QSize(1344, 768), QSize(1536, 640)});
    return t;
}

FamilyTraits makeSd3() {
    FamilyTraits t;
    t.family = ModelFamily::SD3;
    t.name = QStringLiteral("SD 3.x");
    t.supported = true;
    t.requiredComponents = {QStringLiteral("text_encoder"), QStringLiteral("text_encoder_2"),
                            QStringLiteral("tokenizer"),    QStringLiteral("tokenizer_2"),
                            QStringLiteral("transformer"),  QStringLiteral("vae"),
                            QStringLiteral("scheduler")};
    t.optionalComponents = {QStringLiteral("text_encoder_3"), QStringLiteral("tokenizer_3")};
    t.optionalT5 = QStringLiteral("text_encoder_3");
    t.denoiserComponent = QStringLiteral("transformer");
    t.denoiserClasses = {QStringLiteral("SD3Transformer2DModel")};
    // The Python original's settings for SD 3.5 Large (its default model).
    t.defaults.steps = 28;
    t.defaults.guidance = 4.5;
    t.defaults.sampler = QStringLiteral("euler");
    t.defaults.width = 1024;
    t.defaults.height = 768;
    t.samplers = flowSamplers();
    t.sizePresets = squareAnd(1024, {QSize(1024, 768), QSize(1216, 832), QSize(1344, 768)});
    t.sizeMultiple = 16; // 8x VAE, 2x2 patches
    t.autoPrecision = QStringLiteral("bf16");
    return t;
}

FamilyTraits makeFlux() {
    FamilyTraits t;
    t.family = ModelFamily::Flux;
    t.name = QStringLiteral("Flux");
    t.supported = true;
    t.requiredComponents = {QStringLiteral("text_encoder"), QStringLiteral("text_encoder_2"),
                            QStringLiteral("tokenizer"),    QStringLiteral("tokenizer_2"),
                            QStringLiteral("transformer"),  QStringLiteral("vae"),
                            QStringLiteral("scheduler")};
    t.denoiserComponent = QStringLiteral("transformer");
    t.denoiserClasses = {QStringLiteral("FluxTransformer2DModel")};
    // The Python original's settings for Flux dev: guidance is embedded, not a second pass.
    t.defaults.steps = 25;
    t.defaults.guidance = 3.5;
    t.defaults.sampler = QStringLiteral("euler");
    t.defaults.width = t.defaults.height = 1024;
    t.defaults.minGuidance = 0.0;
    t.defaults.maxGuidance = 10.0;
    t.defaults.negativePrompt = false;
    t.samplers = flowSamplers();
    t.sizePresets = squareAnd(1024, {QSize(1216, 832), QSize(1344, 768)});
    t.sizeMultiple = 16; // 8x VAE, 2x2 packing
    t.autoPrecision = QStringLiteral("bf16");
    return t;
}

FamilyTraits makeUnknown() {
    FamilyTraits t;
    t.name = QStringLiteral("unknown");
    t.samplers = discreteSamplers(QStringLiteral("euler_a"));
    t.sizePresets = squareAnd(512, {});
    return t;
}

} // namespace

QString familyPrecision(const QString& precision, ModelFamily family) {
    if (precision == QLatin1String("auto") || precision.isEmpty())
        return familyTraits(family).autoPrecision;
    if (precision == QLatin1String("fp8") || precision == QLatin1String("fp8mm"))
        return precision + QLatin1Char(':') + familyTraits(family).autoPrecision;
    return precision;
}

const FamilyTraits& familyTraits(ModelFamily family) {
    static const std::array<FamilyTraits, 6> table{makeSd1(), makeSd2(),  makeSdxl(),
                                                   makeSd3(), makeFlux(), makeUnknown()};
    return table[static_cast<size_t>(family)];
}

QString familyName(ModelFamily family) {
    return familyTraits(family).name;
}

bool familySupported(ModelFamily family) {
    return familyTraits(family).supported;
}

GenerationDefaults modelDefaults(ModelFamily family, const QString& nameOrRepoId,
                                 const QJsonObject& schedulerConfig, int nativeSize) {
    GenerationDefaults d = familyTraits(family).defaults;
    const QString name = nameOrRepoId.toLower();
    const auto named = [&](const char* word) { return name.contains(QLatin1String(word)); };
    if (nativeSize > 0) {
        d.width = d.height = nativeSize;
        // SD 3: the original's landscape 4:3 (1024x768 for 3.5 Large), in steps of 16.
        if (family == ModelFamily::SD3)
            d.height = std::max(16, (nativeSize * 3 / 4) / 16 * 16);
    }
    switch (family) {
    case ModelFamily::SDXL:
        // SDXL Turbo: 1-4 steps without guidance at 512²; Lightning: 4-8 steps, no guidance.
        if (named("turbo")) {
            d.steps = 4;
            d.guidance = 0.0;
            d.sampler = QStringLiteral("euler_a");
            d.minGuidance = 0.0;
            d.negativePrompt = false;
        } else if (named("lightning") || named("hyper")) {
            d.steps = 8;
            d.guidance = 0.0;
            d.minGuidance = 0.0;
            d.negativePrompt = false;
        }
        break;
    case ModelFamily::SD3:
        if (named("turbo")) { // SD 3.5 Large Turbo: 4 steps, guidance 0 (no second pass)
            d.steps = 4;
            d.guidance = 0.0;
            d.minGuidance = 0.0;
            d.maxGuidance = 1.0;
            d.negativePrompt = false;
        }
        if (named("medium")) {
            d.height = d.width;
            d.steps = named("3.5") ? 40 : 28;
            d.guidance = named("3.5") ? 4.5 : 7.0;
        }
        break;
    case ModelFamily::Flux:
        // schnell is timestep-distilled without a guidance embedding: 4 steps, guidance unused.
        if (named("schnell")) {
            d.steps = 4;
            d.guidance = 0.0;
            d.maxGuidance = 0.0;
        }
        break;
    default:
        break;
    }
    // A scheduler saved with "trailing" spacing and few training-free steps is a distilled model's.
    if (schedulerConfig.value(QLatin1String("timestep_spacing")).toString() == QLatin1String("trailing") &&
        (family == ModelFamily::SD1 || family == ModelFamily::SDXL) && d.steps > 8) {
        d.steps = 4;
        d.guidance = 0.0;
        d.minGuidance = 0.0;
        d.negativePrompt = false;
    }
    return d;
}

} // namespace tp::io
