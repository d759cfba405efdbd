#include "core/gpu/VramBudget.h"

#include "core/common/Bytes.h"

#include <QRegularExpression>

#include <cmath>

namespace tp::gpu {
namespace {

constexpr qint64 KiB = 1024;
constexpr qint64 MiB = KiB * 1024;
constexpr qint64 GiB = MiB * 1024;
constexpr qint64 TiB = GiB * 1024;
constexpr qint64 kMaxBytes = TiB;

QString quoted(const QString& text) {
    return QLatin1Char('\'') + (text.size() > 40 ? text.left(37) + QStringLiteral("...") : text) +
           QLatin1Char('\'');
}

// "--budget: " before a message, or nothing when `what` is empty (the caller names it).
QString lead(const QString& what) {
    return what.isEmpty() ? QString() : what + QStringLiteral(": ");
}

QString gib(qint64 bytes) {
    return formatBytes(bytes, QLocale::c(), 2);
}

} // namespace

QString BudgetSetting::text() const {
    switch (mode) {
    case Mode::Auto:
        return QStringLiteral("auto");
    case Mode::All:
        return QStringLiteral("all");
    case Mode::Size:
        if (bytes % GiB == 0)
            return QStringLiteral("%1 GiB").arg(bytes / GiB);
        if (bytes % MiB == 0)
            return QStringLiteral("%1 MiB").arg(bytes / MiB);
        return QStringLiteral("%1 B").arg(bytes);
    }
    return {};
}

Result<qint64> parseByteSize(const QString& text, const QString& what) {
    static const QRegularExpression re(QStringLiteral("^([0-9]+(?:\\.[0-9]+)?)\\s*([A-Za-z]*)$"));
    const QString t = text.trimmed();
    const QString hint =
        QStringLiteral("; write a size such as 12GiB, 12 GB or 12000MiB (a plain number is GiB)");
    if (t.isEmpty())
        return Result<qint64>::fail(QStringLiteral("%1the size is empty%2").arg(lead(what), hint));
    const QRegularExpressionMatch m = re.match(t);
    if (!m.hasMatch())
        return Result<qint64>::fail(QStringLiteral("%1%2 is not a size%3").arg(lead(what), quoted(t), hint));
    bool ok = false;
    const double number = m.captured(1).toDouble(&ok);
    const QString unit = m.captured(2).toLower();
    double scale = 0;
    if (unit.isEmpty() || unit == QLatin1String("gib"))
        scale = double(GiB);
    else if (unit == QLatin1String("b"))
        scale = 1;
    else if (unit == QLatin1String("kib"))
        scale = double(KiB);
    else if (unit == QLatin1String("mib"))
        scale = double(MiB);
    else if (unit == QLatin1String("tib"))
        scale = double(TiB);
    else if (unit == QLatin1String("kb"))
        scale = 1e3;
    else if (unit == QLatin1String("mb"))
        scale = 1e6;
    else if (unit == QLatin1String("gb"))
        scale = 1e9;
    else if (unit == QLatin1String("tb"))
        scale = 1e12;
    else if (unit == QLatin1String("k") || unit == QLatin1String("m") || unit == QLatin1String("g") ||
             unit == QLatin1String("t"))
        return Result<qint64>::fail(
            QStringLiteral("%1%2 is ambiguous: write %3iB (powers of 1024) or %3B (powers of 1000)")
                .arg(lead(what), quoted(t), m.captured(2).toUpper()));
    else
        return Result<qint64>::fail(QStringLiteral("%1%2 has an unknown unit %3 (use B, KiB, MiB, GiB, TiB, "
                                                   "KB, MB, GB or TB)")
                                        .arg(lead(what), quoted(t), quoted(m.captured(2))));
    if (!ok || !std::isfinite(number))
        return Result<qint64>::fail(QStringLiteral("%1%2 is not a size%3").arg(lead(what), quoted(t), hint));
    const double bytes = number * scale;
    if (bytes < 1)
        return Result<qint64>::fail(
            QStringLiteral("%1%2 is zero; a budget must be positive").arg(lead(what), quoted(t)));
    if (bytes > double(kMaxBytes)) {
        QString e =
            QStringLiteral("%1%2 is more than 1 TiB, more than any GPU has").arg(lead(what), quoted(t));
        if (unit.isEmpty())
            e += QStringLiteral(" (a plain number is GiB: did you mean %1MiB?)").arg(m.captured(1));
        return Result<qint64>::fail(e);
    }
    return Result<qint64>::ok(qint64(std::llround(bytes)));
}

Result<BudgetSetting> parseBudget(const QString& text, const QString& what) {
    const QString t = text.trimmed().toLower();
    BudgetSetting s;
    if (t == QLatin1String("auto"))
        return Result<BudgetSetting>::ok(s);
    if (t == QLatin1String("all")) {
        s.mode = BudgetSetting::Mode::All;
        return Result<BudgetSetting>::ok(s);
    }
    const Result<qint64> bytes = parseByteSize(text, what);
    if (!bytes) {
        // A word that is no size at all: say that auto and all exist too.
        static const QRegularExpression word(QStringLiteral("^[A-Za-z_-]+$"));
        if (word.match(text.trimmed()).hasMatch())
            return Result<BudgetSetting>::fail(
                QStringLiteral("%1%2 is not auto, all or a size such as 12GiB, 12 GB or 12000MiB")
                    .arg(lead(what), quoted(text.trimmed())));
        return Result<BudgetSetting>::fail(bytes.error());
    }
    s.mode = BudgetSetting::Mode::Size;
    s.bytes = *bytes;
    return Result<BudgetSetting>::ok(s);
}

VramBudget computeBudget(const BudgetInputs& in) {
    VramBudget b;
    b.mode = in.setting.mode;
    const bool reading = in.deviceFreeBytes >= 0;
    if (reading)
        b.usableBytes = in.deviceFreeBytes + std::max<qint64>(0, in.ourReservedBytes);
    const QString usableText =
        reading ? QStringLiteral("usable %1 (free %2 + ours %3%4)")
                      .arg(gib(b.usableBytes), gib(in.deviceFreeBytes),
                           gib(std::max<qint64>(0, in.ourReservedBytes)),
                           in.deviceTotalBytes > 0 ? QStringLiteral(" of %1").arg(gib(in.deviceTotalBytes))
                                                   : QString())
                : QString();

    switch (in.setting.mode) {
    case BudgetSetting::Mode::Size:
        b.bytes = in.setting.bytes;
        if (reading && b.bytes > b.usableBytes) {
            b.bytes = b.usableBytes;
            b.clamped = true;
            b.explanation = QStringLiteral("budget %1: %2 asked, but only %3 is usable now (%4)")
                                .arg(gib(b.bytes), gib(in.setting.bytes), gib(b.usableBytes), usableText);
        } else {
            b.explanation = QStringLiteral("budget %1 (set)%2")
                                .arg(gib(b.bytes), reading ? QStringLiteral("; ") + usableText : QString());
        }
        return b;
    case BudgetSetting::Mode::All:
        if (!reading) {
            b.explanation = QStringLiteral("budget all: unknown (no reading of the device's free memory)");
            return b;
        }
        b.bytes = b.usableBytes;
        b.explanation = QStringLiteral("budget %1 (all): %2").arg(gib(b.bytes), usableText);
        return b;
    case BudgetSetting::Mode::Auto:
        break;
    }

    qint64 missing = 0;
    QStringList models;
    for (const OllamaVram& m : in.ollama) {
        missing += m.missingBytes();
        models << (m.missingBytes() > 0
                       ? QStringLiteral("%1 needs %2 more").arg(m.name, gib(m.missingBytes()))
                       : QStringLiteral("%1 on the GPU").arg(m.name));
    }
    b.ollamaBytes = in.ollama.isEmpty() ? 0 : missing + std::max<qint64>(0, in.ollamaMarginBytes);
    b.reserveBytes = std::max<qint64>(0, in.reserveBytes);
    if (!reading) {
        b.explanation = QStringLiteral("budget auto: unknown (no reading of the device's free memory)");
        return b;
    }
    b.bytes = std::max<qint64>(0, b.usableBytes - b.ollamaBytes - b.reserveBytes);
    b.explanation =
        QStringLiteral("budget %1 (auto) = %2 − Ollama %3 − reserve %4")
            .arg(gib(b.bytes), usableText,
                 in.ollama.isEmpty() ? QStringLiteral("0 (no model loaded)")
                                     : QStringLiteral("%1 (%2; margin %3)")
                                           .arg(gib(b.ollamaBytes), models.join(QStringLiteral(", ")),
                                                gib(std::max<qint64>(0, in.ollamaMarginBytes))),
                 gib(b.reserveBytes));
    return b;
}

} // namespace tp::gpu
