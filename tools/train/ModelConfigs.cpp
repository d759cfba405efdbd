#include "tools/train/ModelConfigs.h"

namespace tp::train {

namespace {

const QString kDiffusersVersion = QStringLiteral("0.30.0");

QJsonArray ints(const std::vector<int>& values) {
    QJsonArray a;
    for (int v : values)
        a.append(v);
    return a;
}

QJsonArray repeated(const QString& value, size_t count) {
    QJsonArray a;
    for (size_t i = 0; i < count; ++i)
        a.append(value);
    return a;
}

} // namespace

QJsonObject textEncoderConfig(const Architecture& arch, const TokenIds& tokens) {
    return QJsonObject{
        {QStringLiteral("architectures"), QJsonArray{QStringLiteral("CLIPTextModel")}},
        {QStringLiteral("attention_dropout"), 0.0},
        {QStringLiteral("bos_token_id"), tokens.bos},
        {QStringLiteral("dropout"), 0.0},
        {QStringLiteral("eos_token_id"), tokens.eos},
        {QStringLiteral("hidden_act"), QStringLiteral("quick_gelu")},
        {QStringLiteral("hidden_size"), arch.textHidden},
        {QStringLiteral("initializer_factor"), 1.0},
        {QStringLiteral("initializer_range"), 0.02},
        {QStringLiteral("intermediate_size"), arch.textIntermediate},
        {QStringLiteral("layer_norm_eps"), 1e-5},
        {QStringLiteral("max_position_embeddings"), arch.maxTokens},
        {QStringLiteral("model_type"), QStringLiteral("clip_text_model")},
        {QStringLiteral("num_attention_heads"), arch.textHeads},
        {QStringLiteral("num_hidden_layers"), arch.textLayers},
        {QStringLiteral("pad_token_id"), tokens.eos},
        {QStringLiteral("projection_dim"), arch.textHidden},
        {QStringLiteral("torch_dtype"), QStringLiteral("float16")},
        {QStringLiteral("transformers_version"), QStringLiteral("4.44.0")},
        {QStringLiteral("vocab_size"), tokens.vocabSize},
    };
}

QJsonObject unetConfig(const Architecture& arch) {
    const size_t levels = arch.unetChannels.size();
    // Cross-attention everywhere but the deepest level (as SD 1.5: its 4th level has none).
    QJsonArray down, up;
    for (size_t i = 0; i < levels; ++i)
        down.append(i + 1 < levels ? QStringLiteral("CrossAttnDownBlock2D") : QStringLiteral("DownBlock2D"));
    for (size_t i = 0; i < levels; ++i)
        up.append(i == 0 ? QStringLiteral("UpBlock2D") : QStringLiteral("CrossAttnUpBlock2D"));
    const int latent = arch.imageSize >> (arch.vaeChannels.size() - 1);
    return QJsonObject{
        {QStringLiteral("_class_name"), QStringLiteral("UNet2DConditionModel")},
        {QStringLiteral("_diffusers_version"), kDiffusersVersion},
        {QStringLiteral("act_fn"), QStringLiteral("silu")},
        {QStringLiteral("addition_embed_type"), QJsonValue::Null},
        {QStringLiteral("addition_embed_type_num_heads"), 64},
        {QStringLiteral("addition_time_embed_dim"), QJsonValue::Null},
        {QStringLiteral("attention_head_dim"), arch.unetHeads},
        {QStringLiteral("attention_type"), QStringLiteral("default")},
        {QStringLiteral("block_out_channels"), ints(arch.unetChannels)},
        {QStringLiteral("center_input_sample"), false},
        {QStringLiteral("class_embed_type"), QJsonValue::Null},
        {QStringLiteral("class_embeddings_concat"), false},
        {QStringLiteral("conv_in_kernel"), 3},
        {QStringLiteral("conv_out_kernel"), 3},
        {QStringLiteral("cross_attention_dim"), arch.textHidden},
        {QStringLiteral("cross_attention_norm"), QJsonValue::Null},
        {QStringLiteral("down_block_types"), down},
        {QStringLiteral("downsample_padding"), 1},
        {QStringLiteral("dropout"), 0.0},
        {QStringLiteral("dual_cross_attention"), false},
        {QStringLiteral("encoder_hid_dim"), QJsonValue::Null},
        {QStringLiteral("encoder_hid_dim_type"), QJsonValue::Null},
        {QStringLiteral("flip_sin_to_cos"), true},
        {QStringLiteral("freq_shift"), 0},
        {QStringLiteral("in_channels"), arch.latentChannels},
        {QStringLiteral("layers_per_block"), arch.unetLayersPerBlock},
        {QStringLiteral("mid_block_only_cross_attention"), QJsonValue::Null},
        {QStringLiteral("mid_block_scale_factor"), 1},
        {QStringLiteral("mid_block_type"), QStringLiteral("UNetMidBlock2DCrossAttn")},
        {QStringLiteral("norm_eps"), 1e-5},
        {QStringLiteral("norm_num_groups"), arch.unetNormGroups},
        {QStringLiteral("num_attention_heads"), QJsonValue::Null},
        {QStringLiteral("num_class_embeds"), QJsonValue::Null},
        {QStringLiteral("only_cross_attention"), false},
        {QStringLiteral("out_channels"), arch.latentChannels},
        {QStringLiteral("projection_class_embeddings_input_dim"), QJsonValue::Null},
        {QStringLiteral("resnet_out_scale_factor"), 1.0},
        {QStringLiteral("resnet_skip_time_act"), false},
        {QStringLiteral("resnet_time_scale_shift"), QStringLiteral("default")},
        {QStringLiteral("reverse_transformer_layers_per_block"), QJsonValue::Null},
        {QStringLiteral("sample_size"), latent},
        {QStringLiteral("time_cond_proj_dim"), QJsonValue::Null},
        {QStringLiteral("time_embedding_act_fn"), QJsonValue::Null},
        {QStringLiteral("time_embedding_dim"), QJsonValue::Null},
        {QStringLiteral("time_embedding_type"), QStringLiteral("positional")},
        {QStringLiteral("timestep_post_act"), QJsonValue::Null},
        {QStringLiteral("transformer_layers_per_block"), 1},
        {QStringLiteral("up_block_types"), up},
        {QStringLiteral("upcast_attention"), false},
        {QStringLiteral("use_linear_projection"), false},
    };
}

QJsonObject vaeConfig(const Architecture& arch, double scalingFactor, const QJsonArray& latentRgbFactors,
                      const QJsonArray& latentRgbBias) {
    const size_t levels = arch.vaeChannels.size();
    QJsonObject o{
        {QStringLiteral("_class_name"), QStringLiteral("AutoencoderKL")},
        {QStringLiteral("_diffusers_version"), kDiffusersVersion},
        {QStringLiteral("act_fn"), QStringLiteral("silu")},
        {QStringLiteral("block_out_channels"), ints(arch.vaeChannels)},
        {QStringLiteral("down_block_types"), repeated(QStringLiteral("DownEncoderBlock2D"), levels)},
        {QStringLiteral("force_upcast"), true},
        {QStringLiteral("in_channels"), 3},
        {QStringLiteral("latent_channels"), arch.latentChannels},
        {QStringLiteral("latents_mean"), QJsonValue::Null},
        {QStringLiteral("latents_std"), QJsonValue::Null},
        {QStringLiteral("layers_per_block"), arch.vaeLayersPerBlock},
        {QStringLiteral("mid_block_add_attention"), true},
        {QStringLiteral("norm_num_groups"), arch.vaeNormGroups},
        {QStringLiteral("out_channels"), 3},
        {QStringLiteral("sample_size"), arch.imageSize},
        {QStringLiteral("scaling_factor"), scalingFactor},
        {QStringLiteral("shift_factor"), QJsonValue::Null},
        {QStringLiteral("up_block_types"), repeated(QStringLiteral("UpDecoderBlock2D"), levels)},
        {QStringLiteral("use_post_quant_conv"), true},
        {QStringLiteral("use_quant_conv"), true},
    };
    if (!latentRgbFactors.isEmpty()) {
        o.insert(QStringLiteral("latent_rgb_factors"), latentRgbFactors);
        o.insert(QStringLiteral("latent_rgb_bias"), latentRgbBias);
    }
    return o;
}

QJsonObject schedulerConfig() {
    return QJsonObject{
        {QStringLiteral("_class_name"), QStringLiteral("EulerAncestralDiscreteScheduler")},
        {QStringLiteral("_diffusers_version"), kDiffusersVersion},
        {QStringLiteral("beta_end"), 0.012},
        {QStringLiteral("beta_schedule"), QStringLiteral("scaled_linear")},
        {QStringLiteral("beta_start"), 0.00085},
        {QStringLiteral("clip_sample"), false},
        {QStringLiteral("num_train_timesteps"), 1000},
        {QStringLiteral("prediction_type"), QStringLiteral("epsilon")},
        {QStringLiteral("rescale_betas_zero_snr"), false},
        {QStringLiteral("set_alpha_to_one"), false},
        {QStringLiteral("skip_prk_steps"), true},
        {QStringLiteral("steps_offset"), 1},
        {QStringLiteral("timestep_spacing"), QStringLiteral("leading")},
        {QStringLiteral("trained_betas"), QJsonValue::Null},
    };
}

QJsonObject modelIndex() {
    auto component = [](const char* library, const char* cls) {
        return QJsonArray{QLatin1String(library), QLatin1String(cls)};
    };
    const QJsonArray none{QJsonValue::Null, QJsonValue::Null};
    return QJsonObject{
        {QStringLiteral("_class_name"), QStringLiteral("StableDiffusionPipeline")},
        {QStringLiteral("_diffusers_version"), kDiffusersVersion},
        {QStringLiteral("feature_extractor"), none},
        {QStringLiteral("image_encoder"), none},
        {QStringLiteral("requires_safety_checker"), false},
        {QStringLiteral("safety_checker"), none},
        {QStringLiteral("scheduler"), component("diffusers", "EulerAncestralDiscreteScheduler")},
        {QStringLiteral("text_encoder"), component("transformers", "CLIPTextModel")},
        {QStringLiteral("tokenizer"), component("transformers", "CLIPTokenizer")},
        {QStringLiteral("unet"), component("diffusers", "UNet2DConditionModel")},
        {QStringLiteral("vae"), component("diffusers", "AutoencoderKL")},
    };
}

} // namespace tp::train
