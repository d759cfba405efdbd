#pragma once

#include "core/services/CoTenancy.h"
#include "core/services/ServiceStatus.h"

#include <QWidget>

class QLabel;
class QPushButton;
class QTreeWidget;

namespace tp::ui {

// Ollama and TwistedPair at a glance: whether they answer, Ollama's loaded models with where
// they run ("mistral:latest — 100% GPU", "llama3.1:8b — 38% CPU / 62% GPU"), and, when an
// Ollama model is pushed onto the CPU while TwistedPic holds GPU memory, the problem in plain
// words with a "Give the GPU back to Ollama" button. It only shows and asks (signals).
class ServicesPanel final : public QWidget {
    Q_OBJECT
public:
    explicit ServicesPanel(QWidget* parent = nullptr);

    QString ollamaText() const;
    QString twistedPairText() const;
    QString diagnosisText() const;
    QString actionText() const;
    QTreeWidget* loadedModelsView() const { return m_models; }
    QPushButton* giveBackButton() const { return m_giveBack; }

public Q_SLOTS:
    void setOllamaStatus(const tp::services::OllamaStatus& status);
    void setTwistedPairStatus(const tp::services::TwistedPairStatus& status);
    void setDiagnosis(const tp::services::CoTenancyDiagnosis& diagnosis);
    // Shown under the button: each step of the last action, or why it stopped.
    void showActionReport(const tp::services::CoTenancyReport& report);
    void setActionRunning(bool running);

Q_SIGNALS:
    void giveBackRequested();
    void refreshRequested();

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslateUi();
    void refreshTexts();

    QLabel* m_ollamaTitle = nullptr;
    QLabel* m_ollama = nullptr;
    QLabel* m_twistedPairTitle = nullptr;
    QLabel* m_twistedPair = nullptr;
    QTreeWidget* m_models = nullptr;
    QLabel* m_diagnosis = nullptr;
    QPushButton* m_giveBack = nullptr;
    QPushButton* m_refresh = nullptr;
    QLabel* m_action = nullptr;
    services::OllamaStatus m_ollamaStatus;
    services::TwistedPairStatus m_twistedPairStatus;
    services::CoTenancyDiagnosis m_diagnosisValue;
    bool m_running = false;
};

} // namespace tp::ui
