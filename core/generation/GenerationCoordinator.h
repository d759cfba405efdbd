#pragma once

#include "core/common/Result.h"
#include "core/engine/EngineTypes.h"
#include "core/io/ModelCatalogue.h"
#include "core/services/CoTenancy.h"
#include "core/services/OllamaVram.h"
#include "core/services/PromptPipeline.h"

#include <QElapsedTimer>
#include <QObject>
#include <QPointer>

#include <functional>
#include <optional>

namespace tp::engine {
class Engine;
}
namespace tp::services {
class OllamaClient;
class TwistedPairClient;
struct OllamaStatus;
} // namespace tp::services

// The one generation path of the desktop app and the CLI: prompt pipeline (TwistedPair
// distortion, Ollama refinement, wrapper) -> "make room" (ask Ollama to unload idle models when
// the GPU lacks room) -> Ollama's loaded models for the VRAM budget -> engine, with one cancel that
// reaches every stage. Torch-free.
namespace tp::generation {

enum class Stage { Idle, Distorting, Refining, Reviewing, MakingRoom, Generating };
QString stageName(Stage stage);

// A front end's request turned into one the engine runs: the model resolved in the catalogue,
// "size follows the model" applied, every limit checked (core/common/GenerationLimits.h).
struct PreparedRequest {
    engine::GenerationRequest request;
    io::ModelInfo model;
    QString note; // e.g. "twistedpic-shapes was trained at 128x128; generating at that size"
};
// `sizeChosen`: the user picked the size for this request (the CLI's --width/--height, the form,
// which shows the size it follows); otherwise a size far from the model's native one is replaced
// by the native size. The model name: empty = the default model (the bundled one first), else a
// catalogue name or a folder.
Result<PreparedRequest> prepareRequest(const engine::GenerationRequest& request,
                                       const io::ModelCatalogue& catalogue, bool sizeChosen);

class GenerationCoordinator final : public QObject {
    Q_OBJECT
public:
    // A fresh reading of a CUDA device's free bytes, taken when called (-1: unknown, no GPU).
    using FreeBytesReader = std::function<qint64(int cudaDevice)>;
    // Decides what to do with the prompt pipeline's outcome (the GUI shows its stages and lets the
    // final prompt be edited): calls `proceed` once with the prompt to generate from, or with
    // nothing to stop. Without one, a good outcome is used as is and a failed distortion stops.
    using Review = std::function<void(const services::PromptPipelineResult& result,
                                      std::function<void(std::optional<QString> finalPrompt)> proceed)>;

    struct Job {
        engine::GenerationRequest request;       // prepared: see prepareRequest()
        services::PromptPipelineConfig pipeline; // distortEnabled false: the prompt as typed
        bool makeRoom = false;                   // gpu/makeRoomBeforeGenerating
        qint64 makeRoomMarginBytes = 512LL << 20;
        Review review;
    };

    GenerationCoordinator(engine::Engine& engine, services::TwistedPairClient* twistedPair,
                          services::OllamaClient* ollama, FreeBytesReader freeBytes,
                          QObject* parent = nullptr);
    ~GenerationCoordinator() override;

    // Starts a job (one at a time: a second start() while one is under way is refused with
    // failed()). Returns the request id the engine's finished/failed/cancelled signals carry.
    quint64 start(Job job);
    // Ends the job under way at whatever stage it is: the TwistedPair or Ollama request is
    // aborted, make-room stops asking Ollama, a queued or running generation is cancelled in the
    // engine. Before the engine, cancelled(id) comes at once and nothing is submitted.
    void cancel();

    Stage stage() const { return m_stage; }
    bool busy() const { return m_stage != Stage::Idle; }
    // The co-tenancy actions (the Services panel's "give the GPU back" uses the same object, so
    // that two never run at once).
    services::CoTenancy& coTenancy() const { return *m_coTenancy; }
    services::PromptPipeline& promptPipeline() const { return *m_pipeline; }

    // Every request whose VRAM budget may be "auto" (empty or "auto", on a device other than the
    // CPU) goes to the engine with Ollama's loaded models (GenerationRequest::ollamaVram): the
    // figures noted here from the app's Services poller when they are at most maxAgeMs old and no
    // make-room ran since, else a GET /api/ps of its own, at most timeoutMs long, in the
    // MakingRoom stage (cancel() aborts it). Ollama down or answering garbage: the request goes
    // without figures (ollamaVramKnown false), logged at debug level.
    void noteOllamaStatus(const services::OllamaStatus& status);
    void setOllamaVramTimings(int maxAgeMs, int timeoutMs);

Q_SIGNALS:
    void stageChanged(tp::generation::Stage stage, const QString& detail);
    // Something the user should know that does not stop the job ("the refiner failed; generating
    // from the distorted text").
    void notice(const QString& text);
    // The request goes to the engine now, with its final prompt and the pipeline's record.
    void submitted(const tp::engine::GenerationRequest& request);
    // The job ended before the engine (a stage failed, or cancel()): nothing was submitted.
    void failed(quint64 id, const QString& message);
    void cancelled(quint64 id);

private:
    void setStage(Stage stage, const QString& detail = {});
    void afterPipeline(const services::PromptPipelineResult& result);
    void continueWith(const QString& finalPrompt, const services::PromptPipelineResult& result, bool edited);
    void makeRoomThenSubmit();
    void readOllamaThenSubmit();
    void submit();
    // Ends the job before the engine; `abort` stops what is in flight (its answer is dropped).
    void endBeforeEngine(bool wasCancelled, const QString& message, const std::function<void()>& abort = {});

    engine::Engine& m_engine;
    services::OllamaClient* m_ollama = nullptr;
    services::PromptPipeline* m_pipeline = nullptr;
    services::CoTenancy* m_coTenancy = nullptr;
    FreeBytesReader m_freeBytes;

    Stage m_stage = Stage::Idle;
    Job m_job;
    quint64 m_jobSerial = 0; // stale callbacks of an ended job compare against this
    services::OurGpuUse m_ours;
    qint64 m_weightBytes = 0;
    int m_engineDevice = -1; // the CUDA index the engine reported (-1: not yet)
    int m_roomDevice = -1;   // the device the current make-room is for

    // Ollama's loaded models as last seen (noteOllamaStatus or our own GET /api/ps).
    QVector<gpu::OllamaVram> m_ollamaSeen;
    bool m_ollamaSeenValid = false;
    QElapsedTimer m_ollamaSeenAge;
    services::RequestHandle m_ollamaVramRequest;
    int m_ollamaVramMaxAgeMs = services::OllamaVramMaxAgeMs;
    int m_ollamaVramTimeoutMs = services::OllamaVramTimeoutMs;
};

} // namespace tp::generation

Q_DECLARE_METATYPE(tp::generation::Stage)
