// After training: draw the evaluation prompts with the default sampler and read them back
// with the shape classifier, so the run reports what the model can actually do.
#include "core/sched/Random.h"
#include "core/sched/Scheduler.h"
#include "tools/shapes/ShapeClassifier.h"
#include "tools/shapes/ShapeRenderer.h"
#include "tools/train/DeviceSetup.h"
#include "tools/train/Trainer.h"

#include <QFile>
#include <QPainter>

#include <cstdio>

namespace tp::train {

Status Trainer::evaluate() {
    const int n = m_opt.evalPrompts;
    if (n <= 0)
        return Status::ok();
    const std::vector<shapes::Scene> scenes = shapes::evaluationScenes(n);
    auto scheduler = sched::makeScheduler(QStringLiteral("euler_a"), schedulerConfig());
    if (!scheduler)
        return Status::fail(scheduler.error());
    sched::Scheduler& sampler = **scheduler;
    if (Status s = sampler.setTimesteps(m_opt.evalSteps); !s)
        return s;

    at::NoGradGuard noGrad;
    // Unconditional rows first, as diffusers' pipeline concatenates them.
    const int tokens = m_opt.arch.maxTokens;
    at::Tensor ids = at::empty({2 * n, tokens}, at::TensorOptions().dtype(at::kLong));
    for (int i = 0; i < 2 * n; ++i) {
        const QString prompt = i < n ? QString() : shapes::caption(scenes[size_t(i - n)]);
        std::vector<int64_t> t = m_tokenizer->tokenize(prompt, tokens).ids;
        t.resize(size_t(tokens), m_tokenizer->padId());
        std::copy(t.begin(), t.end(), ids.data_ptr<int64_t>() + int64_t(i) * tokens);
    }
    const at::Tensor context = m_textEncoder->forward(ids.to(m_device)).lastHiddenState;

    const int64_t latent = m_opt.arch.imageSize >> (m_opt.arch.vaeChannels.size() - 1);
    at::Generator gen = sched::makeCpuGenerator(streamSeed(m_opt.seed, SeedStream::Evaluation));
    at::Tensor latents =
        sched::randnTensor({n, m_opt.arch.latentChannels, latent, latent}, &gen, at::kFloat, m_device) *
        sampler.initNoiseSigma();
    for (int i = 0; i < sampler.size(); ++i) {
        const at::Tensor input = sampler.scaleModelInput(at::cat({latents, latents}), i);
        const at::Tensor eps = m_unet->forward(input, sampler.timestepTensor(i), context);
        const auto parts = eps.chunk(2);
        const at::Tensor guided = parts[0] + m_opt.evalGuidance * (parts[1] - parts[0]);
        latents = sampler.step(guided, i, latents, &gen);
    }
    const at::Tensor images = decodeScaled(latents).to(at::kCPU);

    // Grid of the samples next to the generator's own drawing of each prompt.
    const int size = m_opt.arch.imageSize;
    const int columns = 8;
    const int rows = (n + columns - 1) / columns;
    QImage grid(columns * 2 * (size + 2), rows * (size + 2), QImage::Format_RGB888);
    grid.fill(Qt::white);
    QPainter painter(&grid);
    const at::Tensor truth = shapes::renderScenes(scenes, size);

    QFile csv(workFile(QStringLiteral("eval.csv")));
    if (!csv.open(QIODevice::WriteOnly | QIODevice::Truncate))
        return Status::fail(QStringLiteral("Could not write %1.").arg(csv.fileName()));
    csv.write("prompt,colour_ok,background_ok,shape_ok,size_ok,position_ok,seen\n");
    int colours = 0, shapesOk = 0, sizes = 0, positions = 0;
    for (int i = 0; i < n; ++i) {
        const QImage image = shapes::toQImage(images[i]);
        const shapes::Classification c = shapes::classify(image);
        const shapes::Scene& s = scenes[size_t(i)];
        const bool colourOk = c.found && c.colour == s.colour && c.background == s.background;
        const bool shapeOk = c.found && c.shape == s.shape;
        colours += colourOk;
        shapesOk += shapeOk;
        sizes += c.found && c.size == s.size;
        positions += c.found && c.position == s.position;
        csv.write(QStringLiteral("\"%1\",%2,%3,%4,%5,%6,\"%7\"\n")
                      .arg(shapes::caption(s))
                      .arg(int(c.colour == s.colour))
                      .arg(int(c.background == s.background))
                      .arg(int(shapeOk))
                      .arg(int(c.found && c.size == s.size))
                      .arg(int(c.found && c.position == s.position))
                      .arg(c.describe())
                      .toUtf8());
        const int x = (i % columns) * 2 * (size + 2);
        const int y = (i / columns) * (size + 2);
        painter.drawImage(x, y, image);
        painter.drawImage(x + size + 1, y, shapes::toQImage(truth[i]));
    }
    painter.end();
    grid.save(workFile(QStringLiteral("samples.png")));
    std::printf("eval (%d prompts, euler_a %d steps, guidance %.1f): colours %.2f  shape %.2f  size %.2f  "
                "position %.2f  -> %s\n",
                n, m_opt.evalSteps, m_opt.evalGuidance, colours / double(n), shapesOk / double(n),
                sizes / double(n), positions / double(n),
                qPrintable(workFile(QStringLiteral("samples.png"))));
    return Status::ok();
}

} // namespace tp::train
