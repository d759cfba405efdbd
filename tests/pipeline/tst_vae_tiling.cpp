// Tiled VAE decode/encode (nn::VaeTiling, diffusers' enable_tiling()) on the tiny fixtures' VAEs,
// float32 on the CPU: against a line-by-line port of diffusers' tiled_decode/_tiled_encode, against
// the one-pass decode/encode (near, within bounds measured here; identical when one tile covers
// everything), and through every family's DiffusionModel::decode().
#include "core/nn/AutoencoderKL.h"
#include "core/pipeline/DiffusionModel.h"
#include "tests/pipeline/PipelineCases.h"
#include "tests/support/TestUtil.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>

#include <QtTest>

#include <algorithm>
#include <map>
#include <memory>
#include <vector>

using namespace tp;
using nn::AutoencoderKLImpl;
using nn::VaeTiling;

namespace {

// Tiled against one pass: mean |diff| / mean |one pass|, the largest measured over the four fixtures
// (each row prints its figures) times about 1.5. Large for small tiles: these untrained VAEs'
// GroupNorm statistics and mid-block attention are taken per tile, and a tile of 8-12 latents sees
// little of the picture, so tiling is not the one-pass decode (diffusers: "You may still see
// tile-sized changes in the output"); the gap shrinks as tiles grow (0.71 -> 0.37 -> 0.12 for tiles
// of 8, 12, 32 latents). Latents of a smooth picture are worse still (mean |diff| 0.93-1.2 of the
// output at 16-latent tiles: every tile normalises its own part of the gradient). The loop itself is
// checked exactly against diffusers' (kPortTolerance).
constexpr double kDecodeNoise64 = 1.1;   // measured 0.41-0.71
constexpr double kDecodeNoise96 = 0.55;  // measured 0.17-0.37
constexpr double kDecodeNoise256 = 0.18; // measured 0.055-0.12
constexpr double kEncode64 = 1.5;        // measured 0.59-1.02 (mean), 0.054-0.12 (std)
constexpr double kEncode96 = 0.55;       // measured 0.17-0.37, 0.016-0.045
constexpr double kEncode256 = 0.9;       // measured 0.26-0.59, 0.023-0.074
// The port of diffusers' loop does the same float32 operations in the same order.
constexpr double kPortTolerance = 1e-6;

double maxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}
double meanAbsDiff(const at::Tensor& a, const at::Tensor& b) {
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().mean().item<double>();
}

// diffusers' blend_v / blend_h as written there: one row or column at a time, Python float weights.
at::Tensor portBlend(const at::Tensor& a, at::Tensor b, int64_t dim, int64_t extent) {
    extent = std::min({a.size(dim), b.size(dim), extent});
    for (int64_t y = 0; y < extent; ++y)
        b.select(dim, y).copy_(a.select(dim, a.size(dim) - extent + y) * (1.0 - double(y) / double(extent)) +
                               b.select(dim, y) * (double(y) / double(extent)));
    return b;
}

// The second half of diffusers' tiled_decode/_tiled_encode: blend every tile with the one above and
// the one to the left (both already blended), keep rowLimit of each, concatenate.
at::Tensor portAssemble(std::vector<std::vector<at::Tensor>>& rows, int64_t blendExtent, int64_t rowLimit) {
    std::vector<at::Tensor> resultRows;
    for (size_t i = 0; i < rows.size(); ++i) {
        std::vector<at::Tensor> resultRow;
        for (size_t j = 0; j < rows[i].size(); ++j) {
            at::Tensor tile = rows[i][j];
            if (i > 0)
                tile = portBlend(rows[i - 1][j], tile, 2, blendExtent);
            if (j > 0)
                tile = portBlend(rows[i][j - 1], tile, 3, blendExtent);
            resultRow.push_back(tile.slice(2, 0, rowLimit).slice(3, 0, rowLimit));
        }
        resultRows.push_back(at::cat(resultRow, 3));
    }
    return at::cat(resultRows, 2);
}

// diffusers' tiled_decode with tile_sample_min_size = sampleTile, tile_overlap_factor 0.25.
at::Tensor portTiledDecode(const AutoencoderKLImpl& vae, const at::Tensor& z, int64_t sampleTile) {
    const int64_t latentTile = sampleTile / vae.config().downscaleFactor();
    const int64_t overlapSize = int64_t(double(latentTile) * (1 - 0.25));
    const int64_t blendExtent = int64_t(double(sampleTile) * 0.25);
    const int64_t rowLimit = sampleTile - blendExtent;
    std::vector<std::vector<at::Tensor>> rows;
    for (int64_t i = 0; i < z.size(2); i += overlapSize) {
        rows.emplace_back();
        for (int64_t j = 0; j < z.size(3); j += overlapSize)
            rows.back().push_back(vae.decode(z.slice(2, i, i + latentTile).slice(3, j, j + latentTile)));
    }
    return portAssemble(rows, blendExtent, rowLimit);
}

// diffusers' _tiled_encode: the moments (mean; logvar before the clamp, which these VAEs never reach).
at::Tensor portTiledEncodeMoments(const AutoencoderKLImpl& vae, const at::Tensor& x, int64_t sampleTile) {
    const int64_t latentTile = sampleTile / vae.config().downscaleFactor();
    const int64_t overlapSize = int64_t(double(sampleTile) * (1 - 0.25));
    const int64_t blendExtent = int64_t(double(latentTile) * 0.25);
    const int64_t rowLimit = latentTile - blendExtent;
    std::vector<std::vector<at::Tensor>> rows;
    for (int64_t i = 0; i < x.size(2); i += overlapSize) {
        rows.emplace_back();
        for (int64_t j = 0; j < x.size(3); j += overlapSize) {
            const nn::LatentDistribution d =
                vae.encode(x.slice(2, i, i + sampleTile).slice(3, j, j + sampleTile));
            rows.back().push_back(at::cat({d.mean, d.logvar}, 1));
        }
    }
    return portAssemble(rows, blendExtent, rowLimit);
}

// A smooth picture with some detail in [-1, 1], [1, 3, h, w].
at::Tensor testImage(int64_t h, int64_t w) {
    const auto opts = at::TensorOptions().dtype(at::kFloat);
    const at::Tensor y = at::linspace(0, 1, h, opts).view({1, 1, h, 1});
    const at::Tensor x = at::linspace(0, 1, w, opts).view({1, 1, 1, w});
    const at::Tensor c = at::arange(3, opts).view({1, 3, 1, 1});
    return (at::sin(6.0 * x + 2.0 * c) * at::cos(5.0 * y - c) * 0.8 + 0.1 * (x - y)).clamp(-1, 1);
}

const char* const kFixtures[] = {"sd15-tiny", "sdxl-tiny", "sd3-tiny", "flux-tiny"};

} // namespace

class TestVaeTiling final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void geometry();
    void decodeMatchesDiffusersLoop_data();
    void decodeMatchesDiffusersLoop();
    void decodeNearOnePass_data();
    void decodeNearOnePass();
    void decodeOneTileIsOnePass_data();
    void decodeOneTileIsOnePass();
    void encodeMatchesDiffusersLoop_data();
    void encodeMatchesDiffusersLoop();
    void encodeNearOnePass_data();
    void encodeNearOnePass();
    void encodeOneTileIsOnePass_data();
    void encodeOneTileIsOnePass();
    void modelDecodeHonoursTiling_data();
    void modelDecodeHonoursTiling();

private:
    void fixtureColumn();
    pipeline::DiffusionModel& model(const QString& fixture) { return *m_models.at(fixture); }
    const AutoencoderKLImpl& vae(const QString& fixture);
    at::Tensor latents(const QString& fixture, int64_t h, int64_t w, uint64_t seed);
    std::map<QString, std::unique_ptr<pipeline::DiffusionModel>> m_models;
};

void TestVaeTiling::initTestCase() {
    for (const char* fixture : kFixtures) {
        const QString name = QLatin1String(fixture);
        auto loaded = pipeline::loadModel(test::dataPath(name + QStringLiteral("/pipeline")),
                                          test::float32Device(false));
        QVERIFY2(loaded, qPrintable(loaded.error()));
        m_models[name] = std::move(*loaded);
    }
}

void TestVaeTiling::fixtureColumn() {
    QTest::addColumn<QString>("fixture");
}

const AutoencoderKLImpl& TestVaeTiling::vae(const QString& fixture) {
    for (const pipeline::ModelComponentRef& c : model(fixture).components())
        if (c.name == QLatin1String("vae"))
            if (const auto* vae = dynamic_cast<const AutoencoderKLImpl*>(c.module))
                return *vae;
    qFatal("%s has no AutoencoderKL component", qPrintable(fixture));
}

// Pipeline-space latents (what the denoiser ends with: about unit variance) of a h x w latent image.
at::Tensor TestVaeTiling::latents(const QString& fixture, int64_t h, int64_t w, uint64_t seed) {
    at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
    return at::randn({1, vae(fixture).config().latentChannels, h, w}, g,
                     at::TensorOptions().dtype(at::kFloat));
}

void TestVaeTiling::geometry() {
    const AutoencoderKLImpl& sd15 = vae(QStringLiteral("sd15-tiny"));
    QCOMPARE(sd15.config().sampleSize, int64_t(128)); // too small for a tile: 512 px
    auto g = sd15.geometry(VaeTiling{});
    QCOMPARE(g.sampleTile, int64_t(512));
    QCOMPARE(g.latentTile, int64_t(64));
    QCOMPARE(g.latentStride, int64_t(48));
    g = sd15.geometry(VaeTiling{96, 0.25});
    QCOMPARE(g.latentTile, int64_t(12));
    QCOMPARE(g.latentStride, int64_t(9));
    g = sd15.geometry(VaeTiling{80, 0.5});
    QCOMPARE(g.latentTile, int64_t(10));
    QCOMPARE(g.latentStride, int64_t(5));

    nn::AutoencoderKLConfig big = sd15.config();
    big.sampleSize = 1024; // SDXL, SD 3, Flux: diffusers' tile is sample_size
    QCOMPARE(big.defaultTileSize(), int64_t(1024));
    big.sampleSize = 0;
    QCOMPARE(big.defaultTileSize(), int64_t(512));

    QVERIFY_EXCEPTION_THROWN(sd15.geometry(VaeTiling{60, 0.25}), c10::Error); // not a multiple of 8
    QVERIFY_EXCEPTION_THROWN(sd15.geometry(VaeTiling{64, 1.0}), c10::Error);
    QVERIFY_EXCEPTION_THROWN(sd15.geometry(VaeTiling{64, -0.1}), c10::Error);
}

void TestVaeTiling::decodeMatchesDiffusersLoop_data() {
    fixtureColumn();
    QTest::addColumn<int>("tile");
    QTest::addColumn<int>("h");
    QTest::addColumn<int>("w");
    for (const char* f : kFixtures) {
        // 3 x 4 tiles of 8 latents every 6; the last row and column are 1 and 4 latents wide.
        QTest::addRow("%s 64px 13x22", f) << QString::fromLatin1(f) << 64 << 13 << 22;
        // 2 x 1 tiles of 12 every 9: a tall non-square image, the last row 7 latents.
        QTest::addRow("%s 96px 16x12", f) << QString::fromLatin1(f) << 96 << 16 << 12;
    }
}

void TestVaeTiling::decodeMatchesDiffusersLoop() {
    QFETCH(QString, fixture);
    QFETCH(int, tile);
    QFETCH(int, h);
    QFETCH(int, w);
    c10::InferenceMode guard;
    const AutoencoderKLImpl& v = vae(fixture);
    const at::Tensor z = latents(fixture, h, w, 7) / v.config().scalingFactor;
    const at::Tensor tiled = v.decodeTiled(z, VaeTiling{tile, 0.25});
    const at::Tensor port = portTiledDecode(v, z, tile);
    QCOMPARE(tiled.sizes().vec(), (std::vector<int64_t>{1, 3, h * 8, w * 8}));
    QCOMPARE(port.sizes().vec(), tiled.sizes().vec());
    const double error = maxAbsDiff(tiled, port);
    qInfo("%s: tiled vs diffusers' loop: max |diff| %.3g", qPrintable(fixture), error);
    QVERIFY2(error <= kPortTolerance, qPrintable(QString::number(error)));
}

void TestVaeTiling::decodeNearOnePass_data() {
    fixtureColumn();
    QTest::addColumn<int>("tile");
    QTest::addColumn<int>("h");
    QTest::addColumn<int>("w");
    QTest::addColumn<double>("tolerance"); // on mean |tiled - one pass| / mean |one pass|
    for (const char* f : kFixtures) {
        const QString name = QString::fromLatin1(f);
        // Pipeline latents of pure noise (statistics alike everywhere).
        QTest::addRow("%s noise 64px 13x22", f) << name << 64 << 13 << 22 << kDecodeNoise64;
        QTest::addRow("%s noise 96px 16x12", f) << name << 96 << 16 << 12 << kDecodeNoise96;
        QTest::addRow("%s noise 256px 48x40", f) << name << 256 << 48 << 40 << kDecodeNoise256;
    }
}

void TestVaeTiling::decodeNearOnePass() {
    QFETCH(QString, fixture);
    QFETCH(int, tile);
    QFETCH(int, h);
    QFETCH(int, w);
    QFETCH(double, tolerance);
    c10::InferenceMode guard;
    const AutoencoderKLImpl& v = vae(fixture);
    const at::Tensor z = latents(fixture, h, w, 11) / v.config().scalingFactor;
    const at::Tensor onePass = v.decode(z);
    const at::Tensor tiled = v.decodeTiled(z, VaeTiling{tile, 0.25});
    QCOMPARE(tiled.sizes().vec(), onePass.sizes().vec());
    const double relative = meanAbsDiff(tiled, onePass) / onePass.abs().mean().item<double>();
    const int64_t corner = tile / 4; // the first tile's top-left quarter, far from every seam
    qInfo("%s: tiled vs one pass: mean |diff| %.3g of mean |output|; max |diff| %.3g (output |max| %.3g), "
          "%.3g in the first tile's corner",
          QTest::currentDataTag(), relative, maxAbsDiff(tiled, onePass), onePass.abs().max().item<double>(),
          maxAbsDiff(tiled.slice(2, 0, corner).slice(3, 0, corner),
                     onePass.slice(2, 0, corner).slice(3, 0, corner)));
    QVERIFY2(relative <= tolerance, qPrintable(QString::number(relative)));
}

void TestVaeTiling::decodeOneTileIsOnePass_data() {
    fixtureColumn();
    for (const char* f : kFixtures)
        QTest::newRow(f) << QString::fromLatin1(f);
}

void TestVaeTiling::decodeOneTileIsOnePass() {
    QFETCH(QString, fixture);
    c10::InferenceMode guard;
    const AutoencoderKLImpl& v = vae(fixture);
    const at::Tensor lat = latents(fixture, 12, 20, 3);
    const at::Tensor onePass = v.decodeScaled(lat);
    // A tile as large as the latents' long side (diffusers tiles only beyond it), and a larger one.
    for (const int tile : {160, 512}) {
        const at::Tensor tiled = v.decodeScaledTiled(lat, VaeTiling{tile, 0.25});
        QVERIFY2(at::equal(tiled, onePass), qPrintable(QStringLiteral("tile %1").arg(tile)));
    }
    // One latent more than the tile: tiled, and not the same.
    QVERIFY(!at::equal(v.decodeScaledTiled(lat, VaeTiling{152, 0.25}), onePass));
}

void TestVaeTiling::encodeMatchesDiffusersLoop_data() {
    fixtureColumn();
    QTest::addColumn<int>("tile");
    QTest::addColumn<int>("h");
    QTest::addColumn<int>("w");
    for (const char* f : kFixtures) {
        // Tiles of 64 px every 48: 3 x 4, the last row 8 px, the last column 32 px.
        QTest::addRow("%s 64px 104x176", f) << QString::fromLatin1(f) << 64 << 104 << 176;
        QTest::addRow("%s 96px 128x96", f) << QString::fromLatin1(f) << 96 << 128 << 96;
    }
}

void TestVaeTiling::encodeMatchesDiffusersLoop() {
    QFETCH(QString, fixture);
    QFETCH(int, tile);
    QFETCH(int, h);
    QFETCH(int, w);
    c10::InferenceMode guard;
    const AutoencoderKLImpl& v = vae(fixture);
    const at::Tensor image = testImage(h, w);
    const nn::LatentDistribution tiled = v.encodeTiled(image, VaeTiling{tile, 0.25});
    const nn::LatentDistribution port =
        nn::LatentDistribution::fromMoments(portTiledEncodeMoments(v, image, tile));
    QCOMPARE(tiled.mean.sizes().vec(), (std::vector<int64_t>{1, v.config().latentChannels, h / 8, w / 8}));
    QCOMPARE(port.mean.sizes().vec(), tiled.mean.sizes().vec());
    const double error = std::max(maxAbsDiff(tiled.mean, port.mean), maxAbsDiff(tiled.std, port.std));
    qInfo("%s: tiled vs diffusers' loop: max |diff| %.3g", qPrintable(fixture), error);
    QVERIFY2(error <= kPortTolerance, qPrintable(QString::number(error)));
}

void TestVaeTiling::encodeNearOnePass_data() {
    fixtureColumn();
    QTest::addColumn<int>("tile");
    QTest::addColumn<int>("h");
    QTest::addColumn<int>("w");
    QTest::addColumn<double>("tolerance"); // on mean |tiled - one pass| / mean |one pass|, mean and std
    for (const char* f : kFixtures) {
        const QString name = QString::fromLatin1(f);
        QTest::addRow("%s 64px 104x176", f) << name << 64 << 104 << 176 << kEncode64;
        QTest::addRow("%s 96px 128x96", f) << name << 96 << 128 << 96 << kEncode96;
        QTest::addRow("%s 256px 384x320", f) << name << 256 << 384 << 320 << kEncode256;
    }
}

void TestVaeTiling::encodeNearOnePass() {
    QFETCH(QString, fixture);
    QFETCH(int, tile);
    QFETCH(int, h);
    QFETCH(int, w);
    QFETCH(double, tolerance);
    c10::InferenceMode guard;
    const AutoencoderKLImpl& v = vae(fixture);
    const at::Tensor image = testImage(h, w);
    const nn::LatentDistribution onePass = v.encode(image);
    const nn::LatentDistribution tiled = v.encodeTiled(image, VaeTiling{tile, 0.25});
    QCOMPARE(tiled.mean.sizes().vec(), onePass.mean.sizes().vec());
    const double mean = meanAbsDiff(tiled.mean, onePass.mean) / onePass.mean.abs().mean().item<double>();
    const double std = meanAbsDiff(tiled.std, onePass.std) / onePass.std.abs().mean().item<double>();
    qInfo("%s: tiled vs one pass: mean |diff| %.3g of mean |output| (mean), %.3g (std); max |diff| %.3g "
          "(mean, |max| %.3g)",
          QTest::currentDataTag(), mean, std, maxAbsDiff(tiled.mean, onePass.mean),
          onePass.mean.abs().max().item<double>());
    QVERIFY2(mean <= tolerance, qPrintable(QString::number(mean)));
    QVERIFY2(std <= tolerance, qPrintable(QString::number(std)));
}

void TestVaeTiling::encodeOneTileIsOnePass_data() {
    decodeOneTileIsOnePass_data();
}

void TestVaeTiling::encodeOneTileIsOnePass() {
    QFETCH(QString, fixture);
    c10::InferenceMode guard;
    const AutoencoderKLImpl& v = vae(fixture);
    const at::Tensor image = testImage(96, 160);
    const nn::LatentDistribution onePass = v.encode(image);
    for (const int tile : {160, 512}) {
        const nn::LatentDistribution tiled = v.encodeTiled(image, VaeTiling{tile, 0.25});
        QVERIFY(at::equal(tiled.mean, onePass.mean));
        QVERIFY(at::equal(tiled.std, onePass.std));
    }
    QVERIFY(!at::equal(v.encodeTiled(image, VaeTiling{152, 0.25}).mean, onePass.mean));
}

void TestVaeTiling::modelDecodeHonoursTiling_data() {
    decodeOneTileIsOnePass_data();
}

// Every family's decode() goes through DiffusionModel::setVaeTiling().
void TestVaeTiling::modelDecodeHonoursTiling() {
    QFETCH(QString, fixture);
    c10::InferenceMode guard;
    pipeline::DiffusionModel& m = model(fixture);
    const AutoencoderKLImpl& v = vae(fixture);
    const at::Tensor lat = latents(fixture, 13, 22, 5);

    m.setVaeTiling(std::nullopt);
    const at::Tensor onePass = m.decode(lat);
    QVERIFY(at::equal(onePass, v.decodeScaled(lat)));

    const VaeTiling tiling{64, 0.25};
    m.setVaeTiling(tiling);
    QVERIFY(m.vaeTiling() && *m.vaeTiling() == tiling);
    const at::Tensor tiled = m.decode(lat);
    QVERIFY(at::equal(tiled, v.decodeScaledTiled(lat, tiling)));
    QVERIFY(!at::equal(tiled, onePass));

    m.setVaeTiling(VaeTiling{}); // the default tile (512 px) covers these 104 x 176 px: one pass
    QVERIFY(at::equal(m.decode(lat), onePass));
    m.setVaeTiling(std::nullopt);
    QVERIFY(at::equal(m.decode(lat), onePass));
}

QTEST_GUILESS_MAIN(TestVaeTiling)
#include "tst_vae_tiling.moc"
