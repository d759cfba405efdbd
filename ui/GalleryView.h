#pragma once

#include "core/engine/ImageMetadata.h"

#include <QWidget>

class QAction;
class QLabel;
class QListView;
class QToolButton;

namespace tp::ui {

class GalleryModel;

// Thumbnails of the output folder, newest first. Selecting one shows and announces its
// parameters; "Use these settings" hands them to the generation form.
class GalleryView final : public QWidget {
    Q_OBJECT
public:
    explicit GalleryView(QWidget* parent = nullptr);

    void setDirectory(const QString& directory);
    QString directory() const;
    GalleryModel* model() const { return m_model; }
    QListView* listView() const { return m_view; }
    QString selectedPath() const;
    QAction* useSettingsAction() const { return m_useSettings; }
    QString detailsText() const;

public Q_SLOTS:
    void refresh();
    void selectPath(const QString& path);

Q_SIGNALS:
    void imageSelected(const QString& path, const tp::engine::ImageParameters& parameters,
                       bool hasParameters);
    void imageActivated(const QString& path);
    void useSettingsRequested(const tp::engine::ImageParameters& parameters);

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslateUi();
    void selectionChanged();
    void showContextMenu(const QPoint& pos);
    int currentRow() const;

    GalleryModel* m_model = nullptr;
    QListView* m_view = nullptr;
    QLabel* m_details = nullptr;
    QLabel* m_empty = nullptr;
    QToolButton* m_useButton = nullptr;
    QToolButton* m_openFolderButton = nullptr;
    QAction* m_useSettings = nullptr;
    QAction* m_copyParameters = nullptr;
    QAction* m_openFolder = nullptr;
};

} // namespace tp::ui
