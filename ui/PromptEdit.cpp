#include "ui/PromptEdit.h"

#include <QKeyEvent>

namespace tp::ui {

PromptEdit::PromptEdit(QWidget* parent)
    : QPlainTextEdit(parent) {
    setTabChangesFocus(true);
    setWordWrapMode(QTextOption::WrapAtWordBoundaryOrAnywhere);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

void PromptEdit::setVisibleLines(int lines) {
    m_lines = lines;
    setMinimumHeight(fontMetrics().lineSpacing() * qMin(lines, 2) + 2 * frameWidth() + 8);
    updateGeometry();
}

QSize PromptEdit::sizeHint() const {
    return {QPlainTextEdit::sizeHint().width(), fontMetrics().lineSpacing() * m_lines + 2 * frameWidth() + 8};
}

void PromptEdit::keyPressEvent(QKeyEvent* event) {
    const bool enter = event->key() == Qt::Key_Return || event->key() == Qt::Key_Enter;
    if (enter && (event->modifiers() & Qt::ControlModifier)) {
        Q_EMIT submitRequested();
        event->accept();
        return;
    }
    QPlainTextEdit::keyPressEvent(event);
}

} // namespace tp::ui
