// Stage 2: the CLIP text encoder and the UNet, trained together on the frozen autoencoder's
// scaled latents.
#include "tools/train/Checkpoint.h"
#include "tools/train/CsvLog.h"
#include "tools/train/DeviceSetup.h"
#include "tools/train/ShapeData.h"
#include "tools/train/Trainer.h"

#include <torch/optim/adamw.h>

#include <QDateTime>
#include <QFile>

#include <algorithm>
#include <cstdio>

namespace tp::train {

Status Trainer::trainDiffusion() {
    std::vector<at::Tensor> params;
    for (torch::nn::Module* m : {static_cast<torch::nn::Module*>(m_textEncoder.get()),
                                 static_cast<torch::nn::Module*>(m_unet.get())})
        for (const auto& item : m->named_parameters(true))
            params.push_back(item.value());
    m_diffusionParams = FlatParameters(params);
    FlatParameters& flat = m_diffusionParams;
    // Matrices decay, vectors (norms, biases) do not.
    torch::optim::AdamW optimizer(
        std::vector<torch::optim::OptimizerParamGroup>{
            torch::optim::OptimizerParamGroup(
                {flat.buffers()[0]},
                std::make_unique<torch::optim::AdamWOptions>(
                    torch::optim::AdamWOptions(m_opt.unetLr).weight_decay(m_opt.weightDecay))),
            torch::optim::OptimizerParamGroup(
                {flat.buffers()[1]}, std::make_unique<torch::optim::AdamWOptions>(
                                         torch::optim::AdamWOptions(m_opt.unetLr).weight_decay(0.0)))},
        torch::optim::AdamWOptions(m_opt.unetLr));
    m_ema = FlatEma(flat);
    ShapeData data(streamSeed(m_opt.seed, SeedStream::DiffusionData), m_opt.arch.imageSize, m_device,
                   &*m_tokenizer, m_opt.captionDropout, m_opt.arch.maxTokens);
    at::Generator gen = seededGenerator(m_device, streamSeed(m_opt.seed, SeedStream::DiffusionNoise));

    const QString ckptPath = workFile(QStringLiteral("diffusion.ckpt"));
    int64_t start = 0;
    if (m_opt.resume && QFile::exists(ckptPath)) {
        auto ckpt = CheckpointReader::open(ckptPath, m_device);
        if (!ckpt)
            return Status::fail(ckpt.error());
        const auto step = ckpt->integer("step");
        const auto sampler = ckpt->text("data");
        const at::Tensor genState = ckpt->tensor("generator");
        bool ok = step && sampler && genState.defined() && ckpt->optimizer("optimizer", optimizer) &&
                  data.restore(*sampler);
        for (size_t i = 0; ok && i < flat.buffers().size(); ++i)
            ok = ckpt->copyInto("flat." + std::to_string(i), flat.buffers()[i]) &&
                 ckpt->copyInto("ema." + std::to_string(i), m_ema.buffers()[i]);
        if (!ok)
            return Status::fail(
                QStringLiteral("%1 does not match this configuration (other sizes?). Delete it or "
                               "train without --resume.")
                    .arg(ckptPath));
        gen.set_state(genState.to(at::kCPU));
        start = *step;
        std::printf("unet: resumed at step %lld\n", static_cast<long long>(start));
    }

    CsvLog log;
    if (Status s = log.open(workFile(QStringLiteral("unet_loss.csv")),
                            {QStringLiteral("loss"), QStringLiteral("mse_loss"), QStringLiteral("grad_norm"),
                             QStringLiteral("lr"), QStringLiteral("images_per_s")},
                            m_opt.resume, start);
        !s)
        return s;

    const bool bf16 = m_opt.precision == QLatin1String("bf16") && m_device.is_cuda();
    const int64_t timesteps = m_alphasCumprod.size(0);
    const auto floatOptions = at::TensorOptions().dtype(at::kFloat).device(m_device);
    at::Tensor sums;
    int logged = 0;
    qint64 intervalStart = QDateTime::currentMSecsSinceEpoch();
    qint64 timedFrom = 0;
    for (int64_t step = start; step < m_opt.unetSteps; ++step) {
        if (step == start + kUntimedSteps) {
            synchronize(m_device);
            timedFrom = QDateTime::currentMSecsSinceEpoch();
        }
        const double lr = learningRate(m_opt.unetLr, step, m_opt.unetSteps, m_opt.warmupSteps);
        for (auto& group : optimizer.param_groups())
            static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);

        const Batch batch = data.next(m_opt.batch);
        const at::Tensor x0 = encodeScaled(batch.images, gen);
        const int64_t b = x0.size(0);
        const at::Tensor t =
            at::randint(0, timesteps, {b}, gen, at::TensorOptions().dtype(at::kLong).device(m_device));
        at::Tensor noise = at::randn(x0.sizes(), gen, floatOptions);
        if (m_opt.offsetNoise > 0.0)
            noise = noise + m_opt.offsetNoise * at::randn({b, x0.size(1), 1, 1}, gen, floatOptions);
        const at::Tensor ab = m_alphasCumprod.index_select(0, t).view({b, 1, 1, 1});
        const at::Tensor noisy = ab.sqrt() * x0 + (1.0 - ab).sqrt() * noise;

        at::Tensor pred;
        {
            AutocastScope autocast(bf16);
            const at::Tensor context = m_textEncoder->forward(batch.tokens).lastHiddenState;
            pred = m_unet->forward(noisy, t, context);
        }
        const at::Tensor perSample = (pred.to(at::kFloat) - noise).square().mean({1, 2, 3});
        at::Tensor loss = perSample.mean();
        if (m_opt.minSnrGamma > 0.0) {
            // Min-SNR-gamma weighting for epsilon prediction: min(SNR, gamma) / SNR.
            const at::Tensor snr = (ab / (1.0 - ab)).view({b});
            loss = (perSample * snr.clamp_max(m_opt.minSnrGamma) / snr).mean();
        }
        flat.zeroGrad();
        loss.backward();
        const at::Tensor gradNorm = flat.clipGradNorm(m_opt.gradClip);
        optimizer.step();
        m_ema.update(flat, m_opt.emaDecay, step);

        const at::Tensor row = at::stack({loss.detach(), perSample.detach().mean(), gradNorm});
        sums = sums.defined() ? sums + row : row;
        ++logged;
        const bool last = step + 1 == m_opt.unetSteps;
        if ((step + 1) % m_opt.logEvery == 0 || last) {
            const at::Tensor mean = (sums / double(logged)).to(at::kCPU, at::kDouble);
            const double seconds = (QDateTime::currentMSecsSinceEpoch() - intervalStart) / 1000.0;
            const double ips = logged * double(m_opt.batch) / std::max(seconds, 1e-3);
            const double* m = mean.data_ptr<double>();
            std::printf("unet %6lld/%d  loss %.5f  mse %.5f  grad %.3f  lr %.2e  %.0f img/s  %.0f s\n",
                        static_cast<long long>(step + 1), m_opt.unetSteps, m[0], m[1], m[2], lr, ips,
                        elapsedSeconds());
            std::fflush(stdout);
            log.row(step + 1, {m[0], m[1], m[2], lr, ips});
            sums = at::Tensor();
            logged = 0;
            intervalStart = QDateTime::currentMSecsSinceEpoch();
        }
        const bool stop = m_opt.stopAfter > 0 && step + 1 == m_opt.stopAfter && !last;
        if ((step + 1) % m_opt.checkpointEvery == 0 || last || stop) {
            CheckpointWriter w;
            w.integer("step", step + 1);
            w.text("data", data.state());
            w.tensor("generator", gen.get_state());
            for (size_t i = 0; i < flat.buffers().size(); ++i) {
                w.tensor("flat." + std::to_string(i), flat.buffers()[i]);
                w.tensor("ema." + std::to_string(i), m_ema.buffers()[i]);
            }
            w.optimizer("optimizer", optimizer);
            if (Status s = w.save(ckptPath); !s)
                return s;
        }
        if (stop) {
            m_stopped = true;
            return Status::ok();
        }
    }
    synchronize(m_device);
    if (timedFrom > 0)
        m_unetImagesPerSecond = double(m_opt.unetSteps - start - kUntimedSteps) * m_opt.batch /
                                std::max(1e-3, (QDateTime::currentMSecsSinceEpoch() - timedFrom) / 1000.0);
    // What ships (and what the evaluation samples) are the EMA weights.
    m_ema.swap(flat);
    for (auto& p : params)
        p.set_requires_grad(false);
    return Status::ok();
}

} // namespace tp::train
