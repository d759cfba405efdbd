#pragma once

#include "core/services/PromptPipeline.h"

#include <QDialog>

class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace tp::ui {

// The prompt pipeline's result before a generation: the prompt as typed, TwistedPair's
// distortion, Ollama's keywords and the final prompt, which the user may edit. When a stage
// failed it says which service and why, and offers the fallback (the prompt as typed, or the
// distorted text unrefined). Accepting generates from the final prompt.
class PromptStagesDialog final : public QDialog {
    Q_OBJECT
public:
    explicit PromptStagesDialog(const services::PromptPipelineResult& result, QWidget* parent = nullptr);

    QString finalPrompt() const;
    bool edited() const;
    QString errorText() const;
    QPlainTextEdit* finalEdit() const { return m_final; }
    QPushButton* generateButton() const { return m_generate; }

private:
    QString m_original;
    QLabel* m_error = nullptr;
    QPlainTextEdit* m_final = nullptr;
    QPushButton* m_generate = nullptr;
};

} // namespace tp::ui
