// The bundled model's training world: scenes, captions, the renderer and the classifier.
#include "tests/support/TestUtil.h"
#include "tools/shapes/ShapeClassifier.h"
#include "tools/shapes/ShapeRenderer.h"
#include "tools/shapes/ShapeScene.h"

#include <QSet>
#include <QtTest>

#include <cmath>

using namespace tp::shapes;

namespace {

Scene makeScene(int colour, int background, Shape shape, Size size, Position position) {
    Scene s;
    s.colour = colour;
    s.background = background;
    s.shape = shape;
    s.size = size;
    s.position = position;
    return s;
}

std::array<int, 3> pixel(const QImage& img, int x, int y) {
    const QRgb p = img.pixel(x, y);
    return {qRed(p), qGreen(p), qBlue(p)};
}

std::array<int, 3> rgbOf(int colour) {
    const Colour& c = palette()[size_t(colour)];
    return {c.r, c.g, c.b};
}

} // namespace

class TestShapes final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void paletteIsWellApart() {
        QVERIFY(colourCount() >= 8);
        double smallest = 1e9;
        for (int i = 0; i < colourCount(); ++i)
            for (int j = i + 1; j < colourCount(); ++j) {
                const auto a = rgbOf(i), b = rgbOf(j);
                smallest = std::min(
                    smallest, std::sqrt(double((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                                               (a[2] - b[2]) * (a[2] - b[2]))));
            }
        QVERIFY2(smallest >= 100.0, qPrintable(QString::number(smallest)));
        QCOMPARE(colourIndex(QStringLiteral("purple")), 5);
        QCOMPARE(colourIndex(QStringLiteral("mauve")), -1);
        QCOMPARE(nearestColour(250, 120, 10), colourIndex(QStringLiteral("orange")));
    }

    void captionsDescribeScenes() {
        QCOMPARE(caption(makeScene(0, 4, Shape::Circle, Size::Medium, Position::Center)),
                 QStringLiteral("a red circle on a blue background"));
        QCOMPARE(caption(makeScene(2, 8, Shape::Star, Size::Small, Position::TopLeft)),
                 QStringLiteral("a small yellow star in the top left corner on a black background"));
        QCOMPARE(caption(makeScene(1, 7, Shape::Ring, Size::Medium, Position::Bottom)),
                 QStringLiteral("an orange ring at the bottom on a white background"));
        QCOMPARE(caption(makeScene(9, 6, Shape::Square, Size::Large, Position::Center)),
                 QStringLiteral("a large gray square on a pink background"));
        QCOMPARE(caption(makeScene(7, 1, Shape::Triangle, Size::Small, Position::Right)),
                 QStringLiteral("a small white triangle on the right on an orange background"));
        Scene s = makeScene(5, 3, Shape::Triangle, Size::Medium, Position::Center);
        s.sayMedium = true;
        s.sayCenter = true;
        QCOMPARE(caption(s), QStringLiteral("a medium purple triangle in the center on a green background"));
    }

    void everyCaptionParsesBack() {
        const std::vector<Scene> scenes = allScenes();
        QCOMPARE(int(scenes.size()), 10 * 9 * 5 * 19);
        const QStringList captions = allCaptions();
        QCOMPARE(QSet<QString>(captions.begin(), captions.end()).size(), captions.size()); // unambiguous
        for (const QString& c : captions) {
            const auto parsed = parseCaption(c);
            QVERIFY2(parsed.has_value(), qPrintable(c));
            QCOMPARE(caption(*parsed), c);
        }
        const auto loose = parseCaption(QStringLiteral("  A Red   circle on a blue background. "));
        QVERIFY(loose.has_value());
        QVERIFY(loose->sameContent(makeScene(0, 4, Shape::Circle, Size::Medium, Position::Center)));
        QVERIFY(!parseCaption(QStringLiteral("a red circle on a red background")).has_value());
        QVERIFY(
            !parseCaption(QStringLiteral("a large red circle in the top left corner on a blue background")));
    }

    void samplerIsDeterministicAndCoversEverything() {
        SceneSampler a(42), b(42), c(43);
        bool differs = false;
        QSet<int> colours, backgrounds, shapes, sizes, positions;
        for (int i = 0; i < 5000; ++i) {
            const Scene sa = a.next();
            const Scene sb = b.next();
            const Scene sc = c.next();
            QVERIFY(sa.sameContent(sb) && sa.dx == sb.dx && sa.scale == sb.scale &&
                    sa.sayMedium == sb.sayMedium);
            differs = differs || !sa.sameContent(sc);
            QVERIFY(sa.colour != sa.background);
            QVERIFY(sa.size != Size::Large || sa.position == Position::Center);
            QVERIFY(std::abs(sa.dx) <= MaxCentreJitter && std::abs(sa.scale - 1.0) <= MaxScaleJitter);
            QVERIFY(parseCaption(caption(sa)).has_value());
            colours.insert(sa.colour);
            backgrounds.insert(sa.background);
            shapes.insert(int(sa.shape));
            sizes.insert(int(sa.size));
            positions.insert(int(sa.position));
        }
        QVERIFY(differs);
        QCOMPARE(colours.size(), colourCount());
        QCOMPARE(backgrounds.size(), colourCount());
        QCOMPARE(shapes.size(), ShapeCount);
        QCOMPARE(sizes.size(), SizeCount);
        QCOMPARE(positions.size(), PositionCount);
    }

    void rendersExactColoursAndAreas() {
        const int size = 128;
        const Scene circle = makeScene(0, 4, Shape::Circle, Size::Large, Position::Center);
        const Scene ring = makeScene(3, 7, Shape::Ring, Size::Medium, Position::TopLeft);
        const at::Tensor batch = renderScenes({circle, ring}, size);
        QCOMPARE(batch.sizes(), (at::IntArrayRef{2, 3, size, size}));
        QCOMPARE(batch.scalar_type(), at::kFloat);
        QVERIFY(batch.min().item<float>() >= 0.0f && batch.max().item<float>() <= 1.0f);

        const QImage img = toQImage(batch[0]);
        QCOMPARE(pixel(img, 64, 64), rgbOf(0));
        QCOMPARE(pixel(img, 0, 0), rgbOf(4));
        // Area of the disc: coverage sums to pi r^2 within half a percent.
        const at::Tensor red = at::tensor({220.f, 30.f, 30.f}).view({3, 1, 1}) / 255.0;
        const at::Tensor blue = at::tensor({30.f, 80.f, 220.f}).view({3, 1, 1}) / 255.0;
        const double coverage = ((batch[0] - blue) / (red - blue)).select(0, 0).sum().item<double>();
        const double r = sizeRadius(Size::Large) * size;
        QVERIFY2(std::abs(coverage / (M_PI * r * r) - 1.0) < 0.005, qPrintable(QString::number(coverage)));
        // Anti-aliased edge: some pixels are blends.
        const at::Tensor t = (batch[0] - blue).select(0, 0) / (red - blue).select(0, 0);
        QVERIFY(((t > 0.05) & (t < 0.95)).sum().item<int64_t>() > 100);

        // The ring's hole shows the background at its centre; the shape sits top left.
        const QImage ringImg = toQImage(batch[1]);
        const auto c = positionCentre(Position::TopLeft);
        QCOMPARE(pixel(ringImg, int(c[0] * size), int(c[1] * size)), rgbOf(7));
        const int onRing = int((c[0] + 0.9 * sizeRadius(Size::Medium)) * size);
        QCOMPARE(pixel(ringImg, onRing, int(c[1] * size)), rgbOf(3));
        QCOMPARE(pixel(ringImg, 100, 100), rgbOf(7));

        // A batch gives the same pixels as single renders, and the round trip through QImage holds.
        QCOMPARE(renderImage(ring, size), ringImg);
        QVERIFY((fromQImage(ringImg) - batch[1]).abs().max().item<float>() <= 0.5f / 255.0f + 1e-6f);
    }

    void shapesStayInsideTheImage() {
        // Worst case jitter, every size and position: the two-pixel frame is pure background.
        std::vector<Scene> scenes;
        for (const Scene& base : allScenes()) {
            if (base.colour != 0 || base.background != 7)
                continue;
            for (double d : {-MaxCentreJitter, MaxCentreJitter}) {
                Scene s = base;
                s.dx = d;
                s.dy = d;
                s.scale = 1.0 + MaxScaleJitter;
                scenes.push_back(s);
            }
        }
        const at::Tensor images = renderScenes(scenes, 128);
        at::Tensor frame = at::ones({128, 128}, at::kBool);
        frame.narrow(0, 2, 124).narrow(1, 2, 124).fill_(false);
        const at::Tensor white = at::tensor({245.f, 245.f, 245.f}).view({1, 3, 1, 1}) / 255.0;
        const at::Tensor diff = (images - white).abs().amax(1); // [N, H, W]
        QCOMPARE(diff.masked_select(frame.unsqueeze(0).expand_as(diff)).max().item<float>(), 0.0f);
    }

    void classifierReadsGeneratedImages() {
        SceneSampler sampler(7);
        std::vector<Scene> scenes;
        for (int i = 0; i < 600; ++i)
            scenes.push_back(sampler.next());
        const at::Tensor images = renderScenes(scenes, 128);
        int colour = 0, background = 0, shape = 0, size = 0, position = 0;
        for (size_t i = 0; i < scenes.size(); ++i) {
            const Classification c = classify(toQImage(images[int64_t(i)]));
            const Scene& s = scenes[i];
            colour += c.found && c.colour == s.colour;
            background += c.background == s.background;
            shape += c.found && c.shape == s.shape;
            size += c.found && c.size == s.size;
            position += c.found && c.position == s.position;
            if (c.shape != s.shape || c.colour != s.colour)
                qInfo("%s -> %s", qPrintable(caption(s)), qPrintable(c.describe()));
        }
        const double n = double(scenes.size());
        qInfo("accuracy: colour %.3f background %.3f shape %.3f size %.3f position %.3f", colour / n,
              background / n, shape / n, size / n, position / n);
        QVERIFY(colour / n >= 0.99);
        QVERIFY(background / n >= 0.99);
        QVERIFY(shape / n >= 0.99);
        QVERIFY(size / n >= 0.99);
        QVERIFY(position / n >= 0.99);
    }

    void classifierToleratesNoiseAndBlur() {
        // What a generator draws is never exact: add noise and soften the edges.
        SceneSampler sampler(11);
        std::vector<Scene> scenes;
        for (int i = 0; i < 300; ++i)
            scenes.push_back(sampler.next());
        at::Tensor images = renderScenes(scenes, 128);
        images = at::avg_pool2d(at::reflection_pad2d(images, {1, 1, 1, 1}), {3, 3}, {1, 1});
        at::manual_seed(3);
        images = (images + at::randn_like(images) * (8.0 / 255.0)).clamp(0.0, 1.0);
        int colour = 0, shape = 0;
        for (size_t i = 0; i < scenes.size(); ++i) {
            const Classification c = classify(toQImage(images[int64_t(i)]));
            colour += c.colour == scenes[i].colour && c.background == scenes[i].background;
            shape += c.shape == scenes[i].shape;
        }
        qInfo("noisy: colours %.3f shape %.3f", colour / 300.0, shape / 300.0);
        QVERIFY(colour / 300.0 >= 0.98);
        QVERIFY(shape / 300.0 >= 0.95);
    }

    void classifierFindsNothingOnAFlatImage() {
        QImage flat(128, 128, QImage::Format_RGB888);
        flat.fill(QColor(30, 160, 60));
        const Classification c = classify(flat);
        QVERIFY(!c.found);
        QCOMPARE(c.background, colourIndex(QStringLiteral("green")));
    }
};

QTEST_GUILESS_MAIN(TestShapes)
#include "tst_shapes.moc"
