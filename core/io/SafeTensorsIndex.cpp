#include "core/io/SafeTensorsIndex.h"

#include "core/io/SafeTensorsHeader.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>

#include <set>

namespace tp::io {

Result<ShardIndex> readShardIndex(const QString& indexPath) {
    using R = Result<ShardIndex>;
    const QString name = shortFileName(indexPath);
    QFile f(indexPath);
    if (!f.open(QIODevice::ReadOnly))
        return R::fail(QStringLiteral("%1: cannot open the shard index: %2.").arg(name, f.errorString()));
    if (f.size() > MaxSafeTensorsHeaderLength)
        return R::fail(QStringLiteral("%1: shard index is %2 bytes, larger than any real index.")
                           .arg(name)
                           .arg(f.size()));
    QJsonParseError perr{};
    const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &perr);
    if (perr.error != QJsonParseError::NoError)
        return R::fail(QStringLiteral("%1: invalid JSON: %2 at byte %3. Download the model again.")
                           .arg(name, perr.errorString())
                           .arg(perr.offset));
    if (!doc.isObject())
        return R::fail(QStringLiteral("%1: not a JSON object.").arg(name));
    const QJsonObject root = doc.object();
    const QJsonValue map = root.value(QLatin1String("weight_map"));
    if (!map.isObject())
        return R::fail(QStringLiteral("%1: has no \"weight_map\" object.").arg(name));

    ShardIndex index;
    index.path = indexPath;
    const QDir dir = QFileInfo(indexPath).absoluteDir();
    std::set<QString> shards;
    const QJsonObject weights = map.toObject();
    for (auto it = weights.constBegin(); it != weights.constEnd(); ++it) {
        const QString shard = it.value().toString();
        if (!it.value().isString() || shard.isEmpty())
            return R::fail(
                QStringLiteral("%1: weight_map entry '%2' is not a file name.").arg(name, it.key()));
        if (shard.contains(QLatin1Char('/')) || shard.contains(QLatin1Char('\\')) ||
            shard == QLatin1String("..") || shard == QLatin1String("."))
            return R::fail(QStringLiteral("%1: weight_map names '%2', which is not a file in the index's "
                                          "folder; only shards next to the index are read.")
                               .arg(name, shard));
        const QString abs = dir.filePath(shard);
        index.weightMap.insert(it.key(), abs);
        shards.insert(abs);
    }
    for (const QString& s : shards)
        index.shards << s;
    const QJsonObject meta = root.value(QLatin1String("metadata")).toObject();
    for (auto it = meta.constBegin(); it != meta.constEnd(); ++it) {
        if (it.value().isString())
            index.metadata.insert(it.key(), it.value().toString());
        else if (it.value().isDouble())
            index.metadata.insert(it.key(),
                                  QString::number(it.value().toInteger(qint64(it.value().toDouble()))));
    }
    return R::ok(std::move(index));
}

bool isShardIndexFileName(const QString& fileName) {
    static const QRegularExpression re(
        QStringLiteral(R"(^.+(\.safetensors\.index(\.[A-Za-z0-9_-]+)?\.json)$)"));
    return re.match(fileName).hasMatch();
}

} // namespace tp::io
