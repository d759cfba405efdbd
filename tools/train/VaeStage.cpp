// Stage 1: the autoencoder, and the statistics of its latents.
#include "tools/train/Checkpoint.h"
#include "tools/train/CsvLog.h"
#include "tools/train/DeviceSetup.h"
#include "tools/train/ShapeData.h"
#include "tools/train/Trainer.h"

#include <torch/optim/adamw.h>

#include <QDateTime>
#include <QFile>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace tp::train {

namespace {

struct VaeLosses {
    at::Tensor total, l1, mse, edge, kl;
};

// Reconstruction (L1 + L2), an L1 on image gradients that keeps edges sharp, and a small KL
// towards N(0, 1) that keeps the latent space smooth (no adversarial or perceptual loss:
// flat colours do not need them).
VaeLosses vaeLosses(const at::Tensor& x, const at::Tensor& rec, const nn::LatentDistribution& post,
                    double klWeight, double edgeWeight) {
    VaeLosses l;
    const at::Tensor diff = rec - x;
    l.l1 = diff.abs().mean();
    l.mse = diff.square().mean();
    const int64_t h = x.size(2), w = x.size(3);
    const at::Tensor dxRec = rec.narrow(3, 1, w - 1) - rec.narrow(3, 0, w - 1);
    const at::Tensor dxRef = x.narrow(3, 1, w - 1) - x.narrow(3, 0, w - 1);
    const at::Tensor dyRec = rec.narrow(2, 1, h - 1) - rec.narrow(2, 0, h - 1);
    const at::Tensor dyRef = x.narrow(2, 1, h - 1) - x.narrow(2, 0, h - 1);
    l.edge = (dxRec - dxRef).abs().mean() + (dyRec - dyRef).abs().mean();
    const at::Tensor var = post.logvar.exp();
    l.kl = 0.5 * (post.mean.square() + var - 1.0 - post.logvar).mean();
    l.total = l.l1 + l.mse + edgeWeight * l.edge + klWeight * l.kl;
    return l;
}

void setLearningRate(torch::optim::Optimizer& optimizer, double lr) {
    for (auto& group : optimizer.param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

} // namespace

Status Trainer::trainVae() {
    std::vector<at::Tensor> params;
    for (const auto& item : m_vae->named_parameters(true))
        params.push_back(item.value());
    FlatParameters flat(params);
    torch::optim::AdamW optimizer(
        std::vector<torch::optim::OptimizerParamGroup>{
            torch::optim::OptimizerParamGroup({flat.buffers()[0]}),
            torch::optim::OptimizerParamGroup({flat.buffers()[1]})},
        torch::optim::AdamWOptions(m_opt.vaeLr).betas({0.9, 0.99}).weight_decay(0.0));
    ShapeData data(streamSeed(m_opt.seed, SeedStream::VaeData), m_opt.arch.imageSize, m_device, nullptr, 0.0,
                   m_opt.arch.maxTokens);
    at::Generator gen = seededGenerator(m_device, streamSeed(m_opt.seed, SeedStream::VaeNoise));

    const QString ckptPath = workFile(QStringLiteral("vae.ckpt"));
    int64_t start = 0;
    if (m_opt.resume && QFile::exists(ckptPath)) {
        auto ckpt = CheckpointReader::open(ckptPath, m_device);
        if (!ckpt)
            return Status::fail(ckpt.error());
        const auto step = ckpt->integer("step");
        const auto sampler = ckpt->text("data");
        const at::Tensor genState = ckpt->tensor("generator");
        if (!step || !sampler || !genState.defined() || !ckpt->copyInto("flat.0", flat.buffers()[0]) ||
            !ckpt->copyInto("flat.1", flat.buffers()[1]) || !ckpt->optimizer("optimizer", optimizer) ||
            !data.restore(*sampler))
            return Status::fail(
                QStringLiteral("%1 does not match this configuration (other sizes?). Delete it or "
                               "train without --resume.")
                    .arg(ckptPath));
        gen.set_state(genState.to(at::kCPU));
        start = *step;
        std::printf("vae: resumed at step %lld\n", static_cast<long long>(start));
    }

    CsvLog log;
    if (Status s = log.open(workFile(QStringLiteral("vae_loss.csv")),
                            {QStringLiteral("loss"), QStringLiteral("l1_loss"), QStringLiteral("mse_loss"),
                             QStringLiteral("edge_loss"), QStringLiteral("kl"), QStringLiteral("lr"),
                             QStringLiteral("images_per_s")},
                            m_opt.resume, start);
        !s)
        return s;

    const bool bf16 = m_opt.precision == QLatin1String("bf16") && m_device.is_cuda();
    at::Tensor sums;
    int logged = 0;
    qint64 intervalStart = QDateTime::currentMSecsSinceEpoch();
    qint64 timedFrom = 0;
    for (int64_t step = start; step < m_opt.vaeSteps; ++step) {
        if (step == start + kUntimedSteps) {
            synchronize(m_device);
            timedFrom = QDateTime::currentMSecsSinceEpoch();
        }
        const double lr = learningRate(m_opt.vaeLr, step, m_opt.vaeSteps, m_opt.warmupSteps);
        setLearningRate(optimizer, lr);
        const Batch batch = data.next(m_opt.vaeBatch);
        nn::LatentDistribution post;
        at::Tensor rec;
        {
            AutocastScope autocast(bf16);
            post = m_vae->encode(batch.images);
            rec = m_vae->decode(post.sample(gen));
        }
        post.mean = post.mean.to(at::kFloat);
        post.logvar = post.logvar.to(at::kFloat);
        const VaeLosses l =
            vaeLosses(batch.images, rec.to(at::kFloat), post, m_opt.klWeight, m_opt.edgeWeight);
        flat.zeroGrad();
        l.total.backward();
        flat.clipGradNorm(m_opt.gradClip);
        optimizer.step();

        const at::Tensor row = at::stack({l.total, l.l1, l.mse, l.edge, l.kl}).detach();
        sums = sums.defined() ? sums + row : row;
        ++logged;
        const bool last = step + 1 == m_opt.vaeSteps;
        if ((step + 1) % m_opt.logEvery == 0 || last) {
            const at::Tensor mean = (sums / double(logged)).to(at::kCPU, at::kDouble);
            const double seconds = (QDateTime::currentMSecsSinceEpoch() - intervalStart) / 1000.0;
            const double ips = logged * double(m_opt.vaeBatch) / std::max(seconds, 1e-3);
            const double* m = mean.data_ptr<double>();
            std::printf(
                "vae  %6lld/%d  loss %.5f  l1 %.5f  mse %.6f  edge %.5f  kl %.2f  lr %.2e  %.0f img/s  "
                "%.0f s\n",
                static_cast<long long>(step + 1), m_opt.vaeSteps, m[0], m[1], m[2], m[3], m[4], lr, ips,
                elapsedSeconds());
            std::fflush(stdout);
            log.row(step + 1, {m[0], m[1], m[2], m[3], m[4], lr, ips});
            sums = at::Tensor();
            logged = 0;
            intervalStart = QDateTime::currentMSecsSinceEpoch();
        }
        if ((step + 1) % m_opt.checkpointEvery == 0 || last) {
            CheckpointWriter w;
            w.integer("step", step + 1);
            w.text("data", data.state());
            w.tensor("generator", gen.get_state());
            w.tensor("flat.0", flat.buffers()[0]);
            w.tensor("flat.1", flat.buffers()[1]);
            w.optimizer("optimizer", optimizer);
            if (Status s = w.save(ckptPath); !s)
                return s;
        }
    }
    synchronize(m_device);
    if (timedFrom > 0)
        m_vaeImagesPerSecond = double(m_opt.vaeSteps - start - kUntimedSteps) * m_opt.vaeBatch /
                               std::max(1e-3, (QDateTime::currentMSecsSinceEpoch() - timedFrom) / 1000.0);
    // Frozen from here on.
    for (auto& p : m_vae->parameters(true))
        p.set_requires_grad(false);
    return Status::ok();
}

Status Trainer::measureLatents() {
    // A held-out stream of images: reconstruction quality, the latent scale (SD's
    // scaling_factor, here 1 / RMS so that scaled latents have unit second moment) and a
    // least-squares latent -> RGB map for live previews.
    ShapeData data(streamSeed(m_opt.seed, SeedStream::LatentData), m_opt.arch.imageSize, m_device, nullptr,
                   0.0, m_opt.arch.maxTokens);
    at::Generator gen = seededGenerator(m_device, streamSeed(m_opt.seed, SeedStream::LatentNoise));
    const int images = m_opt.smoke ? 16 : 1024;
    const int chunk = std::min(images, std::max(1, m_opt.vaeBatch));
    std::vector<at::Tensor> latents, targets;
    double se = 0.0, ae = 0.0;
    int64_t pixels = 0;
    at::NoGradGuard noGrad;
    for (int done = 0; done < images; done += chunk) {
        const Batch batch = data.next(std::min(chunk, images - done));
        const nn::LatentDistribution post = m_vae->encode(batch.images);
        const at::Tensor z = post.sample(gen).to(at::kFloat);
        const at::Tensor rec = m_vae->decode(post.mean).to(at::kFloat).clamp(-1.0, 1.0);
        se += (rec - batch.images).square().sum().item<double>();
        ae += (rec - batch.images).abs().sum().item<double>();
        pixels += batch.images.numel();
        latents.push_back(z);
        const int64_t down = batch.images.size(2) / z.size(2);
        targets.push_back(at::avg_pool2d(batch.images, {down, down}));
    }
    const at::Tensor z = at::cat(latents).to(at::kDouble);
    const double rms = z.square().mean().sqrt().item<double>();
    m_scaling = 1.0 / rms;
    const double mse = se / double(pixels);
    const double psnr = 10.0 * std::log10(4.0 / std::max(mse, 1e-12)); // range [-1, 1]
    std::printf("vae: reconstruction PSNR %.2f dB, mean abs error %.2f/255; latent mean %.3f std %.3f -> "
                "scaling_factor %.5f\n",
                psnr, ae / double(pixels) * 127.5, z.mean().item<double>(), z.std().item<double>(),
                m_scaling);

    // RGB (in [-1, 1], averaged over each latent pixel's footprint) ~ scaled latent . W + b.
    const int64_t c = z.size(1);
    const at::Tensor a = at::cat(
        {(z * m_scaling).permute({0, 2, 3, 1}).reshape({-1, c}), at::ones({z.numel() / c, 1}, z.options())},
        1);
    const at::Tensor b = at::cat(targets).to(at::kDouble).permute({0, 2, 3, 1}).reshape({-1, 3});
    const at::Tensor ata = a.t().matmul(a) + 1e-6 * at::eye(c + 1, a.options());
    const at::Tensor w = at::linalg_solve(ata, a.t().matmul(b)).to(at::kCPU); // [c + 1, 3]
    const double fitError = (a.matmul(w.to(a.device())) - b).abs().mean().item<double>();
    m_rgbFactors = QJsonArray();
    for (int64_t i = 0; i < c; ++i)
        m_rgbFactors.append(
            QJsonArray{w[i][0].item<double>(), w[i][1].item<double>(), w[i][2].item<double>()});
    m_rgbBias = QJsonArray{w[c][0].item<double>(), w[c][1].item<double>(), w[c][2].item<double>()};
    std::printf("vae: latent->RGB preview fit, mean abs error %.3f (of 2)\n", fitError);
    return Status::ok();
}

} // namespace tp::train
