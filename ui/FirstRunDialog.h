#pragma once

#include "core/gpu/VramTypes.h"
#include "core/io/ModelCatalogue.h"
#include "core/services/ServiceStatus.h"

#include <QDialog>

class QCheckBox;
class QLabel;
class QTreeWidget;

namespace tp {
class Settings;
}

namespace tp::ui {

// The welcome assistant: shown once on the first start (and from Help), never modal and never
// waiting for anything: the GPU it found (or that images are made on the CPU), whether Ollama and
// TwistedPair answer (filled in as their answers arrive), the models found with family and size,
// and the two GPU-memory switches in two sentences, with the switches themselves.
class FirstRunDialog final : public QDialog {
    Q_OBJECT
public:
    explicit FirstRunDialog(Settings& settings, QWidget* parent = nullptr);

    QString gpuText() const;
    QString ollamaText() const;
    QString twistedPairText() const;
    QTreeWidget* modelsView() const { return m_models; }
    QCheckBox* cleanupBox() const { return m_cleanup; }
    QCheckBox* unloadBox() const { return m_unload; }

public Q_SLOTS:
    void setVramSample(const tp::gpu::VramSample& sample);
    void setOllamaStatus(const tp::services::OllamaStatus& status);
    void setTwistedPairStatus(const tp::services::TwistedPairStatus& status);
    void setModels(const QVector<tp::io::ModelInfo>& models);

protected:
    void done(int result) override; // remembers that the assistant was seen

private:
    Settings& m_settings;
    QLabel* m_gpu = nullptr;
    QLabel* m_ollama = nullptr;
    QLabel* m_twistedPair = nullptr;
    QTreeWidget* m_models = nullptr;
    QCheckBox* m_cleanup = nullptr;
    QCheckBox* m_unload = nullptr;
};

} // namespace tp::ui
