// The main window, driven like a user would: it builds requests from the form, shows what
// the engine reports, and keeps its layout in the settings.
#include "core/engine/OutputWriter.h"
#include "core/settings/Settings.h"
#include "tests/ui/UiTestUtil.h"
#include "ui/GalleryModel.h"
#include "ui/GalleryView.h"
#include "ui/HelpViewer.h"
#include "ui/ImageViewer.h"
#include "ui/LogView.h"
#include "ui/MainWindow.h"
#include "ui/PromptEdit.h"
#include "ui/VramPanel.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDirIterator>
#include <QDockWidget>
#include <QLineEdit>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QSplitter>
#include <QSvgRenderer>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QToolButton>
#include <QtTest>

using namespace tp;
using namespace tp::test;
using tp::ui::MainWindow;

namespace {

// A flat-coloured "generated" picture (flat colours keep the screenshots small).
QImage art(int w, int h, int hue) {
    QImage img(w, h, QImage::Format_RGB32);
    QPainter p(&img);
    p.setRenderHint(QPainter::Antialiasing);
    for (int band = 0; band < 8; ++band)
        p.fillRect(QRectF(0, h * band / 8.0, w, h / 8.0 + 1),
                   QColor::fromHsv((hue + band * 6) % 360, 60 + band * 18, 250 - band * 14));
    p.setPen(Qt::NoPen);
    p.setBrush(QColor::fromHsv((hue + 30) % 360, 40, 255));
    p.drawEllipse(QPointF(w * 0.68, h * 0.3), w * 0.1, w * 0.1);
    p.setBrush(QColor::fromHsv((hue + 200) % 360, 120, 90));
    p.drawPolygon(QPolygonF({QPointF(0, h), QPointF(w * 0.3, h * 0.58), QPointF(w * 0.5, h * 0.75),
                             QPointF(w * 0.75, h * 0.5), QPointF(w, h * 0.8), QPointF(w, h)}));
    p.setBrush(QColor::fromHsv((hue + 210) % 360, 140, 50));
    p.drawPolygon(QPolygonF({QPointF(0, h), QPointF(w * 0.2, h * 0.8), QPointF(w * 0.55, h * 0.9),
                             QPointF(w * 0.85, h * 0.78), QPointF(w, h * 0.9), QPointF(w, h)}));
    return img;
}

engine::GenerationResult finished(const engine::GenerationRequest& request, int count) {
    engine::GenerationResult r;
    r.request = request;
    r.modelName = QStringLiteral("sd15-tiny");
    r.device = QStringLiteral("cuda:0 (NVIDIA GeForce RTX 4090)");
    for (int i = 0; i < count; ++i) {
        r.images << art(request.width, request.height, 30 + 90 * i);
        r.seeds << 1234 + i;
    }
    r.timings.totalMs = 2400;
    r.timings.itPerSec = 18.5;
    return r;
}

} // namespace

class TestMainWindow final : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    int m_n = 0;

    std::unique_ptr<Settings> settings() {
        auto s = std::make_unique<Settings>(m_dir.filePath(QStringLiteral("s%1.conf").arg(++m_n)));
        const QString out = m_dir.filePath(QStringLiteral("out%1").arg(m_n));
        if (!s->set(keys::OutputDirectory, out))
            qFatal("cannot set the output folder");
        return s;
    }

private Q_SLOTS:
    void generateBuildsTheRequest() {
        auto s = settings();
        QVERIFY(s->set(keys::Steps, 24));
        QVERIFY(s->set(keys::ClipSkip, 2));
        MainWindow w(*s);
        w.setModels({{QStringLiteral("/models/sd15"), QStringLiteral("Stable Diffusion 1.5"), {}},
                     {QStringLiteral("/models/tiny"), QStringLiteral("sd15-tiny"), {}}},
                    QStringLiteral("/models/tiny"));
        w.show();
        QVERIFY(QTest::qWaitForWindowActive(&w) || QTest::qWaitForWindowExposed(&w));
        QSignalSpy requested(&w, &MainWindow::generateRequested);

        ui::PromptEdit* prompt = w.form()->promptEdit();
        prompt->setFocus();
        QTest::keyClicks(prompt, QStringLiteral("a lighthouse at dusk"));
        QTest::keyClick(prompt, Qt::Key_Return, Qt::ControlModifier);
        QCOMPARE(requested.count(), 1);
        const auto r = requested.last().at(0).value<engine::GenerationRequest>();
        QCOMPARE(r.prompt, QStringLiteral("a lighthouse at dusk"));
        QCOMPARE(r.model, QStringLiteral("/models/tiny"));
        QCOMPARE(r.steps, 24);
        QCOMPARE(r.clipSkip, 2);
        QCOMPARE(r.sampler, QStringLiteral("euler_a"));
        QCOMPARE(r.width, 512);
        QCOMPARE(r.seed, -1); // random mode
        QCOMPARE(r.outputDir, s->outputDirectory());
        QVERIFY(r.id != 0);
        QCOMPARE(w.pendingId(), r.id);
        QVERIFY(w.isBusy());
        QVERIFY(!w.form()->generateButton()->isEnabled());
        QVERIFY(w.form()->cancelButton()->isEnabled());

        // Busy: a second Ctrl+Enter asks for nothing.
        QTest::keyClick(prompt, Qt::Key_Return, Qt::ControlModifier);
        QCOMPARE(requested.count(), 1);

        // Progress with a preview.
        engine::Progress p;
        p.id = r.id;
        p.step = 5;
        p.total = 20;
        p.itPerSec = 12.5;
        p.secondsLeft = 1.2;
        p.preview = art(64, 64, 200);
        w.onProgress(p);
        QCOMPARE(w.progressBar()->value(), 5);
        QCOMPARE(w.progressBar()->maximum(), 20);
        QVERIFY(w.progressBar()->format().startsWith(QStringLiteral("Step 5 of 20 · 12.5 it/s")));
        QVERIFY(w.viewer()->showsPreview());
        // Progress of another request is not ours.
        p.id = r.id + 100;
        p.step = 19;
        w.onProgress(p);
        QCOMPARE(w.progressBar()->value(), 5);

        w.onFinished(finished(r, 2));
        QVERIFY(!w.isBusy());
        QVERIFY(w.form()->generateButton()->isEnabled());
        QCOMPARE(w.viewer()->count(), 2);
        QVERIFY(!w.viewer()->showsPreview());
        QCOMPARE(w.form()->lastSeed(), 1234);
        QVERIFY(w.progressBar()->format().startsWith(QStringLiteral("Done in")));

        // The next generation's preview replaces the earlier results until its own arrive.
        w.generate();
        const quint64 second = w.pendingId();
        p.id = second;
        p.step = 1;
        w.onProgress(p);
        QVERIFY(w.viewer()->showsPreview());
        QVERIFY(!w.viewer()->copyAction()->isEnabled());
        w.onFinished(finished(requested.last().at(0).value<engine::GenerationRequest>(), 1));
        QVERIFY(!w.viewer()->showsPreview());
        QCOMPARE(w.viewer()->count(), 1);
        QVERIFY(w.viewer()->copyAction()->isEnabled());

        // "Reuse last" seed, then a fixed-seed request through the Generate button.
        auto* reuse = w.form()->findChild<QToolButton*>(QStringLiteral("reuseSeed"));
        QVERIFY(reuse);
        QVERIFY(reuse->isEnabled());
        reuse->click();
        QTest::mouseClick(w.form()->generateButton(), Qt::LeftButton);
        QCOMPARE(requested.count(), 3);
        QCOMPARE(requested.last().at(0).value<engine::GenerationRequest>().seed, 1234);
    }

    void failureAndCancel() {
        auto s = settings();
        MainWindow w(*s);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QSignalSpy cancel(&w, &MainWindow::cancelRequested);
        // An empty prompt is refused with a message, and nothing is requested.
        QSignalSpy requested(&w, &MainWindow::generateRequested);
        w.form()->promptEdit()->clear();
        w.generate();
        QVERIFY(!w.isBusy());
        QCOMPARE(requested.count(), 0);
        QVERIFY(w.errorText().contains(QStringLiteral("The prompt is empty")));
        w.form()->promptEdit()->setPlainText(QStringLiteral("a lighthouse at dusk"));
        w.generate();
        QVERIFY(w.isBusy());
        QTest::keyClick(&w, Qt::Key_Escape);
        QCOMPARE(cancel.count(), 1);
        QCOMPARE(w.progressBar()->format(), QStringLiteral("Cancelling…"));
        w.onFailed(w.pendingId(), QStringLiteral("Out of GPU memory while denoising (needed 2.0 GiB more). "
                                                 "Free memory or lower the size."));
        QVERIFY(!w.isBusy());
        QVERIFY(w.errorText().contains(QStringLiteral("Out of GPU memory")));
        QCOMPARE(w.progressBar()->format(), QStringLiteral("Stopped"));
        // The next generation clears the banner; a cancelled one shows no error.
        w.generate();
        QVERIFY(w.errorText().isEmpty());
        w.onCancelled(w.pendingId());
        QVERIFY(!w.isBusy());
        QVERIFY(w.errorText().isEmpty());
        QCOMPARE(w.progressBar()->format(), QStringLiteral("Cancelled"));
    }

    // File → New image clears the view and the prompt, ready for the next one.
    void newImageClearsTheView() {
        auto s = settings();
        MainWindow w(*s);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QSignalSpy requested(&w, &MainWindow::generateRequested);
        w.form()->promptEdit()->setPlainText(QStringLiteral("a lighthouse at dusk"));
        w.generate();
        w.onFinished(finished(requested.last().at(0).value<engine::GenerationRequest>(), 1));
        QCOMPARE(w.viewer()->count(), 1);
        auto* action = w.findChild<QAction*>(QStringLiteral("newImage"));
        QVERIFY(action);
        QCOMPARE(action->shortcut(), QKeySequence(QKeySequence::New));
        action->trigger();
        QCOMPARE(w.viewer()->count(), 0);
        QVERIFY(w.form()->promptEdit()->toPlainText().isEmpty());
        QVERIFY(w.errorText().isEmpty());
    }

    // The original's prompt workflow on the form: distort (mode, tone, gain), the distortion LLM
    // picked from Ollama's models, the "refine to visual keywords" switch.
    void distortionControlsOnTheForm() {
        auto s = settings();
        MainWindow w(*s);
        w.resize(1366, 768);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        auto* distort = w.form()->findChild<QCheckBox*>(QStringLiteral("distort"));
        auto* model = w.form()->findChild<QComboBox*>(QStringLiteral("distortModel"));
        auto* refine = w.form()->findChild<QCheckBox*>(QStringLiteral("refine"));
        QVERIFY(distort && model && refine);
        QVERIFY(!model->isEnabled() && !refine->isEnabled()); // distortion is off by default
        distort->setChecked(true);
        QVERIFY(model->isEnabled() && refine->isEnabled());
        QCOMPARE(model->currentText(), QStringLiteral("mistral:latest"));
        w.form()->setOllamaModels({QStringLiteral("llama3.1:8b"), QStringLiteral("qwen2.5:7b")});
        QCOMPARE(model->count(), 2);
        QCOMPARE(model->currentText(), QStringLiteral("mistral:latest")); // the saved name stays
        model->setCurrentIndex(1);
        QCOMPARE(s->value(keys::DistortModel).toString(), QStringLiteral("qwen2.5:7b"));
        QVERIFY(refine->isChecked());
        refine->setChecked(false);
        QCOMPARE(s->value(keys::RefineEnabled).toBool(), false);
        refine->setChecked(true);
        w.form()->promptEdit()->setPlainText(QStringLiteral("a lighthouse at dusk"));
        QCoreApplication::processEvents();
        tp::test::saveScreenshot(w, QStringLiteral("form-distortion"));
        s->flush();
        QCOMPARE(Settings(s->path()).value(keys::DistortModel).toString(), QStringLiteral("qwen2.5:7b"));
    }

    void stateAndMemoryReachThePanel() {
        auto s = settings();
        MainWindow w(*s);
        QSignalSpy freeSpy(&w, &MainWindow::freeMemoryRequested);
        w.addVramSample(gpuSample(1000, 8 * GiB, 3 * GiB, 2 * GiB, 2 * GiB));
        engine::MemoryEvent load;
        load.kind = engine::MemoryEvent::Kind::Load;
        load.msecsSinceEpoch = 900;
        w.addMemoryEvent(load);
        QCOMPARE(w.vramPanel()->stateText(), QStringLiteral("Model on GPU · 2.0 GiB"));
        w.onStateChanged(engine::State::Cleaning, {});
        QCOMPARE(w.vramPanel()->stateText(), QStringLiteral("Freeing GPU memory…"));
        QCOMPARE(w.stateText(), QStringLiteral("Freeing GPU memory"));
        w.onStateChanged(engine::State::Idle, QStringLiteral("sd15-tiny on cuda:0"));
        QCOMPARE(w.stateText(), QStringLiteral("Idle · sd15-tiny on cuda:0"));
        for (QPushButton* b : w.vramPanel()->findChildren<QPushButton*>())
            if (b->text().contains(QStringLiteral("Free")))
                b->click();
        QCOMPARE(freeSpy.count(), 1);
    }

    void useSettingsFromTheGallery() {
        auto s = settings();
        MainWindow w(*s);
        w.setModels({{QStringLiteral("/models/sd15"), QStringLiteral("Stable Diffusion 1.5"), {}},
                     {QStringLiteral("/models/dreamshaper_8"), QStringLiteral("DreamShaper 8"), {}}});
        auto p = *engine::parseParameters(QStringLiteral(
            "a castle\nNegative prompt: fog\nSteps: 30, Sampler: DPM++ 2M Karras, CFG scale: 5, Seed: 777, "
            "Size: 768x512, Model: dreamshaper_8"));
        w.applyParameters(p);
        const auto r = w.form()->request();
        QCOMPARE(r.prompt, QStringLiteral("a castle"));
        QCOMPARE(r.negativePrompt, QStringLiteral("fog"));
        QCOMPARE(r.steps, 30);
        QCOMPARE(r.sampler, QStringLiteral("dpmpp_2m_karras"));
        QCOMPARE(r.guidance, 5.0);
        QCOMPARE(r.seed, 777);
        QCOMPARE(r.width, 768);
        QCOMPARE(r.height, 512);
        QCOMPARE(r.model, QStringLiteral("/models/dreamshaper_8"));
        // A model that is not installed keeps the current one and says so.
        p.modelName = QStringLiteral("not-here");
        QVERIFY(w.form()->applyParameters(p).contains(QStringLiteral("not-here")));
        QCOMPARE(w.form()->request().model, QStringLiteral("/models/dreamshaper_8"));
    }

    void sizePresetsFollowTheSettings() {
        auto s = settings();
        MainWindow w(*s);
        auto* preset = w.form()->findChild<QComboBox*>(QStringLiteral("sizePreset"));
        QVERIFY(preset);
        const int before = preset->count();
        QVERIFY(
            s->set(keys::SizePresets, QStringList{QStringLiteral("640x640"), QStringLiteral("832x1216")}));
        QCOMPARE(preset->count(), 3); // two presets + Custom
        QVERIFY(before != 3);
        preset->setCurrentIndex(1);
        Q_EMIT preset->activated(1);
        QCOMPARE(w.form()->request().width, 832);
        QCOMPARE(w.form()->request().height, 1216);
    }

    void layoutIsSavedAndRestored() {
        auto s = settings();
        QList<int> sizes;
        {
            MainWindow w(*s);
            w.resize(1200, 700);
            w.show();
            QVERIFY(QTest::qWaitForWindowExposed(&w));
            w.logView()->show();
            auto* splitter = w.findChild<QSplitter*>(QStringLiteral("mainSplitter"));
            splitter->setSizes({420, 500});
            sizes = splitter->sizes();
            w.close();
        }
        QVERIFY(!s->value(keys::MainWindowGeometry).toByteArray().isEmpty());
        QVERIFY(!s->value(keys::MainWindowState).toByteArray().isEmpty());
        Settings reread(s->path()); // really in the file
        QCOMPARE(reread.value(keys::MainWindowState).toByteArray(),
                 s->value(keys::MainWindowState).toByteArray());

        MainWindow again(reread);
        again.show();
        QVERIFY(QTest::qWaitForWindowExposed(&again));
        QVERIFY(again.logView()->isVisible());
        QCOMPARE(again.findChild<QSplitter*>(QStringLiteral("mainSplitter"))->sizes(), sizes);
    }

    void keyboardOrder() {
        auto s = settings();
        MainWindow w(*s);
        w.show();
        QVERIFY(QTest::qWaitForWindowActive(&w) || QTest::qWaitForWindowExposed(&w));
        w.form()->promptEdit()->setFocus();
        QTest::keyClick(w.form()->promptEdit(), Qt::Key_Tab);
        QTRY_COMPARE(QApplication::focusWidget(), static_cast<QWidget*>(w.form()->negativeEdit()));
    }

    void iconsRender() {
        QDirIterator it(QStringLiteral(":/icons"));
        int n = 0;
        while (it.hasNext()) {
            const QString path = it.next();
            QSvgRenderer svg(path);
            QVERIFY2(svg.isValid(), qPrintable(path));
            QImage img(48, 48, QImage::Format_ARGB32);
            img.fill(Qt::transparent);
            QPainter p(&img);
            svg.render(&p);
            p.end();
            int painted = 0;
            for (int y = 0; y < 48; ++y)
                for (int x = 0; x < 48; ++x)
                    painted += qAlpha(img.pixel(x, y)) > 100 ? 1 : 0;
            QVERIFY2(painted > 60, qPrintable(path));
            ++n;
        }
        QVERIFY(n >= 16);
        // A sheet of all icons for people to look at.
        QImage sheet(n * 56, 56 + 136, QImage::Format_ARGB32);
        sheet.fill(Qt::white);
        QPainter p(&sheet);
        QDirIterator again(QStringLiteral(":/icons"));
        for (int i = 0; again.hasNext(); ++i)
            QSvgRenderer(again.next()).render(&p, QRectF(i * 56 + 4, 4, 48, 48));
        QSvgRenderer(QStringLiteral(":/icons/twistedpic.svg")).render(&p, QRectF(4, 60, 128, 128));
        p.end();
        sheet.save(QDir(QStringLiteral(TP_BINARY_DIR)).filePath(QStringLiteral("screenshots/icons.png")));
    }

    void helpMenuShowsTheGuides() {
        auto s = settings();
        MainWindow w(*s);
        ui::HelpViewer* viewer = w.showHelp(QStringLiteral("GPU_MEMORY_TROUBLESHOOTING.md"));
        QVERIFY(viewer);
        QVERIFY(viewer->isVisible());
        const QString text = viewer->browser()->toPlainText();
        QVERIFY2(text.contains(QStringLiteral("twistedpic-cli memtest")), qPrintable(text.left(300)));
        QVERIFY(!text.contains(QStringLiteral("```"))); // rendered, not shown as source
        viewer->resize(860, 640);
        saveScreenshot(*viewer, QStringLiteral("help-troubleshooting"));
        QVERIFY(w.showHelp(QStringLiteral("README.md")));
        QVERIFY(viewer->browser()->toPlainText().contains(QStringLiteral("Using TwistedPic")));
        QVERIFY(!w.showHelp(QStringLiteral("NO_SUCH_GUIDE.md")));
        QVERIFY(w.errorText().contains(QStringLiteral("NO_SUCH_GUIDE.md")));
    }

    void screenshot() {
        auto s = settings();
        // A few earlier images in the output folder for the gallery.
        for (int i = 0; i < 5; ++i) {
            engine::GenerationRequest r;
            r.prompt = QStringLiteral("study %1").arg(i);
            r.width = r.height = 256;
            engine::GenerationResult res = finished(r, 1);
            res.images = {art(256, 256, i * 70)};
            res.seeds = {100 + i};
            QVERIFY(engine::OutputWriter(s->outputDirectory())
                        .write(res, {}, QDateTime::currentDateTime().addSecs(-i)));
        }
        MainWindow w(*s);
        w.resize(1366, 768);
        w.setModels({{QStringLiteral("/models/sd15"), QStringLiteral("Stable Diffusion 1.5"), {}},
                     {QStringLiteral("/models/dreamshaper_8"), QStringLiteral("DreamShaper 8"), {}}});
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QTest::keyClicks(w.form()->promptEdit(),
                         QStringLiteral("a lighthouse at dusk, oil painting, dramatic sky"));
        QVector<gpu::VramSample> samples;
        for (int t = 0; t <= 300; ++t) {
            const bool gen = t > 240 && t < 262;
            gpu::VramSample smp = gpuSample(1'800'000'000'000 + t * 1000LL, 24 * GiB, (gen ? 9 : 6) * GiB,
                                            (gen ? 4 : 2) * GiB + 100 * MiB, (gen ? 3500 : 2150) * MiB);
            addProcess(smp, 4242, QStringLiteral("ollama_llama_se"), 3 * GiB, true);
            samples << smp;
        }
        w.setVramHistory(samples);
        engine::MemoryEvent load;
        load.kind = engine::MemoryEvent::Kind::Load;
        load.msecsSinceEpoch = 1'800'000'000'000 + 10'000;
        w.addMemoryEvent(load);
        engine::MemoryEvent cleanup;
        cleanup.kind = engine::MemoryEvent::Kind::Cleanup;
        cleanup.msecsSinceEpoch = 1'800'000'000'000 + 262'000;
        cleanup.before.deviceUsedBytes = 9 * GiB;
        cleanup.after.deviceUsedBytes = 6 * GiB;
        w.addMemoryEvent(cleanup);
        w.generate();
        engine::GenerationRequest r = w.form()->request();
        r.id = w.pendingId();
        engine::GenerationResult res = finished(r, 1);
        w.onFinished(res);
        w.onStateChanged(engine::State::Idle, QStringLiteral("Stable Diffusion 1.5 on cuda:0"));
        QTRY_COMPARE(w.gallery()->model()->pendingCount(), 0);
        QCoreApplication::processEvents();
        saveScreenshot(w, QStringLiteral("main-window"));
    }
};

QTEST_MAIN(TestMainWindow)
#include "tst_mainwindow.moc"
