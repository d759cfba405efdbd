// The files that complete a transformer-only SD 3.x or Flux checkpoint (core/io/Companions.h),
// at the real models' widths (sparse files: real headers over holes): recognised by their
// tensors whatever their names, looked for in ComfyUI's and Forge's folders, chosen by what fits
// the transformer (CLIP-L for Flux, not CLIP-G; T5 of its context width; fp16 before fp8; the VAE
// whose name fits the family), given files first; the catalogue lists the checkpoint as usable with
// them, not the files themselves, and names what is missing otherwise. Torch-free.
#include "core/io/Companions.h"
#include "core/io/ModelCatalogue.h"
#include "core/io/SingleFileCheckpoint.h"
#include "tests/io/FakeCheckpoints.h"

#include <QDir>
#include <QTemporaryDir>
#include <QtTest>

using namespace tp;
using namespace tp::io;
using namespace tp::test;

namespace {

// The tensors of `all` under `prefix`, without it: a part as its own file (ComfyUI's clip_l,
// t5xxl, ae), in `dtype` when given.
std::vector<FakeTensor> part(const std::vector<FakeTensor>& all, const QString& prefix,
                             const QString& dtype = {}) {
    std::vector<FakeTensor> out;
    for (const FakeTensor& t : all)
        if (t.name.startsWith(prefix))
            out.push_back({t.name.mid(prefix.size()), dtype.isEmpty() ? t.dtype : dtype, t.shape});
    return out;
}

// `all` without the parts under these prefixes.
std::vector<FakeTensor> without(const std::vector<FakeTensor>& all, const QStringList& prefixes) {
    std::vector<FakeTensor> out;
    for (const FakeTensor& t : all)
        if (std::none_of(prefixes.begin(), prefixes.end(),
                         [&](const QString& p) { return t.name.startsWith(p); }))
            out.push_back(t);
    return out;
}

const QString kClipL = QStringLiteral("text_encoders.clip_l.transformer.");
const QString kClipG = QStringLiteral("text_encoders.clip_g.transformer.");
const QString kT5 = QStringLiteral("text_encoders.t5xxl.transformer.");
const QString kVae = QStringLiteral("first_stage_model.");

FakeDitOptions realWidths() {
    FakeDitOptions d;
    d.clipLWidth = 768;
    d.clipGWidth = 1280;
    d.t5Width = 4096;
    return d;
}

std::vector<FakeTensor> flux() {
    FakeDitOptions d = realWidths();
    d.prefix.clear();
    d.hidden = 256;
    d.headDim = 128;
    return fakeFluxTensors(d);
}

std::vector<FakeTensor> sd3() {
    return fakeSd3Tensors(realWidths());
}

} // namespace

class TestCompanions final : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

    QString write(const QString& relative, const std::vector<FakeTensor>& tensors) {
        const QString path = m_dir.filePath(relative);
        QDir().mkpath(QFileInfo(path).path());
        if (!writeSparseSafeTensors(path, tensors))
            qFatal("cannot write %s", qPrintable(path));
        return path;
    }
    static SingleFileCheckpoint open(const QString& path, const SingleFileOptions& options = {}) {
        auto c = SingleFileCheckpoint::open(path, options);
        if (!c)
            qFatal("%s", qPrintable(c.error()));
        return std::move(*c);
    }
    static QString companionOf(const SingleFileCheckpoint& c, const char* component) {
        for (const CompanionUse& u : c.companions())
            if (u.component == QLatin1String(component))
                return QFileInfo(u.path).fileName();
        return {};
    }

    // A ComfyUI models/ tree: Flux dev and an SD 3 transformer-only file, ComfyUI's text encoders
    // (fp16 and fp8 T5) and two 16-channel VAEs.
    QString comfyTree(const QString& name) {
        const QString root = name + QStringLiteral("/models/");
        const auto f = flux();
        const auto s = sd3();
        write(root + QStringLiteral("diffusion_models/flux1-dev.safetensors"),
              without(f, {kClipL, kT5, kVae}));
        write(root + QStringLiteral("checkpoints/sd3.5_large.safetensors"),
              without(s, {kClipL, kClipG, kT5, kVae}));
        write(root + QStringLiteral("text_encoders/clip_l.safetensors"), part(s, kClipL));
        write(root + QStringLiteral("text_encoders/clip_g.safetensors"), part(s, kClipG));
        write(root + QStringLiteral("text_encoders/t5xxl_fp8_e4m3fn.safetensors"),
              part(s, kT5, QStringLiteral("F8_E4M3")));
        write(root + QStringLiteral("text_encoders/t5xxl_fp16.safetensors"),
              part(s, kT5, QStringLiteral("F16")));
        write(root + QStringLiteral("vae/ae.safetensors"), part(f, kVae));
        write(root + QStringLiteral("vae/sd3_vae.safetensors"), part(s, kVae));
        QDir().mkpath(m_dir.filePath(root + QStringLiteral("loras")));
        return m_dir.filePath(root);
    }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    // By tensors, not names: 768 wide is CLIP-L, 1280 CLIP-G, encoder.block.* T5, a 16-channel LDM
    // VAE a VAE; checkpoints are none.
    void identifiesByContents() {
        const auto s = sd3();
        const auto f = flux();
        const auto kind = [&](const QString& name, const std::vector<FakeTensor>& tensors) {
            auto c = identifyCompanionFile(write(QStringLiteral("identify/") + name, tensors));
            if (!c)
                qFatal("%s", qPrintable(c.error()));
            return *c;
        };
        const auto l = kind(QStringLiteral("model.safetensors"), part(s, kClipL));
        QVERIFY(l);
        QCOMPARE(l->kind, CompanionKind::ClipL);
        QCOMPARE(l->width, qint64(768));
        QCOMPARE(l->projection, qint64(0));
        const auto g = kind(QStringLiteral("te2.safetensors"), part(s, kClipG));
        QVERIFY(g);
        QCOMPARE(g->kind, CompanionKind::ClipG);
        QCOMPARE(g->projection, qint64(1280));
        const auto t5 = kind(QStringLiteral("encoder.safetensors"), part(s, kT5, QStringLiteral("F16")));
        QVERIFY(t5);
        QCOMPARE(t5->kind, CompanionKind::T5);
        QCOMPARE(t5->width, qint64(4096));
        QVERIFY(!t5->fp8);
        const auto vae = kind(QStringLiteral("diffusion_pytorch_model.safetensors"), part(f, kVae));
        QVERIFY(vae);
        QCOMPARE(vae->kind, CompanionKind::Vae);
        QCOMPARE(vae->width, qint64(16));
        QVERIFY(!kind(QStringLiteral("flux1-dev.safetensors"), without(f, {kClipL, kT5, kVae})));
        QVERIFY(!kind(QStringLiteral("sd3_medium_incl_clips.safetensors"), s));
        QVERIFY(!kind(QStringLiteral("v1-5.safetensors"), fakeCheckpointTensors(FakeCheckpointKind::SD1)));
    }

    void foldersOfComfyUiAndForge() {
        const QString comfy = comfyTree(QStringLiteral("folders"));
        QCOMPARE(companionFolders(comfy + QStringLiteral("diffusion_models/flux1-dev.safetensors")),
                 (QStringList{comfy + QStringLiteral("diffusion_models"),
                              comfy + QStringLiteral("text_encoders"), comfy + QStringLiteral("vae")}));
        const QString forge = m_dir.filePath(QStringLiteral("forge/models/"));
        for (const char* sub : {"Stable-diffusion", "text_encoder", "VAE", "Lora", "clip"})
            QDir().mkpath(forge + QLatin1String(sub));
        QCOMPARE(companionFolders(forge + QStringLiteral("Stable-diffusion/x.safetensors")),
                 (QStringList{forge + QStringLiteral("Stable-diffusion"), forge + QStringLiteral("clip"),
                              forge + QStringLiteral("text_encoder"), forge + QStringLiteral("VAE")}));
    }

    // What fits the transformer is taken: Flux's CLIP-L (not CLIP-G), the fp16 T5 before the fp8
    // one, ae.safetensors for Flux and the SD 3 VAE for SD 3 (same shapes; the names tell).
    void choosesWhatFits() {
        const QString models = comfyTree(QStringLiteral("choose"));
        const SingleFileCheckpoint f =
            open(models + QStringLiteral("diffusion_models/flux1-dev.safetensors"));
        QVERIFY2(f.supported(), qPrintable(f.problem()));
        QCOMPARE(f.variant(), QStringLiteral("transformer only"));
        QCOMPARE(f.components(),
                 (QStringList{QStringLiteral("text_encoder"), QStringLiteral("text_encoder_2"),
                              QStringLiteral("transformer"), QStringLiteral("vae")}));
        QCOMPARE(companionOf(f, "text_encoder"), QStringLiteral("clip_l.safetensors"));
        QCOMPARE(companionOf(f, "text_encoder_2"), QStringLiteral("t5xxl_fp16.safetensors"));
        QCOMPARE(companionOf(f, "vae"), QStringLiteral("ae.safetensors"));
        QCOMPARE(f.mapping(QStringLiteral("vae"))->file, models + QStringLiteral("vae/ae.safetensors"));
        QCOMPARE(f.mapping(QStringLiteral("vae"))->config.value(QStringLiteral("scaling_factor")).toDouble(),
                 0.3611);
        QCOMPARE(f.mapping(QStringLiteral("transformer"))->file, QString());
        QVERIFY(!f.companions().front().given);

        const SingleFileCheckpoint s = open(models + QStringLiteral("checkpoints/sd3.5_large.safetensors"));
        QVERIFY2(s.supported(), qPrintable(s.problem()));
        QCOMPARE(companionOf(s, "text_encoder"), QStringLiteral("clip_l.safetensors"));
        QCOMPARE(companionOf(s, "text_encoder_2"), QStringLiteral("clip_g.safetensors"));
        QCOMPARE(companionOf(s, "text_encoder_3"), QStringLiteral("t5xxl_fp16.safetensors"));
        QCOMPARE(companionOf(s, "vae"), QStringLiteral("sd3_vae.safetensors"));
        QCOMPARE(s.mapping(QStringLiteral("vae"))->config.value(QStringLiteral("scaling_factor")).toDouble(),
                 1.5305);

        // A T5 of another width is not taken. No T5 that fits: SD 3 runs without it (a note says
        // where it would go), Flux cannot.
        QVERIFY(QFile::remove(models + QStringLiteral("text_encoders/t5xxl_fp16.safetensors")));
        QVERIFY(QFile::remove(models + QStringLiteral("text_encoders/t5xxl_fp8_e4m3fn.safetensors")));
        FakeDitOptions base = realWidths();
        base.t5Width = 768;
        write(QStringLiteral("choose/models/text_encoders/t5_base.safetensors"),
              part(fakeSd3Tensors(base), kT5));
        const SingleFileCheckpoint noT5 =
            open(models + QStringLiteral("checkpoints/sd3.5_large.safetensors"));
        QVERIFY2(noT5.supported(), qPrintable(noT5.problem()));
        QVERIFY(!noT5.components().contains(QStringLiteral("text_encoder_3")));
        QVERIFY2(
            noT5.notes()
                .join(QLatin1Char(' '))
                .contains(
                    QStringLiteral("to use it, put t5xxl_fp16.safetensors in %1text_encoders").arg(models)),
            qPrintable(noT5.notes().join(QLatin1Char(' '))));
        const SingleFileCheckpoint fluxNoT5 =
            open(models + QStringLiteral("diffusion_models/flux1-dev.safetensors"));
        QVERIFY(!fluxNoT5.supported());
        QCOMPARE(fluxNoT5.missingParts(), QStringList{QStringLiteral("T5-XXL")});
        QVERIFY2(
            fluxNoT5.problem().contains(
                QStringLiteral(
                    "flux1-dev.safetensors holds only the Flux transformer, not T5-XXL "
                    "(t5xxl_fp16.safetensors or "
                    "t5xxl_fp8_e4m3fn.safetensors), which come as separate files: put the text encoders in %1"
                    "text_encoders or next to the file")
                    .arg(models)),
            qPrintable(fluxNoT5.problem()));
    }

    // Given files win over found ones and over the checkpoint's own.
    void givenFilesFirst() {
        const QString models = comfyTree(QStringLiteral("given"));
        SingleFileOptions options;
        options.textEncoderFiles = {write(QStringLiteral("elsewhere/my_t5.safetensors"), part(sd3(), kT5))};
        const SingleFileCheckpoint f =
            open(models + QStringLiteral("diffusion_models/flux1-dev.safetensors"), options);
        QVERIFY2(f.supported(), qPrintable(f.problem()));
        QCOMPARE(companionOf(f, "text_encoder_2"), QStringLiteral("my_t5.safetensors"));
        QCOMPARE(f.companionFiles().size(), 3);
        for (const CompanionUse& u : f.companions())
            QCOMPARE(u.given, u.component == QLatin1String("text_encoder_2"));

        // The SAI file with its text encoders: a given T5 replaces its own.
        const QString full =
            write(QStringLiteral("given/models/checkpoints/sd3_medium_incl_clips_t5.safetensors"), sd3());
        const SingleFileCheckpoint own = open(full);
        QVERIFY(own.companions().empty());
        const SingleFileCheckpoint replaced = open(full, options);
        QCOMPARE(replaced.companionFiles(), options.textEncoderFiles);
        QCOMPARE(replaced.mapping(QStringLiteral("text_encoder_3"))->prefix, QString());

        // Nothing is looked for when asked not to.
        SingleFileOptions none;
        none.findCompanions = false;
        QVERIFY(!open(models + QStringLiteral("diffusion_models/flux1-dev.safetensors"), none).supported());
    }

    // ComfyUI's t5xxl_fp8_e4m3fn.safetensors is a T5 (its tensors say so, F8_E4M3); with the fp16
    // one beside it, the fp16 one is taken; alone, or given, the fp8 one.
    void fp8TextEncoder() {
        const QString models = comfyTree(QStringLiteral("fp8"));
        const QString fp8 = models + QStringLiteral("text_encoders/t5xxl_fp8_e4m3fn.safetensors");
        if (const Result<Header> h = readSafeTensorsHeader(fp8); !h)
            QSKIP(qPrintable(
                QStringLiteral("this build does not read F8_E4M3 tensors yet: %1").arg(h.error())));
        const auto t5 = identifyCompanionFile(fp8);
        QVERIFY2(t5, qPrintable(t5.error()));
        QVERIFY(*t5 && (*t5)->kind == CompanionKind::T5 && (*t5)->fp8);
        const QString flux = models + QStringLiteral("diffusion_models/flux1-dev.safetensors");
        QCOMPARE(companionOf(open(flux), "text_encoder_2"), QStringLiteral("t5xxl_fp16.safetensors"));
        SingleFileOptions given;
        given.textEncoderFiles = {fp8};
        QCOMPARE(companionOf(open(flux, given), "text_encoder_2"),
                 QStringLiteral("t5xxl_fp8_e4m3fn.safetensors"));
        QVERIFY(QFile::remove(models + QStringLiteral("text_encoders/t5xxl_fp16.safetensors")));
        QCOMPARE(companionOf(open(flux), "text_encoder_2"), QStringLiteral("t5xxl_fp8_e4m3fn.safetensors"));
        // Not a model of its own in the catalogue.
        const ModelCatalogue c = ModelCatalogue::scan({models}, {}, QString());
        QCOMPARE(c.models().size(), 2);
        QVERIFY(!c.find(QStringLiteral("t5xxl_fp8_e4m3fn")));
    }

    // The catalogue lists the checkpoints as usable with their companions (sizes included) and
    // leaves the text encoder and VAE files out; a lone Flux file says what it lacks.
    void catalogue() {
        const QString models = comfyTree(QStringLiteral("catalogue"));
        QFile::remove(models +
                      QStringLiteral("text_encoders/t5xxl_fp8_e4m3fn.safetensors")); // fp8TextEncoder()
        const QString lonely =
            write(QStringLiteral("lonely/flux1-schnell.safetensors"), without(flux(), {kClipL, kT5, kVae}));
        const ModelCatalogue c = ModelCatalogue::scan({models, QFileInfo(lonely).path()}, {}, QString());
        QStringList names;
        for (const ModelInfo& m : c.models())
            names << m.name;
        names.sort();
        QCOMPARE(names, (QStringList{QStringLiteral("flux1-dev"), QStringLiteral("flux1-schnell"),
                                     QStringLiteral("sd3.5_large")}));
        const ModelInfo* dev = c.find(QStringLiteral("flux1-dev"));
        QVERIFY(dev);
        QVERIFY2(dev->supported, qPrintable(dev->problem));
        QCOMPARE(dev->companions.size(), 3);
        qint64 sum = QFileInfo(dev->folder).size();
        for (const QString& f : dev->companions)
            sum += QFileInfo(f).size();
        QCOMPARE(dev->sizeBytes, sum);
        QCOMPARE(dev->t5Bytes, qint64(0)); // Flux cannot run without its T5: no figure for the hint
        const ModelInfo* sd35 = c.find(QStringLiteral("sd3.5_large"));
        QVERIFY(sd35 && sd35->supported);
        // T5's weights in half precision: its tensors' elements × 2 bytes.
        qint64 t5 = 0;
        for (const FakeTensor& t : part(sd3(), kT5)) {
            qint64 n = 1;
            for (qint64 d : t.shape)
                n *= d;
            t5 += 2 * n;
        }
        QCOMPARE(sd35->t5Bytes, t5);
        const ModelInfo* schnell = c.find(QStringLiteral("flux1-schnell"));
        QVERIFY(schnell && !schnell->supported);
        QCOMPARE(schnell->missingParts,
                 (QStringList{QStringLiteral("CLIP-L"), QStringLiteral("T5-XXL"), QStringLiteral("VAE")}));
        QVERIFY2(schnell->problem.contains(QStringLiteral("put the VAE in %1/vae and the text encoders in %1/"
                                                          "text_encoders, or both next to the file")
                                               .arg(QFileInfo(QFileInfo(lonely).path()).path())),
                 qPrintable(schnell->problem));

        // Given files make a lone file usable; the catalogue resolves it with them.
        SingleFileOptions given;
        given.textEncoderFiles = {models + QStringLiteral("text_encoders/clip_l.safetensors"),
                                  models + QStringLiteral("text_encoders/t5xxl_fp16.safetensors")};
        given.vaeFile = models + QStringLiteral("vae/ae.safetensors");
        const Result<ModelInfo> resolved = c.resolve(QStringLiteral("flux1-schnell"), given);
        QVERIFY2(resolved, qPrintable(resolved.error()));
        QVERIFY2(resolved->supported, qPrintable(resolved->problem));
        QCOMPARE(resolved->companions.size(), 3);
    }
};

QTEST_GUILESS_MAIN(TestCompanions)
#include "tst_companions.moc"
