"""A tiny SD 1.x pipeline (fp16-exact seeded weights) as a diffusers folder AND as an original (LDM) single-file
checkpoint, verified by a round trip through diffusers' own converters, plus diffusers' images for two cases.
The C++ test loads both and must get bit-identical images (and diffusers' within the usual tolerance).

Usage (GPU machine, reference kit env, CPU float32):  python3 tools/reference/make_sd15_single.py OUT
Writes OUT/sd15-single/{pipeline/, sd15-single.safetensors (F16), reference.safetensors, cases.json}.
Small on purpose (~0.5 MB): the folder is float32 but every value is exact in float16, so the F16 single file
holds the same numbers."""
import os, sys, json, shutil

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe_tools, ldm_keys
from safetensors.torch import save_file, load_file
import transformers
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
import diffusers
from diffusers import UNet2DConditionModel, AutoencoderKL, StableDiffusionPipeline, EulerDiscreteScheduler
from diffusers.loaders import single_file_utils as sfu

OUT = sys.argv[1]
ROOT = os.path.join(OUT, "sd15-single")
PIPE = os.path.join(ROOT, "pipeline")
PATH = os.path.join(ROOT, "sd15-single.safetensors")
torch.set_grad_enabled(False)
torch.use_deterministic_algorithms(True, warn_only=True)
print("sd15-single: diffusers", diffusers.__version__, "transformers", transformers.__version__, flush=True)

# SD 1.5's scheduler_config.json (PNDM), as in the sd15-tiny fixture
SCHED = {"beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
         "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
         "trained_betas": None}
TE = dict(hidden_size=24, intermediate_size=48, num_hidden_layers=2, num_attention_heads=2, hidden_act="quick_gelu",
          projection_dim=16)
# SD 1.x's layout, scaled down: 4 levels, attention in the first three, 8 heads (legacy attention_head_dim)
UNET = dict(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(8, 8, 16, 16),
            down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
            attention_head_dim=2, cross_attention_dim=TE["hidden_size"], norm_num_groups=4)
VAE = dict(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 8, 8, 8),
           down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
           layers_per_block=1, norm_num_groups=4, sample_size=64, scaling_factor=0.18215)
CASES = [dict(sampler="euler", prompt="a photograph of an astronaut riding a horse", negative_prompt=None, steps=3,
              guidance_scale=7.5, seed=11, height=64, width=64),
         dict(sampler="euler", prompt="a red circle on a white background", negative_prompt="blurry", steps=2,
              guidance_scale=5.0, seed=12, height=64, width=96)]


def strip_tm(sd):
    return {(k[len("text_model."):] if k.startswith("text_model.") else k): v for k, v in sd.items()}


def main():
    if os.path.exists(ROOT):
        shutil.rmtree(ROOT)
    merges = bpe_tools.train_merges(bpe_tools.corpus(), 200)
    tok_dir = os.path.join(PIPE, "tokenizer")
    bpe_tools.write_tokenizer(tok_dir, merges, pad_token="<|endoftext|>")
    tok = CLIPTokenizer.from_pretrained(tok_dir)
    V = len(tok.get_vocab())
    torch.manual_seed(50)
    te = CLIPTextModel(CLIPTextConfig(vocab_size=V, max_position_embeddings=77, layer_norm_eps=1e-5,
                                      bos_token_id=V - 2, eos_token_id=V - 1, pad_token_id=V - 1, **TE)).eval()
    ldm_keys.fp16_exact_(te, 51)
    torch.manual_seed(60)
    unet = UNet2DConditionModel(**UNET).eval()
    ldm_keys.fp16_exact_(unet, 61)
    torch.manual_seed(70)
    vae = AutoencoderKL(**VAE).eval()
    ldm_keys.fp16_exact_(vae, 71)
    from diffusers import PNDMScheduler
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=te, tokenizer=tok, unet=unet,
                                   scheduler=PNDMScheduler.from_config(SCHED), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(PIPE, safe_serialization=True)
    bpe_tools.write_tokenizer(tok_dir, merges, pad_token="<|endoftext|>")  # vocab.json + merges.txt next to it

    ck = {}
    ck.update(ldm_keys.unet_to_ldm(unet.state_dict(), unet.config))
    ck.update(ldm_keys.vae_to_ldm(vae.state_dict(), vae.config))
    ck.update(ldm_keys.clip_to_ldm(te.state_dict(), "cond_stage_model.transformer."))
    save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in ck.items()}, PATH)

    back = {k: (v.float() if v.is_floating_point() else v) for k, v in load_file(PATH).items()}
    n = ldm_keys.compare_state_dicts(unet.state_dict(), sfu.convert_ldm_unet_checkpoint(back, unet.config), "unet")
    n += ldm_keys.compare_state_dicts(vae.state_dict(), sfu.convert_ldm_vae_checkpoint(back, vae.config), "vae")
    n += ldm_keys.compare_state_dicts(strip_tm(te.state_dict()), strip_tm(sfu.convert_ldm_clip_checkpoint(back)), "te",
                                      allow_extra=("position_ids",))
    print(f"single file: {n} tensors round-trip bit-exactly through diffusers' converters", flush=True)

    ref = {}
    pipe = StableDiffusionPipeline.from_pretrained(PIPE, safety_checker=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    for k, c in enumerate(CASES):
        pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
        c["scheduler_config"] = json.loads(json.dumps(dict(pipe.scheduler.config), default=str))
        captured = {}

        def grab(p, i, t, kw):
            captured["latents"] = kw["latents"].clone()
            return kw

        out = pipe(c["prompt"], negative_prompt=c["negative_prompt"], num_inference_steps=c["steps"],
                   guidance_scale=c["guidance_scale"], height=c["height"], width=c["width"],
                   generator=torch.Generator("cpu").manual_seed(c["seed"]), output_type="np",
                   callback_on_step_end=grab, callback_on_step_end_tensor_inputs=["latents"])
        img = torch.from_numpy(out.images[0]).permute(2, 0, 1).contiguous().float()
        assert torch.isfinite(img).all()
        ref[f"pipe.{k}.image"], ref[f"pipe.{k}.latents"] = img, captured["latents"][0].float()
        c["index"] = k
    save_file({k: v.contiguous() for k, v in ref.items()}, os.path.join(ROOT, "reference.safetensors"))
    info = {"variant": "sd15-single", "single_file": "sd15-single.safetensors", "folder": "pipeline",
            "single_file_dtype": "F16 (the folder's float32 values are exact in float16)", "tensors": len(ck),
            "prefixes": ["model.diffusion_model.", "first_stage_model.", "cond_stage_model.transformer.text_model."],
            "pipeline": CASES, "generator": "torch.Generator('cpu').manual_seed(seed)",
            "diffusers_version": diffusers.__version__, "transformers_version": transformers.__version__,
            "torch_version": torch.__version__}
    try:
        sp = StableDiffusionPipeline.from_single_file(PATH, config=PIPE, local_files_only=True,
                                                      torch_dtype=torch.float32, safety_checker=None,
                                                      requires_safety_checker=False)
        for name, mod in (("unet", unet), ("vae", vae), ("text_encoder", te)):
            ldm_keys.compare_state_dicts(strip_tm(mod.state_dict()), strip_tm(getattr(sp, name).state_dict()),
                                         "from_single_file " + name)
        info["single_file_check"] = "from_single_file(config=pipeline/) components bit-equal to the folder's"
    except Exception:
        import traceback
        traceback.print_exc()
        print("WARNING: from_single_file check failed (the converter round trip above passed)", flush=True)
        info["single_file_check"] = "converters only (from_single_file failed, see the log)"
    with open(os.path.join(ROOT, "cases.json"), "w") as f:
        json.dump(info, f, indent=2)
    print(f"sd15-single ok: {len(ck)} tensors, {os.path.getsize(PATH) / 1e6:.2f} MB", flush=True)


if __name__ == "__main__":
    main()
