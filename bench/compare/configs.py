"""The published configurations of the model families the side-by-side benchmark builds with random weights.

Every dict below is the `config.json` of one component of the real model, written out so that a full-size
pipeline can be built on a machine without network. Where each number comes from:

- SD 1.5: `runwayml/stable-diffusion-v1-5` (`unet/`, `vae/`, `text_encoder/`, `scheduler/` config.json); the
  same figures are in REFERENCE.md ("SD 1.5 UNet config", "Schedulers").
- SDXL base: `stabilityai/stable-diffusion-xl-base-1.0`; REFERENCE.md ("SDXL").
- SD 3 Medium: `stabilityai/stable-diffusion-3-medium-diffusers`; SD 3.5 Large / Medium:
  `stabilityai/stable-diffusion-3.5-large` / `-medium`; REFERENCE.md ("SD 3 / 3.5 (MMDiT)").
- T5-XXL v1.1 encoder: `google/t5-v1_1-xxl` as shipped in SD3's `text_encoder_3/` and Flux's `text_encoder_2/`;
  REFERENCE.md ("T5-XXL v1.1 encoder").
- Flux.1 dev / schnell: `black-forest-labs/FLUX.1-dev` / `FLUX.1-schnell`; REFERENCE.md ("Flux.1").

The keyword names were checked against the constructors of the pinned diffusers source (0.40.0.dev0, commit
58eb52c: `UNet2DConditionModel`, `AutoencoderKL`, `SD3Transformer2DModel`, `FluxTransformer2DModel`,
`FlowMatchEulerDiscreteScheduler`, `EulerDiscreteScheduler`, `PNDMScheduler`) by `check_configs.py`, and against
transformers' `CLIPTextConfig` / `T5Config` argument names. Token ids (bos/eos/pad) of the CLIP text encoders are
set from the tokenizer actually written into the folder (make_random_pipeline.py); the real SD configs say
bos 0 / eos 2 / pad 1, the legacy values with which transformers pools at argmax(input_ids), which with the
real vocabulary is the same position as the first `<|endoftext|>`.

Pure data: importable without torch.
"""

# ---------------------------------------------------------------------------------------------------------
# text encoders (transformers)

# CLIP ViT-L/14 text tower: SD 1.5 text_encoder, SDXL text_encoder, SD3 text_encoder (with projection), Flux
# text_encoder. 123 M parameters.
CLIP_L = {
    "vocab_size": 49408,
    "hidden_size": 768,
    "intermediate_size": 3072,
    "projection_dim": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "max_position_embeddings": 77,
    "hidden_act": "quick_gelu",
    "layer_norm_eps": 1e-5,
    "attention_dropout": 0.0,
    "initializer_range": 0.02,
    "initializer_factor": 1.0,
}

# OpenCLIP ViT-bigG/14 text tower: SDXL text_encoder_2, SD3 text_encoder_2 (CLIPTextModelWithProjection,
# projection 1280). 695 M parameters.
CLIP_G = dict(CLIP_L, hidden_size=1280, intermediate_size=5120, projection_dim=1280, num_hidden_layers=32,
              num_attention_heads=20, hidden_act="gelu")

# T5 v1.1 XXL encoder (google/t5-v1_1-xxl): 4.76 B parameters in the encoder.
T5_XXL = {
    "vocab_size": 32128,
    "d_model": 4096,
    "d_kv": 64,
    "d_ff": 10240,
    "num_layers": 24,
    "num_decoder_layers": 24,
    "num_heads": 64,
    "relative_attention_num_buckets": 32,
    "relative_attention_max_distance": 128,
    "dropout_rate": 0.1,
    "layer_norm_epsilon": 1e-6,
    "initializer_factor": 1.0,
    "feed_forward_proj": "gated-gelu",
    "is_encoder_decoder": True,
    "use_cache": True,
    "pad_token_id": 0,
    "eos_token_id": 1,
    "decoder_start_token_id": 0,
    "tie_word_embeddings": False,
}

# ---------------------------------------------------------------------------------------------------------
# UNets and VAEs (diffusers)

SD15_UNET = {
    "sample_size": 64,
    "in_channels": 4,
    "out_channels": 4,
    "center_input_sample": False,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "mid_block_type": "UNetMidBlock2DCrossAttn",
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
    "only_cross_attention": False,
    "block_out_channels": [320, 640, 1280, 1280],
    "layers_per_block": 2,
    "downsample_padding": 1,
    "mid_block_scale_factor": 1,
    "act_fn": "silu",
    "norm_num_groups": 32,
    "norm_eps": 1e-5,
    "cross_attention_dim": 768,
    "attention_head_dim": 8,  # diffusers' legacy name: 8 heads (of 40/80/160 channels)
    "use_linear_projection": False,
    "upcast_attention": False,
}

SDXL_UNET = {
    "sample_size": 128,
    "in_channels": 4,
    "out_channels": 4,
    "center_input_sample": False,
    "flip_sin_to_cos": True,
    "freq_shift": 0,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "mid_block_type": "UNetMidBlock2DCrossAttn",
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "only_cross_attention": False,
    "block_out_channels": [320, 640, 1280],
    "layers_per_block": 2,
    "downsample_padding": 1,
    "mid_block_scale_factor": 1,
    "act_fn": "silu",
    "norm_num_groups": 32,
    "norm_eps": 1e-5,
    "cross_attention_dim": 2048,
    "transformer_layers_per_block": [1, 2, 10],
    "attention_head_dim": [5, 10, 20],  # legacy name: head counts (64-channel heads)
    "use_linear_projection": True,
    "upcast_attention": None,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 2816,  # 1280 pooled + 6 time ids x 256
    "resnet_time_scale_shift": "default",
}

_VAE_COMMON = {
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "block_out_channels": [128, 256, 512, 512],
    "layers_per_block": 2,
    "act_fn": "silu",
    "norm_num_groups": 32,
}
SD15_VAE = dict(_VAE_COMMON, latent_channels=4, sample_size=512, scaling_factor=0.18215)
SDXL_VAE = dict(_VAE_COMMON, latent_channels=4, sample_size=1024, scaling_factor=0.13025, force_upcast=True)
SD3_VAE = dict(_VAE_COMMON, latent_channels=16, sample_size=1024, scaling_factor=1.5305, shift_factor=0.0609,
               use_quant_conv=False, use_post_quant_conv=False, force_upcast=True)
FLUX_VAE = dict(_VAE_COMMON, latent_channels=16, sample_size=1024, scaling_factor=0.3611, shift_factor=0.1159,
                use_quant_conv=False, use_post_quant_conv=False, force_upcast=True)

# ---------------------------------------------------------------------------------------------------------
# DiT denoisers (diffusers)

SD3_MEDIUM_TRANSFORMER = {
    "sample_size": 128,
    "patch_size": 2,
    "in_channels": 16,
    "out_channels": 16,
    "num_layers": 24,
    "attention_head_dim": 64,
    "num_attention_heads": 24,
    "joint_attention_dim": 4096,
    "caption_projection_dim": 1536,
    "pooled_projection_dim": 2048,
    "pos_embed_max_size": 192,
}
SD35_LARGE_TRANSFORMER = dict(SD3_MEDIUM_TRANSFORMER, num_layers=38, num_attention_heads=38,
                              caption_projection_dim=2432, qk_norm="rms_norm")
SD35_MEDIUM_TRANSFORMER = dict(SD3_MEDIUM_TRANSFORMER, pos_embed_max_size=384, qk_norm="rms_norm",
                               dual_attention_layers=list(range(13)))

FLUX_DEV_TRANSFORMER = {
    "patch_size": 1,
    "in_channels": 64,
    "num_layers": 19,
    "num_single_layers": 38,
    "attention_head_dim": 128,
    "num_attention_heads": 24,
    "joint_attention_dim": 4096,
    "pooled_projection_dim": 768,
    "guidance_embeds": True,
    "axes_dims_rope": [16, 56, 56],
}
FLUX_SCHNELL_TRANSFORMER = dict(FLUX_DEV_TRANSFORMER, guidance_embeds=False)

# ---------------------------------------------------------------------------------------------------------
# schedulers

_SD_BETAS = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "trained_betas": None,
    "clip_sample": False,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
}
SD15_SCHEDULER = ("PNDMScheduler", dict(_SD_BETAS, prediction_type="epsilon"))
SDXL_SCHEDULER = ("EulerDiscreteScheduler",
                  dict(_SD_BETAS, prediction_type="epsilon", interpolation_type="linear", sample_max_value=1.0,
                       timestep_spacing="leading", use_karras_sigmas=False))
SD3_SCHEDULER = ("FlowMatchEulerDiscreteScheduler", {"num_train_timesteps": 1000, "shift": 3.0})
FLUX_DEV_SCHEDULER = ("FlowMatchEulerDiscreteScheduler",
                      {"num_train_timesteps": 1000, "shift": 3.0, "use_dynamic_shifting": True, "base_shift": 0.5,
                       "max_shift": 1.15, "base_image_seq_len": 256, "max_image_seq_len": 4096})
# FLUX.1-schnell's published scheduler config turns dynamic shifting off (shift 1.0: sigmas unshifted).
FLUX_SCHNELL_SCHEDULER = ("FlowMatchEulerDiscreteScheduler",
                          dict(FLUX_DEV_SCHEDULER[1], shift=1.0, use_dynamic_shifting=False))

# ---------------------------------------------------------------------------------------------------------
# families
#
# components: (name, library, class, config). tokenizers: name -> ("clip", pad token) or ("t5", None).
# defaults: what the side-by-side benchmark runs when not told otherwise (the Python original's settings where
# it had them, issue 17's anchors for SD 1.5 / SDXL).

CLIP_PAD_EOT = "<|endoftext|>"
CLIP_PAD_BANG = "!"

FAMILIES = {
    "sd15": {
        "pipeline": "StableDiffusionPipeline",
        "components": [("text_encoder", "transformers", "CLIPTextModel", CLIP_L),
                       ("unet", "diffusers", "UNet2DConditionModel", SD15_UNET),
                       ("vae", "diffusers", "AutoencoderKL", SD15_VAE)],
        "tokenizers": {"tokenizer": ("clip", CLIP_PAD_EOT)},
        "scheduler": SD15_SCHEDULER,
        "optional": ["safety_checker", "feature_extractor", "image_encoder"],
        "pipeline_config": {"requires_safety_checker": False},
        "defaults": {"sizes": ["512x512", "768x768"], "batches": [1, 4], "steps": 20, "guidance": 7.5,
                     "sampler": "euler", "dtype": "fp16"},
    },
    "sdxl": {
        "pipeline": "StableDiffusionXLPipeline",
        "components": [("text_encoder", "transformers", "CLIPTextModel", CLIP_L),
                       ("text_encoder_2", "transformers", "CLIPTextModelWithProjection", CLIP_G),
                       ("unet", "diffusers", "UNet2DConditionModel", SDXL_UNET),
                       ("vae", "diffusers", "AutoencoderKL", SDXL_VAE)],
        "tokenizers": {"tokenizer": ("clip", CLIP_PAD_EOT), "tokenizer_2": ("clip", CLIP_PAD_BANG)},
        "scheduler": SDXL_SCHEDULER,
        "optional": ["feature_extractor", "image_encoder"],
        "pipeline_config": {"force_zeros_for_empty_prompt": True},
        "defaults": {"sizes": ["1024x1024"], "batches": [1], "steps": 30, "guidance": 7.5, "sampler": "euler",
                     "dtype": "fp16"},
    },
}


def _sd3_family(transformer, defaults):
    return {
        "pipeline": "StableDiffusion3Pipeline",
        "components": [("text_encoder", "transformers", "CLIPTextModelWithProjection", CLIP_L),
                       ("text_encoder_2", "transformers", "CLIPTextModelWithProjection", CLIP_G),
                       ("text_encoder_3", "transformers", "T5EncoderModel", T5_XXL),
                       ("transformer", "diffusers", "SD3Transformer2DModel", transformer),
                       ("vae", "diffusers", "AutoencoderKL", SD3_VAE)],
        "tokenizers": {"tokenizer": ("clip", CLIP_PAD_EOT), "tokenizer_2": ("clip", CLIP_PAD_BANG),
                       "tokenizer_3": ("t5", None)},
        "scheduler": SD3_SCHEDULER,
        "optional": ["feature_extractor", "image_encoder"],
        "pipeline_config": {},
        "defaults": dict({"batches": [1], "sampler": "default", "dtype": "bf16", "max_sequence_length": 256},
                         **defaults),
    }


def _flux_family(transformer, scheduler, defaults):
    return {
        "pipeline": "FluxPipeline",
        "components": [("text_encoder", "transformers", "CLIPTextModel", CLIP_L),
                       ("text_encoder_2", "transformers", "T5EncoderModel", T5_XXL),
                       ("transformer", "diffusers", "FluxTransformer2DModel", transformer),
                       ("vae", "diffusers", "AutoencoderKL", FLUX_VAE)],
        "tokenizers": {"tokenizer": ("clip", CLIP_PAD_EOT), "tokenizer_2": ("t5", None)},
        "scheduler": scheduler,
        "optional": ["feature_extractor", "image_encoder"],
        "pipeline_config": {},
        "defaults": dict({"sizes": ["1024x1024"], "batches": [1], "sampler": "default", "dtype": "bf16"},
                         **defaults),
    }


# SD 3.5 Large: the Python original's default model, 28 steps, guidance 4.5, 1024x768 (issue 14).
FAMILIES["sd35-large"] = _sd3_family(SD35_LARGE_TRANSFORMER, {"sizes": ["1024x768"], "steps": 28, "guidance": 4.5})
FAMILIES["sd35-medium"] = _sd3_family(SD35_MEDIUM_TRANSFORMER, {"sizes": ["1024x1024"], "steps": 28, "guidance": 4.5})
FAMILIES["sd3-medium"] = _sd3_family(SD3_MEDIUM_TRANSFORMER, {"sizes": ["1024x1024"], "steps": 28, "guidance": 7.0})
# Flux dev: 25 steps, guidance 3.5, T5 at 512 tokens (the original's settings); schnell: 4 steps, no guidance, 256.
FAMILIES["flux-dev"] = _flux_family(FLUX_DEV_TRANSFORMER, FLUX_DEV_SCHEDULER,
                                    {"steps": 25, "guidance": 3.5, "max_sequence_length": 512})
FAMILIES["flux-schnell"] = _flux_family(FLUX_SCHNELL_TRANSFORMER, FLUX_SCHNELL_SCHEDULER,
                                        {"steps": 4, "guidance": 0.0, "max_sequence_length": 256})


def needs_t5(family):
    return any(kind == "t5" for kind, _ in FAMILIES[family]["tokenizers"].values())


def parse_size(text):
    """'512' -> (512, 512); '1024x768' -> (1024, 768) as (width, height)."""
    t = str(text).lower().strip()
    if "x" in t:
        w, h = t.split("x", 1)
        return int(w), int(h)
    return int(t), int(t)
