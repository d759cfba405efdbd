#include "tests/support/FakeTwistedPairServer.h"

#include <QDateTime>
#include <QJsonArray>
#include <QUuid>

namespace tp::test {

QStringList FakeTwistedPairServer::modes() {
    return {QStringLiteral("invert_er"),  QStringLiteral("so_what_er"), QStringLiteral("echo_er"),
            QStringLiteral("what_if_er"), QStringLiteral("cucumb_er"),  QStringLiteral("archiv_er")};
}

QStringList FakeTwistedPairServer::tones() {
    return {QStringLiteral("neutral"), QStringLiteral("technical"), QStringLiteral("primal"),
            QStringLiteral("poetic"), QStringLiteral("satirical")};
}

FakeTwistedPairServer::FakeTwistedPairServer(QObject* parent)
    : FakeHttpServer(parent) {
    m_knobs = {{QStringLiteral("modes"), QJsonArray::fromStringList(modes())},
               {QStringLiteral("tones"), QJsonArray::fromStringList(tones())}};
    m_output = [](const QJsonObject& r) {
        return QStringLiteral("%1 (%2, %3, gain %4): a storm of lanterns over a drowned city")
            .arg(r.value(QLatin1String("text")).toString(), r.value(QLatin1String("mode")).toString(),
                 r.value(QLatin1String("tone")).toString())
            .arg(r.value(QLatin1String("gain")).toInt());
    };
    route(QStringLiteral("GET"), QStringLiteral("/health"), [](const HttpRequest&) {
        return FakeResponse::json(
            {{QStringLiteral("status"), QStringLiteral("healthy")},
             {QStringLiteral("active_sessions"), 0},
             {QStringLiteral("timestamp"), QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs)}});
    });
    route(QStringLiteral("GET"), QStringLiteral("/knobs"),
          [this](const HttpRequest&) { return FakeResponse::json(m_knobs); });
    route(QStringLiteral("GET"), QStringLiteral("/models"), [](const HttpRequest&) {
        return FakeResponse::json({{QStringLiteral("models"), QJsonArray{QStringLiteral("mistral:latest"),
                                                                         QStringLiteral("qwen3:latest")}},
                                   {QStringLiteral("default"), QStringLiteral("mistral:latest")}});
    });
    route(QStringLiteral("POST"), QStringLiteral("/distort-manual"),
          [this](const HttpRequest& req) { return distort(req); });
}

FakeResponse FakeTwistedPairServer::distort(const HttpRequest& req) {
    const QJsonObject r = req.json();
    QJsonArray missing;
    for (const char* field : {"text", "mode", "tone", "gain"})
        if (!r.contains(QLatin1String(field)))
            missing << QJsonObject{
                {QStringLiteral("type"), QStringLiteral("missing")},
                {QStringLiteral("loc"), QJsonArray{QStringLiteral("body"), QLatin1String(field)}},
                {QStringLiteral("msg"), QStringLiteral("Field required")}};
    if (!missing.isEmpty())
        return FakeResponse::json({{QStringLiteral("detail"), missing}}, 422);
    if (!modes().contains(r.value(QLatin1String("mode")).toString()) ||
        !tones().contains(r.value(QLatin1String("tone")).toString()))
        return FakeResponse::text("Internal Server Error", 500); // Mode(req.mode) raises ValueError
    const QString text = m_output(r);
    QJsonObject answer{{QStringLiteral("signal_id"), QUuid::createUuid().toString(QUuid::WithoutBraces)}};
    if (m_plain)
        answer.insert(QStringLiteral("output"), text);
    else
        answer.insert(QStringLiteral("output"),
                      QJsonObject{{QStringLiteral("agent_id"), QStringLiteral("twistedpair-web")},
                                  {QStringLiteral("mode"), r.value(QLatin1String("mode"))},
                                  {QStringLiteral("tone"), r.value(QLatin1String("tone"))},
                                  {QStringLiteral("gain"), r.value(QLatin1String("gain"))},
                                  {QStringLiteral("response"), text}});
    return FakeResponse::json(answer).delayed(m_delayMs);
}

} // namespace tp::test
