#include "core/services/ServiceSetup.h"

#include "core/services/OllamaClient.h"
#include "core/services/TwistedPairClient.h"
#include "core/settings/Settings.h"

namespace tp::services {

void applySettings(const Settings& settings, OllamaClient& client) {
    client.setBaseUrl(QUrl(settings.ollamaUrl()));
    client.setGenerateTimeoutMs(settings.value(keys::OllamaTimeoutSec).toInt() * 1000);
}

void applySettings(const Settings& settings, TwistedPairClient& client) {
    client.setBaseUrl(QUrl(settings.twistedPairUrl()));
    client.setDistortTimeoutMs(settings.value(keys::TwistedPairTimeoutSec).toInt() * 1000);
}

} // namespace tp::services
