"""Reference fixture for Stable Diffusion 3 / 3.5 (MMDiT) with CLIP-L, CLIP-G and T5: a tiny pipeline with seeded
random weights, built from configs, and what diffusers 0.40 / transformers 5.17 compute with it (CPU, float32).

Usage (GPU machine, repository root, reference kit on PYTHONPATH):
    bash .ref-kit/env.sh > /tmp/ref-env && . /tmp/ref-env && python3 tools/reference/make_sd3_tiny.py OUT
writes OUT/sd3-tiny/ (see tools/reference/README.md for every file and tensor). Exit code 1 if any stage
failed; the other stages still ran and wrote what they could."""
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dit_common as dc  # noqa: E402

OUT = os.path.abspath(sys.argv[1])
ROOT = os.path.join(OUT, "sd3-tiny")
PIPE_DIR = os.path.join(ROOT, "pipeline")
torch.set_grad_enabled(False)
torch.use_deterministic_algorithms(True, warn_only=True)

H = W = 64  # 8x8 latents, 4x4 patches; pos_embed_max_size 12 so the centre crop is exercised
TR_SD3 = dict(sample_size=8, patch_size=2, in_channels=16, num_layers=3, attention_head_dim=8, num_attention_heads=3,
              joint_attention_dim=dc.T5_CFG["d_model"], caption_projection_dim=24,
              pooled_projection_dim=dc.CLIP_L["projection_dim"] + dc.CLIP_G["projection_dim"], out_channels=16,
              pos_embed_max_size=12, dual_attention_layers=(), qk_norm=None)
TR_SD35 = dict(TR_SD3, dual_attention_layers=(0, 1), qk_norm="rms_norm")
VAE_CFG = dict(in_channels=3, out_channels=3, latent_channels=16, block_out_channels=(8, 16, 16, 16),
               down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
               layers_per_block=2, norm_num_groups=4, sample_size=64, scaling_factor=1.5305, shift_factor=0.0609,
               use_quant_conv=False, use_post_quant_conv=False, force_upcast=True, mid_block_add_attention=True)
SCHED_CFG = dict(num_train_timesteps=1000, shift=3.0)

P0 = "a photograph of an astronaut riding a horse"
P1 = "a red dragon flying over a castle, oil painting, highly detailed"
P_INTL = "café naïve résumé, 日本語のプロンプト, Ελληνικά, emoji 🚀"
CASES = [  # full pipeline runs
    dict(transformer="sd3", scheduler="euler", t5=True, prompt=P0, negative_prompt=None, steps=4, guidance_scale=5.0,
         seed=1, height=H, width=W, max_sequence_length=256),
    dict(transformer="sd3", scheduler="euler", t5=True, prompt=P1, negative_prompt="blurry, low quality", steps=4,
         guidance_scale=7.0, seed=2, height=H, width=W, max_sequence_length=256),
    dict(transformer="sd3", scheduler="euler", t5=True, prompt=P_INTL, negative_prompt=None, steps=4,
         guidance_scale=1.0, seed=3, height=H, width=W, max_sequence_length=256),
    dict(transformer="sd3", scheduler="euler", t5=False, prompt=P0, negative_prompt="ugly", steps=4,
         guidance_scale=4.5, seed=4, height=H, width=W, max_sequence_length=256),
    dict(transformer="sd3", scheduler="euler", t5=True, prompt=P1, negative_prompt=None, steps=3, guidance_scale=3.0,
         seed=5, height=64, width=96, max_sequence_length=256),
    dict(transformer="sd3", scheduler="euler", t5=True, prompt=dc.LONG_165, negative_prompt=None, steps=3,
         guidance_scale=5.0, seed=6, height=H, width=W, max_sequence_length=77),
    dict(transformer="sd3", scheduler="euler", t5=True, prompt=dc.LONG_368, negative_prompt="blurry", steps=3,
         guidance_scale=5.0, seed=7, height=96, width=64, max_sequence_length=256),
    dict(transformer="sd35", scheduler="euler", t5=True, prompt=P1, negative_prompt="blurry", steps=4,
         guidance_scale=4.5, seed=8, height=H, width=96, max_sequence_length=256),
    dict(transformer="sd35", scheduler="euler", t5=True, prompt=P0, negative_prompt=None, steps=4,
         guidance_scale=0.0, seed=9, height=H, width=W, max_sequence_length=256),  # Turbo-like: 4 steps, no CFG
    dict(transformer="sd3", scheduler="heun", t5=True, prompt=P0, negative_prompt=None, steps=3, guidance_scale=5.0,
         seed=10, height=H, width=W, max_sequence_length=256),
]
ENCODE_CASES = [
    dict(prompt=P0, negative_prompt=None, max_sequence_length=256, t5=True),
    dict(prompt=P1, negative_prompt="blurry, low quality", max_sequence_length=77, t5=True),
    dict(prompt=dc.LONG_368, negative_prompt=None, max_sequence_length=256, t5=True),
    dict(prompt=P0, negative_prompt=None, max_sequence_length=256, t5=False),
    dict(prompt=P_INTL, negative_prompt="", max_sequence_length=512, t5=True),
]
CLIP_PROMPTS = ["", P0, "A Painting of a Squirrel eating a Burger", "it's the dragon's 3rd birthday!!!",
                "café naïve résumé", "a " + "very " * 90 + "long prompt"]

stages = dc.Stages("sd3")
ref = dc.Ref()
cases = {"fixture": "sd3-tiny", "generator": "tools/reference/make_sd3_tiny.py"}
S = {}  # built objects


def build():
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel, StableDiffusion3Pipeline
    cases["versions"] = dc.versions()
    print("  versions:", cases["versions"], flush=True)
    if os.path.exists(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    work = os.path.join(OUT, ".work-sd3")
    shutil.rmtree(work, ignore_errors=True)
    tok_l, tok_g, merges, clip_vocab = dc.clip_tokenizers(work)
    must = {c["prompt"] for c in CASES} | {c["negative_prompt"] or "" for c in CASES} | \
        {c["prompt"] for c in ENCODE_CASES} | {c["negative_prompt"] or "" for c in ENCODE_CASES}
    tok3, tok3_info = dc.build_t5_tokenizer(work, must)
    clip_l = dc.make_clip("L", clip_vocab, seed=100, with_projection=True, identity_projection=True)
    clip_g = dc.make_clip("G", clip_vocab, seed=200, with_projection=True)
    t5 = dc.make_t5()

    def transformer(cfg, seed):
        torch.manual_seed(seed)
        tr = SD3Transformer2DModel(**cfg).eval()
        dc.perturb_constant_params(tr, seed + 1000)
        g = torch.Generator().manual_seed(seed + 2000)
        tr.pos_embed.pos_embed.add_(0.1 * torch.randn(tr.pos_embed.pos_embed.shape, generator=g))  # not sincos
        dc.round_to(tr, torch.float16)
        return tr

    tr, tr35 = transformer(TR_SD3, 400), transformer(TR_SD35, 500)
    torch.manual_seed(600)
    vae = AutoencoderKL(**VAE_CFG).eval()
    dc.perturb_constant_params(vae, 1600)
    dc.round_to(vae, torch.float16)
    sched = FlowMatchEulerDiscreteScheduler(**SCHED_CFG)

    def pipe(transformer_=tr, scheduler=sched, with_t5=True):
        p = StableDiffusion3Pipeline(transformer=transformer_, scheduler=scheduler, vae=vae, text_encoder=clip_l,
                                     tokenizer=tok_l, text_encoder_2=clip_g, tokenizer_2=tok_g,
                                     text_encoder_3=t5 if with_t5 else None, tokenizer_3=tok3 if with_t5 else None)
        p.set_progress_bar_config(disable=True)
        return p

    S.update(tok_l=tok_l, tok_g=tok_g, merges=merges, tok3=tok3, clip_l=clip_l, clip_g=clip_g, t5=t5, tr=tr, tr35=tr35,
             vae=vae, sched=sched, make_pipe=pipe, pipe=pipe())
    for n in ("clip_l", "clip_g", "t5", "tr", "tr35", "vae"):
        print(f"  {n}: {dc.count_params(S[n])} parameters", flush=True)
    cases["components"] = {
        "tokenizer": {"kind": "CLIP BPE (bpe_tools, 300 merges)", "vocab_size": clip_vocab, "pad": "<|endoftext|>"},
        "tokenizer_2": {"kind": "same vocabulary", "pad": "!", "pad_id": 0},
        "tokenizer_3": tok3_info,
        "text_encoder": dict(dc.CLIP_L, cls="CLIPTextModelWithProjection", text_projection="identity (as SD3's CLIP-L)",
                             params=dc.count_params(clip_l)),
        "text_encoder_2": dict(dc.CLIP_G, cls="CLIPTextModelWithProjection", params=dc.count_params(clip_g)),
        "text_encoder_3": dict(dc.T5_CFG, cls="T5EncoderModel", params=dc.count_params(t5),
                               weights_sha256=dc.tensor_digest(dc.t5_single_file_keys(t5))),
        "transformer": dict(TR_SD3, params=dc.count_params(tr)),
        "transformer_35": dict(TR_SD35, params=dc.count_params(tr35)),
        "vae": dict(VAE_CFG, params=dc.count_params(vae)),
        "scheduler": dict(SCHED_CFG, cls="FlowMatchEulerDiscreteScheduler"),
        "weights": "seeded random init, constant params (norm weights/biases) perturbed, pos_embed = sincos + noise, "
                   "every weight rounded to an fp16-exact value (fp16 copies are lossless)",
    }


def save_folders():
    p = S["pipe"]
    dc.save_pipeline(p, PIPE_DIR, "tokenizer_3")
    dc.rewrite_clip_tokenizer(os.path.join(PIPE_DIR, "tokenizer"), S["merges"], "<|endoftext|>")
    dc.rewrite_clip_tokenizer(os.path.join(PIPE_DIR, "tokenizer_2"), S["merges"], "!")
    S["tr35"].save_pretrained(os.path.join(ROOT, "transformer_35"), safe_serialization=True)
    for e in dc.list_files(PIPE_DIR):
        print(f"  pipeline/{e['path']}: {e['bytes']} bytes")


def tokenizer_refs():
    rows = []
    for i, prm in enumerate(CLIP_PROMPTS):
        for name, tok in (("tok_clip_l", S["tok_l"]), ("tok_clip_g", S["tok_g"])):
            ids = tok(prm, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids[0]
            ref.put(f"{name}.{i}.ids", ids.to(torch.int64), quiet=True)
        rows.append({"index": i, "prompt": prm})
    cases["clip_tokenizer_prompts"] = rows
    cases["t5_tokenizer_prompts"] = dc.t5_token_references(ref, S["tok3"])


def text_encoder_refs():
    prompts = [P0, ""]
    for name, tok, te in (("clip_l", S["tok_l"], S["clip_l"]), ("clip_g", S["tok_g"], S["clip_g"])):
        ids = tok(prompts, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
        o = te(ids, output_hidden_states=True)
        ref.put(f"{name}.input_ids", ids.to(torch.int64))
        ref.put(f"{name}.last_hidden_state", o.last_hidden_state)
        ref.put(f"{name}.penultimate_hidden_state", o.hidden_states[-2])
        ref.put(f"{name}.text_embeds", o.text_embeds)
    cases["t5_inputs"] = dc.t5_model_refs(ref, S["t5"], [P0, P_INTL])


def transformer_refs():
    g = torch.Generator().manual_seed(7)
    x = torch.randn(2, 16, 8, 8, generator=g)
    ctx = torch.randn(2, 77 + 24, TR_SD3["joint_attention_dim"], generator=g)
    pooled = torch.randn(2, TR_SD3["pooled_projection_dim"], generator=g)
    t = torch.tensor([999.0, 333.5])
    xs = torch.randn(1, 16, 8, 12, generator=g)
    ts = torch.tensor([650.25])
    for k, v in (("hidden_states", x), ("encoder_hidden_states", ctx), ("pooled_projections", pooled), ("timestep", t),
                 ("hidden_states_nonsquare", xs), ("timestep_nonsquare", ts)):
        ref.put(f"transformer.in.{k}", v)
    for name, tr in (("sd3", S["tr"]), ("sd35", S["tr35"])):
        out = tr(hidden_states=x, encoder_hidden_states=ctx, pooled_projections=pooled, timestep=t, return_dict=False)[0]
        assert out.shape == x.shape
        ref.put(f"transformer.{name}.out", out)
        out = tr(hidden_states=xs, encoder_hidden_states=ctx[:1], pooled_projections=pooled[:1], timestep=ts,
                 return_dict=False)[0]
        assert out.shape == xs.shape
        ref.put(f"transformer.{name}.out_nonsquare", out)
    tr = S["tr"]
    ref.put("transformer.sd3.pos_embed_crop_8x8", tr.pos_embed.cropped_pos_embed(8, 8))
    ref.put("transformer.sd3.pos_embed_crop_8x12", tr.pos_embed.cropped_pos_embed(8, 12))
    ref.put("transformer.sd3.patch_embed_out", tr.pos_embed(x))
    ref.put("transformer.sd3.temb", tr.time_text_embed(t, pooled))


def vae_refs():
    vae = S["vae"]
    g = torch.Generator().manual_seed(8)
    lat = torch.randn(1, 16, 8, 8, generator=g)
    ref.put("vae.latents", lat)
    ref.put("vae.decoded", vae.decode(lat).sample)
    lat = torch.randn(1, 16, 8, 12, generator=g)
    ref.put("vae.latents_nonsquare", lat)
    ref.put("vae.decoded_nonsquare", vae.decode(lat).sample)
    img = torch.rand(1, 3, 64, 64, generator=g) * 2 - 1
    ref.put("vae.image", img)
    post = vae.encode(img).latent_dist
    ref.put("vae.encoded_mean", post.mean)
    ref.put("vae.encoded_std", post.std)


def scheduler_refs():
    from diffusers import FlowMatchEulerDiscreteScheduler, FlowMatchHeunDiscreteScheduler
    tables = {"euler_shift3": lambda: FlowMatchEulerDiscreteScheduler(**SCHED_CFG),
              "euler_shift1": lambda: FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0),
              "heun_shift3": lambda: FlowMatchHeunDiscreteScheduler.from_config(S["sched"].config)}
    for name, make in tables.items():
        for n in (1, 2, 4, 8, 28):
            s = make()
            s.set_timesteps(n)
            ref.put(f"sched.{name}.n{n}.timesteps", torch.as_tensor(s.timesteps).to(torch.float64), quiet=n != 4)
            ref.put(f"sched.{name}.n{n}.sigmas", torch.as_tensor(s.sigmas).to(torch.float64), quiet=n != 4)
    cases["scheduler_tables"] = {"euler_shift3": dict(SCHED_CFG), "euler_shift1": {"shift": 1.0},
                                 "heun_shift3": "FlowMatchHeunDiscreteScheduler.from_config(the euler config)",
                                 "steps": [1, 2, 4, 8, 28]}


def encode_refs():
    rows = []
    for i, c in enumerate(ENCODE_CASES):
        p = S["pipe"] if c["t5"] else S["make_pipe"](with_t5=False)
        pe, npe, pp, npp = p.encode_prompt(prompt=c["prompt"], prompt_2=None, prompt_3=None, device=torch.device("cpu"),
                                           num_images_per_prompt=1, do_classifier_free_guidance=True,
                                           negative_prompt=c["negative_prompt"],
                                           max_sequence_length=c["max_sequence_length"])
        assert pe.shape == (1, 77 + c["max_sequence_length"], TR_SD3["joint_attention_dim"]), pe.shape
        assert pp.shape == (1, TR_SD3["pooled_projection_dim"]), pp.shape
        if not c["t5"]:
            assert pe[:, 77:].abs().max() == 0
        ref.put(f"enc.{i}.prompt_embeds", pe)
        ref.put(f"enc.{i}.negative_prompt_embeds", npe)
        ref.put(f"enc.{i}.pooled_prompt_embeds", pp)
        ref.put(f"enc.{i}.negative_pooled_prompt_embeds", npp)
        rows.append(dict(c, index=i))
    cases["encode_prompt"] = rows


def run_case(p, c):
    cat = dc.LatentCatcher()
    out = p(prompt=c["prompt"], negative_prompt=c["negative_prompt"], height=c["height"], width=c["width"],
            num_inference_steps=c["steps"], guidance_scale=c["guidance_scale"],
            generator=torch.Generator("cpu").manual_seed(c["seed"]), max_sequence_length=c["max_sequence_length"],
            output_type="np", callback_on_step_end=cat, callback_on_step_end_tensor_inputs=["latents"])
    return dc.image_chw(out.images), cat.latents[0], cat.timesteps


def pipeline_case_pipe(c):
    from diffusers import FlowMatchHeunDiscreteScheduler
    sched = S["sched"] if c["scheduler"] == "euler" else FlowMatchHeunDiscreteScheduler.from_config(S["sched"].config)
    return S["make_pipe"](transformer_=S["tr"] if c["transformer"] == "sd3" else S["tr35"], scheduler=sched,
                          with_t5=c["t5"])


def pipeline_refs():
    rows = []
    for k, c in enumerate(CASES):
        print(f"  case {k}: {c}", flush=True)
        img, lat, ts = run_case(pipeline_case_pipe(c), c)
        assert img.shape == (3, c["height"], c["width"]) and lat.shape == (16, c["height"] // 8, c["width"] // 8)
        ref.put(f"pipe.{k}.image", img)
        ref.put(f"pipe.{k}.latents", lat)
        ref.put(f"pipe.{k}.noise", torch.randn((1, 16, c["height"] // 8, c["width"] // 8),
                                              generator=torch.Generator("cpu").manual_seed(c["seed"]))[0])
        rows.append(dict(c, index=k, timesteps=ts, cfg=c["guidance_scale"] > 1,
                         generator="torch.Generator('cpu').manual_seed(seed); noise = randn(1,16,h/8,w/8)"))
    cases["pipeline"] = rows
    cases["pipeline_notes"] = ("transformer 'sd3' = pipeline/transformer, 'sd35' = transformer_35/; scheduler 'heun' = "
                               "FlowMatchHeunDiscreteScheduler.from_config(pipeline/scheduler); t5 false = "
                               "text_encoder_3 and tokenizer_3 None (zeros in T5's place)")


def compare_case(p, k, what):
    img, lat, _ = run_case(p, CASES[k])
    di = (img - ref[f"pipe.{k}.image"]).abs().max().item()
    dl = (lat - ref[f"pipe.{k}.latents"]).abs().max().item()
    print(f"  {what}: case {k} max |diff| image {di:.3e} latents {dl:.3e}", flush=True)
    assert di <= 1e-5 and dl <= 1e-5, what
    return max(di, dl)


def load_pipeline(folder):
    from diffusers import StableDiffusion3Pipeline
    try:
        p = StableDiffusion3Pipeline.from_pretrained(folder, torch_dtype=torch.float32)
        how = "all components from the folder"
    except Exception as e:  # noqa: BLE001
        print(f"  from_pretrained({folder}) failed with the folder's tokenizers ({type(e).__name__}: {e}); "
              "retrying with the in-memory tokenizers", flush=True)
        p = StableDiffusion3Pipeline.from_pretrained(folder, torch_dtype=torch.float32, tokenizer=S["tok_l"],
                                                     tokenizer_2=S["tok_g"], tokenizer_3=S["tok3"])
        how = "tokenizers given in memory"
    p.set_progress_bar_config(disable=True)
    return p, how


def reload_check():
    p, how = load_pipeline(PIPE_DIR)
    for n, m in (("transformer", S["tr"]), ("text_encoder", S["clip_l"]), ("text_encoder_2", S["clip_g"]),
                 ("text_encoder_3", S["t5"]), ("vae", S["vae"])):
        dc.assert_same_tensors(dc.state_dict_exact(m), dc.state_dict_exact(getattr(p, n)), f"pipeline/{n} reloaded")
    from diffusers import SD3Transformer2DModel
    t35 = SD3Transformer2DModel.from_pretrained(os.path.join(ROOT, "transformer_35"))
    dc.assert_same_tensors(dc.state_dict_exact(S["tr35"]), dc.state_dict_exact(t35), "transformer_35 reloaded")
    cases["reload_check"] = {"how": how, "case0_max_abs_diff": compare_case(p, 0, "pipeline/ reloaded")}


def sharded_copy():
    """pipeline-sharded/: the same pipeline stored as the real SD3 repositories are: every model in float16 (the
    weights are fp16-exact, so nothing changes), transformer/ and text_encoder_3/ in >= 2 shards + index."""
    from diffusers import AutoencoderKL, SD3Transformer2DModel
    from transformers import CLIPTextModelWithProjection, T5EncoderModel
    d = os.path.join(ROOT, "pipeline-sharded")
    shutil.copytree(PIPE_DIR, d)
    info = {"dtype": "float16"}
    for comp, model, cls, shard in (("transformer", S["tr"], SD3Transformer2DModel, True),
                                    ("text_encoder_3", S["t5"], T5EncoderModel, True),
                                    ("text_encoder", S["clip_l"], CLIPTextModelWithProjection, False),
                                    ("text_encoder_2", S["clip_g"], CLIPTextModelWithProjection, False),
                                    ("vae", S["vae"], AutoencoderKL, False)):
        cd = os.path.join(d, comp)
        for size in (("50KB", "20KB", "10KB") if shard else (None,)):
            dc.save_model_as(model, cd, torch.float16, **({"max_shard_size": size} if size else {}))
            shards = sorted(f for f in os.listdir(cd) if f.endswith(".safetensors"))
            if not shard or len(shards) >= 2:
                break
        index = [f for f in os.listdir(cd) if f.endswith(".safetensors.index.json")]
        assert (len(shards) >= 2 and len(index) == 1) if shard else len(shards) == 1, (comp, os.listdir(cd))
        for f in shards:
            dts = {v["dtype"] for k, v in dc.safetensors_header(os.path.join(cd, f)).items() if k != "__metadata__"}
            assert dts <= {"F16", "I64"}, (comp, f, dts)
        info[comp] = {"max_shard_size": size, "files": sorted(os.listdir(cd))}
        print(f"  {comp}: {sorted(os.listdir(cd))}", flush=True)
        back = cls.from_pretrained(cd)
        dc.assert_same_tensors(dc.float_state(model), dc.float_state(back), f"pipeline-sharded/{comp} (as float32)")
    p, how = load_pipeline(d)
    info["case0_max_abs_diff"] = compare_case(p, 0, "pipeline-sharded/")
    cases["pipeline_sharded"] = info


def single_files():
    conv = dc.diffusers_converters()
    tr, tr35, vae, t5 = S["tr"], S["tr35"], S["vae"], S["t5"]
    vae_ldm = dc.vae_diffusers_to_ldm(dc.state_dict_exact(vae), vae.config)
    clip_l = {k: v for k, v in dc.clip_single_file_keys(S["clip_l"]).items() if k != "text_projection.weight"}
    clip_g = dc.clip_single_file_keys(S["clip_g"])
    assert "text_projection.weight" in clip_g
    t5_sd = dc.t5_single_file_keys(t5)
    files = {}
    for name, transformer, with_te in (("sd3_tiny_incl_clips_t5.safetensors", tr, True),
                                       ("sd35_tiny.safetensors", tr35, False)):
        sf = dc.with_prefix(dc.sd3_diffusers_to_original(dc.state_dict_exact(transformer)), "model.diffusion_model.")
        sf.update(dc.with_prefix(vae_ldm, "first_stage_model."))
        if with_te:
            sf.update(dc.with_prefix(clip_l, "text_encoders.clip_l.transformer."))
            sf.update(dc.with_prefix(clip_g, "text_encoders.clip_g.transformer."))
            sf.update(dc.with_prefix(t5_sd, "text_encoders.t5xxl.transformer."))
        for k, v in sf.items():
            assert torch.equal(v.half().float(), v.float()), f"{k} is not fp16-exact"
        path = dc.save_tensors(os.path.join(ROOT, "single", name), sf, dtype=torch.float16)
        back = {k: v.float() for k, v in dc.load_tensors(path).items()}
        # diffusers' converters read it back to exactly the diffusers weights
        ck = {k: v for k, v in back.items() if k.startswith("model.diffusion_model.")}
        got = conv.sd3(ck)
        assert not ck, f"diffusers' SD3 converter left {sorted(ck)[:6]}"
        dc.assert_same_tensors(dc.state_dict_exact(transformer), got, f"{name}: transformer via diffusers' converter")
        dc.assert_same_tensors(dc.state_dict_exact(vae), conv.vae(back, vae.config), f"{name}: VAE via diffusers' converter")
        if with_te:
            dc.assert_same_tensors(t5_sd, conv.t5(back), f"{name}: T5 via diffusers' converter")
            dc.assert_same_tensors(clip_l, conv.clip(back, "text_encoders.clip_l.transformer."), f"{name}: CLIP-L")
            dc.assert_same_tensors(clip_g, conv.clip(back, "text_encoders.clip_g.transformer."), f"{name}: CLIP-G")
        files[name] = {"keys": len(sf), "dtype": "F16", "bytes": os.path.getsize(path),
                       "transformer": "pipeline/transformer" if transformer is tr else "transformer_35",
                       "text_encoders": with_te}
        try:  # diffusers' own single-file loader, as a user would call it (config from the saved folder)
            from diffusers import SD3Transformer2DModel
            sub = "transformer" if transformer is tr else None
            cfg_dir = PIPE_DIR if sub else os.path.join(ROOT, "transformer_35")
            m = SD3Transformer2DModel.from_single_file(path, config=cfg_dir, subfolder=sub, torch_dtype=torch.float32,
                                                       local_files_only=True)
            dc.assert_same_tensors(dc.state_dict_exact(transformer), dc.state_dict_exact(m),
                                   f"{name}: SD3Transformer2DModel.from_single_file")
            files[name]["from_single_file"] = "identical"
        except Exception as e:  # noqa: BLE001
            print(f"  (from_single_file check not done: {type(e).__name__}: {str(e)[:200]})", flush=True)
            files[name]["from_single_file"] = f"not checked: {type(e).__name__}"
    cases["single_files"] = files
    # separate text encoders as ComfyUI users keep them (fp16, HF key layouts)
    te = {}
    for name, sd in (("clip_l.safetensors", clip_l), ("clip_g.safetensors", clip_g), ("t5xxl_fp16.safetensors", t5_sd)):
        path = dc.save_tensors(os.path.join(ROOT, "text_encoders", name), sd, dtype=torch.float16)
        dc.assert_same_tensors(sd, {k: v.float() for k, v in dc.load_tensors(path).items()}, f"text_encoders/{name}")
        te[name] = {"keys": len(sd), "dtype": "F16", "bytes": os.path.getsize(path)}
    cases["text_encoder_files"] = te


def finish():
    ref.save(os.path.join(ROOT, "reference.safetensors"))
    cases["stages"] = {"ok": stages.ok, "failed": stages.failed, "skipped": stages.skipped}
    cases["files"] = dc.list_files(ROOT)
    dc.dump_json(os.path.join(ROOT, "cases.json"), cases)
    shutil.rmtree(os.path.join(OUT, ".work-sd3"), ignore_errors=True)
    total = sum(e["bytes"] for e in cases["files"])
    print(f"  sd3-tiny: {len(cases['files'])} files, {total / 1e6:.2f} MB", flush=True)


if __name__ == "__main__":
    if stages.run("build components", build) is None and "build components" in stages.failed:
        stages.finish()
        sys.exit(1)
    for name, fn in (("save pipeline folders", save_folders), ("tokenizer references", tokenizer_refs),
                     ("text encoder references", text_encoder_refs), ("transformer references", transformer_refs),
                     ("VAE references", vae_refs), ("scheduler tables", scheduler_refs),
                     ("encode_prompt references", encode_refs), ("pipeline runs", pipeline_refs),
                     ("reload check", reload_check), ("sharded copy", sharded_copy),
                     ("single files", single_files)):
        stages.run(name, fn)
        ref.save(os.path.join(ROOT, "reference.safetensors"))
    stages.run("write reference.safetensors and cases.json", finish)
    sys.exit(stages.finish())
