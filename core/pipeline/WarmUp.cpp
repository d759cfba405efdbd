#include "core/pipeline/WarmUp.h"

#include "core/nn/Attention.h"
#include "core/sched/Random.h"

#include <c10/core/InferenceMode.h>

#include <chrono>
#include <vector>

namespace tp::pipeline {

double warmUpDevice(const at::Device& device, at::ScalarType dtype) {
    const auto t0 = std::chrono::steady_clock::now();
    c10::InferenceMode inference;
    const at::TensorOptions o = at::TensorOptions().device(device).dtype(dtype);
    // Values from a generator of its own, made on the CPU: no device generator's state moves.
    at::Generator gen = sched::makeCpuGenerator(0);
    const auto randn = [&](at::IntArrayRef sizes) {
        return at::randn(sizes, gen, at::TensorOptions().dtype(at::kFloat)).to(o);
    };
    // Image-shaped work: the UNets' and VAEs' resnet blocks and up/down sampling.
    at::Tensor x = randn({2, 64, 16, 16});
    const at::Tensor w3 = randn({64, 64, 3, 3}) * 0.05;
    const at::Tensor w1 = randn({64, 64, 1, 1}) * 0.05;
    const at::Tensor bias = at::zeros({64}, o);
    const at::Tensor gamma = at::ones({64}, o);
    x = at::group_norm(x, 32, gamma, bias, 1e-5);
    x = at::silu(x);
    x = at::conv2d(x, w3, bias, 1, 1);
    x = x + at::conv2d(x, w1, bias);
    x = at::conv2d(x, w3, bias, 2, 1); // downsampling
    x = at::upsample_nearest2d(x, std::vector<int64_t>{16, 16}, c10::nullopt, c10::nullopt);
    x = at::cat({x, x}, 1).chunk(2, 1)[0] * 0.5;
    // Token-shaped work: the transformers' attention and feed-forward layers.
    const int64_t context = 77, dim = 64, heads = 4;
    at::Tensor h = x.flatten(2).transpose(1, 2).contiguous(); // [2, 256, 64]
    const at::Tensor wq = randn({dim, dim}) * 0.05;
    const at::Tensor wff = randn({4 * dim, dim}) * 0.05;
    const at::Tensor ctx = randn({2, context, dim});
    h = at::layer_norm(h, {dim}, gamma, bias, 1e-5);
    const at::Tensor q = nn::splitHeads(at::linear(h, wq), heads);
    const at::Tensor k = nn::splitHeads(at::linear(ctx, wq), heads);
    const at::Tensor v = nn::splitHeads(at::linear(ctx, wq, bias), heads);
    h = h + nn::mergeHeads(nn::scaledDotProductAttention(q, nn::splitHeads(at::linear(h, wq), heads),
                                                         nn::splitHeads(at::linear(h, wq, bias), heads)));
    h = h + nn::mergeHeads(nn::scaledDotProductAttention(q, k, v));
    const at::Tensor up = at::linear(h, wff);
    h = h + at::linear(at::gelu(up) + at::gelu(up, "tanh"), wff.t().contiguous());
    h = at::softmax(at::matmul(h, h.transpose(1, 2)).to(at::kFloat), -1).to(dtype).bmm(h);
    (void)h.sum().item<double>(); // waits for all of it
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace tp::pipeline
