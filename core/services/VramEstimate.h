#pragma once

#include <QString>

namespace tp::services {

// What a generation will ask of the GPU, roughly. The point is to decide whether to
// ask Ollama for room before generating, not to predict the allocator to the byte.
struct GenerationShape {
    qint64 weightsBytes = 0; // every component the pipeline keeps on the GPU
    int width = 512;
    int height = 512;
    int batch = 1;           // images per run
    int bytesPerElement = 2; // fp16/bf16 activations; 4 for fp32
    bool guidance = true;    // classifier-free guidance doubles the UNet batch
    int latentScale = 8;     // VAE downsampling (8 for every SD family)
    int baseChannels = 320;  // UNet block_out_channels[0]
    int attentionHeads = 8;  // heads of the full-resolution attention
    // True when attention is plain matmul + softmax (libtorch 1.13), which holds the
    // tokens x tokens score matrix; false with scaled_dot_product_attention (2.x),
    // which does not.
    bool materializedAttention = true;
};

struct GenerationVramEstimate {
    qint64 weightsBytes = 0;
    qint64 unetBytes = 0;    // UNet working memory at its peak
    qint64 vaeBytes = 0;     // VAE decoder working memory at its peak
    qint64 workingBytes = 0; // max(unet, vae): they never run at the same time
    qint64 totalBytes = 0;   // weights + working
    QString explanation;     // the figures in words, for the log
};

// The estimate, in three terms (tokens = (W/8)·(H/8), b = bytes per element,
// n = batch × 2 with guidance):
//   UNet  = n · tokens · b · (24 · C + heads · tokens)
//           ~24 live feature maps of C (=320) channels at latent resolution (the
//           ResNet/attention activations the widest level keeps for its skip
//           connections), plus one full-resolution attention score matrix when it is
//           materialised;
//   VAE   = batch · W · H · 4 · 128 · 4
//           the decoder's last level: 128-channel maps at full resolution, in fp32
//           (the VAE upcasts), about four alive at once;
//   total = weights + max(UNet, VAE).
// SD 1.5 at 512x512, fp16, batch 1: UNet ≈ 632 MiB, VAE 512 MiB, so weights (~2 GiB)
// + 632 MiB, in line with the ~2.6-3 GiB peaks people report for diffusers.
GenerationVramEstimate estimateGenerationVram(const GenerationShape& shape);

} // namespace tp::services
