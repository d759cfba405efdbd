#pragma once

#include "core/common/Log.h"

#include <QDockWidget>

class QCheckBox;
class QComboBox;
class QLineEdit;
class QListView;
class QToolButton;

namespace tp::ui {

class LogModel;
class LogFilter;

// The in-app log: the lines of tp::log::Buffer, newest at the bottom, coloured by level,
// filtered by level and by text, following new lines unless the user turns that off.
class LogView final : public QDockWidget {
    Q_OBJECT
public:
    explicit LogView(QWidget* parent = nullptr);

    // spdlog levels: 1 debug, 2 info, 3 warning, 4 error
    void setMinimumLevel(int level);
    int minimumLevel() const;
    void setFilterText(const QString& text);
    void setAutoScroll(bool on);
    bool autoScroll() const;
    int visibleLineCount() const;
    // The visible lines (or the selected ones) as text, one a line.
    QString visibleText(bool selectedOnly = false) const;

public Q_SLOTS:
    void addLine(const tp::log::Line& line);
    void copy();
    void clear();

protected:
    void changeEvent(QEvent* event) override;

private:
    void retranslateUi();

    LogModel* m_model = nullptr;
    LogFilter* m_filter = nullptr;
    QListView* m_view = nullptr;
    QComboBox* m_level = nullptr;
    QLineEdit* m_search = nullptr;
    QCheckBox* m_follow = nullptr;
    QToolButton* m_copy = nullptr;
    QToolButton* m_clear = nullptr;
};

} // namespace tp::ui
