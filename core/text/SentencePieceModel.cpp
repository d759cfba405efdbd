#include "core/text/SentencePieceModel.h"

#include "core/common/Log.h"

#include <QDir>
#include <QFileInfo>
#include <QStringList>

#include <dlfcn.h>

#include <array>

#ifndef TP_SENTENCEPIECE_MODULE_NAME
#define TP_SENTENCEPIECE_MODULE_NAME "libtwistedpic_sentencepiece.so"
#endif

namespace tp::text {

namespace {

constexpr int kInterfaceVersion = 1;
constexpr size_t kErrorCapacity = 512;

struct Module {
    QString path;
    QString error;
    int (*version)() = nullptr;
    void* (*load)(const char*, size_t, char*, size_t) = nullptr;
    void (*free)(void*) = nullptr;
    int (*encode)(const void*, const char*, size_t, int*, int, char*, size_t) = nullptr;
    int (*pieceCount)(const void*) = nullptr;
    int (*pieceToId)(const void*, const char*, size_t) = nullptr;
    int (*idToPiece)(const void*, int, char*, size_t) = nullptr;
    int (*isUnknown)(const void*, int) = nullptr;
    bool ok() const { return error.isEmpty(); }
};

QStringList candidates() {
    QStringList paths;
    const QString env = qEnvironmentVariable("TWISTEDPIC_SENTENCEPIECE_MODULE");
    if (!env.isEmpty())
        paths << env;
    const QString exe = QFileInfo(QStringLiteral("/proc/self/exe")).canonicalFilePath();
    const QString module = QStringLiteral(TP_SENTENCEPIECE_MODULE_NAME);
#ifdef TP_INSTALL_LIBDIR
    if (!exe.isEmpty())
        paths << QFileInfo(exe).dir().filePath(QStringLiteral("../" TP_INSTALL_LIBDIR "/twistedpic/") +
                                               module);
#endif
#ifdef TP_SENTENCEPIECE_BUILD_DIR
    paths << QStringLiteral(TP_SENTENCEPIECE_BUILD_DIR "/") + module;
#endif
#ifdef TP_SENTENCEPIECE_INSTALL_DIR
    paths << QStringLiteral(TP_SENTENCEPIECE_INSTALL_DIR "/") + module;
#endif
    return paths;
}

template <typename F> bool resolve(void* handle, const char* name, F& function, QString& error) {
    function = reinterpret_cast<F>(dlsym(handle, name));
    if (!function)
        error = QStringLiteral("it lacks %1").arg(QLatin1String(name));
    return function != nullptr;
}

Module openModule() {
    Module m;
    QStringList tried;
    for (const QString& path : candidates()) {
        if (!QFileInfo(path).isFile()) {
            tried << QStringLiteral("%1 (absent)").arg(path);
            continue;
        }
        // RTLD_LOCAL keeps libsentencepiece's protobuf symbols away from libtorch's libprotobuf;
        // RTLD_DEEPBIND makes libsentencepiece use its own copy before the program's.
        void* handle = dlopen(QFile::encodeName(path).constData(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
        if (!handle) {
            tried << QStringLiteral("%1 (%2)").arg(path, QString::fromLocal8Bit(dlerror()));
            continue;
        }
        QString problem;
        const bool resolved = resolve(handle, "tp_spm_interface_version", m.version, problem) &&
                              resolve(handle, "tp_spm_load", m.load, problem) &&
                              resolve(handle, "tp_spm_free", m.free, problem) &&
                              resolve(handle, "tp_spm_encode", m.encode, problem) &&
                              resolve(handle, "tp_spm_piece_count", m.pieceCount, problem) &&
                              resolve(handle, "tp_spm_piece_to_id", m.pieceToId, problem) &&
                              resolve(handle, "tp_spm_id_to_piece", m.idToPiece, problem) &&
                              resolve(handle, "tp_spm_is_unknown", m.isUnknown, problem);
        if (resolved && m.version() != kInterfaceVersion)
            problem =
                QStringLiteral("interface version %1, expected %2").arg(m.version()).arg(kInterfaceVersion);
        if (!problem.isEmpty()) {
            tried << QStringLiteral("%1 (%2)").arg(path, problem);
            dlclose(handle);
            continue;
        }
        m.path = path;
        spdlog::debug("SentencePiece module: {}", path.toStdString());
        return m; // stays loaded for the life of the process
    }
    m.error = QStringLiteral(
                  "the SentencePiece module %1 (T5's tokenizer) could not be loaded; tried: %2. Install "
                  "TwistedPic again (with libsentencepiece0), or set TWISTEDPIC_SENTENCEPIECE_MODULE to its "
                  "path")
                  .arg(QStringLiteral(TP_SENTENCEPIECE_MODULE_NAME), tried.join(QStringLiteral("; ")));
    return m;
}

const Module& module() {
    static const Module m = openModule(); // thread-safe initialisation
    return m;
}

} // namespace

Result<QString> SentencePieceModel::modulePath() {
    const Module& m = module();
    return m.ok() ? Result<QString>::ok(m.path) : Result<QString>::fail(m.error);
}

Result<std::shared_ptr<const SentencePieceModel>> SentencePieceModel::load(const QByteArray& serialized,
                                                                           const QString& origin) {
    using R = Result<std::shared_ptr<const SentencePieceModel>>;
    const Module& m = module();
    if (!m.ok())
        return R::fail(m.error);
    std::array<char, kErrorCapacity> error{};
    void* handle = m.load(serialized.constData(), size_t(serialized.size()), error.data(), error.size());
    if (!handle)
        return R::fail(QStringLiteral("%1 is not a SentencePiece model (%2)")
                           .arg(origin, QString::fromUtf8(error.data())));
    return R::ok(std::shared_ptr<const SentencePieceModel>(new SentencePieceModel(handle)));
}

SentencePieceModel::~SentencePieceModel() {
    module().free(m_handle);
}

Status SentencePieceModel::encode(std::string_view utf8, std::vector<int>& ids) const {
    std::array<char, kErrorCapacity> error{};
    const size_t start = ids.size();
    ids.resize(start + utf8.size() + 2); // pieces are at least a character, plus the "▁"
    int n = module().encode(m_handle, utf8.data(), utf8.size(), ids.data() + start, int(ids.size() - start),
                            error.data(), error.size());
    if (n > int(ids.size() - start)) {
        ids.resize(start + size_t(n));
        n = module().encode(m_handle, utf8.data(), utf8.size(), ids.data() + start, n, error.data(),
                            error.size());
    }
    if (n < 0) {
        ids.resize(start);
        return Status::fail(QString::fromUtf8(error.data()));
    }
    ids.resize(start + size_t(n));
    return Status::ok();
}

int SentencePieceModel::pieceCount() const {
    return module().pieceCount(m_handle);
}

int SentencePieceModel::pieceToId(std::string_view piece) const {
    return module().pieceToId(m_handle, piece.data(), piece.size());
}

std::string SentencePieceModel::idToPiece(int id) const {
    std::string piece(32, '\0');
    int n = module().idToPiece(m_handle, id, piece.data(), piece.size());
    if (n < 0)
        return {};
    if (size_t(n) > piece.size()) {
        piece.resize(size_t(n));
        n = module().idToPiece(m_handle, id, piece.data(), piece.size());
    }
    piece.resize(size_t(n));
    return piece;
}

bool SentencePieceModel::isUnknown(int id) const {
    return module().isUnknown(m_handle, id) != 0;
}

} // namespace tp::text
