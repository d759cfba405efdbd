#include "core/io/Fp8.h"

#include <torch/version.h>

#include <cmath>
#include <limits>

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define TP_HAVE_FLOAT8 1
#else
#define TP_HAVE_FLOAT8 0
#endif

namespace tp::io {

bool fp8StorageAvailable() {
    return TP_HAVE_FLOAT8 != 0;
}

std::optional<at::ScalarType> fp8ScalarType(DType dtype) {
#if TP_HAVE_FLOAT8
    if (dtype == DType::F8_E4M3)
        return at::kFloat8_e4m3fn;
    if (dtype == DType::F8_E5M2)
        return at::kFloat8_e5m2;
#else
    (void)dtype;
#endif
    return std::nullopt;
}

bool isFp8(at::ScalarType type) {
#if TP_HAVE_FLOAT8
    return type == at::kFloat8_e4m3fn || type == at::kFloat8_e5m2;
#else
    (void)type;
    return false;
#endif
}

namespace {
float decodeCode(int code, DType format) {
    const float sign = (code & 0x80) ? -1.0f : 1.0f;
    const bool e4m3 = format == DType::F8_E4M3;
    const int mantissaBits = e4m3 ? 3 : 2;
    const int bias = e4m3 ? 7 : 15;
    const int exponentMax = e4m3 ? 15 : 31;
    const int exponent = (code & 0x7f) >> mantissaBits;
    const int mantissa = code & ((1 << mantissaBits) - 1);
    const float fraction = float(mantissa) / float(1 << mantissaBits);
    if (e4m3 && exponent == exponentMax && mantissa == (1 << mantissaBits) - 1)
        return std::numeric_limits<float>::quiet_NaN();
    if (!e4m3 && exponent == exponentMax)
        return mantissa == 0 ? sign * std::numeric_limits<float>::infinity()
                             : std::numeric_limits<float>::quiet_NaN();
    if (exponent == 0) // subnormal
        return sign * std::ldexp(fraction, 1 - bias);
    return sign * std::ldexp(1.0f + fraction, exponent - bias);
}
} // namespace

at::Tensor fp8DecodeTable(DType format) {
    at::Tensor table = at::empty({256}, at::TensorOptions().dtype(at::kFloat));
    float* p = table.data_ptr<float>();
    for (int code = 0; code < 256; ++code)
        p[code] = decodeCode(code, format);
    return table;
}

at::Tensor decodeFp8(const at::Tensor& codes, DType format, at::Device device, at::ScalarType type) {
#if TP_HAVE_FLOAT8
    if (const auto fp8 = fp8ScalarType(format)) {
        at::Tensor typed = codes.scalar_type() == *fp8 ? codes : codes.view(*fp8);
        // On the device first: a GPU converts a layer in microseconds; the copy moves 1 byte/weight.
        return typed.to(device).to(type);
    }
#endif
    const at::Tensor raw = codes.to(at::kCPU).contiguous();
    const at::Tensor flat = raw.reshape({-1}).to(at::kLong);
    at::Tensor values = fp8DecodeTable(format).index_select(0, flat).view(raw.sizes());
    return values.to(device, type);
}

} // namespace tp::io
