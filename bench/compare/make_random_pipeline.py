#!/usr/bin/env python3
"""Writes a FULL-SIZE diffusers pipeline folder with random weights, built from the published configs
(configs.py), for the side-by-side benchmark: speed and memory do not depend on the weights' values.

    python3 bench/compare/make_random_pipeline.py --family sdxl --out /tmp/compare-models/sdxl [--dtype fp16]

Families: sd15, sdxl, sd35-large, sd35-medium, sd3-medium, flux-dev, flux-schnell. Runs on the GPU machine
(reference kit on PYTHONPATH); --device cpu works too but takes minutes for the large families.

How it is fast: each component is constructed directly on the GPU in the target dtype (`torch.device`
context + `torch.set_default_dtype`), so the libraries' own initialisation (PyTorch's kaiming-uniform for
diffusers' layers, transformers' normal(0, 0.02)-style `_init_weights` for CLIP and T5, ones/zeros for norms)
runs as a few GPU kernels instead of minutes of CPU work for a 12 B model. That keeps the real compute path
(nothing zeroed) and weights of sane scale; every parameter is checked to be finite, and a small forward of
each component must give finite outputs (--no-check skips that). If a constructor fails in half precision it
is rebuilt in float32 and cast. Components are saved one at a time with `save_pretrained` (safetensors;
diffusers models in 10 GB shards, transformers models in 5 GB shards, the layout of the published folders),
then freed; model_index.json is written last, so a folder without it is incomplete.

Tokenizers are copied, not generated: CLIP's vocab.json/merges.txt from --clip-tokenizer, else
resources/tokenizers/clip (the real 49408-token vocabulary), else the tiny test vocabulary
tests/data/sd15-tiny/pipeline/tokenizer (a warning: token ids then differ from the real model's, which does not
change the compute: prompts are padded to 77 tokens either way). SDXL/SD3's tokenizer_2 pads with "!".
T5's spiece.model from --t5-spiece, else tools/reference/t5-tiny-spiece.model; without one, a small
SentencePiece unigram model is trained on the spot (Python `sentencepiece`), and if that is impossible the T5
families are refused with a message. The T5 sequence is padded to max_sequence_length, so the vocabulary
does not change the compute either.

Prints sizes and timings and writes DIR/random_pipeline.json (family, parameter counts, bytes, timings,
tokenizer sources, versions)."""
import argparse
import gc
import inspect
import io
import json
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import configs  # noqa: E402

CLIP_TOKENIZER_DIRS = [os.path.join(ROOT, "resources", "tokenizers", "clip")]
CLIP_TOKENIZER_FALLBACK = os.path.join(ROOT, "tests", "data", "sd15-tiny", "pipeline", "tokenizer")
T5_SPIECE_DEFAULT = os.path.join(ROOT, "tools", "reference", "t5-tiny-spiece.model")
T5_EXTRA_IDS = 100
DTYPES = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------------------
# tokenizers


def find_clip_tokenizer(explicit):
    """(folder, is_real_vocabulary)."""
    for d in ([explicit] if explicit else []) + CLIP_TOKENIZER_DIRS:
        if d and os.path.isfile(os.path.join(d, "vocab.json")) and os.path.isfile(os.path.join(d, "merges.txt")):
            with open(os.path.join(d, "vocab.json"), encoding="utf-8") as f:
                n = len(json.load(f))
            return d, n == configs.CLIP_L["vocab_size"]
    if explicit:
        raise SystemExit(f"--clip-tokenizer {explicit}: no vocab.json + merges.txt there")
    log(f"WARNING: no real CLIP vocabulary in {CLIP_TOKENIZER_DIRS[0]}: using the tiny test vocabulary "
        f"{CLIP_TOKENIZER_FALLBACK} (token ids differ from the real model's; the compute does not)")
    return CLIP_TOKENIZER_FALLBACK, False


def write_clip_tokenizer(src, folder, pad_token):
    """Copies vocab.json + merges.txt and writes the config files the way the published folders have them.
    Returns the token ids the text encoder's config needs."""
    os.makedirs(folder, exist_ok=True)
    for name in ("vocab.json", "merges.txt"):
        shutil.copyfile(os.path.join(src, name), os.path.join(folder, name))
    with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    cfg = {"add_prefix_space": False, "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
           "unk_token": "<|endoftext|>", "pad_token": pad_token, "model_max_length": 77, "do_lower_case": True,
           "errors": "replace", "tokenizer_class": "CLIPTokenizer"}
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(folder, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump({k: cfg[k] for k in ("bos_token", "eos_token", "unk_token", "pad_token")}, f, indent=2)
    missing = [t for t in ("<|startoftext|>", "<|endoftext|>", pad_token) if t not in vocab]
    if missing:
        raise SystemExit(f"{src}/vocab.json lacks {missing}")
    return {"bos_token_id": vocab["<|startoftext|>"], "eos_token_id": vocab["<|endoftext|>"],
            "pad_token_id": vocab[pad_token], "vocab_entries": len(vocab)}


T5_CORPUS_WORDS = (
    "a photograph of an astronaut riding a horse on the moon detailed 8k painting portrait landscape city "
    "street night day light dark red green blue yellow white black cat dog bird tree flower mountain river "
    "sea sky cloud sun star castle house car train boat woman man child old young beautiful highly realistic "
    "digital art concept illustration cinematic lighting sharp focus trending style oil watercolor sketch "
    "the and with in on at under over near far big small tall short happy sad bright soft warm cold").split()


def train_t5_spiece(path):
    """A small SentencePiece unigram model with T5's special ids (pad 0, eos 1, unk 2, no bos)."""
    import sentencepiece as spm
    import random
    rnd = random.Random(1234)
    lines = [" ".join(rnd.choice(T5_CORPUS_WORDS) for _ in range(rnd.randint(4, 16))) for _ in range(4000)]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buf, vocab_size=400,
                                   model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                                   hard_vocab_limit=False, character_coverage=1.0, minloglevel=2)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def write_t5_tokenizer(spiece, folder, transformers_mod):
    os.makedirs(folder, exist_ok=True)
    shutil.copyfile(spiece, os.path.join(folder, "spiece.model"))
    cfg = {"tokenizer_class": "T5Tokenizer", "model_max_length": 512, "extra_ids": T5_EXTRA_IDS,
           "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
           "additional_special_tokens": [f"<extra_id_{i}>" for i in range(T5_EXTRA_IDS)]}
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(folder, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump({k: cfg[k] for k in ("eos_token", "unk_token", "pad_token", "additional_special_tokens")}, f,
                  indent=2)
    # The class name that model_index.json gives: the published folders say T5TokenizerFast.
    return "T5TokenizerFast" if hasattr(transformers_mod, "T5TokenizerFast") else "T5Tokenizer"


def check_tokenizer_loads(folder, kind, transformers_mod):
    """Whether transformers can load the folder as diffusers will; a failure is a warning here (the bench
    falls back to SentencePiece for T5)."""
    try:
        if kind == "clip":
            tok = transformers_mod.CLIPTokenizer.from_pretrained(folder)
        else:
            cls = getattr(transformers_mod, "T5TokenizerFast", None) or transformers_mod.T5Tokenizer
            tok = cls.from_pretrained(folder)
        ids = tok("a photograph of an astronaut riding a horse", padding="max_length", max_length=77,
                  truncation=True).input_ids
        return {"loads": True, "class": type(tok).__name__, "first_ids": list(ids[:12])}
    except Exception as e:  # noqa: BLE001 - reported, not fatal
        log(f"  note: transformers cannot load {folder} ({type(e).__name__}: {str(e)[:160]})")
        return {"loads": False, "error": f"{type(e).__name__}: {str(e)[:300]}"}


# ---------------------------------------------------------------------------------------------------------
# components


def construct(lib, cls_name, cfg, dtype, device, torch, diffusers, transformers):
    """Builds one component on `device` in `dtype` with the library's own initialisation."""
    if lib == "diffusers":
        cls = getattr(diffusers, cls_name)

        def make():
            return cls.from_config(cfg)
    else:
        cls = getattr(transformers, cls_name)
        cfg_cls = transformers.T5Config if cls_name.startswith("T5") else transformers.CLIPTextConfig

        def make():
            return cls(cfg_cls(**cfg))

    def build(default_dtype):
        old = torch.get_default_dtype()
        torch.set_default_dtype(default_dtype)
        try:
            with torch.device(device):
                return make()
        finally:
            torch.set_default_dtype(old)

    how = f"built on {device} in {str(dtype)[6:]}"
    try:
        model = build(dtype)
    except Exception as e:  # noqa: BLE001 - a constructor that cannot run in half precision
        log(f"  {cls_name}: building in {dtype} failed ({type(e).__name__}: {str(e)[:120]}); float32, then cast")
        gc.collect()
        model = build(torch.float32)
        how = f"built on {device} in float32, cast to {str(dtype)[6:]}"
    model = model.to(dtype=dtype).eval()
    model.requires_grad_(False)
    return model, how


def nonfinite_parameters(model, torch):
    bad = []
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            bad.append(name)
    return bad


def forward_check(name, cls_name, model, cfg, torch):
    """A small forward with random inputs: outputs must be finite. Returns {shape, std, absmax}."""
    dev = next(model.parameters()).device
    dt = next(model.parameters()).dtype
    g = torch.Generator(device=dev).manual_seed(0)

    def randn(*shape):
        return torch.randn(*shape, generator=g, device=dev, dtype=dt)

    with torch.no_grad():
        if cls_name.startswith("CLIPText"):
            ids = torch.randint(0, cfg["vocab_size"] - 2, (1, 77), generator=g, device=dev)
            out = model(ids)
            y = out.text_embeds if cls_name.endswith("WithProjection") else out.pooler_output
            y = torch.cat([out.last_hidden_state.flatten(), y.flatten()])
        elif cls_name == "T5EncoderModel":
            ids = torch.randint(3, 300, (1, 64), generator=g, device=dev)
            y = model(ids).last_hidden_state
        elif cls_name == "UNet2DConditionModel":
            kw = {}
            if cfg.get("addition_embed_type") == "text_time":
                pooled = cfg["projection_class_embeddings_input_dim"] - 6 * cfg["addition_time_embed_dim"]
                kw["added_cond_kwargs"] = {"text_embeds": randn(1, pooled),
                                           "time_ids": torch.tensor([[512., 512., 0., 0., 512., 512.]],
                                                                    device=dev, dtype=dt)}
            y = model(randn(1, cfg["in_channels"], 64, 64), torch.tensor([500], device=dev),
                      encoder_hidden_states=randn(1, 77, cfg["cross_attention_dim"]), **kw).sample
        elif cls_name == "SD3Transformer2DModel":
            y = model(hidden_states=randn(1, cfg["in_channels"], 64, 64),
                      encoder_hidden_states=randn(1, 77 + 64, cfg["joint_attention_dim"]),
                      pooled_projections=randn(1, cfg["pooled_projection_dim"]),
                      timestep=torch.tensor([500.0], device=dev, dtype=dt)).sample
        elif cls_name == "FluxTransformer2DModel":
            h = w = 32  # a 512x512 image: 32x32 packed tokens
            img_ids = torch.zeros(h, w, 3, device=dev, dtype=dt)
            img_ids[..., 1] += torch.arange(h, device=dev, dtype=dt)[:, None]
            img_ids[..., 2] += torch.arange(w, device=dev, dtype=dt)[None, :]
            kw = {"guidance": torch.tensor([3.5], device=dev, dtype=dt)} if cfg.get("guidance_embeds") else {}
            y = model(hidden_states=randn(1, h * w, cfg["in_channels"]),
                      encoder_hidden_states=randn(1, 64, cfg["joint_attention_dim"]),
                      pooled_projections=randn(1, cfg["pooled_projection_dim"]),
                      timestep=torch.tensor([0.5], device=dev, dtype=dt), img_ids=img_ids.reshape(-1, 3),
                      txt_ids=torch.zeros(64, 3, device=dev, dtype=dt), **kw).sample
        elif cls_name == "AutoencoderKL":
            y = model.decode(randn(1, cfg["latent_channels"], 32, 32)).sample
        else:
            return None
    y = y.float()
    finite = bool(torch.isfinite(y).all())
    stats = {"shape": list(y.shape), "finite": finite,
             "std": float(y[torch.isfinite(y)].std()) if y.numel() > 1 else 0.0,
             "absmax": float(y[torch.isfinite(y)].abs().max()) if y.numel() else 0.0}
    if not finite:
        raise RuntimeError(f"{name}: the forward check gives non-finite outputs: {stats}")
    return stats


def save_component(model, folder, lib):
    """save_pretrained with safetensors, in shards (10 GB diffusers, 5 GB transformers: the published layout).
    Passes only the arguments the installed library's save_pretrained takes (as diffusers' own pipeline save
    does)."""
    params = inspect.signature(model.save_pretrained).parameters
    kw = {}
    if "safe_serialization" in params:
        kw["safe_serialization"] = True
    if "max_shard_size" in params:
        kw["max_shard_size"] = "10GB" if lib == "diffusers" else "5GB"
    if "save_peft_format" in params:
        kw["save_peft_format"] = False
    model.save_pretrained(folder, **kw)


def folder_bytes(folder):
    total = 0
    for dp, _, fns in os.walk(folder):
        for fn in fns:
            total += os.path.getsize(os.path.join(dp, fn))
    return total


# ---------------------------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", required=True, choices=sorted(configs.FAMILIES))
    ap.add_argument("--out", required=True, help="the pipeline folder to write")
    ap.add_argument("--dtype", choices=sorted(DTYPES), help="storage dtype (default: the family's: fp16 for "
                    "SD 1.5/SDXL, bf16 for SD3/Flux)")
    ap.add_argument("--device", default="cuda", help="where to build (default cuda)")
    ap.add_argument("--clip-tokenizer", help="folder with the CLIP vocab.json + merges.txt")
    ap.add_argument("--t5-spiece", help="T5 SentencePiece model (default tools/reference/t5-tiny-spiece.model)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--force", action="store_true", help="rebuild even if OUT/model_index.json exists")
    ap.add_argument("--no-check", action="store_true", help="skip the small forward of each component")
    args = ap.parse_args(argv)

    spec = configs.FAMILIES[args.family]
    dtype_name = args.dtype or spec["defaults"]["dtype"]
    out = os.path.abspath(args.out)
    if os.path.isfile(os.path.join(out, "model_index.json")) and not args.force:
        log(f"{out} already holds a complete pipeline (model_index.json); --force rebuilds it")
        return 0

    # T5 first: a family that cannot have its tokenizer is refused before any work.
    spiece = None
    if configs.needs_t5(args.family):
        spiece = args.t5_spiece or (T5_SPIECE_DEFAULT if os.path.isfile(T5_SPIECE_DEFAULT) else None)
        if args.t5_spiece and not os.path.isfile(args.t5_spiece):
            raise SystemExit(f"--t5-spiece {args.t5_spiece}: no such file")
        if spiece is None:
            spiece = "/tmp/compare-t5-spiece.model"
            try:
                train_t5_spiece(spiece)
                log(f"WARNING: {T5_SPIECE_DEFAULT} is missing: trained a small SentencePiece model in {spiece}")
            except Exception as e:  # noqa: BLE001
                raise SystemExit(f"{args.family} needs a T5 SentencePiece model: {T5_SPIECE_DEFAULT} is missing, "
                                 f"--t5-spiece was not given and training one failed ({type(e).__name__}: {e}). "
                                 "Skipping this family.")

    import torch
    import diffusers
    import transformers
    torch.set_grad_enabled(False)
    dtype = getattr(torch, DTYPES[dtype_name])
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("no CUDA device: pass --device cpu (slow for the large families)")
    log(f"{args.family}: {spec['pipeline']} with random weights, {dtype_name}, built on {device} -> {out}")
    log(f"torch {torch.__version__}, diffusers {diffusers.__version__}, transformers {transformers.__version__}")

    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    t_all = time.perf_counter()
    manifest = {"family": args.family, "pipeline": spec["pipeline"], "dtype": dtype_name, "seed": args.seed,
                "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__,
                             "transformers": transformers.__version__},
                "components": {}, "tokenizers": {}}
    model_index = {"_class_name": spec["pipeline"], "_diffusers_version": diffusers.__version__}

    # tokenizers (their ids go into the text encoders' configs)
    clip_src, clip_real = find_clip_tokenizer(args.clip_tokenizer)
    clip_ids = {}
    for name, (kind, pad) in spec["tokenizers"].items():
        folder = os.path.join(out, name)
        if kind == "clip":
            ids = write_clip_tokenizer(clip_src, folder, pad)
            clip_ids[name] = ids
            model_index[name] = ["transformers", "CLIPTokenizer"]
            info = {"kind": "clip", "source": clip_src, "real_vocabulary": clip_real, "pad_token": pad, **ids}
        else:
            cls_name = write_t5_tokenizer(spiece, folder, transformers)
            model_index[name] = ["transformers", cls_name]
            info = {"kind": "t5", "source": spiece, "class": cls_name}
        info["transformers"] = check_tokenizer_loads(folder, kind, transformers)
        manifest["tokenizers"][name] = info
        log(f"  {name}: {info['kind']} tokenizer from {info['source']}"
            + ("" if info["transformers"]["loads"] else " (transformers cannot load it: see the note)"))
    first_clip = clip_ids.get("tokenizer")

    sched_cls, sched_cfg = spec["scheduler"]
    scheduler = getattr(diffusers, sched_cls).from_config(sched_cfg)
    scheduler.save_pretrained(os.path.join(out, "scheduler"))
    model_index["scheduler"] = ["diffusers", sched_cls]

    total_params = 0
    for i, (name, lib, cls_name, cfg) in enumerate(spec["components"]):
        cfg = dict(cfg)
        if cls_name.startswith("CLIPText") and first_clip:
            cfg.update({k: first_clip[k] for k in ("bos_token_id", "eos_token_id", "pad_token_id")})
        torch.manual_seed(args.seed + i)
        t0 = time.perf_counter()
        model, how = construct(lib, cls_name, cfg, dtype, device, torch, diffusers, transformers)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        build_s = time.perf_counter() - t0
        n = sum(p.numel() for p in model.parameters())
        nbytes = sum(p.numel() * p.element_size() for p in model.parameters())
        total_params += n
        bad = nonfinite_parameters(model, torch)
        if bad:
            raise SystemExit(f"{name}: non-finite parameters after initialisation: {bad[:8]}")
        t0 = time.perf_counter()
        check = None if args.no_check else forward_check(name, cls_name, model, cfg, torch)
        check_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        save_component(model, os.path.join(out, name), lib)
        save_s = time.perf_counter() - t0
        on_disk = folder_bytes(os.path.join(out, name))
        model_index[name] = [lib, cls_name]
        manifest["components"][name] = {"class": cls_name, "library": lib, "config": cfg, "parameters": n,
                                        "bytes": nbytes, "bytes_on_disk": on_disk, "how": how,
                                        "build_s": round(build_s, 3), "check_s": round(check_s, 3),
                                        "save_s": round(save_s, 3), "forward_check": check}
        log(f"  {name:15s} {cls_name:28s} {n / 1e9:7.3f} B params {nbytes / 2**30:7.2f} GiB  build "
            f"{build_s:5.1f} s  check {check_s:4.1f} s  save {save_s:5.1f} s ({on_disk / 2**30:.2f} GiB on disk, "
            f"{on_disk / 2**30 / max(save_s, 1e-6):.2f} GiB/s)"
            + (f"  out std {check['std']:.3g} absmax {check['absmax']:.3g}" if check else ""))
        del model
        gc.collect()
        if device.startswith("cuda"):
            torch.cuda.empty_cache()

    for opt in spec["optional"]:
        model_index[opt] = [None, None]
    model_index.update(spec["pipeline_config"])
    total_s = time.perf_counter() - t_all
    manifest.update({"parameters": total_params, "bytes_on_disk": folder_bytes(out), "total_s": round(total_s, 2)})
    with open(os.path.join(out, "random_pipeline.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, default=str)
    tmp = os.path.join(out, "model_index.json.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(dict(sorted(model_index.items())), f, indent=2)
    os.replace(tmp, os.path.join(out, "model_index.json"))
    log(f"{args.family}: {total_params / 1e9:.2f} B parameters, {manifest['bytes_on_disk'] / 2**30:.2f} GiB on disk, "
        f"written in {total_s:.1f} s: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
