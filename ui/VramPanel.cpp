#include "ui/VramPanel.h"

#include "ui/Icons.h"
#include "ui/Units.h"
#include "ui/VramGraph.h"

#include <QComboBox>
#include <QEvent>
#include <QHBoxLayout>
#include <QJsonValue>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace tp::ui {

VramPanel::VramPanel(QWidget* parent)
    : QWidget(parent) {
    m_graph = new VramGraph(this);
    m_state = new QLabel(this);
    QFont bold = m_state->font();
    bold.setBold(true);
    m_state->setFont(bold);
    m_state->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_detail = new QLabel(this);
    m_detail->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_detail->setWordWrap(true);
    m_planLine = new QLabel(this);
    m_planLine->setObjectName(QStringLiteral("planLine"));
    m_planLine->setTextFormat(Qt::PlainText);
    m_planLine->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_planLine->setWordWrap(true);
    m_windowLabel = new QLabel(this);
    m_window = new QComboBox(this);
    m_windowLabel->setBuddy(m_window);
    for (int s : {60, 300, 900})
        m_window->addItem(QString(), s);
    m_window->setCurrentIndex(1);
    m_graph->setWindowSeconds(300);
    m_free = new QPushButton(icon(QStringLiteral("free-memory")), QString(), this);
    m_unload = new QPushButton(icon(QStringLiteral("unload")), QString(), this);

    auto* top = new QHBoxLayout;
    top->addWidget(m_state, 1);
    top->addWidget(m_windowLabel);
    top->addWidget(m_window);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_free);
    buttons->addWidget(m_unload);
    buttons->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addLayout(top);
    layout->addWidget(m_detail);
    layout->addWidget(m_planLine);
    layout->addWidget(m_graph, 1);
    layout->addLayout(buttons);

    connect(m_window, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int) {
        const int seconds = m_window->currentData().toInt();
        m_graph->setWindowSeconds(seconds);
        Q_EMIT windowSecondsChanged(seconds);
    });
    connect(m_free, &QPushButton::clicked, this, &VramPanel::freeMemoryRequested);
    connect(m_unload, &QPushButton::clicked, this, &VramPanel::unloadRequested);
    retranslateUi();
    refresh();
}

void VramPanel::retranslateUi() {
    m_windowLabel->setText(tr("&Window:"));
    m_window->setItemText(0, tr("1 min"));
    m_window->setItemText(1, tr("5 min"));
    m_window->setItemText(2, tr("15 min"));
    m_window->setToolTip(tr("How much history the graph shows"));
    m_free->setText(tr("&Free GPU memory now"));
    m_free->setToolTip(tr("Return the memory TwistedPic holds in its cache to the GPU, so that Ollama and "
                          "other programs can use it. The model stays loaded."));
    m_unload->setText(tr("&Unload model now"));
    m_unload->setToolTip(tr("Move the model's weights to RAM. The GPU then holds only the CUDA context; "
                            "the next image reloads the model in a fraction of a second."));
    refresh();
}

void VramPanel::changeEvent(QEvent* event) {
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void VramPanel::setWindowSeconds(int seconds) {
    const int index = m_window->findData(seconds);
    if (index >= 0)
        m_window->setCurrentIndex(index);
    else
        m_graph->setWindowSeconds(seconds);
}

void VramPanel::setDeviceIndex(int index) {
    m_deviceIndex = index;
    m_graph->setDeviceIndex(index);
}

void VramPanel::takeFigures(const gpu::VramSample& sample) {
    m_haveSample = true;
    m_gpu = sample.gpuAvailable && !sample.devices.isEmpty();
    if (!m_gpu)
        return;
    const gpu::DeviceSample* chosen = &sample.devices.first();
    for (const gpu::DeviceSample& d : sample.devices)
        if (d.index == m_deviceIndex)
            chosen = &d;
    const gpu::DeviceSample& dev = *chosen;
    m_deviceName = dev.name;
    m_used = dev.usedBytes;
    m_total = dev.totalBytes;
    m_allocated = sample.self.valid ? sample.self.allocatedBytes : -1;
    m_reserved = sample.self.valid ? sample.self.reservedBytes : -1;
}

void VramPanel::addSample(const gpu::VramSample& sample) {
    takeFigures(sample);
    m_graph->addSample(sample);
    refresh();
}

void VramPanel::setHistory(const QVector<gpu::VramSample>& samples) {
    if (!samples.isEmpty())
        takeFigures(samples.last());
    m_graph->setHistory(samples);
    refresh();
}

void VramPanel::addEvent(const engine::MemoryEvent& event) {
    using K = engine::MemoryEvent::Kind;
    if (event.kind == K::Load || event.kind == K::Reload) {
        m_residence = Residence::Gpu;
        m_partly = false; // loaded whole; residencyChanged says when a plan moves parts away
    } else if (event.kind == K::Unload) {
        m_residence = Residence::Ram;
        m_partly = false;
    }
    m_graph->addEvent(event);
    refresh();
}

void VramPanel::setEngineState(engine::State state, const QString& detail) {
    m_engineState = state;
    m_engineDetail = detail;
    refresh();
}

void VramPanel::setResidence(Residence residence, qint64 weightBytes) {
    if (residence != Residence::Gpu)
        m_partly = false;
    m_residence = residence;
    m_weightBytes = weightBytes;
    refresh();
}

void VramPanel::setResidency(const QString& model, gpu::Residency where, qint64 weightBytes) {
    m_model = model;
    Residence r = Residence::None;
    switch (where) {
    case gpu::Residency::OnGpu:
    case gpu::Residency::Mixed:
        r = Residence::Gpu;
        break;
    case gpu::Residency::PinnedCpu: // unloaded by us: it goes back to the GPU on the next image
        r = Residence::Ram;
        break;
    case gpu::Residency::Cpu: // a model that runs on the CPU (never moved to a GPU)
        r = Residence::Cpu;
        break;
    }
    m_partly = where == gpu::Residency::Mixed;
    setResidence(model.isEmpty() ? Residence::None : r, weightBytes > 0 ? weightBytes : -1);
}

QString VramPanel::stateText() const {
    using S = engine::State;
    if (!m_haveSample)
        return tr("Waiting for GPU memory figures…");
    if (!m_gpu)
        return tr("No NVIDIA GPU — running on CPU");
    switch (m_engineState) {
    case S::Loading:
        return tr("Loading the model…");
    case S::Reloading:
        return tr("Reloading the model to the GPU…");
    case S::Unloading:
        return tr("Unloading the model to RAM…");
    case S::Cleaning:
        return tr("Freeing GPU memory…");
    case S::Generating:
        return m_allocated >= 0 ? tr("Generating · %1 in use").arg(formatBytes(double(m_allocated)))
                                : tr("Generating");
    case S::Idle:
        break;
    }
    switch (m_residence) {
    case Residence::Gpu: {
        // Under a plan the GPU holds part of the weights: what is allocated there (the weights'
        // total would overstate it).
        if (m_partly)
            return m_allocated >= 0 ? tr("Model partly on GPU · %1").arg(formatBytes(double(m_allocated)))
                                    : tr("Model partly on GPU");
        const qint64 held = m_weightBytes > 0 ? m_weightBytes : m_allocated >= 0 ? m_allocated : m_reserved;
        return held >= 0 ? tr("Model on GPU · %1").arg(formatBytes(double(held))) : tr("Model on GPU");
    }
    case Residence::Ram:
        return tr("Model unloaded to RAM");
    case Residence::Cpu:
        return tr("Model on the CPU");
    case Residence::None:
        break;
    }
    return m_reserved >= 0 ? tr("Idle — %1 reserved").arg(formatBytes(double(m_reserved))) : tr("Idle");
}

QString VramPanel::detailText() const {
    if (!m_haveSample || !m_gpu)
        return {};
    QString text = m_used >= 0 && m_total > 0
                       ? tr("%1 · %2 of %3 in use")
                             .arg(m_deviceName, formatBytes(double(m_used)), formatBytes(double(m_total)))
                       : m_deviceName;
    if (m_reserved >= 0)
        text += tr(" · TwistedPic holds %1").arg(formatBytes(double(m_reserved)));
    if (!m_model.isEmpty() && m_residence != Residence::None)
        text += tr(" · model %1").arg(m_model);
    return text;
}

void VramPanel::setPlan(const QJsonObject& plan) {
    m_planJson = plan;
    m_graph->setBudget(qint64(plan.value(QStringLiteral("budgetBytes")).toDouble(-1)),
                       qint64(plan.value(QStringLiteral("predictedPeakBytes")).toDouble(-1)));
    refresh();
}

void VramPanel::clearPlan(NoPlan why) {
    m_planJson = QJsonObject();
    m_noPlan = why;
    m_graph->setBudget(-1);
    refresh();
}

QColor VramPanel::warningColor() {
    return QColor(0xa8, 0x3a, 0x00);
}

bool VramPanel::planWarning() const {
    return !m_planJson.isEmpty() && !m_planJson.value(QStringLiteral("fits")).toBool(true);
}

QString VramPanel::planText() const {
    if (m_planJson.isEmpty()) {
        if (m_haveSample && !m_gpu)
            return {};
        switch (m_noPlan) {
        case NoPlan::Yet:
            return tr("No plan yet: each generation on the GPU gets one that fits the VRAM budget.");
        case NoPlan::Cpu:
            return tr("No plan: the model runs on the CPU.");
        case NoPlan::BudgetAll:
            return tr("No plan: the budget is “all”, so the whole model stays on the GPU.");
        case NoPlan::NotMade:
            return tr("No plan for the last generation: the whole model stayed on the GPU (the log says "
                      "why).");
        }
        return {};
    }
    const double budget = m_planJson.value(QStringLiteral("budgetBytes")).toDouble(-1);
    QString text = tr("Budget %1 — %2")
                       .arg(formatBytes(budget), m_planJson.value(QStringLiteral("description")).toString());
    if (planWarning()) {
        const QString problem = m_planJson.value(QStringLiteral("problem")).toString();
        text += QLatin1Char('\n') +
                (problem.isEmpty() ? tr("⚠ The plan does not fit the budget.") : tr("⚠ %1").arg(problem));
    }
    return text;
}

QString VramPanel::planToolTip() const {
    if (m_planJson.isEmpty())
        return tr(
            "The budget is set in Settings → GPU memory (gpu/vramBudget): “auto” leaves room for Ollama "
            "and other programs, a size caps TwistedPic, “all” takes what is free.");
    auto bytes = [this](const char* key) {
        return qint64(m_planJson.value(QLatin1String(key)).toDouble(-1));
    };
    QStringList lines;
    const QString explanation = m_planJson.value(QStringLiteral("budgetExplanation")).toString();
    if (!explanation.isEmpty())
        lines << tr("How the budget was reached: %1").arg(explanation);
    lines << tr("Predicted peak: %1 of the %2 budget (%3 of it kept free as headroom)")
                 .arg(formatBytes(double(bytes("predictedPeakBytes"))),
                      formatBytes(double(bytes("budgetBytes"))), formatBytes(double(bytes("headroomBytes"))));
    if (const qint64 streamed = bytes("streamedBytesPerStep"); streamed > 0)
        lines << tr("Streamed from RAM: %1 per denoiser call").arg(formatBytes(double(streamed)));
    if (const int level = m_planJson.value(QStringLiteral("level")).toInt(); level > 0)
        lines
            << (level == 1
                    ? tr("Lowered one step from the first plan after the GPU ran out of memory.")
                    : tr("Lowered %1 steps from the first plan after the GPU ran out of memory.").arg(level));
    lines << tr("The dashed line on the graph is the budget.");
    return lines.join(QLatin1Char('\n'));
}

bool VramPanel::freeEnabled() const {
    return m_gpu && m_engineState == engine::State::Idle;
}

bool VramPanel::unloadEnabled() const {
    return m_gpu && m_engineState == engine::State::Idle && m_residence == Residence::Gpu;
}

void VramPanel::refresh() {
    m_state->setText(stateText());
    const QString detail = detailText();
    m_detail->setText(detail);
    m_detail->setVisible(!detail.isEmpty());
    const QString plan = planText();
    m_planLine->setText(plan);
    m_planLine->setToolTip(planToolTip());
    m_planLine->setVisible(!plan.isEmpty());
    QPalette pal; // only the colour it sets; the rest follows the panel
    if (planWarning())
        pal.setColor(QPalette::WindowText, warningColor());
    m_planLine->setPalette(pal);
    m_planLine->setForegroundRole(m_planLine->text().isEmpty() || hasPlan() ? QPalette::WindowText
                                                                            : QPalette::PlaceholderText);
    m_free->setEnabled(freeEnabled());
    m_unload->setEnabled(unloadEnabled());
}

} // namespace tp::ui
