#include "ui/ServicesPanel.h"

#include "core/services/Format.h"
#include "ui/Icons.h"

#include <QEvent>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace tp::ui {

ServicesPanel::ServicesPanel(QWidget* parent)
    : QWidget(parent) {
    setObjectName(QStringLiteral("servicesPanel"));
    m_ollamaTitle = new QLabel(this);
    m_ollama = new QLabel(this);
    m_ollama->setObjectName(QStringLiteral("ollamaStatus"));
    m_ollama->setWordWrap(true);
    m_twistedPairTitle = new QLabel(this);
    m_twistedPair = new QLabel(this);
    m_twistedPair->setObjectName(QStringLiteral("twistedPairStatus"));
    m_twistedPair->setWordWrap(true);
    for (QLabel* title : {m_ollamaTitle, m_twistedPairTitle}) {
        QFont f = title->font();
        f.setBold(true);
        title->setFont(f);
    }
    m_models = new QTreeWidget(this);
    m_models->setObjectName(QStringLiteral("ollamaLoadedModels"));
    m_models->setRootIsDecorated(false);
    m_models->setColumnCount(3);
    m_models->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_models->setMinimumHeight(m_models->fontMetrics().height() * 5);
    m_diagnosis = new QLabel(this);
    m_diagnosis->setObjectName(QStringLiteral("coTenancyDiagnosis"));
    m_diagnosis->setWordWrap(true);
    m_giveBack = new QPushButton(this);
    m_giveBack->setObjectName(QStringLiteral("giveGpuBack"));
    m_giveBack->setEnabled(false);
    m_refresh = new QPushButton(this);
    m_action = new QLabel(this);
    m_action->setObjectName(QStringLiteral("coTenancyAction"));
    m_action->setWordWrap(true);
    m_action->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_giveBack, 1);
    buttons->addWidget(m_refresh);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_ollamaTitle);
    layout->addWidget(m_ollama);
    layout->addWidget(m_models, 1);
    layout->addWidget(m_twistedPairTitle);
    layout->addWidget(m_twistedPair);
    layout->addWidget(m_diagnosis);
    layout->addLayout(buttons);
    layout->addWidget(m_action);

    connect(m_giveBack, &QPushButton::clicked, this, &ServicesPanel::giveBackRequested);
    connect(m_refresh, &QPushButton::clicked, this, &ServicesPanel::refreshRequested);
    retranslateUi();
}

QString ServicesPanel::ollamaText() const {
    return m_ollama->text();
}
QString ServicesPanel::twistedPairText() const {
    return m_twistedPair->text();
}
QString ServicesPanel::diagnosisText() const {
    return m_diagnosis->text();
}
QString ServicesPanel::actionText() const {
    return m_action->text();
}

void ServicesPanel::setOllamaStatus(const services::OllamaStatus& status) {
    m_ollamaStatus = status;
    m_models->clear();
    for (const services::OllamaLoadedModel& m : status.loaded) {
        auto* item = new QTreeWidgetItem(m_models);
        item->setText(0, m.name);
        item->setText(1, m.size > 0
                             ? (m.partlyOnCpu()
                                    ? tr("%1% CPU / %2% GPU").arg(100 - m.gpuPercent()).arg(m.gpuPercent())
                                    : tr("100% GPU"))
                             : tr("unknown"));
        item->setText(2, services::formatBytes(m.size));
        if (m.partlyOnCpu())
            item->setForeground(1, QColor(0xc0, 0x39, 0x2b));
        item->setToolTip(0, m.shareText());
    }
    refreshTexts();
}

void ServicesPanel::setTwistedPairStatus(const services::TwistedPairStatus& status) {
    m_twistedPairStatus = status;
    refreshTexts();
}

void ServicesPanel::setDiagnosis(const services::CoTenancyDiagnosis& diagnosis) {
    m_diagnosisValue = diagnosis;
    refreshTexts();
}

void ServicesPanel::showActionReport(const services::CoTenancyReport& report) {
    QStringList lines = report.steps;
    if (!report.ok && !report.error.isEmpty())
        lines << tr("Stopped: %1").arg(report.error);
    m_action->setText(lines.join(QLatin1Char('\n')));
}

void ServicesPanel::setActionRunning(bool running) {
    m_running = running;
    refreshTexts();
}

void ServicesPanel::refreshTexts() {
    const services::OllamaStatus& o = m_ollamaStatus;
    if (!o.checked)
        m_ollama->setText(tr("Checking %1 …").arg(o.url));
    else if (!o.up)
        m_ollama->setText(tr("Not answering at %1: %2").arg(o.url, o.error));
    else if (o.loaded.isEmpty())
        m_ollama->setText(tr("Running (version %1) at %2; no model loaded.").arg(o.version, o.url));
    else
        m_ollama->setText(tr("Running (version %1) at %2. Loaded models:").arg(o.version, o.url));
    m_models->setVisible(o.up && !o.loaded.isEmpty());

    const services::TwistedPairStatus& t = m_twistedPairStatus;
    if (!t.checked)
        m_twistedPair->setText(tr("Checking %1 …").arg(t.url));
    else if (!t.up)
        m_twistedPair->setText(tr("Not answering at %1: %2").arg(t.url, t.error));
    else
        m_twistedPair->setText(tr("Running at %1.").arg(t.url));

    const services::CoTenancyDiagnosis& d = m_diagnosisValue;
    m_diagnosis->setText(d.problem() ? d.summary + QLatin1Char(' ') + d.proposal : QString());
    m_diagnosis->setVisible(d.problem());
    m_giveBack->setEnabled(d.problem() && d.canFix() && !m_running);
    m_giveBack->setToolTip(d.details);
}

void ServicesPanel::changeEvent(QEvent* event) {
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void ServicesPanel::retranslateUi() {
    m_ollamaTitle->setText(tr("Ollama"));
    m_twistedPairTitle->setText(tr("TwistedPair"));
    m_models->setHeaderLabels({tr("Loaded model"), tr("Runs on"), tr("Size")});
    m_giveBack->setText(tr("Give the GPU back to Ollama"));
    m_refresh->setText(tr("Refresh"));
    m_refresh->setToolTip(tr("Ask both services again now"));
    refreshTexts();
}

} // namespace tp::ui
