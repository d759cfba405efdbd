#pragma once

#include <QString>

namespace tp::services {

// What a generation will ask of the GPU, roughly. The point is to decide whether to
// ask Ollama for room before generating, not to predict the allocator to the byte.
struct GenerationShape {
    // What the denoiser is: a UNet (SD 1.x/2.x, SDXL) or a diffusion transformer over patch tokens
    // (SD 3.x MMDiT, Flux), whose working memory the same terms describe with other figures.
    enum class Denoiser { UNet, Dit };
    Denoiser denoiser = Denoiser::UNet;
    qint64 weightsBytes = 0; // every component the pipeline keeps on the GPU
    int width = 512;
    int height = 512;
    int batch = 1;           // images per run
    int bytesPerElement = 2; // fp16/bf16 activations; 4 for fp32
    bool guidance = true;    // classifier-free guidance doubles the UNet batch
    int latentScale = 8;     // VAE downsampling (8 for every SD family)
    int baseChannels = 320;  // UNet block_out_channels[0]
    int attentionHeads = 8;  // heads of the full-resolution attention (DiT: of every block)
    // DiT only: hidden width (heads × head dim: 2432 SD 3.5 Large, 3072 Flux), the side of a
    // patch token in latent pixels (2 for both: Flux packs 2×2 latents into one token) and the
    // text tokens attended jointly with the image (SD 3: 77 + T5's 256; Flux dev: T5's 512).
    int ditHidden = 0;
    int patchSize = 2;
    int contextTokens = 0;
    // True when attention is plain matmul + softmax (libtorch 1.13), which holds the
    // tokens x tokens score matrix; false with scaled_dot_product_attention (2.x),
    // which does not.
    bool materializedAttention = true;
};

struct GenerationVramEstimate {
    qint64 weightsBytes = 0;
    qint64 unetBytes = 0;    // denoiser (UNet or DiT) working memory at its peak
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
//   DiT   = n · T · b · (16 · D + heads · T),  T = (W/8/p)·(H/8/p) + context tokens
//           one block at a time is alive (no skip connections): the residual stream, its
//           modulated norm, q/k/v, the attention output and the 4·D-wide MLP hidden state
//           before and after its activation come to ~14–18 maps of width D per token (Flux's
//           single blocks: linear1's 7·D, the 4·D GELU, the 5·D concatenation); 16 · D, plus
//           the score matrix when materialised. SD 3.5 Large at 1024², CFG: T = 4096 + 333,
//           D = 2432: ≈ 657 MiB; Flux dev (no CFG pass): T = 4096 + 512, D = 3072: ≈ 432 MiB;
//   VAE   = batch · W · H · 4 · 128 · 4
//           the decoder's last level: 128-channel maps at full resolution, in fp32
//           (the VAE upcasts), about four alive at once;
//   total = weights + max(UNet, VAE).
// SD 1.5 at 512x512, fp16, batch 1: UNet ≈ 632 MiB, VAE 512 MiB, so weights (~2 GiB)
// + 632 MiB, in line with the ~2.6-3 GiB peaks people report for diffusers.
GenerationVramEstimate estimateGenerationVram(const GenerationShape& shape);

// The VAE term above for one decode of width × height pixels (a whole image, or one tile).
qint64 estimateVaeDecodeVram(int width, int height, int batch = 1);
// A tiled decode: one tile of tileSide² pixels at a time, plus the fp32 RGB image the tiles are
// blended into (batch · W · H · 3 · 4).
qint64 estimateTiledVaeDecodeVram(int width, int height, int batch, int tileSide);

// A text encoder's working memory: `prompts` sequences (2 with guidance: the negative prompt too)
// of `sequence` tokens, hidden width H, FFN width F:
//   prompts · sequence · b · (6 · H + 2 · F + heads · sequence)
// the residual stream, its norm, q/k/v and the attention output (6·H), the FFN's hidden state
// before and after its activation (2·F), and the score matrix (CLIP and T5 materialise it).
// CLIP-L, 77 tokens, 2 prompts: ≈ 3.4 MiB; T5-XXL, 512 tokens, 2 prompts: ≈ 152 MiB.
struct TextEncoderShape {
    int sequence = 77;
    int hidden = 768;
    int ffn = 3072;
    int heads = 12;
    int prompts = 2;
    int bytesPerElement = 2;
};
qint64 estimateTextEncoderVram(const TextEncoderShape& shape);

} // namespace tp::services
