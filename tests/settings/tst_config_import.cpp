// Import of the Python original's config.py (tests/data/original/config.py: the original's
// layout, with its IMAGE_MODELS dict of dicts and refiner placeholders), the dry run, and a file
// that is no readable Python.
#include "core/settings/ConfigImport.h"
#include "core/settings/PythonLiterals.h"
#include "core/settings/Settings.h"
#include "tests/io/FakeModels.h"
#include "tests/support/TestUtil.h"

#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace tp;

namespace {
QString originalConfig() {
    return test::dataPath(QStringLiteral("original/config.py"));
}
QByteArray fileBytes(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}
} // namespace

class TestConfigImport final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_cache;

private Q_SLOTS:
    void initTestCase() {
        m_cache = m_dir.filePath(QStringLiteral("hub"));
        // Two of the original's three models are in the cache (as usable folders); the one it marks
        // "default": True must win over the one before it in the file.
        int n = 0;
        for (const char* repo :
             {"stabilityai/stable-diffusion-xl-base-1.0", "stabilityai/stable-diffusion-3.5-large"}) {
            const QString source = m_dir.filePath(QStringLiteral("s/model%1").arg(++n));
            QVERIFY(test::makeFakeModel(source, test::FakeFamily::SD1));
            QVERIFY(!test::addToFakeHfCache(m_cache, QString::fromLatin1(repo), source,
                                            QStringLiteral("39593d5650112b4cc580433f6b0435385882d819"))
                         .isEmpty());
        }
    }

    void literals() {
        const PythonLiterals py = parsePythonLiterals(QStringLiteral(
            "A = 'x' \"y\"  # joined\nB = (1, -2.5, None, True)\nC = {'k': [1, (2,)], \"d\": {'e': 'f'}}\n"
            "D = (3)\nE = 1 + 2\nF = f'{A}'\nG = '''two\nlines'''\nprint(A)\n"));
        QVERIFY2(py.error.isEmpty(), qPrintable(py.error));
        QCOMPARE(py.assignments.size(), 5);
        QCOMPARE(py.assignments[0].value.toString(), QStringLiteral("xy"));
        const QVariantList b = py.assignments[1].value.toList();
        QCOMPARE(b.size(), 4);
        QCOMPARE(b[1].toDouble(), -2.5);
        QVERIFY(!b[2].isValid());
        QCOMPARE(b[3].toBool(), true);
        const QVariantMap c = py.assignments[2].value.toMap();
        QCOMPARE(c.value(QStringLiteral("k")).toList().at(1).toList().size(), 1);
        QCOMPARE(c.value(QStringLiteral("d")).toMap().value(QStringLiteral("e")).toString(),
                 QStringLiteral("f"));
        QCOMPARE(py.assignments[3].value.toLongLong(), 3); // (3) is not a tuple
        QCOMPARE(py.assignments[4].value.toString(), QStringLiteral("two\nlines"));
        QCOMPARE(py.skipped.size(), 3); // E (arithmetic), F (f-string), print(...)
    }

    // tests/data/original/config.py has the original's layout: IMAGE_MODELS as a dict of dicts
    // (model_id, default, optimal_steps, optimal_guidance), DEFAULT_IMAGE_PARAMS with diffusers'
    // names, RESOLUTIONS as a dict, and the refiner's {target_keywords}/{distorted_prompt}.
    void mapsEveryKnownName() {
        Settings settings(m_dir.filePath(QStringLiteral("map.conf")));
        const Result<ConfigImportReport> r = readOriginalConfig(originalConfig(), settings, m_cache);
        QVERIFY2(r, qPrintable(r.error()));
        QHash<QString, QVariant> v;
        for (const ConfigImportItem& item : r->mapped)
            v.insert(item.key, item.value);
        QCOMPARE(v.value(keys::CleanupAfterGeneration).toBool(), true);
        QCOMPARE(v.value(keys::UnloadAfterGeneration).toBool(), true);
        QVERIFY(v.value(keys::OutputDirectory).toString().endsWith(QStringLiteral("/original/outputs")));
        QCOMPARE(v.value(keys::TwistedPairUrl).toString(), QStringLiteral("http://gpu-box:8001"));
        QCOMPARE(v.value(keys::TwistedPairTimeoutSec).toInt(), 90);
        QCOMPARE(v.value(keys::DistortMode).toString(), QStringLiteral("invert_er"));
        QCOMPARE(v.value(keys::DistortTone).toString(), QStringLiteral("poetic"));
        QCOMPARE(v.value(keys::DistortGain).toInt(), 7);
        QCOMPARE(v.value(keys::WrapperTemplate).toString(),
                 QStringLiteral("Digital art, highly detailed: {distorted}, 4k"));
        QCOMPARE(v.value(keys::RefinerModel).toString(), QStringLiteral("llama3.1:8b"));
        QCOMPARE(v.value(keys::RefinerKeywords).toInt(), 25);
        // The original's placeholders become ours.
        const QString tpl = v.value(keys::RefinerTemplate).toString();
        QVERIFY2(tpl.startsWith(QStringLiteral("List {count} visual keywords")), qPrintable(tpl));
        QVERIFY2(tpl.contains(QStringLiteral("Text:\n{text}\n\nVisual keywords:")), qPrintable(tpl));
        QVERIFY(!tpl.contains(QStringLiteral("{target_keywords}")) &&
                !tpl.contains(QStringLiteral("{distorted_prompt}")));
        QCOMPARE(v.value(keys::Steps).toInt(), 28);
        QCOMPARE(v.value(keys::Guidance).toDouble(), 4.5);
        QCOMPARE(v.value(keys::Width).toInt(), 1024);
        QCOMPARE(v.value(keys::Height).toInt(), 768);
        QCOMPARE(v.value(keys::SeedMode).toString(), QStringLiteral("fixed"));
        QCOMPARE(v.value(keys::Seed).toLongLong(), 1234);
        // In the file's order, not sorted.
        QCOMPARE(v.value(keys::SizePresets).toStringList(),
                 (QStringList{QStringLiteral("512x384"), QStringLiteral("1024x768"),
                              QStringLiteral("768x1024"), QStringLiteral("1024x1024"),
                              QStringLiteral("1344x768"), QStringLiteral("768x1344")}));
        // Its three models: the per-model defaults of all three, the one marked default.
        QCOMPARE(
            v.value(keys::PerModelDefaults).toStringList(),
            (QStringList{QStringLiteral("black-forest-labs/FLUX.1-dev steps=25 guidance=3.5"),
                         QStringLiteral("stabilityai/stable-diffusion-3.5-large steps=28 guidance=4.5"),
                         QStringLiteral("stabilityai/stable-diffusion-xl-base-1.0 steps=30 guidance=7.5")}));
        QCOMPARE(v.value(keys::DefaultModel).toString(),
                 QStringLiteral("stabilityai/stable-diffusion-3.5-large"));
        const QString ignored = r->ignored.join(QLatin1Char('\n'));
        QVERIFY2(ignored.contains(QStringLiteral("os.makedirs")), qPrintable(ignored));
        QVERIFY2(ignored.contains(
                     QStringLiteral("IMAGE_MODELS['flux_dev'] 'black-forest-labs/FLUX.1-dev': not in the "
                                    "Hugging Face cache")),
                 qPrintable(ignored));
        QVERIFY(ignored.contains(QStringLiteral("FLASK_HOST")));
        QVERIFY(ignored.contains(QStringLiteral("STYLE_CFG_RANGE")));
        QVERIFY(ignored.contains(QStringLiteral("DISTORTION_MODES")));
        // Applied: all of it at once, into the file.
        QVERIFY(applyConfigImport(*r, settings).isOk());
        Settings reread(m_dir.filePath(QStringLiteral("map.conf")));
        QCOMPARE(reread.value(keys::Steps).toInt(), 28);
        QCOMPARE(reread.unloadAfterGeneration(), true);
        QCOMPARE(reread.value(keys::PerModelDefaults).toStringList().size(), 3);
        QCOMPARE(reread.value(keys::RefinerTemplate).toString(), tpl);
    }

    void dryRunChangesNothing() {
        const QString conf = m_dir.filePath(QStringLiteral("dry.conf"));
        {
            Settings s(conf);
            QVERIFY(s.set(keys::Steps, 33));
        }
        const QByteArray before = fileBytes(conf);
        const test::ProcessResult r =
            test::runProcess(test::binaryPath(QStringLiteral("app/twistedpic-cli")),
                             {QStringLiteral("--config"), conf, QStringLiteral("import-config"),
                              originalConfig(), QStringLiteral("--dry-run")},
                             {QStringLiteral("HF_HUB_CACHE=") + m_cache,
                              QStringLiteral("XDG_STATE_HOME=") + m_dir.filePath(QStringLiteral("state"))});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains(QStringLiteral("generation/steps = 28")));
        QVERIFY(r.out.contains(QStringLiteral("Dry run: nothing was changed.")));
        QCOMPARE(fileBytes(conf), before);
        const test::ProcessResult applied = test::runProcess(
            test::binaryPath(QStringLiteral("app/twistedpic-cli")),
            {QStringLiteral("--config"), conf, QStringLiteral("import-config"), originalConfig()},
            {QStringLiteral("HF_HUB_CACHE=") + m_cache,
             QStringLiteral("XDG_STATE_HOME=") + m_dir.filePath(QStringLiteral("state"))});
        QCOMPARE(applied.exitCode, 0);
        QCOMPARE(Settings(conf).value(keys::Steps).toInt(), 28);
    }

    void unreadablePythonChangesNothing() {
        const QString bad = m_dir.filePath(QStringLiteral("bad.py"));
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("GPU_MEMORY_CLEANUP = False\nREFINER_PROMPT_TEMPLATE = \"\"\"never closed\nSTEPS = 3\n");
        f.close();
        const QString conf = m_dir.filePath(QStringLiteral("bad.conf"));
        const test::ProcessResult r =
            test::runProcess(test::binaryPath(QStringLiteral("app/twistedpic-cli")),
                             {QStringLiteral("--config"), conf, QStringLiteral("import-config"), bad},
                             {QStringLiteral("XDG_STATE_HOME=") + m_dir.filePath(QStringLiteral("state"))});
        QCOMPARE(r.exitCode, 1);
        QVERIFY2(r.err.contains(QStringLiteral("line 2: a string is not closed. Nothing was imported.")),
                 qPrintable(r.err));
        QVERIFY(!QFile::exists(conf));
    }
};

QTEST_GUILESS_MAIN(TestConfigImport)
#include "tst_config_import.moc"
