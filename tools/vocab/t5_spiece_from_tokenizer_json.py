#!/usr/bin/env python3
"""T5's SentencePiece model (spiece.model) from a Hugging Face fast-tokenizer file (tokenizer.json).

Single-file SD 3.x / Flux checkpoints carry no tokenizer, so TwistedPic ships T5's vocabulary in
resources/tokenizers/t5/spiece.model, read by libsentencepiece (core/text/T5Tokenizer). This script
writes that file from the tokenizer.json that transformers saves for T5 (T5TokenizerFast: a Unigram
model with scores, a "Precompiled" normaliser holding SentencePiece's precompiled charsmap, a Metaspace
pre-tokenizer) as a serialized sentencepiece.ModelProto, encoded by hand (Python standard library only;
field numbers from sentencepiece_model.proto):

  ModelProto      pieces = 1 (repeated), trainer_spec = 2, normalizer_spec = 3
  SentencePiece   piece = 1, score = 2 (float), type = 3 (NORMAL 1 = default, UNKNOWN 2, CONTROL 3,
                  USER_DEFINED 4, UNUSED 5, BYTE 6)
  TrainerSpec     model_type = 3 (UNIGRAM 1), vocab_size = 4, byte_fallback = 35, unk_id = 40,
                  bos_id = 41, eos_id = 42, pad_id = 43, unk_piece = 45, bos_piece = 46,
                  eos_piece = 47, pad_piece = 48
  NormalizerSpec  name = 1, precompiled_charsmap = 2, add_dummy_prefix = 3,
                  remove_extra_whitespaces = 4, escape_whitespaces = 5

The <extra_id_N> sentinels at the end of T5's tokenizer.json vocabulary are not SentencePiece pieces:
transformers adds them after the model's pieces (<extra_id_0> last), and so does T5Tokenizer::loadModel.
They are checked and left out, as in Google's own spiece.model (32,000 pieces).

Pieces are written exactly as Google's spiece.model writes them (piece, score, and the type only when
it is not NORMAL), so with --reference the script can also check that the pieces section is byte for
byte Google's, besides comparing piece by piece, the normaliser and the special ids.

Usage:
  t5_spiece_from_tokenizer_json.py tokenizer.json spiece.model [--reference google/spiece.model]
"""

import argparse
import base64
import hashlib
import json
import re
import struct
import sys

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
UNIGRAM = 1
META = "\u2581"  # SentencePiece's "▁"
SENTINEL = re.compile(r"<extra_id_(\d+)>")


class ConversionError(Exception):
    pass


# ---- protobuf encoding ----------------------------------------------------------------------


def varint(value):
    if value < 0:
        value += 1 << 64  # int32/int64 negatives are 10-byte two's complement varints
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def key(field, wire_type):
    return varint((field << 3) | wire_type)


def int_field(field, value):
    return key(field, 0) + varint(value)


def bool_field(field, value):
    return int_field(field, 1 if value else 0)


def bytes_field(field, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return key(field, 2) + varint(len(data)) + data


def float_field(field, value):
    return key(field, 5) + struct.pack("<f", value)


# ---- protobuf decoding (for --reference) ----------------------------------------------------


def read_varint(data, i):
    result = shift = 0
    while True:
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, i


def fields(data):
    """(field, wire type, value, raw bytes of the whole field) for each field of a message."""
    i = 0
    while i < len(data):
        start = i
        k, i = read_varint(data, i)
        field, wire = k >> 3, k & 7
        if wire == 0:
            value, i = read_varint(data, i)
        elif wire == 1:
            value, i = data[i:i + 8], i + 8
        elif wire == 2:
            n, i = read_varint(data, i)
            value, i = data[i:i + n], i + n
        elif wire == 5:
            value, i = data[i:i + 4], i + 4
        else:
            raise ConversionError(f"unsupported protobuf wire type {wire}")
        yield field, wire, value, data[start:i]


def as_int32(value):
    return value - (1 << 64) if value >= 1 << 63 else value


def decode_model(data):
    pieces, raw_pieces = [], bytearray()
    trainer, normalizer = {}, {}
    for field, _, value, raw in fields(data):
        if field == 1:
            raw_pieces += raw
            piece = {"piece": "", "score": 0.0, "type": NORMAL}
            for f, _, v, _ in fields(value):
                if f == 1:
                    piece["piece"] = v.decode("utf-8")
                elif f == 2:
                    piece["score"] = struct.unpack("<f", v)[0]
                elif f == 3:
                    piece["type"] = v
            pieces.append(piece)
        elif field in (2, 3):
            target = trainer if field == 2 else normalizer
            for f, wire, v, _ in fields(value):
                target[f] = as_int32(v) if wire == 0 else v
    return pieces, bytes(raw_pieces), trainer, normalizer


# ---- tokenizer.json ---------------------------------------------------------------------------


def normalizer_parts(normalizer):
    if normalizer is None:
        return []
    if normalizer.get("type") == "Sequence":
        return [p for inner in normalizer.get("normalizers", []) for p in normalizer_parts(inner)]
    return [normalizer]


def pre_tokenizer_parts(pre):
    if pre is None:
        return []
    if pre.get("type") == "Sequence":
        return [p for inner in pre.get("pretokenizers", []) for p in pre_tokenizer_parts(inner)]
    return [pre]


def read_normalizer(tok):
    """SentencePiece's NormalizerSpec for the tokenizer.json's normaliser and pre-tokenizer.

    transformers writes T5's SentencePiece normalisation as: Precompiled(charsmap) [, Strip(right),
    Replace(" {2,}" -> "▁")] and Metaspace("▁", prepend) [after WhitespaceSplit]. Anything else has no
    SentencePiece equivalent here and is refused rather than guessed."""
    charsmap = None
    remove_extra = False
    for part in normalizer_parts(tok.get("normalizer")):
        kind = part.get("type")
        if kind == "Precompiled":
            if charsmap is not None:
                raise ConversionError("two Precompiled normalisers")
            charsmap = base64.b64decode(part["precompiled_charsmap"])
        elif kind == "Strip" and not part.get("strip_left", True) and part.get("strip_right", False):
            remove_extra = True
        elif (kind == "Replace" and part.get("pattern", {}).get("Regex") == " {2,}"
              and part.get("content") == META):
            remove_extra = True
        else:
            raise ConversionError(f"normaliser {json.dumps(part)[:200]} has no SentencePiece equivalent")
    if not charsmap:
        raise ConversionError("no Precompiled normaliser (T5's nmt_nfkc charsmap) in tokenizer.json")

    add_dummy_prefix = escape = False
    for part in pre_tokenizer_parts(tok.get("pre_tokenizer")):
        kind = part.get("type")
        if kind == "Metaspace":
            if part.get("replacement") != META:
                raise ConversionError(f"Metaspace replacement {part.get('replacement')!r} is not '▁'")
            escape = True
            scheme = part.get("prepend_scheme")
            add_dummy_prefix = (scheme in ("always", "first") if scheme is not None
                                else part.get("add_prefix_space", True))
        elif kind == "WhitespaceSplit":
            remove_extra = True
        else:
            raise ConversionError(f"pre-tokenizer {kind!r} has no SentencePiece equivalent")
    if not escape or not add_dummy_prefix or not remove_extra:
        raise ConversionError("expected T5's whitespace handling (Metaspace '▁' with a prefix, extra "
                              "whitespace removed)")
    return {"name": "nmt_nfkc", "charsmap": charsmap, "add_dummy_prefix": add_dummy_prefix,
            "remove_extra_whitespaces": remove_extra, "escape_whitespaces": escape}


def read_tokenizer_json(path):
    with open(path, encoding="utf-8") as f:
        tok = json.load(f)
    model = tok.get("model", {})
    if model.get("type") != "Unigram":
        raise ConversionError(f"model type {model.get('type')!r}: T5 needs a Unigram model")
    if model.get("byte_fallback"):
        raise ConversionError("byte_fallback is set: T5's vocabulary has no byte pieces")
    vocab = model["vocab"]
    unk_id = model.get("unk_id")
    if unk_id is None or not 0 <= unk_id < len(vocab):
        raise ConversionError("the Unigram model needs an unk_id inside its vocabulary")
    added = {t["id"]: t for t in tok.get("added_tokens", [])}
    for i, t in added.items():
        if i < len(vocab) and vocab[i][0] != t["content"]:
            raise ConversionError(f"added token {t['content']!r} has id {i}, whose piece is {vocab[i][0]!r}")

    # The trailing <extra_id_N> sentinels: added tokens after the pieces, <extra_id_0> last.
    count = len(vocab)
    while count > 0 and count - 1 in added and SENTINEL.fullmatch(vocab[count - 1][0]):
        count -= 1
    extra = len(vocab) - count
    for i in range(count, len(vocab)):
        n = int(SENTINEL.fullmatch(vocab[i][0]).group(1))
        if i != count + extra - 1 - n:
            raise ConversionError(f"{vocab[i][0]} has id {i}; T5 puts it at {count + extra - 1 - n}")

    pieces = []
    for i, (text, score) in enumerate(vocab[:count]):
        if not text:
            raise ConversionError(f"piece {i} is empty")
        if i == unk_id:
            kind = UNKNOWN
        elif i in added and added[i].get("special", False):
            kind = CONTROL
        elif i in added:
            kind = USER_DEFINED
        else:
            kind = NORMAL
        pieces.append({"piece": text, "score": score, "type": kind})
    ids = {content: i for i, (content, _) in enumerate(vocab[:count])}
    specials = {
        "unk": (unk_id, vocab[unk_id][0]),
        "bos": (ids.get("<s>", -1), "<s>"),
        "eos": (ids.get("</s>", -1), "</s>"),
        "pad": (ids.get("<pad>", -1), "<pad>"),
    }
    if specials["eos"][0] < 0 or specials["pad"][0] < 0:
        raise ConversionError("T5's vocabulary has </s> and <pad> pieces; this one does not")
    return pieces, extra, specials, read_normalizer(tok)


# ---- the ModelProto ------------------------------------------------------------------------


def model_proto(pieces, specials, normalizer):
    out = bytearray()
    for p in pieces:
        message = bytes_field(1, p["piece"]) + float_field(2, p["score"])
        if p["type"] != NORMAL:
            message += int_field(3, p["type"])
        out += bytes_field(1, message)
    trainer = int_field(3, UNIGRAM) + int_field(4, len(pieces))
    for field, name in ((40, "unk"), (41, "bos"), (42, "eos"), (43, "pad")):
        trainer += int_field(field, specials[name][0])
    for field, name in ((45, "unk"), (46, "bos"), (47, "eos"), (48, "pad")):
        trainer += bytes_field(field, specials[name][1])
    out += bytes_field(2, trainer)
    spec = (bytes_field(1, normalizer["name"]) + bytes_field(2, normalizer["charsmap"]) +
            bool_field(3, normalizer["add_dummy_prefix"]) +
            bool_field(4, normalizer["remove_extra_whitespaces"]) +
            bool_field(5, normalizer["escape_whitespaces"]))
    out += bytes_field(3, spec)
    return bytes(out)


def compare(ours, reference_path):
    """Differences between our model and a reference .model file; empty when they agree."""
    with open(reference_path, "rb") as f:
        theirs = f.read()
    a_pieces, a_raw, a_trainer, a_norm = decode_model(ours)
    b_pieces, b_raw, b_trainer, b_norm = decode_model(theirs)
    problems = []
    if len(a_pieces) != len(b_pieces):
        problems.append(f"{len(a_pieces)} pieces, the reference has {len(b_pieces)}")
    for i, (a, b) in enumerate(zip(a_pieces, b_pieces)):
        if a != b:
            problems.append(f"piece {i}: {a} vs the reference's {b}")
            if len(problems) > 20:
                break
    for field, name in ((40, "unk_id"), (41, "bos_id"), (42, "eos_id"), (43, "pad_id"), (3, "model_type")):
        defaults = {40: 0, 41: 1, 42: 2, 43: -1, 3: UNIGRAM}
        if a_trainer.get(field, defaults[field]) != b_trainer.get(field, defaults[field]):
            problems.append(f"trainer_spec.{name}: {a_trainer.get(field)} vs {b_trainer.get(field)}")
    if a_norm.get(2) != b_norm.get(2):
        problems.append("the precompiled charsmaps differ")
    for field, name in ((3, "add_dummy_prefix"), (4, "remove_extra_whitespaces"), (5, "escape_whitespaces")):
        if a_norm.get(field, 1) != b_norm.get(field, 1):
            problems.append(f"normalizer_spec.{name}: {a_norm.get(field, 1)} vs {b_norm.get(field, 1)}")
    return problems, a_raw == b_raw


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tokenizer_json")
    parser.add_argument("output", help="the spiece.model to write")
    parser.add_argument("--reference", help="a spiece.model to compare the result with")
    args = parser.parse_args()
    try:
        pieces, extra, specials, normalizer = read_tokenizer_json(args.tokenizer_json)
        data = model_proto(pieces, specials, normalizer)
    except (ConversionError, KeyError, ValueError) as e:
        sys.exit(f"{args.tokenizer_json}: {e}")
    with open(args.output, "wb") as f:
        f.write(data)
    kinds = {k: sum(p["type"] == k for p in pieces) for k in (NORMAL, UNKNOWN, CONTROL, USER_DEFINED)}
    print(f"{args.output}: {len(pieces)} pieces ({kinds[NORMAL]} normal, {kinds[CONTROL]} control, "
          f"{kinds[UNKNOWN]} unknown, {kinds[USER_DEFINED]} user-defined) + {extra} <extra_id_N> sentinels "
          f"left to the tokenizer; ids unk {specials['unk'][0]}, bos {specials['bos'][0]}, "
          f"eos {specials['eos'][0]}, pad {specials['pad'][0]}; charsmap {len(normalizer['charsmap'])} bytes; "
          f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
    if args.reference:
        problems, same_bytes = compare(data, args.reference)
        for p in problems:
            print("DIFFERS:", p)
        if problems:
            sys.exit(f"{args.output} does not match {args.reference}")
        print(f"matches {args.reference}: every piece, score and type, the special ids, the normaliser; "
              f"pieces section byte for byte {'identical' if same_bytes else 'DIFFERENT'}")
        if not same_bytes:
            sys.exit(1)


if __name__ == "__main__":
    main()
