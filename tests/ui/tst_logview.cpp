// The log view shows tp::log::Buffer's lines, filtered by level and text, coloured by level,
// following new lines (also those logged from other threads), and copies what it shows.
#include "core/common/Log.h"
#include "tests/ui/UiTestUtil.h"
#include "ui/LogView.h"

#include <QApplication>
#include <QClipboard>
#include <QListView>
#include <QScrollBar>
#include <QThread>
#include <QtTest>

using namespace tp;

namespace {

void append(int level, const QString& text) {
    log::Line line;
    line.msecsSinceEpoch = QDateTime::currentMSecsSinceEpoch();
    line.level = level;
    line.text = text;
    log::Buffer::instance().append(line);
}

} // namespace

class TestLogView final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void showsBufferAndNewLines() {
        append(spdlog::level::info, QStringLiteral("before the view: model loaded"));
        ui::LogView view;
        QVERIFY(view.visibleText().contains(QStringLiteral("before the view: model loaded")));
        const int before = view.visibleLineCount();
        append(spdlog::level::warn, QStringLiteral("VRAM is short: 300 MiB free"));
        QCOMPARE(view.visibleLineCount(), before + 1);

        // From another thread the line arrives through the event loop.
        QThread* t =
            QThread::create([] { append(spdlog::level::err, QStringLiteral("from the engine thread")); });
        t->start();
        QVERIFY(t->wait(5000));
        delete t;
        QTRY_VERIFY(view.visibleText().contains(QStringLiteral("from the engine thread")));
    }

    void filtersByLevelAndText() {
        ui::LogView view;
        view.clear();
        append(spdlog::level::debug, QStringLiteral("debug: tensor shapes"));
        append(spdlog::level::info, QStringLiteral("info: generation done"));
        append(spdlog::level::warn, QStringLiteral("warn: Ollama is slow"));
        append(spdlog::level::err, QStringLiteral("error: out of memory"));
        QCOMPARE(view.minimumLevel(), int(spdlog::level::info));
        QCOMPARE(view.visibleLineCount(), 3);
        view.setMinimumLevel(spdlog::level::debug);
        QCOMPARE(view.visibleLineCount(), 4);
        view.setMinimumLevel(spdlog::level::warn);
        QCOMPARE(view.visibleLineCount(), 2);
        view.setMinimumLevel(spdlog::level::err);
        QCOMPARE(view.visibleLineCount(), 1);
        view.setMinimumLevel(spdlog::level::debug);
        view.setFilterText(QStringLiteral("OLLAMA"));
        QCOMPARE(view.visibleLineCount(), 1);
        QVERIFY(view.visibleText().contains(QStringLiteral("warn: Ollama is slow")));
        view.setFilterText(QString());
        QCOMPARE(view.visibleLineCount(), 4);
    }

    void coloursByLevel() {
        ui::LogView view;
        view.clear();
        view.setMinimumLevel(spdlog::level::debug);
        append(spdlog::level::info, QStringLiteral("plain"));
        append(spdlog::level::warn, QStringLiteral("careful"));
        append(spdlog::level::err, QStringLiteral("broken"));
        auto* list = view.findChild<QListView*>();
        const QVariant info = list->model()->index(0, 0).data(Qt::ForegroundRole);
        const QColor warn = list->model()->index(1, 0).data(Qt::ForegroundRole).value<QColor>();
        const QColor error = list->model()->index(2, 0).data(Qt::ForegroundRole).value<QColor>();
        QVERIFY(!info.isValid()); // the palette's text colour
        QVERIFY(warn.isValid() && error.isValid() && warn != error);
        QVERIFY(error.red() > 150 && error.green() < 80);
    }

    void copiesWhatItShows() {
        ui::LogView view;
        view.clear();
        append(spdlog::level::info, QStringLiteral("line one"));
        append(spdlog::level::info, QStringLiteral("line two"));
        view.copy();
        const QString copied = QApplication::clipboard()->text();
        QCOMPARE(copied.count(QLatin1Char('\n')), 1);
        QVERIFY(copied.contains(QStringLiteral("line one")) && copied.contains(QStringLiteral("line two")));
        auto* list = view.findChild<QListView*>();
        list->setCurrentIndex(list->model()->index(1, 0));
        view.copy();
        QVERIFY(QApplication::clipboard()->text().endsWith(QStringLiteral("line two")));
        QVERIFY(!QApplication::clipboard()->text().contains(QStringLiteral("line one")));
    }

    void followsNewLinesUnlessTurnedOff() {
        ui::LogView view;
        view.resize(500, 200);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        auto* list = view.findChild<QListView*>();
        for (int i = 0; i < 200; ++i)
            append(spdlog::level::info, QStringLiteral("line %1").arg(i));
        QCoreApplication::processEvents();
        QScrollBar* bar = list->verticalScrollBar();
        QTRY_COMPARE(bar->value(), bar->maximum());
        view.setAutoScroll(false);
        bar->setValue(0);
        append(spdlog::level::info, QStringLiteral("one more"));
        QCoreApplication::processEvents();
        QCOMPARE(bar->value(), 0);
    }
};

QTEST_MAIN(TestLogView)
#include "tst_logview.moc"
