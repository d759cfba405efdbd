#pragma once

#include <QIcon>
#include <QString>

namespace tp::ui {

// One of the project's SVG icons (resources/icons/<name>.svg, compiled into twistedpic_ui).
inline QIcon icon(const QString& name) {
    return QIcon(QStringLiteral(":/icons/") + name + QStringLiteral(".svg"));
}

} // namespace tp::ui
