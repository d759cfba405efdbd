#pragma once

#include <QString>
#include <QStringList>
#include <QtGlobal>

#include <limits>

// The limits of one generation request, in one place: the settings table, the form, the CLI and
// the generation coordinator all read them from here.
namespace tp::limits {

constexpr int MinSteps = 1;
constexpr int MaxSteps = 150;
constexpr double MinGuidance = 0.0;
constexpr double MaxGuidance = 30.0;
constexpr int MinSide = 64;
constexpr int MaxSide = 4096;
constexpr int SideMultiple = 8;
constexpr int MinCount = 1;
constexpr int MaxCount = 16;
constexpr int MinClipSkip = 1;
constexpr int MaxClipSkip = 4;

// Seeds are 64-bit (torch.Generator().manual_seed takes any 64-bit value): 0 .. 2^63-1, so that
// every seed fits a qint64 and -1 can mean "random". Image i of a request uses seed + i, so a
// request's first seed may be at most MaxSeed - (count - 1): every seed it records is one that
// --seed and the form accept again. Random seeds are drawn below 2^32, like the Python original.
constexpr qint64 MaxSeed = std::numeric_limits<qint64>::max();
constexpr qint64 MaxRandomSeed = 4294967295LL;

// "Size follows the model": a size whose longer side is more than twice, or less than half, the
// model's native size draws noise; such a size is replaced by the native one when the user did
// not choose it for this request (the CLI without --width/--height, the form on a model change).
inline bool sizeFarFromNative(int width, int height, int nativeSize) {
    const int side = width > height ? width : height;
    return nativeSize > 0 && (side > 2 * nativeSize || side * 2 < nativeSize);
}

// Precisions the settings offer, in order. "fp8" stores the denoiser's weights in 8 bits (half the
// memory) and computes in the family's half precision; it needs libtorch 2.1+ (the engine says so).
// "fp8mm" (opt-in) also multiplies in fp8 on GPUs with fp8 tensor cores (compute capability 8.9+).
inline QStringList precisionNames() {
    return {QStringLiteral("auto"), QStringLiteral("fp16"), QStringLiteral("bf16"),
            QStringLiteral("fp32"), QStringLiteral("fp8"),  QStringLiteral("fp8mm")};
}
// Empty when `name` is one of precisionNames(); otherwise why not, and what to use instead.
inline QString unsupportedPrecisionMessage(const QString& name) {
    if (precisionNames().contains(name))
        return {};
    return QStringLiteral("'%1' is not a precision; use one of %2.")
        .arg(name.left(40), precisionNames().join(QStringLiteral(", ")));
}

} // namespace tp::limits
