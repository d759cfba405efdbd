#include "core/common/Log.h"

#include "core/common/Paths.h"

#include <QDateTime>
#include <QDir>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>

namespace tp::log {
namespace {

std::atomic<bool> g_verbose{false};
std::atomic<bool> g_consoleQuiet{false};
QString g_logFile;
spdlog::sink_ptr g_console;

class BufferSink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        Line line;
        line.msecsSinceEpoch =
            std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
        line.level = msg.level;
        line.text = QString::fromUtf8(msg.payload.data(), static_cast<qsizetype>(msg.payload.size()));
        Buffer::instance().append(std::move(line));
    }
    void flush_() override {}
};

void qtMessageHandler(QtMsgType type, const QMessageLogContext& ctx, const QString& message) {
    const std::string text = message.toStdString();
    const char* category = ctx.category ? ctx.category : "qt";
    switch (type) {
    case QtDebugMsg:
        spdlog::debug("[{}] {}", category, text);
        break;
    case QtInfoMsg:
        spdlog::info("[{}] {}", category, text);
        break;
    case QtWarningMsg:
        spdlog::warn("[{}] {}", category, text);
        break;
    case QtCriticalMsg:
        spdlog::error("[{}] {}", category, text);
        break;
    case QtFatalMsg:
        spdlog::critical("[{}] {}", category, text);
        spdlog::default_logger()->flush();
        std::abort();
    }
}

} // namespace

Buffer::Buffer(QObject* parent)
    : QObject(parent) {
    qRegisterMetaType<tp::log::Line>();
    m_ring.reserve(m_capacity);
}

Buffer& Buffer::instance() {
    static Buffer* buffer = new Buffer; // lives until exit; sinks may log during teardown
    return *buffer;
}

QVector<Line> Buffer::lines() const {
    std::lock_guard lock(m_mutex);
    if (m_ring.size() < m_capacity)
        return m_ring;
    QVector<Line> ordered;
    ordered.reserve(m_ring.size());
    for (int i = 0; i < m_ring.size(); ++i)
        ordered.push_back(m_ring[(m_next + i) % m_ring.size()]);
    return ordered;
}

void Buffer::append(Line line) {
    {
        std::lock_guard lock(m_mutex);
        if (m_ring.size() < m_capacity) {
            m_ring.push_back(line);
        } else {
            m_ring[m_next] = line;
            m_next = (m_next + 1) % m_capacity;
        }
    }
    Q_EMIT lineAdded(line);
}

void initEarly() {
    auto logger = std::make_shared<spdlog::logger>("twistedpic-early",
                                                   std::make_shared<spdlog::sinks::stderr_sink_mt>());
    logger->set_pattern("%l: %v");
    logger->set_level(spdlog::level::warn);
    spdlog::set_default_logger(logger);
}

QString init(const Options& options) {
    std::vector<spdlog::sink_ptr> sinks;
    g_consoleQuiet = options.consoleWarningsOnly;
    g_console.reset();
    if (options.console) {
        g_console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
        sinks.push_back(g_console);
    }

    const QString dir = options.directory.isEmpty() ? paths::stateDir() : options.directory;
    g_logFile.clear();
    if (QDir().mkpath(dir)) {
        const QString file = QDir(dir).filePath(QStringLiteral("twistedpic.log"));
        try {
            sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(file.toStdString(),
                                                                                   5 * 1024 * 1024, 3));
            g_logFile = file;
        } catch (const spdlog::spdlog_ex& e) {
            fprintf(stderr, "twistedpic: cannot open log file %s: %s\n", qPrintable(file), e.what());
        }
    }
    sinks.push_back(std::make_shared<BufferSink>());

    auto logger = std::make_shared<spdlog::logger>("twistedpic", sinks.begin(), sinks.end());
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [%^%l%$] %v");
    spdlog::set_default_logger(logger);
    spdlog::flush_on(spdlog::level::warn);
    spdlog::flush_every(std::chrono::seconds(2));
    setVerbose(options.verbose);
    return g_logFile;
}

void setVerbose(bool on) {
    g_verbose = on;
    spdlog::set_level(on ? spdlog::level::debug : spdlog::level::info);
    if (g_console)
        g_console->set_level(on ? spdlog::level::debug
                                : (g_consoleQuiet ? spdlog::level::warn : spdlog::level::info));
}

bool verbose() {
    return g_verbose;
}

void installQtMessageHandler() {
    qInstallMessageHandler(qtMessageHandler);
}

QString logFilePath() {
    return g_logFile;
}

} // namespace tp::log
