// Image metadata (A1111 `parameters`), model hashes and the PNG + sidecar writer.
#include "core/engine/ImageMetadata.h"
#include "core/engine/ModelHash.h"
#include "core/engine/OutputWriter.h"
#include "core/settings/Settings.h"
#include "tests/support/TestUtil.h"

#include <QBuffer>
#include <QDir>
#include <QFile>
#include <QImageReader>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtEndian>
#include <QtTest>

#include <csignal>
#include <sys/resource.h>
#include <unistd.h>

using namespace tp::engine;

namespace {

QDateTime fixedTime() {
    return QDateTime(QDate(2026, 11, 27), QTime(14, 22, 33, 250));
}

QImage patternImage(int w, int h, int salt) {
    QImage img(w, h, QImage::Format_RGB32);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            img.setPixel(x, y, qRgb((x * 7 + salt) & 255, (y * 13 + salt * 3) & 255, (x * y + salt) & 255));
    return img;
}

// Noise does not compress: a PNG of it is about as large as its pixels.
QImage noiseImage(int w, int h) {
    QImage img(w, h, QImage::Format_RGB32);
    quint32 s = 12345;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            s = s * 1664525u + 1013904223u;
            img.setPixel(x, y, s >> 8);
        }
    return img;
}

GenerationResult sampleResult() {
    GenerationResult r;
    r.request.id = 77;
    r.request.model = QStringLiteral("sd15-tiny");
    r.request.prompt = QStringLiteral("a lighthouse, at dusk: oil painting\nsecond line");
    r.request.negativePrompt = QStringLiteral("blurry, low quality");
    r.request.sampler = QStringLiteral("dpmpp_2m_karras");
    r.request.steps = 25;
    r.request.guidance = 6.5;
    r.request.width = 64;
    r.request.height = 48;
    r.request.seed = 1234;
    r.request.count = 2;
    r.request.clipSkip = 2;
    r.request.device = QStringLiteral("cuda:0");
    r.request.precision = QStringLiteral("fp16");
    r.request.extra.insert(QStringLiteral("promptPipeline"),
                           QVariantMap{{QStringLiteral("original"), QStringLiteral("a lighthouse")},
                                       {QStringLiteral("distorted"), QStringLiteral("the lighthouse dreams")},
                                       {QStringLiteral("mode"), QStringLiteral("what_if_er")}});
    r.modelName = QStringLiteral("sd15-tiny");
    r.modelFolder = QStringLiteral("/models/sd15-tiny");
    r.device = QStringLiteral("cuda:0 (NVIDIA H100 80GB HBM3)");
    r.images = {patternImage(64, 48, 1), patternImage(64, 48, 2)};
    r.seeds = {1234, 1235};
    r.timings.loadMs = 812.5;
    r.timings.encodeMs = 10;
    r.timings.denoiseMs = 900;
    r.timings.decodeMs = 40;
    r.timings.cleanupMs = 1.25;
    r.timings.totalMs = 1800;
    r.timings.firstStepMs = 120;
    r.timings.itPerSec = 27.5;
    r.memoryBeforeCleanup = {true, 0, 0, 5000000000, 85000000000, 2100000000, 3200000000, 2900000000};
    r.memoryAfterCleanup = {true, 0, 0, 3800000000, 85000000000, 2100000000, 2150000000, 2900000000};
    r.unloaded = true;
    return r;
}

quint32 crc32(const QByteArray& data) {
    quint32 crc = 0xffffffffu;
    for (const char ch : data) {
        crc ^= quint8(ch);
        for (int k = 0; k < 8; ++k)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

// Inserts a tEXt chunk just before IEND, i.e. after the image data, as some tools write it.
QByteArray withTextAfterImageData(const QByteArray& png, const QByteArray& key, const QByteArray& value) {
    const int iend = png.lastIndexOf("IEND") - 4;
    const QByteArray body = "tEXt" + key + '\0' + value;
    QByteArray chunk(4, '\0');
    qToBigEndian<quint32>(quint32(body.size() - 4), chunk.data());
    chunk += body;
    QByteArray crc(4, '\0');
    qToBigEndian<quint32>(crc32(body), crc.data());
    chunk += crc;
    return png.left(iend) + chunk + png.mid(iend);
}

} // namespace

class TestOutputs final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void samplerMapping() {
        QCOMPARE(samplerDisplayName(QStringLiteral("euler_a")), QStringLiteral("Euler a"));
        QCOMPARE(samplerDisplayName(QStringLiteral("pndm")), QStringLiteral("PLMS"));
        QCOMPARE(samplerDisplayName(QStringLiteral("dpmpp_2m_karras")), QStringLiteral("DPM++ 2M Karras"));
        QCOMPARE(samplerDisplayName(QStringLiteral("something_new")), QStringLiteral("something_new"));
        QCOMPARE(samplerEngineName(QStringLiteral("DPM++ 2M")), QStringLiteral("dpmpp_2m"));
        QCOMPARE(samplerEngineName(QStringLiteral("DPM++ 2M"), QStringLiteral("Karras")),
                 QStringLiteral("dpmpp_2m_karras"));
        QCOMPARE(samplerEngineName(QStringLiteral("LCM")), QStringLiteral("lcm"));
        QCOMPARE(samplerEngineName(QStringLiteral("DPM++ SDE Karras")), QString());
        for (const QString& name : tp::samplerNames())
            QCOMPARE(samplerEngineName(samplerDisplayName(name)), name);
    }

    void quoting() {
        QCOMPARE(quoteParameterValue(QStringLiteral("v1-5-pruned")), QStringLiteral("v1-5-pruned"));
        QCOMPARE(quoteParameterValue(QStringLiteral("a, b")), QStringLiteral("\"a, b\""));
        QCOMPARE(quoteParameterValue(QStringLiteral("x: y")), QStringLiteral("\"x: y\""));
        QCOMPARE(quoteParameterValue(QStringLiteral("one\ntwo")), QStringLiteral("\"one\\ntwo\""));
        QCOMPARE(quoteParameterValue(QStringLiteral("say \"hi\", ok")),
                 QStringLiteral("\"say \\\"hi\\\", ok\""));
    }

    void formatExact() {
        ImageParameters p;
        p.prompt = QStringLiteral("a cat");
        p.negativePrompt = QStringLiteral("blurry");
        p.steps = 20;
        p.sampler = QStringLiteral("euler_a");
        p.guidance = 7;
        p.seed = 1234;
        p.width = 512;
        p.height = 512;
        p.modelHash = QStringLiteral("6ce0161689");
        p.modelName = QStringLiteral("v1-5-pruned-emaonly");
        QCOMPARE(
            formatParameters(p),
            QStringLiteral("a cat\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, "
                           "Seed: 1234, Size: 512x512, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly"));
        p.negativePrompt.clear();
        p.clipSkip = 2;
        p.guidance = 7.5;
        p.modelName = QStringLiteral("my model, v2");
        QCOMPARE(
            formatParameters(p),
            QStringLiteral("a cat\nSteps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 1234, Size: 512x512, "
                           "Model hash: 6ce0161689, Model: \"my model, v2\", Clip skip: 2"));
    }

    void roundTrip_data() {
        QTest::addColumn<QString>("prompt");
        QTest::addColumn<QString>("negative");
        QTest::addColumn<QString>("model");
        QTest::addColumn<QString>("sampler");
        QTest::addColumn<int>("clipSkip");
        QTest::newRow("plain") << "a cat"
                               << ""
                               << "sd15"
                               << "euler_a" << 1;
        QTest::newRow("commas and colons") << "portrait, 85mm: bokeh, (smile:1.2)"
                                           << "lowres, text: watermark"
                                           << "model, with: punctuation"
                                           << "dpmpp_2m_karras" << 2;
        QTest::newRow("newlines") << "first line\nsecond, line\n\nfourth"
                                  << "neg one\nneg: two"
                                  << "multi\nline"
                                  << "pndm" << 3;
        QTest::newRow("quotes and backslashes") << "say \"cheese\" \\o/"
                                                << "no \"text\""
                                                << "a \"quoted\", name"
                                                << "lcm" << 1;
        QTest::newRow("unicode") << "富士山、夕焼け, Straße"
                                 << "ぼやけ"
                                 << "モデル: 一"
                                 << "ddim" << 1;
        QTest::newRow("empty prompt") << ""
                                      << ""
                                      << "m"
                                      << "lms" << 1;
    }

    void roundTrip() {
        QFETCH(QString, prompt);
        QFETCH(QString, negative);
        QFETCH(QString, model);
        QFETCH(QString, sampler);
        QFETCH(int, clipSkip);
        ImageParameters p;
        p.prompt = prompt;
        p.negativePrompt = negative;
        p.steps = 31;
        p.sampler = sampler;
        p.guidance = 6.25;
        p.seed = 4294967295LL;
        p.width = 768;
        p.height = 1344;
        p.modelHash = QStringLiteral("1a5a67a44a");
        p.modelName = model;
        p.clipSkip = clipSkip;
        p.extra = {{QStringLiteral("Prompt pipeline"), QStringLiteral("what_if_er, poetic")}};
        const QString text = formatParameters(p);
        const auto parsed = parseParameters(text);
        QVERIFY2(parsed, qPrintable(parsed.error()));
        QCOMPARE(parsed->prompt, prompt);
        QCOMPARE(parsed->negativePrompt, negative);
        QCOMPARE(parsed->steps, 31);
        QCOMPARE(parsed->sampler, sampler);
        QCOMPARE(parsed->guidance, 6.25);
        QCOMPARE(parsed->seed, 4294967295LL);
        QCOMPARE(parsed->width, 768);
        QCOMPARE(parsed->height, 1344);
        QCOMPARE(parsed->modelHash, QStringLiteral("1a5a67a44a"));
        QCOMPARE(parsed->modelName, model);
        QCOMPARE(parsed->clipSkip, clipSkip);
        QCOMPARE(parsed->extra, p.extra);
        QCOMPARE(formatParameters(*parsed), text);
    }

    void parseRealWorld() {
        // A1111 1.6 with hires fix and extension fields.
        auto a = parseParameters(QStringLiteral(
            "masterpiece, best quality, 1girl, (detailed eyes:1.2)\n"
            "Negative prompt: lowres, bad anatomy, (worst quality:1.4)\n"
            "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 3442447464, Size: 512x768, "
            "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.7, Clip skip: 2, "
            "Hires upscale: 2, Hires upscaler: Latent, Lora hashes: \"add_detail: 7c6bad76eb54, epiNoise: "
            "c3b4a8f2e1d0\", Version: v1.6.0"));
        QVERIFY(a);
        QCOMPARE(a->prompt, QStringLiteral("masterpiece, best quality, 1girl, (detailed eyes:1.2)"));
        QCOMPARE(a->negativePrompt, QStringLiteral("lowres, bad anatomy, (worst quality:1.4)"));
        QCOMPARE(a->steps, 28);
        QCOMPARE(a->sampler, QStringLiteral("dpmpp_2m_karras"));
        QCOMPARE(a->guidance, 7.0);
        QCOMPARE(a->seed, 3442447464LL);
        QCOMPARE(a->width, 512);
        QCOMPARE(a->height, 768);
        QCOMPARE(a->modelHash, QStringLiteral("6ce0161689"));
        QCOMPARE(a->modelName, QStringLiteral("v1-5-pruned-emaonly"));
        QCOMPARE(a->clipSkip, 2);
        QCOMPARE(a->extraValue(QStringLiteral("Denoising strength")), QStringLiteral("0.7"));
        QCOMPARE(a->extraValue(QStringLiteral("Hires upscaler")), QStringLiteral("Latent"));
        QCOMPARE(a->extraValue(QStringLiteral("Lora hashes")),
                 QStringLiteral("add_detail: 7c6bad76eb54, epiNoise: c3b4a8f2e1d0"));
        QCOMPARE(a->extraValue(QStringLiteral("Version")), QStringLiteral("v1.6.0"));
        QCOMPARE(a->extra.size(), 5);

        // A1111 1.10 splits the scheduler into "Schedule type".
        auto b = parseParameters(QStringLiteral(
            "a cat in a hat\nNegative prompt: blurry\nSteps: 20, Sampler: DPM++ 2M, Schedule type: Karras, "
            "CFG scale: 7, Seed: 1, Size: 512x512, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, "
            "Version: v1.10.1"));
        QVERIFY(b);
        QCOMPARE(b->sampler, QStringLiteral("dpmpp_2m_karras"));
        QCOMPARE(b->extraValue(QStringLiteral("Schedule type")), QString());
        auto b2 = parseParameters(QStringLiteral("x\nSteps: 20, Sampler: Euler a, Schedule type: Automatic, "
                                                 "CFG scale: 7, Seed: 1, Size: 512x512"));
        QVERIFY(b2);
        QCOMPARE(b2->sampler, QStringLiteral("euler_a"));
        QCOMPARE(b2->extraValue(QStringLiteral("Schedule type")), QStringLiteral("Automatic"));

        // Multi-line prompt, no negative prompt, an unknown sampler kept as text, CRLF line ends.
        auto c = parseParameters(QStringLiteral("line one,\r\nline two: with colon\r\n"
                                                "Steps: 30, Sampler: DPM++ SDE Karras, CFG scale: 4.5, "
                                                "Seed: 42, Size: 768x512, Model: sdxl_base\r\n"));
        QVERIFY(c);
        QCOMPARE(c->prompt, QStringLiteral("line one,\nline two: with colon"));
        QCOMPARE(c->negativePrompt, QString());
        QCOMPARE(c->sampler, QStringLiteral("DPM++ SDE Karras"));
        QCOMPARE(c->guidance, 4.5);
        QCOMPARE(c->width, 768);
        QCOMPARE(c->modelHash, QString());

        // A multi-line negative prompt.
        auto d =
            parseParameters(QStringLiteral("sunset\nNegative prompt: one\ntwo, three\n"
                                           "Steps: 8, Sampler: LCM, CFG scale: 1.5, Seed: 9, Size: 512x512"));
        QVERIFY(d);
        QCOMPARE(d->prompt, QStringLiteral("sunset"));
        QCOMPARE(d->negativePrompt, QStringLiteral("one\ntwo, three"));
        QCOMPARE(d->sampler, QStringLiteral("lcm"));

        // Only a prompt (with a colon, not a settings line); and garbage values kept as extras.
        auto e = parseParameters(QStringLiteral("photo: a cat, sunset"));
        QVERIFY(e);
        QCOMPARE(e->prompt, QStringLiteral("photo: a cat, sunset"));
        QCOMPARE(e->steps, 0);
        QCOMPARE(e->seed, -1);
        auto f = parseParameters(QStringLiteral("p\nSteps: many, Sampler: Euler, Seed: -5, Size: big"));
        QVERIFY(f);
        QCOMPARE(f->steps, 0);
        QCOMPARE(f->sampler, QStringLiteral("euler"));
        QCOMPARE(f->extraValue(QStringLiteral("Steps")), QStringLiteral("many"));
        QCOMPARE(f->extraValue(QStringLiteral("Size")), QStringLiteral("big"));

        QVERIFY(!parseParameters(QStringLiteral("  \n ")));
    }

    void requestFromParameters() {
        ImageParameters p = *parseParameters(QStringLiteral(
            "a cat\nNegative prompt: dog\nSteps: 12, Sampler: DDIM, CFG scale: 3, Seed: 99, Size: 640x384, "
            "Model: sd15, Clip skip: 2"));
        GenerationRequest base;
        base.count = 3;
        base.outputDir = QStringLiteral("/out");
        const GenerationRequest r = requestFrom(p, base);
        QCOMPARE(r.prompt, QStringLiteral("a cat"));
        QCOMPARE(r.negativePrompt, QStringLiteral("dog"));
        QCOMPARE(r.steps, 12);
        QCOMPARE(r.sampler, QStringLiteral("ddim"));
        QCOMPARE(r.guidance, 3.0);
        QCOMPARE(r.seed, 99);
        QCOMPARE(r.width, 640);
        QCOMPARE(r.height, 384);
        QCOMPARE(r.clipSkip, 2);
        QCOMPARE(r.model, QStringLiteral("sd15"));
        QCOMPARE(r.count, 3);
        QCOMPARE(r.outputDir, QStringLiteral("/out"));
        p.sampler = QStringLiteral("DPM++ SDE"); // not ours: the base's sampler stays
        QCOMPARE(requestFrom(p, base).sampler, base.sampler);
        QCOMPARE(r.trueCfgScale, 1.0);

        // Flux's true CFG travels as "True CFG scale" and comes back.
        GenerationResult result;
        result.request = r;
        result.request.trueCfgScale = 2.5;
        const QString text = formatParameters(parametersFor(result, 0));
        QVERIFY2(text.contains(QStringLiteral("True CFG scale: 2.5")), qPrintable(text));
        QCOMPARE(requestFrom(*parseParameters(text)).trueCfgScale, 2.5);
        result.request.trueCfgScale = 1.0; // off: not written
        QVERIFY(!formatParameters(parametersFor(result, 0)).contains(QStringLiteral("True CFG")));

        // VAE tiling travels as "VAE tiling: on" (default tile) or its tile size, and comes back.
        result.request.vaeTiling = true;
        QString tiled = formatParameters(parametersFor(result, 0));
        QVERIFY2(tiled.contains(QStringLiteral("VAE tiling: on")), qPrintable(tiled));
        GenerationRequest back = requestFrom(*parseParameters(tiled));
        QVERIFY(back.vaeTiling);
        QCOMPARE(back.vaeTileSize, 0);
        result.request.vaeTileSize = 256;
        tiled = formatParameters(parametersFor(result, 0));
        QVERIFY2(tiled.contains(QStringLiteral("VAE tiling: 256")), qPrintable(tiled));
        back = requestFrom(*parseParameters(tiled));
        QVERIFY(back.vaeTiling);
        QCOMPARE(back.vaeTileSize, 256);
        result.request.vaeTiling = false; // off: not written
        result.request.vaeTileSize = 0;
        QVERIFY(!formatParameters(parametersFor(result, 0)).contains(QStringLiteral("VAE tiling")));
        QVERIFY(!requestFrom(*parseParameters(text)).vaeTiling);
    }

    // An SD 3 run without T5 says "T5: off" (nothing when T5 ran); reading it back brings the
    // request's flag back; "T5: on" from elsewhere reads as with T5, anything else is kept as text.
    void withoutT5() {
        ImageParameters p;
        p.prompt = QStringLiteral("a lighthouse");
        p.steps = 28;
        p.withoutT5 = true;
        const QString text = formatParameters(p);
        QCOMPARE(text, QStringLiteral("a lighthouse\nSteps: 28, T5: off"));
        const auto parsed = parseParameters(text + QStringLiteral(", Seed: 3"));
        QVERIFY2(parsed, qPrintable(parsed.error()));
        QVERIFY(parsed->withoutT5);
        QVERIFY(parsed->extra.isEmpty());
        QVERIFY(requestFrom(*parsed).withoutT5);
        p.withoutT5 = false;
        QVERIFY(!formatParameters(p).contains(QStringLiteral("T5")));
        QVERIFY(!parseParameters(QStringLiteral("x\nSteps: 2, Seed: 1, T5: on"))->withoutT5);
        const auto odd = parseParameters(QStringLiteral("x\nSteps: 2, Seed: 1, T5: maybe"));
        QVERIFY(!odd->withoutT5);
        QCOMPARE(odd->extra.size(), 1);
        QCOMPARE(odd->extra.first().second, QStringLiteral("maybe"));
    }

    void readsChunkFromOtherTools() {
        QTemporaryDir dir;
        const QString text =
            QStringLiteral("a fox\nSteps: 20, Sampler: Euler, CFG scale: 7, Seed: 5, Size: 32x32");
        // Before the image data (PIL, Qt).
        QImage img = patternImage(32, 32, 3);
        img.setText(kParametersChunk, text);
        const QString before = dir.filePath(QStringLiteral("before.png"));
        QVERIFY(img.save(before));
        QCOMPARE(*readParametersText(before), text);
        // After the image data.
        QBuffer buffer;
        buffer.open(QIODevice::WriteOnly);
        QVERIFY(patternImage(32, 32, 3).save(&buffer, "PNG"));
        const QString after = dir.filePath(QStringLiteral("after.png"));
        QFile f(after);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(withTextAfterImageData(buffer.data(), "parameters", text.toLatin1()));
        f.close();
        QCOMPARE(QImage(after).size(), QSize(32, 32)); // still a valid PNG
        const auto r = readParametersText(after);
        QVERIFY2(r, qPrintable(r.error()));
        QCOMPARE(*r, text);
        // readImageParameters falls back to the chunk when there is no sidecar.
        QCOMPARE(readImageParameters(after)->prompt, QStringLiteral("a fox"));
        // No chunk, not an image.
        const QString plain = dir.filePath(QStringLiteral("plain.png"));
        QVERIFY(patternImage(8, 8, 0).save(plain));
        QVERIFY(readParametersText(plain).error().contains(plain));
        const QString notImage = dir.filePath(QStringLiteral("notes.png"));
        QFile n(notImage);
        QVERIFY(n.open(QIODevice::WriteOnly));
        n.write("hello");
        n.close();
        QVERIFY(!readParametersText(notImage));
    }

    void writesPngAndSidecar() {
        QTemporaryDir tmp;
        const QString out = tmp.filePath(QStringLiteral("nested/out")); // created on demand
        const GenerationResult result = sampleResult();
        const auto written = OutputWriter(out).write(result, QStringLiteral("1a5a67a44a"), fixedTime());
        QVERIFY2(written, qPrintable(written.error()));
        QCOMPARE(written->size(), 2);
        QCOMPARE(QFileInfo(written->at(0).imagePath).fileName(),
                 QStringLiteral("20261127-142233_seed1234.png"));
        QCOMPARE(QFileInfo(written->at(1).imagePath).fileName(),
                 QStringLiteral("20261127-142233_seed1235.png"));
        QCOMPARE(QFileInfo(written->at(1).sidecarPath).fileName(),
                 QStringLiteral("20261127-142233_seed1235.json"));

        for (int i = 0; i < 2; ++i) {
            const WrittenImage& w = written->at(i);
            QImageReader reader(w.imagePath);
            QCOMPARE(reader.format(), QByteArray("png"));
            const QImage back = reader.read();
            const QString chunk = back.text(kParametersChunk);
            QCOMPARE(back.convertToFormat(QImage::Format_RGB32), result.images[i]);
            const auto parsed = parseParameters(chunk);
            QVERIFY(parsed);
            QCOMPARE(parsed->prompt, result.request.prompt);
            QCOMPARE(parsed->negativePrompt, result.request.negativePrompt);
            QCOMPARE(parsed->seed, result.seeds[i]);
            QCOMPARE(parsed->sampler, QStringLiteral("dpmpp_2m_karras"));
            QCOMPARE(parsed->modelHash, QStringLiteral("1a5a67a44a"));
            QCOMPARE(parsed->clipSkip, 2);
            QVERIFY(chunk.contains(
                QStringLiteral("Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: %1, Size: 64x48, "
                               "Model hash: 1a5a67a44a, Model: sd15-tiny, Clip skip: 2")
                    .arg(result.seeds[i])));

            const auto json = readSidecarJson(w.sidecarPath);
            QVERIFY2(json, qPrintable(json.error()));
            const QJsonObject o = *json;
            QCOMPARE(o.value(QStringLiteral("version")).toInt(), OutputWriter::SidecarVersion);
            QCOMPARE(o[QStringLiteral("app")][QStringLiteral("version")].toString(),
                     QStringLiteral(TWISTEDPIC_VERSION));
            QCOMPARE(o[QStringLiteral("created")].toString(), fixedTime().toString(Qt::ISODateWithMs));
            QCOMPARE(o[QStringLiteral("image")][QStringLiteral("file")].toString(),
                     QFileInfo(w.imagePath).fileName());
            QCOMPARE(o[QStringLiteral("image")][QStringLiteral("index")].toInt(), i);
            QCOMPARE(o[QStringLiteral("image")][QStringLiteral("count")].toInt(), 2);
            QCOMPARE(o[QStringLiteral("requestId")].toString(), QStringLiteral("77"));
            QCOMPARE(o[QStringLiteral("prompt")].toString(), result.request.prompt);
            QCOMPARE(o[QStringLiteral("negativePrompt")].toString(), result.request.negativePrompt);
            QCOMPARE(o[QStringLiteral("model")][QStringLiteral("name")].toString(),
                     QStringLiteral("sd15-tiny"));
            QCOMPARE(o[QStringLiteral("model")][QStringLiteral("folder")].toString(),
                     QStringLiteral("/models/sd15-tiny"));
            QCOMPARE(o[QStringLiteral("model")][QStringLiteral("hash")].toString(),
                     QStringLiteral("1a5a67a44a"));
            QCOMPARE(o[QStringLiteral("model")][QStringLiteral("requested")].toString(),
                     QStringLiteral("sd15-tiny"));
            QCOMPARE(o[QStringLiteral("sampler")].toString(), QStringLiteral("dpmpp_2m_karras"));
            QCOMPARE(o[QStringLiteral("samplerDisplayName")].toString(), QStringLiteral("DPM++ 2M Karras"));
            QCOMPARE(o[QStringLiteral("steps")].toInt(), 25);
            QCOMPARE(o[QStringLiteral("guidance")].toDouble(), 6.5);
            QCOMPARE(o[QStringLiteral("width")].toInt(), 64);
            QCOMPARE(o[QStringLiteral("height")].toInt(), 48);
            QCOMPARE(qint64(o[QStringLiteral("seed")].toDouble()), result.seeds[i]);
            QCOMPARE(o[QStringLiteral("clipSkip")].toInt(), 2);
            QCOMPARE(o[QStringLiteral("device")].toString(), result.device);
            QCOMPARE(o[QStringLiteral("precision")].toString(), QStringLiteral("fp16"));
            const QJsonObject t = o[QStringLiteral("timings")].toObject();
            QCOMPARE(t[QStringLiteral("loadMs")].toDouble(), 812.5);
            QCOMPARE(t[QStringLiteral("encodeMs")].toDouble(), 10.0);
            QCOMPARE(t[QStringLiteral("denoiseMs")].toDouble(), 900.0);
            QCOMPARE(t[QStringLiteral("decodeMs")].toDouble(), 40.0);
            QCOMPARE(t[QStringLiteral("cleanupMs")].toDouble(), 1.25);
            QCOMPARE(t[QStringLiteral("totalMs")].toDouble(), 1800.0);
            QCOMPARE(t[QStringLiteral("firstStepMs")].toDouble(), 120.0);
            QCOMPARE(t[QStringLiteral("itPerSec")].toDouble(), 27.5);
            const QJsonObject before =
                o[QStringLiteral("memory")][QStringLiteral("beforeCleanup")].toObject();
            const QJsonObject after = o[QStringLiteral("memory")][QStringLiteral("afterCleanup")].toObject();
            QCOMPARE(before[QStringLiteral("cuda")].toBool(), true);
            QCOMPARE(qint64(before[QStringLiteral("deviceUsedBytes")].toDouble()), 5000000000LL);
            QCOMPARE(qint64(before[QStringLiteral("deviceTotalBytes")].toDouble()), 85000000000LL);
            QCOMPARE(qint64(before[QStringLiteral("allocatedBytes")].toDouble()), 2100000000LL);
            QCOMPARE(qint64(before[QStringLiteral("reservedBytes")].toDouble()), 3200000000LL);
            QCOMPARE(qint64(before[QStringLiteral("peakAllocatedBytes")].toDouble()), 2900000000LL);
            QCOMPARE(qint64(after[QStringLiteral("deviceUsedBytes")].toDouble()), 3800000000LL);
            QCOMPARE(qint64(after[QStringLiteral("reservedBytes")].toDouble()), 2150000000LL);
            QCOMPARE(o[QStringLiteral("unloaded")].toBool(), true);
            const QJsonObject stages =
                o[QStringLiteral("extra")][QStringLiteral("promptPipeline")].toObject();
            QCOMPARE(stages[QStringLiteral("distorted")].toString(), QStringLiteral("the lighthouse dreams"));
            QCOMPARE(stages[QStringLiteral("mode")].toString(), QStringLiteral("what_if_er"));
            QCOMPARE(o[QStringLiteral("parameters")].toString(), chunk);

            // The sidecar is preferred to the chunk, and carries the folder.
            const auto params = readImageParameters(w.imagePath);
            QVERIFY(params);
            QCOMPARE(params->modelFolder, QStringLiteral("/models/sd15-tiny"));
            QCOMPARE(params->seed, result.seeds[i]);
            QCOMPARE(params->guidance, 6.5);
        }
    }

    void neverOverwrites() {
        QTemporaryDir tmp;
        GenerationResult one = sampleResult();
        one.images.resize(1);
        one.seeds.resize(1);
        const QString first = tmp.filePath(QStringLiteral("20261127-142233_seed1234.png"));
        QFile junk(first);
        QVERIFY(junk.open(QIODevice::WriteOnly));
        junk.write("someone else's file");
        junk.close();

        const OutputWriter writer(tmp.path());
        const auto a = writer.write(one, {}, fixedTime());
        QVERIFY2(a, qPrintable(a.error()));
        QCOMPARE(QFileInfo(a->at(0).imagePath).fileName(), QStringLiteral("20261127-142233_seed1234-1.png"));
        const auto b = writer.write(one, {}, fixedTime());
        QVERIFY(b);
        QCOMPARE(QFileInfo(b->at(0).imagePath).fileName(), QStringLiteral("20261127-142233_seed1234-2.png"));
        // A sidecar alone also holds its name.
        QFile stale(tmp.filePath(QStringLiteral("20261127-142233_seed1234-3.json")));
        QVERIFY(stale.open(QIODevice::WriteOnly));
        stale.close();
        const auto c = writer.write(one, {}, fixedTime());
        QVERIFY(c);
        QCOMPARE(QFileInfo(c->at(0).imagePath).fileName(), QStringLiteral("20261127-142233_seed1234-4.png"));

        QVERIFY(junk.open(QIODevice::ReadOnly));
        QCOMPARE(junk.readAll(), QByteArray("someone else's file"));
        QCOMPARE(QImage(a->at(0).imagePath), one.images[0]);
        QCOMPARE(QImage(b->at(0).imagePath), one.images[0]);
    }

    void unwritableFolder() {
        QTemporaryDir tmp;
        const QString file = tmp.filePath(QStringLiteral("not-a-folder"));
        QFile f(file);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.close();
        const QString out = file + QStringLiteral("/images");
        const auto r = OutputWriter(out).write(sampleResult(), {}, fixedTime());
        QVERIFY(!r);
        QVERIFY2(r.error().contains(out), qPrintable(r.error()));

        if (::geteuid() == 0)
            QSKIP("running as root: a read-only folder is still writable");
        const QString ro = tmp.filePath(QStringLiteral("readonly"));
        QVERIFY(QDir().mkpath(ro));
        QVERIFY(QFile::setPermissions(ro, QFile::ReadOwner | QFile::ExeOwner));
        const auto r2 = OutputWriter(ro).write(sampleResult(), {}, fixedTime());
        QFile::setPermissions(ro, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner);
        QVERIFY(!r2);
        QVERIFY2(r2.error().contains(ro), qPrintable(r2.error()));
        QVERIFY(QDir(ro).isEmpty());
    }

    // A full disk, simulated with a file-size limit (works as root too): the write fails,
    // the message names the file, and no partial file remains.
    void fullDiskLeavesNothing() {
        QTemporaryDir tmp;
        GenerationResult big = sampleResult();
        big.images = {noiseImage(256, 256)};
        big.seeds = {7};
        rlimit old{};
        QCOMPARE(::getrlimit(RLIMIT_FSIZE, &old), 0);
        const auto previous = std::signal(SIGXFSZ, SIG_IGN);
        rlimit small = old;
        small.rlim_cur = 16 * 1024;
        QCOMPARE(::setrlimit(RLIMIT_FSIZE, &small), 0);
        const auto r = OutputWriter(tmp.path()).write(big, {}, fixedTime());
        ::setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, previous);
        QVERIFY(!r);
        const QString expected = tmp.filePath(QStringLiteral("20261127-142233_seed7.png"));
        QVERIFY2(r.error().contains(expected), qPrintable(r.error()));
        QVERIFY2(QDir(tmp.path()).isEmpty(), qPrintable(QDir(tmp.path()).entryList(QDir::Files).join(u',')));
        // With room again the same call succeeds.
        QVERIFY(OutputWriter(tmp.path()).write(big, {}, fixedTime()));
    }

    // Image 1 fits, image 2 does not: the failure names image 2's path and the real cause (not
    // libpng's "Unknown error"), and image 1 is listed as written.
    void partialWriteListsWhatWasWritten() {
        QTemporaryDir tmp;
        GenerationResult two = sampleResult();
        QImage flat(256, 256, QImage::Format_RGB32);
        flat.fill(Qt::blue);
        two.images = {flat, noiseImage(256, 256)};
        two.seeds = {7, 8};
        rlimit old{};
        QCOMPARE(::getrlimit(RLIMIT_FSIZE, &old), 0);
        const auto previous = std::signal(SIGXFSZ, SIG_IGN);
        rlimit small = old;
        small.rlim_cur = 16 * 1024;
        QCOMPARE(::setrlimit(RLIMIT_FSIZE, &small), 0);
        QVector<WrittenImage> before;
        const auto r = OutputWriter(tmp.path()).write(two, {}, fixedTime(), &before);
        ::setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, previous);
        QVERIFY(!r);
        QCOMPARE(before.size(), 1);
        QCOMPARE(before[0].imagePath, tmp.filePath(QStringLiteral("20261127-142233_seed7.png")));
        QVERIFY(QFile::exists(before[0].imagePath) && QFile::exists(before[0].sidecarPath));
        QVERIFY2(r.error().contains(tmp.filePath(QStringLiteral("20261127-142233_seed8.png"))),
                 qPrintable(r.error()));
        QVERIFY2(r.error().contains(QStringLiteral("File too large")), qPrintable(r.error()));
        QVERIFY2(r.error().contains(QStringLiteral("image 2 of 2")), qPrintable(r.error()));
        QVERIFY(!r.error().contains(QStringLiteral("Unknown error"), Qt::CaseInsensitive));
        QCOMPARE(QDir(tmp.path()).entryList(QDir::Files).size(), 2); // image 1 and its sidecar
    }

    void modelHash() {
        const QString pipeline = tp::test::dataPath(QStringLiteral("sd15-tiny/pipeline"));
        const auto files = modelHashFiles(pipeline);
        QVERIFY2(files, qPrintable(files.error()));
        QCOMPARE(*files,
                 QStringList{QFileInfo(pipeline + QStringLiteral("/unet/diffusion_pytorch_model.safetensors"))
                                 .absoluteFilePath()});
        // sha256sum tests/data/sd15-tiny/pipeline/unet/diffusion_pytorch_model.safetensors
        QCOMPARE(*sha256Prefix(*files), QStringLiteral("1a5a67a44a"));
        QVERIFY(!modelHashFiles(tp::test::dataPath(QStringLiteral("sd15-tiny/pipeline/tokenizer"))));
        QVERIFY(!modelHashFiles(QStringLiteral("/nonexistent/model")));

        QTemporaryDir tmp;
        const QString cacheFile = tmp.filePath(QStringLiteral("cache/hashes.json"));
        {
            ModelHashCache cache(cacheFile);
            QVERIFY(!cache.cached(pipeline));
            QCOMPARE(*cache.hash(pipeline), QStringLiteral("1a5a67a44a"));
            QCOMPARE(*cache.cached(pipeline), QStringLiteral("1a5a67a44a"));
        }
        ModelHashCache again(cacheFile); // persisted
        QCOMPARE(again.cached(pipeline).value_or(QString()), QStringLiteral("1a5a67a44a"));

        // A single-file checkpoint; a changed file is hashed again.
        const QString ckpt = tmp.filePath(QStringLiteral("model.safetensors"));
        QFile f(ckpt);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("abc");
        f.close();
        QCOMPARE(*again.hash(ckpt), QStringLiteral("ba7816bf8f")); // sha256("abc")
        QVERIFY(f.open(QIODevice::Append));
        f.write("d");
        f.close();
        QVERIFY(!again.cached(ckpt));
        QCOMPARE(*again.hash(ckpt), QStringLiteral("88d4266fd4")); // sha256("abcd")

        // Sharded weights: the shards in name order, as one stream.
        const QString sharded = tmp.filePath(QStringLiteral("sharded"));
        QVERIFY(QDir().mkpath(sharded + QStringLiteral("/unet")));
        for (const char* name : {"unet/b.safetensors", "unet/a.safetensors"}) {
            QFile s(sharded + QLatin1Char('/') + QLatin1String(name));
            QVERIFY(s.open(QIODevice::WriteOnly));
            s.write(QByteArray(name).endsWith("a.safetensors") ? "ab" : "c");
        }
        QFile index(sharded + QStringLiteral("/unet/diffusion_pytorch_model.safetensors.index.json"));
        QVERIFY(index.open(QIODevice::WriteOnly));
        index.write(
            R"({"metadata":{},"weight_map":{"x":"b.safetensors","y":"a.safetensors","z":"a.safetensors"}})");
        index.close();
        QCOMPARE(modelHashFiles(sharded)->size(), 2);
        QCOMPARE(*ModelHashCache().hash(sharded), QStringLiteral("ba7816bf8f")); // "ab" + "c"
    }
};

QTEST_GUILESS_MAIN(TestOutputs)
#include "tst_outputs.moc"
