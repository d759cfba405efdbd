// Single file = folder: the tiny SD 1.x and SDXL models written by diffusers' converters in the
// original single-file layouts (tests/data/sd15-single/sd15-single.safetensors, LDM; sdxl-tiny/single,
// SGM with OpenCLIP's fused attention) give bit-identical images to the diffusers folders they came
// from, through the same engine path; and the SD 1.x folder run matches diffusers' images.
#include "core/common/Json.h"
#include "core/io/SafeTensors.h"
#include "core/pipeline/ModelSource.h"
#include "core/pipeline/TextToImage.h"
#include "tests/pipeline/PipelineCases.h"
#include "tests/support/TestUtil.h"

#include <QFile>
#include <QJsonArray>
#include <QJsonObject>
#include <QtTest>

using namespace tp;

namespace {

std::unique_ptr<pipeline::DiffusionModel> load(const QString& path, const QString& configFolder = {}) {
    io::SingleFileOptions options;
    options.configFolder = configFolder;
    Result<pipeline::ModelSource> source = pipeline::ModelSource::open(path, options);
    if (!source)
        qFatal("%s", qPrintable(source.error()));
    auto model = pipeline::loadModel(*source, test::float32Device(false));
    if (!model)
        qFatal("%s", qPrintable(model.error()));
    return std::move(*model);
}

} // namespace

class TestPipelineSingleFile final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { pipeline::initCpuRuntime(); }

    void sameImagesAsTheFolder_data() {
        QTest::addColumn<QString>("fixture");
        QTest::addColumn<QString>("file");
        QTest::addColumn<int>("index");
        QTest::newRow("sd15 LDM, case 0") << "sd15-single"
                                          << "sd15-single.safetensors" << 0;
        QTest::newRow("sd15 LDM, case 1") << "sd15-single"
                                          << "sd15-single.safetensors" << 1;
        QTest::newRow("sdxl SGM, case 3") << "sdxl-tiny"
                                          << "single/sdxl-tiny.safetensors" << 3;
        QTest::newRow("sdxl SGM, case 2") << "sdxl-tiny"
                                          << "single/sdxl-tiny.safetensors" << 2;
    }
    void sameImagesAsTheFolder() {
        QFETCH(QString, fixture);
        QFETCH(QString, file);
        QFETCH(int, index);
        const QString folder = test::dataPath(fixture + QStringLiteral("/pipeline"));
        const auto fromFolder = load(folder);
        // What tensor shapes cannot tell (heads of a non-64 width) comes from the folder's configs,
        // as with diffusers' from_single_file(config=...).
        const auto fromFile = load(test::dataPath(fixture + QLatin1Char('/') + file), folder);
        QCOMPARE(fromFile->family(), fromFolder->family());
        QCOMPARE(fromFile->weightBytes(), fromFolder->weightBytes());
        const QJsonObject c =
            test::readCases(fixture).value(QStringLiteral("pipeline")).toArray().at(index).toObject();
        const pipeline::TextToImageParams p = test::caseParams(c);
        auto a = pipeline::textToImage(*fromFolder, p);
        auto b = pipeline::textToImage(*fromFile, p);
        QVERIFY2(a && b, qPrintable(a ? b.error() : a.error()));
        QVERIFY(at::equal(a->latents, b->latents));
        QVERIFY(at::equal(a->images, b->images));

        // And the folder run is diffusers' image.
        auto ref =
            io::SafeTensorsFile::open(test::dataPath(fixture + QStringLiteral("/reference.safetensors")));
        QVERIFY2(ref, qPrintable(ref.error()));
        const at::Tensor image = *(*ref)->view(QStringLiteral("pipe.%1.image").arg(index));
        const double err = (a->images[0] - image).abs().max().item<double>();
        qInfo("%s case %d: single file == folder bit for bit; folder vs diffusers %.3g", qPrintable(fixture),
              index, err);
        QVERIFY2(err <= 2e-3, qPrintable(QString::number(err)));
    }
};

QTEST_GUILESS_MAIN(TestPipelineSingleFile)
#include "tst_pipeline_singlefile.moc"
