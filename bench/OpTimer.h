#pragma once

// Times the ATen operators that run while it records (the `profile` scenario, issue 17): libtorch's
// RecordFunction callbacks around every operator call of the thread that made it (the calls of libtorch's
// intra-op worker threads lie inside one of those), of which only the outermost call of a nest counts
// (aten::conv2d, not the aten::convolution → aten::cudnn_convolution it calls).
// Host time by default: what the CPU spends issuing the operator (for a CUDA operator its launch, plus
// whatever one-time set-up its first call does). With Mode::SyncDevice the CUDA device is synchronized
// at the end of each outermost call, so its time is that of its kernels plus one launch and one sync
// (a few µs): where the GPU's time goes, at the price of a serialized run. Torch-free header.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tp::bench {

struct OpStat {
    std::string name; // "aten::conv2d"
    std::int64_t calls = 0;
    double ms = 0;    // sum over the calls
    double maxMs = 0; // the longest call
};

class OpTimer final {
public:
    enum class Mode { Host, SyncDevice };
    // Starts recording. One OpTimer records at a time (a second one throws std::logic_error).
    explicit OpTimer(Mode mode = Mode::Host);
    ~OpTimer();
    OpTimer(const OpTimer&) = delete;
    OpTimer& operator=(const OpTimer&) = delete;

    // Stops recording and returns the operators by time, longest first. Empty once stopped.
    std::vector<OpStat> stop();

private:
    std::uint64_t m_handle = 0;
};

// Sums over a stop()'s result.
double totalMs(const std::vector<OpStat>& stats);
std::int64_t totalCalls(const std::vector<OpStat>& stats);
// The entry named `name`, or an empty one with that name.
OpStat find(const std::vector<OpStat>& stats, const std::string& name);

} // namespace tp::bench
