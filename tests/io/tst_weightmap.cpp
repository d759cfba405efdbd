// WeightMap: entries with transforms, on small tensors written to a safetensors file.
#include "core/io/WeightMap.h"

#include <ATen/ATen.h>

#include <QTemporaryDir>
#include <QtTest>

using namespace tp::io;

namespace {

double maxAbs(const at::Tensor& a, const at::Tensor& b) {
    if (a.sizes() != b.sizes())
        return std::numeric_limits<double>::infinity();
    return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

} // namespace

class TestWeightMap final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::optional<SafeTensorsArchive> m_archive;
    at::Tensor m_qkv, m_bias, m_proj, m_conv, m_ada;

private Q_SLOTS:
    void initTestCase() {
        QVERIFY(m_dir.isValid());
        m_qkv = at::arange(6 * 4, at::kFloat).reshape({6, 4});  // fused [q; k; v], two rows each
        m_bias = at::arange(6, at::kFloat) * 10;                // fused bias
        m_proj = at::arange(3 * 5, at::kFloat).reshape({3, 5}); // stored [in, out]
        m_conv = at::arange(4, at::kFloat).reshape({2, 2, 1, 1});
        m_ada = at::arange(8, at::kFloat).reshape({4, 2}); // [shift; scale]
        const QString path = m_dir.filePath(QStringLiteral("w.safetensors"));
        const tp::Status s = writeSafeTensors(path, {{QStringLiteral("model.qkv.weight"), m_qkv},
                                                     {QStringLiteral("model.qkv.bias"), m_bias},
                                                     {QStringLiteral("model.proj"), m_proj},
                                                     {QStringLiteral("model.conv.weight"), m_conv},
                                                     {QStringLiteral("model.ada.weight"), m_ada},
                                                     {QStringLiteral("other.weight"), at::ones({2})}});
        QVERIFY2(s, qPrintable(s.error()));
        auto archive = SafeTensorsArchive::open(path);
        QVERIFY2(archive, qPrintable(archive.error()));
        m_archive = std::move(*archive);
    }

    void identityStripsThePrefix() {
        const WeightMap map = WeightMap::identity(*m_archive, QStringLiteral("model."));
        QCOMPARE(map.names(), (QStringList{QStringLiteral("ada.weight"), QStringLiteral("conv.weight"),
                                           QStringLiteral("proj"), QStringLiteral("qkv.bias"),
                                           QStringLiteral("qkv.weight")}));
        QVERIFY(!map.contains(QStringLiteral("other.weight")));
        QCOMPARE(map.describe(QStringLiteral("qkv.weight")), QStringLiteral("model.qkv.weight"));
        QCOMPARE(map.describe(QStringLiteral("absent")),
                 QStringLiteral("model.absent")); // as the file would spell it
        QCOMPARE(map.fileNames(), QStringLiteral("w.safetensors"));
        const auto t = map.load(QStringLiteral("qkv.weight"), at::kCPU, at::kFloat);
        QVERIFY2(t, qPrintable(t.error()));
        QCOMPARE(maxAbs(*t, m_qkv), 0.0);
        // No ops, the file's dtype, the CPU: a view of the mapping, as SafeTensorsArchive::load.
        QCOMPARE(t->data_ptr(), m_archive->view(QStringLiteral("model.qkv.weight"))->data_ptr());
    }

    void sliceOfAFusedTensor() {
        WeightMap map;
        map.addArchive(*m_archive);
        for (int i = 0; i < 3; ++i) {
            const QString n = QStringLiteral("p%1").arg(i);
            map.set(n + QStringLiteral(".weight"),
                    {0, QStringLiteral("model.qkv.weight"), {WeightOp::slice(2 * i, 2)}});
            map.set(n + QStringLiteral(".bias"),
                    {0, QStringLiteral("model.qkv.bias"), {WeightOp::slice(2 * i, 2)}});
        }
        for (int i = 0; i < 3; ++i) {
            const QString n = QStringLiteral("p%1").arg(i);
            const auto info = map.info(n + QStringLiteral(".weight"));
            QVERIFY2(info, qPrintable(info.error()));
            QCOMPARE(info->shape, (std::vector<qint64>{2, 4}));
            QCOMPARE(info->dtype, DType::F32);
            const auto w = map.load(n + QStringLiteral(".weight"), at::kCPU, at::kFloat);
            QVERIFY2(w, qPrintable(w.error()));
            QCOMPARE(maxAbs(*w, m_qkv.narrow(0, 2 * i, 2)), 0.0);
            QVERIFY(w->is_contiguous());
            const auto b = map.load(n + QStringLiteral(".bias"), at::kCPU, at::kDouble);
            QVERIFY2(b, qPrintable(b.error()));
            QCOMPARE(b->scalar_type(), at::kDouble);
            QCOMPARE(maxAbs(*b, m_bias.narrow(0, 2 * i, 2)), 0.0);
        }
        QCOMPARE(map.describe(QStringLiteral("p1.weight")), QStringLiteral("model.qkv.weight[2:4]"));
        // A slice of rows of a contiguous tensor stays a view of the file.
        const auto k = map.load(QStringLiteral("p1.weight"), at::kCPU, at::kFloat);
        QCOMPARE(static_cast<const char*>(k->data_ptr()),
                 static_cast<const char*>(m_archive->view(QStringLiteral("model.qkv.weight"))->data_ptr()) +
                     2 * 4 * sizeof(float));
    }

    void transposeSwapAndReshape() {
        WeightMap map;
        map.addArchive(*m_archive);
        map.set(QStringLiteral("proj.weight"), {0, QStringLiteral("model.proj"), {WeightOp::transpose()}});
        map.set(QStringLiteral("ada.weight"),
                {0, QStringLiteral("model.ada.weight"), {WeightOp::swapHalves()}});
        map.set(QStringLiteral("to_q.weight"),
                {0, QStringLiteral("model.conv.weight"), {WeightOp::reshape({2, 2})}});

        auto info = map.info(QStringLiteral("proj.weight"));
        QVERIFY2(info, qPrintable(info.error()));
        QCOMPARE(info->shape, (std::vector<qint64>{5, 3}));
        auto t = map.load(QStringLiteral("proj.weight"), at::kCPU, at::kFloat);
        QVERIFY2(t, qPrintable(t.error()));
        QVERIFY(t->is_contiguous());
        QCOMPARE(maxAbs(*t, m_proj.t()), 0.0);

        t = map.load(QStringLiteral("ada.weight"), at::kCPU, at::kFloat);
        QVERIFY2(t, qPrintable(t.error()));
        // [shift; scale] → [scale; shift]: rows 2,3 then 0,1.
        QCOMPARE(maxAbs(*t, at::cat({m_ada.narrow(0, 2, 2), m_ada.narrow(0, 0, 2)})), 0.0);
        QCOMPARE(map.info(QStringLiteral("ada.weight"))->shape, (std::vector<qint64>{4, 2}));

        info = map.info(QStringLiteral("to_q.weight"));
        QCOMPARE(info->shape, (std::vector<qint64>{2, 2}));
        t = map.load(QStringLiteral("to_q.weight"), at::kCPU, at::kHalf);
        QCOMPARE(t->scalar_type(), at::kHalf);
        QCOMPARE(maxAbs(*t, m_conv.reshape({2, 2})), 0.0);

        // Ops chain in order: a slice of a transposed matrix.
        map.set(QStringLiteral("chain"),
                {0, QStringLiteral("model.proj"), {WeightOp::transpose(), WeightOp::slice(1, 3)}});
        t = map.load(QStringLiteral("chain"), at::kCPU, at::kFloat);
        QVERIFY2(t, qPrintable(t.error()));
        QCOMPARE(maxAbs(*t, m_proj.t().narrow(0, 1, 3)), 0.0);
    }

    // A tensor the file lacks, made by the loader (SD 3's CLIP-L projection).
    void identityFromNothing() {
        WeightMap map;
        map.addArchive(*m_archive);
        map.set(QStringLiteral("text_projection.weight"), {0, QString(), {WeightOp::identity(3)}});
        const auto info = map.info(QStringLiteral("text_projection.weight"));
        QVERIFY2(info, qPrintable(info.error()));
        QCOMPARE(info->shape, (std::vector<qint64>{3, 3}));
        QCOMPARE(info->dtype, DType::F32);
        const auto t = map.load(QStringLiteral("text_projection.weight"), at::kCPU, at::kHalf);
        QVERIFY2(t, qPrintable(t.error()));
        QCOMPARE(t->scalar_type(), at::kHalf);
        QCOMPARE(maxAbs(*t, at::eye(3)), 0.0);
        QCOMPARE(map.describe(QStringLiteral("text_projection.weight")), QStringLiteral("identity(3)"));
    }

    void opsThatDoNotFitFailWithAReason() {
        WeightMap map;
        map.addArchive(*m_archive);
        map.set(QStringLiteral("a"), {0, QStringLiteral("model.qkv.bias"), {WeightOp::slice(4, 4)}});
        map.set(QStringLiteral("b"), {0, QStringLiteral("model.qkv.bias"), {WeightOp::transpose()}});
        map.set(QStringLiteral("c"), {0, QStringLiteral("model.proj"), {WeightOp::swapHalves()}});
        map.set(QStringLiteral("d"), {0, QStringLiteral("model.proj"), {WeightOp::reshape({4, 4})}});
        map.set(QStringLiteral("e"), {0, QStringLiteral("model.gone"), {}});
        const std::pair<const char*, const char*> expected[] = {
            {"a", "model.qkv.bias: rows 4..8 do not fit shape [6]"},
            {"b", "model.qkv.bias: shape [6] is not a matrix to transpose"},
            {"c", "model.proj: shape [3,5] has no two equal halves to swap"},
            {"d", "model.proj: shape [3,5] cannot be seen as [4,4]"},
            {"e", "w.safetensors has no tensor model.gone"}};
        for (const auto& [name, message] : expected) {
            const auto info = map.info(QLatin1String(name));
            QVERIFY(!info);
            QVERIFY2(info.error().endsWith(QLatin1String(message)), qPrintable(info.error()));
            const auto t = map.load(QLatin1String(name), at::kCPU, at::kFloat);
            QVERIFY(!t);
            QVERIFY2(t.error().endsWith(QLatin1String(message)), qPrintable(t.error()));
        }
        QVERIFY(!map.info(QStringLiteral("nothing")));
    }

    void severalArchives() {
        const QString path = m_dir.filePath(QStringLiteral("second.safetensors"));
        QVERIFY(writeSafeTensors(path, {{QStringLiteral("x"), at::full({3}, 7.0)}}));
        auto second = SafeTensorsArchive::open(path);
        QVERIFY(second);
        WeightMap map;
        map.addArchive(*m_archive);
        const int index = map.addArchive(*second);
        QCOMPARE(index, 1);
        map.set(QStringLiteral("from_first"), {0, QStringLiteral("other.weight"), {}});
        map.set(QStringLiteral("from_second"), {1, QStringLiteral("x"), {}});
        QCOMPARE(maxAbs(*map.load(QStringLiteral("from_second"), at::kCPU, at::kFloat), at::full({3}, 7.0)),
                 0.0);
        QCOMPARE(maxAbs(*map.load(QStringLiteral("from_first"), at::kCPU, at::kFloat), at::ones({2})), 0.0);
        QCOMPARE(map.fileNames(), QStringLiteral("w.safetensors, second.safetensors"));
    }
};

QTEST_GUILESS_MAIN(TestWeightMap)
#include "tst_weightmap.moc"
