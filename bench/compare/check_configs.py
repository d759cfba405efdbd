#!/usr/bin/env python3
"""Checks the configs in configs.py against the constructors of the pinned diffusers source, without importing
diffusers or torch (it reads the source with `ast`), so it runs on the development machine:

    mkdir -p /tmp/diffusers-src && tar xzf ../shared/reference-kit/diffusers-src.tar.gz -C /tmp/diffusers-src
    python3 bench/compare/check_configs.py /tmp/diffusers-src/src/diffusers

For each diffusers component and scheduler of every family: every key must be an `__init__` argument of its
class (a misspelt key would otherwise be dropped by `from_config` with a mere warning). Also checks the derived
figures that are easy to get wrong (SDXL's 2816 = 1280 + 6 x 256, Flux's RoPE axes sum to the head size, SD3's
caption width = heads x head size). Exit status 0 when all is well."""
import ast
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import configs  # noqa: E402

CLASS_FILES = {
    "UNet2DConditionModel": "models/unets/unet_2d_condition.py",
    "AutoencoderKL": "models/autoencoders/autoencoder_kl.py",
    "SD3Transformer2DModel": "models/transformers/transformer_sd3.py",
    "FluxTransformer2DModel": "models/transformers/transformer_flux.py",
    "PNDMScheduler": "schedulers/scheduling_pndm.py",
    "EulerDiscreteScheduler": "schedulers/scheduling_euler_discrete.py",
    "FlowMatchEulerDiscreteScheduler": "schedulers/scheduling_flow_match_euler_discrete.py",
}
# Keys that schedulers of SD folders carry for other scheduler classes (diffusers ignores them on purpose:
# `from_config` keeps them in the config so that a swapped-in scheduler finds them).
SCHEDULER_SHARED_KEYS = {"skip_prk_steps", "set_alpha_to_one", "clip_sample", "sample_max_value"}


def init_args(src_root, class_name):
    path = os.path.join(src_root, CLASS_FILES[class_name])
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    a = item.args
                    return {x.arg for x in a.args + a.kwonlyargs} - {"self"}
    raise SystemExit(f"{class_name}: no __init__ found in {path}")


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    src = sys.argv[1]
    problems = []
    checked = 0
    for family, spec in configs.FAMILIES.items():
        for name, lib, cls, cfg in spec["components"]:
            if lib != "diffusers":
                continue
            unknown = set(cfg) - init_args(src, cls)
            checked += 1
            if unknown:
                problems.append(f"{family}/{name} ({cls}): unknown keys {sorted(unknown)}")
        cls, cfg = spec["scheduler"]
        unknown = set(cfg) - init_args(src, cls) - SCHEDULER_SHARED_KEYS
        checked += 1
        if unknown:
            problems.append(f"{family}/scheduler ({cls}): unknown keys {sorted(unknown)}")

    u = configs.SDXL_UNET
    if u["projection_class_embeddings_input_dim"] != configs.CLIP_G["projection_dim"] + 6 * u["addition_time_embed_dim"]:
        problems.append("SDXL: projection_class_embeddings_input_dim != pooled + 6 x addition_time_embed_dim")
    if u["cross_attention_dim"] != configs.CLIP_L["hidden_size"] + configs.CLIP_G["hidden_size"]:
        problems.append("SDXL: cross_attention_dim != CLIP-L + bigG widths")
    for fam in ("flux-dev", "flux-schnell"):
        t = configs.FAMILIES[fam]["components"][2][3]
        if sum(t["axes_dims_rope"]) != t["attention_head_dim"]:
            problems.append(f"{fam}: RoPE axes do not add up to the head size")
        if t["pooled_projection_dim"] != configs.CLIP_L["hidden_size"]:
            problems.append(f"{fam}: pooled width != CLIP-L width")
    for fam in ("sd3-medium", "sd35-medium", "sd35-large"):
        t = configs.FAMILIES[fam]["components"][3][3]
        if t["caption_projection_dim"] != t["num_attention_heads"] * t["attention_head_dim"]:
            problems.append(f"{fam}: caption_projection_dim != heads x head size")
        if t["pooled_projection_dim"] != configs.CLIP_L["projection_dim"] + configs.CLIP_G["projection_dim"]:
            problems.append(f"{fam}: pooled width != CLIP-L + CLIP-G projections")
        if t["joint_attention_dim"] != configs.T5_XXL["d_model"]:
            problems.append(f"{fam}: joint_attention_dim != T5 width")
    if configs.FAMILIES["flux-dev"]["components"][2][3]["joint_attention_dim"] != configs.T5_XXL["d_model"]:
        problems.append("flux: joint_attention_dim != T5 width")

    for p in problems:
        print("PROBLEM:", p)
    print(f"{checked} component/scheduler configs checked against {src}: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
