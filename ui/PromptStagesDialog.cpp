#include "ui/PromptStagesDialog.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace tp::ui {

namespace {
QLabel* stageText(const QString& text, QWidget* parent) {
    auto* label = new QLabel(text, parent);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    return label;
}
} // namespace

PromptStagesDialog::PromptStagesDialog(const services::PromptPipelineResult& r, QWidget* parent)
    : QDialog(parent) {
    setObjectName(QStringLiteral("promptStagesDialog"));
    setWindowTitle(tr("Prompt stages"));
    auto* form = new QFormLayout;
    form->addRow(tr("As typed:"), stageText(r.input, this));
    if (!r.distorted.isEmpty())
        form->addRow(tr("TwistedPair:"), stageText(r.distorted, this));
    if (!r.refined.isEmpty())
        form->addRow(tr("Ollama keywords:"), stageText(r.refined, this));

    m_error = new QLabel(this);
    m_error->setObjectName(QStringLiteral("pipelineError"));
    m_error->setWordWrap(true);
    m_error->setStyleSheet(QStringLiteral("color: #c0392b;"));
    if (!r.ok && !r.cancelled)
        m_error->setText(tr("%1 failed (%2): %3").arg(r.failedStage, r.failedService, r.error));
    m_error->setVisible(!m_error->text().isEmpty());

    m_original = r.ok ? r.finalPrompt : (!r.unrefinedPrompt.isEmpty() ? r.unrefinedPrompt : r.promptAsTyped);
    m_final = new QPlainTextEdit(m_original, this);
    m_final->setObjectName(QStringLiteral("finalPrompt"));
    m_final->setMinimumHeight(fontMetrics().height() * 5);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    m_generate = buttons->addButton(r.ok ? tr("&Generate") : tr("&Generate from this prompt"),
                                    QDialogButtonBox::AcceptRole);
    m_generate->setDefault(true);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addWidget(new QLabel(tr("Final prompt (you can edit it):"), this));
    layout->addWidget(m_final, 1);
    layout->addWidget(buttons);
    resize(560, sizeHint().height());
}

QString PromptStagesDialog::finalPrompt() const {
    return m_final->toPlainText().trimmed();
}
bool PromptStagesDialog::edited() const {
    return finalPrompt() != m_original.trimmed();
}
QString PromptStagesDialog::errorText() const {
    return m_error->text();
}

} // namespace tp::ui
