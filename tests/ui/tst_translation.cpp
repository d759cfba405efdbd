// Languages switch at run time (no restart), and the German and Japanese translations are
// complete and keep every placeholder and accelerator.
#include "core/settings/Settings.h"
#include "tests/ui/UiTestUtil.h"
#include "ui/MainWindow.h"
#include "ui/SettingsDialog.h"
#include "ui/Translation.h"
#include "ui/VramPanel.h"

#include <QAbstractButton>
#include <QFile>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QMenuBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QXmlStreamReader>
#include <QtTest>

using namespace tp;

namespace {

bool hasJapanese(const QString& s) {
    for (const QChar c : s) {
        const ushort u = c.unicode();
        if ((u >= 0x3040 && u <= 0x30ff) || (u >= 0x4e00 && u <= 0x9fff))
            return true;
    }
    return false;
}

QString buttonText(QWidget& w, int index) {
    return w.findChildren<QPushButton*>().at(index)->text();
}

QSet<QString> placeholders(const QString& s) {
    QSet<QString> out;
    static const QRegularExpression re(QStringLiteral("%[0-9n]"));
    auto it = re.globalMatch(s);
    while (it.hasNext())
        out.insert(it.next().captured());
    return out;
}

} // namespace

class TestTranslation final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void cleanup() { ui::installTranslation(QStringLiteral("en")); }

    void switchesLiveWithoutRestart() {
        ui::VramPanel panel;
        panel.show();
        QCOMPARE(buttonText(panel, 0), QStringLiteral("&Free GPU memory now"));
        QCOMPARE(panel.stateText(), QStringLiteral("Waiting for GPU memory figures…"));

        QCOMPARE(ui::installTranslation(QStringLiteral("ja")), QStringLiteral("ja"));
        QTRY_VERIFY(hasJapanese(buttonText(panel, 0))); // the same widget retranslated itself
        QCOMPARE(buttonText(panel, 0),
                 QCoreApplication::translate("tp::ui::VramPanel", "&Free GPU memory now"));
        QVERIFY(buttonText(panel, 0).contains(QStringLiteral("(&F)")));
        QVERIFY(hasJapanese(panel.stateText()));
        gpu::VramSample noGpu;
        noGpu.gpuAvailable = false;
        panel.addSample(noGpu);
        QVERIFY(hasJapanese(panel.stateText()));
        QVERIFY(panel.stateText().contains(QStringLiteral("NVIDIA")));

        QCOMPARE(ui::installTranslation(QStringLiteral("de")), QStringLiteral("de"));
        QTRY_COMPARE(buttonText(panel, 0), QStringLiteral("GPU-Speicher jetzt &freigeben"));
        QCOMPARE(panel.stateText(), QStringLiteral("Keine NVIDIA-GPU – Berechnung auf der CPU"));

        QCOMPARE(ui::installTranslation(QStringLiteral("en")), QStringLiteral("en"));
        QTRY_COMPARE(buttonText(panel, 0), QStringLiteral("&Free GPU memory now"));
    }

    void followsTheSetting() {
        QTemporaryDir dir;
        Settings s(dir.filePath(QStringLiteral("t.conf")));
        ui::followLanguageSetting(s);
        QCOMPARE(ui::currentLanguage(), ui::systemLanguage()); // "system" by default
        ui::MainWindow w(s);
        w.show();
        const QString fileMenu = w.menuBar()->actions().first()->text();
        QVERIFY(s.set(keys::Language, QStringLiteral("ja")));
        QCOMPARE(ui::currentLanguage(), QStringLiteral("ja"));
        QTRY_VERIFY(hasJapanese(w.menuBar()->actions().first()->text()));
        QVERIFY(w.menuBar()->actions().first()->text() != fileMenu);
        for (int i = 0; i < 3; ++i)
            QCoreApplication::processEvents(); // let the layouts take the new text widths
        tp::test::saveScreenshot(w, QStringLiteral("main-window-ja"));

        ui::SettingsDialog d(s);
        const auto pages = d.findChild<QListWidget*>();
        QVERIFY(hasJapanese(pages->item(0)->text()));
        QVERIFY(s.set(keys::Language, QStringLiteral("de")));
        QTRY_COMPARE(pages->item(0)->text(), QStringLiteral("GPU-Speicher"));
        QVERIFY(s.set(keys::Language, QStringLiteral("en")));
        QTRY_COMPARE(pages->item(0)->text(), QStringLiteral("GPU memory"));
    }

    // Alt+letter must reach one thing: menu entries and the form's labels and buttons have
    // distinct accelerators in every language.
    void acceleratorsAreUnique_data() {
        QTest::addColumn<QString>("language");
        QTest::newRow("en") << QStringLiteral("en");
        QTest::newRow("de") << QStringLiteral("de");
        QTest::newRow("ja") << QStringLiteral("ja");
    }

    void acceleratorsAreUnique() {
        QFETCH(QString, language);
        QCOMPARE(ui::installTranslation(language), language);
        QTemporaryDir dir;
        Settings s(dir.filePath(QStringLiteral("a.conf")));
        ui::MainWindow w(s);
        auto mnemonic = [](const QString& text) {
            static const QRegularExpression re(QStringLiteral("&([^&\\s])"));
            const QRegularExpressionMatch m = re.match(text);
            return m.hasMatch() ? m.captured(1).toLower() : QString();
        };
        auto checkUnique = [&](const QStringList& texts, const QString& where) {
            QHash<QString, QString> seen;
            for (const QString& t : texts) {
                const QString key = mnemonic(t);
                if (key.isEmpty())
                    continue;
                QVERIFY2(!seen.contains(key), qPrintable(QStringLiteral("%1: \"%2\" and \"%3\" share &%4")
                                                             .arg(where, seen.value(key), t, key)));
                seen.insert(key, t);
            }
        };
        QStringList bar;
        for (QAction* menuAction : w.menuBar()->actions()) {
            bar << menuAction->text();
            QStringList entries;
            for (QAction* a : menuAction->menu()->actions())
                entries << a->text();
            checkUnique(entries, menuAction->text());
        }
        checkUnique(bar, QStringLiteral("menu bar"));
        QStringList form;
        for (QLabel* l : w.form()->findChildren<QLabel*>())
            form << l->text();
        for (QAbstractButton* b : w.form()->findChildren<QAbstractButton*>())
            form << b->text();
        checkUnique(form, QStringLiteral("generation form"));
    }

    void languageNames() {
        QCOMPARE(ui::languageCodes(), (QStringList{QStringLiteral("system"), QStringLiteral("en"),
                                                   QStringLiteral("de"), QStringLiteral("ja")}));
        QCOMPARE(ui::languageName(QStringLiteral("ja")), QStringLiteral("日本語"));
        QCOMPARE(ui::languageName(QStringLiteral("de")), QStringLiteral("Deutsch"));
        QCOMPARE(ui::installTranslation(QStringLiteral("fr")), QStringLiteral("en")); // not offered: English
    }

    void translationsComplete_data() {
        QTest::addColumn<QString>("file");
        QTest::newRow("de") << QStringLiteral(TP_SOURCE_DIR "/translations/twistedpic_de.ts");
        QTest::newRow("ja") << QStringLiteral(TP_SOURCE_DIR "/translations/twistedpic_ja.ts");
    }

    void translationsComplete() {
        QFETCH(QString, file);
        QFile f(file);
        QVERIFY(f.open(QIODevice::ReadOnly));
        QXmlStreamReader xml(&f);
        int messages = 0;
        QString source, context;
        while (!xml.atEnd()) {
            xml.readNext();
            if (!xml.isStartElement())
                continue;
            if (xml.name() == QLatin1String("name")) {
                context = xml.readElementText();
            } else if (xml.name() == QLatin1String("source")) {
                source = xml.readElementText();
            } else if (xml.name() == QLatin1String("translation")) {
                const QString type = xml.attributes().value(QLatin1String("type")).toString();
                const QString where = context + QStringLiteral(": ") + source;
                QVERIFY2(type.isEmpty(), qPrintable(QStringLiteral("%1 is %2").arg(where, type)));
                const QString text = xml.readElementText();
                QVERIFY2(!text.trimmed().isEmpty(), qPrintable(where));
                QVERIFY2(placeholders(text) == placeholders(source),
                         qPrintable(where + QStringLiteral(" -> ") + text));
                const bool accel = source.contains(QRegularExpression(QStringLiteral("&[^&\\s]")));
                if (accel)
                    QVERIFY2(text.contains(QRegularExpression(QStringLiteral("&[^&\\s]"))),
                             qPrintable(where + QStringLiteral(" lost its accelerator: ") + text));
                ++messages;
            }
        }
        QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
        QVERIFY(messages > 200);
    }
};

QTEST_MAIN(TestTranslation)
#include "tst_translation.moc"
