#!/usr/bin/env python3
"""Times diffusers on a pipeline folder the way `twistedpic-bench generation` times TwistedPic, for the
side-by-side table (compare.py). Runs on the GPU machine with the reference kit on PYTHONPATH.

    python3 bench/compare/diffusers_bench.py --model DIR --width 512 --height 512 --steps 20 --guidance 7.5 \
        --sampler euler --dtype fp16 --batch 1 --runs 3 --json OUT.json --label "sd15 eager"

Several shapes in one process (one load): --sizes 512x512,768x768 --batches 1,4 (they replace --width/--height
and --batch).

What is measured, per shape (size x batch):
- warm-up: one generation of --warmup-steps steps (default 2: loads the kernels and cuDNN plans, as
  twistedpic-bench's 2-step warm-up); with --compile the first call is instead a full generation, timed on its
  own as `compile_s` (compilation + CUDA-graph recording + one generation).
- R timed generations (--runs): the whole `pipe(...)` call with output_type="np" (text encoding, denoising,
  VAE decode, conversion to numpy), bracketed by torch.cuda.synchronize(); s/image = seconds / batch; the
  median and the minimum over the runs are reported.
- it/s of the denoising loop: a CUDA event is recorded (no host sync) in `callback_on_step_end`, i.e. after
  each step's work has been queued; it/s = (steps - 1) / (time from the end of step 1 to the end of the last
  step), on the GPU's clock. The first step is left out of it (it follows the text encoding, which shares the
  stream); `first_step_end_ms` (from the call's start to the end of step 1) and `after_last_step_ms` (VAE
  decode + conversion) complete the picture. Steps per second, not images: a batch of 4 counts one step per
  step, as in twistedpic-bench.
- peak allocated / peak reserved: torch.cuda.max_memory_allocated / max_memory_reserved, reset before each run
  (the maximum over the runs is reported).
- memory after cleanup (gc.collect + torch.cuda.empty_cache): allocated, reserved and the device's used memory
  (torch.cuda.mem_get_info: all processes, incl. this one's CUDA context); then after moving the pipeline to the
  CPU (pipe.to("cpu"), the counterpart of TwistedPic's unload), with the time of that move and of moving it back.

The JSON (--json) holds every figure, the torch/diffusers/transformers versions, the GPU, and the exact call;
it is rewritten after each shape, so a run cut short by a time limit still leaves what it measured."""
import argparse
import gc
import inspect
import json
import os
import platform
import shlex
import statistics
import sys
import time
import traceback
import types

PROMPT = "a photograph of an astronaut riding a horse on the moon, detailed, 8k"
SEED = 1234
DTYPES = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}
MiB = 1024.0 * 1024.0


def log(msg):
    print(msg, flush=True)


def parse_size(text):
    t = str(text).lower().strip()
    if "x" in t:
        w, h = t.split("x", 1)
        return int(w), int(h)
    return int(t), int(t)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="diffusers pipeline folder")
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--height", type=int, default=512)
    ap.add_argument("--sizes", help="WxH[,WxH...] (replaces --width/--height)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=7.5)
    ap.add_argument("--sampler", default="default", choices=["euler", "euler_a", "dpmpp_2m", "default"],
                    help="default keeps the folder's scheduler (e.g. FlowMatchEuler)")
    ap.add_argument("--dtype", default="fp16", choices=sorted(DTYPES))
    ap.add_argument("--batch", type=int, default=1, help="images per prompt")
    ap.add_argument("--batches", help="B[,B...] (replaces --batch)")
    ap.add_argument("--runs", type=int, default=3, help="timed generations per shape")
    ap.add_argument("--warmup-steps", type=int, default=2)
    ap.add_argument("--max-sequence-length", type=int, default=0, help="T5 tokens (SD3/Flux); 0: the pipeline's")
    ap.add_argument("--compile", action="store_true", help="torch.compile the UNet/transformer")
    ap.add_argument("--compile-mode", default="reduce-overhead")
    ap.add_argument("--no-fullgraph", action="store_true", help="compile without fullgraph=True")
    ap.add_argument("--channels-last", action="store_true",
                    help="UNet in channels-last (always on with --compile for UNets)")
    ap.add_argument("--offload", default="none", choices=["none", "model", "sequential", "group"])
    ap.add_argument("--group-offload-type", default="leaf_level", choices=["leaf_level", "block_level"])
    ap.add_argument("--group-blocks", type=int, default=1, help="num_blocks_per_group for block_level")
    ap.add_argument("--fp8-layerwise", action="store_true",
                    help="denoiser weights stored as float8_e4m3fn, upcast per layer (enable_layerwise_casting)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--prompt", default=PROMPT)
    ap.add_argument("--no-unload", action="store_true", help="skip the move to the CPU and back at the end")
    ap.add_argument("--json", required=True, help="where the report goes")
    ap.add_argument("--label", default="diffusers")
    args = ap.parse_args(argv)
    args.shapes = []
    sizes = [parse_size(s) for s in args.sizes.split(",") if s] if args.sizes else [(args.width, args.height)]
    batches = [int(b) for b in args.batches.split(",") if b] if args.batches else [args.batch]
    for w, h in sizes:
        for b in batches:
            args.shapes.append((w, h, b))
    return args


# ---------------------------------------------------------------------------------------------------------
# measuring


def mem_snapshot(torch):
    if not torch.cuda.is_available():
        return None
    free, total = torch.cuda.mem_get_info()
    return {"allocated_mib": torch.cuda.memory_allocated() / MiB, "reserved_mib": torch.cuda.memory_reserved() / MiB,
            "device_used_mib": (total - free) / MiB, "device_total_mib": total / MiB}


def sync(torch):
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class StepTimer:
    """Marks on the GPU's timeline (CUDA events, no host sync) or, without CUDA, host timestamps."""

    def __init__(self, torch):
        self.torch = torch
        self.cuda = torch.cuda.is_available()
        self.marks = []

    def reset(self):
        self.marks = []

    def mark(self):
        if self.cuda:
            e = self.torch.cuda.Event(enable_timing=True)
            e.record()
            self.marks.append(e)
        else:
            self.marks.append(time.perf_counter())

    def callback(self, pipe, step, timestep, callback_kwargs):  # diffusers' callback_on_step_end
        self.mark()
        return {}

    def ms(self, a, b):
        if self.cuda:
            return a.elapsed_time(b)
        return (b - a) * 1000.0

    def summary(self, steps):
        """After the call's end mark and a sync: marks = [start, step 1..n, end]."""
        if len(self.marks) < 3:
            return {"callbacks": max(0, len(self.marks) - 2)}
        start, end, step_marks = self.marks[0], self.marks[-1], self.marks[1:-1]
        n = len(step_marks)
        out = {"callbacks": n, "first_step_end_ms": self.ms(start, step_marks[0]),
               "after_last_step_ms": self.ms(step_marks[-1], end), "gpu_total_ms": self.ms(start, end)}
        if n >= 2:
            span = self.ms(step_marks[0], step_marks[-1])
            out["steps_span_ms"] = span
            out["it_per_s"] = (n - 1) * 1000.0 / span if span > 0 else None
            out["step_ms"] = span / (n - 1)
        if n != steps:
            out["note"] = f"{n} step callbacks for {steps} steps"
        return out


def generate(pipe, torch, timer, call_kwargs, steps, batch, seed, device):
    """One pipeline call; returns its figures and the images."""
    gen = torch.Generator(device=device).manual_seed(seed)
    kwargs = dict(call_kwargs, num_inference_steps=steps, num_images_per_prompt=batch, generator=gen,
                  callback_on_step_end=timer.callback)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    timer.reset()
    sync(torch)
    t0 = time.perf_counter()
    timer.mark()
    images = pipe(**kwargs).images
    timer.mark()
    sync(torch)
    seconds = time.perf_counter() - t0
    r = {"seconds": seconds, "s_per_image": seconds / batch}
    r.update(timer.summary(steps))
    if torch.cuda.is_available():
        r["peak_allocated_mib"] = torch.cuda.max_memory_allocated() / MiB
        r["peak_reserved_mib"] = torch.cuda.max_memory_reserved() / MiB
    return r, images


def image_stats(images):
    import numpy as np
    a = np.asarray(images, dtype=np.float32)
    return {"shape": list(a.shape), "nan_or_inf": bool(not np.isfinite(a).all()),
            "mean": float(np.nanmean(a)), "std": float(np.nanstd(a))}


# ---------------------------------------------------------------------------------------------------------
# loading


class SentencePieceT5Tokenizer:
    """The calls diffusers' SD3/Flux pipelines make on their T5 tokenizer, done with SentencePiece: used only
    when transformers cannot load the folder's spiece.model. Ids: pieces + </s> (1), cut keeping </s> last,
    padded with <pad> (0) - T5's rules."""

    model_max_length = 512

    def __init__(self, path):
        import sentencepiece as spm
        self.sp = spm.SentencePieceProcessor(model_file=path)

    def _ids(self, text):
        return list(self.sp.encode(text)) + [1]

    def __call__(self, prompt, padding=False, max_length=None, truncation=False, add_special_tokens=True,
                 return_tensors=None, **kwargs):
        import torch
        rows = [self._ids(p) for p in ([prompt] if isinstance(prompt, str) else list(prompt))]
        if truncation and max_length:
            rows = [r[:max_length - 1] + [1] if len(r) > max_length else r for r in rows]
        width = max_length if padding == "max_length" and max_length else max(len(r) for r in rows)
        rows = [r + [0] * (width - len(r)) for r in rows]
        ids = torch.tensor(rows, dtype=torch.long)
        return types.SimpleNamespace(input_ids=ids, attention_mask=(ids != 0).long())

    def batch_decode(self, ids, **kwargs):
        return [self.sp.decode([int(i) for i in row if int(i) > 2]) for row in ids]

    def __len__(self):
        return self.sp.get_piece_size() + 100


def t5_tokenizer_overrides(model_dir, model_index, report):
    """For each T5 tokenizer of the folder: the transformers tokenizer if it loads (passed to from_pretrained so
    it is not loaded twice), else None there and a SentencePiece stand-in set after loading."""
    import transformers
    overrides, stand_ins = {}, {}
    for name, entry in model_index.items():
        if not (isinstance(entry, list) and len(entry) == 2 and entry[1] and str(entry[1]).startswith("T5Token")):
            continue
        folder = os.path.join(model_dir, name)
        cls = getattr(transformers, entry[1], None) or getattr(transformers, "T5Tokenizer", None)
        try:
            overrides[name] = cls.from_pretrained(folder)
            report["tokenizers"][name] = f"transformers {type(overrides[name]).__name__}"
        except Exception as e:  # noqa: BLE001 - the stand-in takes over
            overrides[name] = None
            stand_ins[name] = SentencePieceT5Tokenizer(os.path.join(folder, "spiece.model"))
            report["tokenizers"][name] = (f"SentencePiece stand-in (transformers {entry[1]} failed: "
                                          f"{type(e).__name__}: {str(e)[:200]})")
        log(f"  {name}: {report['tokenizers'][name]}")
    return overrides, stand_ins


def set_sampler(pipe, name, diffusers):
    current = type(pipe.scheduler).__name__
    if name == "default":
        return current
    flow = "FlowMatch" in current
    if flow:
        if name == "euler":
            return current  # flow-matching Euler already
        raise ValueError(f"--sampler {name} is for the SD 1.x/SDXL noise schedules; this folder uses {current}")
    cls = {"euler": "EulerDiscreteScheduler", "euler_a": "EulerAncestralDiscreteScheduler",
           "dpmpp_2m": "DPMSolverMultistepScheduler"}[name]
    pipe.scheduler = getattr(diffusers, cls).from_config(pipe.scheduler.config)
    return cls


def denoiser_name(pipe):
    for name in ("unet", "transformer"):
        if getattr(pipe, name, None) is not None:
            return name
    raise ValueError("the pipeline has neither a unet nor a transformer")


def module_bytes(pipe, torch):
    total = 0
    for comp in pipe.components.values():
        if isinstance(comp, torch.nn.Module):
            for t in list(comp.parameters()) + list(comp.buffers()):
                total += t.numel() * t.element_size()
    return total


def load(args, torch, diffusers, report):
    dtype = getattr(torch, DTYPES[args.dtype])
    with open(os.path.join(args.model, "model_index.json"), encoding="utf-8") as f:
        model_index = json.load(f)
    report["pipeline_class"] = model_index.get("_class_name")
    overrides, stand_ins = t5_tokenizer_overrides(args.model, model_index, report)
    sync(torch)
    t0 = time.perf_counter()
    pipe = diffusers.DiffusionPipeline.from_pretrained(args.model, dtype=dtype, **overrides)
    t1 = time.perf_counter()
    for name, tok in stand_ins.items():
        setattr(pipe, name, tok)
    pipe.set_progress_bar_config(disable=True)
    report["weights_mib"] = module_bytes(pipe, torch) / MiB
    den = denoiser_name(pipe)
    report["denoiser"] = den
    if args.fp8_layerwise:
        getattr(pipe, den).enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=dtype)
        report["fp8_layerwise"] = f"{den}: enable_layerwise_casting(storage_dtype=float8_e4m3fn, compute_dtype={dtype})"
    device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.offload == "none":
        pipe.to(device)
    elif args.offload == "model":
        pipe.enable_model_cpu_offload()
    elif args.offload == "sequential":
        pipe.enable_sequential_cpu_offload()
    else:
        kw = {"onload_device": torch.device(device), "offload_device": torch.device("cpu"),
              "offload_type": args.group_offload_type, "use_stream": True}
        if args.group_offload_type == "block_level":
            kw["num_blocks_per_group"] = args.group_blocks
        pipe.enable_group_offload(**kw)
        report["group_offload"] = {k: str(v) for k, v in kw.items()}
    sync(torch)
    t2 = time.perf_counter()
    report["load"] = {"from_pretrained_s": t1 - t0, "to_device_s": t2 - t1, "total_s": t2 - t0,
                      "memory": mem_snapshot(torch)}
    log(f"  loaded in {t2 - t0:.2f} s (from_pretrained {t1 - t0:.2f} s, to {device}/offload {t2 - t1:.2f} s), "
        f"weights {report['weights_mib'] / 1024:.2f} GiB")
    return pipe, device


def compile_denoiser(pipe, torch, args, report, fullgraph):
    den = report["denoiser"]
    module = getattr(pipe, den)
    module = getattr(module, "_orig_mod", module)
    if den == "unet":
        module.to(memory_format=torch.channels_last)
    dyn = torch._dynamo.config
    # One static graph per shape, as a user with one size gets (no "automatic dynamic" graph after a second
    # shape), and room for the shapes of this run.
    if hasattr(dyn, "automatic_dynamic_shapes"):
        dyn.automatic_dynamic_shapes = False
    for key in ("recompile_limit", "cache_size_limit"):
        if hasattr(dyn, key):
            setattr(dyn, key, max(64, getattr(dyn, key)))
    setattr(pipe, den, torch.compile(module, mode=args.compile_mode, fullgraph=fullgraph))
    report["compile"] = {"module": den, "mode": args.compile_mode, "fullgraph": fullgraph,
                         "channels_last": den == "unet"}


# ---------------------------------------------------------------------------------------------------------


def main(argv=None):
    args = parse_args(argv)
    report = {"tool": "diffusers_bench", "label": args.label,
              "call": " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv),
              "model": os.path.abspath(args.model), "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "settings": {"prompt": args.prompt, "seed": args.seed, "steps": args.steps, "guidance": args.guidance,
                           "sampler": args.sampler, "dtype": args.dtype, "runs": args.runs,
                           "warmup_steps": args.warmup_steps, "compile": args.compile,
                           "offload": args.offload, "fp8_layerwise": args.fp8_layerwise,
                           "max_sequence_length": args.max_sequence_length or None,
                           "channels_last": args.channels_last or args.compile},
              "tokenizers": {}, "results": [], "errors": []}
    t_start = time.perf_counter()

    def write():
        report["duration_s"] = time.perf_counter() - t_start
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        tmp = args.json + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2, default=str)
        os.replace(tmp, args.json)

    try:
        import torch
        import diffusers
        import transformers
    except Exception as e:  # noqa: BLE001
        report["errors"].append(f"import: {type(e).__name__}: {e}")
        write()
        log(f"cannot import torch/diffusers/transformers: {e}")
        return 1
    torch.set_grad_enabled(False)
    report["versions"] = {"python": platform.python_version(), "torch": torch.__version__,
                          "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
                          "diffusers": diffusers.__version__, "transformers": transformers.__version__}
    if torch.cuda.is_available():
        torch.cuda.init()
        p = torch.cuda.get_device_properties(0)
        report["gpu"] = {"name": p.name, "total_mib": p.total_memory / MiB, "capability": f"{p.major}.{p.minor}",
                         "cudnn_benchmark": torch.backends.cudnn.benchmark}
        torch.zeros(1, device="cuda")
        report["memory_context"] = mem_snapshot(torch)
    else:
        report["gpu"] = None
    log(f"[{args.label}] {args.model}: torch {torch.__version__}, diffusers {diffusers.__version__}, "
        f"{report['gpu']['name'] if report['gpu'] else 'no CUDA'}")

    try:
        pipe, device = load(args, torch, diffusers, report)
        report["settings"]["scheduler"] = set_sampler(pipe, args.sampler, diffusers)
        if args.compile:
            compile_denoiser(pipe, torch, args, report, fullgraph=not args.no_fullgraph)
        elif args.channels_last and report["denoiser"] == "unet":
            pipe.unet.to(memory_format=torch.channels_last)
    except Exception as e:  # noqa: BLE001
        report["errors"].append(f"load: {type(e).__name__}: {e}")
        report["traceback"] = traceback.format_exc()
        write()
        log(f"[{args.label}] load failed: {type(e).__name__}: {e}")
        return 1
    write()

    call_kwargs = {"prompt": args.prompt, "guidance_scale": args.guidance, "output_type": "np"}
    if args.max_sequence_length and "max_sequence_length" in inspect.signature(pipe.__call__).parameters:
        call_kwargs["max_sequence_length"] = args.max_sequence_length
    timer = StepTimer(torch)
    for w, h, b in args.shapes:
        row = {"size": f"{w}x{h}", "width": w, "height": h, "batch": b, "steps": args.steps,
               "guidance": args.guidance}
        report["results"].append(row)
        kw = dict(call_kwargs, width=w, height=h)
        try:
            if args.compile:
                try:
                    first, _ = generate(pipe, torch, timer, kw, args.steps, b, args.seed + 1, device)
                except Exception as e:  # noqa: BLE001 - fullgraph may be refused: compile again without
                    if not report["compile"]["fullgraph"]:
                        raise
                    log(f"  fullgraph compile failed ({type(e).__name__}): compiling with fullgraph=False")
                    torch._dynamo.reset()
                    compile_denoiser(pipe, torch, args, report, fullgraph=False)
                    report["compile"]["fullgraph_error"] = f"{type(e).__name__}: {str(e)[:400]}"
                    first, _ = generate(pipe, torch, timer, kw, args.steps, b, args.seed + 1, device)
                row["compile_s"] = first["seconds"]
                row["compile_call"] = first
            else:
                warm, _ = generate(pipe, torch, timer, kw, max(1, args.warmup_steps), b, args.seed + 1, device)
                row["warmup_s"] = warm["seconds"]
            runs = []
            for i in range(args.runs):
                r, images = generate(pipe, torch, timer, kw, args.steps, b, args.seed, device)
                runs.append(r)
                if i == args.runs - 1:
                    row["image"] = image_stats(images)
                del images
            row["runs"] = runs
            per_image = [r["s_per_image"] for r in runs]
            its = [r["it_per_s"] for r in runs if r.get("it_per_s")]
            row.update({"median_s_per_image": statistics.median(per_image), "min_s_per_image": min(per_image),
                        "it_per_s": statistics.median(its) if its else None,
                        "first_step_end_ms": statistics.median(r.get("first_step_end_ms", 0) for r in runs),
                        "after_last_step_ms": statistics.median(r.get("after_last_step_ms", 0) for r in runs)})
            if torch.cuda.is_available():
                row["peak_allocated_mib"] = max(r["peak_allocated_mib"] for r in runs)
                row["peak_reserved_mib"] = max(r["peak_reserved_mib"] for r in runs)
            log(f"  {w}x{h} batch {b}: {row['median_s_per_image']:.3f} s/image (min {row['min_s_per_image']:.3f}), "
                f"{row['it_per_s'] or 0:.2f} it/s, peak allocated {row.get('peak_allocated_mib', 0) / 1024:.2f} GiB, "
                f"reserved {row.get('peak_reserved_mib', 0) / 1024:.2f} GiB"
                + (f", compile {row['compile_s']:.1f} s" if "compile_s" in row else "")
                + (" NaN/inf in the image!" if row["image"]["nan_or_inf"] else ""))
        except Exception as e:  # noqa: BLE001 - OOM and the like: the next shape may still run
            row["error"] = f"{type(e).__name__}: {str(e)[:600]}"
            report["errors"].append(f"{w}x{h} batch {b}: {row['error']}")
            log(f"  {w}x{h} batch {b}: FAILED {row['error'][:300]}")
            gc.collect()
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        write()

    # memory after cleanup, after unload to the CPU, and the reload
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        report["memory_after_cleanup"] = mem_snapshot(torch)
    if args.no_unload or args.offload != "none" or not torch.cuda.is_available():
        report["unload"] = {"skipped": "offloading pipeline" if args.offload != "none" else "not asked / no CUDA"}
    else:
        try:
            sync(torch)
            t0 = time.perf_counter()
            pipe.to("cpu")
            sync(torch)
            unload_s = time.perf_counter() - t0
            gc.collect()
            torch.cuda.empty_cache()
            after = mem_snapshot(torch)
            t0 = time.perf_counter()
            pipe.to("cuda")
            sync(torch)
            report["unload"] = {"unload_s": unload_s, "memory_after_unload": after,
                                "reload_s": time.perf_counter() - t0}
        except Exception as e:  # noqa: BLE001
            report["unload"] = {"error": f"{type(e).__name__}: {e}"}
    write()
    c = report.get("memory_after_cleanup") or {}
    u = report["unload"].get("memory_after_unload") or {}
    log(f"[{args.label}] after cleanup: allocated {c.get('allocated_mib', 0):.0f} MiB, reserved "
        f"{c.get('reserved_mib', 0):.0f} MiB, device used {c.get('device_used_mib', 0):.0f} MiB; after unload: "
        f"device used {u.get('device_used_mib', 0):.0f} MiB; {args.json}")
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
