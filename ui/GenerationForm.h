#pragma once

#include "core/engine/EngineTypes.h"
#include "core/engine/ImageMetadata.h"
#include "core/io/ModelFamily.h"

#include <QVector>
#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QToolButton;
class QCheckBox;

namespace tp {
class Settings;
}

namespace tp::ui {

class PromptEdit;

// One entry of the model picker. `id` goes into GenerationRequest::model (a catalogue name or
// a folder path); `label` is what people read.
struct ModelEntry {
    QString id;
    QString label;
    QString tooltip;
    int nativeSize = 0; // the side it was trained at; the size follows it when the current one is far off
    // Its family ("SDXL") and what the form offers for it: choosing a model of another family
    // applies these defaults; the presets and samplers are the family's.
    QString family{};
    io::GenerationDefaults defaults{};
    QStringList samplers{};       // empty: every sampler
    QVector<QSize> sizePresets{}; // listed before the user's own presets
    // The family can run without its T5 text encoder (SD 3.x): the form offers "Without T5".
    bool offersWithoutT5 = false;
    qint64 t5Bytes = 0;     // what T5 takes on the GPU (io::ModelInfo::t5Bytes)
    qint64 weightBytes = 0; // the whole model on disk, for "memory is short"
    // Why it cannot be chosen (a single file whose text encoder or VAE files are missing): shown,
    // greyed out, with this as its tooltip. Empty: usable.
    QString unusable{};
};

// What to generate: prompt, negative prompt, model, sampler, steps, guidance, size, seed and
// count, with Generate and Cancel. Knows nothing of the engine: it builds a request.
class GenerationForm final : public QWidget {
    Q_OBJECT
public:
    explicit GenerationForm(Settings& settings, QWidget* parent = nullptr);

    // The request the fields describe (id, outputDir, device and precision are the caller's).
    engine::GenerationRequest request() const;
    void setModels(const QVector<ModelEntry>& models, const QString& current = {});
    QString currentModel() const;
    // "Open model folder…": a diffusers folder is added to the model folders (settings) and
    // selected once the catalogue lists it; anything else is refused with the reason.
    bool openModelFolder(const QString& folder);
    // Fills the fields from an earlier image. Returns a note for the user when something could
    // not be applied (e.g. its model is not installed), else "".
    QString applyParameters(const engine::ImageParameters& parameters);
    void setLastSeed(qint64 seed);
    qint64 lastSeed() const { return m_lastSeed; }
    void setBusy(bool busy);
    bool isBusy() const { return m_busy; }

    PromptEdit* promptEdit() const { return m_prompt; }
    PromptEdit* negativeEdit() const { return m_negative; }
    QPushButton* generateButton() const { return m_generate; }
    QPushButton* cancelButton() const { return m_cancel; }

public Q_SLOTS:
    // Ollama's installed models, for the distortion-LLM picker (the typed or saved name stays).
    void setOllamaModels(const QStringList& names);
    // The GPU's free memory (-1: unknown) and what this app's loaded weights take on it, for the
    // hint beside "Without T5".
    void setGpuMemory(qint64 freeBytes, qint64 ownWeightBytes);
    // Fields back to the defaults from the settings (the prompt stays).
    void loadDefaults();

Q_SIGNALS:
    void generateRequested();
    void cancelRequested();
    // Something the user should read (e.g. a folder that is no model), for the error banner.
    void problem(const QString& message);

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslateUi();
    void fillSizePresets();
    void presetChosen();
    void sizeEdited();
    void fitSizeToModel();
    // The model choice changed: a model of another family brings its defaults, samplers, presets.
    void modelChosen();
    void fillSamplers(const QStringList& names);
    static constexpr int kNativeSizeRole = Qt::UserRole + 1;
    static constexpr int kEntryRole = Qt::UserRole + 2;
    void seedModeChanged();
    void settingChanged(const QString& key);
    void updateT5Hint();

    Settings& m_settings;
    QLabel* m_promptLabel = nullptr;
    PromptEdit* m_prompt = nullptr;
    QLabel* m_negativeLabel = nullptr;
    PromptEdit* m_negative = nullptr;
    QLabel* m_modelLabel = nullptr;
    QComboBox* m_model = nullptr;
    QCheckBox* m_distort = nullptr;
    QComboBox* m_distortMode = nullptr;
    QComboBox* m_distortTone = nullptr;
    QSpinBox* m_distortGain = nullptr;
    QComboBox* m_distortModel = nullptr; // the LLM TwistedPair distorts with (Ollama's models)
    QCheckBox* m_refine = nullptr;       // "refine to visual keywords" (Ollama)
    QToolButton* m_openModel = nullptr;
    QString m_pendingModel; // to select after the next setModels()
    QLabel* m_samplerLabel = nullptr;
    QComboBox* m_sampler = nullptr;
    QLabel* m_stepsLabel = nullptr;
    QSpinBox* m_steps = nullptr;
    QLabel* m_guidanceLabel = nullptr;
    QDoubleSpinBox* m_guidance = nullptr;
    QLabel* m_sizeLabel = nullptr;
    QComboBox* m_sizePreset = nullptr;
    QSpinBox* m_width = nullptr;
    QLabel* m_times = nullptr;
    QSpinBox* m_height = nullptr;
    QLabel* m_seedLabel = nullptr;
    QComboBox* m_seedMode = nullptr;
    QLineEdit* m_seed = nullptr;
    QToolButton* m_reuseSeed = nullptr;
    QToolButton* m_randomSeed = nullptr;
    QLabel* m_countLabel = nullptr;
    QSpinBox* m_count = nullptr;
    QPushButton* m_generate = nullptr;
    QPushButton* m_cancel = nullptr;
    QLabel* m_hint = nullptr;
    QCheckBox* m_withoutT5 = nullptr; // SD 3.x only
    QLabel* m_t5Hint = nullptr;       // "T5 needs ~9.5 GiB; 6.1 GiB free"
    qint64 m_freeVram = -1;
    qint64 m_ownWeightBytes = 0;

    QString m_family;               // the family of the model whose defaults the fields hold
    QVector<QSize> m_familyPresets; // the current model family's sizes
    qint64 m_lastSeed = -1;
    bool m_busy = false;
    bool m_updatingSize = false;
};

} // namespace tp::ui

Q_DECLARE_METATYPE(tp::ui::ModelEntry)
