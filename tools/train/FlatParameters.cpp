#include "tools/train/FlatParameters.h"

#include <algorithm>
#include <cmath>

namespace tp::train {

namespace {

bool endsWith(const std::string& s, const char* suffix) {
    const std::string t(suffix);
    return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

bool contains(const std::string& s, const char* part) {
    return s.find(part) != std::string::npos;
}

// The last layer of a residual branch: the second convolution of a resnet, the output of an
// attention or transformer block, the UNet's final convolution.
bool isResidualOutput(const std::string& name) {
    return (contains(name, "resnets.") && contains(name, ".conv2.")) || contains(name, ".proj_out.") ||
           contains(name, ".to_out.0.") || contains(name, ".ff.net.2.") || name.rfind("conv_out.", 0) == 0;
}

} // namespace

void initialiseForTraining(torch::nn::Module& module, at::Generator& gen, bool zeroResidualOutputs) {
    at::NoGradGuard noGrad;
    for (const auto& item : module.named_parameters(/*recurse=*/true)) {
        const std::string& name = item.key();
        at::Tensor p = item.value();
        if (endsWith(name, "embedding.weight") && p.dim() == 2 && contains(name, "embeddings.")) {
            p.normal_(0.0, 0.02, gen); // CLIP's token and position embeddings
        } else if (p.dim() >= 2) {
            if (zeroResidualOutputs && isResidualOutput(name)) {
                p.zero_();
            } else {
                const double fanIn = double(p.numel() / p.size(0));
                const double bound = 1.0 / std::sqrt(fanIn); // kaiming_uniform(a=sqrt(5)), PyTorch's default
                p.uniform_(-bound, bound, gen);
            }
        } else if (endsWith(name, ".weight")) {
            p.fill_(1.0); // norm scale
        } else {
            p.zero_(); // biases and norm shifts
        }
        p.set_requires_grad(true);
    }
}

int64_t parameterCount(const torch::nn::Module& module) {
    int64_t n = 0;
    for (const auto& p : module.parameters(true))
        n += p.numel();
    return n;
}

FlatParameters::FlatParameters(const std::vector<at::Tensor>& params) {
    at::NoGradGuard noGrad;
    for (int group = 0; group < 2; ++group) {
        std::vector<at::Tensor> members;
        int64_t total = 0;
        for (const at::Tensor& p : params)
            if ((p.dim() >= 2) == (group == 0)) {
                members.push_back(p);
                total += p.numel();
            }
        const auto options = params.empty() ? at::TensorOptions().dtype(at::kFloat)
                                            : params.front().options().requires_grad(false);
        at::Tensor data = at::empty({total}, options);
        at::Tensor grad = at::zeros({total}, options);
        int64_t offset = 0;
        for (at::Tensor p : members) {
            const int64_t n = p.numel();
            at::Tensor view = data.narrow(0, offset, n).view(p.sizes());
            view.copy_(p.detach());
            p.set_data(view);
            p.mutable_grad() = grad.narrow(0, offset, n).view(p.sizes());
            offset += n;
        }
        data.mutable_grad() = grad;
        m_data.push_back(data);
        m_grad.push_back(grad);
    }
}

int64_t FlatParameters::numel() const {
    int64_t n = 0;
    for (const auto& d : m_data)
        n += d.numel();
    return n;
}

void FlatParameters::zeroGrad() {
    for (auto& g : m_grad)
        g.zero_();
}

at::Tensor FlatParameters::gradNorm() const {
    at::Tensor sum;
    for (const auto& g : m_grad) {
        const at::Tensor s = g.square().sum();
        sum = sum.defined() ? sum + s : s;
    }
    return sum.sqrt();
}

at::Tensor FlatParameters::clipGradNorm(double maxNorm) {
    const at::Tensor norm = gradNorm();
    const at::Tensor factor = (maxNorm / (norm + 1e-6)).clamp_max(1.0);
    for (auto& g : m_grad)
        g.mul_(factor);
    return norm;
}

FlatEma::FlatEma(const FlatParameters& params) {
    for (const auto& d : params.buffers())
        m_ema.push_back(d.detach().clone());
}

void FlatEma::update(const FlatParameters& params, double decay, int64_t step) {
    at::NoGradGuard noGrad;
    const double d = std::min(decay, (1.0 + double(step)) / (10.0 + double(step)));
    for (size_t i = 0; i < m_ema.size(); ++i)
        m_ema[i].lerp_(params.buffers()[i].detach(), 1.0 - d);
}

void FlatEma::swap(FlatParameters& params) {
    at::NoGradGuard noGrad;
    for (size_t i = 0; i < m_ema.size(); ++i) {
        at::Tensor live = params.buffers()[i].detach();
        const at::Tensor keep = live.clone();
        live.copy_(m_ema[i]);
        m_ema[i].copy_(keep);
    }
}

} // namespace tp::train
