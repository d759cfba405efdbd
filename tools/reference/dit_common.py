"""Shared pieces of the SD 3/3.5 and Flux.1 fixture generators (make_sd3_tiny.py, make_flux_tiny.py).

- a stage runner that prints a traceback and goes on when one stage fails (the exit code says so);
- the tiny T5 tokenizer (tools/reference/t5-tiny-spiece.model) the way transformers uses it, checked against
  SentencePiece itself, with a stand-in when transformers 5 cannot build it from the .model file;
- builders for the tiny CLIP-L, CLIP-G and T5 text encoders (seeded, so both generators get the same T5);
- key converters from diffusers' layout to the original single-file layouts (SD3 `joint_blocks`, BFL Flux
  `double_blocks`/`single_blocks`, LDM VAE), the inverses of diffusers' own converters, dtype-agnostic
  (float8 tensors are concatenated as bytes);
- small helpers: save tensors, check finiteness, round weights to what fp16/bf16 can hold exactly.

Only torch, numpy and sentencepiece are needed at import time; transformers and diffusers are imported
inside the functions that use them, so the converters can be tested on a machine without them."""
import hashlib
import json
import os
import re
import shutil
import sys
import time
import traceback
import types

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SPM_PATH = os.path.join(HERE, "t5-tiny-spiece.model")
T5_PIECES = 1000  # pieces in t5-tiny-spiece.model (ids 0..999: <pad>=0, </s>=1, <unk>=2)
T5_EXTRA_IDS = 100  # <extra_id_0..99> appended by transformers at 1000..1099 (<extra_id_0> = 1099)
T5_VOCAB = 1152  # embedding rows: 1100 rounded up to a multiple of 128, as T5's 32100 -> 32128
FP8_DTYPES = tuple(getattr(torch, n) for n in ("float8_e4m3fn", "float8_e5m2") if hasattr(torch, n))


# ----------------------------------------------------------------------------------------------------------
# stage runner


class Stages:
    """Runs named stages; a failing stage prints its traceback and the run goes on."""

    def __init__(self, title):
        self.title, self.ok, self.failed, self.skipped = title, [], [], []
        self.t0 = time.time()

    def run(self, name, fn, *args, **kwargs):
        print(f"\n=== [{self.title}] {name}", flush=True)
        t = time.time()
        try:
            result = fn(*args, **kwargs)
        except Exception:  # noqa: BLE001 - the point is to go on
            traceback.print_exc()
            sys.stderr.flush()
            print(f"=== [{self.title}] {name}: FAILED after {time.time() - t:.1f} s", flush=True)
            self.failed.append(name)
            return None
        print(f"=== [{self.title}] {name}: ok ({time.time() - t:.1f} s)", flush=True)
        self.ok.append(name)
        return result

    def skip(self, name, why):
        print(f"\n=== [{self.title}] {name}: SKIPPED ({why})", flush=True)
        self.skipped.append(f"{name}: {why}")

    def finish(self):
        print(f"\n=== [{self.title}] summary after {time.time() - self.t0:.1f} s: {len(self.ok)} ok, "
              f"{len(self.failed)} failed, {len(self.skipped)} skipped", flush=True)
        for n in self.failed:
            print(f"    FAILED: {n}")
        for n in self.skipped:
            print(f"    skipped: {n}")
        return 1 if self.failed else 0


# ----------------------------------------------------------------------------------------------------------
# tensors


class Ref(dict):
    """The reference tensors of one fixture: every put() is checked (finite) and printed."""

    def put(self, name, t, quiet=False):
        if not isinstance(t, torch.Tensor):
            t = torch.as_tensor(t)
        t = t.detach().to("cpu").contiguous().clone()
        if t.is_floating_point():
            assert torch.isfinite(t.float()).all(), f"{name}: not finite"
        assert name not in self, f"{name} stored twice"
        self[name] = t
        if not quiet:
            if t.is_floating_point() and t.numel() > 0:
                f = t.float()
                print(f"  {name:48s} {str(list(t.shape)):18s} {str(t.dtype)[6:]:8s} mean {f.mean():+.4e} "
                      f"std {f.std() if f.numel() > 1 else 0:.4e} absmax {f.abs().max():.4e}", flush=True)
            else:
                v = t.flatten()[:12].tolist()
                print(f"  {name:48s} {str(list(t.shape)):18s} {str(t.dtype)[6:]:8s} {v}", flush=True)
        return t

    def save(self, path):
        from safetensors.torch import save_file
        save_file(dict(self), path)
        print(f"  wrote {path}: {len(self)} tensors, {os.path.getsize(path) / 1e6:.2f} MB", flush=True)


def save_tensors(path, sd, dtype=None, metadata=None):
    """safetensors.save_file with every tensor cloned (tied weights would be refused) and optionally cast."""
    from safetensors.torch import save_file
    out = {}
    for k, v in sd.items():
        v = v.detach().to("cpu")
        if dtype is not None and v.is_floating_point() and v.dtype not in FP8_DTYPES:
            v = v.to(dtype)
        out[k] = v.contiguous().clone()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file(out, path, metadata=metadata)
    print(f"  wrote {path}: {len(out)} tensors, {os.path.getsize(path) / 1e6:.3f} MB", flush=True)
    return path


def load_tensors(path):
    from safetensors.torch import load_file
    return load_file(path)


def state_dict_exact(model):
    """The model's parameters and persistent buffers, cloned."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_tensors(a, b, what, allow_missing=()):
    """Keys and values equal bit for bit (compared as bytes, so float8 works too)."""
    ka, kb = set(a), set(b)
    missing, extra = sorted(ka - kb - set(allow_missing)), sorted(kb - ka)
    assert not missing and not extra, f"{what}: keys differ; missing {missing[:8]} extra {extra[:8]}"
    bad = []
    for k in sorted(ka & kb):
        x, y = a[k].detach().cpu(), b[k].detach().cpu()
        if x.dtype != y.dtype or tuple(x.shape) != tuple(y.shape):
            bad.append(f"{k}: {x.dtype}{tuple(x.shape)} vs {y.dtype}{tuple(y.shape)}")
        elif x.numel() and not torch.equal(as_bytes(x), as_bytes(y)):
            bad.append(f"{k}: values differ")
    assert not bad, f"{what}: {len(bad)} tensors differ: {bad[:8]}"
    print(f"  {what}: {len(ka & kb)} tensors identical", flush=True)


def as_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bool:
        return t.to(torch.uint8).flatten()
    return t.view(torch.uint8).flatten() if t.element_size() == 1 else t.flatten().view(torch.uint8)


def round_to(model, dtype):
    """Rounds every floating parameter and buffer to a value `dtype` holds exactly, so that a copy saved in
    `dtype` is lossless and the float32 references hold for it too."""
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.copy_(t.to(dtype).to(t.dtype))


def perturb_constant_params(model, seed, scale=0.1):
    """Adds seeded noise to parameters that are constant after the library's init (LayerNorm/RMSNorm weights
    of 1, biases of 0): a loader that skips them, or a norm that ignores its weight, must show up."""
    g = torch.Generator().manual_seed(seed)
    n = 0
    with torch.no_grad():
        for name, p in model.named_parameters():
            flat = p.detach().flatten()
            if flat.numel() == 1 or bool((flat == flat[0]).all()):
                p.add_(torch.randn(p.shape, generator=g) * scale)
                n += 1
    return n


def count_params(model):
    return sum(p.numel() for p in model.parameters())


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tensor_digest(sd):
    h = hashlib.sha256()
    for k in sorted(sd):
        h.update(k.encode())
        h.update(as_bytes(sd[k].detach().cpu()).numpy().tobytes())
    return h.hexdigest()


def list_files(root):
    out = []
    for dp, _, fns in os.walk(root):
        for fn in sorted(fns):
            p = os.path.join(dp, fn)
            out.append({"path": os.path.relpath(p, root), "bytes": os.path.getsize(p)})
    return sorted(out, key=lambda e: e["path"])


def safetensors_header(path):
    import struct
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))


def dump_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False, default=str)


# ----------------------------------------------------------------------------------------------------------
# T5 tokenizer

T5_TOKEN_PROMPTS = [
    "", " ", "   ", "a photograph of an astronaut riding a horse", "A Painting of a Squirrel eating a Burger",
    "café naïve résumé, crème brûlée", "Müller Straße Größe über schön", "日本語のプロンプト", "中文提示词：一只猫坐在窗台上",
    "한국어 프롬프트", "Ελληνικά: καλημέρα κόσμε", "Русский: привет мир", "emoji 🚀✨ rocket",
    "  multiple   spaces\tand\ttabs\nnewline  ", "numbers 1234567890 and 3.14", "full-width ＡＢＣ １２３, ligature ﬁ, ½",
    "it's the dragon's 3rd birthday!!!", "(masterpiece:1.2), best quality, [blurry]",
]
LONG_165 = "a photograph of a " + "very " * 38 + "long prompt about a castle on a mountain"  # 77 < ids < 256
LONG_368 = "a " + "very " * 90 + "long prompt"  # 256 < ids < 512
LONG_1217 = "a photograph of a " + "very " * 300 + "long prompt about a castle on a mountain"  # > 512 ids
WORDS_646 = " ".join(f"word{i}" for i in range(200))  # > 512 ids
T5_TOKEN_PROMPTS += [LONG_165, LONG_368, LONG_1217, WORDS_646]
T5_MAX_LENGTHS = (77, 256, 512)


class SpmT5Ids:
    """T5's ids from SentencePiece itself: pieces + </s> (1), truncated keeping </s> last, padded with 0."""

    def __init__(self, path=SPM_PATH):
        import sentencepiece as spm
        self.sp = spm.SentencePieceProcessor(model_file=path)
        assert self.sp.get_piece_size() == T5_PIECES, self.sp.get_piece_size()
        assert (self.sp.pad_id(), self.sp.eos_id(), self.sp.unk_id(), self.sp.bos_id()) == (0, 1, 2, -1)

    def ids(self, text, max_length=None):
        ids = list(self.sp.encode(text)) + [1]
        if max_length is None:
            return ids
        if len(ids) > max_length:
            ids = ids[:max_length - 1] + [1]
        return ids + [0] * (max_length - len(ids))


class StandInT5Tokenizer:
    """The calls diffusers' SD3/Flux pipelines make on tokenizer_3 / tokenizer_2, done with SentencePiece.
    Used only if transformers 5 cannot build a T5 tokenizer from the .model that gives SentencePiece's ids."""

    model_max_length = 512

    def __init__(self, path=SPM_PATH):
        self.spm_ids = SpmT5Ids(path)

    def __call__(self, prompt, padding=False, max_length=None, truncation=False, add_special_tokens=True,
                 return_tensors=None, **kwargs):
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        rows = [self.spm_ids.ids(p) for p in prompts]
        if truncation and max_length is not None:
            rows = [r[:max_length - 1] + [1] if len(r) > max_length else r for r in rows]
        width = max_length if padding == "max_length" else max(len(r) for r in rows)
        rows = [r + [0] * (width - len(r)) for r in rows]
        return types.SimpleNamespace(input_ids=torch.tensor(rows, dtype=torch.long))

    def batch_decode(self, ids, **kwargs):
        return [self.spm_ids.sp.decode([i for i in row.tolist() if 2 < i < T5_PIECES]) for row in ids]

    def __len__(self):
        return T5_PIECES + T5_EXTRA_IDS


def _t5_tokenizer_config():
    return {"tokenizer_class": "T5Tokenizer", "model_max_length": 512, "extra_ids": T5_EXTRA_IDS,
            "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
            "additional_special_tokens": [f"<extra_id_{i}>" for i in range(T5_EXTRA_IDS)]}


def _hf_ids(tok, text, max_length=None):
    if max_length is None:
        return list(tok(text).input_ids)
    return list(tok(text, padding="max_length", max_length=max_length, truncation=True,
                    add_special_tokens=True).input_ids)


def build_t5_tokenizer(workdir, prompts_that_must_agree):
    """Returns (tokenizer, info). Tries transformers' T5 tokenizers built from t5-tiny-spiece.model and keeps the
    first whose ids equal SentencePiece's (+EOS, padding, truncation) on every prompt of T5_TOKEN_PROMPTS, or
    at least on `prompts_that_must_agree` (the prompts the pipeline cases use); else the stand-in."""
    ref = SpmT5Ids()
    d = os.path.join(workdir, "t5-tokenizer-src")
    os.makedirs(d, exist_ok=True)
    shutil.copy(SPM_PATH, os.path.join(d, "spiece.model"))
    dump_json(os.path.join(d, "tokenizer_config.json"), _t5_tokenizer_config())
    import transformers
    attempts = []
    for name in ("T5TokenizerFast", "T5Tokenizer"):
        cls = getattr(transformers, name, None)
        if cls is None:
            continue
        attempts.append((f"{name}(vocab_file=spiece.model)", lambda cls=cls: cls(vocab_file=SPM_PATH, extra_ids=T5_EXTRA_IDS)))
        attempts.append((f"{name}.from_pretrained(dir with spiece.model)", lambda cls=cls: cls.from_pretrained(d)))
    attempts.append(("AutoTokenizer.from_pretrained(dir)", lambda: transformers.AutoTokenizer.from_pretrained(d)))
    info = {"spm_model": os.path.basename(SPM_PATH), "spm_sha256": sha256_file(SPM_PATH), "attempts": []}
    best = None
    for label, make in attempts:
        entry = {"how": label}
        try:
            tok = make()
        except Exception as e:  # noqa: BLE001
            entry["error"] = f"{type(e).__name__}: {e}"[:300]
            info["attempts"].append(entry)
            print(f"  T5 tokenizer {label}: cannot build ({entry['error'][:120]})", flush=True)
            continue
        entry["class"] = type(tok).__name__
        mismatch = []
        for p in list(T5_TOKEN_PROMPTS) + sorted(set(prompts_that_must_agree) - set(T5_TOKEN_PROMPTS)):
            for L in (None,) + T5_MAX_LENGTHS:
                try:
                    got = _hf_ids(tok, p, L)
                except Exception as e:  # noqa: BLE001
                    got = f"error {type(e).__name__}: {e}"
                if got != ref.ids(p, L):
                    mismatch.append((p, L))
                    break
        must = [p for p, _ in mismatch if p in prompts_that_must_agree]
        entry["mismatched_prompts"] = [p for p, _ in mismatch]
        try:
            entry["len"] = len(tok)
            entry["extra_id_0"] = tok.convert_tokens_to_ids("<extra_id_0>")
        except Exception as e:  # noqa: BLE001
            entry["len_error"] = str(e)[:200]
        info["attempts"].append(entry)
        print(f"  T5 tokenizer {label}: {type(tok).__name__}, len {entry.get('len')}, <extra_id_0> = "
              f"{entry.get('extra_id_0')}, differs from SentencePiece on {len(mismatch)} prompts "
              f"{[p[:24] for p, _ in mismatch][:6]} ({len(must)} of them used by the pipelines)", flush=True)
        if not mismatch:
            best = (tok, label, entry)
            break
        if not must and best is None:
            best = (tok, label, entry)
    if best is None:
        print("  T5 tokenizer: no transformers tokenizer agrees with SentencePiece: using the stand-in", flush=True)
        info["used"] = "stand-in (SentencePiece module; see dit_common.StandInT5Tokenizer)"
        info["transformers_agrees_on_all_prompts"] = False
        return StandInT5Tokenizer(), info
    tok, label, entry = best
    info["used"] = label
    info["transformers_agrees_on_all_prompts"] = not entry["mismatched_prompts"]
    return tok, info


def is_stand_in(tok):
    return isinstance(tok, StandInT5Tokenizer)


def t5_token_references(ref, tok, prefix="tok_t5"):
    """Reference ids for T5_TOKEN_PROMPTS: SentencePiece's (the rule) and the pipeline tokenizer's."""
    spm_ref = SpmT5Ids()
    rows = []
    for i, p in enumerate(T5_TOKEN_PROMPTS):
        ref.put(f"{prefix}.{i}.ids_untruncated", torch.tensor(spm_ref.ids(p), dtype=torch.int64), quiet=True)
        for L in T5_MAX_LENGTHS:
            ref.put(f"{prefix}.{i}.ids_{L}", torch.tensor(spm_ref.ids(p, L), dtype=torch.int64), quiet=True)
        agree = True
        if not is_stand_in(tok):
            for L in (None,) + T5_MAX_LENGTHS:
                if _hf_ids(tok, p, L) != spm_ref.ids(p, L):
                    agree = False
                    ids = _hf_ids(tok, p, L)
                    ref.put(f"{prefix}.{i}.hf_ids_{L or 'untruncated'}", torch.tensor(ids, dtype=torch.int64))
        rows.append({"index": i, "prompt": p, "n_tokens_with_eos": len(spm_ref.ids(p)),
                     "pieces": spm_ref.sp.encode(p, out_type=str)[:40], "transformers_agrees": agree})
        print(f"  {prefix}.{i}: {len(spm_ref.ids(p)):4d} ids {'' if agree else '(transformers differs) '}"
              f"{p[:50]!r}", flush=True)
    return rows


def save_t5_tokenizer(tok, folder):
    """Writes a T5 tokenizer folder: transformers' own files when it is a transformers tokenizer, and always
    spiece.model + tokenizer_config.json as real folders have them."""
    os.makedirs(folder, exist_ok=True)
    if not is_stand_in(tok):
        tok.save_pretrained(folder)
    if not os.path.exists(os.path.join(folder, "spiece.model")):
        shutil.copy(SPM_PATH, os.path.join(folder, "spiece.model"))
    if not os.path.exists(os.path.join(folder, "tokenizer_config.json")):
        dump_json(os.path.join(folder, "tokenizer_config.json"), _t5_tokenizer_config())
    if not os.path.exists(os.path.join(folder, "special_tokens_map.json")):
        cfg = _t5_tokenizer_config()
        dump_json(os.path.join(folder, "special_tokens_map.json"),
                  {k: cfg[k] for k in ("eos_token", "unk_token", "pad_token", "additional_special_tokens")})
    assert sha256_file(os.path.join(folder, "spiece.model")) == sha256_file(SPM_PATH), "spiece.model differs"


def save_pipeline(pipe, folder, t5_attr):
    """pipe.save_pretrained; a stand-in T5 tokenizer is left out of save_pretrained and written by hand, with
    model_index.json naming transformers' T5TokenizerFast as a real folder does."""
    tok = getattr(pipe, t5_attr, None)
    if tok is not None and is_stand_in(tok):
        pipe.register_modules(**{t5_attr: None})
        try:
            pipe.save_pretrained(folder, safe_serialization=True)
        finally:
            pipe.register_modules(**{t5_attr: tok})
        mi_path = os.path.join(folder, "model_index.json")
        with open(mi_path) as f:
            mi = json.load(f)
        mi[t5_attr] = ["transformers", "T5TokenizerFast"]
        dump_json(mi_path, mi)
    else:
        pipe.save_pretrained(folder, safe_serialization=True)
    if tok is not None:
        save_t5_tokenizer(tok, os.path.join(folder, t5_attr))


# ----------------------------------------------------------------------------------------------------------
# text encoders

def clip_tokenizers(workdir):
    """The tiny CLIP BPE tokenizer (as sd15-tiny's) twice: padding with <|endoftext|> (CLIP-L) and with '!'
    (id 0, OpenCLIP/CLIP-G). Returns (tok_l, tok_g, merges, vocab_size)."""
    sys.path.insert(0, HERE)
    import bpe_tools
    from transformers import CLIPTokenizer
    merges = bpe_tools.train_merges(bpe_tools.corpus(), 300)
    dl, dg = os.path.join(workdir, "clip-tok-l"), os.path.join(workdir, "clip-tok-g")
    n = bpe_tools.write_tokenizer(dl, merges)
    bpe_tools.write_tokenizer(dg, merges, pad_token="!")
    tl, tg = CLIPTokenizer.from_pretrained(dl), CLIPTokenizer.from_pretrained(dg)
    assert tg.pad_token_id == 0 and tl.pad_token_id == n - 1, (tl.pad_token_id, tg.pad_token_id)
    return tl, tg, merges, n


def rewrite_clip_tokenizer(folder, merges, pad_token):
    """After save_pretrained (transformers 5 writes tokenizer.json only): add vocab.json + merges.txt."""
    sys.path.insert(0, HERE)
    import bpe_tools
    bpe_tools.write_tokenizer(folder, merges, pad_token=pad_token)


CLIP_L = dict(hidden_size=12, intermediate_size=48, num_hidden_layers=3, num_attention_heads=2,
              hidden_act="quick_gelu", projection_dim=12)
CLIP_G = dict(hidden_size=16, intermediate_size=64, num_hidden_layers=4, num_attention_heads=2,
              hidden_act="gelu", projection_dim=16)
T5_CFG = dict(vocab_size=T5_VOCAB, d_model=32, d_kv=12, d_ff=48, num_layers=3, num_heads=4,
              relative_attention_num_buckets=32, relative_attention_max_distance=128,
              feed_forward_proj="gated-gelu", layer_norm_epsilon=1e-6, dropout_rate=0.0, pad_token_id=0,
              eos_token_id=1)


def make_clip(kind, vocab_size, seed, with_projection, identity_projection=False):
    """CLIP-L-like (quick_gelu) or CLIP-G-like (gelu) text encoder, weights rounded to fp16 values."""
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection
    c = dict(CLIP_L if kind == "L" else CLIP_G)
    cfg = CLIPTextConfig(vocab_size=vocab_size, max_position_embeddings=77, layer_norm_eps=1e-5,
                         bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1,
                         pad_token_id=(vocab_size - 1 if kind == "L" else 0), **c)
    torch.manual_seed(seed)
    m = (CLIPTextModelWithProjection if with_projection else CLIPTextModel)(cfg).eval()
    perturb_constant_params(m, seed + 1000)
    if identity_projection:
        with torch.no_grad():
            m.text_projection.weight.copy_(torch.eye(c["hidden_size"], c["projection_dim"]))
    round_to(m, torch.float16)
    return m


def make_t5(seed=300):
    """The tiny T5 v1.1-like encoder (gated-gelu, 32 buckets, max distance 128), fp16-exact weights.
    Both generators call this with the same seed: the same weights (digest in cases.json)."""
    from transformers import T5Config, T5EncoderModel
    cfg = T5Config(**T5_CFG)
    torch.manual_seed(seed)
    m = T5EncoderModel(cfg).eval()
    perturb_constant_params(m, seed + 1000)
    with torch.no_grad():
        if m.encoder.embed_tokens.weight.data_ptr() != m.shared.weight.data_ptr():
            print("  T5: encoder.embed_tokens is not tied to shared: copying shared into it", flush=True)
            m.encoder.embed_tokens.weight.copy_(m.shared.weight)
    round_to(m, torch.float16)
    keys = list(m.state_dict())
    act = (getattr(m.config, "is_gated_act", None), getattr(m.config, "dense_act_fn", None))
    print(f"  T5: gated act / dense act: {act}; {len(keys)} tensors", flush=True)
    if not any(k.endswith("DenseReluDense.wi_0.weight") for k in keys):
        print(f"  WARNING: T5 has no DenseReluDense.wi_0 (gated-gelu) weights: {keys[:12]}", flush=True)
    return m


def t5_single_file_keys(t5):
    """HF T5EncoderModel keys as t5xxl_fp16.safetensors / SD3's text_encoders.t5xxl.transformer.* hold them:
    shared.weight, encoder.embed_tokens.weight (same values), encoder.block.N..., encoder.final_layer_norm."""
    sd = state_dict_exact(t5)
    sd.setdefault("encoder.embed_tokens.weight", sd["shared.weight"].clone())
    sd.setdefault("shared.weight", sd["encoder.embed_tokens.weight"].clone())
    assert torch.equal(sd["shared.weight"], sd["encoder.embed_tokens.weight"])
    return sd


def save_model(model, folder, **kwargs):
    """model.save_pretrained(folder, **kwargs), passing safe_serialization=True only where the method takes it
    (transformers 5 always writes safetensors and may not accept the argument)."""
    import inspect
    if "safe_serialization" in inspect.signature(model.save_pretrained).parameters:
        kwargs.setdefault("safe_serialization", True)
    model.save_pretrained(folder, **kwargs)


def save_model_as(model, folder, dtype, **kwargs):
    """Saves a copy of `model` converted to `dtype` (the weights are exact in it) into a fresh `folder`."""
    import copy
    m = copy.deepcopy(model).to(dtype)
    shutil.rmtree(folder, ignore_errors=True)
    save_model(m, folder, **kwargs)
    del m


def float_state(model):
    return {k: (v.detach().float() if v.is_floating_point() else v.detach()) for k, v in model.state_dict().items()}


def t5_model_refs(ref, t5, short_prompts, prefix="t5"):
    """T5 encoder outputs for SentencePiece ids at 77 (two short prompts, padded; every hidden state), 256 and
    512 (one prompt that is padded, one that is truncated). No attention mask, as the SD3/Flux pipelines call
    T5. Also layer 0's relative position bias at 77 and the bucket of every relative position -600..600."""
    spm = SpmT5Ids()
    sets = {77: list(short_prompts), 256: [LONG_165, LONG_1217], 512: [LONG_368, WORDS_646]}
    for L, prompts in sets.items():
        ids = torch.tensor([spm.ids(p, L) for p in prompts], dtype=torch.int64)
        o = t5(input_ids=ids, output_hidden_states=(L == 77))
        ref.put(f"{prefix}.ids_{L}", ids)
        ref.put(f"{prefix}.out_{L}", o.last_hidden_state)
        if L == 77:
            for j, h in enumerate(o.hidden_states):
                ref.put(f"{prefix}.hidden_{L}.{j}", h)
    att = t5.encoder.block[0].layer[0].SelfAttention
    try:
        ref.put(f"{prefix}.position_bias_77", att.compute_bias(77, 77))
    except Exception as e:  # noqa: BLE001
        print(f"  ({prefix}.position_bias_77 not stored: {type(e).__name__}: {e})", flush=True)
    try:
        rel = torch.arange(-600, 601, dtype=torch.int64)
        b = att._relative_position_bucket(rel, bidirectional=True, num_buckets=32, max_distance=128)
        ref.put(f"{prefix}.relative_position", rel, quiet=True)
        ref.put(f"{prefix}.relative_position_bucket", b.to(torch.int64))
    except Exception as e:  # noqa: BLE001
        print(f"  ({prefix}.relative_position_bucket not stored: {type(e).__name__}: {e})", flush=True)
    return {str(L): p for L, p in sets.items()}


def clip_single_file_keys(clip):
    """HF CLIP keys with the `text_model.` prefix (transformers 5 saves CLIPTextModel without it; files in
    the wild have it) and `text_projection.weight` when the model has one; no position_ids buffer."""
    out = {}
    for k, v in state_dict_exact(clip).items():
        if k.endswith("position_ids"):
            continue
        if not k.startswith("text_model.") and k != "text_projection.weight":
            k = "text_model." + k
        out[k] = v
    return out


# ----------------------------------------------------------------------------------------------------------
# key converters (diffusers -> original single-file layouts)


def _cat(ts):
    dt = ts[0].dtype
    assert all(t.dtype == dt for t in ts), [t.dtype for t in ts]
    if dt in FP8_DTYPES:
        return torch.cat([t.contiguous().view(torch.uint8) for t in ts], dim=0).view(dt)
    return torch.cat(ts, dim=0)


def swap_halves(t):
    """[shift, scale] <-> [scale, shift] along dim 0 (its own inverse), as diffusers' swap_scale_shift."""
    a, b = t.chunk(2, dim=0)
    return _cat([b, a]).contiguous()


class _Taker:
    def __init__(self, sd):
        self.sd = dict(sd)
        self.out = {}

    def take(self, k):
        if k not in self.sd:
            raise KeyError(f"expected diffusers key {k!r} is missing")
        return self.sd.pop(k)

    def mv(self, src, dst):
        self.out[dst] = self.take(src)

    def has(self, k):
        return k in self.sd

    def done(self, what):
        assert not self.sd, f"{what}: diffusers keys left unconverted: {sorted(self.sd)[:12]}"
        return self.out


def _block_count(sd, prefix):
    idx = {int(k[len(prefix):].split(".")[0]) for k in sd if k.startswith(prefix)}
    assert idx == set(range(len(idx))), f"{prefix}: block indices {sorted(idx)}"
    return len(idx)


def sd3_diffusers_to_original(sd):
    """SD3Transformer2DModel state dict -> the original MMDiT layout (sd3_medium / sd3.5_large files without
    the `model.diffusion_model.` prefix): fused qkv, x_block/context_block, [shift, scale] swapped in the
    final layer and in the last block's context adaLN (context_pre_only). Inverse of diffusers'
    convert_sd3_transformer_checkpoint_to_diffusers."""
    T = _Taker(sd)
    T.mv("pos_embed.pos_embed", "pos_embed")
    for p in ("weight", "bias"):
        T.mv(f"pos_embed.proj.{p}", f"x_embedder.proj.{p}")
        T.mv(f"time_text_embed.timestep_embedder.linear_1.{p}", f"t_embedder.mlp.0.{p}")
        T.mv(f"time_text_embed.timestep_embedder.linear_2.{p}", f"t_embedder.mlp.2.{p}")
        T.mv(f"time_text_embed.text_embedder.linear_1.{p}", f"y_embedder.mlp.0.{p}")
        T.mv(f"time_text_embed.text_embedder.linear_2.{p}", f"y_embedder.mlp.2.{p}")
        T.mv(f"context_embedder.{p}", f"context_embedder.{p}")
        T.mv(f"proj_out.{p}", f"final_layer.linear.{p}")
        T.out[f"final_layer.adaLN_modulation.1.{p}"] = swap_halves(T.take(f"norm_out.linear.{p}"))
    n = _block_count(sd, "transformer_blocks.")
    for i in range(n):
        b, x, c = f"transformer_blocks.{i}.", f"joint_blocks.{i}.x_block.", f"joint_blocks.{i}.context_block."
        pre_only = not T.has(f"{b}ff_context.net.0.proj.weight")
        assert pre_only == (i == n - 1), f"block {i}: context_pre_only is only expected in the last block"
        dual = T.has(f"{b}attn2.to_q.weight")
        for p in ("weight", "bias"):
            T.out[f"{x}attn.qkv.{p}"] = _cat([T.take(f"{b}attn.to_{q}.{p}") for q in "qkv"])
            T.out[f"{c}attn.qkv.{p}"] = _cat([T.take(f"{b}attn.add_{q}_proj.{p}") for q in "qkv"])
            T.mv(f"{b}attn.to_out.0.{p}", f"{x}attn.proj.{p}")
            T.mv(f"{b}norm1.linear.{p}", f"{x}adaLN_modulation.1.{p}")
            ctx_mod = T.take(f"{b}norm1_context.linear.{p}")
            T.out[f"{c}adaLN_modulation.1.{p}"] = swap_halves(ctx_mod) if pre_only else ctx_mod
            T.mv(f"{b}ff.net.0.proj.{p}", f"{x}mlp.fc1.{p}")
            T.mv(f"{b}ff.net.2.{p}", f"{x}mlp.fc2.{p}")
            if not pre_only:
                T.mv(f"{b}attn.to_add_out.{p}", f"{c}attn.proj.{p}")
                T.mv(f"{b}ff_context.net.0.proj.{p}", f"{c}mlp.fc1.{p}")
                T.mv(f"{b}ff_context.net.2.{p}", f"{c}mlp.fc2.{p}")
            if dual:
                T.out[f"{x}attn2.qkv.{p}"] = _cat([T.take(f"{b}attn2.to_{q}.{p}") for q in "qkv"])
                T.mv(f"{b}attn2.to_out.0.{p}", f"{x}attn2.proj.{p}")
        for src, dst in (("attn.norm_q", f"{x}attn.ln_q"), ("attn.norm_k", f"{x}attn.ln_k"),
                         ("attn.norm_added_q", f"{c}attn.ln_q"), ("attn.norm_added_k", f"{c}attn.ln_k"),
                         ("attn2.norm_q", f"{x}attn2.ln_q"), ("attn2.norm_k", f"{x}attn2.ln_k")):
            if T.has(f"{b}{src}.weight"):
                T.mv(f"{b}{src}.weight", f"{dst}.weight")
    return T.done("sd3_diffusers_to_original")


def flux_diffusers_to_bfl(sd):
    """FluxTransformer2DModel state dict -> Black Forest Labs' layout (flux1-dev.safetensors): img_in, txt_in,
    time_in, vector_in, guidance_in (dev), double_blocks.N.{img,txt}_{mod,attn,mlp}, single_blocks.N.linear1
    (q, k, v, mlp fused) / linear2 / modulation / norm, final_layer with [shift, scale]. Inverse of diffusers'
    convert_flux_transformer_checkpoint_to_diffusers."""
    T = _Taker(sd)
    for p in ("weight", "bias"):
        T.mv(f"time_text_embed.timestep_embedder.linear_1.{p}", f"time_in.in_layer.{p}")
        T.mv(f"time_text_embed.timestep_embedder.linear_2.{p}", f"time_in.out_layer.{p}")
        T.mv(f"time_text_embed.text_embedder.linear_1.{p}", f"vector_in.in_layer.{p}")
        T.mv(f"time_text_embed.text_embedder.linear_2.{p}", f"vector_in.out_layer.{p}")
        if T.has(f"time_text_embed.guidance_embedder.linear_1.{p}"):
            T.mv(f"time_text_embed.guidance_embedder.linear_1.{p}", f"guidance_in.in_layer.{p}")
            T.mv(f"time_text_embed.guidance_embedder.linear_2.{p}", f"guidance_in.out_layer.{p}")
        T.mv(f"context_embedder.{p}", f"txt_in.{p}")
        T.mv(f"x_embedder.{p}", f"img_in.{p}")
        T.mv(f"proj_out.{p}", f"final_layer.linear.{p}")
        T.out[f"final_layer.adaLN_modulation.1.{p}"] = swap_halves(T.take(f"norm_out.linear.{p}"))
    for i in range(_block_count(sd, "transformer_blocks.")):
        b, o = f"transformer_blocks.{i}.", f"double_blocks.{i}."
        for p in ("weight", "bias"):
            T.mv(f"{b}norm1.linear.{p}", f"{o}img_mod.lin.{p}")
            T.mv(f"{b}norm1_context.linear.{p}", f"{o}txt_mod.lin.{p}")
            T.out[f"{o}img_attn.qkv.{p}"] = _cat([T.take(f"{b}attn.to_{q}.{p}") for q in "qkv"])
            T.out[f"{o}txt_attn.qkv.{p}"] = _cat([T.take(f"{b}attn.add_{q}_proj.{p}") for q in "qkv"])
            T.mv(f"{b}attn.to_out.0.{p}", f"{o}img_attn.proj.{p}")
            T.mv(f"{b}attn.to_add_out.{p}", f"{o}txt_attn.proj.{p}")
            T.mv(f"{b}ff.net.0.proj.{p}", f"{o}img_mlp.0.{p}")
            T.mv(f"{b}ff.net.2.{p}", f"{o}img_mlp.2.{p}")
            T.mv(f"{b}ff_context.net.0.proj.{p}", f"{o}txt_mlp.0.{p}")
            T.mv(f"{b}ff_context.net.2.{p}", f"{o}txt_mlp.2.{p}")
        T.mv(f"{b}attn.norm_q.weight", f"{o}img_attn.norm.query_norm.scale")
        T.mv(f"{b}attn.norm_k.weight", f"{o}img_attn.norm.key_norm.scale")
        T.mv(f"{b}attn.norm_added_q.weight", f"{o}txt_attn.norm.query_norm.scale")
        T.mv(f"{b}attn.norm_added_k.weight", f"{o}txt_attn.norm.key_norm.scale")
    for i in range(_block_count(sd, "single_transformer_blocks.")):
        b, o = f"single_transformer_blocks.{i}.", f"single_blocks.{i}."
        for p in ("weight", "bias"):
            T.mv(f"{b}norm.linear.{p}", f"{o}modulation.lin.{p}")
            T.out[f"{o}linear1.{p}"] = _cat([T.take(f"{b}attn.to_{q}.{p}") for q in "qkv"] + [T.take(f"{b}proj_mlp.{p}")])
            T.mv(f"{b}proj_out.{p}", f"{o}linear2.{p}")
        T.mv(f"{b}attn.norm_q.weight", f"{o}norm.query_norm.scale")
        T.mv(f"{b}attn.norm_k.weight", f"{o}norm.key_norm.scale")
    return T.done("flux_diffusers_to_bfl")


_VAE_ATTN = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}


def vae_diffusers_to_ldm(sd, config):
    """AutoencoderKL state dict -> the LDM/SGM layout of `first_stage_model.*` (SD3 single files) and
    BFL's ae.safetensors: encoder.down.N.block.M, downsample, mid.block_1/2, mid.attn_1.{norm,q,k,v,proj_out}
    (1x1 conv weights [C, C, 1, 1]), decoder.up.N with N counted from the bottom (reversed), norm_out,
    nin_shortcut. Inverse of diffusers' convert_ldm_vae_checkpoint."""
    n_up = len(config["up_block_types"])
    T = _Taker(sd)
    for k in sorted(sd):
        m = re.fullmatch(r"(encoder|decoder)\.conv_norm_out\.(weight|bias)", k)
        if m:
            T.mv(k, f"{m[1]}.norm_out.{m[2]}")
            continue
        if re.fullmatch(r"(encoder|decoder)\.conv_(in|out)\.(weight|bias)|(post_)?quant_conv\.(weight|bias)", k):
            T.mv(k, k)
            continue
        m = re.fullmatch(r"encoder\.down_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", k)
        if m:
            T.mv(k, f"encoder.down.{m[1]}.block.{m[2]}.{m[3].replace('conv_shortcut', 'nin_shortcut')}")
            continue
        m = re.fullmatch(r"encoder\.down_blocks\.(\d+)\.downsamplers\.0\.conv\.(weight|bias)", k)
        if m:
            T.mv(k, f"encoder.down.{m[1]}.downsample.conv.{m[2]}")
            continue
        m = re.fullmatch(r"decoder\.up_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", k)
        if m:
            T.mv(k, f"decoder.up.{n_up - 1 - int(m[1])}.block.{m[2]}.{m[3].replace('conv_shortcut', 'nin_shortcut')}")
            continue
        m = re.fullmatch(r"decoder\.up_blocks\.(\d+)\.upsamplers\.0\.conv\.(weight|bias)", k)
        if m:
            T.mv(k, f"decoder.up.{n_up - 1 - int(m[1])}.upsample.conv.{m[2]}")
            continue
        m = re.fullmatch(r"(encoder|decoder)\.mid_block\.resnets\.(\d+)\.(.+)", k)
        if m:
            T.mv(k, f"{m[1]}.mid.block_{int(m[2]) + 1}.{m[3].replace('conv_shortcut', 'nin_shortcut')}")
            continue
        m = re.fullmatch(r"(encoder|decoder)\.mid_block\.attentions\.0\.(group_norm|to_q|to_k|to_v|to_out\.0)\.(weight|bias)", k)
        if m:
            t = T.take(k)
            if m[2] != "group_norm" and m[3] == "weight":
                assert t.dim() == 2, (k, t.shape)
                t = t.reshape(t.shape[0], t.shape[1], 1, 1)
            T.out[f"{m[1]}.mid.attn_1.{_VAE_ATTN[m[2]]}.{m[3]}"] = t
            continue
    return T.done("vae_diffusers_to_ldm")


def with_prefix(sd, prefix):
    return {prefix + k: v for k, v in sd.items()}


def diffusers_converters():
    """diffusers' own single-file converters (loaders/single_file_utils.py), plus the Flux one with its
    hard-coded Flux.1 widths (inner_dim 3072, mlp_ratio 4) replaced by a factory taking the tiny model's."""
    import inspect
    from diffusers.loaders import single_file_utils as sfu
    src = inspect.getsource(sfu.convert_flux_transformer_checkpoint_to_diffusers)
    assert "inner_dim = 3072" in src and "mlp_ratio = 4.0" in src, "diffusers' Flux converter changed"

    def flux_converter(inner_dim, mlp_ratio=4.0):
        s = src.replace("inner_dim = 3072", f"inner_dim = {int(inner_dim)}")
        s = s.replace("mlp_ratio = 4.0", f"mlp_ratio = {float(mlp_ratio)}")
        ns = dict(sfu.__dict__)
        exec(compile(s, "<patched convert_flux_transformer_checkpoint_to_diffusers>", "exec"), ns)  # noqa: S102
        return ns["convert_flux_transformer_checkpoint_to_diffusers"]

    return types.SimpleNamespace(sd3=sfu.convert_sd3_transformer_checkpoint_to_diffusers,
                                 vae=sfu.convert_ldm_vae_checkpoint,
                                 t5=sfu.convert_sd3_t5_checkpoint_to_diffusers,
                                 clip=sfu.convert_ldm_clip_checkpoint,
                                 flux=flux_converter)


def bytes_view_dict(sd):
    """float8 tensors viewed as uint8 (diffusers' converters concatenate; float8 cat may be missing)."""
    return {k: (v.view(torch.uint8) if v.dtype in FP8_DTYPES else v) for k, v in sd.items()}


# ----------------------------------------------------------------------------------------------------------
# pipelines


class LatentCatcher:
    """callback_on_step_end that keeps the latents after every step (the last one is what the VAE gets)."""

    def __init__(self):
        self.latents, self.timesteps = None, []

    def __call__(self, pipe, i, t, kwargs):
        self.latents = kwargs["latents"].detach().clone()
        self.timesteps.append(float(t))
        return {}


def image_chw(np_image):
    """output_type='np' image [1, H, W, 3] -> [3, H, W] float32 tensor in 0..1."""
    import numpy as np
    a = np.asarray(np_image)
    if a.ndim == 4:
        a = a[0]
    t = torch.from_numpy(a.astype("float32")).permute(2, 0, 1).contiguous()
    assert t.min() >= 0 and t.max() <= 1, (t.min(), t.max())
    return t


def versions():
    import diffusers
    import transformers
    out = {"torch": torch.__version__, "diffusers": diffusers.__version__, "transformers": transformers.__version__,
           "python": sys.version.split()[0]}
    for mod in ("sentencepiece", "safetensors", "numpy", "tokenizers"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            out[mod] = None
    return out
