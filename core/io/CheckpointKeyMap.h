#pragma once

// The tensor names of single-file checkpoints (the original LDM/SGM layout of SD 1.x/2.x/SDXL,
// OpenAI CLIP and OpenCLIP text encoders, SAI's SD3 MMDiT, BFL's Flux) mapped to the engine's
// diffusers names, and the diffusers config.json each component would have, inferred from
// tensor shapes. One mapper per kind of network, each a table-driven walk over block indices,
// parameterised by the key prefix the network has in the file: SD 1.x, 2.x and SDXL share the
// UNet and VAE mappers, SD 1.x/SDXL/SD3 the CLIP one, SD 2.x/SDXL the OpenCLIP one. The facts
// come from diffusers' loaders/single_file_utils.py (convert_ldm_unet_checkpoint,
// convert_ldm_vae_checkpoint, convert_ldm_clip_checkpoint, convert_open_clip_checkpoint,
// convert_sd3_transformer_checkpoint_to_diffusers, convert_flux_transformer_checkpoint_to_diffusers).
//
// Torch-free: reads a safetensors Header only. core/io/SingleFileCheckpoint.h chooses the
// mappers for a file; core/io/SingleFileComponent.h turns a mapping into a WeightMap.

#include "core/common/Result.h"
#include "core/io/SafeTensorsHeader.h"
#include "core/io/WeightSource.h"

#include <QJsonObject>
#include <QMap>
#include <QString>
#include <QStringList>

#include <optional>

namespace tp::io {

struct ComponentMapping {
    QString component; // "unet", "vae", "text_encoder", "text_encoder_2", "transformer"
    QString prefix;    // the component's key prefix in the file ("model.diffusion_model.")
    // The file its tensors are in when not the checkpoint itself: a companion file (a separate text
    // encoder or VAE, core/io/Companions.h). Empty: the checkpoint.
    QString file;
    QJsonObject config;                  // the config.json a diffusers folder would hold for it
    QMap<QString, WeightSource> tensors; // engine (diffusers) name → source (archive 0: the file)
    QStringList ignored;                 // keys under the prefix that feed no engine tensor
    // Why `config` is incomplete: a value the shapes cannot tell (attention heads that are not
    // 64 wide), left null. Empty when complete. A config folder's config.json replaces it.
    QString configProblem;
};

namespace keymap {

// Facts about a UNet that its tensors do not tell.
struct UNetHints {
    // SD 1.x: 8 heads per block (diffusers' attention_head_dim 8); 0: heads of 64 channels (SD 2.x, SDXL).
    int fixedHeads = 0;
    // SDXL's text_time embedding: the pooled text width (the second text encoder's projection);
    // the rest of label_emb's input is 6 time ids of addition_time_embed_dim each.
    qint64 pooledTextDim = 0;
    int sampleSize = 64; // latent side the model was trained at (image side / 8)
    bool upcastAttention = false;
};

struct VaeHints {
    double scalingFactor = 0.18215;
    std::optional<double> shiftFactor;
    bool forceUpcast = true;
    int sampleSize = 512;
};

struct TextEncoderHints {
    QString hiddenAct = QStringLiteral("quick_gelu"); // OpenAI CLIP; OpenCLIP: "gelu"
    bool withProjection = false;                      // CLIPTextModelWithProjection (text_projection)
    int dropLastLayers = 0;                           // SD 2.x: diffusers keeps 23 of OpenCLIP-H's 24 layers
    // With withProjection, an identity projection where the file has none (SAI's SD 3 files
    // leave CLIP-L's out; diffusers and ComfyUI use the identity).
    bool identityProjectionIfMissing = false;
};

// model.diffusion_model.{input_blocks,middle_block,output_blocks,time_embed,label_emb,out}.
Result<ComponentMapping> ldmUNet(const Header& header, const QString& prefix, const UNetHints& hints);
// first_stage_model.{encoder,decoder}.{down,mid,up}…, quant_conv; also BFL's ae.safetensors (no prefix).
Result<ComponentMapping> ldmVae(const Header& header, const QString& prefix, const VaeHints& hints);
// A transformers CLIPTextModel under `prefix` (with or without its "text_model." level).
Result<ComponentMapping> clipText(const Header& header, const QString& prefix, const TextEncoderHints& hints);
// An OpenCLIP text tower: token_embedding, positional_embedding, transformer.resblocks.N (fused
// in_proj), ln_final, text_projection (stored transposed).
Result<ComponentMapping> openClipText(const Header& header, const QString& prefix,
                                      const TextEncoderHints& hints);

// SAI's SD 3.x MMDiT (model.diffusion_model.joint_blocks.N.{x_block,context_block}, pos_embed,
// x_embedder, t_embedder, y_embedder, context_embedder, final_layer) → SD3Transformer2DModel.
Result<ComponentMapping> sd3Transformer(const Header& header, const QString& prefix);
// BFL's Flux (double_blocks, single_blocks, img_in, txt_in, time_in, vector_in, guidance_in,
// final_layer; no prefix, or ComfyUI's model.diffusion_model.) → FluxTransformer2DModel.
Result<ComponentMapping> fluxTransformer(const Header& header, const QString& prefix);
// A transformers T5EncoderModel under `prefix` (shared, encoder.block.N…; SD 3.x files'
// text_encoders.t5xxl.transformer.), named as transformers names it.
Result<ComponentMapping> t5Encoder(const Header& header, const QString& prefix);

// The width of a text encoder under `prefix` in either layout (0 when absent), and its
// projection width (0 when it has none).
qint64 textEncoderWidth(const Header& header, const QString& prefix);
qint64 textProjectionWidth(const Header& header, const QString& prefix);

// "input_blocks.7.1.proj_in.weight" with head "input_blocks" → {7, 1}; nullopt when the name
// does not start with head.N.M.
struct BlockIndex {
    int block = -1;
    int part = -1;
    QString rest; // after "head.N.M."
};
std::optional<BlockIndex> blockIndex(const QString& name, QLatin1String head);

} // namespace keymap
} // namespace tp::io
