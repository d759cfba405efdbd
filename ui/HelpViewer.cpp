#include "ui/HelpViewer.h"

#include "core/common/Paths.h"

#include <QDesktopServices>
#include <QFileInfo>
#include <QTextBrowser>
#include <QUrl>
#include <QVBoxLayout>

namespace tp::ui {

HelpViewer::HelpViewer(QWidget* parent)
    : QDialog(parent) {
    setObjectName(QStringLiteral("helpViewer"));
    m_browser = new QTextBrowser(this);
    m_browser->setOpenLinks(false);
    connect(m_browser, &QTextBrowser::anchorClicked, this, [this](const QUrl& url) {
        if (url.isLocalFile() || url.isRelative()) {
            const QUrl resolved = m_browser->source().resolved(url);
            if (resolved.path().endsWith(QLatin1String(".md")))
                m_browser->setSource(resolved, QTextDocument::MarkdownResource);
            return;
        }
        QDesktopServices::openUrl(url);
    });
    connect(m_browser, &QTextBrowser::sourceChanged, this,
            [this](const QUrl& url) { setWindowTitle(tr("TwistedPic help — %1").arg(url.fileName())); });
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_browser);
    resize(860, 700);
}

bool HelpViewer::showDocument(const QString& name) {
    const QString path = paths::documentPath(name);
    if (path.isEmpty())
        return false;
    m_browser->setSource(QUrl::fromLocalFile(path), QTextDocument::MarkdownResource);
    return true;
}

} // namespace tp::ui
