#pragma once

#include "core/services/OllamaClient.h"
#include "core/services/TwistedPairClient.h"

#include <QDateTime>
#include <QJsonObject>
#include <QMetaType>
#include <QObject>
#include <QTimer>

namespace tp::services {

// Ollama as last seen: up or down (with the reason), version, installed and loaded models.
struct OllamaStatus {
    QString url;
    bool checked = false; // false until the first round is in
    bool up = false;
    QString error; // why it is down, in words
    QString version;
    QVector<OllamaModel> installed;
    QString installedError;
    QVector<OllamaLoadedModel> loaded; // with gpuPercent()/processor()/shareText()
    QString loadedError;
    QDateTime checkedAt;

    bool anyPartlyOnCpu() const;
};

// TwistedPair as last seen.
struct TwistedPairStatus {
    QString url;
    bool checked = false;
    bool up = false;
    QString error;
    TwistedPairModels models;
    QString modelsError;
    TwistedPairKnobs knobs =
        TwistedPairKnobs::documented(); // documented lists until the server says otherwise
    QString knobsError;
    QDateTime checkedAt;
};

QJsonObject toJson(const OllamaStatus& status);
QJsonObject toJson(const TwistedPairStatus& status);

// Asks both services how they are, once (refresh()) or every interval (start()). A
// round never overlaps the previous one: a slow service delays, not piles up, checks.
// For the Services panel and `twistedpic-cli services`.
class ServiceStatusPoller final : public QObject {
    Q_OBJECT
public:
    ServiceStatusPoller(OllamaClient* ollama, TwistedPairClient* twistedPair, QObject* parent = nullptr);

    void refresh();
    void start(int intervalMs); // refreshes now, then every intervalMs
    void stop();
    bool isRefreshing() const { return m_ollamaPending > 0 || m_twistedPairPending > 0; }

    const OllamaStatus& ollama() const { return m_ollama; }
    const TwistedPairStatus& twistedPair() const { return m_twistedPair; }

Q_SIGNALS:
    void ollamaUpdated(const tp::services::OllamaStatus& status);
    void twistedPairUpdated(const tp::services::TwistedPairStatus& status);
    void refreshed(); // both services' answers of one round are in

private:
    void refreshOllama();
    void refreshTwistedPair();
    void oneDone(int* pending, bool ollama);

    OllamaClient* m_ollamaClient = nullptr;
    TwistedPairClient* m_twistedPairClient = nullptr;
    OllamaStatus m_ollama;
    TwistedPairStatus m_twistedPair;
    OllamaStatus m_nextOllama;
    TwistedPairStatus m_nextTwistedPair;
    int m_ollamaPending = 0;
    int m_twistedPairPending = 0;
    QTimer m_timer;
};

} // namespace tp::services

Q_DECLARE_METATYPE(tp::services::OllamaStatus)
Q_DECLARE_METATYPE(tp::services::TwistedPairStatus)
