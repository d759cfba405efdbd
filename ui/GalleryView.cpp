#include "ui/GalleryView.h"

#include "ui/GalleryModel.h"
#include "ui/Icons.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QDesktopServices>
#include <QDir>
#include <QEvent>
#include <QHBoxLayout>
#include <QLabel>
#include <QListView>
#include <QMenu>
#include <QToolButton>
#include <QUrl>
#include <QVBoxLayout>

namespace tp::ui {

GalleryView::GalleryView(QWidget* parent)
    : QWidget(parent) {
    m_model = new GalleryModel(this);
    m_view = new QListView(this);
    m_view->setModel(m_model);
    m_view->setViewMode(QListView::IconMode);
    m_view->setResizeMode(QListView::Adjust);
    m_view->setMovement(QListView::Static);
    m_view->setUniformItemSizes(true);
    m_view->setWrapping(true);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    const int thumb = m_model->thumbnailSize();
    m_view->setIconSize(QSize(thumb, thumb));
    m_view->setGridSize(QSize(thumb + 16, thumb + fontMetrics().height() + 14));
    m_view->setSpacing(2);

    m_useSettings = new QAction(icon(QStringLiteral("reuse")), QString(), this);
    m_copyParameters = new QAction(icon(QStringLiteral("copy")), QString(), this);
    m_openFolder = new QAction(icon(QStringLiteral("folder")), QString(), this);
    m_useButton = new QToolButton(this);
    m_useButton->setDefaultAction(m_useSettings);
    m_useButton->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_openFolderButton = new QToolButton(this);
    m_openFolderButton->setDefaultAction(m_openFolder);
    m_openFolderButton->setToolButtonStyle(Qt::ToolButtonIconOnly);

    m_empty = new QLabel(this);
    m_empty->setWordWrap(true);
    m_empty->setAlignment(Qt::AlignCenter);
    m_empty->setForegroundRole(QPalette::PlaceholderText);
    m_details = new QLabel(this);
    m_details->setWordWrap(true);
    m_details->setTextInteractionFlags(Qt::TextSelectableByMouse | Qt::TextSelectableByKeyboard);
    m_details->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_details->setMinimumHeight(fontMetrics().lineSpacing() * 3);
    m_details->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);

    auto* bar = new QHBoxLayout;
    bar->addWidget(m_useButton);
    bar->addStretch(1);
    bar->addWidget(m_openFolderButton);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(bar);
    layout->addWidget(m_empty);
    layout->addWidget(m_view, 1);
    layout->addWidget(m_details);

    connect(m_view->selectionModel(), &QItemSelectionModel::currentChanged, this,
            [this] { selectionChanged(); });
    connect(m_model, &QAbstractItemModel::dataChanged, this,
            [this](const QModelIndex& from, const QModelIndex& to) {
                const int row = currentRow();
                if (row >= from.row() && row <= to.row())
                    selectionChanged();
            });
    auto updateEmpty = [this] {
        m_empty->setVisible(m_model->rowCount() == 0);
        m_view->setVisible(m_model->rowCount() > 0);
    };
    connect(m_model, &QAbstractItemModel::rowsInserted, this, updateEmpty);
    connect(m_model, &QAbstractItemModel::rowsRemoved, this, updateEmpty);
    connect(m_model, &QAbstractItemModel::modelReset, this, updateEmpty);
    connect(m_view, &QListView::activated, this, [this](const QModelIndex& i) {
        Q_EMIT imageActivated(i.data(GalleryModel::PathRole).toString());
    });
    connect(m_view, &QWidget::customContextMenuRequested, this, &GalleryView::showContextMenu);
    connect(m_useSettings, &QAction::triggered, this, [this] {
        if (const engine::ImageParameters* p = m_model->parametersAt(currentRow()))
            Q_EMIT useSettingsRequested(*p);
    });
    connect(m_copyParameters, &QAction::triggered, this, [this] {
        if (const engine::ImageParameters* p = m_model->parametersAt(currentRow()))
            QApplication::clipboard()->setText(engine::formatParameters(*p));
    });
    connect(m_openFolder, &QAction::triggered, this,
            [this] { QDesktopServices::openUrl(QUrl::fromLocalFile(m_model->directory())); });
    retranslateUi();
    updateEmpty();
    selectionChanged();
}

void GalleryView::retranslateUi() {
    m_useSettings->setText(tr("&Use these settings"));
    m_useSettings->setToolTip(tr("Put this image's prompt, seed and settings into the generation form"));
    m_copyParameters->setText(tr("&Copy parameters"));
    m_openFolder->setText(tr("&Open folder"));
    m_openFolder->setToolTip(tr("Open the output folder in the file manager"));
    m_view->setAccessibleName(tr("Generated images"));
    m_empty->setText(m_model->directory().isEmpty()
                         ? tr("No output folder is set.")
                         : tr("No images in %1 yet. Generated images appear here.")
                               .arg(QDir::toNativeSeparators(m_model->directory())));
    selectionChanged();
}

void GalleryView::changeEvent(QEvent* event) {
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QWidget::changeEvent(event);
}

void GalleryView::setDirectory(const QString& directory) {
    m_model->setDirectory(directory);
    retranslateUi();
}

QString GalleryView::directory() const {
    return m_model->directory();
}

void GalleryView::refresh() {
    m_model->rescan();
}

int GalleryView::currentRow() const {
    const QModelIndex i = m_view->selectionModel()->currentIndex();
    return i.isValid() ? i.row() : -1;
}

QString GalleryView::selectedPath() const {
    return m_model->pathAt(currentRow());
}

void GalleryView::selectPath(const QString& path) {
    const int row = m_model->rowOf(path);
    if (row >= 0)
        m_view->setCurrentIndex(m_model->index(row));
}

QString GalleryView::detailsText() const {
    return m_details->text();
}

void GalleryView::selectionChanged() {
    const int row = currentRow();
    const engine::ImageParameters* p = m_model->parametersAt(row);
    m_useSettings->setEnabled(p != nullptr);
    m_copyParameters->setEnabled(p != nullptr);
    m_openFolder->setEnabled(!m_model->directory().isEmpty());
    if (row < 0) {
        m_details->setText(tr("Select an image to see how it was made."));
        return;
    }
    if (p) {
        QString text = engine::formatParameters(*p);
        if (text.size() > 600)
            text = text.left(600) + QStringLiteral("…");
        m_details->setText(text);
    } else {
        m_details->setText(tr("No generation parameters recorded in this image."));
    }
    Q_EMIT imageSelected(m_model->pathAt(row), p ? *p : engine::ImageParameters(), p != nullptr);
}

void GalleryView::showContextMenu(const QPoint& pos) {
    const QModelIndex i = m_view->indexAt(pos);
    if (!i.isValid())
        return;
    m_view->setCurrentIndex(i);
    QMenu menu(this);
    menu.addAction(m_useSettings);
    menu.addAction(m_copyParameters);
    menu.addSeparator();
    menu.addAction(m_openFolder);
    menu.exec(m_view->viewport()->mapToGlobal(pos));
}

} // namespace tp::ui
