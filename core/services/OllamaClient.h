#pragma once

#include "core/common/Result.h"
#include "core/services/HttpJson.h"

#include <QDateTime>
#include <QJsonValue>
#include <QMetaType>
#include <QObject>
#include <QString>
#include <QVector>

#include <functional>
#include <limits>

namespace tp::services {

// One entry of GET /api/tags (an installed model).
struct OllamaModel {
    QString name; // "llama3.2:latest"
    QString model;
    qint64 size = 0; // bytes on disk
    QString digest;
    QDateTime modifiedAt;
    QString format;            // details.format, "gguf"
    QString family;            // details.family
    QString parameterSize;     // details.parameter_size, "3.2B"
    QString quantizationLevel; // details.quantization_level, "Q4_K_M"
};

// One entry of GET /api/ps (a model Ollama holds in memory).
struct OllamaLoadedModel {
    QString name;
    QString model;
    qint64 size = 0;     // bytes in memory, GPU + CPU
    qint64 sizeVram = 0; // bytes on the GPU
    QString digest;
    QDateTime expiresAt; // when Ollama unloads it unless used again
    QString family;
    QString parameterSize;
    QString quantizationLevel;
    int contextLength = 0; // newer Ollama only; 0 = not reported

    // Share of the model on the GPU, 0..1 (0 when size is unknown).
    double gpuFraction() const;
    // Rounded like `ollama ps`: 0..100.
    int gpuPercent() const;
    bool partlyOnCpu() const { return size > 0 && sizeVram < size; }
    // Exactly what `ollama ps` prints in its PROCESSOR column: "100% GPU", "100% CPU",
    // "38%/62% CPU/GPU", or "Unknown".
    QString processor() const;
    // For people: "mistral:latest — 100% GPU", "llama3.1:8b — 38% CPU / 62% GPU".
    QString shareText() const;
};

// POST /api/generate options. Unset fields are left out of the request.
struct GenerateOptions {
    double temperature = std::numeric_limits<double>::quiet_NaN();
    int numPredict = -1;  // options.num_predict
    QJsonValue keepAlive; // "5m", seconds, 0 (unload) or negative (forever); Undefined = server default
    QString system;       // overrides the model's system prompt when not empty
};

// The final object of a generation. Durations are Ollama's, in nanoseconds.
struct GenerateResult {
    QString model;
    QString response;   // the whole text (streamed chunks joined)
    QString doneReason; // "stop", "length", "unload"
    qint64 totalDurationNs = 0;
    qint64 loadDurationNs = 0;
    qint64 promptEvalCount = 0;
    qint64 promptEvalDurationNs = 0;
    qint64 evalCount = 0;
    qint64 evalDurationNs = 0;
    double wallMs = 0; // as measured here
};

// Talks to an Ollama server (default http://localhost:11434). Every call is
// asynchronous: the callback runs once on this object's thread, never after the
// client is destroyed. The returned handle cancels.
class OllamaClient final : public QObject {
    Q_OBJECT
public:
    static QUrl defaultUrl() { return QUrl(QStringLiteral("http://localhost:11434")); }

    explicit OllamaClient(const QUrl& baseUrl = defaultUrl(), QObject* parent = nullptr);

    QUrl baseUrl() const { return m_http->baseUrl(); }
    void setBaseUrl(const QUrl& url) { m_http->setBaseUrl(url); }
    // Time limit of generate calls (status calls use shortTimeoutMs).
    void setGenerateTimeoutMs(int ms) { m_generateTimeoutMs = ms; }
    void setShortTimeoutMs(int ms) { m_shortTimeoutMs = ms; }
    HttpJson& http() { return *m_http; }

    // GET / answers "Ollama is running".
    RequestHandle health(std::function<void(Status)> done);
    // GET /api/version → "0.12.3".
    RequestHandle version(std::function<void(Result<QString>)> done);
    // GET /api/tags.
    RequestHandle installedModels(std::function<void(Result<QVector<OllamaModel>>)> done);
    // GET /api/ps, within `timeoutMs` (0: shortTimeoutMs).
    RequestHandle loadedModels(std::function<void(Result<QVector<OllamaLoadedModel>>)> done,
                               int timeoutMs = 0);
    // POST /api/generate with "stream": false.
    RequestHandle generate(const QString& model, const QString& prompt, const GenerateOptions& options,
                           std::function<void(Result<GenerateResult>)> done);
    // POST /api/generate streamed: `onChunk` gets each partial "response" as it arrives.
    RequestHandle generateStream(const QString& model, const QString& prompt, const GenerateOptions& options,
                                 std::function<void(const QString& chunk)> onChunk,
                                 std::function<void(Result<GenerateResult>)> done);
    // POST /api/generate {"model": model, "keep_alive": 0}: Ollama frees the model now
    // (done_reason "unload"); its next request loads it again.
    RequestHandle unload(const QString& model, std::function<void(Result<GenerateResult>)> done);

    // The parsers, public for tests and for callers holding a body already.
    static Result<QVector<OllamaModel>> parseTags(const QJsonDocument& doc);
    static Result<QVector<OllamaLoadedModel>> parseLoaded(const QJsonDocument& doc);
    static GenerateResult parseGenerateFinal(const QJsonObject& o);
    static QJsonObject generateBody(const QString& model, const QString& prompt,
                                    const GenerateOptions& options, bool stream);

private:
    HttpJson::Options shortOptions() const;
    HttpJson* m_http = nullptr;
    int m_generateTimeoutMs = 120000;
    int m_shortTimeoutMs = 5000;
};

} // namespace tp::services

Q_DECLARE_METATYPE(tp::services::OllamaLoadedModel)
