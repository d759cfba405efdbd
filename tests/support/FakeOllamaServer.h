#pragma once

#include "tests/support/FakeHttpServer.h"

#include <QDateTime>
#include <QJsonArray>
#include <QStringList>

namespace tp::test {

// Speaks Ollama's real JSON shapes (api/types.go): GET /, /api/version, /api/tags,
// /api/ps; POST /api/generate streamed (the default) or not, and the keep_alive 0
// unload, which also drops the model from /api/ps. Misbehaviour is scripted through
// http().script(...).
class FakeOllamaServer final : public FakeHttpServer {
    Q_OBJECT
public:
    explicit FakeOllamaServer(QObject* parent = nullptr);

    // Entries as Ollama writes them.
    static QJsonObject tagEntry(const QString& name, qint64 size,
                                const QString& family = QStringLiteral("llama"),
                                const QString& parameterSize = QStringLiteral("7.2B"),
                                const QString& quantization = QStringLiteral("Q4_0"));
    static QJsonObject psEntry(const QString& name, qint64 size, qint64 sizeVram,
                               const QDateTime& expiresAt = QDateTime::currentDateTimeUtc().addSecs(300));

    void setVersion(const QString& v) { m_version = v; }
    void setInstalled(const QJsonArray& models) { m_installed = models; }
    void setLoaded(const QJsonArray& models) { m_loaded = models; }
    QJsonArray loaded() const { return m_loaded; }
    // The text a generation answers with; streamed as `chunks` pieces, `delayMs` apart.
    void setGenerateText(const QString& text) { m_text = text; }
    void setStreamChunks(const QStringList& chunks, int delayMs) {
        m_chunks = chunks;
        m_chunkDelayMs = delayMs;
    }

private:
    FakeResponse generate(const HttpRequest& req);
    QJsonObject finalObject(const QString& model, const QString& response, const QString& reason) const;

    QString m_version = QStringLiteral("0.12.3");
    QJsonArray m_installed;
    QJsonArray m_loaded;
    QString m_text = QStringLiteral("red fox, autumn forest, golden light");
    QStringList m_chunks;
    int m_chunkDelayMs = 0;
};

} // namespace tp::test
