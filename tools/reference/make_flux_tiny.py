"""Reference fixture for Flux.1 dev and schnell: tiny FluxPipelines with seeded random weights, built from configs,
and what diffusers 0.40 / transformers 5.17 compute with them (CPU, float32), plus Black Forest Labs / ComfyUI
single files and, on CUDA, diffusers' fp8 layerwise casting.

Usage (GPU machine, repository root, reference kit on PYTHONPATH):
    bash .ref-kit/env.sh > /tmp/ref-env && . /tmp/ref-env && python3 tools/reference/make_flux_tiny.py OUT
writes OUT/flux-tiny/ (see tools/reference/README.md for every file and tensor). Exit code 1 if any stage
failed; the other stages still ran and wrote what they could."""
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dit_common as dc  # noqa: E402

OUT = os.path.abspath(sys.argv[1])
ROOT = os.path.join(OUT, "flux-tiny")
PIPE_DIR, SCHNELL_DIR = os.path.join(ROOT, "pipeline"), os.path.join(ROOT, "schnell")
torch.set_grad_enabled(False)
torch.use_deterministic_algorithms(True, warn_only=True)

# head dim 32 = RoPE axes (4, 14, 14): Flux's (16, 56, 56) for 128, scaled by 1/4
TR_DEV = dict(patch_size=1, in_channels=64, out_channels=None, num_layers=1, num_single_layers=2, attention_head_dim=32,
              num_attention_heads=2, joint_attention_dim=dc.T5_CFG["d_model"],
              pooled_projection_dim=dc.CLIP_L["hidden_size"], guidance_embeds=True, axes_dims_rope=(4, 14, 14))
TR_SCHNELL = dict(TR_DEV, guidance_embeds=False)
VAE_CFG = dict(in_channels=3, out_channels=3, latent_channels=16, block_out_channels=(8, 16, 16, 16),
               down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
               layers_per_block=1, norm_num_groups=4, sample_size=64, scaling_factor=0.3611, shift_factor=0.1159,
               use_quant_conv=False, use_post_quant_conv=False, force_upcast=True, mid_block_add_attention=True)
# Flux's dynamic shifting with its sequence lengths scaled to the tiny images: 64x64 = 16 tokens -> mu 0.5,
# 128x128 = 64 tokens -> mu 1.15 (Flux: 256 -> 0.5, 4096 -> 1.15)
SCHED = {
    "dev": dict(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
                base_image_seq_len=16, max_image_seq_len=64),
    "dev_flux_seq": dict(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
                         base_image_seq_len=256, max_image_seq_len=4096),
    "dev_other_shift": dict(num_train_timesteps=1000, shift=3.0, use_dynamic_shifting=True, base_shift=0.3,
                            max_shift=1.6, base_image_seq_len=16, max_image_seq_len=64),
    "schnell": dict(num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=False, base_shift=0.5, max_shift=1.15,
                    base_image_seq_len=256, max_image_seq_len=4096),
}

P0 = "a photograph of an astronaut riding a horse"
P1 = "a red dragon flying over a castle, oil painting, highly detailed"
P_INTL = "café naïve résumé, 日本語のプロンプト, Ελληνικά, emoji 🚀"
CASES = [
    dict(model="dev", scheduler="dev", prompt=P0, steps=4, guidance_scale=3.5, seed=1, height=64, width=64,
         max_sequence_length=512),
    dict(model="dev", scheduler="dev", prompt=P1, steps=4, guidance_scale=4.0, seed=2, height=64, width=96,
         max_sequence_length=256),
    dict(model="dev", scheduler="dev", prompt=P_INTL, steps=3, guidance_scale=3.5, seed=3, height=128, width=128,
         max_sequence_length=512),
    dict(model="dev", scheduler="dev_flux_seq", prompt=P1, steps=3, guidance_scale=2.5, seed=4, height=96, width=64,
         max_sequence_length=512),
    dict(model="dev", scheduler="dev_other_shift", prompt=P0, steps=3, guidance_scale=5.0, seed=5, height=96,
         width=96, max_sequence_length=256),
    dict(model="schnell", scheduler="schnell", prompt=P0, steps=4, guidance_scale=0.0, seed=6, height=64, width=64,
         max_sequence_length=256),
    dict(model="schnell", scheduler="schnell", prompt=dc.LONG_368, steps=4, guidance_scale=0.0, seed=7, height=96,
         width=64, max_sequence_length=256),
    dict(model="dev", scheduler="dev", prompt=P1, negative_prompt="blurry, low quality", true_cfg_scale=2.0, steps=3,
         guidance_scale=3.5, seed=8, height=64, width=64, max_sequence_length=512),
    dict(model="dev", scheduler="dev", prompt=dc.LONG_1217, steps=3, guidance_scale=3.5, seed=9, height=64, width=64,
         max_sequence_length=512),
]
FP8_CASES = [0, 1]
ENCODE_CASES = [dict(prompt=P0, max_sequence_length=512), dict(prompt=P1, max_sequence_length=256),
                dict(prompt=dc.LONG_1217, max_sequence_length=512), dict(prompt="", max_sequence_length=256)]
CLIP_PROMPTS = ["", P0, "A Painting of a Squirrel eating a Burger", "café naïve résumé", "a " + "very " * 90 + "long prompt"]

stages = dc.Stages("flux")
ref = dc.Ref()
cases = {"fixture": "flux-tiny", "generator": "tools/reference/make_flux_tiny.py"}
S = {}


def build():
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    cases["versions"] = dc.versions()
    print("  versions:", cases["versions"], flush=True)
    if os.path.exists(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    work = os.path.join(OUT, ".work-flux")
    shutil.rmtree(work, ignore_errors=True)
    tok_l, _, merges, clip_vocab = dc.clip_tokenizers(work)
    must = {c["prompt"] for c in CASES} | {c.get("negative_prompt") or "" for c in CASES} | \
        {c["prompt"] for c in ENCODE_CASES}
    tok_t5, tok_info = dc.build_t5_tokenizer(work, must)
    clip = dc.make_clip("L", clip_vocab, seed=100, with_projection=False)
    t5 = dc.make_t5()

    def transformer(cfg, seed):
        torch.manual_seed(seed)
        tr = FluxTransformer2DModel(**cfg).eval()
        dc.perturb_constant_params(tr, seed + 1000)
        dc.round_to(tr, torch.bfloat16)  # BF16 single files are lossless
        return tr

    tr_dev, tr_schnell = transformer(TR_DEV, 700), transformer(TR_SCHNELL, 800)
    torch.manual_seed(900)
    vae = AutoencoderKL(**VAE_CFG).eval()
    dc.perturb_constant_params(vae, 1900)
    dc.round_to(vae, torch.float16)

    def pipe(model="dev", scheduler="dev"):
        p = FluxPipeline(scheduler=FlowMatchEulerDiscreteScheduler(**SCHED[scheduler]), vae=vae, text_encoder=clip,
                         tokenizer=tok_l, text_encoder_2=t5, tokenizer_2=tok_t5,
                         transformer=tr_dev if model == "dev" else tr_schnell)
        p.set_progress_bar_config(disable=True)
        return p

    S.update(tok_l=tok_l, merges=merges, tok_t5=tok_t5, clip=clip, t5=t5, tr_dev=tr_dev, tr_schnell=tr_schnell,
             vae=vae, make_pipe=pipe)
    for n in ("clip", "t5", "tr_dev", "tr_schnell", "vae"):
        print(f"  {n}: {dc.count_params(S[n])} parameters", flush=True)
    cases["components"] = {
        "tokenizer": {"kind": "CLIP BPE (bpe_tools, 300 merges)", "vocab_size": clip_vocab, "pad": "<|endoftext|>"},
        "tokenizer_2": tok_info,
        "text_encoder": dict(dc.CLIP_L, cls="CLIPTextModel (pooled output, no projection)", params=dc.count_params(clip)),
        "text_encoder_2": dict(dc.T5_CFG, cls="T5EncoderModel", params=dc.count_params(t5),
                               weights_sha256=dc.tensor_digest(dc.t5_single_file_keys(t5)),
                               note="the same tiny T5 as sd3-tiny's text_encoder_3 (same builder and seed)"),
        "transformer_dev": dict(TR_DEV, params=dc.count_params(tr_dev)),
        "transformer_schnell": dict(TR_SCHNELL, params=dc.count_params(tr_schnell)),
        "vae": dict(VAE_CFG, params=dc.count_params(vae)),
        "schedulers": SCHED,
        "weights": "seeded random init, constant params perturbed; transformers rounded to bf16-exact values, "
                   "text encoders and VAE to fp16-exact values (copies in those dtypes are lossless)",
    }


def save_folders():
    """pipeline/: the dev FluxPipeline, its transformer stored in bfloat16 as FLUX.1-dev's (exact: the weights are
    bf16 values); schnell/transformer (bf16) and schnell/scheduler: what differs in FLUX.1-schnell."""
    from diffusers import FlowMatchEulerDiscreteScheduler
    dc.save_pipeline(S["make_pipe"]("dev", "dev"), PIPE_DIR, "tokenizer_2")
    dc.rewrite_clip_tokenizer(os.path.join(PIPE_DIR, "tokenizer"), S["merges"], "<|endoftext|>")
    dc.save_model_as(S["tr_dev"], os.path.join(PIPE_DIR, "transformer"), torch.bfloat16)
    dc.save_model_as(S["tr_schnell"], os.path.join(SCHNELL_DIR, "transformer"), torch.bfloat16)
    FlowMatchEulerDiscreteScheduler(**SCHED["schnell"]).save_pretrained(os.path.join(SCHNELL_DIR, "scheduler"))
    for d in (PIPE_DIR, SCHNELL_DIR):
        for e in dc.list_files(d):
            print(f"  {os.path.basename(d)}/{e['path']}: {e['bytes']} bytes")
    for d in (os.path.join(PIPE_DIR, "transformer"), os.path.join(SCHNELL_DIR, "transformer")):
        for f in os.listdir(d):
            if f.endswith(".safetensors"):
                dts = {v["dtype"] for k, v in dc.safetensors_header(os.path.join(d, f)).items() if k != "__metadata__"}
                assert dts == {"BF16"}, (d, f, dts)


def tokenizer_refs():
    rows = []
    for i, prm in enumerate(CLIP_PROMPTS):
        ids = S["tok_l"](prm, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids[0]
        ref.put(f"tok_clip.{i}.ids", ids.to(torch.int64), quiet=True)
        rows.append({"index": i, "prompt": prm})
    cases["clip_tokenizer_prompts"] = rows
    cases["t5_tokenizer_prompts"] = dc.t5_token_references(ref, S["tok_t5"])


def text_encoder_refs():
    ids = S["tok_l"]([P0, ""], padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    o = S["clip"](ids, output_hidden_states=True)
    ref.put("clip.input_ids", ids.to(torch.int64))
    ref.put("clip.last_hidden_state", o.last_hidden_state)
    ref.put("clip.pooler_output", o.pooler_output)
    cases["t5_inputs"] = dc.t5_model_refs(ref, S["t5"], [P0, P_INTL])


def transformer_inputs():
    from diffusers import FluxPipeline
    g = torch.Generator().manual_seed(7)
    ins = {
        "hidden_states": torch.randn(1, 16, 64, generator=g),
        "img_ids": FluxPipeline._prepare_latent_image_ids(1, 4, 4, torch.device("cpu"), torch.float32),
        "encoder_hidden_states": torch.randn(1, 24, TR_DEV["joint_attention_dim"], generator=g),
        "txt_ids": torch.zeros(24, 3),
        "pooled_projections": torch.randn(1, TR_DEV["pooled_projection_dim"], generator=g),
        "timestep": torch.tensor([0.75]),
        "guidance": torch.tensor([3.5]),
        "b2.hidden_states": torch.randn(2, 24, 64, generator=g),
        "b2.img_ids": FluxPipeline._prepare_latent_image_ids(1, 4, 6, torch.device("cpu"), torch.float32),
        "b2.encoder_hidden_states": torch.randn(2, 20, TR_DEV["joint_attention_dim"], generator=g),
        "b2.txt_ids": torch.zeros(20, 3),
        "b2.pooled_projections": torch.randn(2, TR_DEV["pooled_projection_dim"], generator=g),
        "b2.timestep": torch.tensor([0.9, 0.3]),
        "b2.guidance": torch.tensor([3.5, 5.0]),
    }
    return ins


def call_transformer(tr, ins, prefix, guidance):
    return tr(hidden_states=ins[prefix + "hidden_states"], encoder_hidden_states=ins[prefix + "encoder_hidden_states"],
              pooled_projections=ins[prefix + "pooled_projections"], timestep=ins[prefix + "timestep"],
              img_ids=ins[prefix + "img_ids"], txt_ids=ins[prefix + "txt_ids"],
              guidance=ins[prefix + "guidance"] if guidance else None, return_dict=False)[0]


def transformer_refs():
    ins = transformer_inputs()
    for k, v in ins.items():
        ref.put(f"transformer.in.{k}", v)
    for name, tr in (("dev", S["tr_dev"]), ("schnell", S["tr_schnell"])):
        for prefix, tag in (("", "out"), ("b2.", "out_b2")):
            out = call_transformer(tr, ins, prefix, guidance=name == "dev")
            assert out.shape == ins[prefix + "hidden_states"].shape
            ref.put(f"transformer.{name}.{tag}", out)
    # RoPE: FluxPosEmbed(theta 10000, axes (4, 14, 14)) on cat(txt_ids, img_ids) and on arbitrary ids
    pe = S["tr_dev"].pos_embed
    ids = torch.cat([ins["b2.txt_ids"], ins["b2.img_ids"]], dim=0)
    cos, sin = pe(ids)
    ref.put("rope.ids", ids)
    ref.put("rope.cos", cos)
    ref.put("rope.sin", sin)
    odd = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [0.0, 3.5, 7.25], [2.0, 100.0, 1000.0], [5.0, -1.0, 0.5]])
    cos, sin = pe(odd)
    ref.put("rope.ids_arbitrary", odd)
    ref.put("rope.cos_arbitrary", cos)
    ref.put("rope.sin_arbitrary", sin)
    tr = S["tr_dev"]
    ref.put("transformer.dev.temb", tr.time_text_embed(ins["timestep"] * 1000, ins["guidance"] * 1000,
                                                       ins["pooled_projections"]))


def vae_refs():
    vae = S["vae"]
    g = torch.Generator().manual_seed(8)
    for tag, shape in (("", (1, 16, 8, 8)), ("_nonsquare", (1, 16, 8, 12))):
        lat = torch.randn(*shape, generator=g)
        ref.put(f"vae.latents{tag}", lat)
        ref.put(f"vae.decoded{tag}", vae.decode(lat).sample)
    img = torch.rand(1, 3, 64, 64, generator=g) * 2 - 1
    ref.put("vae.image", img)
    post = vae.encode(img).latent_dist
    ref.put("vae.encoded_mean", post.mean)
    ref.put("vae.encoded_std", post.std)


def scheduler_refs():
    from diffusers import FlowMatchEulerDiscreteScheduler
    from diffusers.pipelines.flux.pipeline_flux import calculate_shift
    rows = []
    for name, cfg in SCHED.items():
        for seq in (16, 24, 36, 64, 256, 4096):
            mu = calculate_shift(seq, cfg["base_image_seq_len"], cfg["max_image_seq_len"], cfg["base_shift"],
                                 cfg["max_shift"])
            ref.put(f"sched.{name}.seq{seq}.mu", torch.tensor(float(mu), dtype=torch.float64), quiet=True)
            for n in (1, 3, 4, 28):
                s = FlowMatchEulerDiscreteScheduler(**cfg)
                s.set_timesteps(sigmas=np.linspace(1.0, 1 / n, n), mu=mu)
                q = not (seq in (16, 64) and n == 4)
                if not (torch.isfinite(torch.as_tensor(s.timesteps)).all() and torch.isfinite(torch.as_tensor(s.sigmas)).all()):
                    # diffusers' exponential shift of sigma = 1/N = 1 (one step) divides by zero for some mu
                    print(f"  sched.{name}.seq{seq}.n{n}: diffusers gives non-finite values, left out", flush=True)
                    rows.append({"scheduler": name, "image_seq_len": seq, "steps": n, "non_finite": True})
                    continue
                ref.put(f"sched.{name}.seq{seq}.n{n}.timesteps", torch.as_tensor(s.timesteps).to(torch.float64), quiet=q)
                ref.put(f"sched.{name}.seq{seq}.n{n}.sigmas", torch.as_tensor(s.sigmas).to(torch.float64), quiet=q)
            rows.append({"scheduler": name, "image_seq_len": seq, "mu": float(mu)})
    cases["scheduler_tables"] = {"rows": rows, "steps": [1, 3, 4, 28],
                                 "rule": "set_timesteps(sigmas=np.linspace(1, 1/N, N), mu=calculate_shift(image_seq_len, "
                                         "base_image_seq_len, max_image_seq_len, base_shift, max_shift)) as FluxPipeline"}


def encode_refs():
    rows = []
    p = S["make_pipe"]("dev", "dev")
    for i, c in enumerate(ENCODE_CASES):
        pe, pooled, text_ids = p.encode_prompt(prompt=c["prompt"], prompt_2=None, device=torch.device("cpu"),
                                               num_images_per_prompt=1, max_sequence_length=c["max_sequence_length"])
        assert pe.shape == (1, c["max_sequence_length"], TR_DEV["joint_attention_dim"]), pe.shape
        assert pooled.shape == (1, TR_DEV["pooled_projection_dim"]) and text_ids.abs().max() == 0
        ref.put(f"enc.{i}.prompt_embeds", pe)
        ref.put(f"enc.{i}.pooled_prompt_embeds", pooled)
        ref.put(f"enc.{i}.text_ids", text_ids)
        rows.append(dict(c, index=i))
    cases["encode_prompt"] = rows


def run_case(p, c, device="cpu"):
    from diffusers import FluxPipeline
    cat = dc.LatentCatcher()
    out = p(prompt=c["prompt"], negative_prompt=c.get("negative_prompt"), true_cfg_scale=c.get("true_cfg_scale", 1.0),
            height=c["height"], width=c["width"], num_inference_steps=c["steps"], guidance_scale=c["guidance_scale"],
            generator=torch.Generator("cpu").manual_seed(c["seed"]), max_sequence_length=c["max_sequence_length"],
            output_type="np", callback_on_step_end=cat, callback_on_step_end_tensor_inputs=["latents"])
    packed = cat.latents.float().cpu()
    unpacked = FluxPipeline._unpack_latents(packed, c["height"], c["width"], p.vae_scale_factor)
    return dc.image_chw(out.images), packed[0], unpacked[0], cat.timesteps


def pipeline_refs():
    from diffusers import FluxPipeline
    rows = []
    for k, c in enumerate(CASES):
        print(f"  case {k}: { {a: (b[:60] if isinstance(b, str) else b) for a, b in c.items()} }", flush=True)
        p = S["make_pipe"](c["model"], c["scheduler"])
        img, packed, lat, ts = run_case(p, c)
        h8, w8 = c["height"] // 8, c["width"] // 8
        assert img.shape == (3, c["height"], c["width"]) and lat.shape == (16, h8, w8), (img.shape, lat.shape)
        assert packed.shape == (h8 * w8 // 4, 64)
        ref.put(f"pipe.{k}.image", img)
        ref.put(f"pipe.{k}.latents", lat)
        ref.put(f"pipe.{k}.latents_packed", packed)
        noise = torch.randn((1, 16, h8, w8), generator=torch.Generator("cpu").manual_seed(c["seed"]))
        ref.put(f"pipe.{k}.noise", noise[0])
        ref.put(f"pipe.{k}.noise_packed", FluxPipeline._pack_latents(noise, 1, 16, h8, w8)[0])
        from diffusers.pipelines.flux.pipeline_flux import calculate_shift
        cfg = SCHED[c["scheduler"]]
        mu = calculate_shift(h8 * w8 // 4, cfg["base_image_seq_len"], cfg["max_image_seq_len"], cfg["base_shift"],
                             cfg["max_shift"])
        rows.append(dict(c, index=k, timesteps=ts, image_seq_len=h8 * w8 // 4, mu=float(mu),
                         mu_used=bool(cfg["use_dynamic_shifting"]), scheduler_config=cfg,
                         generator="torch.Generator('cpu').manual_seed(seed); noise = randn(1,16,h/8,w/8), packed 2x2"))
    cases["pipeline"] = rows
    cases["pipeline_notes"] = ("model 'dev' = pipeline/ (guidance_embeds, guidance = guidance_scale), 'schnell' = "
                               "pipeline/ with schnell/transformer (no guidance embedding); scheduler = FlowMatchEulerDiscreteScheduler(**schedulers[name]); "
                               "true_cfg_scale > 1 with a negative prompt runs the transformer twice (diffusers' true CFG)")


def reload_check():
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    out = {}
    for model, k in (("dev", 0), ("schnell", 5)):
        extra = {}
        if model == "schnell":
            extra = dict(transformer=FluxTransformer2DModel.from_pretrained(os.path.join(SCHNELL_DIR, "transformer"),
                                                                            torch_dtype=torch.float32),
                         scheduler=FlowMatchEulerDiscreteScheduler.from_pretrained(os.path.join(SCHNELL_DIR, "scheduler")))
        try:
            p = FluxPipeline.from_pretrained(PIPE_DIR, torch_dtype=torch.float32, **extra)
            how = "all components from the folder"
        except Exception as e:  # noqa: BLE001
            print(f"  from_pretrained({PIPE_DIR}) failed with the folder's tokenizers ({type(e).__name__}: {e}); "
                  "retrying with the in-memory tokenizers", flush=True)
            p = FluxPipeline.from_pretrained(PIPE_DIR, torch_dtype=torch.float32, tokenizer=S["tok_l"],
                                             tokenizer_2=S["tok_t5"], **extra)
            how = "tokenizers given in memory"
        p.set_progress_bar_config(disable=True)
        assert p.transformer.dtype == torch.float32
        tr = S["tr_dev"] if model == "dev" else S["tr_schnell"]
        for n, m in (("transformer", tr), ("text_encoder", S["clip"]), ("text_encoder_2", S["t5"]), ("vae", S["vae"])):
            dc.assert_same_tensors(dc.state_dict_exact(m), dc.state_dict_exact(getattr(p, n)), f"{model}: {n} reloaded")
        img, _, lat, _ = run_case(p, CASES[k])
        di = (img - ref[f"pipe.{k}.image"]).abs().max().item()
        dl = (lat - ref[f"pipe.{k}.latents"]).abs().max().item()
        print(f"  {model} reloaded: case {k} max |diff| image {di:.3e} latents {dl:.3e}", flush=True)
        assert di <= 1e-5 and dl <= 1e-5
        out[model] = {"how": how, "case": k, "max_abs_diff": max(di, dl)}
    cases["reload_check"] = out


def single_files():
    conv = dc.diffusers_converters()
    files = {}
    for name, tr, prefix in (("flux1-dev-tiny.safetensors", S["tr_dev"], ""),
                             ("flux1-dev-tiny-comfy.safetensors", S["tr_dev"], "model.diffusion_model."),
                             ("flux1-schnell-tiny.safetensors", S["tr_schnell"], "")):
        sd = dc.state_dict_exact(tr)
        bfl = dc.with_prefix(dc.flux_diffusers_to_bfl(sd), prefix)
        for k, v in bfl.items():
            assert torch.equal(v.bfloat16().float(), v.float()), f"{k} is not bf16-exact"
        path = dc.save_tensors(os.path.join(ROOT, "single", name), bfl, dtype=torch.bfloat16)
        back = {k: v.float() for k, v in dc.load_tensors(path).items()}
        ck = dict(back)
        got = conv.flux(tr.inner_dim)(ck)
        assert not ck, f"diffusers' Flux converter left {sorted(ck)[:6]}"
        dc.assert_same_tensors(sd, got, f"{name} via diffusers' converter (inner_dim {tr.inner_dim})")
        files[name] = {"keys": len(bfl), "dtype": "BF16", "prefix": prefix, "bytes": os.path.getsize(path),
                       "transformer": "pipeline/transformer" if tr is S["tr_dev"] else "schnell/transformer"}
    vae = S["vae"]
    ae = dc.vae_diffusers_to_ldm(dc.state_dict_exact(vae), vae.config)
    path = dc.save_tensors(os.path.join(ROOT, "single", "ae.safetensors"), ae)
    dc.assert_same_tensors(dc.state_dict_exact(vae), conv.vae(dc.load_tensors(path), vae.config),
                           "ae.safetensors via diffusers' converter")
    files["ae.safetensors"] = {"keys": len(ae), "dtype": "F32", "bytes": os.path.getsize(path)}
    cases["single_files"] = files
    te = {}
    clip = dc.clip_single_file_keys(S["clip"])
    assert "text_projection.weight" not in clip and all(k.startswith("text_model.") for k in clip)
    for name, sd in (("clip_l.safetensors", clip), ("t5xxl_fp16.safetensors", dc.t5_single_file_keys(S["t5"]))):
        path = dc.save_tensors(os.path.join(ROOT, "text_encoders", name), sd, dtype=torch.float16)
        dc.assert_same_tensors(sd, {k: v.float() for k, v in dc.load_tensors(path).items()}, f"text_encoders/{name}")
        te[name] = {"keys": len(sd), "dtype": "F16", "bytes": os.path.getsize(path)}
    cases["text_encoder_files"] = te


def fp8_runs():
    if not torch.cuda.is_available():
        print("  CUDA is not available: the fp8 part (layerwise casting on CUDA) is skipped", flush=True)
        cases["fp8"] = "skipped: no CUDA"
        stages.skip("fp8 layerwise casting", "no CUDA")
        return
    from diffusers import FluxPipeline, FluxTransformer2DModel
    torch.use_deterministic_algorithms(False)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    f8 = torch.float8_e4m3fn
    info = {"device": torch.cuda.get_device_name(0), "storage_dtype": "float8_e4m3fn", "tf32": False}

    def load(dtype):
        p = FluxPipeline.from_pretrained(PIPE_DIR, torch_dtype=dtype, tokenizer=S["tok_l"], tokenizer_2=S["tok_t5"])
        p.set_progress_bar_config(disable=True)
        p.to("cuda")
        return p

    p = load(torch.float32)
    p.transformer.enable_layerwise_casting(storage_dtype=f8, compute_dtype=torch.float32)
    sd8 = {k: v.detach().to("cpu").clone() for k, v in p.transformer.state_dict().items()}
    fp8_keys = sorted(k for k, v in sd8.items() if v.dtype == f8)
    kept = sorted(k for k, v in sd8.items() if v.dtype != f8)
    assert fp8_keys, "layerwise casting stored nothing in fp8"
    print(f"  {len(fp8_keys)} tensors stored in fp8, {len(kept)} kept in float32: {kept[:10]} ...", flush=True)
    full = dc.state_dict_exact(S["tr_dev"])
    # layerwise casting's rounding (on CUDA) against torch's float32 -> float8_e4m3fn conversion on the CPU
    differ = [k for k in fp8_keys if not torch.equal(dc.as_bytes(full[k].to(f8)), dc.as_bytes(sd8[k]))]
    differ += [k for k in kept if not torch.equal(full[k], sd8[k].float())]
    print(f"  fp8 weights equal to the CPU's float32 -> float8_e4m3fn conversion: {not differ} {differ[:6]}", flush=True)
    info["fp8_tensors"], info["float32_tensors"] = fp8_keys, kept
    info["tensors_differing_from_cpu_conversion"] = differ
    bfl8 = dc.flux_diffusers_to_bfl(sd8)
    path = dc.save_tensors(os.path.join(ROOT, "fp8", "flux1-dev-tiny-fp8.safetensors"), bfl8)
    hdr = dc.safetensors_header(path)
    n8 = sum(1 for k, v in hdr.items() if k != "__metadata__" and v["dtype"] == "F8_E4M3")
    assert n8 > 0, "no F8_E4M3 tensor in the file"
    ck = dc.bytes_view_dict(dc.load_tensors(path))
    dc.assert_same_tensors(dc.bytes_view_dict(sd8), dc.diffusers_converters().flux(S["tr_dev"].inner_dim)(ck),
                           "fp8 BFL file via diffusers' converter (float8 compared as bytes)")
    info["files"] = {"flux1-dev-tiny-fp8.safetensors": f"the dev transformer's state dict after enable_layerwise_casting "
                     f"in BFL layout: {n8} F8_E4M3 tensors, the others F32"}
    # the runs: CUDA with fp8 storage / fp32 compute, and the CPU with the fp8 weights upcast to float32
    cpu_tr = FluxTransformer2DModel.from_pretrained(os.path.join(PIPE_DIR, "transformer"), torch_dtype=torch.float32)
    cpu_tr.load_state_dict({k: v.float() for k, v in sd8.items()})
    cpu_pipe = S["make_pipe"]("dev", "dev")
    cpu_pipe.register_modules(transformer=cpu_tr)
    rows = []
    for j in FP8_CASES:
        c = CASES[j]
        img, packed, lat, _ = run_case(p, c)
        ref.put(f"fp8.{j}.image", img)
        ref.put(f"fp8.{j}.latents", lat)
        img_c, _, lat_c, _ = run_case(cpu_pipe, c)
        ref.put(f"fp8.{j}.image_cpu_dequant", img_c)
        ref.put(f"fp8.{j}.latents_cpu_dequant", lat_c)
        d_gpu_cpu = (img - img_c).abs().max().item()
        d_vs_fp32 = (img - ref[f"pipe.{j}.image"]).abs().max().item() if f"pipe.{j}.image" in ref else None
        print(f"  fp8 case {j}: |CUDA - CPU dequant| {d_gpu_cpu:.3e}, |fp8 - fp32 reference| {d_vs_fp32}", flush=True)
        rows.append({"case": j, "compute_dtype": "float32", "max_abs_cuda_vs_cpu_dequant": d_gpu_cpu,
                     "max_abs_vs_fp32_weights": d_vs_fp32})
    del p
    try:  # bf16 compute: the whole pipeline in bf16, fp8 storage
        pb = load(torch.bfloat16)
        pb.transformer.enable_layerwise_casting(storage_dtype=f8, compute_dtype=torch.bfloat16)
        sdb = {k: v.detach().to("cpu") for k, v in pb.transformer.state_dict().items()}
        same = all(torch.equal(dc.as_bytes(sdb[k]), dc.as_bytes(sd8[k])) for k in fp8_keys)
        img, _, lat, _ = run_case(pb, CASES[0])
        ref.put("fp8.bf16.0.image", img)
        ref.put("fp8.bf16.0.latents", lat.float())
        d = (img - ref["fp8.0.image"]).abs().max().item()
        print(f"  fp8 + bf16 compute, case 0: fp8 weights identical to the fp32 run's: {same}; "
              f"|bf16 - fp32 compute| {d:.3e}", flush=True)
        rows.append({"case": 0, "compute_dtype": "bfloat16 (whole pipeline in bf16)", "fp8_weights_identical": same,
                     "max_abs_vs_fp32_compute": d})
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        rows.append({"case": 0, "compute_dtype": "bfloat16", "error": f"{type(e).__name__}: {e}"[:300]})
    info["runs"] = rows
    info["bf16_note"] = "the bf16 run draws its noise in bf16 (diffusers' randn_tensor in the pipeline dtype): a loose reference"
    cases["fp8"] = info
    worst = max(r["max_abs_cuda_vs_cpu_dequant"] for r in rows if "max_abs_cuda_vs_cpu_dequant" in r)
    assert worst < 2e-3, f"fp8 on CUDA and the fp8 weights upcast on the CPU differ by {worst}"


def finish():
    ref.save(os.path.join(ROOT, "reference.safetensors"))
    cases["stages"] = {"ok": stages.ok, "failed": stages.failed, "skipped": stages.skipped}
    cases["files"] = dc.list_files(ROOT)
    dc.dump_json(os.path.join(ROOT, "cases.json"), cases)
    shutil.rmtree(os.path.join(OUT, ".work-flux"), ignore_errors=True)
    total = sum(e["bytes"] for e in cases["files"])
    print(f"  flux-tiny: {len(cases['files'])} files, {total / 1e6:.2f} MB", flush=True)


if __name__ == "__main__":
    stages.run("build components", build)
    if "build components" in stages.failed:
        sys.exit(stages.finish())
    for name, fn in (("save pipeline folders", save_folders), ("tokenizer references", tokenizer_refs),
                     ("text encoder references", text_encoder_refs), ("transformer and RoPE references", transformer_refs),
                     ("VAE references", vae_refs), ("scheduler tables", scheduler_refs),
                     ("encode_prompt references", encode_refs), ("pipeline runs", pipeline_refs),
                     ("reload check", reload_check), ("single files", single_files),
                     ("fp8 layerwise casting (CUDA)", fp8_runs)):
        stages.run(name, fn)
        ref.save(os.path.join(ROOT, "reference.safetensors"))
    stages.run("write reference.safetensors and cases.json", finish)
    sys.exit(stages.finish())
