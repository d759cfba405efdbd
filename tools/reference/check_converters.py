"""Checks dit_common's diffusers -> original key converters against diffusers' own converters, on fake state
dicts shaped like the tiny models, without diffusers installed: the converter functions are taken from
diffusers' source (loaders/single_file_utils.py) with `ast` and run with torch alone. The generators repeat
this check on the real models on the GPU machine.
Usage: python3 check_converters.py /path/to/diffusers/src/diffusers/loaders/single_file_utils.py"""
import ast
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dit_common as dc  # noqa: E402

NEEDED = ["swap_scale_shift", "get_attn2_layers", "get_caption_projection_dim",
          "convert_sd3_transformer_checkpoint_to_diffusers", "convert_flux_transformer_checkpoint_to_diffusers",
          "convert_ldm_vae_checkpoint", "update_vae_resnet_ldm_to_diffusers",
          "update_vae_attentions_ldm_to_diffusers", "conv_attn_to_linear"]


def load_diffusers_functions(path):
    src = open(path, encoding="utf-8").read()
    tree = ast.parse(src)
    ns = {"torch": torch}
    body = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in NEEDED:
            body.append(node)
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) in ("DIFFUSERS_TO_LDM_MAPPING", "LDM_VAE_KEYS")
                                                for t in node.targets):
            body.append(node)
    mod = ast.Module(body=body, type_ignores=[])
    exec(compile(mod, path, "exec"), ns)  # noqa: S102
    for n in NEEDED:
        assert n in ns, n
    return ns


def fake_sd3(dim=24, heads=3, layers=3, dual=(), qk_norm=False, pooled=28, joint=32, max_pos=12, patch=2, cin=16):
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    hd = dim // heads
    sd = {"pos_embed.pos_embed": r(1, max_pos * max_pos, dim), "pos_embed.proj.weight": r(dim, cin, patch, patch),
          "pos_embed.proj.bias": r(dim)}
    for a, i, o in (("timestep_embedder.linear_1", 256, dim), ("timestep_embedder.linear_2", dim, dim),
                    ("text_embedder.linear_1", pooled, dim), ("text_embedder.linear_2", dim, dim)):
        sd[f"time_text_embed.{a}.weight"], sd[f"time_text_embed.{a}.bias"] = r(o, i), r(o)
    sd["context_embedder.weight"], sd["context_embedder.bias"] = r(dim, joint), r(dim)
    for i in range(layers):
        b = f"transformer_blocks.{i}."
        last = i == layers - 1
        lin = {"attn.to_q": (dim, dim), "attn.to_k": (dim, dim), "attn.to_v": (dim, dim), "attn.to_out.0": (dim, dim),
               "attn.add_q_proj": (dim, dim), "attn.add_k_proj": (dim, dim), "attn.add_v_proj": (dim, dim),
               "norm1.linear": ((9 if i in dual else 6) * dim, dim),
               "norm1_context.linear": ((2 if last else 6) * dim, dim),
               "ff.net.0.proj": (4 * dim, dim), "ff.net.2": (dim, 4 * dim)}
        if not last:
            lin.update({"attn.to_add_out": (dim, dim), "ff_context.net.0.proj": (4 * dim, dim),
                        "ff_context.net.2": (dim, 4 * dim)})
        if i in dual:
            lin.update({"attn2.to_q": (dim, dim), "attn2.to_k": (dim, dim), "attn2.to_v": (dim, dim),
                        "attn2.to_out.0": (dim, dim)})
        for k, (o, ii) in lin.items():
            sd[f"{b}{k}.weight"], sd[f"{b}{k}.bias"] = r(o, ii), r(o)
        if qk_norm:
            for k in ("attn.norm_q", "attn.norm_k", "attn.norm_added_q", "attn.norm_added_k") + \
                    (("attn2.norm_q", "attn2.norm_k") if i in dual else ()):
                sd[f"{b}{k}.weight"] = r(hd)
    sd["norm_out.linear.weight"], sd["norm_out.linear.bias"] = r(2 * dim, dim), r(2 * dim)
    sd["proj_out.weight"], sd["proj_out.bias"] = r(patch * patch * cin, dim), r(patch * patch * cin)
    return sd


def fake_flux(dim=64, heads=2, layers=1, single=2, guidance=True, pooled=12, joint=32, cin=64):
    g = torch.Generator().manual_seed(1)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    hd = dim // heads
    sd = {}
    emb = [("timestep_embedder.linear_1", 256, dim), ("timestep_embedder.linear_2", dim, dim),
           ("text_embedder.linear_1", pooled, dim), ("text_embedder.linear_2", dim, dim)]
    if guidance:
        emb += [("guidance_embedder.linear_1", 256, dim), ("guidance_embedder.linear_2", dim, dim)]
    for a, i, o in emb:
        sd[f"time_text_embed.{a}.weight"], sd[f"time_text_embed.{a}.bias"] = r(o, i), r(o)
    sd["context_embedder.weight"], sd["context_embedder.bias"] = r(dim, joint), r(dim)
    sd["x_embedder.weight"], sd["x_embedder.bias"] = r(dim, cin), r(dim)
    for i in range(layers):
        b = f"transformer_blocks.{i}."
        for k, (o, ii) in {"norm1.linear": (6 * dim, dim), "norm1_context.linear": (6 * dim, dim),
                           "attn.to_q": (dim, dim), "attn.to_k": (dim, dim), "attn.to_v": (dim, dim),
                           "attn.add_q_proj": (dim, dim), "attn.add_k_proj": (dim, dim), "attn.add_v_proj": (dim, dim),
                           "attn.to_out.0": (dim, dim), "attn.to_add_out": (dim, dim),
                           "ff.net.0.proj": (4 * dim, dim), "ff.net.2": (dim, 4 * dim),
                           "ff_context.net.0.proj": (4 * dim, dim), "ff_context.net.2": (dim, 4 * dim)}.items():
            sd[f"{b}{k}.weight"], sd[f"{b}{k}.bias"] = r(o, ii), r(o)
        for k in ("attn.norm_q", "attn.norm_k", "attn.norm_added_q", "attn.norm_added_k"):
            sd[f"{b}{k}.weight"] = r(hd)
    for i in range(single):
        b = f"single_transformer_blocks.{i}."
        for k, (o, ii) in {"norm.linear": (3 * dim, dim), "attn.to_q": (dim, dim), "attn.to_k": (dim, dim),
                           "attn.to_v": (dim, dim), "proj_mlp": (4 * dim, dim), "proj_out": (dim, 5 * dim)}.items():
            sd[f"{b}{k}.weight"], sd[f"{b}{k}.bias"] = r(o, ii), r(o)
        for k in ("attn.norm_q", "attn.norm_k"):
            sd[f"{b}{k}.weight"] = r(hd)
    sd["norm_out.linear.weight"], sd["norm_out.linear.bias"] = r(2 * dim, dim), r(2 * dim)
    sd["proj_out.weight"], sd["proj_out.bias"] = r(cin, dim), r(cin)
    return sd


def fake_vae(ch=(8, 16, 16, 16), lpb=2, latent=16, quant=False):
    g = torch.Generator().manual_seed(2)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    sd = {}

    def conv(k, o, i, ks=3):
        sd[f"{k}.weight"], sd[f"{k}.bias"] = r(o, i, ks, ks), r(o)

    def norm(k, c):
        sd[f"{k}.weight"], sd[f"{k}.bias"] = r(c), r(c)

    def resnet(k, i, o):
        norm(f"{k}.norm1", i)
        conv(f"{k}.conv1", o, i)
        norm(f"{k}.norm2", o)
        conv(f"{k}.conv2", o, o)
        if i != o:
            conv(f"{k}.conv_shortcut", o, i, 1)

    def mid(p, c):
        resnet(f"{p}.mid_block.resnets.0", c, c)
        resnet(f"{p}.mid_block.resnets.1", c, c)
        norm(f"{p}.mid_block.attentions.0.group_norm", c)
        for q in ("to_q", "to_k", "to_v", "to_out.0"):
            sd[f"{p}.mid_block.attentions.0.{q}.weight"], sd[f"{p}.mid_block.attentions.0.{q}.bias"] = r(c, c), r(c)

    conv("encoder.conv_in", ch[0], 3)
    prev = ch[0]
    for i, c in enumerate(ch):
        for j in range(lpb):
            resnet(f"encoder.down_blocks.{i}.resnets.{j}", prev, c)
            prev = c
        if i < len(ch) - 1:
            conv(f"encoder.down_blocks.{i}.downsamplers.0.conv", c, c)
    mid("encoder", ch[-1])
    norm("encoder.conv_norm_out", ch[-1])
    conv("encoder.conv_out", 2 * latent, ch[-1])
    conv("decoder.conv_in", ch[-1], latent)
    mid("decoder", ch[-1])
    rev = list(reversed(ch))
    prev = rev[0]
    for i, c in enumerate(rev):
        for j in range(lpb + 1):
            resnet(f"decoder.up_blocks.{i}.resnets.{j}", prev, c)
            prev = c
        if i < len(ch) - 1:
            conv(f"decoder.up_blocks.{i}.upsamplers.0.conv", c, c)
    norm("decoder.conv_norm_out", ch[0])
    conv("decoder.conv_out", 3, ch[0])
    if quant:
        conv("quant_conv", 2 * latent, 2 * latent, 1)
        conv("post_quant_conv", latent, latent, 1)
    cfg = {"down_block_types": ["DownEncoderBlock2D"] * len(ch), "up_block_types": ["UpDecoderBlock2D"] * len(ch)}
    return sd, cfg


def main():
    ns = load_diffusers_functions(sys.argv[1])
    # SD3.0 and SD3.5 (qk norm + dual attention)
    for kw in (dict(), dict(qk_norm=True, dual=(0, 1)), dict(qk_norm=True, layers=4)):
        sd = fake_sd3(**kw)
        orig = dc.with_prefix(dc.sd3_diffusers_to_original(sd), "model.diffusion_model.")
        ck = dict(orig)
        back = ns["convert_sd3_transformer_checkpoint_to_diffusers"](ck)
        assert not ck, f"diffusers left keys unconverted: {sorted(ck)[:5]}"
        dc.assert_same_tensors(sd, back, f"sd3 round trip {kw}")
        assert "model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight" in orig
        sw = orig["model.diffusion_model.final_layer.adaLN_modulation.1.weight"]
        assert torch.equal(sw[:sw.shape[0] // 2], sd["norm_out.linear.weight"][sw.shape[0] // 2:])
    # Flux dev and schnell; also float8 as bytes
    for guidance in (True, False):
        sd = fake_flux(guidance=guidance)
        bfl = dc.flux_diffusers_to_bfl(sd)
        src = open(sys.argv[1], encoding="utf-8").read()
        tree = ast.parse(src)
        fn = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "convert_flux_transformer_checkpoint_to_diffusers"][0]
        seg = ast.get_source_segment(src, fn).replace("inner_dim = 3072", "inner_dim = 64")
        ns2 = {"torch": torch}
        exec(seg, ns2)  # noqa: S102
        for variant, ck in (("bfl", dict(bfl)), ("comfy", dc.with_prefix(bfl, "model.diffusion_model."))):
            back = ns2["convert_flux_transformer_checkpoint_to_diffusers"](ck)
            assert not ck, sorted(ck)[:5]
            dc.assert_same_tensors(sd, back, f"flux {variant} round trip guidance={guidance}")
        assert ("guidance_in.in_layer.weight" in bfl) == guidance
        if dc.FP8_DTYPES:
            f8 = {k: v.to(dc.FP8_DTYPES[0]) for k, v in sd.items()}
            bfl8 = dc.flux_diffusers_to_bfl(f8)
            assert all(v.dtype == dc.FP8_DTYPES[0] for v in bfl8.values())
            ck = dc.bytes_view_dict(bfl8)
            back = ns2["convert_flux_transformer_checkpoint_to_diffusers"](ck)
            dc.assert_same_tensors(dc.bytes_view_dict(f8), back, "flux fp8 round trip (bytes)")
    # VAE
    for kw in (dict(), dict(lpb=1), dict(quant=True)):
        sd, cfg = fake_vae(**kw)
        ldm = dc.vae_diffusers_to_ldm(sd, cfg)
        assert ldm["encoder.mid.attn_1.q.weight"].dim() == 4
        for prefix in ("first_stage_model.", ""):
            back = ns["convert_ldm_vae_checkpoint"](dc.with_prefix(ldm, prefix), cfg)
            dc.assert_same_tensors(sd, back, f"vae round trip {kw} prefix {prefix!r}")
    print("all converter checks passed")


if __name__ == "__main__":
    main()
