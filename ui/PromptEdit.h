#pragma once

#include <QPlainTextEdit>

namespace tp::ui {

// A multi-line prompt: Ctrl+Enter submits, Tab moves on (prompts rarely need tabs).
class PromptEdit final : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit PromptEdit(QWidget* parent = nullptr);
    void setVisibleLines(int lines);
    QSize sizeHint() const override;

Q_SIGNALS:
    void submitRequested();

protected:
    void keyPressEvent(QKeyEvent* event) override;

private:
    int m_lines = 4;
};

} // namespace tp::ui
