// twistedpic-vram-hog [--want BYTES] [--device N] [--hold] [--card BYTES]: the co-tenant benchmarks'
// stand-in for an LLM server. It creates its CUDA context, then takes device memory in 256 MiB blocks
// (then 16 MiB ones) until it holds --want bytes (default: all it can get) and prints one JSON line:
//   {"total":…,"freeAfterContext":…,"got":…,"ok":true|false,"fill":…}
// ("ok": it got all of --want; always true without --want). --card makes the device look that
// large to everyone: the hog first takes total − BYTES ("fill", not counted in "got" or "held").
// Without --hold it then exits, which frees everything (the `co-tenant` scenario).
// With --hold it keeps the memory and answers commands on stdin, one JSON line each (the `cotenant`
// scenario, issue 16: an LLM that grows its KV cache between images):
//   grow BYTES   allocate BYTES more, all or nothing (a failed grow gives back what it took):
//                {"cmd":"grow","ok":…,"requested":…,"held":…,"free":…[,"error":"…"]}
//   status       {"cmd":"status","ok":true,"held":…,"free":…}
//   quit         (or end of input) frees everything and exits 0
// The memory is written once (cudaMemset), so that it is really backed, as a model's weights are.
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr size_t kBigBlock = size_t(256) << 20;
constexpr size_t kSmallBlock = size_t(16) << 20;

size_t freeBytes() {
    size_t freeB = 0, totalB = 0;
    if (cudaMemGetInfo(&freeB, &totalB) != cudaSuccess) {
        cudaGetLastError();
        return 0;
    }
    return freeB;
}

// Takes up to `want` bytes (0: as much as it can) into `blocks`; returns what it took.
size_t take(size_t want, std::vector<void*>& blocks) {
    size_t got = 0;
    for (const size_t block : {kBigBlock, kSmallBlock}) {
        while (want == 0 || got + block <= want) {
            void* p = nullptr;
            if (cudaMalloc(&p, block) != cudaSuccess) {
                cudaGetLastError();
                break;
            }
            cudaMemset(p, 0, block);
            blocks.push_back(p);
            got += block;
        }
    }
    return got;
}

void release(std::vector<void*>& blocks) {
    for (void* p : blocks)
        cudaFree(p);
    blocks.clear();
}

} // namespace

int main(int argc, char** argv) {
    size_t want = 0;
    int device = 0;
    bool hold = false;
    size_t card = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--hold") == 0)
            hold = true;
        else if (std::strcmp(argv[i], "--want") == 0 && i + 1 < argc)
            want = std::strtoull(argv[++i], nullptr, 10);
        else if (std::strcmp(argv[i], "--card") == 0 && i + 1 < argc)
            card = std::strtoull(argv[++i], nullptr, 10);
        else if (std::strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = std::atoi(argv[++i]);
    }
    if (cudaSetDevice(device) != cudaSuccess || cudaFree(nullptr) != cudaSuccess) {
        std::printf("{\"error\":\"%s\"}\n", cudaGetErrorString(cudaGetLastError()));
        return 1;
    }
    size_t freeAfterContext = 0, totalBytes = 0;
    cudaMemGetInfo(&freeAfterContext, &totalBytes);
    std::vector<void*> fillBlocks;
    const size_t fill = card > 0 && card < totalBytes ? take(totalBytes - card, fillBlocks) : 0;
    std::vector<void*> blocks;
    size_t held = take(want, blocks);
    // --want is rounded down to whole 16 MiB blocks; "ok" means that nothing more was missing.
    const bool ok = want == 0 || held + kSmallBlock > want;
    std::printf("{\"total\":%zu,\"freeAfterContext\":%zu,\"got\":%zu,\"ok\":%s,\"fill\":%zu}\n", totalBytes,
                freeAfterContext, held, ok ? "true" : "false", fill);
    std::fflush(stdout);
    if (!hold) {
        release(blocks);
        release(fillBlocks);
        return 0;
    }

    char line[256];
    while (std::fgets(line, sizeof line, stdin)) {
        std::string cmd(line);
        while (!cmd.empty() && (cmd.back() == '\n' || cmd.back() == '\r' || cmd.back() == ' '))
            cmd.pop_back();
        if (cmd == "quit")
            break;
        if (cmd == "status") {
            std::printf("{\"cmd\":\"status\",\"ok\":true,\"held\":%zu,\"free\":%zu}\n", held, freeBytes());
        } else if (cmd.rfind("grow ", 0) == 0) {
            const size_t bytes = std::strtoull(cmd.c_str() + 5, nullptr, 10);
            std::vector<void*> more;
            const size_t got = take(bytes, more);
            const bool grown = got + kSmallBlock > bytes;
            if (grown) {
                blocks.insert(blocks.end(), more.begin(), more.end());
                held += got;
                std::printf("{\"cmd\":\"grow\",\"ok\":true,\"requested\":%zu,\"held\":%zu,\"free\":%zu}\n",
                            bytes, held, freeBytes());
            } else {
                release(more);
                std::printf("{\"cmd\":\"grow\",\"ok\":false,\"requested\":%zu,\"held\":%zu,\"free\":%zu,"
                            "\"error\":\"cudaMalloc failed after %zu of %zu bytes\"}\n",
                            bytes, held, freeBytes(), got, bytes);
            }
        } else {
            std::printf(
                "{\"cmd\":\"?\",\"ok\":false,\"error\":\"unknown command; grow BYTES, status or quit\"}\n");
        }
        std::fflush(stdout);
    }
    release(blocks);
    release(fillBlocks);
    return 0;
}
