// twistedpic-plot's CSV reader and painter.
#include "tools/plot/LossPlot.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace tp::plot;

class TestPlot final : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;

    QString writeCsv(const QString& name, const QByteArray& text) {
        const QString path = m_dir.filePath(name);
        QFile f(path);
        if (f.open(QIODevice::WriteOnly))
            f.write(text);
        return path;
    }

private Q_SLOTS:
    void readsLossColumns() {
        const QString path =
            writeCsv(QStringLiteral("a.csv"),
                     "step,loss,lr,kl_loss\n0,1.0,0.001,0.5\n10,0.5,0.001,0.25\n20,nan,0.001,0.1\n");
        const auto chart = readCsv(path);
        QVERIFY2(chart.isOk(), qPrintable(chart.error()));
        QCOMPARE(chart->xLabel, QStringLiteral("step"));
        QCOMPARE(chart->series.size(), 2);
        QCOMPARE(chart->series[0].name, QStringLiteral("loss"));
        QCOMPARE(chart->series[0].points.size(), 2); // nan skipped
        QCOMPARE(chart->series[1].points.last(), QPointF(20, 0.1));
        QVERIFY(!readCsv(path, {QStringLiteral("nope")}).isOk());
        QVERIFY(!readCsv(m_dir.filePath(QStringLiteral("missing.csv"))).isOk());
        QVERIFY(!readCsv(writeCsv(QStringLiteral("b.csv"), "step,loss\nx,1\n")).isOk());
    }

    void smoothingIsBiasCorrected() {
        const QString path = writeCsv(QStringLiteral("c.csv"), "step,loss\n0,2\n1,2\n2,2\n3,0\n");
        const auto chart = readCsv(path, {}, 4);
        QVERIFY(chart.isOk());
        const Series& s = chart->series[0];
        QCOMPARE(s.raw.size(), 4);
        QVERIFY(std::abs(s.points[0].y() - 2.0) < 1e-12); // no pull towards zero at the start
        QVERIFY(std::abs(s.points[2].y() - 2.0) < 1e-12);
        QVERIFY(s.points[3].y() > 0.5 && s.points[3].y() < 2.0);
    }

    void ticksAreNice() {
        QCOMPARE(niceTicks(0, 10, 6), (QVector<double>{0, 2, 4, 6, 8, 10}));
        QCOMPARE(niceTicks(0.13, 0.61, 5), (QVector<double>{0.2, 0.3, 0.4, 0.5, 0.6}));
    }

    void paintsTheCurve() {
        QByteArray csv = "step,loss\n";
        for (int i = 0; i <= 100; ++i)
            csv += QByteArray::number(i) + ',' + QByteArray::number(std::exp(-i / 30.0)) + '\n';
        auto chart = readCsv(writeCsv(QStringLiteral("d.csv"), csv));
        QVERIFY(chart.isOk());
        chart->title = QStringLiteral("unet");
        const QImage img = renderCharts({*chart, *chart}, 600, 300);
        QCOMPARE(img.size(), QSize(600, 600));
        // The decaying curve is drawn in the first colour: high on the left, low on the right.
        auto blueRows = [&](int x) {
            QVector<int> rows;
            for (int y = 0; y < 300; ++y) {
                const QColor c = img.pixelColor(x, y);
                if (c.blue() > 150 && c.red() < 100)
                    rows.append(y);
            }
            return rows;
        };
        const QVector<int> left = blueRows(90), right = blueRows(500);
        QVERIFY(!left.isEmpty() && !right.isEmpty());
        QVERIFY(left.first() < right.first());
    }
};

QTEST_MAIN(TestPlot)
#include "tst_plot.moc"
