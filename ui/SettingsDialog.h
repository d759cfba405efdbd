#pragma once

#include <QDialog>
#include <QVariant>
#include <QVector>

#include <deque>
#include <functional>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QDoubleSpinBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QListWidget;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QStackedWidget;

namespace tp {
class Settings;
}

namespace tp::ui {

// Pages of settings (GPU memory, generation defaults, models, services, interface). Every
// value is validated through tp::Settings before anything is written; an invalid one gets a
// message beside its field and nothing is saved. OK and Apply write through Settings, whose
// changed() signal lets the rest of the application react without a restart.
class SettingsDialog final : public QDialog {
    Q_OBJECT
public:
    enum Page { GpuPage, GenerationPage, ModelsPage, ServicesPage, InterfacePage, PageCount };

    explicit SettingsDialog(Settings& settings, QWidget* parent = nullptr);

    void showPage(int page);
    int currentPage() const;
    // The input widget of a setting (objectName is the key), and its error message ("" = fine).
    QWidget* fieldWidget(const QString& key) const;
    QString errorText(const QString& key) const;
    QString statusText() const;
    void addModelFolder(const QString& folder);

public Q_SLOTS:
    // Validates and saves; false (with messages beside the fields) when anything is invalid.
    bool apply();
    void accept() override;
    // Fills the fields from the settings file again.
    void reload();
    void restoreDefaultsOfPage();

protected:
    void changeEvent(QEvent* event) override;

private:
    QPushButton* m_import = nullptr;
    struct Field {
        QString key;
        int page = 0;
        QWidget* widget = nullptr;
        QLabel* error = nullptr;
        QFormLayout* form = nullptr;
        QWidget* errorRow = nullptr; // the form row that holds `error`
        std::function<QVariant()> value;
        std::function<void(const QVariant&)> load;
        // Extra checks beyond Settings' own; returns an error message or "".
        std::function<QString(const QVariant&)> check;
    };

    QWidget* buildGpuPage();
    QWidget* buildGenerationPage();
    QWidget* buildModelsPage();
    QWidget* buildServicesPage();
    QWidget* buildInterfacePage();
    QWidget* wrapPage(QWidget* content);
    QLabel* explanation(QWidget* parent);
    Field& addField(int page, const QString& key, QWidget* widget, std::function<QVariant()> value,
                    std::function<void(const QVariant&)> load);
    void addRow(QFormLayout* form, QLabel* label, Field& field, QLabel* help = nullptr);
    const Field* field(const QString& key) const;
    void showError(Field& field, const QString& error);
    void retranslateUi();
    void fillCombos();

    Settings& m_settings;
    QListWidget* m_pages = nullptr;
    QStackedWidget* m_stack = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
    QLabel* m_status = nullptr;
    std::deque<Field> m_fields; // stable references while fields are added

    // GPU memory
    QLabel* m_gpuTitle = nullptr;
    QCheckBox* m_cleanup = nullptr;
    QLabel* m_cleanupHelp = nullptr;
    QCheckBox* m_unload = nullptr;
    QLabel* m_unloadHelp = nullptr;
    QLabel* m_idleLabel = nullptr;
    QSpinBox* m_idle = nullptr;
    QLabel* m_budgetLabel = nullptr;
    QComboBox* m_budget = nullptr; // editable: auto, all or a size
    QLabel* m_budgetHelp = nullptr;
    QLabel* m_reserveLabel = nullptr;
    QSpinBox* m_reserve = nullptr;
    QLabel* m_reserveHelp = nullptr;
    QLabel* m_idleHelp = nullptr;
    QCheckBox* m_makeRoom = nullptr;
    QLabel* m_makeRoomHelp = nullptr;
    QLabel* m_deviceLabel = nullptr;
    QComboBox* m_device = nullptr;
    QLabel* m_deviceHelp = nullptr;
    QLabel* m_precisionLabel = nullptr;
    QComboBox* m_precision = nullptr;
    QLabel* m_precisionHelp = nullptr;
    QCheckBox* m_cudaGraphs = nullptr;
    QLabel* m_cudaGraphsHelp = nullptr;
    QLabel* m_intervalLabel = nullptr;
    QSpinBox* m_interval = nullptr;
    QLabel* m_intervalHelp = nullptr;

    // Generation defaults
    QLabel* m_stepsLabel = nullptr;
    QSpinBox* m_steps = nullptr;
    QLabel* m_guidanceLabel = nullptr;
    QDoubleSpinBox* m_guidance = nullptr;
    QLabel* m_widthLabel = nullptr;
    QSpinBox* m_width = nullptr;
    QLabel* m_heightLabel = nullptr;
    QSpinBox* m_height = nullptr;
    QLabel* m_presetsLabel = nullptr;
    QLineEdit* m_presets = nullptr;
    QLabel* m_presetsHelp = nullptr;
    QLabel* m_samplerLabel = nullptr;
    QComboBox* m_sampler = nullptr;
    QLabel* m_seedModeLabel = nullptr;
    QComboBox* m_seedMode = nullptr;
    QLabel* m_seedLabel = nullptr;
    QLineEdit* m_seed = nullptr;
    QLabel* m_countLabel = nullptr;
    QSpinBox* m_count = nullptr;
    QLabel* m_clipSkipLabel = nullptr;
    QSpinBox* m_clipSkip = nullptr;
    QLabel* m_clipSkipHelp = nullptr;
    QLabel* m_negativeLabel = nullptr;
    QPlainTextEdit* m_negative = nullptr;

    // Models
    QLabel* m_foldersLabel = nullptr;
    QListWidget* m_folders = nullptr;
    QPushButton* m_addFolder = nullptr;
    QPushButton* m_removeFolder = nullptr;
    QLabel* m_foldersHelp = nullptr;
    QLabel* m_defaultModelLabel = nullptr;
    QLineEdit* m_defaultModel = nullptr;
    QLabel* m_outputLabel = nullptr;
    QLineEdit* m_output = nullptr;
    QPushButton* m_browseOutput = nullptr;

    // Services
    QLabel* m_ollamaLabel = nullptr;
    QLineEdit* m_ollama = nullptr;
    QLabel* m_ollamaHelp = nullptr;
    QLabel* m_pairLabel = nullptr;
    QLineEdit* m_pair = nullptr;
    QLabel* m_pairHelp = nullptr;
    QLabel* m_timeoutLabel = nullptr;
    QSpinBox* m_timeout = nullptr;
    // The original's prompt workflow: the refiner's model, keyword count and template, and the
    // wrapper template around the final prompt.
    QLabel* m_refinerModelLabel = nullptr;
    QLineEdit* m_refinerModel = nullptr;
    QLabel* m_keywordsLabel = nullptr;
    QSpinBox* m_keywords = nullptr;
    QLabel* m_refinerTemplateLabel = nullptr;
    QPlainTextEdit* m_refinerTemplate = nullptr;
    QLabel* m_refinerTemplateHelp = nullptr;
    QLabel* m_wrapperTemplateLabel = nullptr;
    QPlainTextEdit* m_wrapperTemplate = nullptr;
    QLabel* m_wrapperTemplateHelp = nullptr;

    // Interface
    QLabel* m_languageLabel = nullptr;
    QComboBox* m_language = nullptr;
    QLabel* m_languageHelp = nullptr;
    QCheckBox* m_verbose = nullptr;
    QLabel* m_verboseHelp = nullptr;
};

} // namespace tp::ui
