#pragma once

#include "core/common/Result.h"
#include "core/services/HttpJson.h"

#include <QHash>
#include <QMetaType>
#include <QObject>
#include <QString>
#include <QVariantMap>

#include <functional>

namespace tp {
class Settings;
}

namespace tp::services {

class OllamaClient;
class TwistedPairClient;

// What the prompt pipeline does with a prompt. fromSettings() reads the prompt/* keys.
struct PromptPipelineConfig {
    bool distortEnabled = false;
    QString mode = QStringLiteral("echo_er");
    QString tone = QStringLiteral("neutral");
    int gain = 5;
    QString distortModel = QStringLiteral("mistral:latest"); // empty: TwistedPair's default

    bool refineEnabled = true; // only runs on distorted text, as in the original
    QString refinerModel = QStringLiteral("mistral:latest");
    int refinerKeywords = 20;
    QString refinerTemplate; // {text}, {count}; empty: the settings default
    double refinerTemperature = 0.3;
    int refinerNumPredict = 150;

    QString wrapperTemplate = QStringLiteral(" ;{distorted}; "); // {distorted}, {prompt}

    static PromptPipelineConfig fromSettings(const Settings& settings);
    // `base` with distortion on and "mode,tone,gain[,model]" applied (the CLI's
    // --distort), validated against the documented modes, tones and gain range.
    static Result<PromptPipelineConfig> withDistortSpec(const PromptPipelineConfig& base,
                                                        const QString& spec);
    static QString defaultRefinerTemplate();
};

struct PromptPipelineResult {
    bool ok = false;
    bool cancelled = false;
    QString input;       // the prompt as typed
    QString distorted;   // TwistedPair's text (empty when distortion is off or failed)
    QString refined;     // Ollama's keywords (empty when refinement is off or failed)
    QString finalPrompt; // what to generate from (empty when a stage failed)

    // When a stage failed: which, whose service, and why (naming the service and URL).
    QString failedStage;   // "distort" or "refine"
    QString failedService; // "TwistedPair" or "Ollama"
    QString error;
    // Offered instead, when a stage failed: the prompt as typed, and (when only the
    // refinement failed) the wrapped distorted text, as the original fell back to.
    QString promptAsTyped;
    QString unrefinedPrompt;

    // Every stage (inputs, outputs, settings, timings, models, the failure) for the
    // image's sidecar, e.g. GenerationRequest::extra["promptPipeline"].
    QVariantMap record;
};

// prompt → TwistedPair distortion → Ollama refinement into visual keywords → wrapper
// template → final prompt. Asynchronous and cancellable; one run at a time.
class PromptPipeline final : public QObject {
    Q_OBJECT
public:
    PromptPipeline(TwistedPairClient* twistedPair, OllamaClient* ollama, QObject* parent = nullptr);
    ~PromptPipeline() override;

    // Starts a run (cancelling one in progress). `done` runs once, after this returns,
    // just before finished() is emitted.
    void run(const QString& prompt, const PromptPipelineConfig& config,
             std::function<void(const PromptPipelineResult&)> done = {});
    void cancel();
    bool isRunning() const { return m_running; }

    // Replaces {name} for each key of `values` in one pass (replacement text is never
    // searched again); unknown {words} stay as they are.
    static QString fillTemplate(const QString& tpl, const QHash<QString, QString>& values);
    // Tidies an LLM's keyword answer: drops markdown emphasis, a leading "Visual
    // keywords:" label, surrounding quotes, bullets and line breaks.
    static QString cleanKeywords(const QString& text);

Q_SIGNALS:
    void stageStarted(const QString& stage); // "distort", "refine"
    void stageFinished(const QString& stage, const QString& text, double ms);
    void finished(const tp::services::PromptPipelineResult& result);

private:
    void startDistort();
    void startRefine();
    void finishOk();
    void fail(const QString& stage, const QString& service, const QString& error, bool cancelled);
    void deliver(PromptPipelineResult result);
    QString wrap(const QString& text) const;

    TwistedPairClient* m_twistedPair = nullptr;
    OllamaClient* m_ollama = nullptr;
    bool m_running = false;
    quint64 m_runId = 0;
    RequestHandle m_request;
    PromptPipelineConfig m_config;
    PromptPipelineResult m_result;
    QVariantMap m_distortRecord;
    QVariantMap m_refineRecord;
    qint64 m_startMs = 0;
    std::function<void(const PromptPipelineResult&)> m_done;
};

} // namespace tp::services

Q_DECLARE_METATYPE(tp::services::PromptPipelineResult)
