"""diffusers/transformers state dicts -> the original single-file layouts (LDM / SGM / OpenCLIP).

The inverse of diffusers' loaders/single_file_utils.py converters (convert_ldm_unet_checkpoint,
convert_ldm_vae_checkpoint, convert_ldm_clip_checkpoint, convert_open_clip_checkpoint), written from the
key layouts of the original checkpoints (the ones diffusers' scripts/convert_diffusers_to_original_*.py
produce), but general in the number of levels and layers per block (read from the config), so that the
tiny fixtures keep the real index arithmetic:

  UNet  (prefix model.diffusion_model.)
    conv_in                         -> input_blocks.0.0
    time_embedding.linear_{1,2}     -> time_embed.{0,2}
    add_embedding.linear_{1,2}      -> label_emb.0.{0,2}          (SDXL "text_time")
    down_blocks.i.resnets.j         -> input_blocks.{1 + i*(L+1) + j}.0     L = layers_per_block
    down_blocks.i.attentions.j      -> input_blocks.{1 + i*(L+1) + j}.1
    down_blocks.i.downsamplers.0.conv -> input_blocks.{(i+1)*(L+1)}.0.op
    mid_block.resnets.0 / attentions.0 / resnets.1 -> middle_block.0 / .1 / .2
    up_blocks.i.resnets.j           -> output_blocks.{i*(L+1) + j}.0       (j = 0..L)
    up_blocks.i.attentions.j        -> output_blocks.{i*(L+1) + j}.1
    up_blocks.i.upsamplers.0.conv   -> output_blocks.{i*(L+1) + L}.{2 if the level has attentions else 1}.conv
    conv_norm_out / conv_out        -> out.0 / out.2
    resnet parts: norm1 in_layers.0, conv1 in_layers.2, time_emb_proj emb_layers.1, norm2 out_layers.0,
                  conv2 out_layers.3, conv_shortcut skip_connection; attention parts keep their names.
  VAE   (prefix first_stage_model.)
    encoder.down_blocks.i.resnets.j -> encoder.down.i.block.j ; downsamplers.0.conv -> down.i.downsample.conv
    decoder.up_blocks.i.resnets.j   -> decoder.up.{N-1-i}.block.j ; upsamplers.0.conv -> up.{N-1-i}.upsample.conv
    {encoder,decoder}.mid_block.resnets.k -> mid.block_{k+1} ; mid_block.attentions.0 -> mid.attn_1 with
    group_norm->norm, to_q/to_k/to_v->q/k/v, to_out.0->proj_out, the 4 weights as 1x1 convs [C,C,1,1]
    conv_norm_out -> norm_out ; conv_shortcut -> nin_shortcut
  CLIP (OpenAI layout, transformers names):  PREFIX + "text_model." + transformers key (without text_model.)
    PREFIX = cond_stage_model.transformer. (SD 1.x) or conditioner.embedders.0.transformer. (SDXL)
  OpenCLIP (SD 2.x cond_stage_model.model., SDXL conditioner.embedders.1.model.):
    token_embedding.weight, positional_embedding, ln_final.{weight,bias},
    text_projection = Linear.weight.T  ([hidden, proj]: OpenCLIP computes x @ text_projection),
    transformer.resblocks.N.{ln_1, ln_2, attn.in_proj_weight (= cat(q,k,v) along dim 0), attn.in_proj_bias,
    attn.out_proj, mlp.c_fc (fc1), mlp.c_proj (fc2)}
"""
import torch

RESNET_UNET = [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("time_emb_proj", "emb_layers.1"),
               ("norm2", "out_layers.0"), ("conv2", "out_layers.3"), ("conv_shortcut", "skip_connection")]


def _resnet_unet(rest):
    for a, b in RESNET_UNET:
        if rest.startswith(a + "."):
            return b + rest[len(a):]
    raise KeyError("unknown resnet key part: " + rest)


def unet_to_ldm(sd, config, prefix="model.diffusion_model."):
    """sd: a diffusers UNet2DConditionModel state dict; config: its config (dict-like)."""
    L = config["layers_per_block"]
    assert isinstance(L, int), "layers_per_block must be an int"
    up_types = list(config["up_block_types"])
    out = {}
    fixed = {"conv_in": "input_blocks.0.0", "time_embedding.linear_1": "time_embed.0",
             "time_embedding.linear_2": "time_embed.2", "add_embedding.linear_1": "label_emb.0.0",
             "add_embedding.linear_2": "label_emb.0.2", "conv_norm_out": "out.0", "conv_out": "out.2"}
    for k, v in sd.items():
        p = k.split(".")
        new = None
        head = ".".join(p[:-1])
        if head in fixed:
            new = fixed[head] + "." + p[-1]
        elif p[0] == "down_blocks":
            i, kind = int(p[1]), p[2]
            if kind == "resnets":
                new = f"input_blocks.{1 + i * (L + 1) + int(p[3])}.0." + _resnet_unet(".".join(p[4:]))
            elif kind == "attentions":
                new = f"input_blocks.{1 + i * (L + 1) + int(p[3])}.1." + ".".join(p[4:])
            elif kind == "downsamplers":
                assert p[3] == "0" and p[4] == "conv", k
                new = f"input_blocks.{(i + 1) * (L + 1)}.0.op." + ".".join(p[5:])
        elif p[0] == "mid_block":
            if p[1] == "resnets":
                new = f"middle_block.{2 * int(p[2])}." + _resnet_unet(".".join(p[3:]))
            elif p[1] == "attentions":
                assert p[2] == "0", k
                new = "middle_block.1." + ".".join(p[3:])
        elif p[0] == "up_blocks":
            i, kind = int(p[1]), p[2]
            if kind == "resnets":
                new = f"output_blocks.{i * (L + 1) + int(p[3])}.0." + _resnet_unet(".".join(p[4:]))
            elif kind == "attentions":
                new = f"output_blocks.{i * (L + 1) + int(p[3])}.1." + ".".join(p[4:])
            elif kind == "upsamplers":
                assert p[3] == "0" and p[4] == "conv", k
                slot = 2 if up_types[i].startswith("CrossAttn") else 1
                new = f"output_blocks.{i * (L + 1) + L}.{slot}.conv." + ".".join(p[5:])
        if new is None:
            raise KeyError("unet key without an original name: " + k)
        assert prefix + new not in out, "two keys map to " + new
        out[prefix + new] = v
    return out


def vae_to_ldm(sd, config, prefix="first_stage_model."):
    n = len(config["block_out_channels"])
    out = {}
    for k, v in sd.items():
        p = k.split(".")
        new = None
        if p[0] in ("quant_conv", "post_quant_conv"):
            new = k
        elif p[0] in ("encoder", "decoder"):
            part, rest = p[0], p[1:]
            if rest[0] in ("conv_in", "conv_out"):
                new = k
            elif rest[0] == "conv_norm_out":
                new = part + ".norm_out." + ".".join(rest[1:])
            elif rest[0] == "down_blocks":
                i = int(rest[1])
                if rest[2] == "resnets":
                    new = f"{part}.down.{i}.block.{rest[3]}." + ".".join(rest[4:]).replace("conv_shortcut", "nin_shortcut")
                elif rest[2] == "downsamplers":
                    new = f"{part}.down.{i}.downsample." + ".".join(rest[4:])
            elif rest[0] == "up_blocks":
                i = n - 1 - int(rest[1])
                if rest[2] == "resnets":
                    new = f"{part}.up.{i}.block.{rest[3]}." + ".".join(rest[4:]).replace("conv_shortcut", "nin_shortcut")
                elif rest[2] == "upsamplers":
                    new = f"{part}.up.{i}.upsample." + ".".join(rest[4:])
            elif rest[0] == "mid_block":
                if rest[1] == "resnets":
                    new = f"{part}.mid.block_{int(rest[2]) + 1}." + ".".join(rest[3:]).replace("conv_shortcut", "nin_shortcut")
                elif rest[1] == "attentions":
                    assert rest[2] == "0", k
                    names = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out": "proj_out"}
                    sub = rest[3:]
                    if sub[0] == "to_out":
                        assert sub[1] == "0", k
                        sub = ["to_out"] + sub[2:]
                    new = f"{part}.mid.attn_1.{names[sub[0]]}." + ".".join(sub[1:])
                    if sub[0] in ("to_q", "to_k", "to_v", "to_out") and sub[-1] == "weight":
                        assert v.dim() == 2, k
                        v = v.reshape(*v.shape, 1, 1)
        if new is None:
            raise KeyError("vae key without an original name: " + k)
        assert prefix + new not in out, "two keys map to " + new
        out[prefix + new] = v
    return out


def _strip_text_model(k):
    return k[len("text_model."):] if k.startswith("text_model.") else k


def clip_to_ldm(sd, prefix, position_ids=True, max_positions=77):
    """transformers CLIPTextModel -> PREFIX + text_model.*  (transformers >= 5.6 saves CLIPTextModel keys without
    'text_model.'; both forms are accepted). Real SD checkpoints also carry embeddings.position_ids (int64 [1,77]),
    added when position_ids is true: a loader must ignore it."""
    out = {}
    for k, v in sd.items():
        k2 = _strip_text_model(k)
        assert not k2.startswith("text_projection"), "clip_to_ldm is for CLIPTextModel (no projection)"
        out[prefix + "text_model." + k2] = v
    if position_ids:
        out[prefix + "text_model.embeddings.position_ids"] = torch.arange(max_positions, dtype=torch.int64)[None]
    return out


def openclip_to_ldm(sd, prefix):
    """transformers CLIPTextModel(WithProjection) -> OpenCLIP text tower keys under PREFIX."""
    out = {}
    qkv = {}
    for k, v in sd.items():
        k2 = _strip_text_model(k)
        if k2 == "embeddings.token_embedding.weight":
            new = "token_embedding.weight"
        elif k2 == "embeddings.position_embedding.weight":
            new = "positional_embedding"
        elif k2.startswith("final_layer_norm."):
            new = "ln_final." + k2.split(".")[-1]
        elif k2 == "text_projection.weight":
            new, v = "text_projection", v.t().contiguous()
        elif k2.startswith("encoder.layers."):
            p = k2.split(".")
            n, rest = int(p[2]), ".".join(p[3:])
            base = f"transformer.resblocks.{n}."
            if rest.startswith("self_attn.") and rest.split(".")[1] in ("q_proj", "k_proj", "v_proj"):
                which, kind = rest.split(".")[1][0], rest.split(".")[2]
                qkv.setdefault((n, kind), {})[which] = v
                continue
            ren = {"self_attn.out_proj.": "attn.out_proj.", "layer_norm1.": "ln_1.", "layer_norm2.": "ln_2.",
                   "mlp.fc1.": "mlp.c_fc.", "mlp.fc2.": "mlp.c_proj."}
            new = None
            for a, b in ren.items():
                if rest.startswith(a):
                    new = base + b + rest[len(a):]
            if new is None:
                raise KeyError("openclip: unknown key " + k)
        else:
            raise KeyError("openclip: unknown key " + k)
        out[prefix + new] = v
    for (n, kind), d in qkv.items():
        assert set(d) == {"q", "k", "v"}, (n, kind)
        out[prefix + f"transformer.resblocks.{n}.attn.in_proj_{kind}"] = torch.cat([d["q"], d["k"], d["v"]], 0)
    return out


def fp16_exact_(module, seed, perturb_constant=True):
    """Makes every parameter exactly representable in float16 (so a float16 single file holds the same numbers
    as the float32 folder) and, when perturb_constant, replaces constant-initialised tensors (norm weights = 1,
    biases = 0) with seeded noise around their value, so that a loader which drops or swaps them fails a test."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(module.named_parameters()):
            if perturb_constant and p.numel() > 1 and bool((p == p.flatten()[0]).all()):
                base = float(p.flatten()[0])
                scale = 0.1 if base != 0.0 else 0.02
                p.copy_(base + scale * torch.randn(p.shape, generator=g))
            p.copy_(p.half().float())


def compare_state_dicts(expected, got, what, allow_extra=()):
    """Bit-exact comparison (after upcasting to the expected dtype); returns the number of tensors compared."""
    missing = sorted(set(expected) - set(got))
    extra = sorted(k for k in set(got) - set(expected) if not any(k.endswith(s) for s in allow_extra))
    assert not missing, f"{what}: {len(missing)} keys missing after the round trip, e.g. {missing[:5]}"
    assert not extra, f"{what}: {len(extra)} unexpected keys after the round trip, e.g. {extra[:5]}"
    for k, v in expected.items():
        w = got[k]
        assert tuple(w.shape) == tuple(v.shape), f"{what}: {k} shape {tuple(w.shape)} != {tuple(v.shape)}"
        assert torch.equal(w.to(v.dtype), v), f"{what}: {k} differs (max {float((w.to(v.dtype) - v).abs().max())})"
    return len(expected)
