#include "app/cli/CliOllamaVram.h"

#include "core/services/OllamaClient.h"
#include "core/services/OllamaVram.h"
#include "core/settings/Settings.h"

#include <QEventLoop>

namespace tp::cli {

QVector<gpu::OllamaVram> ollamaVramNow(const Settings& settings, QString* note) {
    QVector<gpu::OllamaVram> out;
    const QString url = settings.ollamaUrl();
    services::OllamaClient client{QUrl(url)};
    QEventLoop loop;
    bool done = false;
    client.loadedModels(
        [&](const Result<QVector<services::OllamaLoadedModel>>& r) {
            if (r)
                out = services::toOllamaVram(*r);
            else if (note)
                *note = QStringLiteral("Ollama (%1) did not answer: %2").arg(url, r.error());
            done = true;
            loop.quit();
        },
        services::OllamaVramTimeoutMs);
    if (!done)
        loop.exec();
    return out;
}

} // namespace tp::cli
