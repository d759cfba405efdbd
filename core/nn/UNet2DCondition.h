#pragma once

#include "core/common/Result.h"
#include "core/nn/BlockSequence.h"
#include "core/nn/Layers.h"
#include "core/nn/TimestepEmbedding.h"
#include "core/nn/UNetBlocks.h"

#include <QJsonObject>
#include <QString>
#include <QStringList>

#include <vector>

namespace tp::nn {

// diffusers UNet2DConditionModel, as its config.json describes it (SD 1.x, 2.x, SDXL,
// LCM-distilled). Per-block lists are expanded to one entry per down block.
struct UNet2DConditionConfig {
    int64_t inChannels = 4;
    int64_t outChannels = 4;
    bool centerInputSample = false;
    bool flipSinToCos = true;
    double freqShift = 0;
    QStringList downBlockTypes;
    QStringList upBlockTypes;
    std::vector<int64_t> blockOutChannels;
    std::vector<int64_t> layersPerBlock;
    int64_t downsamplePadding = 1;
    double midBlockScaleFactor = 1.0;
    Activation activation = Activation::Silu;
    int64_t normNumGroups = 32;
    double normEps = 1e-5;
    std::vector<int64_t> crossAttentionDim;
    std::vector<int64_t> transformerLayersPerBlock;
    std::vector<int64_t> reverseTransformerLayersPerBlock; // empty: reversed transformerLayersPerBlock
    // Heads per block. diffusers' legacy naming: when num_attention_heads is null,
    // attention_head_dim holds the number of heads (SD 1.x: 8; SD 2.x: [5, 10, 20, 20]).
    std::vector<int64_t> attentionHeads;
    std::vector<bool> onlyCrossAttention;
    bool useLinearProjection = false;
    bool upcastAttention = false;
    bool resnetScaleShift = false; // resnet_time_scale_shift "scale_shift"
    int64_t timeEmbeddingDim = 0;  // time_embedding_dim, or 4 * blockOutChannels[0]
    int64_t timeCondProjDim = 0;   // time_cond_proj_dim (LCM), 0: none
    int64_t convInKernel = 3;
    int64_t convOutKernel = 3;
    // SDXL: addition_embed_type "text_time".
    bool textTimeEmbedding = false;
    int64_t additionTimeEmbedDim = 0;
    int64_t projectionClassEmbeddingsInputDim = 0;
    int64_t sampleSize = 0; // informational (latent size the model was trained at)

    static Result<UNet2DConditionConfig> fromJson(const QJsonObject& json);
    static Result<UNet2DConditionConfig> fromFile(const QString& path);
};

// Extra inputs of SDXL's text_time conditioning.
struct UNetAddedConditions {
    at::Tensor textEmbeds; // [B, pooled dim]
    at::Tensor timeIds;    // [B, 6]
};

class UNet2DConditionImpl final : public torch::nn::Module, public BlockSequence {
public:
    explicit UNet2DConditionImpl(const UNet2DConditionConfig& config,
                                 const at::TensorOptions& tensorOptions = at::TensorOptions());

    // sample [B, inChannels, H, W]; timestep a scalar tensor or [B]; encoderHiddenStates
    // [B, L, crossAttentionDim]. Returns the model output (noise / v prediction) in the
    // sample's shape. `timestepCond` feeds time_cond_proj (LCM guidance embedding).
    at::Tensor forward(const at::Tensor& sample, const at::Tensor& timestep,
                       const at::Tensor& encoderHiddenStates, const UNetAddedConditions& added = {},
                       const at::Tensor& timestepCond = {}) const;

    const UNet2DConditionConfig& config() const { return m_config; }
    // down_blocks, mid_block, up_blocks.
    std::vector<torch::nn::Module*> blocks() const override;

private:
    UNet2DConditionConfig m_config;
    int64_t m_timeProjDim = 0;
    Conv2d m_convIn{nullptr};
    TimestepEmbedder m_timeEmbedding{nullptr};
    TimestepEmbedder m_addEmbedding{nullptr};
    std::vector<DownBlock2D> m_downBlocks;
    MidBlock2DCrossAttn m_midBlock{nullptr};
    std::vector<UpBlock2D> m_upBlocks;
    GroupNorm m_convNormOut{nullptr};
    Conv2d m_convOut{nullptr};
};
TORCH_MODULE(UNet2DCondition);

} // namespace tp::nn
