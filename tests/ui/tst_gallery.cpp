// The gallery lists what OutputWriter wrote, newest first, with parsed parameters, and sees
// new and deleted files on its own.
#include "core/engine/OutputWriter.h"
#include "tests/ui/UiTestUtil.h"
#include "ui/GalleryModel.h"
#include "ui/GalleryView.h"

#include <QAction>
#include <QFile>
#include <QListView>
#include <QPainter>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

using namespace tp;
using tp::ui::GalleryModel;
using tp::ui::GalleryView;

namespace {

QImage picture(int w, int h, int hue) {
    QImage img(w, h, QImage::Format_RGB32);
    QPainter p(&img);
    QLinearGradient sky(0, 0, 0, h);
    sky.setColorAt(0, QColor::fromHsv(hue, 120, 250));
    sky.setColorAt(1, QColor::fromHsv((hue + 40) % 360, 200, 160));
    p.fillRect(img.rect(), sky);
    p.setPen(Qt::NoPen);
    p.setBrush(QColor::fromHsv((hue + 180) % 360, 160, 240));
    p.drawEllipse(QPointF(w * 0.7, h * 0.3), w * 0.12, w * 0.12);
    p.setBrush(QColor::fromHsv((hue + 200) % 360, 180, 70));
    p.drawPolygon(QPolygonF({QPointF(0, h), QPointF(w * 0.35, h * 0.55), QPointF(w * 0.6, h * 0.8),
                             QPointF(w * 0.8, h * 0.6), QPointF(w, h)}));
    return img;
}

engine::GenerationResult result(const QString& prompt, qint64 seed, int hue) {
    engine::GenerationResult r;
    r.request.prompt = prompt;
    r.request.negativePrompt = QStringLiteral("blurry");
    r.request.sampler = QStringLiteral("euler_a");
    r.request.steps = 20;
    r.request.guidance = 7.5;
    r.request.seed = seed;
    r.modelName = QStringLiteral("sd15-tiny");
    r.modelFolder = QStringLiteral("/models/sd15-tiny");
    r.images = {picture(256, 256, hue)};
    r.seeds = {seed};
    return r;
}

// Writes an image and dates it `minutesAgo` so that the order is known.
QString write(const QString& dir, const QString& prompt, qint64 seed, int hue, int minutesAgo) {
    const QDateTime when = QDateTime::currentDateTime().addSecs(-60 * minutesAgo);
    const auto w =
        engine::OutputWriter(dir).write(result(prompt, seed, hue), QStringLiteral("1a5a67a44a"), when);
    if (!w)
        qFatal("%s", qPrintable(w.error()));
    QFile f(w->first().imagePath);
    f.open(QIODevice::ReadWrite);
    f.setFileTime(when, QFileDevice::FileModificationTime);
    return w->first().imagePath;
}

} // namespace

class TestGallery final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void listsImagesNewestFirstWithParameters() {
        QTemporaryDir dir;
        const QString old = write(dir.path(), QStringLiteral("an old lighthouse"), 11, 200, 30);
        const QString mid = write(dir.path(), QStringLiteral("a fox, in snow: at night"), 22, 20, 20);
        const QString fresh = write(dir.path(), QStringLiteral("a red balloon\nover the sea"), 33, 340, 10);

        GalleryView view;
        view.resize(420, 520);
        view.setDirectory(dir.path());
        GalleryModel* model = view.model();
        QTRY_COMPARE(model->rowCount(), 3);
        QTRY_COMPARE(model->pendingCount(), 0);
        QCOMPARE(model->pathAt(0), fresh);
        QCOMPARE(model->pathAt(1), mid);
        QCOMPARE(model->pathAt(2), old);
        QVERIFY(model->parametersAt(0));
        QCOMPARE(model->parametersAt(0)->prompt, QStringLiteral("a red balloon\nover the sea"));
        QCOMPARE(model->parametersAt(1)->seed, 22);
        QCOMPARE(model->parametersAt(2)->modelFolder,
                 QStringLiteral("/models/sd15-tiny")); // from the sidecar
        // Thumbnails were made (not the placeholder): scaled to fit the thumbnail size.
        const QPixmap thumb = model->index(0).data(Qt::DecorationRole).value<QPixmap>();
        QCOMPARE(thumb.size(), QSize(model->thumbnailSize(), model->thumbnailSize()));
        QVERIFY(thumb.toImage().pixelColor(thumb.width() / 2, 4).saturation() > 50);
        QVERIFY(model->index(1).data(Qt::ToolTipRole).toString().contains(QStringLiteral("a fox, in snow")));

        QSignalSpy selected(&view, &GalleryView::imageSelected);
        QSignalSpy use(&view, &GalleryView::useSettingsRequested);
        view.listView()->setCurrentIndex(model->index(1));
        QCOMPARE(selected.count(), 1);
        QCOMPARE(selected.last().at(0).toString(), mid);
        const auto params = selected.last().at(1).value<engine::ImageParameters>();
        QCOMPARE(params.prompt, QStringLiteral("a fox, in snow: at night"));
        QCOMPARE(params.sampler, QStringLiteral("euler_a"));
        QVERIFY(selected.last().at(2).toBool());
        QVERIFY(view.detailsText().contains(QStringLiteral("Seed: 22")));

        QVERIFY(view.useSettingsAction()->isEnabled());
        view.useSettingsAction()->trigger();
        QCOMPARE(use.count(), 1);
        QCOMPARE(use.last().at(0).value<engine::ImageParameters>().seed, 22);
    }

    void pngWithOnlyTheChunk() {
        QTemporaryDir dir;
        QImage img = picture(64, 64, 100);
        img.setText(QStringLiteral("parameters"),
                    QStringLiteral(
                        "a castle\nNegative prompt: fog\nSteps: 30, Sampler: DPM++ 2M Karras, CFG scale: 5, "
                        "Seed: 777, Size: 64x64, Model: dreamshaper_8"));
        QVERIFY(img.save(dir.filePath(QStringLiteral("from-a1111.png"))));
        QVERIFY(picture(64, 64, 50).save(dir.filePath(QStringLiteral("plain.png")))); // no parameters

        GalleryModel model;
        model.setDirectory(dir.path());
        QTRY_COMPARE(model.rowCount(), 2);
        QTRY_COMPARE(model.pendingCount(), 0);
        const int a1111 = model.rowOf(dir.filePath(QStringLiteral("from-a1111.png")));
        QVERIFY(model.parametersAt(a1111));
        QCOMPARE(model.parametersAt(a1111)->sampler, QStringLiteral("dpmpp_2m_karras"));
        QCOMPARE(model.parametersAt(a1111)->seed, 777);
        QCOMPARE(model.parametersAt(model.rowOf(dir.filePath(QStringLiteral("plain.png")))), nullptr);
    }

    void watchesTheFolder() {
        QTemporaryDir dir;
        write(dir.path(), QStringLiteral("first"), 1, 10, 5);
        GalleryView view;
        view.setDirectory(dir.path());
        GalleryModel* model = view.model();
        QTRY_COMPARE(model->rowCount(), 1);
        view.listView()->setCurrentIndex(model->index(0));
        const QString selected = view.selectedPath();

        const QString added = write(dir.path(), QStringLiteral("second"), 2, 120, 0);
        QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 2, 5000);
        QCOMPARE(model->pathAt(0), added);       // newest on top
        QCOMPARE(view.selectedPath(), selected); // the selection stayed on its image
        QTRY_VERIFY(model->parametersAt(0) != nullptr);
        QCOMPARE(model->parametersAt(0)->prompt, QStringLiteral("second"));

        QVERIFY(QFile::remove(added));
        QTRY_COMPARE_WITH_TIMEOUT(model->rowCount(), 1, 5000);
        QCOMPARE(model->pathAt(0), selected);
    }

    void emptyAndMissingFolder() {
        QTemporaryDir dir;
        GalleryView view;
        view.setDirectory(dir.filePath(QStringLiteral("not-yet")));
        QCOMPARE(view.model()->rowCount(), 0);
        QVERIFY(!view.useSettingsAction()->isEnabled());
        // The folder appears later (first image): a refresh picks it up.
        write(dir.filePath(QStringLiteral("not-yet")), QStringLiteral("late"), 3, 60, 0);
        view.refresh();
        QTRY_COMPARE(view.model()->rowCount(), 1);
    }

    void screenshot() {
        QTemporaryDir dir;
        const char* prompts[] = {
            "a lighthouse at dusk, oil painting", "a fox in the snow", "a red balloon over the sea",
            "mountains at dawn, watercolor",      "a city of glass",   "a quiet forest lake"};
        for (int i = 0; i < 6; ++i)
            write(dir.path(), QString::fromLatin1(prompts[i]), 1000 + i, i * 55, 60 - i);
        GalleryView view;
        view.resize(440, 560);
        view.setDirectory(dir.path());
        QTRY_COMPARE(view.model()->rowCount(), 6);
        QTRY_COMPARE(view.model()->pendingCount(), 0);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        view.listView()->setCurrentIndex(view.model()->index(0));
        QCoreApplication::processEvents();
        tp::test::saveScreenshot(view, QStringLiteral("gallery"));
    }
};

QTEST_MAIN(TestGallery)
#include "tst_gallery.moc"
