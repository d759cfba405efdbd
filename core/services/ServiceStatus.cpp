#include "core/services/ServiceStatus.h"

#include <QJsonArray>

#include <algorithm>

namespace tp::services {

bool OllamaStatus::anyPartlyOnCpu() const {
    return std::any_of(loaded.cbegin(), loaded.cend(),
                       [](const OllamaLoadedModel& m) { return m.partlyOnCpu(); });
}

QJsonObject toJson(const OllamaStatus& s) {
    QJsonObject o{{QStringLiteral("url"), s.url}, {QStringLiteral("up"), s.up}};
    if (!s.up) {
        o.insert(QStringLiteral("error"), s.error);
        return o;
    }
    o.insert(QStringLiteral("version"), s.version);
    if (s.installedError.isEmpty()) {
        QJsonArray a;
        for (const OllamaModel& m : s.installed)
            a << QJsonObject{{QStringLiteral("name"), m.name},
                             {QStringLiteral("size"), m.size},
                             {QStringLiteral("modifiedAt"), m.modifiedAt.toString(Qt::ISODate)},
                             {QStringLiteral("family"), m.family},
                             {QStringLiteral("parameterSize"), m.parameterSize},
                             {QStringLiteral("quantizationLevel"), m.quantizationLevel}};
        o.insert(QStringLiteral("installed"), a);
    } else {
        o.insert(QStringLiteral("installedError"), s.installedError);
    }
    if (s.loadedError.isEmpty()) {
        QJsonArray a;
        for (const OllamaLoadedModel& m : s.loaded)
            a << QJsonObject{{QStringLiteral("name"), m.name},
                             {QStringLiteral("size"), m.size},
                             {QStringLiteral("sizeVram"), m.sizeVram},
                             {QStringLiteral("gpuPercent"), m.gpuPercent()},
                             {QStringLiteral("processor"), m.processor()},
                             {QStringLiteral("share"), m.shareText()},
                             {QStringLiteral("partlyOnCpu"), m.partlyOnCpu()},
                             {QStringLiteral("expiresAt"), m.expiresAt.toString(Qt::ISODate)}};
        o.insert(QStringLiteral("loaded"), a);
    } else {
        o.insert(QStringLiteral("loadedError"), s.loadedError);
    }
    return o;
}

QJsonObject toJson(const TwistedPairStatus& s) {
    QJsonObject o{{QStringLiteral("url"), s.url}, {QStringLiteral("up"), s.up}};
    if (!s.up) {
        o.insert(QStringLiteral("error"), s.error);
        return o;
    }
    if (s.modelsError.isEmpty()) {
        o.insert(QStringLiteral("models"), QJsonArray::fromStringList(s.models.models));
        o.insert(QStringLiteral("defaultModel"), s.models.defaultModel);
    } else {
        o.insert(QStringLiteral("modelsError"), s.modelsError);
    }
    if (s.knobsError.isEmpty()) {
        o.insert(QStringLiteral("modes"), QJsonArray::fromStringList(s.knobs.modes));
        o.insert(QStringLiteral("tones"), QJsonArray::fromStringList(s.knobs.tones));
        o.insert(QStringLiteral("gain"), QJsonArray{s.knobs.gainMin, s.knobs.gainMax});
        if (!s.knobs.notes.isEmpty())
            o.insert(QStringLiteral("notes"), QJsonArray::fromStringList(s.knobs.notes));
    } else {
        o.insert(QStringLiteral("knobsError"), s.knobsError);
    }
    return o;
}

ServiceStatusPoller::ServiceStatusPoller(OllamaClient* ollama, TwistedPairClient* twistedPair,
                                         QObject* parent)
    : QObject(parent)
    , m_ollamaClient(ollama)
    , m_twistedPairClient(twistedPair) {
    qRegisterMetaType<tp::services::OllamaStatus>();
    qRegisterMetaType<tp::services::TwistedPairStatus>();
    connect(&m_timer, &QTimer::timeout, this, &ServiceStatusPoller::refresh);
}

void ServiceStatusPoller::start(int intervalMs) {
    m_timer.start(std::max(100, intervalMs));
    refresh();
}

void ServiceStatusPoller::stop() {
    m_timer.stop();
}

void ServiceStatusPoller::refresh() {
    if (isRefreshing())
        return;
    refreshOllama();
    refreshTwistedPair();
}

void ServiceStatusPoller::oneDone(int* pending, bool ollama) {
    if (--*pending > 0)
        return;
    if (ollama) {
        m_nextOllama.up = m_nextOllama.error.isEmpty();
        m_nextOllama.checkedAt = QDateTime::currentDateTime();
        m_ollama = m_nextOllama;
        Q_EMIT ollamaUpdated(m_ollama);
    } else {
        m_nextTwistedPair.up = m_nextTwistedPair.error.isEmpty();
        m_nextTwistedPair.checkedAt = QDateTime::currentDateTime();
        m_twistedPair = m_nextTwistedPair;
        Q_EMIT twistedPairUpdated(m_twistedPair);
    }
    if (!isRefreshing())
        Q_EMIT refreshed();
}

void ServiceStatusPoller::refreshOllama() {
    m_nextOllama = OllamaStatus();
    m_nextOllama.url = m_ollamaClient->baseUrl().toString();
    m_nextOllama.checked = true;
    m_ollamaPending = 4;
    m_ollamaClient->health(guarded(this, [this](Status s) {
        m_nextOllama.error = s.error();
        oneDone(&m_ollamaPending, true);
    }));
    m_ollamaClient->version(guarded(this, [this](const Result<QString>& r) {
        m_nextOllama.version = r ? r.value() : QString();
        oneDone(&m_ollamaPending, true);
    }));
    m_ollamaClient->installedModels(guarded(this, [this](const Result<QVector<OllamaModel>>& r) {
        if (r)
            m_nextOllama.installed = r.value();
        else
            m_nextOllama.installedError = r.error();
        oneDone(&m_ollamaPending, true);
    }));
    m_ollamaClient->loadedModels(guarded(this, [this](const Result<QVector<OllamaLoadedModel>>& r) {
        if (r)
            m_nextOllama.loaded = r.value();
        else
            m_nextOllama.loadedError = r.error();
        oneDone(&m_ollamaPending, true);
    }));
}

void ServiceStatusPoller::refreshTwistedPair() {
    m_nextTwistedPair = TwistedPairStatus();
    m_nextTwistedPair.url = m_twistedPairClient->baseUrl().toString();
    m_nextTwistedPair.checked = true;
    m_twistedPairPending = 3;
    m_twistedPairClient->health(guarded(this, [this](Status s) {
        m_nextTwistedPair.error = s.error();
        oneDone(&m_twistedPairPending, false);
    }));
    m_twistedPairClient->models(guarded(this, [this](const Result<TwistedPairModels>& r) {
        if (r)
            m_nextTwistedPair.models = r.value();
        else
            m_nextTwistedPair.modelsError = r.error();
        oneDone(&m_twistedPairPending, false);
    }));
    m_twistedPairClient->knobs(guarded(this, [this](const Result<TwistedPairKnobs>& r) {
        if (r)
            m_nextTwistedPair.knobs = r.value();
        else
            m_nextTwistedPair.knobsError = r.error();
        oneDone(&m_twistedPairPending, false);
    }));
}

} // namespace tp::services
