#pragma once

#include "core/gpu/VramSource.h"

#include <QVector>

#include <atomic>
#include <mutex>

namespace tp::test {

// A fake GPU for monitor and UI tests: replays scripted samples in order, then keeps returning
// the last one (or starts over with `loop`). Thread-safe: the monitor samples from its thread.
class ScriptedVramSource final : public gpu::VramSource {
public:
    explicit ScriptedVramSource(QVector<gpu::VramSample> script, bool loop = false);

    gpu::VramSample sample() override;
    QString name() const override { return QStringLiteral("scripted"); }

    int calls() const { return m_calls.load(); }
    void setScript(QVector<gpu::VramSample> script);

    // Helpers that build samples: one GPU with `usedMiB` of `totalMiB` in use (an Ollama process
    // holding `ollamaMiB` when > 0), or "no GPU" for `reason`.
    static gpu::VramSample gpuSample(qint64 usedMiB, qint64 totalMiB = 8192, qint64 ollamaMiB = 0,
                                     qint64 msecsSinceEpoch = 0);
    static gpu::VramSample noGpuSample(const QString& reason);

private:
    mutable std::mutex m_mutex;
    QVector<gpu::VramSample> m_script;
    bool m_loop = false;
    int m_next = 0;
    std::atomic<int> m_calls{0};
};

} // namespace tp::test
