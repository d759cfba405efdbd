#include "core/gpu/ProcessNames.h"

#include <QCoreApplication>
#include <QFile>

namespace tp::gpu {

QString processName(qint64 pid) {
    if (pid <= 0)
        return {};
    QFile comm(QStringLiteral("/proc/%1/comm").arg(pid));
    if (!comm.open(QIODevice::ReadOnly))
        return {};
    return QString::fromUtf8(comm.readAll()).trimmed();
}

bool isOllamaProcessName(const QString& name) {
    // Every Ollama binary name starts so; a runner started by the server is "ollama" again
    // (recent versions) or "ollama_llama_server" (older ones), truncated to 15 by the kernel.
    return name.startsWith(QLatin1String("ollama"), Qt::CaseInsensitive);
}

qint64 selfPid() {
    return QCoreApplication::applicationPid();
}

} // namespace tp::gpu
