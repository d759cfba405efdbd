// The bundled model draws what it is asked for: generated through the app's own pipeline and
// read back by the shape classifier. Skips while resources/models holds no trained model.
#include "core/pipeline/Device.h"
#include "core/pipeline/ImageConvert.h"
#include "core/io/ModelCatalogue.h"
#include "core/pipeline/TextToImage.h"
#include "tests/support/TestUtil.h"
#include "tools/shapes/ShapeClassifier.h"
#include "tools/shapes/ShapeScene.h"

#include <QDir>
#include <QFile>
#include <QSet>
#include <QtTest>

using namespace tp;

namespace {

// The first folder under resources/models that holds a diffusers pipeline.
QString bundledModelFolder() {
    const QDir models(QStringLiteral(TP_SOURCE_DIR "/resources/models"));
    for (const QString& name : models.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
        if (QFile::exists(models.filePath(name + QStringLiteral("/model_index.json"))))
            return models.filePath(name);
    return {};
}

} // namespace

class TestDefaultModelSemantics final : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<pipeline::DiffusionModel> m_model;
    int m_size = 0;

    at::Tensor generate(const QString& prompt, uint64_t seed) {
        pipeline::TextToImageParams p;
        p.prompt = prompt;
        p.sampler = QStringLiteral("euler_a");
        p.steps = 20;
        p.guidance = 7.5;
        p.width = m_size;
        p.height = m_size;
        p.seed = seed;
        auto out = pipeline::textToImage(*m_model, p);
        if (!out) {
            qWarning("%s", qPrintable(out.error()));
            return {};
        }
        return out->images;
    }

private Q_SLOTS:
    void initTestCase() {
        const QString folder = bundledModelFolder();
        if (folder.isEmpty())
            QSKIP("resources/models holds no trained model yet (train one with twistedpic-train, see "
                  "docs/TRAINING.md)");
        pipeline::initCpuRuntime();
        auto device = pipeline::resolveDevice(QStringLiteral("cpu"), QStringLiteral("fp32"));
        QVERIFY2(device.isOk(), qPrintable(device.error()));
        auto model = pipeline::loadModel(folder, *device);
        QVERIFY2(model.isOk(), qPrintable(model.error()));
        m_model = std::move(*model);
        m_size = io::ModelCatalogue::inspect(folder, QStringLiteral("bundled")).nativeSize;
        QVERIFY(m_size >= 64);
    }

    void drawsWhatThePromptSays() {
        // 24 prompts: every colour at least twice, every shape at least four times, all sizes,
        // centred and off-centre, each with its own fixed seed.
        const std::vector<shapes::Scene> scenes = shapes::evaluationScenes(24);
        QSet<int> colours, shapeKinds;
        int colourOk = 0, shapeOk = 0;
        QStringList report;
        for (size_t i = 0; i < scenes.size(); ++i) {
            const shapes::Scene& s = scenes[i];
            colours.insert(s.colour);
            shapeKinds.insert(int(s.shape));
            const QString prompt = shapes::caption(s);
            const at::Tensor images = generate(prompt, 1000 + i);
            QVERIFY(images.defined());
            QCOMPARE(images.size(2), m_size);
            const shapes::Classification c = shapes::classify(pipeline::toQImage(images[0]));
            const bool colour = c.found && c.colour == s.colour && c.background == s.background;
            const bool shape = c.found && c.shape == s.shape;
            colourOk += colour;
            shapeOk += shape;
            report.append(QStringLiteral("%1 %2  %3  ->  %4")
                              .arg(colour ? QLatin1Char('C') : QLatin1Char('-'))
                              .arg(shape ? QLatin1Char('S') : QLatin1Char('-'))
                              .arg(prompt, c.describe()));
        }
        QCOMPARE(colours.size(), shapes::colourCount());
        QCOMPARE(shapeKinds.size(), shapes::ShapeCount);
        const double n = double(scenes.size());
        qInfo("colours right %.2f, shape right %.2f\n%s", colourOk / n, shapeOk / n,
              qPrintable(report.join(QLatin1Char('\n'))));
        QVERIFY2(colourOk / n >= 0.90,
                 "shape and background colours must be right in at least 90% of the prompts");
        QVERIFY2(shapeOk / n >= 0.75,
                 "the classifier must agree on the shape in at least 75% of the prompts");
    }

    void sameSeedSamePixels() {
        const QString prompt =
            QStringLiteral("a small yellow star in the top left corner on a black background");
        const at::Tensor a = generate(prompt, 42);
        const at::Tensor b = generate(prompt, 42);
        const at::Tensor c = generate(prompt, 43);
        QVERIFY(a.defined() && b.defined() && c.defined());
        QVERIFY(at::equal(a, b));
        QVERIFY(!at::equal(a, c));
    }
};

QTEST_GUILESS_MAIN(TestDefaultModelSemantics)
#include "tst_default_model_semantics.moc"
