#pragma once

#include "tests/support/FakeHttpServer.h"

#include <QJsonObject>
#include <QStringList>

#include <functional>

namespace tp::test {

// Speaks TwistedPair V2's real shapes (V2/server.py): GET /health, /knobs
// ({"modes", "tones"}, no gain range), /models ({"models", "default"}); POST
// /distort-manual answering {"signal_id", "output": {"agent_id", "mode", "tone",
// "gain", "response"}}. Like FastAPI, a missing field answers 422 {"detail": [...]}
// and an unknown mode or tone 500 "Internal Server Error".
class FakeTwistedPairServer final : public FakeHttpServer {
    Q_OBJECT
public:
    explicit FakeTwistedPairServer(QObject* parent = nullptr);

    static QStringList modes();
    static QStringList tones();

    // The /knobs answer (default: V2's {"modes": [...], "tones": [...]}).
    void setKnobs(const QJsonObject& knobs) { m_knobs = knobs; }
    // The distorted text for a request (default: a recognisable echo of it).
    void setOutput(std::function<QString(const QJsonObject& request)> fn) { m_output = std::move(fn); }
    // Answer {"output": "text"} instead of V2's nested object.
    void setPlainOutputShape(bool plain) { m_plain = plain; }
    void setDistortDelayMs(int ms) { m_delayMs = ms; }

private:
    FakeResponse distort(const HttpRequest& req);

    QJsonObject m_knobs;
    std::function<QString(const QJsonObject&)> m_output;
    bool m_plain = false;
    int m_delayMs = 0;
};

} // namespace tp::test
