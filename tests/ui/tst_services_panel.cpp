// The Services panel in the running app (AppWiring, real engine, real settings) against a fake
// Ollama and a fake TwistedPair: it shows both services and where Ollama's models run; when a
// model is pushed onto the CPU while we hold GPU memory (scripted VRAM) it says so, and "Give the
// GPU back to Ollama" runs our cleanup first and then asks Ollama to unload that model.
#include "core/engine/Engine.h"
#include "core/generation/GenerationCoordinator.h"
#include "core/gpu/VramMonitor.h"
#include "core/services/ServiceStatus.h"
#include "core/settings/Settings.h"
#include "tests/support/FakeOllamaServer.h"
#include "tests/support/FakeTwistedPairServer.h"
#include "tests/support/ScriptedVramSource.h"
#include "tests/ui/UiTestUtil.h"
#include "ui/AppWiring.h"
#include "ui/MainWindow.h"
#include "ui/PromptEdit.h"
#include "ui/PromptStagesDialog.h"
#include "ui/ServicesPanel.h"

#include <QCheckBox>
#include <QDateTime>
#include <QDockWidget>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTreeWidget>
#include <QtTest>

using namespace tp;

namespace {
constexpr qint64 MiBytes = 1024LL * 1024;
constexpr qint64 GiBytes = 1024 * MiBytes;

// An 8 GiB card: TwistedPic holds 6 GiB (2 GiB weights + 4 GiB cache), Ollama's 4.1 GiB model
// got only 1.6 GiB of it and runs 61% on the CPU.
gpu::VramSample crowdedCard() {
    gpu::VramSample s = test::ScriptedVramSource::gpuSample(7900, 8192, 1700);
    s.self.valid = true;
    s.self.reservedBytes = 6 * GiBytes;
    s.self.allocatedBytes = 2 * GiBytes;
    return s;
}
} // namespace

class TestServicesPanel final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

    // Generations of the tiny fixture model, 64x64 in 2 steps, into m_dir/outDir, with this Ollama.
    QVariantMap fixtureGeneration(const QUrl& ollama, const QString& outDir) const {
        const QString model = QStringLiteral(TP_TEST_DATA_DIR "/sd15-tiny/pipeline");
        return {{keys::OllamaUrl, ollama.toString()},
                {keys::OutputDirectory, m_dir.filePath(outDir)},
                {keys::ModelSearchPaths, QStringList{model}},
                {keys::DefaultModel, model},
                {keys::Width, 64},
                {keys::Height, 64},
                {keys::Steps, 2}};
    }

private Q_SLOTS:
    void showsServicesAndGivesTheGpuBack() {
        test::FakeOllamaServer ollama;
        QVERIFY(ollama.listen());
        ollama.setLoaded(
            {test::FakeOllamaServer::psEntry(QStringLiteral("llama3.1:8b"), 4400 * MiBytes, 1700 * MiBytes)});
        test::FakeTwistedPairServer twistedPair;
        QVERIFY(twistedPair.listen());

        Settings settings(m_dir.filePath(QStringLiteral("s.conf")));
        QVERIFY(settings.set(keys::OllamaUrl, ollama.url().toString()));
        QVERIFY(settings.set(keys::TwistedPairUrl, twistedPair.url().toString()));
        QVERIFY(settings.set(keys::OutputDirectory, m_dir.filePath(QStringLiteral("out"))));
        engine::Engine engine;
        QSignalSpy memoryEvents(&engine, &engine::Engine::memoryEvent);
        gpu::VramMonitor monitor(
            std::make_unique<test::ScriptedVramSource>(QVector<gpu::VramSample>{crowdedCard()}));
        ui::MainWindow window(settings);
        ui::AppWiring wiring(settings, engine, monitor, window);
        window.resize(1366, 768);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        ui::ServicesPanel* panel = window.servicesPanel();

        QTRY_VERIFY_WITH_TIMEOUT(panel->ollamaText().contains(QStringLiteral("Loaded models")), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(panel->twistedPairText().startsWith(QStringLiteral("Running at")), 10000);
        QCOMPARE(panel->loadedModelsView()->topLevelItemCount(), 1);
        QCOMPARE(panel->loadedModelsView()->topLevelItem(0)->text(0), QStringLiteral("llama3.1:8b"));
        QCOMPARE(panel->loadedModelsView()->topLevelItem(0)->text(1), QStringLiteral("61% CPU / 39% GPU"));
        QTRY_VERIFY_WITH_TIMEOUT(panel->giveBackButton()->isEnabled(), 10000);
        QVERIFY2(panel->diagnosisText().contains(QStringLiteral("llama3.1:8b")),
                 qPrintable(panel->diagnosisText()));
        if (auto* dock = qobject_cast<QDockWidget*>(panel->parentWidget()))
            dock->raise();
        QTest::qWait(50);
        test::saveScreenshot(window, QStringLiteral("services-panel-problem"));

        ollama.clearRequests();
        const qint64 clicked = QDateTime::currentMSecsSinceEpoch();
        QTest::mouseClick(panel->giveBackButton(), Qt::LeftButton);
        // Ollama is asked to unload the model (keep_alive 0) ...
        auto unloadRequest = [&]() -> int {
            const auto requests = ollama.requests();
            for (int i = 0; i < requests.size(); ++i)
                if (requests[i].line() == QLatin1String("POST /api/generate") &&
                    requests[i].json().value(QStringLiteral("keep_alive")).toInt(-1) == 0)
                    return i;
            return -1;
        };
        QTRY_VERIFY_WITH_TIMEOUT(unloadRequest() >= 0, 15000);
        QCOMPARE(ollama.requests().at(unloadRequest()).json().value(QStringLiteral("model")).toString(),
                 QStringLiteral("llama3.1:8b"));
        // ... after our cleanup ran (the engine's cleanup finished before the request went out).
        QTRY_VERIFY_WITH_TIMEOUT(!panel->actionText().isEmpty(), 15000);
        const QString steps = panel->actionText();
        const int freed = steps.indexOf(QStringLiteral("Freeing TwistedPic's cached GPU memory"));
        const int asked = steps.indexOf(QStringLiteral("Asking Ollama to unload llama3.1:8b"));
        QVERIFY2(freed >= 0 && asked > freed, qPrintable(steps));
        if (!memoryEvents.isEmpty()) // with CUDA the engine reports its cleanup too
            QVERIFY(memoryEvents.first().at(0).value<engine::MemoryEvent>().msecsSinceEpoch >= clicked);
        test::saveScreenshot(window, QStringLiteral("services-panel-after-give-back"));
    }

    // A generation with distortion through the fake services: the stages show, the final prompt
    // is edited, the image is made from it and its sidecar records every stage. With TwistedPair
    // down, the dialog says so and offers the prompt as typed.
    void generationWithDistortion() {
        test::FakeOllamaServer ollama;
        QVERIFY(ollama.listen());
        test::FakeTwistedPairServer twistedPair;
        QVERIFY(twistedPair.listen());
        Settings settings(m_dir.filePath(QStringLiteral("distort.conf")));
        QVariantMap values = fixtureGeneration(ollama.url(), QStringLiteral("distorted"));
        values.insert(keys::TwistedPairUrl, twistedPair.url().toString());
        values.insert(keys::Device, QStringLiteral("cpu"));
        values.insert(keys::DistortEnabled, true);
        values.insert(keys::DistortMode, QStringLiteral("invert_er"));
        values.insert(keys::DistortTone, QStringLiteral("poetic"));
        QVERIFY(settings.setMany(values).isOk());
        engine::Engine engine;
        QSignalSpy finished(&engine, &engine::Engine::finished);
        gpu::VramMonitor monitor(std::make_unique<test::ScriptedVramSource>(QVector<gpu::VramSample>{
            test::ScriptedVramSource::noGpuSample(QStringLiteral("no NVIDIA driver"))}));
        ui::MainWindow window(settings);
        ui::AppWiring wiring(settings, engine, monitor, window);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(window.form()->findChild<QCheckBox*>(QStringLiteral("distort"))->isChecked());

        window.form()->promptEdit()->setPlainText(QStringLiteral("a quiet harbour"));
        QTest::mouseClick(window.form()->generateButton(), Qt::LeftButton);
        ui::PromptStagesDialog* dialog = nullptr;
        QTRY_VERIFY_WITH_TIMEOUT((dialog = window.findChild<ui::PromptStagesDialog*>()) != nullptr, 15000);
        QTRY_VERIFY(dialog->isVisible());
        QVERIFY2(dialog->errorText().isEmpty(), qPrintable(dialog->errorText()));
        QVERIFY(twistedPair.requestLines().contains(QStringLiteral("POST /distort-manual")));
        QVERIFY(!dialog->finalPrompt().isEmpty());
        QVERIFY(dialog->finalPrompt() != QStringLiteral("a quiet harbour"));
        test::saveScreenshot(*dialog, QStringLiteral("prompt-stages"));
        dialog->finalEdit()->setPlainText(QStringLiteral("a quiet harbour at night, edited"));
        QTest::mouseClick(dialog->generateButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(finished.size() == 1, 60000);
        const auto result = finished.last().at(0).value<engine::GenerationResult>();
        QCOMPARE(result.request.prompt, QStringLiteral("a quiet harbour at night, edited"));
        QFile sidecar(result.files.value(0).chopped(4) + QStringLiteral(".json"));
        QVERIFY(sidecar.open(QIODevice::ReadOnly));
        const QJsonObject record = QJsonDocument::fromJson(sidecar.readAll())
                                       .object()
                                       .value(QStringLiteral("extra"))
                                       .toObject()
                                       .value(QStringLiteral("promptPipeline"))
                                       .toObject();
        QCOMPARE(record.value(QStringLiteral("finalPromptEdited")).toBool(), true);
        QVERIFY(QJsonDocument(record).toJson().contains("a quiet harbour"));
        QTRY_VERIFY(!window.isBusy());

        // TwistedPair down: the dialog names it and offers the prompt as typed.
        QVERIFY(settings.set(keys::TwistedPairUrl, QStringLiteral("http://127.0.0.1:9")));
        QTRY_VERIFY(window.findChild<ui::PromptStagesDialog*>() == nullptr);
        QTest::mouseClick(window.form()->generateButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT((dialog = window.findChild<ui::PromptStagesDialog*>()) != nullptr, 15000);
        QVERIFY2(dialog->errorText().contains(QStringLiteral("TwistedPair")),
                 qPrintable(dialog->errorText()));
        QCOMPARE(dialog->finalPrompt(), QStringLiteral("a quiet harbour"));
        // Cancel: nothing is generated and the window is ready again.
        dialog->reject();
        QTRY_VERIFY(!window.isBusy());
        QCOMPARE(finished.size(), 1);
    }

    // Issue 16: the panel's last look at Ollama (at most 10 s old) goes with the next generation,
    // for its VRAM budget, without asking /api/ps again.
    void generationCarriesWhatThePanelSaw() {
        test::FakeOllamaServer ollama;
        QVERIFY(ollama.listen());
        ollama.setLoaded(
            {test::FakeOllamaServer::psEntry(QStringLiteral("llama3.1:8b"), 4400 * MiBytes, 1700 * MiBytes)});
        Settings settings(m_dir.filePath(QStringLiteral("budget.conf")));
        QVariantMap values = fixtureGeneration(ollama.url(), QStringLiteral("budget"));
        values.insert(keys::TwistedPairUrl, QStringLiteral("http://127.0.0.1:9"));
        values.insert(keys::Device, QStringLiteral("auto")); // not the CPU: the budget may be auto
        values.insert(keys::DistortEnabled, false);
        QVERIFY(settings.setMany(values).isOk());
        engine::Engine engine;
        QSignalSpy finished(&engine, &engine::Engine::finished);
        gpu::VramMonitor monitor(std::make_unique<test::ScriptedVramSource>(QVector<gpu::VramSample>{
            test::ScriptedVramSource::noGpuSample(QStringLiteral("no NVIDIA driver"))}));
        ui::MainWindow window(settings);
        ui::AppWiring wiring(settings, engine, monitor, window);
        QSignalSpy submitted(&wiring.coordinator(), &generation::GenerationCoordinator::submitted);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QTRY_VERIFY_WITH_TIMEOUT(window.servicesPanel()->loadedModelsView()->topLevelItemCount() == 1, 10000);
        // No more rounds: what the panel saw is what the generation must carry, though Ollama
        // has moved on since.
        wiring.servicesPoller().stop();
        QTRY_VERIFY(!wiring.servicesPoller().isRefreshing());
        ollama.setLoaded(
            {test::FakeOllamaServer::psEntry(QStringLiteral("mistral:latest"), 5 * GiBytes, 5 * GiBytes)});
        ollama.clearRequests();

        window.form()->promptEdit()->setPlainText(QStringLiteral("a lighthouse"));
        QTest::mouseClick(window.form()->generateButton(), Qt::LeftButton);
        QTRY_COMPARE_WITH_TIMEOUT(submitted.size(), 1, 15000);
        const auto request = submitted.first().at(0).value<engine::GenerationRequest>();
        QVERIFY(request.ollamaVramKnown);
        QCOMPARE(request.ollamaVram.size(), 1);
        QCOMPARE(request.ollamaVram[0].name, QStringLiteral("llama3.1:8b"));
        QCOMPARE(request.ollamaVram[0].sizeBytes, 4400 * MiBytes);
        QCOMPARE(request.ollamaVram[0].vramBytes, 1700 * MiBytes);
        QVERIFY2(!ollama.requestLines().contains(QStringLiteral("GET /api/ps")),
                 qPrintable(ollama.requestLines().join(QLatin1Char(' '))));
        QTRY_VERIFY_WITH_TIMEOUT(finished.size() == 1, 60000);
        QTRY_VERIFY(!window.isBusy());
    }

    void serviceDownIsSaidPlainly() {
        Settings settings(m_dir.filePath(QStringLiteral("down.conf")));
        QVERIFY(settings.set(keys::OllamaUrl, QStringLiteral("http://127.0.0.1:9")));
        QVERIFY(settings.set(keys::TwistedPairUrl, QStringLiteral("http://127.0.0.1:9")));
        engine::Engine engine;
        gpu::VramMonitor monitor(std::make_unique<test::ScriptedVramSource>(QVector<gpu::VramSample>{
            test::ScriptedVramSource::noGpuSample(QStringLiteral("no NVIDIA driver"))}));
        ui::MainWindow window(settings);
        ui::AppWiring wiring(settings, engine, monitor, window);
        ui::ServicesPanel* panel = window.servicesPanel();
        QTRY_VERIFY_WITH_TIMEOUT(panel->ollamaText().startsWith(QStringLiteral("Not answering")), 15000);
        QTRY_VERIFY_WITH_TIMEOUT(panel->twistedPairText().startsWith(QStringLiteral("Not answering")), 15000);
        QVERIFY(!panel->giveBackButton()->isEnabled());
    }
};

QTEST_MAIN(TestServicesPanel)
#include "tst_services_panel.moc"
