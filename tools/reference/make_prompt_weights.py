"""AUTOMATIC1111 prompt emphasis (rules in prompt_chunks.py and README.md).

Usage (GPU machine, reference kit env):
    python3 tools/reference/make_prompt_weights.py tests/data/sd15-tiny OUT [SDXL_PIPELINE_DIR]
Writes OUT/prompt-weights/{reference.safetensors, cases.json}.

Parsing, chunking, ids and weights use the sd15-tiny tokenizer. Embeddings:
- sd15: the sd15-tiny text encoder's last_hidden_state (A1111's SD1 path). Its final layer norm has weight 1 and
  bias 0 (default init), so every token vector has mean 0 and A1111's "Original" mean restore divides ~0 by ~0:
  ill-conditioned. So for sd15 the fixture stores "No norm" emphasis (A1111's option: z * w, no mean restore).
- sdxl (when SDXL_PIPELINE_DIR is given, e.g. OUT/sdxl-tiny/pipeline from make_sdxl_tiny.py, whose norms are
  randomised): A1111's SDXL path with "Original" emphasis: each encoder's penultimate hidden state (te1 padded with
  EOS, te2 with "!") weighted and mean-restored on its own, then concatenated along channels; pooled = te2
  text_embeds of the first chunk, unweighted."""
import os, sys, json, shutil

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prompt_chunks as pc
from safetensors.torch import save_file
import transformers
from transformers import CLIPTextModel, CLIPTokenizer

FIX, OUT = sys.argv[1], sys.argv[2]
XL = sys.argv[3] if len(sys.argv) > 3 else None
PIPE = os.path.join(FIX, "pipeline")
ROOT = os.path.join(OUT, "prompt-weights")
torch.set_grad_enabled(False)
torch.use_deterministic_algorithms(True, warn_only=True)

LONG = ("a photograph of a (red castle:1.2) on a mountain, digital art, highly detailed, cinematic lighting, "
        "a small blue circle in the top left corner, a yellow star on a white background, [oil painting], "
        "a peaceful garden with blooming flowers, a serene mountain landscape at sunset, (watercolor), "
        "a robot in a city street, a dragon over the ocean, a portrait of a cat, concept art, 4k, "
        "a village by the river with a bridge and a tree, a bird in the forest, ((pixel art)), "
        "a spaceship above the lake, a purple heart and a green ring, trending on artstation")
PROMPTS = [
    ("plain", "a photograph of an astronaut riding a horse"),
    ("round", "a (red) circle on a white background"),
    ("square", "a [blurry] photograph of a cat"),
    ("explicit", "a (castle:1.3) on a (mountain:0.7), oil painting"),
    ("nested", "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky)))."),
    ("escapes", "\\(literal parens\\) and \\[brackets\\] \\\\ a cat"),
    ("unbalanced", "(unbalanced red circle, a cat) and a dog] [on grass"),
    ("break", "a red circle BREAK a blue square, (digital art)"),
    ("two_chunks", LONG),
    ("empty", ""),
]


def xl_embeds(xl, parsed, ids1, w, ref, i, entry):
    """A1111 SDXL: each encoder's penultimate state gets "Original" emphasis on its own; te2's ids are te1's with
    everything after the first EOS replaced by "!" (0)."""
    eos = xl["tok2"].eos_token_id
    ids2 = ids1.clone()
    for r in range(ids2.shape[0]):
        first = int((ids2[r] == eos).nonzero()[0])
        ids2[r, first + 1:] = xl["tok2"].pad_token_id
    z1s, z2s, out, rel = [], [], [], []
    for k in range(ids1.shape[0]):
        z1 = xl["te1"](ids1[k:k + 1], output_hidden_states=True).hidden_states[-2]
        o2 = xl["te2"](ids2[k:k + 1], output_hidden_states=True)
        z2 = o2.hidden_states[-2]
        if k == 0:
            ref[f"pw.{i}.sdxl.pooled"] = o2.text_embeds
        z1s.append(z1)
        z2s.append(z2)
        rel += [float(z1.mean().abs() / z1.std()), float(z2.mean().abs() / z2.std())]
        out.append(torch.cat([pc.emphasis_original(z1, w[k:k + 1]), pc.emphasis_original(z2, w[k:k + 1])], -1))
    ref[f"pw.{i}.sdxl.ids2"] = ids2
    ref[f"pw.{i}.sdxl.unweighted"] = torch.cat([torch.cat(z1s, 1), torch.cat(z2s, 1)], -1)
    ref[f"pw.{i}.sdxl.embeds"] = torch.cat(out, 1)
    entry["sdxl_abs_mean_over_std"] = rel
    assert min(rel) > 1e-4, f"mean restore ill-conditioned: {rel}"


def main():
    if os.path.exists(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    tok = CLIPTokenizer.from_pretrained(os.path.join(PIPE, "tokenizer"))
    te = CLIPTextModel.from_pretrained(os.path.join(PIPE, "text_encoder")).eval()
    vocab = tok.get_vocab()
    comma = vocab.get(",</w>")
    assert comma is not None
    bos, eos = tok.bos_token_id, tok.eos_token_id
    tokenize = lambda texts: [tok(t, truncation=False, add_special_tokens=False)["input_ids"] for t in texts]
    xl = None
    if XL:
        from transformers import CLIPTextModelWithProjection
        xl = {"tok2": CLIPTokenizer.from_pretrained(os.path.join(XL, "tokenizer_2")),
              "te1": CLIPTextModel.from_pretrained(os.path.join(XL, "text_encoder")).eval(),
              "te2": CLIPTextModelWithProjection.from_pretrained(os.path.join(XL, "text_encoder_2")).eval()}
        assert xl["tok2"].get_vocab() == vocab, "the sdxl-tiny and sd15-tiny vocabularies must be the same"
    ref, cases = {}, {"variant": "prompt-weights (sd15-tiny tokenizer; sd15-tiny and sdxl-tiny encoders)",
                      "sdxl_pipeline": XL, "text_encoder": "tests/data/sd15-tiny/pipeline/text_encoder",
                      "output": "last_hidden_state (CLIP_stop_at_last_layers = 1)", "bos": bos, "eos": eos,
                      "pad": eos, "comma_id": comma, "chunk_length": pc.CHUNK_LENGTH,
                      "comma_padding_backtrack": pc.COMMA_PADDING_BACKTRACK, "emphasis": "Original",
                      "a1111": "stable-diffusion-webui v1.10.x (prompt_parser.py commit 0674fab, sd_hijack_clip.py, "
                               "sd_emphasis.EmphasisOriginal); no textual inversion",
                      "transformers_version": transformers.__version__, "torch_version": torch.__version__,
                      "prompts": []}
    for i, (name, prompt) in enumerate(PROMPTS):
        parsed = pc.parse_prompt_attention(prompt)
        chunks, token_count = pc.chunk_tokens(parsed, tokenize, comma, bos, eos, eos)
        ids = torch.tensor([c[0] for c in chunks], dtype=torch.int64)
        w = torch.tensor([c[1] for c in chunks], dtype=torch.float32)
        zs, zw = [], []
        for k in range(ids.shape[0]):
            z = te(ids[k:k + 1]).last_hidden_state
            zs.append(z)
            zw.append(z * w[k:k + 1, :, None])  # "No norm"
        ref[f"pw.{i}.ids"], ref[f"pw.{i}.weights"] = ids, w
        ref[f"pw.{i}.sd15.unweighted"] = torch.cat(zs, 1)
        ref[f"pw.{i}.sd15.nonorm"] = torch.cat(zw, 1)
        rel_mean = float(zs[0].mean().abs() / zs[0].std())
        entry = {"index": i, "name": name, "prompt": prompt, "parsed": parsed, "chunks": len(chunks),
                 "token_count": token_count, "tokens_per_chunk": [int((r == eos).nonzero()[0]) - 1 for r in ids],
                 "sd15_abs_mean_over_std": rel_mean}
        if xl is not None:
            xl_embeds(xl, parsed, ids, w, ref, i, entry)
        for kk in [x for x in ref if x.startswith(f"pw.{i}.")]:
            assert not ref[kk].is_floating_point() or torch.isfinite(ref[kk]).all(), kk
        cases["prompts"].append(entry)
        print(f"pw.{i} {name}: {len(parsed)} parts, {len(chunks)} chunk(s), {token_count} tokens", flush=True)
    # invariants this fixture relies on
    plain = tok(PROMPTS[0][1], padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    assert torch.equal(ref["pw.0.ids"], plain), "a plain short prompt chunks to exactly the tokenizer's ids"
    assert torch.allclose(ref["pw.0.sd15.nonorm"], te(plain).last_hidden_state, atol=1e-6)
    assert ref["pw.7.ids"].shape[0] == 2, "BREAK makes a second chunk"
    assert ref["pw.8.ids"].shape[0] >= 2, "the long prompt needs two chunks"
    assert ref["pw.9.ids"].shape[0] == 1 and ref["pw.9.ids"][0, 1] == eos
    save_file({k: v.contiguous() for k, v in ref.items()}, os.path.join(ROOT, "reference.safetensors"))
    with open(os.path.join(ROOT, "cases.json"), "w") as f:
        json.dump(cases, f, indent=2, ensure_ascii=False)
    print(f"prompt-weights ok: {len(ref)} tensors", flush=True)


if __name__ == "__main__":
    main()
