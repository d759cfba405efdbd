// SafeTensorsFile / SafeTensorsArchive / writeSafeTensors against libtorch.
#include "core/io/Fp8.h"
#include "core/io/SafeTensors.h"
#include "tests/support/TestUtil.h"

#include <ATen/ATen.h>

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <sys/resource.h>

using namespace tp::io;
using tp::test::dataPath;

namespace {

QByteArray le64(quint64 n) {
    QByteArray b(8, '\0');
    for (int i = 0; i < 8; ++i)
        b[i] = char((n >> (8 * i)) & 0xFF);
    return b;
}

bool writeBytes(const QString& path, const QByteArray& bytes) {
    QFile f(path);
    return f.open(QIODevice::WriteOnly) && f.write(bytes) == bytes.size();
}

QByteArray readBytes(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

bool inside(const void* p, const SafeTensorsFile& f) {
    const char* c = static_cast<const char*>(p);
    return c >= f.mappedData() && c < f.mappedData() + f.mappedSize();
}

// Lines of /proc/self/maps that map `path` (Linux).
int mappingsOf(const QString& path) {
    const QString maps = QString::fromUtf8(readBytes(QStringLiteral("/proc/self/maps")));
    int n = 0;
    for (const QString& line : maps.split(QLatin1Char('\n')))
        if (line.endsWith(path))
            ++n;
    return n;
}

std::vector<std::pair<QString, at::Tensor>> sampleTensors() {
    std::vector<std::pair<QString, at::Tensor>> t;
    t.emplace_back(QStringLiteral("f64"), at::arange(6, at::kDouble).reshape({2, 3}) / 3.0);
    t.emplace_back(QStringLiteral("f32.transposed"), at::arange(12, at::kFloat).reshape({3, 4}).t());
    t.emplace_back(QStringLiteral("f16"), (at::arange(10, at::kFloat) / 7.0).to(at::kHalf));
    t.emplace_back(QStringLiteral("bf16"), (at::arange(10, at::kFloat) * 1.5).to(at::kBFloat16));
    t.emplace_back(QStringLiteral("i64"), at::arange(-3, 4, at::kLong));
    t.emplace_back(QStringLiteral("i32"), at::arange(5, at::kInt) * 100000);
    t.emplace_back(QStringLiteral("i16"), at::arange(-2, 3, at::kShort));
    t.emplace_back(QStringLiteral("i8"), at::arange(-4, 4, at::kChar));
    t.emplace_back(QStringLiteral("u8"), at::arange(250, 256, at::kInt).to(at::kByte));
    t.emplace_back(QStringLiteral("bool"), at::arange(5, at::kInt).remainder(2).to(at::kBool));
    t.emplace_back(QStringLiteral("scalar"), at::scalar_tensor(2.5, at::kFloat));
    t.emplace_back(QStringLiteral("empty"), at::empty({0, 3}, at::kFloat));
    t.emplace_back(QStringLiteral("\xc3\xa9t\xc3\xa9 \"quoted\"\n"), at::ones({2}, at::kFloat));
    return t;
}

} // namespace

class TestSafeTensors final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString tmp(const QString& name) const { return m_dir.filePath(name); }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void readsReferenceFixture() {
        const auto f = SafeTensorsFile::open(dataPath(QStringLiteral("sd15-tiny/reference.safetensors")));
        QVERIFY2(f, qPrintable(f.error()));
        const SafeTensorsFile& file = **f;
        const TensorInfo* rng = file.info(QStringLiteral("rng.seed42.randn_1x4x8x8"));
        QVERIFY(rng);
        QCOMPARE(rng->dtype, DType::F32);
        QCOMPARE(rng->shape, (std::vector<qint64>{1, 4, 8, 8}));
        QCOMPARE(rng->byteSize(), qint64(4 * 64 * 4));
        const auto ids = file.view(QStringLiteral("te.input_ids"));
        QVERIFY2(ids, qPrintable(ids.error()));
        QCOMPARE(ids->scalar_type(), at::kLong);
        QCOMPARE(ids->sizes().vec(), (std::vector<int64_t>{2, 77}));
        // The tiny vocabulary's <|startoftext|> (bos_token_id 790) starts every row.
        QCOMPARE((*ids)[0][0].item<int64_t>(), int64_t(790));
        QCOMPARE((*ids)[1][0].item<int64_t>(), int64_t(790));
        QCOMPARE(file.view(QStringLiteral("tok.0.ids"))->sizes().vec(), (std::vector<int64_t>{77}));

        // The data are the bytes Python wrote: libtorch's seeded CPU generator gives the same noise.
        const auto noise = file.view(QStringLiteral("rng.seed42.randn_1x4x8x8"));
        QVERIFY2(noise, qPrintable(noise.error()));
        at::Generator gen = at::detail::createCPUGenerator(42);
        const at::Tensor expected = at::randn({1, 4, 8, 8}, gen, at::kFloat);
        QVERIFY(at::equal(*noise, expected));
        QVERIFY(file.contains(QStringLiteral("te.last_hidden_state")));
        QVERIFY(!file.contains(QStringLiteral("te.nope")));
        QVERIFY(file.names().contains(QStringLiteral("vae.decoded")));
    }

    void viewIsZeroCopy() {
        const QString path = tmp(QStringLiteral("zero-copy.safetensors"));
        const at::Tensor original = at::randn({64, 33}, at::kFloat);
        QVERIFY(writeSafeTensors(path, {{QStringLiteral("w"), original}}));

        at::Tensor view;
        {
            auto f = SafeTensorsFile::open(path);
            QVERIFY2(f, qPrintable(f.error()));
            auto v = (*f)->view(QStringLiteral("w"));
            QVERIFY2(v, qPrintable(v.error()));
            view = *v;
            QVERIFY(inside(view.data_ptr(), **f));
            QVERIFY(inside(static_cast<const char*>(view.data_ptr()) + view.nbytes() - 1, **f));
            QVERIFY(view.is_contiguous());
            QVERIFY(mappingsOf(path) >= 1);
        } // the file object is gone; the view still holds the mapping
        QVERIFY(mappingsOf(path) >= 1);
        QVERIFY(at::equal(view, original));
        // An in-place change touches this process's private copy, not the file.
        view.mul_(2);
        QVERIFY(at::equal(view, original * 2));
        view = at::Tensor();
        QCOMPARE(mappingsOf(path), 0);
        auto again = SafeTensorsFile::open(path);
        QVERIFY(at::equal(*(*again)->view(QStringLiteral("w")), original));
    }

    void unalignedDataIsCopied() {
        // Header of odd length: the F32 data start at an address that is not a multiple of 4.
        const QByteArray json = R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})";
        QVERIFY(json.size() % 4 != 0);
        const float values[3] = {1.5f, -2.0f, 3.25f};
        const QString path = tmp(QStringLiteral("unaligned.safetensors"));
        QVERIFY(writeBytes(path, le64(quint64(json.size())) + json +
                                     QByteArray(reinterpret_cast<const char*>(values), sizeof values)));
        auto f = SafeTensorsFile::open(path);
        QVERIFY2(f, qPrintable(f.error()));
        const auto v = (*f)->view(QStringLiteral("w"));
        QVERIFY2(v, qPrintable(v.error()));
        QVERIFY(!inside(v->data_ptr(), **f));
        QCOMPARE(reinterpret_cast<quintptr>(v->data_ptr()) % 4, quintptr(0));
        QVERIFY(at::equal(*v, at::tensor({1.5f, -2.0f, 3.25f})));
    }

    void badBoolIsRejected() {
        const QByteArray json = R"({"b":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}})";
        const QString path = tmp(QStringLiteral("bool.safetensors"));
        QVERIFY(writeBytes(path, le64(quint64(json.size())) + json + QByteArray("\x01\x00\x07", 3)));
        auto f = SafeTensorsFile::open(path);
        QVERIFY2(f, qPrintable(f.error()));
        const auto v = (*f)->view(QStringLiteral("b"));
        QVERIFY(!v);
        QVERIFY2(v.error().contains(QStringLiteral("BOOL tensor 'b' holds the byte 7 at element 2")),
                 qPrintable(v.error()));
    }

    void openRejectsDamagedFiles_data() {
        QTest::addColumn<int>("keepBytes");
        QTest::addColumn<QString>("message");
        QTest::newRow("empty") << 0 << QStringLiteral("file is 0 bytes long");
        QTest::newRow("length only") << 8 << QStringLiteral("runs past the end of the file");
        QTest::newRow("half header") << 40 << QStringLiteral("runs past the end of the file");
        QTest::newRow("data cut") << -1 << QStringLiteral("past the end of the data");
    }

    void openRejectsDamagedFiles() {
        QFETCH(int, keepBytes);
        QFETCH(QString, message);
        const QString good = tmp(QStringLiteral("good.safetensors"));
        QVERIFY(writeSafeTensors(good, {{QStringLiteral("w"), at::ones({16}, at::kFloat)}}));
        QByteArray bytes = readBytes(good);
        bytes.truncate(keepBytes >= 0 ? keepBytes : int(bytes.size()) - 1);
        const QString bad = tmp(QStringLiteral("bad.safetensors"));
        QVERIFY(writeBytes(bad, bytes));
        const auto f = SafeTensorsFile::open(bad);
        QVERIFY(!f);
        QVERIFY2(f.error().contains(message), qPrintable(f.error()));
        QVERIFY(f.error().contains(QStringLiteral("bad.safetensors: ")));
    }

    void openRejectsMissingAndFolders() {
        auto f = SafeTensorsFile::open(tmp(QStringLiteral("nope.safetensors")));
        QVERIFY(!f);
        QVERIFY2(f.error().contains(QStringLiteral("nope.safetensors: cannot open: No such file")),
                 qPrintable(f.error()));
        f = SafeTensorsFile::open(m_dir.path());
        QVERIFY(!f);
        QVERIFY2(f.error().contains(QStringLiteral("not a regular file")), qPrintable(f.error()));
        QVERIFY(!(*SafeTensorsFile::open(dataPath(QStringLiteral("sd15-tiny/reference.safetensors"))))
                     ->view(QStringLiteral("missing")));
    }

    void loadConverts() {
        const QString path = tmp(QStringLiteral("convert.safetensors"));
        const at::Tensor f32 = at::randn({4, 5}, at::kFloat);
        const at::Tensor f16 = at::randn({7}, at::kFloat).to(at::kHalf);
        const at::Tensor bf16 = at::randn({7}, at::kFloat).to(at::kBFloat16);
        const at::Tensor i64 = at::arange(9, at::kLong);
        QVERIFY(writeSafeTensors(path, {{QStringLiteral("f32"), f32},
                                        {QStringLiteral("f16"), f16},
                                        {QStringLiteral("bf16"), bf16},
                                        {QStringLiteral("i64"), i64}}));
        auto file = SafeTensorsFile::open(path);
        QVERIFY2(file, qPrintable(file.error()));
        const SafeTensorsFile& f = **file;

        // Same dtype on the CPU: the view itself.
        auto same = f.load(QStringLiteral("f32"), at::kCPU, at::kFloat);
        QVERIFY(inside(same->data_ptr(), f));
        // F32 → F16: a fresh contiguous tensor, not aliasing the mapping.
        auto half = f.load(QStringLiteral("f32"), at::kCPU, at::kHalf);
        QVERIFY2(half, qPrintable(half.error()));
        QCOMPARE(half->scalar_type(), at::kHalf);
        QVERIFY(half->is_contiguous());
        QVERIFY(!inside(half->data_ptr(), f));
        QVERIFY(at::equal(*half, f32.to(at::kHalf)));
        half->zero_();
        QVERIFY(at::equal(*f.view(QStringLiteral("f32")), f32));
        // F16/BF16 → F32 are exact.
        QVERIFY(at::equal(*f.load(QStringLiteral("f16"), at::kCPU, at::kFloat), f16.to(at::kFloat)));
        QVERIFY(at::equal(*f.load(QStringLiteral("bf16"), at::kCPU, at::kFloat), bf16.to(at::kFloat)));
        QVERIFY(at::equal(*f.load(QStringLiteral("i64"), at::kCPU, at::kFloat), i64.to(at::kFloat)));
        QVERIFY(!f.load(QStringLiteral("absent"), at::kCPU, at::kFloat));

        if (at::hasCUDA()) {
            auto gpu = f.load(QStringLiteral("f32"), at::Device(at::kCUDA, 0), at::kHalf);
            QVERIFY2(gpu, qPrintable(gpu.error()));
            QVERIFY(gpu->is_cuda());
            QCOMPARE(gpu->scalar_type(), at::kHalf);
            QVERIFY(at::equal(gpu->cpu(), f32.to(at::kHalf)));
        }
    }

    // F8_E4M3 / F8_E5M2 files (Flux/SD 3.5 fp8 checkpoints): every code decodes to its exact value,
    // on every libtorch; where libtorch has float8 the file's tensors can also stay 8-bit.
    void fp8TensorsLoad() {
        // code → value, by the formats' definitions (OCP FP8: E4M3FN has no infinities and one NaN
        // pattern per sign; E5M2 is IEEE-like).
        const std::vector<std::pair<int, float>> e4m3 = {
            {0x00, 0.0f},         {0x38, 1.0f},    {0xb8, -1.0f},        {0x3c, 1.5f},
            {0x7e, 448.0f},       {0xfe, -448.0f}, {0x01, 0.001953125f}, {0x08, 0.015625f},
            {0x07, 0.013671875f}, {0x40, 2.0f},    {0x30, 0.5f}};
        const std::vector<std::pair<int, float>> e5m2 = {{0x00, 0.0f},
                                                         {0x3c, 1.0f},
                                                         {0xbc, -1.0f},
                                                         {0x7b, 57344.0f},
                                                         {0x01, 1.0f / 65536.0f},
                                                         {0x04, 1.0f / 16384.0f},
                                                         {0x3e, 1.5f}};
        QByteArray data;
        for (const auto& [code, value] : e4m3)
            data.append(char(code));
        data.append(char(0x7f)); // E4M3FN NaN
        const int e4m3Count = int(e4m3.size()) + 1;
        for (const auto& [code, value] : e5m2)
            data.append(char(code));
        data.append(char(0x7c)).append(char(0xfc)).append(char(0x7d)); // +inf, -inf, NaN
        const int e5m2Count = int(e5m2.size()) + 3;
        const QByteArray header =
            QStringLiteral("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[%1],\"data_offsets\":[0,%1]},"
                           "\"b\":{\"dtype\":\"F8_E5M2\",\"shape\":[%2],\"data_offsets\":[%1,%3]}}")
                .arg(e4m3Count)
                .arg(e5m2Count)
                .arg(e4m3Count + e5m2Count)
                .toUtf8();
        const QString path = tmp(QStringLiteral("fp8.safetensors"));
        QVERIFY(writeBytes(path, le64(quint64(header.size())) + header + data));
        auto file = SafeTensorsFile::open(path);
        QVERIFY2(file, qPrintable(file.error()));
        const SafeTensorsFile& f = **file;
        QCOMPARE(f.info(QStringLiteral("a"))->dtype, DType::F8_E4M3);

        for (const at::ScalarType type : {at::kFloat, at::kHalf, at::kBFloat16}) {
            const at::Tensor a = *f.load(QStringLiteral("a"), at::kCPU, type);
            const at::Tensor b = *f.load(QStringLiteral("b"), at::kCPU, type);
            QCOMPARE(a.scalar_type(), type);
            const at::Tensor af = a.to(at::kFloat), bf = b.to(at::kFloat);
            for (size_t i = 0; i < e4m3.size(); ++i)
                QCOMPARE(af[int64_t(i)].item<float>(), e4m3[i].second);
            QVERIFY(std::isnan(af[e4m3Count - 1].item<float>()));
            for (size_t i = 0; i < e5m2.size(); ++i)
                QCOMPARE(bf[int64_t(i)].item<float>(), e5m2[i].second);
            const int64_t inf = int64_t(e5m2.size());
            QVERIFY(std::isinf(bf[inf].item<float>()) && bf[inf].item<float>() > 0);
            QVERIFY(std::isinf(bf[inf + 1].item<float>()) && bf[inf + 1].item<float>() < 0);
            QVERIFY(std::isnan(bf[inf + 2].item<float>()));
        }
        // The table against libtorch's own float8 conversion, all 256 codes (libtorch 2.1+).
        for (const DType format : {DType::F8_E4M3, DType::F8_E5M2}) {
            const auto type = fp8ScalarType(format);
            QCOMPARE(type.has_value(), fp8StorageAvailable());
            if (!type)
                continue;
            const at::Tensor codes = at::arange(256, at::kInt).to(at::kByte);
            const at::Tensor native = codes.view(*type).to(at::kFloat);
            QVERIFY(at::equal(native.isnan(), fp8DecodeTable(format).isnan()));
            QVERIFY(at::equal(native.nan_to_num(0), fp8DecodeTable(format).nan_to_num(0)));
            // Kept 8-bit: the file's codes as a float8 tensor.
            const at::Tensor kept = *f.load(QStringLiteral("a"), at::kCPU, *fp8ScalarType(DType::F8_E4M3));
            QCOMPARE(kept.scalar_type(), *fp8ScalarType(DType::F8_E4M3));
            QCOMPARE(kept.element_size(), int64_t(1));
            if (at::hasCUDA()) {
                const at::Tensor gpu = *f.load(QStringLiteral("b"), at::Device(at::kCUDA, 0), at::kHalf);
                QVERIFY(gpu.is_cuda());
                QVERIFY(at::equal(gpu.cpu().nan_to_num(0),
                                  f.load(QStringLiteral("b"), at::kCPU, at::kHalf)->nan_to_num(0)));
            }
        }
        QVERIFY(isFp8(at::kFloat) == false);
    }

    void writerRoundTripsAllDTypes() {
        const QString path = tmp(QStringLiteral("roundtrip.safetensors"));
        const auto tensors = sampleTensors();
        const QMap<QString, QString> meta{
            {QStringLiteral("format"), QStringLiteral("pt")},
            {QStringLiteral("note"), QStringLiteral("tab\there \"q\" \xc3\xa9")}};
        const tp::Status st = writeSafeTensors(path, tensors, meta);
        QVERIFY2(st, qPrintable(st.error()));
        auto f = SafeTensorsFile::open(path);
        QVERIFY2(f, qPrintable(f.error()));
        QCOMPARE((*f)->metadata(), meta);
        QCOMPARE(int((*f)->names().size()), int(tensors.size()));
        // Header padded to 8 bytes; every tensor aligned for its dtype.
        QCOMPARE((*f)->header().dataOffset % 8, qint64(0));
        for (const auto& [name, tensor] : tensors) {
            const TensorInfo* info = (*f)->info(name);
            QVERIFY2(info, qPrintable(name));
            QCOMPARE(info->begin % dtypeSize(info->dtype), qint64(0));
            QCOMPARE(toScalarType(info->dtype), tensor.scalar_type());
            const auto v = (*f)->view(name);
            QVERIFY2(v, qPrintable(v.error()));
            QCOMPARE(v->sizes().vec(), tensor.sizes().vec());
            QVERIFY2(at::equal(*v, tensor), qPrintable(name));
            if (tensor.numel() > 0)
                QVERIFY(inside(v->data_ptr(), **f));
        }
        // Padding is spaces, as the Python library writes.
        const QByteArray bytes = readBytes(path);
        const QByteArray json = bytes.mid(8, int((*f)->header().headerLength));
        const int close = json.lastIndexOf('}');
        QVERIFY(close > 0);
        QCOMPARE(json.mid(close + 1), QByteArray(json.size() - close - 1, ' '));
    }

    // The reference files were written by Python's safetensors: writing their tensors back
    // gives the same bytes (same order, header spelling and padding).
    void writerMatchesPythonBytes_data() {
        QTest::addColumn<QString>("file");
        QTest::newRow("reference") << QStringLiteral("sd15-tiny/reference.safetensors");
        QTest::newRow("text encoder") << QStringLiteral("sd15-tiny/pipeline/text_encoder/model.safetensors");
        QTest::newRow("vae") << QStringLiteral("sd15-tiny/pipeline/vae/diffusion_pytorch_model.safetensors");
    }

    void writerMatchesPythonBytes() {
        QFETCH(QString, file);
        auto f = SafeTensorsFile::open(dataPath(file));
        QVERIFY2(f, qPrintable(f.error()));
        std::vector<std::pair<QString, at::Tensor>> tensors;
        for (const QString& name : (*f)->names())
            tensors.emplace_back(name, *(*f)->view(name));
        const QString out = tmp(QStringLiteral("rewritten.safetensors"));
        QVERIFY(writeSafeTensors(out, tensors, (*f)->metadata()));
        QCOMPARE(readBytes(out), readBytes(dataPath(file)));
    }

    void writerRejects() {
        const QString path = tmp(QStringLiteral("reject.safetensors"));
        const at::Tensor t = at::ones({2});
        tp::Status st = writeSafeTensors(path, {{QStringLiteral("a"), t}, {QStringLiteral("a"), t}});
        QVERIFY(!st);
        QVERIFY(st.error().contains(QStringLiteral("tensor 'a' is given twice")));
        st = writeSafeTensors(path, {{QStringLiteral("__metadata__"), t}});
        QVERIFY(st.error().contains(QStringLiteral("cannot write a tensor named '__metadata__'")));
        st = writeSafeTensors(path, {{QStringLiteral("u"), at::Tensor()}});
        QVERIFY(st.error().contains(QStringLiteral("tensor 'u' is undefined")));
        st = writeSafeTensors(path, {{QStringLiteral("c"), at::ones({2}, at::kComplexFloat)}});
        QVERIFY2(st.error().contains(
                     QStringLiteral("tensor 'c' has type ComplexFloat, which safetensors cannot hold")),
                 qPrintable(st.error()));
        QVERIFY(!QFile::exists(path));
        st = writeSafeTensors(tmp(QStringLiteral("no/such/dir/x.safetensors")), {{QStringLiteral("a"), t}});
        QVERIFY(!st);
        QVERIFY2(st.error().startsWith(QStringLiteral("Cannot write ")), qPrintable(st.error()));
    }

    void writerIsAtomic() {
        const QString path = tmp(QStringLiteral("atomic.safetensors"));
        QVERIFY(writeSafeTensors(path, {{QStringLiteral("a"), at::ones({3})}}));
        const QByteArray before = readBytes(path);
        // A failing write (undefined tensor) leaves the old file as it was.
        QVERIFY(!writeSafeTensors(
            path, {{QStringLiteral("b"), at::ones({3})}, {QStringLiteral("u"), at::Tensor()}}));
        QCOMPARE(readBytes(path), before);
        // Overwriting a file that is mapped keeps existing views valid (a new inode replaces it).
        auto f = SafeTensorsFile::open(path);
        const at::Tensor v = *(*f)->view(QStringLiteral("a"));
        QVERIFY(writeSafeTensors(path, {{QStringLiteral("a"), at::zeros({3})}}));
        QVERIFY(at::equal(v, at::ones({3})));
        QVERIFY(at::equal(*(*SafeTensorsFile::open(path))->view(QStringLiteral("a")), at::zeros({3})));
    }

    // A full disk, simulated with a file size limit (writes past it fail with EFBIG).
    void writerReportsWriteFailure() {
        const QString path = tmp(QStringLiteral("full.safetensors"));
        QVERIFY(writeSafeTensors(path, {{QStringLiteral("a"), at::ones({3})}}));
        const QByteArray before = readBytes(path);
        rlimit old{};
        QCOMPARE(getrlimit(RLIMIT_FSIZE, &old), 0);
        const auto oldHandler = std::signal(SIGXFSZ, SIG_IGN);
        rlimit small = old;
        small.rlim_cur = 64 * 1024;
        QCOMPARE(setrlimit(RLIMIT_FSIZE, &small), 0);
        const tp::Status st = writeSafeTensors(path, {{QStringLiteral("big"), at::ones({1024, 1024})}});
        setrlimit(RLIMIT_FSIZE, &old);
        std::signal(SIGXFSZ, oldHandler);
        QVERIFY(!st);
        QVERIFY2(st.error().startsWith(QStringLiteral("Cannot write ") + path), qPrintable(st.error()));
        QVERIFY2(st.error().contains(QStringLiteral("Is the disk full? Nothing was changed.")),
                 qPrintable(st.error()));
        QCOMPARE(readBytes(path), before);
        QCOMPARE(QDir(m_dir.path()).entryList({QStringLiteral("full.safetensors*")}, QDir::Files),
                 QStringList{QStringLiteral("full.safetensors")});
    }

    void shardedArchive() {
        QTemporaryDir dir;
        const QString s1 = dir.filePath(QStringLiteral("model-00001-of-00002.safetensors"));
        const QString s2 = dir.filePath(QStringLiteral("model-00002-of-00002.safetensors"));
        const at::Tensor a = at::randn({8, 4}).to(at::kHalf), b = at::randn({4}).to(at::kHalf);
        const at::Tensor c = at::randn({3, 3}, at::kFloat), ids = at::arange(5, at::kLong);
        QVERIFY(writeSafeTensors(s1, {{QStringLiteral("layer.0.w"), a}, {QStringLiteral("layer.0.b"), b}},
                                 {{QStringLiteral("format"), QStringLiteral("pt")}}));
        QVERIFY(writeSafeTensors(s2, {{QStringLiteral("layer.1.w"), c}, {QStringLiteral("pos"), ids}}));
        QJsonObject map;
        map.insert(QStringLiteral("layer.0.w"), QStringLiteral("model-00001-of-00002.safetensors"));
        map.insert(QStringLiteral("layer.0.b"), QStringLiteral("model-00001-of-00002.safetensors"));
        map.insert(QStringLiteral("layer.1.w"), QStringLiteral("model-00002-of-00002.safetensors"));
        map.insert(QStringLiteral("pos"), QStringLiteral("model-00002-of-00002.safetensors"));
        QJsonObject root{{QStringLiteral("metadata"), QJsonObject{{QStringLiteral("total_size"), 148}}},
                         {QStringLiteral("weight_map"), map}};
        const QString index = dir.filePath(QStringLiteral("model.safetensors.index.json"));
        QVERIFY(writeBytes(index, QJsonDocument(root).toJson()));

        auto archive = SafeTensorsArchive::open(index);
        QVERIFY2(archive, qPrintable(archive.error()));
        QCOMPARE(archive->names(), (QStringList{QStringLiteral("layer.0.b"), QStringLiteral("layer.0.w"),
                                                QStringLiteral("layer.1.w"), QStringLiteral("pos")}));
        QCOMPARE(int(archive->files().size()), 2);
        QVERIFY(archive->contains(QStringLiteral("pos")));
        QVERIFY(!archive->contains(QStringLiteral("nope")));
        QCOMPARE(archive->info(QStringLiteral("layer.1.w"))->dtype, DType::F32);
        QCOMPARE(archive->fileOf(QStringLiteral("pos"))->path(), s2);
        QVERIFY(at::equal(*archive->view(QStringLiteral("layer.0.w")), a));
        QVERIFY(at::equal(*archive->view(QStringLiteral("pos")), ids));
        QVERIFY(
            at::equal(*archive->load(QStringLiteral("layer.0.b"), at::kCPU, at::kFloat), b.to(at::kFloat)));
        QVERIFY(!archive->view(QStringLiteral("nope")));
        QCOMPARE(archive->totalBytes(), qint64(64 + 8 + 36 + 40));
        QCOMPARE(archive->bytesByDType().value(DType::F16), qint64(72));
        QCOMPARE(archive->dominantDType(), DType::F16); // 72 bytes of F16 beat 36 of F32; I64 is not a float
        QCOMPARE(archive->metadata().value(QStringLiteral("total_size")), QStringLiteral("148"));
        QCOMPARE(archive->metadata().value(QStringLiteral("format")), QStringLiteral("pt"));

        // The index names a tensor its shard lacks.
        map.insert(QStringLiteral("layer.2.w"), QStringLiteral("model-00002-of-00002.safetensors"));
        root.insert(QStringLiteral("weight_map"), map);
        QVERIFY(writeBytes(index, QJsonDocument(root).toJson()));
        archive = SafeTensorsArchive::open(index);
        QVERIFY(!archive);
        QVERIFY2(archive.error().contains(
                     QStringLiteral("model.safetensors.index.json: names tensor 'layer.2.w' in "
                                    "model-00002-of-00002.safetensors, but that shard does not "
                                    "hold it")),
                 qPrintable(archive.error()));

        // A shard is missing.
        map.remove(QStringLiteral("layer.2.w"));
        map.insert(QStringLiteral("layer.3.w"), QStringLiteral("model-00003-of-00003.safetensors"));
        root.insert(QStringLiteral("weight_map"), map);
        QVERIFY(writeBytes(index, QJsonDocument(root).toJson()));
        archive = SafeTensorsArchive::open(index);
        QVERIFY(!archive);
        QVERIFY2(archive.error().contains(QStringLiteral("model-00003-of-00003.safetensors: cannot open")),
                 qPrintable(archive.error()));
        QVERIFY(archive.error().contains(QStringLiteral("a shard named by")));
    }

    void singleFileArchive() {
        auto archive = SafeTensorsArchive::open(
            dataPath(QStringLiteral("sd15-tiny/pipeline/unet/diffusion_pytorch_model.safetensors")));
        QVERIFY2(archive, qPrintable(archive.error()));
        QCOMPARE(archive->dominantDType(), DType::F32);
        QCOMPARE(archive->metadata().value(QStringLiteral("format")), QStringLiteral("pt"));
        const TensorInfo* w = archive->info(QStringLiteral("conv_in.weight"));
        QVERIFY(w);
        QCOMPARE(w->shape, (std::vector<qint64>{32, 4, 3, 3}));
        QCOMPARE(archive->totalBytes(), archive->files().front()->header().tensorBytes());
        QVERIFY(archive->totalBytes() > 8'000'000);
        QVERIFY(!SafeTensorsArchive::open(tmp(QStringLiteral("missing.safetensors"))));
    }
};

QTEST_GUILESS_MAIN(TestSafeTensors)
#include "tst_safetensors.moc"
