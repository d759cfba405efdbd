#pragma once

#include <QString>
#include <QStringList>

namespace tp {
class Settings;
}

namespace tp::ui {

// The interface languages, as stored in the ui/language setting: "system", "en", "de", "ja".
QStringList languageCodes();
// A language's own name ("Deutsch", "日本語"); "system" gets a translated "System default".
QString languageName(const QString& code);
// The language "system" stands for on this machine: "de" or "ja" when the system prefers
// them (in that order of its preferences), else "en".
QString systemLanguage();

// Installs the translator for `code` ("system" follows the system), replacing the one in
// use. Qt then sends every widget a LanguageChange event, and each retranslates itself, so
// the switch needs no restart. Returns the language now in effect ("en", "de" or "ja").
QString installTranslation(const QString& code);
QString currentLanguage();

// Installs the language of the ui/language setting now and again whenever it changes.
void followLanguageSetting(Settings& settings);

} // namespace tp::ui
