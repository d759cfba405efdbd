#include "ui/GenerationForm.h"

#include "core/common/GenerationLimits.h"

#include "core/io/ModelCatalogue.h"
#include "core/services/TwistedPairClient.h"
#include "core/settings/Settings.h"
#include "ui/Icons.h"
#include "ui/PromptEdit.h"
#include "ui/Units.h"

#include <algorithm>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QRegularExpressionValidator>
#include <QSpinBox>
#include <QStandardItemModel>
#include <QToolButton>
#include <QVBoxLayout>

namespace tp::ui {
namespace {

// Seeds are 64-bit (core/common/GenerationLimits.h); image i of a request uses seed + i.
qint64 seedFromText(const QString& text, int count) {
    bool ok = false;
    const qint64 v = text.toLongLong(&ok);
    const qint64 maxFirst = limits::MaxSeed - (count - 1);
    return ok ? qBound(qint64(0), v, maxFirst) : maxFirst; // 19 digits beyond 2^63-1 only
}

QSize parsePreset(const QString& text) {
    static const QRegularExpression re(QStringLiteral(R"(^\s*(\d+)\s*[xX×]\s*(\d+)\s*$)"));
    const QRegularExpressionMatch m = re.match(text);
    return m.hasMatch() ? QSize(m.captured(1).toInt(), m.captured(2).toInt()) : QSize();
}

} // namespace

GenerationForm::GenerationForm(Settings& settings, QWidget* parent)
    : QWidget(parent)
    , m_settings(settings) {
    m_promptLabel = new QLabel(this);
    m_prompt = new PromptEdit(this);
    m_prompt->setVisibleLines(5);
    m_prompt->setObjectName(QStringLiteral("prompt"));
    m_negativeLabel = new QLabel(this);
    m_negative = new PromptEdit(this);
    m_negative->setVisibleLines(2);
    m_negative->setObjectName(QStringLiteral("negativePrompt"));

    m_modelLabel = new QLabel(this);
    m_model = new QComboBox(this);
    m_openModel = new QToolButton(this);
    m_openModel->setObjectName(QStringLiteral("openModelFolder"));
    m_openModel->setIcon(icon(QStringLiteral("folder")));
    m_model->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_model->setMinimumContentsLength(16);
    m_samplerLabel = new QLabel(this);
    m_sampler = new QComboBox(this);
    fillSamplers(samplerNames());
    m_stepsLabel = new QLabel(this);
    m_steps = new QSpinBox(this);
    m_steps->setRange(limits::MinSteps, limits::MaxSteps);
    m_guidanceLabel = new QLabel(this);
    m_guidance = new QDoubleSpinBox(this);
    m_guidance->setRange(limits::MinGuidance, limits::MaxGuidance);
    m_guidance->setDecimals(1);
    m_guidance->setSingleStep(0.5);

    m_sizeLabel = new QLabel(this);
    m_sizePreset = new QComboBox(this);
    m_sizePreset->setObjectName(QStringLiteral("sizePreset"));
    m_width = new QSpinBox(this);
    m_height = new QSpinBox(this);
    for (QSpinBox* s : {m_width, m_height}) {
        s->setRange(limits::MinSide, limits::MaxSide);
        s->setSingleStep(64);
    }
    m_times = new QLabel(QStringLiteral("×"), this);

    m_seedLabel = new QLabel(this);
    m_seedMode = new QComboBox(this);
    m_seedMode->addItem(QString(), QStringLiteral("random"));
    m_seedMode->addItem(QString(), QStringLiteral("fixed"));
    m_seed = new QLineEdit(this);
    m_seed->setValidator(
        new QRegularExpressionValidator(QRegularExpression(QStringLiteral(R"(\d{0,19})")), m_seed));
    m_seed->setMaximumWidth(fontMetrics().horizontalAdvance(QStringLiteral("4294967295000")) + 24);
    m_reuseSeed = new QToolButton(this);
    m_reuseSeed->setObjectName(QStringLiteral("reuseSeed"));
    m_reuseSeed->setIcon(icon(QStringLiteral("reuse")));
    m_reuseSeed->setEnabled(false);
    m_randomSeed = new QToolButton(this);
    m_randomSeed->setIcon(icon(QStringLiteral("dice")));
    m_countLabel = new QLabel(this);
    m_count = new QSpinBox(this);
    m_count->setRange(limits::MinCount, limits::MaxCount);

    m_generate = new QPushButton(icon(QStringLiteral("generate")), QString(), this);
    m_generate->setDefault(true);
    m_generate->setMinimumHeight(m_generate->sizeHint().height() + 8);
    QFont bold = m_generate->font();
    bold.setBold(true);
    m_generate->setFont(bold);
    m_cancel = new QPushButton(icon(QStringLiteral("cancel")), QString(), this);
    m_cancel->setEnabled(false);
    m_cancel->setMinimumHeight(m_generate->minimumHeight());
    // The original app's prompt pipeline, optional per generation: TwistedPair distorts the
    // prompt (then Ollama refines it, as set in the settings); the stages show before generating.
    m_distort = new QCheckBox(this);
    m_distort->setObjectName(QStringLiteral("distort"));
    m_distortMode = new QComboBox(this);
    m_distortMode->setObjectName(QStringLiteral("distortMode"));
    m_distortMode->addItems(services::TwistedPairClient::documentedModes());
    m_distortTone = new QComboBox(this);
    m_distortTone->setObjectName(QStringLiteral("distortTone"));
    m_distortTone->addItems(services::TwistedPairClient::documentedTones());
    m_distortGain = new QSpinBox(this);
    m_distortGain->setObjectName(QStringLiteral("distortGain"));
    m_distortGain->setRange(1, 10);
    m_distort->setChecked(m_settings.value(keys::DistortEnabled).toBool());
    m_distortMode->setCurrentText(m_settings.value(keys::DistortMode).toString());
    m_distortTone->setCurrentText(m_settings.value(keys::DistortTone).toString());
    m_distortGain->setValue(m_settings.value(keys::DistortGain).toInt());
    m_distortModel = new QComboBox(this);
    m_distortModel->setObjectName(QStringLiteral("distortModel"));
    m_distortModel->setEditable(true);
    m_distortModel->setInsertPolicy(QComboBox::NoInsert);
    m_distortModel->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_distortModel->setMinimumContentsLength(12);
    m_distortModel->setCurrentText(m_settings.value(keys::DistortModel).toString());
    connect(m_distortModel, &QComboBox::currentTextChanged, this,
            [this](const QString& t) { m_settings.setOrWarn(keys::DistortModel, t.trimmed()); });
    m_refine = new QCheckBox(this);
    m_refine->setObjectName(QStringLiteral("refine"));
    m_refine->setChecked(m_settings.value(keys::RefineEnabled).toBool());
    connect(m_refine, &QCheckBox::toggled, this,
            [this](bool on) { m_settings.setOrWarn(keys::RefineEnabled, on); });
    const auto distortKnobsEnabled = [this] {
        for (QWidget* w : {static_cast<QWidget*>(m_distortMode), static_cast<QWidget*>(m_distortTone),
                           static_cast<QWidget*>(m_distortGain), static_cast<QWidget*>(m_distortModel),
                           static_cast<QWidget*>(m_refine)})
            w->setEnabled(m_distort->isChecked());
    };
    distortKnobsEnabled();
    connect(m_distort, &QCheckBox::toggled, this, [this, distortKnobsEnabled](bool on) {
        distortKnobsEnabled();
        m_settings.setOrWarn(keys::DistortEnabled, on);
    });
    connect(m_distortMode, &QComboBox::currentTextChanged, this,
            [this](const QString& t) { m_settings.setOrWarn(keys::DistortMode, t); });
    connect(m_distortTone, &QComboBox::currentTextChanged, this,
            [this](const QString& t) { m_settings.setOrWarn(keys::DistortTone, t); });
    connect(m_distortGain, qOverload<int>(&QSpinBox::valueChanged), this,
            [this](int v) { m_settings.setOrWarn(keys::DistortGain, v); });

    // SD 3.x without T5 (zeros in its place): T5-XXL is ~9.5 GB of the model's ~27 GB.
    m_withoutT5 = new QCheckBox(this);
    m_withoutT5->setObjectName(QStringLiteral("withoutT5"));
    m_t5Hint = new QLabel(this);
    m_t5Hint->setObjectName(QStringLiteral("t5Hint"));
    m_t5Hint->setWordWrap(true);
    m_withoutT5->setVisible(false);
    m_t5Hint->setVisible(false);

    m_hint = new QLabel(this);
    // Names for tests and accessibility tools.
    m_model->setObjectName(QStringLiteral("model"));
    m_sampler->setObjectName(QStringLiteral("sampler"));
    m_steps->setObjectName(QStringLiteral("steps"));
    m_guidance->setObjectName(QStringLiteral("guidance"));
    m_width->setObjectName(QStringLiteral("width"));
    m_height->setObjectName(QStringLiteral("height"));
    m_seedMode->setObjectName(QStringLiteral("seedMode"));
    m_seed->setObjectName(QStringLiteral("seed"));
    m_count->setObjectName(QStringLiteral("count"));
    m_hint->setForegroundRole(QPalette::PlaceholderText);
    m_hint->setWordWrap(true);

    m_promptLabel->setBuddy(m_prompt);
    m_negativeLabel->setBuddy(m_negative);
    m_modelLabel->setBuddy(m_model);
    m_samplerLabel->setBuddy(m_sampler);
    m_stepsLabel->setBuddy(m_steps);
    m_guidanceLabel->setBuddy(m_guidance);
    m_sizeLabel->setBuddy(m_sizePreset);
    m_seedLabel->setBuddy(m_seedMode);
    m_countLabel->setBuddy(m_count);

    auto* grid = new QGridLayout;
    grid->setColumnStretch(1, 1);
    grid->setColumnStretch(3, 1);
    int row = 0;
    grid->addWidget(m_modelLabel, row, 0);
    grid->addWidget(m_model, row, 1, 1, 2);
    grid->addWidget(m_openModel, row++, 3);
    grid->addWidget(m_samplerLabel, row, 0);
    grid->addWidget(m_sampler, row++, 1, 1, 3);
    grid->addWidget(m_stepsLabel, row, 0);
    grid->addWidget(m_steps, row, 1);
    grid->addWidget(m_guidanceLabel, row, 2);
    grid->addWidget(m_guidance, row++, 3);
    grid->addWidget(m_sizeLabel, row, 0);
    grid->addWidget(m_sizePreset, row++, 1, 1, 3);
    auto* dims = new QHBoxLayout;
    dims->addWidget(m_width, 1);
    dims->addWidget(m_times);
    dims->addWidget(m_height, 1);
    grid->addLayout(dims, row++, 1, 1, 3);
    grid->addWidget(m_seedLabel, row, 0);
    auto* seedRow = new QHBoxLayout;
    seedRow->addWidget(m_seedMode, 1);
    seedRow->addWidget(m_seed, 1);
    seedRow->addWidget(m_reuseSeed);
    seedRow->addWidget(m_randomSeed);
    grid->addLayout(seedRow, row++, 1, 1, 3);
    grid->addWidget(m_countLabel, row, 0);
    grid->addWidget(m_count, row++, 1);
    grid->addWidget(m_withoutT5, row++, 0, 1, 4);
    grid->addWidget(m_t5Hint, row++, 1, 1, 3);
    grid->addWidget(m_distort, row++, 0, 1, 4);
    auto* distortRow = new QHBoxLayout;
    distortRow->addWidget(m_distortMode, 2);
    distortRow->addWidget(m_distortTone, 2);
    distortRow->addWidget(m_distortGain, 1);
    grid->addLayout(distortRow, row++, 1, 1, 3);
    grid->addWidget(m_distortModel, row++, 1, 1, 3);
    grid->addWidget(m_refine, row++, 1, 1, 3);

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_generate, 2);
    buttons->addWidget(m_cancel, 1);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_promptLabel);
    layout->addWidget(m_prompt, 3);
    layout->addWidget(m_negativeLabel);
    layout->addWidget(m_negative, 1);
    layout->addSpacing(4);
    layout->addLayout(grid);
    layout->addSpacing(6);
    layout->addLayout(buttons);
    layout->addWidget(m_hint);
    layout->addStretch(0);

    connect(m_prompt, &PromptEdit::submitRequested, this, [this] {
        if (!m_busy)
            Q_EMIT generateRequested();
    });
    connect(m_negative, &PromptEdit::submitRequested, m_prompt, &PromptEdit::submitRequested);
    connect(m_generate, &QPushButton::clicked, this, &GenerationForm::generateRequested);
    connect(m_cancel, &QPushButton::clicked, this, &GenerationForm::cancelRequested);
    connect(m_model, qOverload<int>(&QComboBox::currentIndexChanged), this, [this](int) { modelChosen(); });
    connect(m_openModel, &QToolButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Open model folder…"));
        if (!dir.isEmpty())
            openModelFolder(dir);
    });
    connect(m_sizePreset, qOverload<int>(&QComboBox::activated), this, [this](int) { presetChosen(); });
    connect(m_width, qOverload<int>(&QSpinBox::valueChanged), this, &GenerationForm::sizeEdited);
    connect(m_height, qOverload<int>(&QSpinBox::valueChanged), this, &GenerationForm::sizeEdited);
    connect(m_seedMode, qOverload<int>(&QComboBox::currentIndexChanged), this,
            &GenerationForm::seedModeChanged);
    connect(m_reuseSeed, &QToolButton::clicked, this, [this] {
        if (m_lastSeed < 0)
            return;
        m_seedMode->setCurrentIndex(1);
        m_seed->setText(QString::number(m_lastSeed));
    });
    connect(m_randomSeed, &QToolButton::clicked, this, [this] {
        m_seedMode->setCurrentIndex(1);
        m_seed->setText(QString::number(QRandomGenerator::global()->bounded(limits::MaxRandomSeed + 1)));
    });
    connect(&m_settings, &Settings::changed, this, &GenerationForm::settingChanged);

    retranslateUi();
    loadDefaults();
}

void GenerationForm::setOllamaModels(const QStringList& names) {
    const QString current = m_distortModel->currentText();
    QSignalBlocker block(m_distortModel);
    m_distortModel->clear();
    m_distortModel->addItems(names);
    m_distortModel->setCurrentText(current); // a saved name that Ollama lacks stays as typed
}

void GenerationForm::retranslateUi() {
    m_promptLabel->setText(tr("&Prompt"));
    m_distort->setText(tr("&Distort the prompt through TwistedPair first"));
    m_distort->setToolTip(
        tr("TwistedPair rewrites the prompt (mode, tone, gain); Ollama then refines it into "
           "visual keywords. You see every stage and can edit the final prompt."));
    m_distortMode->setAccessibleName(tr("Distortion mode"));
    m_distortTone->setAccessibleName(tr("Distortion tone"));
    m_distortGain->setAccessibleName(tr("Distortion gain"));
    m_distortGain->setPrefix(tr("gain "));
    m_distortModel->setToolTip(
        tr("The Ollama model TwistedPair distorts with (empty: TwistedPair's default)"));
    m_distortModel->setAccessibleName(tr("Distortion model"));
    m_refine->setText(tr("Re&fine to visual keywords"));
    m_refine->setToolTip(tr("Ollama boils the distorted text down to visual keywords (the refiner model and "
                            "template are in the settings). If it fails, the distorted text is used."));
    m_prompt->setPlaceholderText(tr("Describe the picture, e.g. \"a lighthouse at dusk, oil painting\""));
    m_prompt->setAccessibleName(tr("Prompt"));
    m_negativeLabel->setText(tr("&Negative prompt"));
    m_negative->setPlaceholderText(tr("What the picture should not show"));
    m_negative->setAccessibleName(tr("Negative prompt"));
    m_modelLabel->setText(tr("&Model:"));
    m_openModel->setToolTip(tr("Open model folder…"));
    m_openModel->setAccessibleName(tr("Open model folder…"));
    m_samplerLabel->setText(tr("S&ampler:"));
    m_stepsLabel->setText(tr("&Steps:"));
    m_guidanceLabel->setText(tr("G&uidance:"));
    m_guidance->setToolTip(tr("How closely the image follows the prompt (classifier-free guidance scale)"));
    m_sizeLabel->setText(tr("Si&ze:"));
    m_width->setSuffix(tr(" px"));
    m_height->setSuffix(tr(" px"));
    m_width->setAccessibleName(tr("Width"));
    m_height->setAccessibleName(tr("Height"));
    m_seedLabel->setText(tr("S&eed:"));
    m_seedMode->setItemText(0, tr("Random"));
    m_seedMode->setItemText(1, tr("Fixed"));
    m_seed->setPlaceholderText(tr("random"));
    m_seed->setAccessibleName(tr("Seed"));
    m_reuseSeed->setToolTip(tr("Reuse the last image's seed"));
    m_reuseSeed->setAccessibleName(tr("Reuse last seed"));
    m_randomSeed->setToolTip(tr("Pick a new random seed and keep it"));
    m_randomSeed->setAccessibleName(tr("New random seed"));
    m_countLabel->setText(tr("&Images:"));
    m_withoutT5->setText(tr("Without &T5"));
    m_withoutT5->setToolTip(
        tr("Run without the T5 text encoder: zeros stand in for its tokens, as diffusers allows. It is not "
           "loaded (or is released from the GPU), saving its memory; the picture follows the prompt a little "
           "less closely, long prompts more so."));
    m_generate->setText(tr("&Generate"));
    m_generate->setToolTip(tr("Generate (Ctrl+Enter)"));
    m_cancel->setText(tr("Cancel"));
    m_cancel->setToolTip(tr("Stop after the current step (Esc)"));
    m_hint->setText(tr("Ctrl+Enter generates · Esc cancels"));
    setLastSeed(m_lastSeed);
    fillSizePresets();
    updateT5Hint();
}

void GenerationForm::changeEvent(QEvent* event) {
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void GenerationForm::fillSizePresets() {
    m_sizePreset->clear();
    QVector<QSize> sizes = m_familyPresets;
    for (const QString& text : m_settings.value(keys::SizePresets).toStringList()) {
        const QSize s = parsePreset(text);
        if (s.isValid() && !sizes.contains(s))
            sizes << s;
    }
    for (const QSize& s : sizes)
        m_sizePreset->addItem(tr("%1 × %2").arg(s.width()).arg(s.height()), s);
    m_sizePreset->addItem(tr("Custom"), QSize());
    sizeEdited();
}

void GenerationForm::presetChosen() {
    const QSize s = m_sizePreset->currentData().toSize();
    if (!s.isValid())
        return; // "Custom": the fields stay as they are
    m_updatingSize = true;
    m_width->setValue(s.width());
    m_height->setValue(s.height());
    m_updatingSize = false;
}

void GenerationForm::sizeEdited() {
    if (m_updatingSize)
        return;
    const int index = m_sizePreset->findData(QSize(m_width->value(), m_height->value()));
    m_sizePreset->setCurrentIndex(index >= 0 ? index : m_sizePreset->count() - 1);
}

void GenerationForm::seedModeChanged() {
    const bool fixed = m_seedMode->currentData().toString() == QLatin1String("fixed");
    m_seed->setEnabled(fixed);
    if (fixed && m_seed->text().isEmpty())
        m_seed->setText(
            QString::number(m_lastSeed >= 0 ? m_lastSeed : m_settings.value(keys::Seed).toLongLong()));
}

void GenerationForm::settingChanged(const QString& key) {
    if (key == keys::SizePresets)
        fillSizePresets();
}

void GenerationForm::loadDefaults() {
    m_steps->setValue(m_settings.value(keys::Steps).toInt());
    m_guidance->setValue(m_settings.value(keys::Guidance).toDouble());
    m_width->setValue(m_settings.value(keys::Width).toInt());
    m_height->setValue(m_settings.value(keys::Height).toInt());
    const int sampler = m_sampler->findData(m_settings.value(keys::Sampler).toString());
    m_sampler->setCurrentIndex(qMax(0, sampler));
    m_seed->setText(QString::number(m_settings.value(keys::Seed).toLongLong()));
    m_seedMode->setCurrentIndex(m_settings.value(keys::SeedMode).toString() == QLatin1String("fixed") ? 1
                                                                                                      : 0);
    seedModeChanged();
    m_count->setValue(m_settings.value(keys::ImageCount).toInt());
    m_negative->setPlainText(m_settings.value(keys::NegativePrompt).toString());
    sizeEdited();
}

void GenerationForm::setModels(const QVector<ModelEntry>& models, const QString& current) {
    const QString keep =
        current.isEmpty()
            ? (m_model->count() ? currentModel() : m_settings.value(keys::DefaultModel).toString())
            : current;
    m_model->clear();
    int firstUsable = -1;
    for (const ModelEntry& m : models) {
        m_model->addItem(m.label.isEmpty() ? m.id : m.label, m.id);
        const int i = m_model->count() - 1;
        m_model->setItemData(i, m.tooltip.isEmpty() ? m.id : m.tooltip, Qt::ToolTipRole);
        m_model->setItemData(i, m.nativeSize, kNativeSizeRole);
        m_model->setItemData(i, QVariant::fromValue(m), kEntryRole);
        if (!m.unusable.isEmpty()) {
            m_model->setItemData(i, m.unusable, Qt::ToolTipRole);
            if (auto* items = qobject_cast<QStandardItemModel*>(m_model->model()))
                items->item(i)->setEnabled(false);
        } else if (firstUsable < 0) {
            firstUsable = i;
        }
    }
    int index = m_model->findData(m_pendingModel.isEmpty() ? keep : m_pendingModel);
    m_pendingModel.clear();
    if (index < 0 || !m_model->itemData(index, kEntryRole).value<ModelEntry>().unusable.isEmpty())
        index = firstUsable;
    m_model->setCurrentIndex(std::max(index, 0));
    modelChosen(); // the index signals came before each item's data was set
}

void GenerationForm::fillSamplers(const QStringList& names) {
    const QString keep = m_sampler->currentData().toString();
    m_sampler->clear();
    for (const QString& name : names)
        m_sampler->addItem(engine::samplerDisplayName(name), name);
    const int index = m_sampler->findData(keep);
    m_sampler->setCurrentIndex(qMax(0, index));
}

void GenerationForm::setGpuMemory(qint64 freeBytes, qint64 ownWeightBytes) {
    if (freeBytes == m_freeVram && ownWeightBytes == m_ownWeightBytes)
        return;
    m_freeVram = freeBytes;
    m_ownWeightBytes = ownWeightBytes;
    updateT5Hint();
}

void GenerationForm::updateT5Hint() {
    const ModelEntry e = m_model->currentData(kEntryRole).value<ModelEntry>();
    m_withoutT5->setVisible(e.offersWithoutT5);
    m_t5Hint->setVisible(e.offersWithoutT5 && e.t5Bytes > 0);
    if (!e.offersWithoutT5 || e.t5Bytes <= 0)
        return;
    // Short: the model's weights do not fit what is free plus what this app holds already.
    const bool short_ = m_freeVram >= 0 && m_freeVram + m_ownWeightBytes < e.weightBytes;
    m_t5Hint->setText(m_freeVram < 0 ? tr("T5 needs ~%1").arg(formatBytes(double(e.t5Bytes)))
                      : short_       ? tr("T5 needs ~%1; %2 free: running without it may fit")
                                     .arg(formatBytes(double(e.t5Bytes)), formatBytes(double(m_freeVram)))
                               : tr("T5 needs ~%1; %2 free")
                                     .arg(formatBytes(double(e.t5Bytes)), formatBytes(double(m_freeVram))));
    m_t5Hint->setForegroundRole(short_ ? QPalette::WindowText : QPalette::PlaceholderText);
    QFont f = m_t5Hint->font();
    f.setBold(short_);
    m_t5Hint->setFont(f);
}

void GenerationForm::modelChosen() {
    const QVariant data = m_model->currentData(kEntryRole);
    if (!data.isValid())
        return;
    const ModelEntry e = data.value<ModelEntry>();
    updateT5Hint();
    if (e.family == m_family) {
        fitSizeToModel();
        return;
    }
    // Another family: its samplers, sizes and the settings it generates best with. SD 1.x/2.x
    // models take the user's own defaults from the settings (those are what they were set for).
    m_family = e.family;
    fillSamplers(e.samplers.isEmpty() ? samplerNames() : e.samplers);
    m_familyPresets = e.sizePresets;
    const bool classic = e.family.isEmpty() || e.family.startsWith(QLatin1String("SD 1")) ||
                         e.family.startsWith(QLatin1String("SD 2"));
    if (classic) {
        m_steps->setValue(m_settings.value(keys::Steps).toInt());
        m_guidance->setValue(m_settings.value(keys::Guidance).toDouble());
        const int sampler = m_sampler->findData(m_settings.value(keys::Sampler).toString());
        m_sampler->setCurrentIndex(qMax(0, sampler));
        m_width->setValue(m_settings.value(keys::Width).toInt());
        m_height->setValue(m_settings.value(keys::Height).toInt());
    } else {
        m_steps->setValue(e.defaults.steps);
        m_guidance->setValue(e.defaults.guidance);
        const int sampler = m_sampler->findData(e.defaults.sampler);
        m_sampler->setCurrentIndex(qMax(0, sampler));
        m_width->setValue(e.defaults.width);
        m_height->setValue(e.defaults.height);
    }
    m_negative->setEnabled(e.defaults.negativePrompt);
    m_negative->setToolTip(e.defaults.negativePrompt
                               ? QString()
                               : tr("%1 does not use a negative prompt.").arg(m_model->currentText()));
    fillSizePresets();
    fitSizeToModel();
}

QString GenerationForm::currentModel() const {
    return m_model->currentData().toString();
}

bool GenerationForm::openModelFolder(const QString& folder) {
    const io::ModelInfo info = io::ModelCatalogue::inspect(folder, QStringLiteral("folder"));
    if (!info.supported) {
        Q_EMIT problem(info.problem.isEmpty() ? tr("%1 is not a diffusers model folder.").arg(folder)
                                              : QStringLiteral("%1: %2").arg(folder, info.problem));
        return false;
    }
    // Remembered with the model folders; the catalogue refresh that follows selects it.
    m_pendingModel = info.folder;
    QStringList paths = m_settings.value(keys::ModelSearchPaths).toStringList();
    if (!paths.contains(info.folder)) {
        paths << info.folder;
        if (const Status st = m_settings.set(keys::ModelSearchPaths, paths); !st) {
            Q_EMIT problem(st.error());
            return false;
        }
    } else {
        const int index = m_model->findData(info.folder);
        if (index >= 0)
            m_model->setCurrentIndex(index);
    }
    return true;
}

void GenerationForm::fitSizeToModel() {
    // A model draws well near the size it was trained at: the bundled 128x128 model at 512x512
    // gives noise, SD 1.5 at 128x128 mush. Far off (more than 2x either way): its own size.
    const int native = m_model->currentData(kNativeSizeRole).toInt();
    if (!limits::sizeFarFromNative(m_width->value(), m_height->value(), native)) // the one rule
        return;
    m_width->setValue(native);
    m_height->setValue(native);
}

engine::GenerationRequest GenerationForm::request() const {
    engine::GenerationRequest r;
    r.model = currentModel();
    r.prompt = m_prompt->toPlainText().trimmed();
    r.negativePrompt = m_negative->toPlainText().trimmed();
    r.sampler = m_sampler->currentData().toString();
    r.steps = m_steps->value();
    r.guidance = m_guidance->value();
    // The engine works in multiples of 8.
    r.width = m_width->value() / 8 * 8;
    r.height = m_height->value() / 8 * 8;
    const bool fixed = m_seedMode->currentData().toString() == QLatin1String("fixed");
    r.count = m_count->value();
    r.seed = fixed && !m_seed->text().isEmpty() ? seedFromText(m_seed->text(), r.count) : -1;
    r.clipSkip = m_settings.value(keys::ClipSkip).toInt();
    r.device = m_settings.value(keys::Device).toString();
    r.precision = m_settings.value(keys::Precision).toString();
    r.withoutT5 =
        m_model->currentData(kEntryRole).value<ModelEntry>().offersWithoutT5 && m_withoutT5->isChecked();
    return r;
}

QString GenerationForm::applyParameters(const engine::ImageParameters& p) {
    QStringList notes;
    // The model first: choosing it applies its family's defaults, which the image's values then replace.
    if (!p.modelFolder.isEmpty() || !p.modelName.isEmpty()) {
        int found = -1;
        for (int i = 0; i < m_model->count() && found < 0; ++i) {
            const QString id = m_model->itemData(i).toString();
            if ((!p.modelFolder.isEmpty() && id == p.modelFolder) ||
                (!p.modelName.isEmpty() &&
                 (id.compare(p.modelName, Qt::CaseInsensitive) == 0 ||
                  m_model->itemText(i).compare(p.modelName, Qt::CaseInsensitive) == 0 ||
                  QFileInfo(id).fileName().compare(p.modelName, Qt::CaseInsensitive) == 0)))
                found = i;
        }
        if (found >= 0)
            m_model->setCurrentIndex(found);
        else
            notes << tr("The model \"%1\" is not installed; keeping %2.")
                         .arg(p.modelName.isEmpty() ? p.modelFolder : p.modelName, m_model->currentText());
    }
    m_prompt->setPlainText(p.prompt);
    m_negative->setPlainText(p.negativePrompt);
    if (p.steps > 0)
        m_steps->setValue(p.steps);
    if (p.guidance >= 0)
        m_guidance->setValue(p.guidance);
    if (p.width > 0 && p.height > 0) {
        m_width->setValue(p.width);
        m_height->setValue(p.height);
    }
    if (!p.sampler.isEmpty()) {
        const int s = m_sampler->findData(p.sampler);
        if (s >= 0)
            m_sampler->setCurrentIndex(s);
        else
            notes << tr("The sampler \"%1\" is not available here; keeping %2.")
                         .arg(p.sampler, m_sampler->currentText());
    }
    if (p.seed >= 0) {
        m_seedMode->setCurrentIndex(1);
        m_seed->setText(QString::number(p.seed));
    }
    if (m_model->currentData(kEntryRole).value<ModelEntry>().offersWithoutT5)
        m_withoutT5->setChecked(p.withoutT5);
    else if (p.withoutT5)
        notes << tr("The image was made without T5, which %1 cannot do.").arg(m_model->currentText());
    return notes.join(QLatin1Char(' '));
}

void GenerationForm::setLastSeed(qint64 seed) {
    m_lastSeed = seed;
    m_reuseSeed->setEnabled(seed >= 0);
    m_reuseSeed->setToolTip(seed >= 0 ? tr("Reuse the last image's seed (%1)").arg(seed)
                                      : tr("Reuse the last image's seed"));
}

void GenerationForm::setBusy(bool busy) {
    m_busy = busy;
    m_generate->setEnabled(!busy);
    m_cancel->setEnabled(busy);
}

} // namespace tp::ui
