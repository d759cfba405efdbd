#!/usr/bin/python3
"""Makes tests/data/t5-tiny: a tiny T5 SentencePiece tokenizer and two tiny random T5 encoders with
the outputs an independent reference computes for them.

Usage (on the development machine, not the GPU one; Debian's packages only):
    apt-get install -y python3-torch python3-numpy sentencepiece
    /usr/bin/python3 tools/reference/make_t5_tiny.py tests/data/t5-tiny

Made with Debian 12's sentencepiece 0.1.97 (spm_train, spm_encode) and python3-torch 1.13.1.
transformers is not used (it is not available here): the encoder below is written from the
definition of transformers' T5EncoderModel (modeling_t5.py: T5LayerNorm, T5Attention with
_relative_position_bucket, T5DenseGatedActDense / T5DenseActDense, T5Stack), in float64 except the
bucket arithmetic, which is float32 as there. The fixtures made with transformers on the GPU machine
(tests/data/sd3-tiny) check the C++ against transformers itself.

Writes:
  tokenizer/spiece.model       SentencePiece unigram, 240 pieces, T5's ids (<pad> 0, </s> 1, <unk> 2,
                               no BOS), trained on a generated corpus with a few normalisation
                               rules (full-width comma and A, the "fi" ligature, ideographic space,
                               tab, no-break space, e + combining acute -> é, "…" -> "...") instead of
                               NFKC, whose table would make the file 240 KB.
  tokenizer-json/tokenizer.json  the same tokenizer as transformers' T5 converter writes it (no
                               spiece.model), to test reading a transformers 5 folder.
  tokenizer_cases.json         prompts, max_length and the expected ids (see expected_ids()).
  gated/ relu/                 config.json + model.safetensors (F16 values, computed on as float32):
                               gated-gelu (2 layers) and relu (1 layer), d_model 32, 4 heads x d_kv 8,
                               d_ff 48, 32 buckets, max distance 128, vocab 128.
  reference.safetensors        bucket tables and last_hidden_state for the inputs listed in it.
"""
import base64, json, math, os, random, struct, subprocess, sys, tempfile

import numpy as np
import torch

OUT = sys.argv[1] if len(sys.argv) > 1 else "tests/data/t5-tiny"
torch.set_grad_enabled(False)

# ---- tokenizer -----------------------------------------------------------------------------

RULES = [("FF0C", "2C"), ("FF21", "41"), ("FB01", "66 69"), ("3000", "20"), ("9", "20"), ("A0", "20"),
         ("65 301", "E9"), ("2026", "2E 2E 2E")]
SPM_TRAIN = ["spm_train", "--vocab_size=240", "--model_type=unigram", "--pad_id=0", "--eos_id=1", "--unk_id=2",
             "--bos_id=-1", "--num_threads=1", "--character_coverage=1.0"]
EXTRA_IDS = 100


def corpus():
    random.seed(1)
    words = ("a photo of an astronaut riding horse on the moon cat dog sitting table red blue green yellow small "
             "large painting oil canvas portrait woman man city street night lights rain sunset mountain lake forest "
             "tree flower garden castle dragon sky clouds star stars bright dark old new beautiful detailed high "
             "quality cinematic lighting studio camera lens sharp focus").split()
    extra = ["café", "crème brûlée", "naïve", "Zürich", "São Paulo", "München", "東京", "猫", "犬が走る", "こんにちは",
             "你好，世界", "ﬁne", "résumé", "Ångström", "10 cm", "3.5", "1024x768", "(masterpiece:1.2)", "[dog]",
             "e-mail", "don't", "it's"]
    lines = []
    for _ in range(400):
        s = " ".join(random.choice(words) for _ in range(random.randint(4, 14)))
        if random.random() < 0.4:
            s += ", " + random.choice(extra)
        if random.random() < 0.3:
            s = s.capitalize() + "."
        lines.append(s)
    return "\n".join(lines) + "\n"


def read_proto(data):
    """Fields of a protobuf message: {field: [values]} (bytes for length-delimited, int, float)."""
    fields, i = {}, 0

    def varint():
        nonlocal i
        shift = value = 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                return value

    while i < len(data):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            value = varint()
        elif wire == 1:
            value = data[i:i + 8]
            i += 8
        elif wire == 2:
            n = varint()
            value = data[i:i + n]
            i += n
        elif wire == 5:
            value = struct.unpack("<f", data[i:i + 4])[0]
            i += 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        fields.setdefault(field, []).append(value)
    return fields


def write_tokenizer_json(model_path, path):
    """tokenizer.json as transformers' T5 converter makes it from spiece.model."""
    proto = read_proto(open(model_path, "rb").read())
    pieces = []
    for raw in proto[1]:
        p = read_proto(raw)
        pieces.append((p[1][0].decode("utf-8"), p.get(2, [0.0])[0], p.get(3, [1])[0]))
    charsmap = read_proto(proto[3][0]).get(2, [b""])[0]
    n = len(pieces)
    vocab = [[piece, score] for piece, score, _ in pieces]
    vocab += [["<extra_id_%d>" % i, 0.0] for i in range(EXTRA_IDS - 1, -1, -1)]
    unk = next(i for i, (_, _, t) in enumerate(pieces) if t == 2)

    def added(i, content):
        return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                "normalized": False, "special": True}

    tokens = [added(0, "<pad>"), added(1, "</s>"), added(2, "<unk>")]
    tokens += [added(n + EXTRA_IDS - 1 - i, "<extra_id_%d>" % i) for i in range(EXTRA_IDS)]
    metaspace = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    doc = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": tokens,
        "normalizer": {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap).decode("ascii")},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, metaspace]},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
            "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}},
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": unk, "vocab": vocab, "byte_fallback": False},
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)
    return n, next(i for i, (piece, _, _) in enumerate(pieces) if piece == "\u2581")


# Rust's char::is_whitespace (Unicode White_Space), where tokenizers' WhitespaceSplit splits.
WHITESPACE = set(chr(c) for c in list(range(0x9, 0xE)) + [0x20, 0x85, 0xA0, 0x1680] + list(range(0x2000, 0x200B))
                 + [0x2028, 0x2029, 0x202F, 0x205F, 0x3000])

PROMPTS = [
    ("a photo of an astronaut riding a horse on the moon", 32),
    ("", 8),
    ("   ", 8),
    ("  leading and trailing spaces  ", 24),
    ("multiple   spaces\tand\ttabs\nand\r\nnewlines", 40),
    ("café crème brûlée, naïve résumé, Ångström in Zürich", 48),
    ("cafe\u0301 decomposed", 16),
    ("東京の猫 こんにちは 你好，世界", 32),
    ("\ufb01ne \uff21\u2026 full-width", 24),
    ("a cat</s> and <pad> dog <extra_id_0><extra_id_12>x <unk>", 32),
    ("unknown glyphs \u2603\u265e \U0001F600 qq", 24),
    ("\u2581lone \u2581 metaspace \u2581\u2581x", 24),
    ("(masterpiece:1.2), [dog], 1024x768, it's e-mail", 40),
    ("\u3000ideographic\u00a0nbsp\u2009thin\u202fspaces\u2028line", 40),
    ("a beautiful detailed oil painting of a castle on a mountain lake at sunset, cinematic lighting, sharp "
     "focus, high quality, old city street at night in the rain with bright lights", 16),
    ("a beautiful detailed oil painting of a castle on a mountain lake at sunset, cinematic lighting, sharp "
     "focus, high quality, old city street at night in the rain with bright lights", 77),
    ("red dragon " * 40, 77),
    ("a photo of an astronaut riding a horse on the moon", 12),  # 11 tokens + EOS: fits exactly
    ("a photo of an astronaut riding a horse on the moon", 11),  # one too many
    ("a cat", 1),  # only the EOS fits
]


def spm_encode_lines(model, lines):
    """spm_encode --output_format=id, one input line per entry."""
    for line in lines:
        assert "\n" not in line and "\r" not in line
    out = subprocess.run(["spm_encode", "--model=" + model, "--output_format=id"], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True).stdout.split("\n")
    return [[int(t) for t in row.split()] for row in out[:len(lines)]]


def expected_ids(model, prompt, specials, metaspace_id):
    """transformers' T5 tokenization of `prompt` spelled out: special tokens split off the raw text
    (leftmost, longest); the rest split at Unicode whitespace; each word (less one leading "▁",
    which Metaspace does not double) encoded by spm_encode, which normalises it and adds the "▁"."""
    parts, start, at = [], 0, 0
    while at < len(prompt):
        best = max((s for s in specials if prompt.startswith(s, at)), key=len, default=None)
        if best is None:
            at += 1
            continue
        parts.append(prompt[start:at])
        parts.append(specials[best])
        at += len(best)
        start = at
    parts.append(prompt[start:])
    ids = []
    for part in parts:
        if isinstance(part, int):
            ids.append(part)
            continue
        words, word = [], ""
        for c in part:
            if c in WHITESPACE:
                if word:
                    words.append(word)
                word = ""
            else:
                word += c
        if word:
            words.append(word)
        words = [w[1:] if w.startswith("\u2581") else w for w in words]
        encoded = spm_encode_lines(model, [w for w in words if w])
        for w in words:
            ids += encoded.pop(0) if w else [metaspace_id]  # a lone "▁" is that piece
    return ids


def make_tokenizer(out):
    tok_dir = os.path.join(out, "tokenizer")
    os.makedirs(tok_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        open(os.path.join(tmp, "corpus.txt"), "w", encoding="utf-8").write(corpus())
        open(os.path.join(tmp, "rules.tsv"), "w").write("".join("%s\t%s\n" % r for r in RULES))
        # Relative names: the model records them, and the file stays the same from run to run.
        subprocess.run(SPM_TRAIN + ["--input=corpus.txt", "--model_prefix=spiece", "--normalization_rule_tsv=rules.tsv"],
                       cwd=tmp, check=True, capture_output=True)
        os.replace(os.path.join(tmp, "spiece.model"), os.path.join(tok_dir, "spiece.model"))
    model = os.path.join(tok_dir, "spiece.model")
    pieces, metaspace_id = write_tokenizer_json(model, os.path.join(out, "tokenizer-json", "tokenizer.json"))
    specials = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    specials.update({"<extra_id_%d>" % i: pieces + EXTRA_IDS - 1 - i for i in range(EXTRA_IDS)})
    cases = []
    for prompt, max_length in PROMPTS:
        tokens = expected_ids(model, prompt, specials, metaspace_id)
        kept = tokens[:max_length - 1] + [1]
        case = {"prompt": prompt, "max_length": max_length, "tokens": tokens,
                "ids": kept + [0] * (max_length - len(kept)), "untruncated_length": len(tokens) + 1}
        # Plain SentencePiece on the whole line gives the same where there is no special token
        # and no whitespace but spaces: recorded as a cross-check of the per-word encoding.
        if not any(s in prompt for s in specials) and "\u2581" not in prompt \
                and all(c == " " or c not in WHITESPACE for c in prompt):
            case["spm_line_tokens"] = spm_encode_lines(model, [prompt])[0]
        cases.append(case)
    meta = {"spm_train": " ".join(SPM_TRAIN) + " --normalization_rule_tsv=rules.tsv", "rules": RULES,
            "pieces": pieces, "extra_ids": EXTRA_IDS, "cases": cases}
    with open(os.path.join(out, "tokenizer_cases.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, ensure_ascii=False, indent=1)
    print("tokenizer: %d pieces, %d cases" % (pieces, len(cases)))


# ---- encoder ---------------------------------------------------------------------------------

def relative_position_bucket(relative_position, bidirectional, num_buckets, max_distance):
    """transformers' T5Attention._relative_position_bucket: float32 log, truncation to int64."""
    buckets = torch.zeros_like(relative_position)
    if bidirectional:
        num_buckets //= 2
        buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    large = max_exact + (torch.log(relative_position.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return buckets + torch.where(is_small, relative_position, large)


def config_json(gated, layers, vocab=128):
    return {"architectures": ["T5EncoderModel"], "d_ff": 48, "d_kv": 8, "d_model": 32,
            "dense_act_fn": "gelu_new" if gated else "relu", "dropout_rate": 0.1, "eos_token_id": 1,
            "feed_forward_proj": "gated-gelu" if gated else "relu", "initializer_factor": 1.0,
            "is_encoder_decoder": True, "is_gated_act": gated, "layer_norm_epsilon": 1e-6, "model_type": "t5",
            "num_decoder_layers": layers, "num_heads": 4, "num_layers": layers, "pad_token_id": 0,
            "relative_attention_max_distance": 128, "relative_attention_num_buckets": 32,
            "tie_word_embeddings": False, "torch_dtype": "float32", "use_cache": True, "vocab_size": vocab}


def random_weights(cfg, seed):
    """Seeded weights of T5's initialisation scales, rounded to float16 values."""
    g = torch.Generator().manual_seed(seed)
    d, kv, h, ff = cfg["d_model"], cfg["d_kv"], cfg["num_heads"], cfg["d_ff"]
    inner = h * kv

    def normal(shape, std):
        return (torch.randn(shape, generator=g, dtype=torch.float64) * std).to(torch.float16)

    def norm_weight():
        return (1.0 + 0.2 * torch.randn(d, generator=g, dtype=torch.float64)).to(torch.float16)

    w = {"shared.weight": normal((cfg["vocab_size"], d), 1.0)}
    for i in range(cfg["num_layers"]):
        p = "encoder.block.%d.layer." % i
        w[p + "0.SelfAttention.q.weight"] = normal((inner, d), (d * kv) ** -0.5 * 2.0)
        w[p + "0.SelfAttention.k.weight"] = normal((inner, d), d ** -0.5)
        w[p + "0.SelfAttention.v.weight"] = normal((inner, d), d ** -0.5)
        w[p + "0.SelfAttention.o.weight"] = normal((d, inner), inner ** -0.5)
        if i == 0:
            w[p + "0.SelfAttention.relative_attention_bias.weight"] = normal(
                (cfg["relative_attention_num_buckets"], h), 1.0)
        w[p + "0.layer_norm.weight"] = norm_weight()
        if cfg["is_gated_act"]:
            w[p + "1.DenseReluDense.wi_0.weight"] = normal((ff, d), d ** -0.5)
            w[p + "1.DenseReluDense.wi_1.weight"] = normal((ff, d), d ** -0.5)
        else:
            w[p + "1.DenseReluDense.wi.weight"] = normal((ff, d), d ** -0.5)
        w[p + "1.DenseReluDense.wo.weight"] = normal((d, ff), ff ** -0.5)
        w[p + "1.layer_norm.weight"] = norm_weight()
    w["encoder.final_layer_norm.weight"] = norm_weight()
    return w


def t5_encoder(w, cfg, ids, mask=None):
    """last_hidden_state of T5EncoderModel, in float64."""
    W = {k: v.to(torch.float64) for k, v in w.items()}
    eps, h, kv = cfg["layer_norm_epsilon"], cfg["num_heads"], cfg["d_kv"]

    def rms(x, weight):
        return weight * (x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + eps))

    def gelu_new(x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))

    def heads(x):
        return x.view(x.shape[0], x.shape[1], h, kv).transpose(1, 2)

    x = W["shared.weight"][ids]
    batch, length = ids.shape
    rel = torch.arange(length)[None, :] - torch.arange(length)[:, None]
    buckets = relative_position_bucket(rel, True, cfg["relative_attention_num_buckets"],
                                       cfg["relative_attention_max_distance"])
    bias = W["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"][buckets]
    bias = bias.permute(2, 0, 1)[None]  # [1, H, L, L]
    if mask is not None:
        bias = bias + (1.0 - mask.to(torch.float64))[:, None, None, :] * torch.finfo(torch.float64).min
    for i in range(cfg["num_layers"]):
        p = "encoder.block.%d.layer." % i
        n = rms(x, W[p + "0.layer_norm.weight"])
        q, k, v = (heads(n @ W[p + "0.SelfAttention.%s.weight" % s].T) for s in "qkv")
        scores = q @ k.transpose(-1, -2) + bias  # no 1/sqrt(d_kv)
        out = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(batch, length, h * kv)
        x = x + out @ W[p + "0.SelfAttention.o.weight"].T
        n = rms(x, W[p + "1.layer_norm.weight"])
        if cfg["is_gated_act"]:
            f = gelu_new(n @ W[p + "1.DenseReluDense.wi_0.weight"].T) * (n @ W[p + "1.DenseReluDense.wi_1.weight"].T)
        else:
            f = torch.relu(n @ W[p + "1.DenseReluDense.wi.weight"].T)
        x = x + f @ W[p + "1.DenseReluDense.wo.weight"].T
    return rms(x, W["encoder.final_layer_norm.weight"])


def save_safetensors(path, tensors):
    """The safetensors format: 8-byte little-endian header length, JSON header, data."""
    names = {torch.float16: "F16", torch.float32: "F32", torch.int64: "I64"}
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        data = t.numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def make_models(out):
    ref = {}
    rel = torch.arange(-200, 201)
    ref["bucket.relative_position"] = rel
    ref["bucket.bidirectional.32.128"] = relative_position_bucket(rel, True, 32, 128)
    ref["bucket.unidirectional.32.128"] = relative_position_bucket(rel, False, 32, 128)
    ref["bucket.bidirectional.8.20"] = relative_position_bucket(rel, True, 8, 20)
    g = torch.Generator().manual_seed(7)
    for name, gated, layers, seed in (("gated", True, 2, 1), ("relu", False, 1, 2)):
        cfg = config_json(gated, layers)
        os.makedirs(os.path.join(out, name), exist_ok=True)
        with open(os.path.join(out, name, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
        w = random_weights(cfg, seed)
        save_safetensors(os.path.join(out, name, "model.safetensors"), w)
        ids = torch.randint(0, cfg["vocab_size"], (2, 12), generator=g)
        ids[0, -3:] = 0  # padding, attended to as SD 3 / Flux do
        ids[0, -4] = 1
        ref[name + ".input_ids"] = ids
        ref[name + ".last_hidden_state"] = t5_encoder(w, cfg, ids).float()
        if gated:
            long_ids = torch.randint(0, cfg["vocab_size"], (1, 150), generator=g)
            ref[name + ".long.input_ids"] = long_ids
            ref[name + ".long.last_hidden_state"] = t5_encoder(w, cfg, long_ids).float()
            mask = torch.ones(2, 12, dtype=torch.int64)
            mask[0, -3:] = 0
            mask[1, -6:] = 0
            ref[name + ".masked.attention_mask"] = mask
            ref[name + ".masked.last_hidden_state"] = t5_encoder(w, cfg, ids, mask).float()
    save_safetensors(os.path.join(out, "reference.safetensors"), ref)
    print("models: gated, relu; reference:", ", ".join(sorted(ref)))


if __name__ == "__main__":
    print("torch", torch.__version__, "numpy", np.__version__,
          subprocess.run(["spm_train", "--version"], capture_output=True, text=True).stdout.strip())
    make_tokenizer(OUT)
    make_models(OUT)
