#pragma once

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>

#include <memory>

namespace tp::test {

// A harmless process with a chosen name (a copy of sleep), so that /proc/PID/comm says e.g.
// "ollama" for the GPU process list.
class NamedProcess final {
public:
    explicit NamedProcess(const QString& name) {
        const QString program = m_dir.filePath(name);
        if (!QFile::copy(QStringLiteral("/bin/sleep"), program))
            return;
        QFile::setPermissions(program, QFile::ReadOwner | QFile::ExeOwner | QFile::WriteOwner);
        m_process = std::make_unique<QProcess>();
        m_process->start(program, {QStringLiteral("120")});
        if (!m_process->waitForStarted(5000))
            m_process.reset();
    }
    ~NamedProcess() {
        if (m_process) {
            m_process->kill();
            m_process->waitForFinished(5000);
        }
    }
    NamedProcess(const NamedProcess&) = delete;
    NamedProcess& operator=(const NamedProcess&) = delete;

    bool isRunning() const { return m_process && m_process->state() == QProcess::Running; }
    qint64 pid() const { return m_process ? m_process->processId() : 0; }

private:
    QTemporaryDir m_dir;
    std::unique_ptr<QProcess> m_process;
};

} // namespace tp::test
