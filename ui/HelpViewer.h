#pragma once

#include <QDialog>

class QTextBrowser;

namespace tp::ui {

// The user guide and the troubleshooting document, rendered from their Markdown (links between
// them and their pictures work, external links open in the browser). Non-modal.
class HelpViewer final : public QDialog {
    Q_OBJECT
public:
    explicit HelpViewer(QWidget* parent = nullptr);
    // Shows a document by name ("README.md", "GPU_MEMORY_TROUBLESHOOTING.md"); false if not found.
    bool showDocument(const QString& name);
    QTextBrowser* browser() const { return m_browser; }

private:
    QTextBrowser* m_browser = nullptr;
};

} // namespace tp::ui
