#include "ui/ImportOriginal.h"

#include "core/io/ModelCatalogue.h"
#include "core/settings/ConfigImport.h"
#include "core/settings/Settings.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileDialog>
#include <QMessageBox>
#include <QPushButton>

namespace tp::ui {

namespace {
QString tr(const char* text) {
    return QCoreApplication::translate("tp::ui::ImportOriginal", text);
}
} // namespace

bool importOriginalConfig(QWidget* parent, Settings& settings, const QString& givenPath) {
    const QString path = givenPath.isEmpty()
                             ? QFileDialog::getOpenFileName(parent, tr("Import the original app's config.py"),
                                                            QDir::homePath(), tr("Python files (*.py)"))
                             : givenPath;
    if (path.isEmpty())
        return false;
    const Result<ConfigImportReport> report =
        readOriginalConfig(path, settings, io::ModelCatalogue::defaultHfCacheDir());
    if (!report) {
        QMessageBox::warning(parent, tr("Import from the original"), report.error());
        return false;
    }
    QStringList lines;
    for (const ConfigImportItem& item : report->mapped)
        lines << QStringLiteral("%1 = %2   (%3)")
                     .arg(item.key, Settings::toText(item.value).left(80), item.source);
    QMessageBox box(
        QMessageBox::Question, tr("Import from the original"),
        report->mapped.isEmpty()
            ? tr("%1 holds nothing that TwistedPic uses.").arg(report->path)
            : tr("%1 setting(s) from %2 will change.").arg(report->mapped.size()).arg(report->path),
        QMessageBox::Cancel, parent);
    box.setInformativeText(lines.join(QLatin1Char('\n')));
    if (!report->ignored.isEmpty())
        box.setDetailedText(tr("Ignored:") + QLatin1Char('\n') + report->ignored.join(QLatin1Char('\n')));
    QPushButton* apply =
        report->mapped.isEmpty() ? nullptr : box.addButton(tr("&Import"), QMessageBox::AcceptRole);
    box.exec();
    if (!apply || box.clickedButton() != apply)
        return false;
    if (const Status s = applyConfigImport(*report, settings); !s) {
        QMessageBox::warning(parent, tr("Import from the original"),
                             tr("Nothing was saved: %1").arg(s.error()));
        return false;
    }
    return true;
}

} // namespace tp::ui
