#pragma once

#include <QString>

// Names of the processes that use a GPU, for the monitor's process list.
namespace tp::gpu {

// /proc/PID/comm (at most 15 characters: "ollama_llama_server" reads "ollama_llama_se"); empty
// when the process is gone or lives in another PID namespace (containers).
QString processName(qint64 pid);
// Ollama's server and its runners: "ollama", "ollama_llama_server" (also truncated), "ollama-…".
bool isOllamaProcessName(const QString& name);
// This process's pid.
qint64 selfPid();

} // namespace tp::gpu
