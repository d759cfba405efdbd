#!/usr/bin/env python3
"""Side by side: diffusers (eager, and torch.compile where asked) and `twistedpic-bench generation` on the same
random-weight pipeline folder, same steps / guidance / size / precision, one after the other on the same GPU,
then ONE combined JSON and a Markdown table. Runs on the GPU machine (reference kit on PYTHONPATH, TwistedPic
built there); see bench/compare/README.md.

    python3 bench/compare/compare.py sd15:512,768:1,4 sdxl --out /tmp/gpu-res/compare \
        --bench build-gpu/bench/twistedpic-bench

A SPEC is FAMILY[:SIZES[:BATCHES]] (sizes N or WxH, comma-separated); what is left out comes from the family's
defaults (configs.py). For each family: the folder (--models-root/FAMILY, or --model for a single family) is
made with make_random_pipeline.py when it has no model_index.json, then diffusers eager runs every shape in one
process (one load), diffusers compiled runs the shapes that --compile names in another, and twistedpic-bench
runs the square shapes. A side that fails or runs out of time still leaves the other sides' figures; its error
is in the JSON and under the table.

Writes OUT/compare.json, OUT/compare.md and OUT/raw/ (each side's own JSON and log)."""
import argparse
import json
import os
import platform
import re
import shlex
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import configs  # noqa: E402

MiB = 1024.0 * 1024.0


def log(msg):
    print(msg, flush=True)


def parse_spec(text):
    parts = text.split(":")
    family = parts[0]
    if family not in configs.FAMILIES:
        raise SystemExit(f"unknown family {family!r}: one of {', '.join(sorted(configs.FAMILIES))}")
    d = configs.FAMILIES[family]["defaults"]
    sizes = [configs.parse_size(s) for s in parts[1].split(",") if s] if len(parts) > 1 and parts[1] else \
        [configs.parse_size(s) for s in d["sizes"]]
    batches = [int(b) for b in parts[2].split(",") if b] if len(parts) > 2 and parts[2] else list(d["batches"])
    return {"family": family, "sizes": sizes, "batches": batches}


def python_env():
    """The Python sides run without the Qt kit's libraries in front of the wheels' own (LD_LIBRARY_PATH from
    .gpu-kit/env.sh points at /opt/qtroot)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    ld = [p for p in env.get("LD_LIBRARY_PATH", "").split(":") if p and "/opt/qtroot" not in p]
    env["LD_LIBRARY_PATH"] = ":".join(ld)
    return env


def twistedpic_env():
    """TwistedPic's programs need the libraries the Python side is kept away from (device.sh's refpy strips
    the Qt kit from LD_LIBRARY_PATH and keeps the original in TP_BENCH_LD_LIBRARY_PATH)."""
    env = dict(os.environ)
    if env.get("TP_BENCH_LD_LIBRARY_PATH"):
        env["LD_LIBRARY_PATH"] = env["TP_BENCH_LD_LIBRARY_PATH"]
    return env


def run(cmd, log_path, timeout, env=None):
    """Runs cmd in its own process group with stdout+stderr into log_path; on timeout the whole group is
    killed. Returns {rc, seconds, timed_out, tail}."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    t0 = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as f:
        f.write("$ " + " ".join(shlex.quote(c) for c in cmd) + "\n")
        f.flush()
        try:
            p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                 cwd=ROOT)
        except OSError as e:
            return {"rc": None, "seconds": 0.0, "timed_out": False, "tail": f"cannot start: {e}"}
        timed_out = False
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            rc = p.wait()
    with open(log_path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    return {"rc": rc, "seconds": time.perf_counter() - t0, "timed_out": timed_out, "tail": "\n".join(lines[-12:])}


def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def side_error(res, data, what):
    """A one-line error for a side, or None."""
    if res.get("timed_out"):
        return f"{what}: ran out of time after {res['seconds']:.0f} s (killed); figures measured before are kept"
    if data is None:
        last = [l for l in res.get("tail", "").splitlines() if l.strip()]
        return f"{what} failed (exit {res.get('rc')}, no report): {last[-1][:300] if last else 'no output'}"
    return None


# ---------------------------------------------------------------------------------------------------------


def resume(out_json, args, family, name):
    """--resume: a side whose JSON an earlier call on this machine left (with results) is taken as it is."""
    if not args.resume:
        return None
    data = read_json(out_json)
    if not data or not data.get("results"):
        return None
    log(f"[{family}] {name}: resumed from {out_json}")
    return {"call": "(resumed from an earlier call)", "seconds": 0, "rc": 0, "timed_out": False, "error": None,
            "report": data, "log": os.path.relpath(out_json[:-5] + ".log", args.out), "resumed": True}


def make_model(family, folder, dtype, args, raw):
    if os.path.isfile(os.path.join(folder, "model_index.json")):
        return {"made": False, "folder": folder}
    if args.no_make:
        return {"error": f"{folder} has no model_index.json and --no-make was given"}
    cmd = [args.python, os.path.join(HERE, "make_random_pipeline.py"), "--family", family, "--out", folder,
           "--dtype", dtype]
    log(f"[{family}] making the random-weight pipeline in {folder}")
    res = run(cmd, os.path.join(raw, f"{family}-make.log"), args.make_timeout, python_env())
    for line in res["tail"].splitlines()[-6:]:
        log("    " + line)
    out = {"made": True, "folder": folder, "seconds": res["seconds"], "call": " ".join(map(shlex.quote, cmd))}
    if res["rc"] != 0 or not os.path.isfile(os.path.join(folder, "model_index.json")):
        out["error"] = side_error(res, None, "make_random_pipeline")
    return out


def run_diffusers(family, folder, shapes, settings, compiled, args, raw, fp8=False):
    name = f"{family}-diffusers-{'compiled' if compiled else 'fp8' if fp8 else 'eager'}"
    out_json = os.path.join(raw, name + ".json")
    if resumed := resume(out_json, args, family, name):
        return resumed
    if os.path.exists(out_json):
        os.remove(out_json)
    sizes = sorted({(w, h) for w, h, _ in shapes}, key=lambda s: (s[0] * s[1], s))
    batches = sorted({b for _, _, b in shapes})
    cmd = [args.python, os.path.join(HERE, "diffusers_bench.py"), "--model", folder,
           "--sizes", ",".join(f"{w}x{h}" for w, h in sizes), "--batches", ",".join(map(str, batches)),
           "--steps", str(settings["steps"]), "--guidance", str(settings["guidance"]),
           "--sampler", settings["sampler"], "--dtype", settings["dtype"], "--runs", str(args.runs),
           "--warmup-steps", str(args.warmup_steps), "--json", out_json, "--label", name]
    if settings.get("max_sequence_length"):
        cmd += ["--max-sequence-length", str(settings["max_sequence_length"])]
    if compiled:
        cmd += ["--compile", "--no-unload"]
    if fp8:
        cmd += ["--fp8-layerwise"]
    if args.inductor_cache:
        env = dict(python_env(), TORCHINDUCTOR_CACHE_DIR=args.inductor_cache)
    else:
        # A fresh inductor cache: "compile s" is what a first use costs, not a cache hit of an earlier call.
        # (Outside OUT: it is large and OUT gets packed.)
        env = dict(python_env(), TORCHINDUCTOR_CACHE_DIR=f"/tmp/compare-inductor-{name}-{os.getpid()}")
    log(f"[{family}] diffusers {'compiled' if compiled else 'eager, fp8 layerwise' if fp8 else 'eager'}: "
        f"{len(shapes)} shape(s)")
    res = run(cmd, os.path.join(raw, name + ".log"), args.timeout_compiled if compiled else args.timeout, env)
    data = read_json(out_json)
    for line in res["tail"].splitlines()[-(len(shapes) + 2):]:
        log("    " + line)
    return {"call": " ".join(map(shlex.quote, cmd)), "seconds": res["seconds"], "rc": res["rc"],
            "timed_out": res["timed_out"], "error": side_error(res, data, "diffusers"), "report": data,
            "log": os.path.relpath(os.path.join(raw, name + ".log"), args.out)}


def run_twistedpic(family, folder, shapes, settings, args, raw, precision=None, variant=None):
    """variant: (name, extra twistedpic-bench arguments), e.g. ("graphs off", ["--cuda-graphs", "off"])."""
    tag = f"{family}-twistedpic" + (f"-{precision.split(':')[0]}" if precision and precision.startswith("fp8") else "")
    if variant:
        tag += "-" + re.sub(r"[^A-Za-z0-9]+", "-", variant[0]).strip("-").lower()
    precision = precision or settings["dtype"]
    out_json = os.path.join(raw, f"{tag}.json")
    if resumed := resume(out_json, args, family, tag):
        return dict(resumed, precision=precision)
    if os.path.exists(out_json):
        os.remove(out_json)
    notes = []
    sizes = sorted({f"{w}x{h}" for w, h, _ in shapes})
    sampler = "euler" if settings["sampler"] == "default" else settings["sampler"]
    if not sizes:
        return {"error": "no shape that twistedpic-bench can run", "notes": notes, "report": None}
    if not os.access(args.bench, os.X_OK):
        return {"error": f"{args.bench} is not built (tools/gpu/device.sh build with BUILD_TARGETS="
                         "twistedpic-bench)", "notes": notes, "report": None}
    batches = sorted({b for _, _, b in shapes})
    cmd = [args.bench, "generation", "--model", folder, "--sizes", ",".join(sizes),
           "--batches", ",".join(map(str, batches)), "--steps", str(settings["steps"]),
           "--guidance", str(settings["guidance"]), "--sampler", sampler, "--no-cold",
           "--precisions", precision, "--json", out_json] + (variant[1] if variant else [])
    log(f"[{family}] twistedpic-bench generation: sizes {','.join(sizes)} batches {','.join(map(str, batches))}"
        + (f" ({variant[0]}: {' '.join(variant[1])})" if variant else ""))
    res = run(cmd, os.path.join(raw, f"{tag}.log"), args.timeout, twistedpic_env())
    data = read_json(out_json)
    tail = [l for l in res["tail"].splitlines() if l.strip()]
    for line in tail[-(len(sizes) * len(batches) + 3):]:
        log("    " + line)
    err = side_error(res, data, "twistedpic-bench")
    if err is None and res["rc"] not in (0, None):
        err = f"twistedpic-bench exited {res['rc']}: " + "; ".join((data or {}).get("notes", [])[:3])
    return {"call": " ".join(map(shlex.quote, cmd)), "seconds": res["seconds"], "rc": res["rc"],
            "timed_out": res["timed_out"], "error": err, "notes": notes, "report": data,
            "log": os.path.relpath(os.path.join(raw, f"{tag}.log"), args.out), "precision": precision}


def run_memtest(family, folder, shapes, settings, args, raw, precision):
    """twistedpic-cli memtest on the first shape: device memory after load, at the peak, after cleanup, after
    unload to pinned RAM and after reload (the figures the issues ask for next to diffusers')."""
    w, h, _ = shapes[0]
    tag = f"{family}-memtest-{precision.replace(':', '-')}"
    done = read_json(os.path.join(raw, tag + ".json"))
    if args.resume and done and not done.get("error"):
        log(f"[{family}] memtest {precision}: resumed")
        return done
    cmd = [args.memtest, "--config", os.path.join(raw, "memtest.conf"), "memtest", "--model", folder,
           "--width", str(w), "--height", str(h), "--steps", str(settings["steps"]), "--precision", precision,
           "--settle", "0"]
    log(f"[{family}] twistedpic-cli memtest {w}x{h} {precision}")
    res = run(cmd, os.path.join(raw, tag + ".log"), args.timeout, twistedpic_env())
    with open(os.path.join(raw, tag + ".log"), encoding="utf-8", errors="replace") as f:
        text = f.read()
    table = [l for l in text.splitlines() if l.startswith("|") or l.startswith("  ") or "MiB" in l]
    for line in table[-12:]:
        log("    " + line)
    out = {"call": " ".join(map(shlex.quote, cmd)), "rc": res["rc"], "seconds": res["seconds"],
           "precision": precision, "output": text[-6000:],
           "error": None if res["rc"] == 0 else side_error(res, None, "twistedpic-cli memtest")}
    with open(os.path.join(raw, tag + ".json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1)
    return out


# ---------------------------------------------------------------------------------------------------------
# combining


def diffusers_row(side, w, h, b):
    if side is None:
        return None
    rep = side.get("report") or {}
    load = (rep.get("load") or {}).get("total_s")
    for r in rep.get("results", []):
        if r.get("width") == w and r.get("height") == h and r.get("batch") == b:
            return {"s_per_image": r.get("median_s_per_image"), "min_s_per_image": r.get("min_s_per_image"),
                    "it_per_s": r.get("it_per_s"), "first_step_end_ms": r.get("first_step_end_ms"),
                    "after_last_step_ms": r.get("after_last_step_ms"),
                    "peak_allocated_mib": r.get("peak_allocated_mib"), "peak_reserved_mib": r.get("peak_reserved_mib"),
                    "compile_s": r.get("compile_s"), "load_s": load,
                    "image_nan": (r.get("image") or {}).get("nan_or_inf"), "error": r.get("error")}
    return {"error": side.get("error") or next(iter(rep.get("errors") or []), None)
            or "not measured (the process ended before this shape)", "load_s": load}


def twistedpic_row(side, w, h, b, dtype):
    if side is None:
        return None
    rep = side.get("report") or {}
    res = rep.get("results") or {}
    warm = [r for r in res.get("load", []) if r.get("precision") == dtype and r.get("pageCache") == "warm"]
    cold = [r for r in res.get("load", []) if r.get("precision") == dtype and r.get("pageCache") != "warm"]
    load = warm[0].get("loadS") if warm else None
    for r in res.get("generation", []):
        if r.get("precision") == dtype and r.get("size") == f"{w}x{h}" and int(r.get("batch", 0)) == b:
            ok = r.get("secondsPerImage") is not None
            return {"s_per_image": r.get("secondsPerImage"), "it_per_s": r.get("itPerSec"),
                    "first_step_ms": r.get("firstStepMs"), "peak_allocated_mib": r.get("peakAllocatedMiB"),
                    "device_used_mib": r.get("deviceUsedMiB"), "load_s": load,
                    "cold_load_s": cold[0].get("loadS") if cold else None,
                    "first_image_after_load_s": warm[0].get("firstImageS") if warm else None,
                    "error": None if ok else next((n for n in rep.get("notes", []) if f"{w}x{h}" in n),
                                                  "no figure (see the notes)")}
    return {"error": side.get("error") or ("; ".join(rep.get("notes", [])[:2]) or "not measured"), "load_s": load}


def ratio(a, b):
    return a / b if a and b else None


def combine_family(fam):
    rows = []
    dtype = fam["settings"]["dtype"]
    variants = [(dtype, "diffusers_eager", "diffusers_compiled", "twistedpic", dtype)]
    if fam.get("diffusers_fp8") or fam.get("twistedpic_fp8"):
        # diffusers' enable_layerwise_casting(float8_e4m3fn) next to TwistedPic's precision fp8:DTYPE
        variants.append((f"fp8 ({dtype} compute)", "diffusers_fp8", None, "twistedpic_fp8", f"fp8:{dtype}"))
    if fam.get("twistedpic_fp8mm"):
        # TwistedPic's opt-in fp8 matmul (_scaled_mm); diffusers' layerwise casting has none: its upcast row
        variants.append((f"fp8 matmul ({dtype} out)", "diffusers_fp8", None, "twistedpic_fp8mm", f"fp8mm:{dtype}"))
    for label, eager_key, comp_key, tp_key, tp_precision in variants:
        for w, h, b in fam["shapes"]:
            eager = diffusers_row(fam.get(eager_key), w, h, b)
            comp = diffusers_row(fam.get(comp_key), w, h, b) if comp_key else None
            if comp is not None and (w, h, b) not in fam["compiled_shapes"]:
                comp = None
            tp = twistedpic_row(fam.get(tp_key), w, h, b, tp_precision)
            # the same TwistedPic with one thing changed (--variant): what that thing gives (issue 17)
            variants_here = []
            if tp_key == "twistedpic":
                for v in fam.get("twistedpic_variants") or []:
                    vr = twistedpic_row(v["side"], w, h, b, tp_precision)
                    variants_here.append({"name": v["name"], "args": v["args"], "twistedpic": vr,
                                          "s_ratio": ratio((vr or {}).get("s_per_image"),
                                                           (tp or {}).get("s_per_image"))})
            rows.append({"family": fam["family"], "size": f"{w}x{h}", "batch": b, "steps": fam["settings"]["steps"],
                         "dtype": label, "diffusers_eager": eager, "diffusers_compiled": comp, "twistedpic": tp,
                         "variants": variants_here,
                         "ratio_eager": ratio((eager or {}).get("s_per_image"), (tp or {}).get("s_per_image")),
                         "ratio_compiled": ratio((comp or {}).get("s_per_image"), (tp or {}).get("s_per_image")),
                         "peak_ratio": ratio((tp or {}).get("peak_allocated_mib"),
                                             (eager or {}).get("peak_allocated_mib"))})
    return rows


def fmt(v, digits=3, unit=""):
    return "n/a" if v is None else f"{v:.{digits}f}{unit}"


def cell_time(side, extra=""):
    if side is None:
        return "-"
    if side.get("s_per_image") is None:
        return "error"
    s = f"{side['s_per_image']:.3f} ({fmt(side.get('it_per_s'), 1)})"
    if side.get("compile_s") is not None:
        s += f" [1st {side['compile_s']:.0f} s]"
    return s + extra


def gib(mib):
    return "n/a" if mib is None else f"{mib / 1024:.2f}"


def markdown(report):
    out = []
    gpu = report.get("gpu") or {}
    out.append(f"# diffusers vs TwistedPic, side by side ({gpu.get('name', '?')})\n")
    v = report.get("versions") or {}
    out.append(f"{report['started_at']}; torch {v.get('torch', '?')} (CUDA {v.get('cuda', '?')}), diffusers "
               f"{v.get('diffusers', '?')}, transformers {v.get('transformers', '?')}; TwistedPic "
               f"{report.get('twistedpic_torch') or '?'}. Random weights from the published configs, both sides on "
               f"the same folder, one after the other. s/image = whole call (text encoding + denoising + VAE "
               f"decode), median of {report['runs']} runs after a warm-up (diffusers) / one run after a 2-step "
               f"warm-up (twistedpic-bench); (it/s) of the denoising loop; ratio = diffusers s/image / TwistedPic "
               f"s/image (> 1: TwistedPic faster). [1st N s] = first compiled call (compile + CUDA graphs + one "
               f"image).\n")
    names = []
    for r in report["rows"]:
        for v in r.get("variants") or []:
            if v["name"] not in names:
                names.append(v["name"])
    out.append("| model | size | batch | steps | diffusers eager s/img (it/s) | diffusers compiled s/img (it/s) "
               "| TwistedPic s/img (it/s) " + "".join(f"| TP {n} s/img (it/s) | ÷ TP " for n in names)
               + "| eager / TP | compiled / TP | peak alloc GiB diffusers / TP | load s diffusers / TP |")
    out.append("|---|---|---|---|---|---|---|" + "---|---|" * len(names) + "---|---|---|---|")
    for r in report["rows"]:
        e, c, t = r["diffusers_eager"] or {}, r["diffusers_compiled"], r["twistedpic"] or {}
        by_name = {v["name"]: v for v in r.get("variants") or []}
        off = "".join(f"| {cell_time((by_name.get(n) or {}).get('twistedpic'))} "
                      f"| {fmt((by_name.get(n) or {}).get('s_ratio'), 2)} " for n in names)
        out.append(f"| {r['family']} {r['dtype']} | {r['size']} | {r['batch']} | {r['steps']} "
                   f"| {cell_time(r['diffusers_eager'])} | {cell_time(c)} | {cell_time(r['twistedpic'])} {off}"
                   f"| {fmt(r['ratio_eager'], 2)} | {fmt(r['ratio_compiled'], 2)} "
                   f"| {gib(e.get('peak_allocated_mib'))} / {gib(t.get('peak_allocated_mib'))} "
                   f"| {fmt(e.get('load_s'), 1)} / {fmt(t.get('load_s'), 1)} |")
    out.append("")
    for fam in report["families"]:
        lines = []
        mk = fam.get("make") or {}
        if mk.get("made") and not mk.get("error"):
            lines.append(f"pipeline made in {mk.get('seconds', 0):.0f} s")
        info = fam.get("model_info") or {}
        if info.get("parameters") is not None and info.get("bytes_on_disk") is not None:  # (random_pipeline.json)
            lines.append(f"{info['parameters'] / 1e9:.2f} B parameters, "
                         f"{info['bytes_on_disk'] / 2**30:.2f} GiB on disk")
        s = fam["settings"]
        lines.append(f"{s['steps']} steps, guidance {s['guidance']}, sampler {s['sampler']}, {s['dtype']}"
                     + (f", T5 {s['max_sequence_length']} tokens" if s.get("max_sequence_length") else ""))
        d = (fam.get("diffusers_eager") or {}).get("report") or {}
        if d.get("memory_after_cleanup"):
            c = d["memory_after_cleanup"]
            u = (d.get("unload") or {})
            um = u.get("memory_after_unload") or {}
            lines.append(f"diffusers after cleanup: allocated {c['allocated_mib']:.0f} MiB, reserved "
                         f"{c['reserved_mib']:.0f} MiB, device used {c['device_used_mib']:.0f} MiB; after "
                         f"pipe.to('cpu') ({fmt(u.get('unload_s'), 2)} s): device used "
                         f"{fmt(um.get('device_used_mib'), 0)} MiB; back to the GPU in {fmt(u.get('reload_s'), 2)} s")
        if d.get("tokenizers"):
            lines.append("diffusers T5 tokenizer: " + "; ".join(f"{k}: {v}" for k, v in d["tokenizers"].items()))
        dfp8 = ((fam.get("diffusers_fp8") or {}).get("report") or {}).get("memory_after_cleanup")
        if dfp8:
            lines.append(f"diffusers fp8 after cleanup: allocated {dfp8['allocated_mib']:.0f} MiB, device used "
                         f"{dfp8['device_used_mib']:.0f} MiB")
        for key, what in (("make", "make"), ("diffusers_eager", "diffusers eager"),
                          ("diffusers_compiled", "diffusers compiled"), ("diffusers_fp8", "diffusers fp8"),
                          ("twistedpic", "TwistedPic"), ("twistedpic_fp8", "TwistedPic fp8"),
                          ("twistedpic_fp8mm", "TwistedPic fp8 matmul")):
            side = fam.get(key) or {}
            if side.get("error"):
                lines.append(f"**{what}: {side['error']}**")
            for n in side.get("notes", []) or []:
                lines.append(f"{what}: {n}")
            rep = side.get("report") or {}
            if key == "twistedpic":
                for n in rep.get("notes", []) or []:
                    lines.append(f"twistedpic-bench: {n}")
            comp = rep.get("compile") or {}
            if comp.get("fullgraph_error"):
                lines.append(f"{what}: fullgraph=True failed, compiled with fullgraph=False "
                             f"({comp['fullgraph_error'][:160]})")
            for e in rep.get("errors", []) or []:
                lines.append(f"{what}: {e[:300]}")
        for v in fam.get("twistedpic_variants") or []:
            side = v["side"] or {}
            what = f"TwistedPic {v['name']} ({' '.join(v['args'])})"
            if side.get("error"):
                lines.append(f"**{what}: {side['error']}**")
            for n in ((side.get("report") or {}).get("notes") or []):
                lines.append(f"{what}: {n}")
        out.append(f"**{fam['family']}** ({fam['folder']}): " + "; ".join(lines) + "\n")
        for m in fam.get("memtest") or []:
            out.append(f"TwistedPic memtest, {m['precision']}" + (f" (**{m['error']}**)" if m.get("error") else "")
                       + ":\n\n```\n" + "\n".join(l for l in m.get("output", "").splitlines()
                                                     if "[info]" not in l and "[debug]" not in l)[-3000:]
                       + "\n```\n")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("specs", nargs="+", metavar="FAMILY[:SIZES[:BATCHES]]")
    ap.add_argument("--out", required=True, help="folder for compare.json, compare.md and raw/")
    ap.add_argument("--models-root", default="/tmp/compare-models")
    ap.add_argument("--model", help="the pipeline folder (one family only)")
    ap.add_argument("--bench", default=os.path.join(ROOT, "build-gpu", "bench", "twistedpic-bench"))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--guidance", type=float)
    ap.add_argument("--sampler", choices=["euler", "euler_a", "dpmpp_2m", "default"])
    ap.add_argument("--dtype", choices=["fp16", "bf16", "fp32"])
    ap.add_argument("--runs", type=int, default=3, help="timed diffusers generations per shape")
    ap.add_argument("--warmup-steps", type=int, default=2)
    ap.add_argument("--compile", default="first", choices=["none", "first", "all"],
                    help="diffusers torch.compile for: no shape, the first size at the smallest batch (default), "
                         "or every shape (each shape compiles anew: ~50-90 s each)")
    ap.add_argument("--inductor-cache", help="reuse this inductor cache (default: a fresh one, so the first "
                    "compiled call is what a first use costs)")
    ap.add_argument("--fp8mm", action="store_true", help="also TwistedPic with precision fp8mm:DTYPE (fp8 weights "
                    "multiplied in fp8 with _scaled_mm, sm89+), next to diffusers' fp8 layerwise row when --fp8")
    ap.add_argument("--fp8", action="store_true", help="also diffusers with enable_layerwise_casting("
                    "float8_e4m3fn) and TwistedPic with precision fp8:DTYPE (the denoiser's weights in 8 bits)")
    ap.add_argument("--memtest", metavar="TWISTEDPIC_CLI", help="also run `twistedpic-cli memtest` (memory after "
                    "load, peak, cleanup, unload, reload) on the first shape, per precision")
    ap.add_argument("--resume", action="store_true", help="keep the sides an earlier call left in OUT/raw "
                    "(a run split over two device calls on the same warm machine)")
    ap.add_argument("--skip-diffusers", action="store_true")
    ap.add_argument("--skip-twistedpic", action="store_true")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=ARGS",
                    help="also TwistedPic with these twistedpic-bench arguments added, e.g. "
                    "'graphs off=--cuda-graphs off' or 'flash=--sdpa flash': a column per variant with its figures "
                    "and its s/image divided by TwistedPic's (> 1: the variant is slower); repeatable")
    ap.add_argument("--graphs-off", action="store_true", help="short for --variant 'graphs off=--cuda-graphs off'")
    ap.add_argument("--no-make", action="store_true", help="never build a missing pipeline folder")
    ap.add_argument("--delete-models", action="store_true", help="delete each folder after its family "
                    "(disk: SD 3.5 Large + Flux dev do not fit the device's 64 GB together)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds for each eager/TwistedPic process")
    ap.add_argument("--timeout-compiled", type=int, default=360)
    ap.add_argument("--make-timeout", type=int, default=400)
    args = ap.parse_args(argv)
    specs = [parse_spec(s) for s in args.specs]
    variants = [("graphs off", ["--cuda-graphs", "off"])] if args.graphs_off else []
    for v in args.variant:
        name, sep, extra = v.partition("=")
        if not sep or not name.strip():
            raise SystemExit(f"--variant takes NAME=ARGS, e.g. 'flash=--sdpa flash', not {v!r}")
        variants.append((name.strip(), shlex.split(extra)))
    if args.model and len(specs) != 1:
        raise SystemExit("--model names the folder of ONE family")
    args.out = os.path.abspath(args.out)
    raw = os.path.join(args.out, "raw")
    os.makedirs(raw, exist_ok=True)
    t_start = time.perf_counter()
    report = {"tool": "bench/compare/compare.py", "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "call": " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv), "host": platform.node(),
              "runs": args.runs, "compile": args.compile, "families": [], "rows": []}

    def write():
        report["duration_s"] = time.perf_counter() - t_start
        with open(os.path.join(args.out, "compare.json"), "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2, default=str)
        with open(os.path.join(args.out, "compare.md"), "w", encoding="utf-8") as f:
            f.write(markdown(report))

    for spec in specs:
        family = spec["family"]
        d = configs.FAMILIES[family]["defaults"]
        settings = {"steps": args.steps or d["steps"],
                    "guidance": args.guidance if args.guidance is not None else d["guidance"],
                    "sampler": args.sampler or d["sampler"], "dtype": args.dtype or d["dtype"],
                    "max_sequence_length": d.get("max_sequence_length")}
        shapes = [(w, h, b) for w, h in spec["sizes"] for b in spec["batches"]]
        if args.compile == "all":
            compiled_shapes = list(shapes)
        elif args.compile == "first":
            compiled_shapes = [(spec["sizes"][0][0], spec["sizes"][0][1], min(spec["batches"]))]
        else:
            compiled_shapes = []
        folder = os.path.abspath(args.model or os.path.join(args.models_root, family))
        fam = {"family": family, "folder": folder, "settings": settings, "shapes": shapes,
               "compiled_shapes": compiled_shapes}
        report["families"].append(fam)
        t_fam = time.perf_counter()
        fam["make"] = make_model(family, folder, settings["dtype"], args, raw)
        if fam["make"].get("error"):
            log(f"[{family}] {fam['make']['error']}")
            fam["rows"] = []
            write()
            continue
        info = read_json(os.path.join(folder, "random_pipeline.json")) or {}
        fam["model_info"] = {k: info.get(k) for k in ("family", "pipeline", "dtype", "parameters", "bytes_on_disk",
                                                       "total_s", "tokenizers")}
        if not args.skip_diffusers:
            fam["diffusers_eager"] = run_diffusers(family, folder, shapes, settings, False, args, raw)
            write()
            if compiled_shapes:
                fam["diffusers_compiled"] = run_diffusers(family, folder, compiled_shapes, settings, True, args, raw)
                write()
            if args.fp8:
                fam["diffusers_fp8"] = run_diffusers(family, folder, shapes, settings, False, args, raw, fp8=True)
                write()
        if not args.skip_twistedpic:
            fam["twistedpic"] = run_twistedpic(family, folder, shapes, settings, args, raw)
            write()
            fam["twistedpic_variants"] = []
            for name, extra in variants:
                fam["twistedpic_variants"].append({"name": name, "args": extra, "side": run_twistedpic(
                    family, folder, shapes, settings, args, raw, variant=(name, extra))})
                write()
            if args.fp8:
                fam["twistedpic_fp8"] = run_twistedpic(family, folder, shapes, settings, args, raw,
                                                       precision=f"fp8:{settings['dtype']}")
                write()
            if args.fp8mm:
                fam["twistedpic_fp8mm"] = run_twistedpic(family, folder, shapes, settings, args, raw,
                                                         precision=f"fp8mm:{settings['dtype']}")
                write()
            if args.memtest:
                precisions = [settings["dtype"]] + ([f"fp8:{settings['dtype']}"] if args.fp8 else [])
                fam["memtest"] = [run_memtest(family, folder, shapes, settings, args, raw, p) for p in precisions]
        fam["rows"] = combine_family(fam)
        fam["seconds"] = time.perf_counter() - t_fam
        report["rows"] = [r for f in report["families"] for r in f.get("rows", [])]
        for side in ("diffusers_eager", "diffusers_compiled"):
            rep = (fam.get(side) or {}).get("report") or {}
            if rep.get("gpu") and not report.get("gpu"):
                report["gpu"] = rep["gpu"]
            if rep.get("versions") and not report.get("versions"):
                report["versions"] = rep["versions"]
        tp = (fam.get("twistedpic") or {}).get("report") or {}
        if tp.get("torch") and not report.get("twistedpic_torch"):
            t = tp["torch"]
            report["twistedpic_torch"] = f"libtorch {t.get('version', '?')}" if isinstance(t, dict) else str(t)
        write()
        log(f"[{family}] done in {fam['seconds']:.0f} s")
        if args.delete_models and fam["make"].get("made"):
            import shutil
            shutil.rmtree(folder, ignore_errors=True)
            log(f"[{family}] deleted {folder}")

    write()
    log("")
    with open(os.path.join(args.out, "compare.md"), encoding="utf-8") as f:
        log(f.read())
    log(f"compare: {time.perf_counter() - t_start:.0f} s; {args.out}/compare.json, compare.md, raw/")
    failed = any(r["twistedpic"] is None or (r["twistedpic"] or {}).get("s_per_image") is None
                 or (r["diffusers_eager"] or {}).get("s_per_image") is None for r in report["rows"])
    return 1 if failed or not report["rows"] else 0


if __name__ == "__main__":
    sys.exit(main())
