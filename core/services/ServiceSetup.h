#pragma once

namespace tp {
class Settings;
}

namespace tp::services {

class OllamaClient;
class TwistedPairClient;

// Points a client at the URL and time limits the settings name (services/*). Call
// again when Settings::changed reports one of those keys.
void applySettings(const Settings& settings, OllamaClient& client);
void applySettings(const Settings& settings, TwistedPairClient& client);

} // namespace tp::services
