#include "core/common/Paths.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

namespace tp::paths {

QString defaultConfigFile() {
    const QString env = qEnvironmentVariable("TWISTEDPIC_CONFIG");
    if (!env.isEmpty())
        return expandHome(env);
    return QDir(QStandardPaths::writableLocation(QStandardPaths::GenericConfigLocation))
        .filePath(QStringLiteral("TwistedPic/TwistedPic.conf"));
}

QString stateDir() {
    QString base = qEnvironmentVariable("XDG_STATE_HOME");
    if (base.isEmpty())
        base = QDir::home().filePath(QStringLiteral(".local/state"));
    return QDir(base).filePath(QStringLiteral("TwistedPic"));
}

QString defaultOutputDir() {
    QString pictures = QStandardPaths::writableLocation(QStandardPaths::PicturesLocation);
    if (pictures.isEmpty())
        pictures = QDir::home().filePath(QStringLiteral("Pictures"));
    return QDir(pictures).filePath(QStringLiteral("TwistedPic"));
}

QStringList bundledModelDirs() {
    QStringList dirs;
    const QString env = qEnvironmentVariable("TWISTEDPIC_DATA_DIR");
    if (!env.isEmpty())
        dirs << QDir(env).filePath(QStringLiteral("models"));
    if (QCoreApplication::instance()) {
        const QDir exe(QCoreApplication::applicationDirPath());
        dirs << QDir::cleanPath(exe.filePath(QStringLiteral("../share/twistedpic/models")));
    }
    dirs << QStringLiteral(TWISTEDPIC_INSTALL_DATADIR "/models");
    dirs << QStringLiteral(TWISTEDPIC_SOURCE_RESOURCES "/models");
    dirs.removeDuplicates();
    return dirs;
}

QStringList bundledTokenizerDirs() {
    QStringList dirs;
    for (const QString& models : bundledModelDirs())
        dirs << QDir::cleanPath(models + QStringLiteral("/../tokenizers"));
    dirs.removeDuplicates();
    return dirs;
}

QString bundledTokenizerDir(const QString& name) {
    for (const QString& dir : bundledTokenizerDirs()) {
        const QDir d(QDir(dir).filePath(name));
        if (QFileInfo::exists(d.filePath(QStringLiteral("vocab.json"))) ||
            QFileInfo::exists(d.filePath(QStringLiteral("tokenizer.json"))) ||
            QFileInfo::exists(d.filePath(QStringLiteral("spiece.model"))))
            return d.path();
    }
    return {};
}

QString documentPath(const QString& name) {
    // Installed as <root>/README.md and <root>/docs/…, the same layout as the source tree.
    QStringList roots;
    const QString env = qEnvironmentVariable("TWISTEDPIC_DATA_DIR");
    if (!env.isEmpty())
        roots << QDir(env).filePath(QStringLiteral("doc"));
    if (QCoreApplication::instance())
        roots << QDir::cleanPath(
            QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("../share/doc/twistedpic")));
    roots << QDir::cleanPath(QStringLiteral(TWISTEDPIC_INSTALL_DATADIR "/../doc/twistedpic"));
    roots << QDir::cleanPath(QStringLiteral(TWISTEDPIC_SOURCE_RESOURCES "/.."));
    for (const QString& root : roots)
        for (const QString& path :
             {QDir(root).filePath(name), QDir(root).filePath(QStringLiteral("docs/") + name)})
            if (QFileInfo::exists(path))
                return QDir::cleanPath(path);
    return {};
}

QString expandHome(const QString& path) {
    if (path == QLatin1String("~"))
        return QDir::homePath();
    if (path.startsWith(QLatin1String("~/")))
        return QDir::home().filePath(path.mid(2));
    return path;
}

} // namespace tp::paths
