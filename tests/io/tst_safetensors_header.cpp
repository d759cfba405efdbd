// The safetensors header parser: every rejection, and the odd files that are valid.
#include "core/io/SafeTensorsHeader.h"
#include "core/io/SafeTensorsIndex.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

using namespace tp::io;

namespace {

const QString kName = QStringLiteral("unet/diffusion_pytorch_model.safetensors");

QByteArray le64(quint64 n) {
    QByteArray b(8, '\0');
    for (int i = 0; i < 8; ++i)
        b[i] = char((n >> (8 * i)) & 0xFF);
    return b;
}

QByteArray file(const QByteArray& json, qint64 dataBytes = 0) {
    return le64(quint64(json.size())) + json + QByteArray(int(dataBytes), '\x11');
}

QByteArray entry(const char* name, const char* dtype, const char* shape, qint64 begin, qint64 end) {
    return QByteArray("\"") + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
           ",\"data_offsets\":[" + QByteArray::number(begin) + "," + QByteArray::number(end) + "]}";
}

} // namespace

class TestSafeTensorsHeader final : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void rejects_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("message");

        QTest::newRow("empty") << QByteArray() << QStringLiteral("file is 0 bytes long, too short");
        QTest::newRow("7 bytes") << QByteArray(7, '\0') << QStringLiteral("file is 7 bytes long, too short");
        QTest::newRow("header over 100 MB") << (le64(100'000'001) + QByteArray("{}"))
                                            << QStringLiteral("header length 100000001 is larger than");
        QTest::newRow("header length 2^64-1") << (le64(~quint64(0)) + QByteArray("{}"))
                                              << QStringLiteral("is larger than the 100000000-byte limit");
        QTest::newRow("header past end")
            << (le64(50) + QByteArray("{}"))
            << QStringLiteral("header length 50 runs past the end of the file (10 bytes)");
        QTest::newRow("header too small")
            << (le64(1) + QByteArray("{")) << QStringLiteral("too small for a JSON");
        QTest::newRow("invalid utf-8") << file("{\"a\xff\":1}") << QStringLiteral("not valid UTF-8 (byte 3");
        QTest::newRow("overlong utf-8") << file("{\"\xc0\xaf\":1}") << QStringLiteral("not valid UTF-8");
        QTest::newRow("surrogate utf-8") << file("{\"\xed\xa0\x80\":1}") << QStringLiteral("not valid UTF-8");
        QTest::newRow("truncated utf-8") << file("{\"\xe2\x82") << QStringLiteral("not valid UTF-8");
        QTest::newRow("not an object")
            << file("[1,2]") << QStringLiteral("does not start with a JSON object");
        QTest::newRow("bad json") << file("{\"a\":") << QStringLiteral("header JSON is invalid");
        QTest::newRow("trailing garbage") << file("{} x") << QStringLiteral("header JSON is invalid");
        QTest::newRow("deep nesting")
            << file(QByteArray("{\"a\":") + QByteArray(5000, '[') + QByteArray(5000, ']') + "}")
            << QStringLiteral("header JSON is invalid");
        QTest::newRow("entry not object")
            << file("{\"w\":5}") << QStringLiteral("tensor 'w' is 5, not an object");
        QTest::newRow("no dtype") << file("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4)
                                  << QStringLiteral("tensor 'w' has no dtype string");
        QTest::newRow("unknown dtype")
            << file("{" + entry("w", "U16", "[1]", 0, 2) + "}", 2)
            << QStringLiteral("tensor 'w' has dtype \"U16\", which TwistedPic does not know");
        QTest::newRow("no shape") << file("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4)
                                  << QStringLiteral("tensor 'w' has no shape array");
        QTest::newRow("negative dim") << file("{" + entry("w", "F32", "[-1]", 0, 4) + "}", 4)
                                      << QStringLiteral("shape entry -1 that is not a non-negative integer");
        QTest::newRow("fractional dim") << file("{" + entry("w", "F32", "[1.5]", 0, 4) + "}", 4)
                                        << QStringLiteral("shape entry 1.5 that is not");
        QTest::newRow("string dim") << file("{" + entry("w", "F32", "[\"4\"]", 0, 4) + "}", 4)
                                    << QStringLiteral("shape entry \"4\" that is not");
        QTest::newRow("huge dim") << file("{" + entry("w", "F32", "[1e30]", 0, 4) + "}", 4)
                                  << QStringLiteral("that is not a non-negative integer");
        QTest::newRow("shape overflow")
            << file("{" + entry("w", "F32", "[4611686018427387904,4]", 0, 4) + "}", 4)
            << QStringLiteral("shape [4611686018427387904,4] whose size overflows 64 bits");
        QTest::newRow("bytes overflow")
            << file("{" + entry("w", "F64", "[2305843009213693952]", 0, 8) + "}", 8)
            << QStringLiteral("overflows 64 bits");
        QTest::newRow("no offsets") << file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4)
                                    << QStringLiteral("tensor 'w' has no data_offsets pair");
        QTest::newRow("three offsets")
            << file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8)
            << QStringLiteral("has no data_offsets pair [begin, end] (found an array)");
        QTest::newRow("negative offset") << file("{" + entry("w", "F32", "[1]", -4, 0) + "}", 4)
                                         << QStringLiteral("data_offsets that are not non-negative integers");
        QTest::newRow("begin after end") << file("{" + entry("w", "F32", "[0]", 8, 4) + "}", 8)
                                         << QStringLiteral("data_offsets [8,4] whose begin is after its end");
        QTest::newRow("end past data")
            << file("{" + entry("w", "F32", "[4]", 0, 16) + "}", 12)
            << QStringLiteral("data_offsets [0,16] past the end of the data (12 bytes)");
        QTest::newRow("size mismatch")
            << file("{" + entry("conv_in.weight", "F16", "[320,4,3,3]", 0, 3456) + "}", 3456)
            << QStringLiteral(
                   "tensor 'conv_in.weight' has 3456 bytes but its shape [320,4,3,3] of F16 needs 23040");
        QTest::newRow("overlap") << file("{" + entry("a", "F32", "[2]", 0, 8) + "," +
                                             entry("b", "F32", "[2]", 4, 12) + "}",
                                         12)
                                 << QStringLiteral("tensors 'a' [0,8] and 'b' [4,12] overlap");
        QTest::newRow("same range") << file("{" + entry("a", "F32", "[1]", 0, 4) + "," +
                                                entry("b", "F32", "[1]", 0, 4) + "}",
                                            4)
                                    << QStringLiteral("overlap");
        QTest::newRow("metadata not object") << file("{\"__metadata__\":[1]}")
                                             << QStringLiteral("\"__metadata__\" is an array, not an object");
        QTest::newRow("metadata not string") << file("{\"__metadata__\":{\"format\":1}}")
                                             << QStringLiteral("metadata entry 'format' is 1, not a string");
        QTest::newRow("empty name") << file("{" + entry("", "F32", "[1]", 0, 4) + "}", 4)
                                    << QStringLiteral("a tensor has an empty name");
    }

    void rejects() {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, message);
        const tp::Result<Header> h = parseSafeTensorsHeader(bytes.constData(), bytes.size(), kName);
        QVERIFY(!h);
        QVERIFY2(h.error().startsWith(kName + QStringLiteral(": ")), qPrintable(h.error()));
        QVERIFY2(h.error().contains(message), qPrintable(h.error()));
    }

    void accepts_data() {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<int>("tensors");
        QTest::addColumn<qint64>("dataSize");

        QTest::newRow("no tensors") << file("{}") << 0 << qint64(0);
        QTest::newRow("padded header") << file("{}      ") << 0 << qint64(0);
        QTest::newRow("scalar") << file("{" + entry("s", "F64", "[]", 0, 8) + "}", 8) << 1 << qint64(8);
        QTest::newRow("empty tensors share offsets")
            << file("{" + entry("e", "F32", "[0,3]", 4, 4) + "," + entry("f", "I64", "[3,0]", 4, 4) + "," +
                        entry("g", "F32", "[1]", 0, 4) + "}",
                    4)
            << 3 << qint64(4);
        QTest::newRow("hole between tensors")
            << file("{" + entry("a", "U8", "[2]", 0, 2) + "," + entry("b", "BOOL", "[2]", 6, 8) + "}", 10)
            << 2 << qint64(10);
        QTest::newRow("all dtypes")
            << file("{" + entry("a", "F64", "[1]", 0, 8) + "," + entry("b", "F32", "[1]", 8, 12) + "," +
                        entry("c", "F16", "[1]", 12, 14) + "," + entry("d", "BF16", "[1]", 14, 16) + "," +
                        entry("e", "I64", "[1]", 16, 24) + "," + entry("f", "I32", "[1]", 24, 28) + "," +
                        entry("g", "I16", "[1]", 28, 30) + "," + entry("h", "I8", "[1]", 30, 31) + "," +
                        entry("i", "U8", "[1]", 31, 32) + "," + entry("j", "BOOL", "[1]", 32, 33) + "}",
                    33)
            << 10 << qint64(33);
        QTest::newRow("fp8 e4m3 and e5m2") << file("{" + entry("w", "F8_E4M3", "[4]", 0, 4) + "," +
                                                       entry("v", "F8_E5M2", "[2,2]", 4, 8) + "}",
                                                   8)
                                           << 2 << qint64(8);
        QTest::newRow("unicode name and metadata")
            << file("{\"__metadata__\":{\"format\":\"pt\",\"\xc3\xa9t\xc3\xa9\":\"\xf0\x9f\x8c\x88\"}," +
                        entry("\xe6\x97\xa5", "U8", "[1]", 0, 1) + "}",
                    1)
            << 1 << qint64(1);
    }

    void accepts() {
        QFETCH(QByteArray, bytes);
        QFETCH(int, tensors);
        QFETCH(qint64, dataSize);
        const tp::Result<Header> h = parseSafeTensorsHeader(bytes.constData(), bytes.size(), kName);
        QVERIFY2(h, qPrintable(h.error()));
        QCOMPARE(int(h->tensors.size()), tensors);
        QCOMPARE(h->dataSize, dataSize);
        QCOMPARE(h->dataOffset + h->dataSize, qint64(bytes.size()));
        for (const TensorInfo& t : h->tensors) {
            QCOMPARE(h->find(t.name), &t);
            QCOMPARE(t.byteSize(), t.numel() * dtypeSize(t.dtype));
        }
    }

    void fieldsAreParsed() {
        const QByteArray bytes =
            file("{\"__metadata__\":{\"format\":\"pt\"}," + entry("z.w", "F16", "[2,3]", 8, 20) + "," +
                     entry("a.b", "I64", "[1]", 0, 8) + "}",
                 20);
        const tp::Result<Header> h = parseSafeTensorsHeader(bytes.constData(), bytes.size(), kName);
        QVERIFY2(h, qPrintable(h.error()));
        QCOMPARE(h->names(), (QStringList{QStringLiteral("a.b"), QStringLiteral("z.w")}));
        const TensorInfo* w = h->find(QStringLiteral("z.w"));
        QVERIFY(w);
        QCOMPARE(w->dtype, DType::F16);
        QCOMPARE(w->shape, (std::vector<qint64>{2, 3}));
        QCOMPARE(w->begin, qint64(8));
        QCOMPARE(w->end, qint64(20));
        QCOMPARE(w->shapeText(), QStringLiteral("[2,3]"));
        QCOMPARE(h->find(QStringLiteral("nope")), nullptr);
        QCOMPARE(h->metadata.value(QStringLiteral("format")), QStringLiteral("pt"));
        QCOMPARE(h->tensorBytes(), qint64(20));
        QCOMPARE(h->bytesByDType().value(DType::F16), qint64(12));
        QCOMPARE(h->bytesByDType().value(DType::I64), qint64(8));
    }

    // Only the header bytes in memory, the file's real size given apart (the catalogue's case).
    void headerOnlyWithFileSize() {
        const QByteArray json = "{" + entry("w", "F32", "[4]", 0, 16) + "}";
        const QByteArray headerOnly = le64(quint64(json.size())) + json;
        tp::Result<Header> h =
            parseSafeTensorsHeader(headerOnly.constData(), headerOnly.size(), headerOnly.size() + 16, kName);
        QVERIFY2(h, qPrintable(h.error()));
        h = parseSafeTensorsHeader(headerOnly.constData(), headerOnly.size(), headerOnly.size() + 15, kName);
        QVERIFY(!h);
        QVERIFY(h.error().contains(QStringLiteral("the file is truncated")));
        h = parseSafeTensorsHeader(headerOnly.constData(), 20, headerOnly.size() + 16, kName);
        QVERIFY(!h);
        QVERIFY(h.error().contains(QStringLiteral("header bytes were read")));
    }

    void readHeaderFromFile() {
        QTemporaryDir dir;
        QVERIFY(QDir(dir.path()).mkpath(QStringLiteral("vae")));
        const QString path = dir.filePath(QStringLiteral("vae/w.safetensors"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(file("{" + entry("w", "F32", "[4]", 0, 16) + "}", 16));
        f.close();
        tp::Result<Header> h = readSafeTensorsHeader(path);
        QVERIFY2(h, qPrintable(h.error()));
        QCOMPARE(h->find(QStringLiteral("w"))->numel(), qint64(4));

        QVERIFY(f.resize(f.size() - 1)); // truncated by one byte
        h = readSafeTensorsHeader(path);
        QVERIFY(!h);
        QVERIFY2(
            h.error().startsWith(QStringLiteral("vae/w.safetensors: tensor 'w' has data_offsets [0,16] past "
                                                "the end of the data (15 bytes)")),
            qPrintable(h.error()));
        h = readSafeTensorsHeader(dir.filePath(QStringLiteral("vae/missing.safetensors")));
        QVERIFY(!h);
        QVERIFY(h.error().startsWith(QStringLiteral("vae/missing.safetensors: cannot open")));
    }

    void dtypeTable() {
        for (DType d : {DType::F64, DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::I16,
                        DType::I8, DType::U8, DType::Bool, DType::F8_E4M3, DType::F8_E5M2})
            QCOMPARE(dtypeFromName(dtypeName(d)), std::optional<DType>(d));
        QCOMPARE(dtypeSize(DType::BF16), 2);
        QCOMPARE(dtypeSize(DType::Bool), 1);
        QCOMPARE(dtypeSize(DType::I64), 8);
        QCOMPARE(dtypeName(DType::Bool), QStringLiteral("BOOL"));
        QVERIFY(!dtypeFromName(QStringLiteral("f32")));
        QCOMPARE(precisionName(DType::F16), QStringLiteral("fp16"));
        QCOMPARE(precisionName(DType::BF16), QStringLiteral("bf16"));
    }

    void shardIndexNames() {
        QVERIFY(isShardIndexFileName(QStringLiteral("model.safetensors.index.json")));
        QVERIFY(isShardIndexFileName(QStringLiteral("diffusion_pytorch_model.safetensors.index.fp16.json")));
        QVERIFY(isShardIndexFileName(QStringLiteral("model.fp16.safetensors.index.json")));
        QVERIFY(!isShardIndexFileName(QStringLiteral("model.safetensors")));
        QVERIFY(!isShardIndexFileName(QStringLiteral("config.json")));
        QVERIFY(!isShardIndexFileName(QStringLiteral("pytorch_model.bin.index.json")));
    }

    void shardIndexRejects_data() {
        QTest::addColumn<QByteArray>("json");
        QTest::addColumn<QString>("message");
        QTest::newRow("bad json") << QByteArray("{") << QStringLiteral("invalid JSON");
        QTest::newRow("no weight_map")
            << QByteArray("{\"metadata\":{}}") << QStringLiteral("has no \"weight_map\"");
        QTest::newRow("not a name") << QByteArray("{\"weight_map\":{\"a\":3}}")
                                    << QStringLiteral("weight_map entry 'a' is not a file name");
        QTest::newRow("escape") << QByteArray("{\"weight_map\":{\"a\":\"../x.safetensors\"}}")
                                << QStringLiteral(
                                       "names '../x.safetensors', which is not a file in the index's folder");
        QTest::newRow("absolute") << QByteArray("{\"weight_map\":{\"a\":\"/etc/passwd\"}}")
                                  << QStringLiteral("not a file in the index's folder");
    }

    void shardIndexRejects() {
        QFETCH(QByteArray, json);
        QFETCH(QString, message);
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("model.safetensors.index.json"));
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(json);
        f.close();
        const tp::Result<ShardIndex> index = readShardIndex(path);
        QVERIFY(!index);
        QVERIFY2(index.error().contains(message), qPrintable(index.error()));
        QVERIFY(index.error().contains(QStringLiteral("model.safetensors.index.json: ")));
    }
};

QTEST_GUILESS_MAIN(TestSafeTensorsHeader)
#include "tst_safetensors_header.moc"
