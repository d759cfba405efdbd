#pragma once

#include <QObject>
#include <QString>
#include <QStringList>
#include <QVector>

#include <spdlog/spdlog.h>

#include <mutex>

// fmt knows QString, so `spdlog::info("loaded {}", path)` works everywhere.
template <> struct fmt::formatter<QString> : fmt::formatter<std::string> {
    template <typename Ctx> auto format(const QString& s, Ctx& ctx) const {
        return fmt::formatter<std::string>::format(s.toStdString(), ctx);
    }
};

namespace tp::log {

struct Options {
    bool verbose = false;
    bool console = true;
    bool consoleWarningsOnly = false; // CLI: stdout is for results; --verbose shows all
    QString directory;                // rotating file goes here; empty = the user's state directory
};

struct Line {
    qint64 msecsSinceEpoch = 0;
    int level = 0; // spdlog::level::level_enum
    QString text;
};

// Keeps the most recent log lines and announces new ones, for the in-app log view.
// Written from any thread; `lineAdded` is delivered to receivers through their own
// thread's event loop (queued when they live elsewhere).
class Buffer final : public QObject {
    Q_OBJECT
public:
    static Buffer& instance();
    QVector<Line> lines() const;
    void append(Line line);
    int capacity() const { return m_capacity; }

Q_SIGNALS:
    void lineAdded(const tp::log::Line& line);

private:
    explicit Buffer(QObject* parent = nullptr);
    mutable std::mutex m_mutex;
    QVector<Line> m_ring;
    int m_next = 0;
    int m_capacity = 5000;
};

// Before init(): warnings and errors (a damaged settings file, read before the log is set up)
// go to stderr as "warning: ...", never to stdout, which is for results. Call first in main().
void initEarly();
// One logger setup for the process: console + rotating file + the in-app buffer.
// Returns the log file's path (empty when no file could be opened, which is logged).
QString init(const Options& options);
void setVerbose(bool verbose);
bool verbose();
// Routes qDebug/qWarning/... into spdlog.
void installQtMessageHandler();
QString logFilePath();

} // namespace tp::log

Q_DECLARE_METATYPE(tp::log::Line)
