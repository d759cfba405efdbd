#include "ui/LogView.h"

#include "ui/Icons.h"

#include <QAbstractListModel>
#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QComboBox>
#include <QDateTime>
#include <QEvent>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QListView>
#include <QScrollBar>
#include <QSortFilterProxyModel>
#include <QToolButton>
#include <QVBoxLayout>

#include <spdlog/common.h>

namespace tp::ui {

// The lines, oldest first, at most the buffer's capacity.
class LogModel final : public QAbstractListModel {
public:
    static constexpr int LevelRole = Qt::UserRole + 1;

    explicit LogModel(int capacity, QObject* parent)
        : QAbstractListModel(parent)
        , m_capacity(capacity) {}

    int rowCount(const QModelIndex& parent = {}) const override {
        return parent.isValid() ? 0 : m_lines.size();
    }

    QVariant data(const QModelIndex& index, int role) const override {
        if (!index.isValid() || index.row() >= m_lines.size())
            return {};
        const log::Line& line = m_lines[index.row()];
        switch (role) {
        case Qt::DisplayRole:
            return QStringLiteral("%1  %2  %3")
                .arg(QDateTime::fromMSecsSinceEpoch(line.msecsSinceEpoch)
                         .toString(QStringLiteral("HH:mm:ss.zzz")),
                     levelName(line.level), line.text);
        case Qt::ForegroundRole:
            switch (line.level) {
            case spdlog::level::trace:
            case spdlog::level::debug:
                return QColor(0x80, 0x80, 0x80);
            case spdlog::level::warn:
                return QColor(0xb3, 0x6b, 0x00);
            case spdlog::level::err:
            case spdlog::level::critical:
                return QColor(0xc6, 0x28, 0x28);
            default:
                return {};
            }
        case Qt::FontRole:
            if (line.level >= spdlog::level::critical) {
                QFont f = QFontDatabase::systemFont(QFontDatabase::FixedFont);
                f.setBold(true);
                return f;
            }
            return {};
        case LevelRole:
            return line.level;
        default:
            return {};
        }
    }

    static QString levelName(int level) {
        switch (level) {
        case spdlog::level::trace:
            return QStringLiteral("trace");
        case spdlog::level::debug:
            return QStringLiteral("debug");
        case spdlog::level::info:
            return QStringLiteral("info ");
        case spdlog::level::warn:
            return QStringLiteral("warn ");
        case spdlog::level::err:
            return QStringLiteral("error");
        case spdlog::level::critical:
            return QStringLiteral("CRIT ");
        default:
            return QStringLiteral("?    ");
        }
    }

    void append(const log::Line& line) {
        if (m_lines.size() >= m_capacity) {
            const int drop = m_lines.size() - m_capacity + 1;
            beginRemoveRows({}, 0, drop - 1);
            m_lines.remove(0, drop);
            endRemoveRows();
        }
        beginInsertRows({}, m_lines.size(), m_lines.size());
        m_lines.push_back(line);
        endInsertRows();
    }

    void reset(QVector<log::Line> lines) {
        beginResetModel();
        m_lines = std::move(lines);
        if (m_lines.size() > m_capacity)
            m_lines.remove(0, m_lines.size() - m_capacity);
        endResetModel();
    }

private:
    QVector<log::Line> m_lines;
    int m_capacity;
};

class LogFilter final : public QSortFilterProxyModel {
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;

    void setMinimumLevel(int level) {
        m_level = level;
        invalidateFilter();
    }
    int minimumLevel() const { return m_level; }
    void setText(const QString& text) {
        m_text = text;
        invalidateFilter();
    }

protected:
    bool filterAcceptsRow(int row, const QModelIndex& parent) const override {
        const QModelIndex index = sourceModel()->index(row, 0, parent);
        if (index.data(LogModel::LevelRole).toInt() < m_level)
            return false;
        return m_text.isEmpty() ||
               index.data(Qt::DisplayRole).toString().contains(m_text, Qt::CaseInsensitive);
    }

private:
    int m_level = spdlog::level::info;
    QString m_text;
};

LogView::LogView(QWidget* parent)
    : QDockWidget(parent) {
    setObjectName(QStringLiteral("logDock"));
    log::Buffer& buffer = log::Buffer::instance();
    m_model = new LogModel(buffer.capacity(), this);
    m_filter = new LogFilter(this);
    m_filter->setSourceModel(m_model);

    auto* body = new QWidget(this);
    m_level = new QComboBox(body);
    for (int level : {int(spdlog::level::debug), int(spdlog::level::info), int(spdlog::level::warn),
                      int(spdlog::level::err)})
        m_level->addItem(QString(), level);
    m_level->setCurrentIndex(1);
    m_search = new QLineEdit(body);
    m_search->setClearButtonEnabled(true);
    m_follow = new QCheckBox(body);
    m_follow->setChecked(true);
    m_copy = new QToolButton(body);
    m_copy->setIcon(icon(QStringLiteral("copy")));
    m_copy->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_clear = new QToolButton(body);
    m_clear->setToolButtonStyle(Qt::ToolButtonTextOnly);

    m_view = new QListView(body);
    m_view->setModel(m_filter);
    m_view->setUniformItemSizes(true);
    m_view->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_view->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_view->setHorizontalScrollBarPolicy(Qt::ScrollBarAsNeeded);

    auto* bar = new QHBoxLayout;
    bar->addWidget(m_level);
    bar->addWidget(m_search, 1);
    bar->addWidget(m_follow);
    bar->addWidget(m_copy);
    bar->addWidget(m_clear);
    auto* layout = new QVBoxLayout(body);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(bar);
    layout->addWidget(m_view, 1);
    setWidget(body);

    connect(m_level, qOverload<int>(&QComboBox::currentIndexChanged), this,
            [this](int) { m_filter->setMinimumLevel(m_level->currentData().toInt()); });
    connect(m_search, &QLineEdit::textChanged, m_filter, &LogFilter::setText);
    connect(m_copy, &QToolButton::clicked, this, &LogView::copy);
    connect(m_clear, &QToolButton::clicked, this, &LogView::clear);
    connect(m_follow, &QCheckBox::toggled, this, [this](bool on) {
        if (on)
            m_view->scrollToBottom();
    });
    connect(m_filter, &QAbstractItemModel::rowsInserted, this, [this] {
        if (m_follow->isChecked())
            m_view->scrollToBottom();
    });

    // Lines logged from other threads arrive queued through this thread's event loop.
    m_model->reset(buffer.lines());
    connect(&buffer, &log::Buffer::lineAdded, this, &LogView::addLine);
    retranslateUi();
}

void LogView::retranslateUi() {
    setWindowTitle(tr("Log"));
    m_level->setItemText(0, tr("Everything (debug)"));
    m_level->setItemText(1, tr("Information"));
    m_level->setItemText(2, tr("Warnings and errors"));
    m_level->setItemText(3, tr("Errors only"));
    m_level->setToolTip(tr("Least important level shown"));
    m_level->setAccessibleName(tr("Log level"));
    m_search->setPlaceholderText(tr("Search the log"));
    m_search->setAccessibleName(tr("Search the log"));
    m_follow->setText(tr("F&ollow"));
    m_follow->setToolTip(tr("Scroll to each new line"));
    m_copy->setText(tr("Copy"));
    m_copy->setToolTip(tr("Copy the selected lines, or all shown lines when none is selected"));
    m_clear->setText(tr("Clear"));
    m_clear->setToolTip(tr("Empty this view (the log file keeps everything)"));
}

void LogView::changeEvent(QEvent* event) {
    if (event->type() == QEvent::LanguageChange)
        retranslateUi();
    QDockWidget::changeEvent(event);
}

void LogView::setMinimumLevel(int level) {
    const int index = m_level->findData(level);
    if (index >= 0)
        m_level->setCurrentIndex(index);
    else
        m_filter->setMinimumLevel(level);
}

int LogView::minimumLevel() const {
    return m_filter->minimumLevel();
}

void LogView::setFilterText(const QString& text) {
    m_search->setText(text);
}

void LogView::setAutoScroll(bool on) {
    m_follow->setChecked(on);
}

bool LogView::autoScroll() const {
    return m_follow->isChecked();
}

int LogView::visibleLineCount() const {
    return m_filter->rowCount();
}

QString LogView::visibleText(bool selectedOnly) const {
    QStringList lines;
    if (selectedOnly) {
        QModelIndexList rows = m_view->selectionModel()->selectedIndexes();
        std::sort(rows.begin(), rows.end(),
                  [](const QModelIndex& a, const QModelIndex& b) { return a.row() < b.row(); });
        for (const QModelIndex& i : rows)
            lines << i.data().toString();
    } else {
        for (int r = 0; r < m_filter->rowCount(); ++r)
            lines << m_filter->index(r, 0).data().toString();
    }
    return lines.join(QLatin1Char('\n'));
}

void LogView::addLine(const log::Line& line) {
    m_model->append(line);
}

void LogView::copy() {
    const bool selected = m_view->selectionModel()->hasSelection();
    QApplication::clipboard()->setText(visibleText(selected));
}

void LogView::clear() {
    m_model->reset({});
}

} // namespace tp::ui
