#!/usr/bin/python3
"""Reference numbers for AUTOMATIC1111's prompt emphasis on the sd15-tiny text encoder.

Implements, independently of the C++ code, the rules of stable-diffusion-webui 1.10
(modules/prompt_parser.py parse_prompt_attention, modules/sd_hijack_clip.py tokenize_line and
process_tokens, modules/sd_emphasis.py), written from their documented behaviour:

  parse      (a) x1.1, [a] x1/1.1, (a:w) xw (w = [+-]?[.0-9]+, whitespace allowed around it),
             nesting multiplies innermost first, \\( \\) \\[ \\] \\\\ literal, a lone backslash
             dropped, unclosed brackets apply to the end (round ones first), stray closers are text,
             BREAK (\\s*\\bBREAK\\b\\s*) splits plain text, adjacent equal weights merge.
  chunk      runs tokenized one by one (no BOS/EOS); chunks of 75 tokens; at a full chunk, a
             non-comma token moves the tokens after the last comma (",</w>") to the next chunk
             when that comma is within comma_padding_backtrack (20) tokens of the end; BREAK
             closes the chunk; each chunk is BOS + tokens + EOS padded to 77 with the pad token
             (SD 1.x: EOS), multipliers 1 for BOS/EOS/padding; float32 multipliers.
  emphasis   per chunk z [1, 77, C]: "Original": m = z.mean(); z = z * w[..., None];
             z = z * (m / z.mean()); "No norm": z * w[..., None]; "Ignore": z unchanged.
             The means in float64 (webui: z's dtype), as the C++ code: see README.md.
             Chunks concatenated along the sequence (torch.hstack).

The CLIP tokenizer here is a small byte-level BPE of its own (ASCII prompts only: lowercase,
whitespace collapsed, CLIP's word pattern, merges by rank), enough for the fixture's prompts.

Inputs: cases.json, ../sd15-tiny/pipeline/tokenizer/{vocab.json,merges.txt}, hidden.safetensors
(the C++ encoder's unweighted per-chunk states and ids, written by tst_prompt_conditioning with
TWISTEDPIC_WRITE_EMPHASIS_HIDDEN). The script checks that its own token ids equal the dumped ones,
then writes reference.safetensors: case.N.ids [k, 77] int64, case.N.weights [k, 77] float32,
case.N.embeddings [1, 77k, C] float32.

Run with Debian's python3-torch 1.13 and python3-numpy:  /usr/bin/python3 make_reference.py
"""
import json
import os
import re
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)

# ---- safetensors (the few lines this script needs) ---------------------------------------

DTYPES = {"F32": np.float32, "I64": np.int64, "F64": np.float64}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


def write_safetensors(path, tensors, metadata):
    names = {np.dtype(v).name: k for k, v in DTYPES.items()}
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        data = arr.tobytes()
        header[name] = {"dtype": names[arr.dtype.name], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))

# ---- CLIP byte-level BPE --------------------------------------------------------------------


def byte_alphabet():
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class Bpe:
    WORD = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+")

    def __init__(self, folder):
        with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
            self.vocab = json.load(f)
        with open(os.path.join(folder, "merges.txt"), encoding="utf-8") as f:
            lines = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#version")]
        self.rank = {tuple(l.split(" ")): i for i, l in enumerate(lines)}
        self.bytes = byte_alphabet()
        self.bos, self.eos = self.vocab["<|startoftext|>"], self.vocab["<|endoftext|>"]
        self.pad = self.eos  # SD 1.x
        self.comma = self.vocab[",</w>"]

    def word(self, word):
        symbols = [self.bytes[b] for b in word.encode("utf-8")]
        symbols[-1] += "</w>"
        none = len(self.rank)
        while len(symbols) > 1:
            rank, i = min((self.rank.get(pair, none), i) for i, pair in enumerate(zip(symbols, symbols[1:])))
            if rank == none:
                break
            first, second = symbols[i], symbols[i + 1]
            merged, j = [], 0
            while j < len(symbols):
                if j + 1 < len(symbols) and symbols[j] == first and symbols[j + 1] == second:
                    merged.append(first + second)
                    j += 2
                else:
                    merged.append(symbols[j])
                    j += 1
            symbols = merged
        return [self.vocab[s] for s in symbols]

    def encode(self, text):
        assert all(ord(c) < 128 for c in text), "ASCII prompts only"
        text = re.sub(r"\s+", " ", text).strip().lower()
        ids = []
        for w in self.WORD.findall(text):
            ids += self.word(w)
        return ids

# ---- webui's rules -------------------------------------------------------------------------


TOKEN = re.compile(r"\\[()\[\]\\]|\\|\(|\[|:\s*([+-]?[.\d]+)\s*\)|\)|\]|[^\\()\[\]:]+|:")
SPLIT_BREAK = re.compile(r"\s*\bBREAK\b\s*")
BREAK = ("BREAK", -1.0)


def parse(text):
    runs, open_round, open_square = [], [], []

    def scale(start, factor):
        for r in runs[start:]:
            r[1] *= factor

    for m in TOKEN.finditer(text):
        piece, number = m.group(0), m.group(1)
        if piece.startswith("\\"):
            runs.append([piece[1:], 1.0])
        elif piece == "(":
            open_round.append(len(runs))
        elif piece == "[":
            open_square.append(len(runs))
        elif number is not None and open_round:
            scale(open_round.pop(), float(number))
        elif piece == ")" and open_round:
            scale(open_round.pop(), 1.1)
        elif piece == "]" and open_square:
            scale(open_square.pop(), 1 / 1.1)
        else:
            for i, part in enumerate(SPLIT_BREAK.split(piece)):
                if i:
                    runs.append(list(BREAK))
                runs.append([part, 1.0])
    for start in open_round:
        scale(start, 1.1)
    for start in open_square:
        scale(start, 1 / 1.1)
    merged = []
    for r in runs or [["", 1.0]]:
        if merged and merged[-1][1] == r[1]:
            merged[-1][0] += r[0]
        else:
            merged.append(r)
    return merged


def chunk(bpe, runs, backtrack, length=75):
    chunks, tokens, mults, last_comma = [], [], [], -1

    def close():
        nonlocal tokens, mults, last_comma
        ids = [bpe.bos] + tokens + [bpe.eos] + [bpe.pad] * (length - len(tokens))
        chunks.append((ids, [1.0] + mults + [1.0] * (length - len(tokens) + 1)))
        tokens, mults, last_comma = [], [], -1

    for text, weight in runs:
        if (text, weight) == BREAK:
            close()
            continue
        for t in bpe.encode(text):
            if t == bpe.comma:
                last_comma = len(tokens)
            elif backtrack and len(tokens) == length and last_comma >= 0 and length - last_comma <= backtrack:
                moved_t, moved_m = tokens[last_comma + 1:], mults[last_comma + 1:]
                tokens, mults = tokens[:last_comma + 1], mults[:last_comma + 1]
                close()
                tokens, mults = moved_t, moved_m
            if len(tokens) == length:
                close()
            tokens.append(t)
            mults.append(weight)
    if tokens or not chunks:
        close()
    return chunks


def emphasis(z, w, mode):
    if mode in ("Ignore", "None"):
        return z
    mean = z.double().mean()  # float64 means, as the C++ code (webui: z's dtype; see README.md)
    z = z * w.reshape(w.shape + (1,)).expand(z.shape)
    if mode == "Original":
        z = z * (mean / z.double().mean()).float()
    return z


def main():
    with open(os.path.join(HERE, "cases.json"), encoding="utf-8") as f:
        spec = json.load(f)
    bpe = Bpe(os.path.join(DATA, spec["tokenizer"]))
    hidden = read_safetensors(os.path.join(HERE, "hidden.safetensors"))
    out = {}
    for case in spec["cases"]:
        key = "case.%d." % case["index"]
        runs = parse(case["prompt"]) if case["emphasis"] != "None" else [[case["prompt"], 1.0]]
        chunks = chunk(bpe, runs, spec["comma_padding_backtrack"])
        ids = np.array([c[0] for c in chunks], dtype=np.int64)
        if ids.shape != hidden[key + "ids"].shape or not (ids == hidden[key + "ids"]).all():
            sys.exit("case %d: the script's token ids differ from the C++ chunker's:\n%s\n%s"
                     % (case["index"], ids.tolist(), hidden[key + "ids"].tolist()))
        weights = torch.asarray([c[1] for c in chunks])  # float32, as webui's multipliers
        states = torch.from_numpy(hidden[key + "hidden"].copy())
        zs = [emphasis(states[i:i + 1], weights[i:i + 1], case["emphasis"]) for i in range(len(chunks))]
        out[key + "ids"] = ids
        out[key + "weights"] = weights.numpy()
        out[key + "embeddings"] = torch.hstack(zs).numpy()
        tokens = sum(len(bpe.encode(t)) for t, w in runs if (t, w) != BREAK)
        print("case %d: %d chunk(s) of %s tokens, %d in all, runs %s" % (case["index"], len(chunks), [75 - c[0].count(bpe.pad) + 1 for c in chunks], tokens,
              [(t, round(w, 4)) for t, w in runs][:6]))
    write_safetensors(os.path.join(HERE, "reference.safetensors"), out,
                      {"generator": "make_reference.py", "torch": torch.__version__, "numpy": np.__version__})


if __name__ == "__main__":
    main()
