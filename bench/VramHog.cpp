// twistedpic-vram-hog [--want BYTES] [--device N]: the co-tenant benchmark's stand-in for an LLM
// server that loads while TwistedPic is idle. It creates its CUDA context, then takes device
// memory in 256 MiB blocks (then 16 MiB ones) until it holds --want bytes (default: all it can
// get), prints one JSON line and exits, which frees everything.
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
    size_t want = 0;
    int device = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--want") == 0)
            want = std::strtoull(argv[i + 1], nullptr, 10);
        else if (std::strcmp(argv[i], "--device") == 0)
            device = std::atoi(argv[i + 1]);
    }
    if (cudaSetDevice(device) != cudaSuccess || cudaFree(nullptr) != cudaSuccess) {
        std::printf("{\"error\":\"%s\"}\n", cudaGetErrorString(cudaGetLastError()));
        return 1;
    }
    size_t freeBytes = 0, totalBytes = 0;
    cudaMemGetInfo(&freeBytes, &totalBytes);
    std::vector<void*> blocks;
    size_t got = 0;
    for (const size_t block : {size_t(256) << 20, size_t(16) << 20}) {
        while (want == 0 || got + block <= want) {
            void* p = nullptr;
            if (cudaMalloc(&p, block) != cudaSuccess) {
                cudaGetLastError();
                break;
            }
            blocks.push_back(p);
            got += block;
        }
    }
    std::printf("{\"total\":%zu,\"freeAfterContext\":%zu,\"got\":%zu}\n", totalBytes, freeBytes, got);
    for (void* p : blocks)
        cudaFree(p);
    return 0;
}
