#include "ui/FirstRunDialog.h"

#include "core/settings/Settings.h"
#include "ui/ImportOriginal.h"
#include "ui/Units.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace tp::ui {

FirstRunDialog::FirstRunDialog(Settings& settings, QWidget* parent)
    : QDialog(parent)
    , m_settings(settings) {
    setObjectName(QStringLiteral("firstRunDialog"));
    setWindowTitle(tr("Welcome to TwistedPic"));
    auto* intro =
        new QLabel(tr("TwistedPic makes images with Stable Diffusion models on this computer and gives "
                      "the GPU back to Ollama after every image. This is what it found:"),
                   this);
    intro->setWordWrap(true);
    m_gpu = new QLabel(tr("Looking for a GPU…"), this);
    m_ollama = new QLabel(tr("Checking…"), this);
    m_twistedPair = new QLabel(tr("Checking…"), this);
    for (QLabel* l : {m_gpu, m_ollama, m_twistedPair})
        l->setWordWrap(true);
    m_models = new QTreeWidget(this);
    m_models->setObjectName(QStringLiteral("firstRunModels"));
    m_models->setRootIsDecorated(false);
    m_models->setHeaderLabels({tr("Model"), tr("Family"), tr("Size"), tr("Found in")});
    m_models->header()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_models->setMinimumHeight(fontMetrics().height() * 6);

    m_cleanup = new QCheckBox(tr("&Free the GPU memory an image used, after every image"), this);
    m_cleanup->setChecked(settings.cleanupAfterGeneration());
    m_unload = new QCheckBox(tr("&Move the model to RAM after every image"), this);
    m_unload->setChecked(settings.unloadAfterGeneration());
    auto* switches =
        new QLabel(tr("The first switch costs a few milliseconds and keeps only the model on the GPU; "
                      "leave it on. The second also moves the model to RAM, leaving the whole GPU to "
                      "Ollama, and brings it back in a fraction of a second for the next image."),
                   this);
    switches->setWordWrap(true);
    connect(m_cleanup, &QCheckBox::toggled, this,
            [this](bool on) { m_settings.setOrWarn(keys::CleanupAfterGeneration, on); });
    connect(m_unload, &QCheckBox::toggled, this,
            [this](bool on) { m_settings.setOrWarn(keys::UnloadAfterGeneration, on); });

    auto* form = new QFormLayout;
    form->addRow(tr("GPU:"), m_gpu);
    form->addRow(tr("Ollama:"), m_ollama);
    form->addRow(tr("TwistedPair:"), m_twistedPair);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("&Start"));
    QPushButton* import =
        buttons->addButton(tr("&Import the original app's config.py…"), QDialogButtonBox::ActionRole);
    import->setObjectName(QStringLiteral("importOriginal"));
    import->setToolTip(
        tr("Coming from the Python original? Its settings are read from its config.py, never run"));
    connect(import, &QPushButton::clicked, this, [this] {
        if (importOriginalConfig(this, m_settings)) {
            m_cleanup->setChecked(m_settings.cleanupAfterGeneration());
            m_unload->setChecked(m_settings.unloadAfterGeneration());
        }
    });
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(intro);
    layout->addLayout(form);
    layout->addWidget(new QLabel(tr("Models:"), this));
    layout->addWidget(m_models, 1);
    layout->addWidget(m_cleanup);
    layout->addWidget(m_unload);
    layout->addWidget(switches);
    layout->addWidget(buttons);
    resize(620, 520);
}

QString FirstRunDialog::gpuText() const {
    return m_gpu->text();
}
QString FirstRunDialog::ollamaText() const {
    return m_ollama->text();
}
QString FirstRunDialog::twistedPairText() const {
    return m_twistedPair->text();
}

void FirstRunDialog::setVramSample(const gpu::VramSample& s) {
    if (!s.gpuAvailable || s.devices.isEmpty()) {
        m_gpu->setText(tr("No NVIDIA GPU (%1): images are made on the CPU, more slowly.").arg(s.noGpuReason));
        return;
    }
    const gpu::DeviceSample& d = s.devices.first();
    m_gpu->setText(tr("%1, %2 of %3 free")
                       .arg(d.name, formatBytes(double(d.freeBytes)), formatBytes(double(d.totalBytes))));
}

void FirstRunDialog::setOllamaStatus(const services::OllamaStatus& s) {
    if (!s.checked)
        return;
    m_ollama->setText(s.up ? tr("running (version %1) at %2, %3 model(s) installed")
                                 .arg(s.version, s.url)
                                 .arg(s.installed.size())
                           : tr("not answering at %1: %2").arg(s.url, s.error));
}

void FirstRunDialog::setTwistedPairStatus(const services::TwistedPairStatus& s) {
    if (!s.checked)
        return;
    m_twistedPair->setText(s.up ? tr("running at %1").arg(s.url)
                                : tr("not answering at %1: %2").arg(s.url, s.error));
}

void FirstRunDialog::setModels(const QVector<io::ModelInfo>& models) {
    m_models->clear();
    for (const io::ModelInfo& m : models) {
        auto* item = new QTreeWidgetItem(m_models);
        item->setText(0, m.name);
        item->setText(1, m.supported ? m.family
                         : !m.missingParts.isEmpty()
                             ? tr("%1 (needs %2)").arg(m.family, m.missingParts.join(QStringLiteral(", ")))
                             : tr("%1 (not supported yet)").arg(m.family));
        if (!m.problem.isEmpty())
            item->setToolTip(1, m.problem);
        item->setText(2, io::formatSize(m.sizeBytes));
        item->setText(3, m.source);
        item->setToolTip(0, m.folder);
    }
}

void FirstRunDialog::done(int result) {
    m_settings.setOrWarn(keys::FirstRunDone, true);
    QDialog::done(result);
}

} // namespace tp::ui
