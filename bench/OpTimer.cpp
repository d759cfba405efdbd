#include "bench/OpTimer.h"

#include <ATen/record_function.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace tp::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Recording {
    std::mutex mutex;
    std::unordered_map<std::string, OpStat> stats;
    bool syncDevice = false;
    bool active = false;
    std::thread::id thread; // the one whose operators count (intra-op workers' calls lie inside them)
};

Recording& recording() {
    static Recording r;
    return r;
}

thread_local int t_depth = 0; // operator calls open on this thread

struct CallContext final : at::ObserverContext {
    Clock::time_point start;
    bool outermost = false;
};

std::unique_ptr<at::ObserverContext> onStart(const at::RecordFunction&) {
    if (std::this_thread::get_id() != recording().thread)
        return nullptr;
    auto c = std::make_unique<CallContext>();
    c->outermost = t_depth++ == 0;
    c->start = Clock::now();
    return c;
}

void onEnd(const at::RecordFunction& fn, at::ObserverContext* context) {
    const auto* c = static_cast<const CallContext*>(context);
    if (!c) // another thread's
        return;
    --t_depth;
    if (!c->outermost)
        return;
    Recording& r = recording();
    if (r.syncDevice)
        torch::cuda::synchronize();
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - c->start).count();
    const std::lock_guard<std::mutex> lock(r.mutex);
    OpStat& s = r.stats[fn.name()];
    ++s.calls;
    s.ms += ms;
    s.maxMs = std::max(s.maxMs, ms);
}

} // namespace

OpTimer::OpTimer(Mode mode) {
    Recording& r = recording();
    {
        const std::lock_guard<std::mutex> lock(r.mutex);
        if (r.active)
            throw std::logic_error("OpTimer: another one is recording");
        r.active = true;
        r.stats.clear();
        r.syncDevice = mode == Mode::SyncDevice;
        r.thread = std::this_thread::get_id();
    }
    m_handle = at::addGlobalCallback(
        at::RecordFunctionCallback(&onStart, &onEnd).scopes({at::RecordScope::FUNCTION}));
}

OpTimer::~OpTimer() {
    stop();
}

std::vector<OpStat> OpTimer::stop() {
    if (m_handle == 0)
        return {};
    at::removeCallback(m_handle);
    m_handle = 0;
    Recording& r = recording();
    std::vector<OpStat> out;
    const std::lock_guard<std::mutex> lock(r.mutex);
    out.reserve(r.stats.size());
    for (auto& [name, s] : r.stats) {
        s.name = name;
        out.push_back(s);
    }
    r.stats.clear();
    r.active = false;
    std::sort(out.begin(), out.end(), [](const OpStat& a, const OpStat& b) { return a.ms > b.ms; });
    return out;
}

double totalMs(const std::vector<OpStat>& stats) {
    double ms = 0;
    for (const OpStat& s : stats)
        ms += s.ms;
    return ms;
}

std::int64_t totalCalls(const std::vector<OpStat>& stats) {
    std::int64_t n = 0;
    for (const OpStat& s : stats)
        n += s.calls;
    return n;
}

OpStat find(const std::vector<OpStat>& stats, const std::string& name) {
    for (const OpStat& s : stats)
        if (s.name == name)
            return s;
    OpStat none;
    none.name = name;
    return none;
}

} // namespace tp::bench
