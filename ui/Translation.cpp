#include "ui/Translation.h"

#include "core/common/Log.h"
#include "core/settings/Settings.h"

#include <QCoreApplication>
#include <QLibraryInfo>
#include <QLocale>
#include <QTranslator>

#include <memory>

namespace tp::ui {
namespace {

std::unique_ptr<QTranslator> g_app;
std::unique_ptr<QTranslator> g_qt;
QString g_current = QStringLiteral("en");

} // namespace

QStringList languageCodes() {
    return {QStringLiteral("system"), QStringLiteral("en"), QStringLiteral("de"), QStringLiteral("ja")};
}

QString languageName(const QString& code) {
    if (code == QLatin1String("en"))
        return QStringLiteral("English");
    if (code == QLatin1String("de"))
        return QStringLiteral("Deutsch");
    if (code == QLatin1String("ja"))
        return QStringLiteral("日本語");
    return QCoreApplication::translate("tp::ui::Translation", "System default");
}

QString systemLanguage() {
    for (const QString& lang : QLocale::system().uiLanguages()) {
        const QString base = lang.section(QLatin1Char('-'), 0, 0).section(QLatin1Char('_'), 0, 0).toLower();
        if (base == QLatin1String("de") || base == QLatin1String("ja") || base == QLatin1String("en"))
            return base;
    }
    return QStringLiteral("en");
}

QString installTranslation(const QString& code) {
    QString lang = code == QLatin1String("system") || code.isEmpty() ? systemLanguage() : code;
    if (lang != QLatin1String("de") && lang != QLatin1String("ja"))
        lang = QStringLiteral("en");

    // Remove the old translators first; English needs none.
    if (g_app)
        QCoreApplication::removeTranslator(g_app.get());
    if (g_qt)
        QCoreApplication::removeTranslator(g_qt.get());
    g_app.reset();
    g_qt.reset();

    if (lang != QLatin1String("en")) {
        auto app = std::make_unique<QTranslator>();
        const QString file = QStringLiteral(":/i18n/twistedpic_%1.qm").arg(lang);
        if (app->load(file)) {
            QCoreApplication::installTranslator(app.get());
            g_app = std::move(app);
        } else {
            spdlog::warn("translation {} is missing; the interface stays in English", file);
            lang = QStringLiteral("en");
        }
        // Qt's own strings (standard buttons, file dialogs), when the system has them.
        auto qt = std::make_unique<QTranslator>();
        if (lang != QLatin1String("en") &&
            qt->load(QLocale(lang), QStringLiteral("qtbase"), QStringLiteral("_"),
                     QLibraryInfo::path(QLibraryInfo::TranslationsPath))) {
            QCoreApplication::installTranslator(qt.get());
            g_qt = std::move(qt);
        }
    }
    if (lang != g_current)
        spdlog::info("interface language: {}", lang);
    g_current = lang;
    // Numbers and dates follow the system when the language does, else the chosen language.
    const bool followsSystem = code == QLatin1String("system") || code.isEmpty();
    QLocale::setDefault(followsSystem ? QLocale::system() : QLocale(lang));
    return lang;
}

QString currentLanguage() {
    return g_current;
}

void followLanguageSetting(Settings& settings) {
    installTranslation(settings.value(keys::Language).toString());
    QObject::connect(&settings, &Settings::changed, QCoreApplication::instance(),
                     [](const QString& key, const QVariant& value) {
                         if (key == keys::Language)
                             installTranslation(value.toString());
                     });
}

} // namespace tp::ui
