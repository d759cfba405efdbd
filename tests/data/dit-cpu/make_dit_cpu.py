#!/usr/bin/python3
"""CPU reference outputs of diffusers' own SD3 and Flux transformer code, for tests/nn/tst_dit.cpp.

diffusers 0.40.0.dev0 (commit 58eb52c, /work/shared/reference-kit/diffusers-src.tar.gz) needs
PyTorch 2 and the Hugging Face hub packages; this machine has Debian's python3-torch 1.13 and none
of them. So the classes are taken verbatim from diffusers' files (their source text, compiled
here) and run on torch 1.13 with these stand-ins:

- F.scaled_dot_product_attention: softmax(q·scale kᵀ) v, written as TwistedPic's manual path;
- torch.nn.RMSNorm: torch 2.4's composite rms_norm (float32 for half inputs, cast back, × weight);
- diffusers' LayerNorm alias: nn.LayerNorm (torch >= 2.1 semantics, no parameters here);
- dispatch_attention_fn: the "native" backend (permute to [B, H, L, D], SDPA, permute back);
- ModelMixin/ConfigMixin/loader mixins, decorators, logging: inert.

Everything else — PatchEmbed and its cropped sin-cos table, the timestep/text/guidance embeddings,
JointTransformerBlock, JointAttnProcessor2_0, the adaLN norms, FeedForward, FluxAttnProcessor,
FluxPosEmbed / get_1d_rotary_pos_embed / apply_rotary_emb, _pack_latents, _prepare_latent_image_ids —
is diffusers' code. The real-diffusers fixtures made on the GPU machine (tests/data/sd3-tiny,
flux-tiny) are the final word; these catch wiring and dtype errors now.

    DIFFUSERS_SRC=/tmp/diffusers-src/src/diffusers /usr/bin/python3 tests/data/dit-cpu/make_dit_cpu.py tests/data/dit-cpu

Writes reference.safetensors (weights under "<case>.transformer.", inputs and outputs under
"<case>.") and cases.json (the configs and what each case holds).
"""
import ast
import json
import math
import os
import pathlib
import struct
import sys
import types
from typing import Any, Callable, Literal, Optional, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SRC = pathlib.Path(os.environ.get("DIFFUSERS_SRC", "/tmp/diffusers-src/src/diffusers"))


# --- stand-ins for what torch 1.13 and this machine lack ---------------------------------------

def sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False):
    assert attn_mask is None and not is_causal and dropout_p == 0.0 and scale is None
    s = 1.0 / math.sqrt(query.size(-1))
    scores = torch.matmul(query * s, key.transpose(-2, -1))
    probs = torch.softmax(scores, -1).to(value.dtype)
    return torch.matmul(probs, value)


F.scaled_dot_product_attention = sdpa


class TorchRMSNorm(nn.Module):
    def __init__(self, normalized_shape, eps=None, elementwise_affine=True):
        super().__init__()
        self.normalized_shape = (normalized_shape,)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(normalized_shape)) if elementwise_affine else None

    def forward(self, x):
        opmath = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
        eps = torch.tensor(self.eps, dtype=x.dtype).item()  # scalar_t eps_val
        up = x.to(opmath)
        r = torch.rsqrt(up.pow(2).mean(-1, keepdim=True).add_(eps))
        result = up.mul(r).type_as(x)
        return result.mul(self.weight) if self.weight is not None else result


torch.nn.RMSNorm = TorchRMSNorm


def LayerNorm(dim, eps=1e-5, elementwise_affine=True, bias=True):
    assert bias or not elementwise_affine
    return nn.LayerNorm(dim, eps=eps, elementwise_affine=elementwise_affine)


def dispatch_attention_fn(query, key, value, attn_mask=None, backend=None, parallel_config=None, **kw):
    query, key, value = (x.permute(0, 2, 1, 3) for x in (query, key, value))
    out = F.scaled_dot_product_attention(query=query, key=key, value=value, attn_mask=attn_mask)
    return out.permute(0, 2, 1, 3)


class Inert:
    def __init__(self, *args, **kwargs):
        pass


class ModelMixin(nn.Module):
    pass


class AttentionModuleMixin:
    fused_projections = False

    def set_processor(self, processor):
        self.processor = processor


def register_to_config(init):
    import inspect

    def wrapper(self, *args, **kwargs):
        bound = inspect.signature(init).bind(self, *args, **kwargs)
        bound.apply_defaults()
        init(self, *args, **kwargs)
        self.config = types.SimpleNamespace(**{k: v for k, v in bound.arguments.items() if k != "self"})

    return wrapper


class Logger:
    def warning(self, *a, **k):
        pass

    info = debug = warn = warning


NAMESPACE = {
    "torch": torch, "nn": nn, "F": F, "np": np, "math": math, "numbers": __import__("numbers"),
    "inspect": __import__("inspect"), "Any": Any, "Callable": Callable, "Literal": Literal, "Optional": Optional,
    "Union": Union, "LayerNorm": LayerNorm, "dispatch_attention_fn": dispatch_attention_fn,
    "ModelMixin": ModelMixin, "AttentionModuleMixin": AttentionModuleMixin, "ContextParallelInput": Inert,
    "FluxIPAdapterAttnProcessor": Inert,
    "ContextParallelOutput": Inert, "PackedRowwiseParallel": Inert, "Transformer2DModelOutput": Inert,
    "register_to_config": register_to_config, "maybe_allow_in_graph": lambda c: c,
    "apply_lora_scale": lambda *a: (lambda f: f), "logger": Logger(), "deprecate": lambda *a, **k: None,
    "is_torch_npu_available": lambda: False, "is_torch_version": lambda op, v: False,
    "maybe_adjust_dtype_for_device": lambda dtype, device: dtype,
}

# The mixins add loading, LoRA and caching machinery: one empty class each (bases must differ).
for _mixin in ("ConfigMixin", "PeftAdapterMixin", "FromOriginalModelMixin", "SD3Transformer2DLoadersMixin",
               "FluxTransformer2DLoadersMixin", "AttentionMixin", "CacheMixin"):
    NAMESPACE[_mixin] = type(_mixin, (), {})

# Which top-level definitions to take from which file, in dependency order.
TAKE = {
    "models/activations.py": ["ACT2CLS", "get_activation", "GELU"],
    "models/embeddings.py": ["get_timestep_embedding", "get_2d_sincos_pos_embed", "get_2d_sincos_pos_embed_from_grid",
                             "get_1d_sincos_pos_embed_from_grid", "PatchEmbed", "Timesteps", "TimestepEmbedding",
                             "PixArtAlphaTextProjection", "CombinedTimestepTextProjEmbeddings",
                             "CombinedTimestepGuidanceTextProjEmbeddings", "get_1d_rotary_pos_embed",
                             "apply_rotary_emb"],
    "models/normalization.py": ["AdaLayerNormZero", "AdaLayerNormZeroSingle", "AdaLayerNormContinuous",
                                "SD35AdaLayerNormZeroX", "RMSNorm"],
    "models/attention_processor.py": ["Attention", "JointAttnProcessor2_0"],
    "models/attention.py": ["FeedForward", "JointTransformerBlock"],
    "models/transformers/transformer_sd3.py": ["SD3Transformer2DModel"],
    "models/transformers/transformer_flux.py": ["_get_projections", "_get_fused_projections", "_get_qkv_projections",
                                                "FluxAttnProcessor", "FluxAttention", "FluxSingleTransformerBlock",
                                                "FluxTransformerBlock", "FluxPosEmbed", "FluxTransformer2DModel"],
    "pipelines/flux/pipeline_flux.py": ["calculate_shift"],
}


def load_diffusers():
    # `from .normalization import ...` inside Attention.__init__ resolves against this package.
    pkg = types.ModuleType("dcpu")
    pkg.__path__ = []
    sys.modules["dcpu"] = pkg
    norm = types.ModuleType("dcpu.normalization")
    sys.modules["dcpu.normalization"] = norm
    NAMESPACE["__package__"] = "dcpu"
    NAMESPACE["__name__"] = "dcpu.models"
    for rel, names in TAKE.items():
        text = (SRC / rel).read_text()
        lines = text.splitlines()
        tree = ast.parse(text)
        found = {}
        for node in tree.body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name in names:
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                found[node.name] = "\n".join(lines[start - 1:node.end_lineno])
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and getattr(node.targets[0], "id", None) in names:
                found[node.targets[0].id] = "\n".join(lines[node.lineno - 1:node.end_lineno])
        missing = set(names) - set(found)
        assert not missing, (rel, missing)
        for name in names:
            code = compile("from __future__ import annotations\n" + found[name], f"{rel}:{name}", "exec")
            exec(code, NAMESPACE)
    norm.RMSNorm = NAMESPACE["RMSNorm"]
    norm.FP32LayerNorm = norm.LpNorm = None
    ns = types.SimpleNamespace(**NAMESPACE)
    ns.JointAttnProcessor2_0 = NAMESPACE["JointAttnProcessor2_0"]
    return ns


# --- the FluxPipeline helpers (static methods in diffusers, copied verbatim) --------------------

def pack_latents(latents, batch_size, num_channels_latents, height, width):
    latents = latents.view(batch_size, num_channels_latents, height // 2, 2, width // 2, 2)
    latents = latents.permute(0, 2, 4, 1, 3, 5)
    latents = latents.reshape(batch_size, (height // 2) * (width // 2), num_channels_latents * 4)
    return latents


def prepare_latent_image_ids(batch_size, height, width, device, dtype):
    latent_image_ids = torch.zeros(height, width, 3)
    latent_image_ids[..., 1] = latent_image_ids[..., 1] + torch.arange(height)[:, None]
    latent_image_ids[..., 2] = latent_image_ids[..., 2] + torch.arange(width)[None, :]
    h, w, c = latent_image_ids.shape
    latent_image_ids = latent_image_ids.reshape(h * w, c)
    return latent_image_ids.to(device=device, dtype=dtype)


# --- safetensors writer (the format is small enough to write by hand) ---------------------------

DTYPES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int64: "I64"}


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)


def randomize(model, seed):
    # Scales that keep activations O(1) through the blocks, so differences show (adaLN-Zero's
    # zero init would make every block an identity).
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p[0].numel()))
            elif name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def main():
    out_dir = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/dit-cpu")
    d = load_diffusers()
    torch.set_grad_enabled(False)
    g = torch.Generator().manual_seed(1234)

    def randn(*shape):
        return torch.randn(*shape, generator=g)

    tensors, cases = {}, {}

    # --- SD3-style and SD3.5-style MMDiT ---
    sd3 = dict(sample_size=8, patch_size=2, in_channels=4, num_layers=2, attention_head_dim=8, num_attention_heads=4,
               joint_attention_dim=24, caption_projection_dim=32, pooled_projection_dim=20, out_channels=4,
               pos_embed_max_size=6)
    sd35 = dict(sd3, num_layers=3, qk_norm="rms_norm", dual_attention_layers=[0, 1])
    for name, cfg, seed, latent_shape, dtypes in (
        ("sd3", sd3, 1, (2, 4, 8, 12), (torch.float32,)),
        ("sd35", sd35, 2, (1, 4, 10, 6), (torch.float32, torch.bfloat16)),
    ):
        model = d.SD3Transformer2DModel(**cfg).eval()
        randomize(model, seed)
        for key, t in model.state_dict().items():
            tensors[f"{name}.transformer.{key}"] = t
        b = latent_shape[0]
        inputs = {"hidden_states": randn(*latent_shape), "encoder_hidden_states": randn(b, 7, 24),
                  "pooled_projections": randn(b, 20), "timestep": torch.tensor([1000.0, 487.25][:b])}
        for k, v in inputs.items():
            tensors[f"{name}.in.{k}"] = v
        for dtype in dtypes:
            m = model.to(dtype)
            x = {k: (v if k == "timestep" else v.to(dtype)) for k, v in inputs.items()}
            out = m(**x, return_dict=False)[0]
            tensors[f"{name}.out.{str(dtype).replace('torch.', '')}"] = out
        model.to(torch.float32)
        cases[name] = {"config": cfg, "dtypes": [str(t).replace("torch.", "") for t in dtypes]}

    # --- Flux dev (guidance embedding) and schnell ---
    flux = dict(patch_size=1, in_channels=16, num_layers=2, num_single_layers=2, attention_head_dim=16,
                num_attention_heads=2, joint_attention_dim=24, pooled_projection_dim=12, guidance_embeds=True,
                axes_dims_rope=[4, 6, 6])
    schnell = dict(flux, guidance_embeds=False, num_single_layers=3)
    for name, cfg, seed, dtypes in (("flux_dev", flux, 3, (torch.float32, torch.bfloat16)),
                                    ("flux_schnell", schnell, 4, (torch.float32,))):
        model = d.FluxTransformer2DModel(**cfg).eval()
        randomize(model, seed)
        for key, t in model.state_dict().items():
            tensors[f"{name}.transformer.{key}"] = t
        b, c, h, w = 2, 4, 6, 8
        latents = randn(b, c, h, w)
        inputs = {"latents": latents, "encoder_hidden_states": randn(b, 5, 24), "pooled_projections": randn(b, 12),
                  "t": torch.tensor([1000.0, 250.5])}
        for k, v in inputs.items():
            tensors[f"{name}.in.{k}"] = v
        for dtype in dtypes:
            m = model.to(dtype)
            packed = pack_latents(latents.to(dtype), b, c, h, w)
            img_ids = prepare_latent_image_ids(b, h // 2, w // 2, "cpu", dtype)
            txt_ids = torch.zeros(5, 3).to(dtype=dtype)
            timestep = inputs["t"].to(dtype)  # t.expand(B).to(latents.dtype)
            guidance = torch.full([1], 3.5, dtype=torch.float32).expand(b) if cfg["guidance_embeds"] else None
            out = m(hidden_states=packed, encoder_hidden_states=inputs["encoder_hidden_states"].to(dtype),
                    pooled_projections=inputs["pooled_projections"].to(dtype), timestep=timestep / 1000,
                    img_ids=img_ids, txt_ids=txt_ids, guidance=guidance, return_dict=False)[0]
            tensors[f"{name}.out.{str(dtype).replace('torch.', '')}"] = out
            if dtype == torch.float32:
                tensors[f"{name}.packed"] = packed
                tensors[f"{name}.img_ids"] = img_ids
        model.to(torch.float32)
        cases[name] = {"config": cfg, "dtypes": [str(t).replace("torch.", "") for t in dtypes],
                       "guidance": 3.5 if cfg["guidance_embeds"] else None, "text_tokens": 5}

    # --- the building blocks on their own ---
    pe = d.get_2d_sincos_pos_embed(16, 6, base_size=4, interpolation_scale=1.0, output_type="pt")
    tensors["blocks.sincos_16_6_4"] = pe.float()
    patch = d.PatchEmbed(height=8, width=8, patch_size=2, in_channels=4, embed_dim=16, pos_embed_max_size=6)
    tensors["blocks.crop_3x2"] = patch.cropped_pos_embed(3 * 2, 2 * 2)  # rows, cols of patches × patch size
    tensors["blocks.crop_6x5"] = patch.cropped_pos_embed(6 * 2, 5 * 2)
    ids = torch.tensor([[0, 0, 0], [0, 5, 7], [0, 63, 127], [3, 1, 2], [0, 255, 300]], dtype=torch.float32)
    pos = d.FluxPosEmbed(theta=10000, axes_dim=[16, 56, 56])
    cos, sin = pos(ids)
    tensors["blocks.rope_ids"] = ids
    tensors["blocks.rope_cos"] = cos
    tensors["blocks.rope_sin"] = sin
    q = randn(2, 5, 3, 128)  # [B, S, H, D] as FluxAttnProcessor holds it
    tensors["blocks.rope_q"] = q
    tensors["blocks.rope_q_rotated"] = d.apply_rotary_emb(q, (cos, sin), sequence_dim=1)
    tensors["blocks.rope_q_rotated_bf16"] = d.apply_rotary_emb(q.to(torch.bfloat16), (cos, sin), sequence_dim=1)

    write_safetensors(out_dir / "reference.safetensors", tensors)
    meta = {"cases": cases, "versions": {"torch": torch.__version__, "numpy": np.__version__,
                                         "python": sys.version.split()[0], "diffusers": "0.40.0.dev0 (58eb52c)"}}
    (out_dir / "cases.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"{len(tensors)} tensors, {sum(t.numel() for t in tensors.values())} values")


if __name__ == "__main__":
    main()
