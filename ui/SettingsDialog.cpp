#include "ui/SettingsDialog.h"

#include "core/common/GenerationLimits.h"

#include "ui/ImportOriginal.h"

#include "core/common/Paths.h"
#include "core/engine/ImageMetadata.h"
#include "core/settings/Settings.h"
#include "ui/Icons.h"
#include "ui/Translation.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QEvent>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollArea>
#include <QSpinBox>
#include <QStackedWidget>
#include <QVBoxLayout>

namespace tp::ui {
namespace {

void selectData(QComboBox* combo, const QVariant& value) {
    int index = combo->findData(value);
    if (index < 0) {
        combo->addItem(value.toString(), value); // a value typed into the file by hand
        index = combo->count() - 1;
    }
    combo->setCurrentIndex(index);
}

} // namespace

SettingsDialog::SettingsDialog(Settings& settings, QWidget* parent)
    : QDialog(parent)
    , m_settings(settings) {
    setObjectName(QStringLiteral("settingsDialog"));
    m_pages = new QListWidget(this);
    m_pages->setIconSize(QSize(22, 22));
    m_pages->setSelectionMode(QAbstractItemView::SingleSelection);
    m_pages->setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Expanding);
    m_stack = new QStackedWidget(this);
    m_stack->addWidget(wrapPage(buildGpuPage()));
    m_stack->addWidget(wrapPage(buildGenerationPage()));
    m_stack->addWidget(wrapPage(buildModelsPage()));
    m_stack->addWidget(wrapPage(buildServicesPage()));
    m_stack->addWidget(wrapPage(buildInterfacePage()));
    const char* icons[PageCount] = {"free-memory", "generate", "folder", "services", "settings"};
    for (const char* name : icons)
        m_pages->addItem(new QListWidgetItem(icon(QString::fromLatin1(name)), QString()));

    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    m_status->setStyleSheet(QStringLiteral("color: #c62828;"));
    m_status->hide();
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Apply |
                                         QDialogButtonBox::Cancel | QDialogButtonBox::RestoreDefaults,
                                     this);

    auto* body = new QHBoxLayout;
    body->addWidget(m_pages);
    body->addWidget(m_stack, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(body, 1);
    layout->addWidget(m_status);
    layout->addWidget(m_buttons);

    connect(m_pages, &QListWidget::currentRowChanged, m_stack, &QStackedWidget::setCurrentIndex);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &SettingsDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &SettingsDialog::reject);
    connect(m_buttons->button(QDialogButtonBox::Apply), &QPushButton::clicked, this, &SettingsDialog::apply);
    connect(m_buttons->button(QDialogButtonBox::RestoreDefaults), &QPushButton::clicked, this,
            &SettingsDialog::restoreDefaultsOfPage);
    m_import = m_buttons->addButton(QString(), QDialogButtonBox::ActionRole);
    m_import->setObjectName(QStringLiteral("importOriginal"));
    connect(m_import, &QPushButton::clicked, this, [this] {
        if (importOriginalConfig(this, m_settings))
            reload();
    });

    retranslateUi();
    reload();
    m_pages->setCurrentRow(0);
    m_pages->setFixedWidth(m_pages->sizeHintForColumn(0) + 2 * m_pages->frameWidth() + 12);
    resize(760, 560);
}

QWidget* SettingsDialog::wrapPage(QWidget* content) {
    auto* scroll = new QScrollArea;
    scroll->setWidget(content);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    return scroll;
}

QLabel* SettingsDialog::explanation(QWidget* parent) {
    auto* label = new QLabel(parent);
    label->setWordWrap(true);
    label->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    label->setForegroundRole(QPalette::PlaceholderText);
    QFont f = label->font();
    f.setPointSizeF(f.pointSizeF() * 0.92);
    label->setFont(f);
    return label;
}

SettingsDialog::Field& SettingsDialog::addField(int page, const QString& key, QWidget* widget,
                                                std::function<QVariant()> value,
                                                std::function<void(const QVariant&)> load) {
    widget->setObjectName(key);
    auto* error = new QLabel(widget->parentWidget());
    error->setObjectName(key + QStringLiteral("/error"));
    error->setWordWrap(true);
    error->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
    error->setStyleSheet(QStringLiteral("color: #c62828;"));
    Field f;
    f.key = key;
    f.page = page;
    f.widget = widget;
    f.error = error;
    f.value = std::move(value);
    f.load = std::move(load);
    m_fields.push_back(std::move(f));
    return m_fields.back();
}

void SettingsDialog::addRow(QFormLayout* form, QLabel* label, Field& field, QLabel* help) {
    if (label) {
        label->setBuddy(field.widget);
        form->addRow(label, field.widget);
    } else {
        form->addRow(field.widget);
    }
    auto indent = [label](QWidget* w) {
        auto* holder = new QWidget;
        auto* l = new QHBoxLayout(holder);
        l->setContentsMargins(label ? 0 : 24, 0, 0, 0);
        l->addWidget(w);
        return holder;
    };
    if (help) {
        if (label)
            form->addRow(QString(), help);
        else
            form->addRow(indent(help));
    }
    // The error gets a row of its own, shown only while there is an error: a hidden widget
    // alone would still leave the row's spacing.
    field.form = form;
    field.errorRow = label ? static_cast<QWidget*>(field.error) : indent(field.error);
    if (label)
        form->addRow(QString(), field.errorRow);
    else
        form->addRow(field.errorRow);
    form->setRowVisible(field.errorRow, false);
}

void SettingsDialog::showError(Field& field, const QString& error) {
    field.error->setText(error);
    if (field.form)
        field.form->setRowVisible(field.errorRow, !error.isEmpty());
}

QWidget* SettingsDialog::buildGpuPage() {
    auto* page = new QWidget;
    auto* form = new QFormLayout(page);
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    m_gpuTitle = new QLabel(page);
    m_gpuTitle->setWordWrap(true);
    form->addRow(m_gpuTitle);

    m_cleanup = new QCheckBox(page);
    m_cleanupHelp = explanation(page);
    addRow(form, nullptr,
           addField(
               GpuPage, keys::CleanupAfterGeneration, m_cleanup, [this] { return m_cleanup->isChecked(); },
               [this](const QVariant& v) { m_cleanup->setChecked(v.toBool()); }),
           m_cleanupHelp);
    m_unload = new QCheckBox(page);
    m_unloadHelp = explanation(page);
    addRow(form, nullptr,
           addField(
               GpuPage, keys::UnloadAfterGeneration, m_unload, [this] { return m_unload->isChecked(); },
               [this](const QVariant& v) { m_unload->setChecked(v.toBool()); }),
           m_unloadHelp);
    m_makeRoom = new QCheckBox(page);
    m_makeRoomHelp = explanation(page);
    addRow(form, nullptr,
           addField(
               GpuPage, keys::MakeRoomBeforeGenerating, m_makeRoom,
               [this] { return m_makeRoom->isChecked(); },
               [this](const QVariant& v) { m_makeRoom->setChecked(v.toBool()); }),
           m_makeRoomHelp);

    m_idleLabel = new QLabel(page);
    m_idle = new QSpinBox(page);
    m_idle->setRange(0, 24 * 60);
    m_idleHelp = explanation(page);
    addRow(form, m_idleLabel,
           addField(
               GpuPage, keys::IdleUnloadMinutes, m_idle, [this] { return QString::number(m_idle->value()); },
               [this](const QVariant& v) { m_idle->setValue(v.toInt()); }),
           m_idleHelp);

    m_budgetLabel = new QLabel(page);
    m_budget = new QComboBox(page);
    m_budget->setEditable(true);
    for (const char* b : {"auto", "all", "8GiB", "12GiB", "16GiB", "24GiB"})
        m_budget->addItem(QString::fromLatin1(b));
    m_budgetHelp = explanation(page);
    addRow(form, m_budgetLabel,
           addField(
               GpuPage, keys::VramBudget, m_budget, [this] { return m_budget->currentText().trimmed(); },
               [this](const QVariant& v) { m_budget->setEditText(v.toString()); }),
           m_budgetHelp);
    m_reserveLabel = new QLabel(page);
    m_reserve = new QSpinBox(page);
    m_reserve->setRange(0, 65536);
    m_reserve->setSingleStep(256);
    m_reserveHelp = explanation(page);
    addRow(form, m_reserveLabel,
           addField(
               GpuPage, keys::VramReserveMiB, m_reserve,
               [this] { return QString::number(m_reserve->value()); },
               [this](const QVariant& v) { m_reserve->setValue(v.toInt()); }),
           m_reserveHelp);

    m_deviceLabel = new QLabel(page);
    m_device = new QComboBox(page);
    m_deviceHelp = explanation(page);
    addRow(form, m_deviceLabel,
           addField(
               GpuPage, keys::Device, m_device, [this] { return m_device->currentData(); },
               [this](const QVariant& v) { selectData(m_device, v.toString()); }),
           m_deviceHelp);
    m_precisionLabel = new QLabel(page);
    m_precision = new QComboBox(page);
    m_precisionHelp = explanation(page);
    addRow(form, m_precisionLabel,
           addField(
               GpuPage, keys::Precision, m_precision, [this] { return m_precision->currentData(); },
               [this](const QVariant& v) { selectData(m_precision, v.toString()); }),
           m_precisionHelp);
    m_cudaGraphs = new QCheckBox(page);
    m_cudaGraphsHelp = explanation(page);
    addRow(form, nullptr,
           addField(
               GpuPage, keys::CudaGraphs, m_cudaGraphs, [this] { return m_cudaGraphs->isChecked(); },
               [this](const QVariant& v) { m_cudaGraphs->setChecked(v.toBool()); }),
           m_cudaGraphsHelp);
    m_intervalLabel = new QLabel(page);
    m_interval = new QSpinBox(page);
    m_interval->setRange(100, 10000);
    m_interval->setSingleStep(100);
    m_intervalHelp = explanation(page);
    addRow(form, m_intervalLabel,
           addField(
               GpuPage, keys::MonitorIntervalMs, m_interval,
               [this] { return QString::number(m_interval->value()); },
               [this](const QVariant& v) { m_interval->setValue(v.toInt()); }),
           m_intervalHelp);
    return page;
}

QWidget* SettingsDialog::buildGenerationPage() {
    auto* page = new QWidget;
    auto* form = new QFormLayout(page);
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    auto spin = [&](QSpinBox*& box, QLabel*& label, const QString& key, int min, int max, int step = 1) {
        label = new QLabel(page);
        box = new QSpinBox(page);
        box->setRange(min, max);
        box->setSingleStep(step);
        QSpinBox* b = box;
        return &addField(
            GenerationPage, key, box, [b] { return QString::number(b->value()); },
            [b](const QVariant& v) { b->setValue(v.toInt()); });
    };
    addRow(form, m_stepsLabel, *spin(m_steps, m_stepsLabel, keys::Steps, limits::MinSteps, limits::MaxSteps));
    m_guidanceLabel = new QLabel(page);
    m_guidance = new QDoubleSpinBox(page);
    m_guidance->setRange(limits::MinGuidance, limits::MaxGuidance);
    m_guidance->setDecimals(2);
    m_guidance->setSingleStep(0.5);
    addRow(form, m_guidanceLabel,
           addField(
               GenerationPage, keys::Guidance, m_guidance,
               [this] { return QString::number(m_guidance->value(), 'g', 6); },
               [this](const QVariant& v) { m_guidance->setValue(v.toDouble()); }));
    addRow(form, m_widthLabel,
           *spin(m_width, m_widthLabel, keys::Width, limits::MinSide, limits::MaxSide, limits::SideMultiple));
    addRow(
        form, m_heightLabel,
        *spin(m_height, m_heightLabel, keys::Height, limits::MinSide, limits::MaxSide, limits::SideMultiple));

    m_presetsLabel = new QLabel(page);
    m_presets = new QLineEdit(page);
    m_presetsHelp = explanation(page);
    Field& presets = addField(
        GenerationPage, keys::SizePresets, m_presets,
        [this] {
            QStringList items;
            for (const QString& part : m_presets->text().split(QLatin1Char(','), Qt::SkipEmptyParts))
                items << part.trimmed().toLower().replace(QStringLiteral("×"), QStringLiteral("x"));
            return QVariant(items);
        },
        [this](const QVariant& v) { m_presets->setText(v.toStringList().join(QStringLiteral(", "))); });
    presets.check = [](const QVariant& v) {
        static const QRegularExpression re(QStringLiteral(R"(^(\d+)x(\d+)$)"));
        for (const QString& item : v.toStringList()) {
            const QRegularExpressionMatch m = re.match(item);
            const int w = m.captured(1).toInt(), h = m.captured(2).toInt();
            if (!m.hasMatch() || w < 64 || h < 64 || w > 4096 || h > 4096 || w % 8 || h % 8)
                return tr("\"%1\" is not a size like 768x512 (multiples of 8, 64 to 4096).").arg(item);
        }
        return QString();
    };
    addRow(form, m_presetsLabel, presets, m_presetsHelp);

    m_samplerLabel = new QLabel(page);
    m_sampler = new QComboBox(page);
    for (const QString& name : samplerNames())
        m_sampler->addItem(engine::samplerDisplayName(name), name);
    addRow(form, m_samplerLabel,
           addField(
               GenerationPage, keys::Sampler, m_sampler, [this] { return m_sampler->currentData(); },
               [this](const QVariant& v) { selectData(m_sampler, v.toString()); }));
    m_seedModeLabel = new QLabel(page);
    m_seedMode = new QComboBox(page);
    m_seedMode->addItem(QString(), QStringLiteral("random"));
    m_seedMode->addItem(QString(), QStringLiteral("fixed"));
    addRow(form, m_seedModeLabel,
           addField(
               GenerationPage, keys::SeedMode, m_seedMode, [this] { return m_seedMode->currentData(); },
               [this](const QVariant& v) { selectData(m_seedMode, v.toString()); }));
    m_seedLabel = new QLabel(page);
    m_seed = new QLineEdit(page);
    addRow(form, m_seedLabel,
           addField(
               GenerationPage, keys::Seed, m_seed, [this] { return m_seed->text().trimmed(); },
               [this](const QVariant& v) { m_seed->setText(QString::number(v.toLongLong())); }));
    addRow(form, m_countLabel,
           *spin(m_count, m_countLabel, keys::ImageCount, limits::MinCount, limits::MaxCount));
    m_clipSkipHelp = explanation(page);
    addRow(form, m_clipSkipLabel,
           *spin(m_clipSkip, m_clipSkipLabel, keys::ClipSkip, limits::MinClipSkip, limits::MaxClipSkip),
           m_clipSkipHelp);
    m_negativeLabel = new QLabel(page);
    m_negative = new QPlainTextEdit(page);
    m_negative->setTabChangesFocus(true);
    m_negative->setFixedHeight(m_negative->fontMetrics().lineSpacing() * 4 + 12);
    addRow(form, m_negativeLabel,
           addField(
               GenerationPage, keys::NegativePrompt, m_negative, [this] { return m_negative->toPlainText(); },
               [this](const QVariant& v) { m_negative->setPlainText(v.toString()); }));
    return page;
}

QWidget* SettingsDialog::buildModelsPage() {
    auto* page = new QWidget;
    auto* form = new QFormLayout(page);
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);

    m_foldersLabel = new QLabel(page);
    auto* folderBox = new QWidget(page);
    m_folders = new QListWidget(folderBox);
    m_folders->setFixedHeight(fontMetrics().lineSpacing() * 7);
    m_addFolder = new QPushButton(icon(QStringLiteral("folder")), QString(), folderBox);
    m_removeFolder = new QPushButton(folderBox);
    auto* buttons = new QVBoxLayout;
    buttons->addWidget(m_addFolder);
    buttons->addWidget(m_removeFolder);
    buttons->addStretch(1);
    auto* row = new QHBoxLayout(folderBox);
    row->setContentsMargins(0, 0, 0, 0);
    row->addWidget(m_folders, 1);
    row->addLayout(buttons);
    m_foldersHelp = explanation(page);
    Field& folders = addField(
        ModelsPage, keys::ModelSearchPaths, m_folders,
        [this] {
            QStringList items;
            for (int i = 0; i < m_folders->count(); ++i)
                items << m_folders->item(i)->text();
            return QVariant(items);
        },
        [this](const QVariant& v) {
            m_folders->clear();
            m_folders->addItems(v.toStringList());
        });
    folders.widget->setObjectName(QString());
    folderBox->setObjectName(keys::ModelSearchPaths);
    folders.widget = folderBox;
    m_foldersLabel->setBuddy(m_folders);
    form->addRow(m_foldersLabel, folderBox);
    form->addRow(QString(), m_foldersHelp);
    form->addRow(QString(), folders.error);
    folders.form = form;
    folders.errorRow = folders.error;
    form->setRowVisible(folders.errorRow, false);
    connect(m_addFolder, &QPushButton::clicked, this, [this] {
        const QString dir =
            QFileDialog::getExistingDirectory(this, tr("Add a model folder"), QDir::homePath());
        if (!dir.isEmpty())
            addModelFolder(dir);
    });
    connect(m_removeFolder, &QPushButton::clicked, this, [this] { delete m_folders->currentItem(); });

    m_defaultModelLabel = new QLabel(page);
    m_defaultModel = new QLineEdit(page);
    addRow(form, m_defaultModelLabel,
           addField(
               ModelsPage, keys::DefaultModel, m_defaultModel,
               [this] { return m_defaultModel->text().trimmed(); },
               [this](const QVariant& v) { m_defaultModel->setText(v.toString()); }));

    m_outputLabel = new QLabel(page);
    auto* outputBox = new QWidget(page);
    m_output = new QLineEdit(outputBox);
    m_browseOutput = new QPushButton(icon(QStringLiteral("folder")), QString(), outputBox);
    auto* outRow = new QHBoxLayout(outputBox);
    outRow->setContentsMargins(0, 0, 0, 0);
    outRow->addWidget(m_output, 1);
    outRow->addWidget(m_browseOutput);
    Field& output = addField(
        ModelsPage, keys::OutputDirectory, m_output, [this] { return m_output->text().trimmed(); },
        [this](const QVariant& v) { m_output->setText(QDir::toNativeSeparators(v.toString())); });
    output.check = [](const QVariant& v) {
        return v.toString().isEmpty() ? tr("Choose a folder for the generated images.") : QString();
    };
    m_outputLabel->setBuddy(m_output);
    form->addRow(m_outputLabel, outputBox);
    form->addRow(QString(), output.error);
    output.form = form;
    output.errorRow = output.error;
    form->setRowVisible(output.errorRow, false);
    connect(m_browseOutput, &QPushButton::clicked, this, [this] {
        const QString dir =
            QFileDialog::getExistingDirectory(this, tr("Output folder"), paths::expandHome(m_output->text()));
        if (!dir.isEmpty())
            m_output->setText(QDir::toNativeSeparators(dir));
    });
    return page;
}

QWidget* SettingsDialog::buildServicesPage() {
    auto* page = new QWidget;
    auto* form = new QFormLayout(page);
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    auto url = [&](QLineEdit*& edit, QLabel*& label, QLabel*& help, const QString& key) {
        label = new QLabel(page);
        edit = new QLineEdit(page);
        help = explanation(page);
        QLineEdit* e = edit;
        addRow(form, label,
               addField(
                   ServicesPage, key, edit, [e] { return e->text().trimmed(); },
                   [e](const QVariant& v) { e->setText(v.toString()); }),
               help);
    };
    url(m_ollama, m_ollamaLabel, m_ollamaHelp, keys::OllamaUrl);
    url(m_pair, m_pairLabel, m_pairHelp, keys::TwistedPairUrl);
    m_timeoutLabel = new QLabel(page);
    m_timeout = new QSpinBox(page);
    m_timeout->setRange(1, 3600);
    addRow(form, m_timeoutLabel,
           addField(
               ServicesPage, keys::TwistedPairTimeoutSec, m_timeout,
               [this] { return QString::number(m_timeout->value()); },
               [this](const QVariant& v) { m_timeout->setValue(v.toInt()); }));

    m_refinerModelLabel = new QLabel(page);
    m_refinerModel = new QLineEdit(page);
    m_refinerModel->setObjectName(QStringLiteral("refinerModel"));
    addRow(form, m_refinerModelLabel,
           addField(
               ServicesPage, keys::RefinerModel, m_refinerModel,
               [this] { return m_refinerModel->text().trimmed(); },
               [this](const QVariant& v) { m_refinerModel->setText(v.toString()); }));
    m_keywordsLabel = new QLabel(page);
    m_keywords = new QSpinBox(page);
    m_keywords->setRange(3, 75);
    addRow(form, m_keywordsLabel,
           addField(
               ServicesPage, keys::RefinerKeywords, m_keywords,
               [this] { return QString::number(m_keywords->value()); },
               [this](const QVariant& v) { m_keywords->setValue(v.toInt()); }));
    auto templateEdit = [&](QPlainTextEdit*& edit, QLabel*& label, QLabel*& help, const QString& key,
                            int lines, const char* name) {
        label = new QLabel(page);
        edit = new QPlainTextEdit(page);
        edit->setObjectName(QString::fromLatin1(name));
        edit->setTabChangesFocus(true);
        edit->setFixedHeight(edit->fontMetrics().lineSpacing() * lines + 12);
        help = explanation(page);
        QPlainTextEdit* e = edit;
        addRow(form, label,
               addField(
                   ServicesPage, key, edit, [e] { return e->toPlainText(); },
                   [e](const QVariant& v) { e->setPlainText(v.toString()); }),
               help);
    };
    templateEdit(m_refinerTemplate, m_refinerTemplateLabel, m_refinerTemplateHelp, keys::RefinerTemplate, 6,
                 "refinerTemplate");
    templateEdit(m_wrapperTemplate, m_wrapperTemplateLabel, m_wrapperTemplateHelp, keys::WrapperTemplate, 2,
                 "wrapperTemplate");
    return page;
}

QWidget* SettingsDialog::buildInterfacePage() {
    auto* page = new QWidget;
    auto* form = new QFormLayout(page);
    form->setFieldGrowthPolicy(QFormLayout::ExpandingFieldsGrow);
    m_languageLabel = new QLabel(page);
    m_language = new QComboBox(page);
    for (const QString& code : languageCodes())
        m_language->addItem(languageName(code), code);
    m_languageHelp = explanation(page);
    addRow(form, m_languageLabel,
           addField(
               InterfacePage, keys::Language, m_language, [this] { return m_language->currentData(); },
               [this](const QVariant& v) { selectData(m_language, v.toString()); }),
           m_languageHelp);
    m_verbose = new QCheckBox(page);
    m_verboseHelp = explanation(page);
    addRow(form, nullptr,
           addField(
               InterfacePage, keys::LogVerbose, m_verbose, [this] { return m_verbose->isChecked(); },
               [this](const QVariant& v) { m_verbose->setChecked(v.toBool()); }),
           m_verboseHelp);
    return page;
}

void SettingsDialog::fillCombos() {
    const struct {
        const char* value;
        QString text;
    } devices[] = {{"auto", tr("Automatic (NVIDIA GPU when present, else CPU)")},
                   {"cuda", tr("NVIDIA GPU (the first one)")},
                   {"cuda:0", tr("NVIDIA GPU 0")},
                   {"cuda:1", tr("NVIDIA GPU 1")},
                   {"cpu", tr("CPU (slow, uses no GPU memory)")}};
    const QVariant device = m_device->currentData();
    m_device->clear();
    for (const auto& d : devices)
        m_device->addItem(d.text, QString::fromLatin1(d.value));
    if (device.isValid())
        selectData(m_device, device);

    const struct {
        const char* value;
        QString text;
    } precisions[] = {{"auto", tr("Automatic (fp16 on the GPU, fp32 on the CPU)")},
                      {"fp16", tr("fp16 — half precision")},
                      {"bf16", tr("bf16 — bfloat16")},
                      {"fp32", tr("fp32 — full precision")},
                      {"fp8", tr("fp8 weights — half the memory of fp16/bf16 (libtorch 2.1+)")},
                      {"fp8mm", tr("fp8 weights and matrix multiplication (Ada/Hopper GPUs, opt-in)")}};
    const QVariant precision = m_precision->currentData();
    m_precision->clear();
    for (const auto& p : precisions)
        m_precision->addItem(p.text, QString::fromLatin1(p.value));
    if (precision.isValid())
        selectData(m_precision, precision);

    m_seedMode->setItemText(0, tr("Random for every generation"));
    m_seedMode->setItemText(1, tr("Fixed (the seed below)"));
    m_language->setItemText(0, languageName(QStringLiteral("system")));
}

void SettingsDialog::retranslateUi() {
    setWindowTitle(tr("Settings"));
    m_import->setText(tr("Import from the &original…"));
    m_import->setToolTip(tr("Read the Python original's config.py (never run) and take over what it set"));
    const QString pageNames[PageCount] = {tr("GPU memory"), tr("Generation"), tr("Models and output"),
                                          tr("Services"), tr("Interface")};
    for (int i = 0; i < PageCount && i < m_pages->count(); ++i)
        m_pages->item(i)->setText(pageNames[i]);
    fillCombos();

    m_gpuTitle->setText(tr("TwistedPic shares the GPU with Ollama and other programs. These settings decide "
                           "how much memory it keeps between images."));
    m_cleanup->setText(tr("&Free cached GPU memory after each image"));
    m_cleanupHelp->setText(
        tr("Returns the memory allocator's cache to the GPU after each image, so that Ollama "
           "and other programs can use it. Costs a few milliseconds; the next image allocates "
           "again. Turn it off only if nothing else uses this GPU."));
    m_unload->setText(tr("&Unload the model to RAM after each image"));
    m_unloadHelp->setText(
        tr("Moves the model's weights to (pinned) RAM after each image, so that the GPU holds "
           "only the CUDA context, about half a gigabyte. Reloading takes a fraction of a "
           "second for SD 1.5-sized models. Use it when a language model needs the whole card."));
    m_makeRoom->setText(tr("Ask Ollama to make &room before generating"));
    m_makeRoomHelp->setText(
        tr("When free GPU memory is short, ask Ollama to unload the models it is not using, "
           "so that neither program falls back to the much slower CPU."));
    m_idleLabel->setText(tr("Unload when &idle for:"));
    m_idle->setSuffix(tr(" min"));
    m_idle->setSpecialValueText(tr("Never"));
    m_idleHelp->setText(
        tr("Like Ollama's keep_alive: after this many minutes without a request the model moves "
           "to RAM."));
    m_budgetLabel->setText(tr("GPU memory &budget:"));
    m_budgetHelp->setText(
        tr("What one image may use on the GPU: \"auto\" leaves what Ollama's loaded models still need and "
           "the reserve below free; \"all\" uses whatever is free; or a size such as 12GiB. A model larger "
           "than the budget runs with its text encoders and VAE on the GPU only while they work and its "
           "blocks streamed from RAM: slower, but within the budget."));
    m_reserveLabel->setText(tr("R&eserve for other programs:"));
    m_reserve->setSuffix(tr(" MiB"));
    m_reserveHelp->setText(tr("With the automatic budget: GPU memory left free for the desktop and other "
                              "programs."));
    m_deviceLabel->setText(tr("&Device:"));
    m_deviceHelp->setText(tr("Where images are computed. A change takes effect with the next image."));
    m_precisionLabel->setText(tr("&Precision:"));
    m_precisionHelp->setText(tr("Half precision needs half the memory and is fastest on NVIDIA GPUs."));
    m_cudaGraphs->setText(tr("&Speed up denoising with CUDA graphs"));
    m_cudaGraphs->setToolTip(tr("Records one denoising step on the GPU and replays it for every step."));
    m_cudaGraphsHelp->setText(
        tr("The GPU replays a recorded step instead of waiting for hundreds of launches from the CPU: "
           "faster, the same images. The recorded step keeps about one step's working memory reserved; "
           "turn it off if GPU memory is very tight."));
    m_intervalLabel->setText(tr("Memory &graph interval:"));
    m_interval->setSuffix(tr(" ms"));
    m_intervalHelp->setText(tr("How often the GPU memory graph takes a sample."));

    m_stepsLabel->setText(tr("&Steps:"));
    m_guidanceLabel->setText(tr("&Guidance (CFG):"));
    m_widthLabel->setText(tr("&Width:"));
    m_heightLabel->setText(tr("&Height:"));
    m_width->setSuffix(tr(" px"));
    m_height->setSuffix(tr(" px"));
    m_presetsLabel->setText(tr("Size &presets:"));
    m_presetsHelp->setText(tr("Offered in the size list of the main window, separated by commas, e.g. "
                              "512x512, 768x512."));
    m_samplerLabel->setText(tr("S&ampler:"));
    m_seedModeLabel->setText(tr("Seed &mode:"));
    m_seedLabel->setText(tr("S&eed:"));
    m_countLabel->setText(tr("Images per &generation:"));
    m_clipSkipLabel->setText(tr("&CLIP skip:"));
    m_clipSkipHelp->setText(
        tr("1 uses the text encoder's last layer; 2 the one before it, as some anime models "
           "expect."));
    m_negativeLabel->setText(tr("&Negative prompt:"));

    m_foldersLabel->setText(tr("Model &folders:"));
    m_addFolder->setText(tr("&Add…"));
    m_removeFolder->setText(tr("&Remove"));
    m_foldersHelp->setText(
        tr("Folders that hold diffusers model folders, in addition to the bundled model and "
           "the Hugging Face cache."));
    m_defaultModelLabel->setText(tr("&Default model:"));
    m_defaultModel->setPlaceholderText(tr("the bundled model"));
    m_outputLabel->setText(tr("&Output folder:"));
    m_browseOutput->setText(tr("&Browse…"));

    m_ollamaLabel->setText(tr("&Ollama URL:"));
    m_ollamaHelp->setText(
        tr("The Ollama server that writes and refines prompts, and that is asked to make room "
           "on the GPU."));
    m_pairLabel->setText(tr("&TwistedPair URL:"));
    m_pairHelp->setText(tr("The TwistedPair service that distorts prompts rhetorically."));
    m_timeoutLabel->setText(tr("TwistedPair &timeout:"));
    m_timeout->setSuffix(tr(" s"));
    m_refinerModelLabel->setText(tr("Refiner &model (Ollama):"));
    m_keywordsLabel->setText(tr("&Keywords to ask for:"));
    m_refinerTemplateLabel->setText(tr("&Refiner template:"));
    m_refinerTemplateHelp->setText(
        tr("What Ollama is asked to boil the distorted text down to visual keywords. {text} is the distorted "
           "text, {count} the number of keywords."));
    m_wrapperTemplateLabel->setText(tr("&Wrapper template:"));
    m_wrapperTemplateHelp->setText(tr(
        "The final prompt around the refined text: {distorted} is the refined (or distorted) text, {prompt} "
        "the prompt as typed."));

    m_languageLabel->setText(tr("&Language:"));
    m_languageHelp->setText(tr("Changes the interface at once, without a restart."));
    m_verbose->setText(tr("&Verbose logging"));
    m_verboseHelp->setText(tr("Writes debug detail to the log view and the log file; useful when reporting a "
                              "problem."));
}

void SettingsDialog::changeEvent(QEvent* event) {
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QDialog::changeEvent(event);
}

void SettingsDialog::reload() {
    for (Field& f : m_fields) {
        f.load(m_settings.value(f.key));
        showError(f, {});
    }
    m_status->hide();
}

void SettingsDialog::restoreDefaultsOfPage() {
    const int page = currentPage();
    for (Field& f : m_fields)
        if (f.page == page)
            f.load(m_settings.defaultValue(f.key));
}

bool SettingsDialog::apply() {
    QVariantMap values;
    const Field* firstBad = nullptr;
    for (Field& f : m_fields) {
        const QVariant raw = f.value();
        QString error = f.check ? f.check(raw) : QString();
        QVariant parsed = raw;
        if (error.isEmpty() && raw.typeId() != QMetaType::QStringList && raw.typeId() != QMetaType::Bool) {
            const Result<QVariant> r = m_settings.parse(f.key, raw.toString());
            if (r)
                parsed = *r;
            else
                error = r.error();
        }
        showError(f, error);
        if (!error.isEmpty()) {
            if (!firstBad)
                firstBad = &f;
            continue;
        }
        values.insert(f.key, parsed);
    }
    if (firstBad) {
        showPage(firstBad->page);
        firstBad->widget->setFocus();
        m_status->setText(tr("Nothing was saved: correct the value marked in red."));
        m_status->show();
        return false;
    }
    const Status saved = m_settings.setMany(values);
    if (!saved) {
        m_status->setText(tr("Could not save the settings: %1").arg(saved.error()));
        m_status->show();
        return false;
    }
    m_status->hide();
    return true;
}

void SettingsDialog::accept() {
    if (apply())
        QDialog::accept();
}

void SettingsDialog::showPage(int page) {
    m_pages->setCurrentRow(page);
}

int SettingsDialog::currentPage() const {
    return m_stack->currentIndex();
}

const SettingsDialog::Field* SettingsDialog::field(const QString& key) const {
    for (const Field& f : m_fields)
        if (f.key == key)
            return &f;
    return nullptr;
}

QWidget* SettingsDialog::fieldWidget(const QString& key) const {
    const Field* f = field(key);
    return f ? f->widget : nullptr;
}

QString SettingsDialog::errorText(const QString& key) const {
    const Field* f = field(key);
    return f ? f->error->text() : QString();
}

QString SettingsDialog::statusText() const {
    return m_status->isHidden() ? QString() : m_status->text();
}

void SettingsDialog::addModelFolder(const QString& folder) {
    if (m_folders->findItems(folder, Qt::MatchExactly).isEmpty())
        m_folders->addItem(folder);
}

} // namespace tp::ui
