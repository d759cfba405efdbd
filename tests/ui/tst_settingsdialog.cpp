// The settings dialog writes through tp::Settings: OK and Apply save, Cancel does not, and an
// invalid value is shown beside its field with nothing saved.
#include "core/engine/Engine.h"
#include "core/settings/Settings.h"
#include "tests/ui/UiTestUtil.h"
#include "ui/SettingsDialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFile>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest>

using namespace tp;
using tp::ui::SettingsDialog;

class TestSettingsDialog final : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    int m_n = 0;
    QString freshPath() { return m_dir.filePath(QStringLiteral("s%1.conf").arg(++m_n)); }

    static QPushButton* button(SettingsDialog& d, QDialogButtonBox::StandardButton which) {
        return d.findChild<QDialogButtonBox*>()->button(which);
    }
    template <typename T> static T* field(SettingsDialog& d, const QString& key) {
        T* w = qobject_cast<T*>(d.fieldWidget(key));
        if (!w)
            qFatal("no %s field for %s", T::staticMetaObject.className(), qPrintable(key));
        return w;
    }

private Q_SLOTS:
    void showsCurrentValues() {
        const QString path = freshPath();
        {
            Settings s(path);
            QVERIFY(s.set(keys::IdleUnloadMinutes, 7));
            QVERIFY(s.set(keys::OllamaUrl, QStringLiteral("http://gpu-box:11434")));
            QVERIFY(s.set(keys::ModelSearchPaths,
                          QStringList{QStringLiteral("/models/a"), QStringLiteral("/b, c")}));
            QVERIFY(s.set(keys::Sampler, QStringLiteral("dpmpp_2m_karras")));
        }
        Settings s(path);
        SettingsDialog d(s);
        QCOMPARE(field<QSpinBox>(d, keys::IdleUnloadMinutes)->value(), 7);
        QCOMPARE(field<QLineEdit>(d, keys::OllamaUrl)->text(), QStringLiteral("http://gpu-box:11434"));
        QCOMPARE(field<QComboBox>(d, keys::Sampler)->currentText(), QStringLiteral("DPM++ 2M Karras"));
        QCOMPARE(field<QCheckBox>(d, keys::CleanupAfterGeneration)->isChecked(), true);
        QCOMPARE(field<QCheckBox>(d, keys::CudaGraphs)->isChecked(), true); // on by default
    }

    void okWritesTheFile() {
        const QString path = freshPath();
        Settings s(path);
        QSignalSpy changed(&s, &Settings::changed);
        SettingsDialog d(s);
        d.show();
        QCheckBox* unload = field<QCheckBox>(d, keys::UnloadAfterGeneration);
        QVERIFY(!unload->isChecked());
        d.showPage(SettingsDialog::GpuPage);
        QTest::mouseClick(unload, Qt::LeftButton, {}, QPoint(8, unload->height() / 2));
        QVERIFY(unload->isChecked());
        field<QCheckBox>(d, keys::CudaGraphs)->setChecked(false);
        d.addModelFolder(QStringLiteral("/srv/models, with comma"));
        QTest::mouseClick(button(d, QDialogButtonBox::Ok), Qt::LeftButton);
        QCOMPARE(d.result(), int(QDialog::Accepted));
        QVERIFY(changed.count() >= 2);

        Settings again(path); // read back from the file by a fresh instance
        QCOMPARE(again.unloadAfterGeneration(), true);
        QCOMPARE(again.value(keys::ModelSearchPaths).toStringList(),
                 QStringList{QStringLiteral("/srv/models, with comma")});
        QCOMPARE(again.cleanupAfterGeneration(), true);
        QCOMPARE(again.value(keys::CudaGraphs).toBool(), false);
        QCOMPARE(engine::gpuPolicyFrom(again).cudaGraphs, false);
    }

    void cancelWritesNothing() {
        const QString path = freshPath();
        Settings s(path);
        QSignalSpy changed(&s, &Settings::changed);
        SettingsDialog d(s);
        d.show();
        QCheckBox* unload = field<QCheckBox>(d, keys::UnloadAfterGeneration);
        unload->setChecked(true);
        field<QLineEdit>(d, keys::OllamaUrl)->setText(QStringLiteral("http://elsewhere:1"));
        QTest::mouseClick(button(d, QDialogButtonBox::Cancel), Qt::LeftButton);
        QCOMPARE(d.result(), int(QDialog::Rejected));
        QCOMPARE(changed.count(), 0);
        QVERIFY(!QFile::exists(path));
        QCOMPARE(Settings(path).unloadAfterGeneration(), false);
    }

    void invalidUrlShowsErrorAndSavesNothing() {
        const QString path = freshPath();
        Settings s(path);
        QSignalSpy changed(&s, &Settings::changed);
        SettingsDialog d(s);
        d.show();
        field<QCheckBox>(d, keys::UnloadAfterGeneration)->setChecked(true); // valid, but must not be saved
        QLineEdit* url = field<QLineEdit>(d, keys::OllamaUrl);
        url->setText(QStringLiteral("localhost 11434"));
        QTest::mouseClick(button(d, QDialogButtonBox::Ok), Qt::LeftButton);
        QVERIFY(d.isVisible()); // still open
        QVERIFY(d.errorText(keys::OllamaUrl).contains(QStringLiteral("localhost 11434")));
        QVERIFY(d.errorText(keys::UnloadAfterGeneration).isEmpty());
        QCOMPARE(d.currentPage(), int(SettingsDialog::ServicesPage)); // shows where the problem is
        QVERIFY(!d.statusText().isEmpty());
        QCOMPARE(changed.count(), 0);
        QVERIFY(!QFile::exists(path));
        QCOMPARE(s.unloadAfterGeneration(), false);
        ui_screenshot(d, QStringLiteral("settings-invalid-url"));

        // Corrected, the same dialog saves.
        url->setText(QStringLiteral("http://localhost:11434"));
        QVERIFY(d.apply());
        QVERIFY(d.errorText(keys::OllamaUrl).isEmpty());
        QCOMPARE(Settings(path).unloadAfterGeneration(), true);
    }

    void otherInvalidValues_data() {
        QTest::addColumn<QString>("key");
        QTest::addColumn<QString>("text");
        QTest::newRow("seed not a number") << keys::Seed << "12abc";
        QTest::newRow("seed too large")
            << keys::Seed << "9223372036854775808"; // seeds are 64-bit: 2^63 is one too many
        QTest::newRow("size preset") << keys::SizePresets << "512x512, huge";
        QTest::newRow("size preset not multiple of 8") << keys::SizePresets << "500x500";
        QTest::newRow("output folder empty") << keys::OutputDirectory << "";
        QTest::newRow("twistedpair url") << keys::TwistedPairUrl << "ftp://host/";
    }

    void otherInvalidValues() {
        QFETCH(QString, key);
        QFETCH(QString, text);
        const QString path = freshPath();
        Settings s(path);
        SettingsDialog d(s);
        field<QLineEdit>(d, key)->setText(text);
        QVERIFY(!d.apply());
        QVERIFY2(!d.errorText(key).isEmpty(), qPrintable(key));
        QVERIFY(!QFile::exists(path));
    }

    void widthMustBeMultipleOfEight() {
        const QString path = freshPath();
        Settings s(path);
        SettingsDialog d(s);
        field<QSpinBox>(d, keys::Width)->setValue(513);
        QVERIFY(!d.apply());
        QVERIFY(d.errorText(keys::Width).contains(QStringLiteral("multiple of 8")));
        QCOMPARE(d.currentPage(), int(SettingsDialog::GenerationPage));
        field<QSpinBox>(d, keys::Width)->setValue(768);
        QVERIFY(d.apply());
        QCOMPARE(Settings(path).value(keys::Width).toInt(), 768);
    }

    void applyKeepsOpenAndOthersReact() {
        const QString path = freshPath();
        Settings s(path);
        QStringList seen;
        connect(&s, &Settings::changed, this, [&seen](const QString& key, const QVariant&) { seen << key; });
        SettingsDialog d(s);
        d.show();
        field<QSpinBox>(d, keys::IdleUnloadMinutes)->setValue(10);
        field<QComboBox>(d, keys::Language)
            ->setCurrentIndex(field<QComboBox>(d, keys::Language)->findData(QStringLiteral("de")));
        QTest::mouseClick(button(d, QDialogButtonBox::Apply), Qt::LeftButton);
        QVERIFY(d.isVisible());
        QCOMPARE(seen.size(), 2);
        QVERIFY(seen.contains(keys::IdleUnloadMinutes));
        QVERIFY(seen.contains(keys::Language));
        QCOMPARE(Settings(path).idleUnloadMinutes(), 10);
        QCOMPARE(Settings(path).value(keys::Language).toString(), QStringLiteral("de"));
        // Apply again without changes: nothing happens.
        QVERIFY(d.apply());
        QCOMPARE(seen.size(), 2);
    }

    void restoreDefaultsOnlyTouchesThePage() {
        const QString path = freshPath();
        Settings s(path);
        QVERIFY(s.set(keys::IdleUnloadMinutes, 30));
        QVERIFY(s.set(keys::Steps, 40));
        SettingsDialog d(s);
        d.showPage(SettingsDialog::GpuPage);
        d.restoreDefaultsOfPage();
        QCOMPARE(field<QSpinBox>(d, keys::IdleUnloadMinutes)->value(), 0);
        QCOMPARE(field<QSpinBox>(d, keys::Steps)->value(), 40);
        QCOMPARE(Settings(path).idleUnloadMinutes(), 30); // not saved until OK/Apply
    }

    // The original's prompt workflow: the refiner and wrapper templates are edited here.
    void promptTemplatesAreEditable() {
        const QString path = freshPath();
        Settings s(path);
        SettingsDialog d(s);
        d.resize(760, 900);
        d.show();
        QVERIFY(QTest::qWaitForWindowExposed(&d));
        d.showPage(SettingsDialog::ServicesPage);
        auto* refiner = field<QPlainTextEdit>(d, keys::RefinerTemplate);
        auto* wrapper = field<QPlainTextEdit>(d, keys::WrapperTemplate);
        QCOMPARE(refiner->toPlainText(), s.value(keys::RefinerTemplate).toString());
        QCOMPARE(wrapper->toPlainText(), QStringLiteral(" ;{distorted}; "));
        QCOMPARE(field<QSpinBox>(d, keys::RefinerKeywords)->value(), 20);
        QCOMPARE(field<QLineEdit>(d, keys::RefinerModel)->text(), QStringLiteral("mistral:latest"));
        QCoreApplication::processEvents();
        tp::test::saveScreenshot(d, QStringLiteral("settings-prompt-templates"));
        wrapper->setPlainText(QStringLiteral("Digital art: {distorted}, 4k"));
        refiner->setPlainText(QStringLiteral("Give {count} keywords for:\n{text}"));
        field<QSpinBox>(d, keys::RefinerKeywords)->setValue(25);
        QTest::mouseClick(button(d, QDialogButtonBox::Ok), Qt::LeftButton);
        QCOMPARE(d.result(), int(QDialog::Accepted));
        Settings again(path);
        QCOMPARE(again.value(keys::WrapperTemplate).toString(),
                 QStringLiteral("Digital art: {distorted}, 4k"));
        QCOMPARE(again.value(keys::RefinerTemplate).toString(),
                 QStringLiteral("Give {count} keywords for:\n{text}"));
        QCOMPARE(again.value(keys::RefinerKeywords).toInt(), 25);
    }

    void screenshots() {
        Settings s(freshPath());
        SettingsDialog d(s);
        d.resize(760, 560);
        d.show();
        QVERIFY(QTest::qWaitForWindowExposed(&d));
        const char* names[] = {"settings-gpu", "settings-generation", "settings-models", "settings-services",
                               "settings-interface"};
        for (int page = 0; page < SettingsDialog::PageCount; ++page) {
            d.showPage(page);
            QCoreApplication::processEvents();
            tp::test::saveScreenshot(d, QString::fromLatin1(names[page]));
        }
    }

private:
    static void ui_screenshot(QWidget& w, const QString& name) {
        QCoreApplication::processEvents();
        tp::test::saveScreenshot(w, name);
    }
};

QTEST_MAIN(TestSettingsDialog)
#include "tst_settingsdialog.moc"
