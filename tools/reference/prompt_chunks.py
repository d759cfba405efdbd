"""AUTOMATIC1111's prompt emphasis parser, 75-token chunking and "Original" emphasis, re-implemented from the
published rules of stable-diffusion-webui (modules/prompt_parser.py parse_prompt_attention, modules/sd_hijack_clip.py
FrozenCLIPEmbedderWithCustomWordsBase.tokenize_line / process_tokens / forward, modules/sd_emphasis.py
EmphasisOriginal; v1.10.x, commit 0674fab of prompt_parser.py), without textual-inversion embeddings and with
the default options (emphasis "Original", comma_padding_backtrack 20, CLIP_stop_at_last_layers 1).

Rules:
- parse: "(x)" multiplies the weight of x by 1.1, "[x]" divides by 1.1, "(x:1.3)" multiplies by 1.3 (the number
  must follow ':' directly and be followed directly by ')': regex ":([+-]?[.\\d]+)\\)"), nesting multiplies,
  "\\(" "\\)" "\\[" "\\]" "\\\\" are literal characters, an unmatched ")" or "]" is literal text, a "(" or "[" left
  open at the end applies its multiplier to everything after it, "BREAK" (a whole word, upper case, with the
  white space around it) becomes the marker ["BREAK", -1], runs of equal weight are merged, an empty prompt
  gives [["", 1.0]].
- chunks: each parsed fragment is tokenized on its own (no BOS/EOS, no truncation); tokens are appended to the
  current chunk of at most 75; when a chunk is full: if a comma token (",</w>") was seen in it at index c and
  75 - c <= 20, the tokens after the comma move to the next chunk, otherwise the cut is at 75; "BREAK" closes
  the current chunk (even an empty one). A chunk is closed as BOS + tokens + EOS padding up to 75 tokens + EOS,
  i.e. 77 ids, weights 1.0 on BOS, EOS and padding; then every id after the first EOS becomes the pad id
  (same as EOS for CLIP-L; "!" = 0 for OpenCLIP). A prompt with no tokens still gives one chunk.
- encoding: each chunk is encoded on its own (z = [1, 77, C]); emphasis "Original": m = mean(z);
  z = z * w[..., None]; z = z * (m / mean(z)) (means over the whole chunk tensor); chunks are concatenated
  along the sequence axis; the pooled output (SDXL) is the first chunk's. Cond and uncond with different chunk
  counts are padded with encodings of the empty chunk [BOS, EOS, pad...] (A1111's pad_cond_uncond).
"""
import re

re_attention = re.compile(r"""
\\\(|
\\\)|
\\\[|
\\]|
\\\\|
\\|
\(|
\[|
:([+-]?[.\d]+)\)|
\)|
]|
[^\\()\[\]:]+|
:
""", re.X)

re_break = re.compile(r"\s*\bBREAK\b\s*", re.S)

CHUNK_LENGTH = 75
COMMA_PADDING_BACKTRACK = 20


def parse_prompt_attention(text):
    res = []
    round_brackets = []
    square_brackets = []
    round_bracket_multiplier = 1.1
    square_bracket_multiplier = 1 / 1.1

    def multiply_range(start_position, multiplier):
        for p in range(start_position, len(res)):
            res[p][1] *= multiplier

    for m in re_attention.finditer(text):
        piece = m.group(0)
        weight = m.group(1)
        if piece.startswith("\\"):
            res.append([piece[1:], 1.0])
        elif piece == "(":
            round_brackets.append(len(res))
        elif piece == "[":
            square_brackets.append(len(res))
        elif weight is not None and round_brackets:
            multiply_range(round_brackets.pop(), float(weight))
        elif piece == ")" and round_brackets:
            multiply_range(round_brackets.pop(), round_bracket_multiplier)
        elif piece == "]" and square_brackets:
            multiply_range(square_brackets.pop(), square_bracket_multiplier)
        else:
            parts = re.split(re_break, piece)
            for i, part in enumerate(parts):
                if i > 0:
                    res.append(["BREAK", -1])
                res.append([part, 1.0])

    for pos in round_brackets:
        multiply_range(pos, round_bracket_multiplier)
    for pos in square_brackets:
        multiply_range(pos, square_bracket_multiplier)
    if len(res) == 0:
        res = [["", 1.0]]
    i = 0
    while i + 1 < len(res):
        if res[i][1] == res[i + 1][1]:
            res[i][0] += res[i + 1][0]
            res.pop(i + 1)
        else:
            i += 1
    return res


def chunk_tokens(parsed, tokenize, comma_token, id_start, id_end, id_pad,
                 chunk_length=CHUNK_LENGTH, comma_padding_backtrack=COMMA_PADDING_BACKTRACK):
    """parsed: [[text, weight]] (weight -1 with text "BREAK" = break); tokenize(list of str) -> list of id lists.
    Returns (chunks, token_count): chunks = [(ids[77], weights[77])], ids already padded with id_pad after the
    first EOS."""
    tokenized = tokenize([text for text, _ in parsed])
    chunks = []
    cur_t, cur_w = [], []
    state = {"token_count": 0, "last_comma": -1}

    def next_chunk(is_last=False):
        nonlocal cur_t, cur_w
        state["token_count"] += len(cur_t) if is_last else chunk_length
        to_add = chunk_length - len(cur_t)
        if to_add > 0:
            cur_t = cur_t + [id_end] * to_add
            cur_w = cur_w + [1.0] * to_add
        toks = [id_start] + cur_t + [id_end]
        ws = [1.0] + cur_w + [1.0]
        state["last_comma"] = -1
        chunks.append((toks, ws))
        cur_t, cur_w = [], []

    for tokens, (text, weight) in zip(tokenized, parsed):
        if text == "BREAK" and weight == -1:
            next_chunk()
            continue
        position = 0
        while position < len(tokens):
            token = tokens[position]
            if token == comma_token:
                state["last_comma"] = len(cur_t)
            elif (comma_padding_backtrack != 0 and len(cur_t) == chunk_length and state["last_comma"] != -1
                  and len(cur_t) - state["last_comma"] <= comma_padding_backtrack):
                break_location = state["last_comma"] + 1
                reloc_t, reloc_w = cur_t[break_location:], cur_w[break_location:]
                cur_t, cur_w = cur_t[:break_location], cur_w[:break_location]
                next_chunk()
                cur_t, cur_w = reloc_t, reloc_w
            if len(cur_t) == chunk_length:
                next_chunk()
            cur_t.append(token)
            cur_w.append(weight)
            position += 1
    if cur_t or not chunks:
        next_chunk(is_last=True)

    out = []
    for toks, ws in chunks:
        assert len(toks) == chunk_length + 2 and len(ws) == chunk_length + 2
        if id_end != id_pad:
            idx = toks.index(id_end)
            toks = toks[:idx + 1] + [id_pad] * (len(toks) - idx - 1)
        out.append((toks, ws))
    return out, state["token_count"]


def empty_chunk(id_start, id_end, id_pad, chunk_length=CHUNK_LENGTH):
    toks = [id_start, id_end] + [id_pad] * chunk_length
    return toks, [1.0] * (chunk_length + 2)


def emphasis_original(z, weights):
    """z: [B, T, C] float tensor, weights: [B, T] -> A1111's EmphasisOriginal.after_transformers."""
    original_mean = z.mean()
    z = z * weights.reshape(weights.shape + (1,)).expand(z.shape)
    new_mean = z.mean()
    return z * (original_mean / new_mean)


if __name__ == "__main__":
    # A1111's doctests, and a few more rules
    def check(text, expected):
        got = parse_prompt_attention(text)
        assert len(got) == len(expected) and all(a[0] == b[0] and abs(a[1] - b[1]) < 1e-12 for a, b in zip(got, expected)), (text, got)
    check("normal text", [["normal text", 1.0]])
    check("an (important) word", [["an ", 1.0], ["important", 1.1], [" word", 1.0]])
    check("(unbalanced", [["unbalanced", 1.1]])
    check("\\(literal\\]", [["(literal]", 1.0]])
    check("(unnecessary)(parens)", [["unnecessaryparens", 1.1]])
    check("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
          [["a ", 1.0], ["house", 1.5730000000000004], [" ", 1.1], ["on", 1.0], [" a ", 1.1], ["hill", 0.55],
           [", sun, ", 1.1], ["sky", 1.4641000000000006], [".", 1.1]])
    check("", [["", 1.0]])
    check("a cat BREAK a dog", [["a cat", 1.0], ["BREAK", -1], ["a dog", 1.0]])
    check("unmatched) and ]", [["unmatched) and ]", 1.0]])
    check("[[low]]", [["low", 1 / 1.1 / 1.1]])
    print("parse_prompt_attention: all rules ok")
