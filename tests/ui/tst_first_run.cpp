// The welcome assistant in the running app: shown on the first start only, it lists the GPU
// (scripted), Ollama (a fake one answering) and TwistedPair (down), the models found in a fake
// Hugging Face cache and the bundled one, and its two switches write the settings.
#include "core/engine/Engine.h"
#include "core/gpu/VramMonitor.h"
#include "core/settings/Settings.h"
#include "tests/io/FakeModels.h"
#include "tests/support/FakeOllamaServer.h"
#include "tests/support/ScriptedVramSource.h"
#include "tests/ui/UiTestUtil.h"
#include "ui/AppWiring.h"
#include "ui/FirstRunDialog.h"
#include "ui/ImportOriginal.h"
#include "ui/MainWindow.h"

#include <QApplication>
#include <QCheckBox>
#include <QDialogButtonBox>
#include <QMessageBox>
#include <QPushButton>
#include <QTemporaryDir>
#include <QTimer>
#include <QTreeWidget>
#include <QtTest>

using namespace tp;

class TestFirstRun final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

private Q_SLOTS:
    void initTestCase() {
        const QString cache = m_dir.filePath(QStringLiteral("hub"));
        test::FakeModelOptions fp16;
        fp16.dtype = QStringLiteral("F16");
        QVERIFY(test::makeFakeModel(m_dir.filePath(QStringLiteral("s/sd15")), test::FakeFamily::SD1, fp16));
        QVERIFY(!test::addToFakeHfCache(cache, QStringLiteral("runwayml/stable-diffusion-v1-5"),
                                        m_dir.filePath(QStringLiteral("s/sd15")),
                                        QStringLiteral("39593d5650112b4cc580433f6b0435385882d819"))
                     .isEmpty());
        qputenv("HF_HUB_CACHE", cache.toUtf8());
    }

    void shownOnceWithWhatWasFound() {
        test::FakeOllamaServer ollama;
        QVERIFY(ollama.listen());
        ollama.setInstalled({test::FakeOllamaServer::tagEntry(QStringLiteral("mistral:latest"), 4113301824)});
        const QString config = m_dir.filePath(QStringLiteral("first.conf"));
        {
            Settings settings(config);
            QVERIFY(settings.set(keys::OllamaUrl, ollama.url().toString()));
            QVERIFY(settings.set(keys::TwistedPairUrl, QStringLiteral("http://127.0.0.1:9")));
            QVERIFY(settings.set(keys::OutputDirectory, m_dir.filePath(QStringLiteral("out"))));
            engine::Engine engine;
            gpu::VramMonitor monitor(std::make_unique<test::ScriptedVramSource>(
                QVector<gpu::VramSample>{test::ScriptedVramSource::gpuSample(1200, 12288)}));
            ui::MainWindow window(settings);
            ui::AppWiring wiring(settings, engine, monitor, window);
            window.show();
            ui::FirstRunDialog* dialog = nullptr;
            QTRY_VERIFY((dialog = window.findChild<ui::FirstRunDialog*>()) != nullptr);
            QTRY_VERIFY(dialog->isVisible());
            QTRY_VERIFY_WITH_TIMEOUT(dialog->gpuText().contains(QStringLiteral("free")), 10000);
            QTRY_VERIFY_WITH_TIMEOUT(
                dialog->ollamaText().startsWith(QStringLiteral("running (version 0.12.3)")), 10000);
            QVERIFY(dialog->ollamaText().contains(QStringLiteral("1 model(s) installed")));
            QTRY_VERIFY_WITH_TIMEOUT(dialog->twistedPairText().startsWith(QStringLiteral("not answering")),
                                     10000);
            QStringList names;
            for (int i = 0; i < dialog->modelsView()->topLevelItemCount(); ++i)
                names << dialog->modelsView()->topLevelItem(i)->text(0) + QLatin1Char('|') +
                             dialog->modelsView()->topLevelItem(i)->text(1);
            QVERIFY2(names.contains(QStringLiteral("runwayml/stable-diffusion-v1-5|SD 1.x")),
                     qPrintable(names.join(QLatin1Char(','))));
            QVERIFY2(names.contains(QStringLiteral("twistedpic-shapes|SD 1.x")),
                     qPrintable(names.join(QLatin1Char(','))));
            QVERIFY(dialog->cleanupBox()->isChecked());
            QVERIFY(!dialog->unloadBox()->isChecked());
            dialog->unloadBox()->click();
            QCOMPARE(settings.unloadAfterGeneration(), true);
            test::saveScreenshot(*dialog, QStringLiteral("first-run"));
            QTest::mouseClick(dialog->findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok),
                              Qt::LeftButton);
            QTRY_VERIFY(window.findChild<ui::FirstRunDialog*>() == nullptr || !dialog->isVisible());
        }
        Settings again(config);
        QCOMPARE(again.value(keys::FirstRunDone).toBool(), true);
        QCOMPARE(again.unloadAfterGeneration(), true);

        // The next start shows nothing; Help → Welcome assistant brings it back.
        engine::Engine engine;
        gpu::VramMonitor monitor(std::make_unique<test::ScriptedVramSource>(QVector<gpu::VramSample>{
            test::ScriptedVramSource::noGpuSample(QStringLiteral("no NVIDIA driver"))}));
        ui::MainWindow window(again);
        ui::AppWiring wiring(again, engine, monitor, window);
        QTest::qWait(100);
        QVERIFY(window.findChild<ui::FirstRunDialog*>() == nullptr);
        Q_EMIT window.firstRunRequested();
        ui::FirstRunDialog* dialog = window.findChild<ui::FirstRunDialog*>();
        QVERIFY(dialog && dialog->isVisible());
        QTRY_VERIFY_WITH_TIMEOUT(dialog->gpuText().startsWith(QStringLiteral("No NVIDIA GPU")), 10000);
    }

    // The import button's flow: the confirmation lists what changes; Import saves, Cancel does not.
    void importFromTheOriginalAsksFirst() {
        Settings settings(m_dir.filePath(QStringLiteral("import.conf")));
        const QString original = QStringLiteral(TP_TEST_DATA_DIR "/original/config.py");
        QString shown;
        auto answer = [&shown](const QString& button) {
            QTimer::singleShot(100, [&shown, button] {
                auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget());
                if (!box)
                    return;
                shown = box->text() + QLatin1Char('\n') + box->informativeText();
                for (QAbstractButton* b : box->buttons())
                    if (b->text() == button ||
                        (box->buttonRole(b) == QMessageBox::RejectRole && button.isEmpty())) {
                        b->click();
                        return;
                    }
            });
        };
        answer(QString()); // Cancel
        QVERIFY(!ui::importOriginalConfig(nullptr, settings, original));
        QVERIFY2(shown.contains(QStringLiteral("generation/steps = 28")), qPrintable(shown));
        QCOMPARE(settings.value(keys::Steps).toInt(), settings.defaultValue(keys::Steps).toInt());
        answer(QStringLiteral("&Import"));
        QVERIFY(ui::importOriginalConfig(nullptr, settings, original));
        QCOMPARE(Settings(m_dir.filePath(QStringLiteral("import.conf"))).value(keys::Steps).toInt(), 28);
    }
};

QTEST_MAIN(TestFirstRun)
#include "tst_first_run.moc"
