#include "core/common/Samplers.h"

namespace tp {

const QVector<SamplerInfo>& samplers() {
    // pndm is diffusers' PLMS.
    static const QVector<SamplerInfo> list = {
        {QStringLiteral("euler_a"), QStringLiteral("Euler a")},
        {QStringLiteral("euler"), QStringLiteral("Euler")},
        {QStringLiteral("dpmpp_2m"), QStringLiteral("DPM++ 2M")},
        {QStringLiteral("dpmpp_2m_karras"), QStringLiteral("DPM++ 2M Karras")},
        {QStringLiteral("ddim"), QStringLiteral("DDIM")},
        {QStringLiteral("pndm"), QStringLiteral("PLMS")},
        {QStringLiteral("lms"), QStringLiteral("LMS")},
        {QStringLiteral("lcm"), QStringLiteral("LCM")},
        // Flow matching (SD 3, Flux): their Euler is "euler"; Heun is theirs alone.
        {QStringLiteral("heun"), QStringLiteral("Heun")},
    };
    return list;
}

QStringList samplerNames() {
    QStringList names;
    for (const SamplerInfo& s : samplers())
        names << s.name;
    return names;
}

QStringList discreteSamplerNames() {
    QStringList names = samplerNames();
    names.removeAll(QStringLiteral("heun")); // flow matching only (SD 3, Flux: "flow_heun")
    return names;
}

} // namespace tp
