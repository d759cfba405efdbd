#!/usr/bin/env python3
"""Issue 16's budget table: TwistedPic generating within VRAM budgets next to diffusers' offload modes, on the
same random-weight pipeline folder, size, steps, guidance and dtype, one process after the other on the same
GPU. Runs on the GPU machine (reference kit on PYTHONPATH, twistedpic-bench built there); see
bench/compare/README.md.

    python3 bench/compare/budget.py sd35-large flux-dev sdxl --out /tmp/gpu-res/budget \
        --bench build-gpu/bench/twistedpic-bench [--budgets all,24,16,12,8] [--modes model,sequential,group]

Per family (the folder --models-root/FAMILY, or --model for one family, made with make_random_pipeline.py when
it has no model_index.json):
- `twistedpic-bench budget --budget B` once per budget, each in its own process (a fresh CUDA context and
  allocator): one warm-up image with the load, then --runs timed images; s/image, the plan, this process's peak
  device use (NVML, sampled every 20 ms), the caching allocator's peaks, peak <= budget;
- diffusers_bench.py with --offload model (enable_model_cpu_offload), sequential
  (enable_sequential_cpu_offload) and group (enable_group_offload, --group-type block_level with
  use_stream=True), each in its own process; sequential offload is slow: --sequential-steps and
  --sequential-runs keep it short, and its s/image at the full step count is estimated from its it/s;
- around every child process, this driver samples the device's used memory through NVML (ctypes, no extra
  package) every --sample-ms: "process peak" = the largest device use while it ran minus the use before it
  started, i.e. the child's whole footprint (CUDA context and load included), measured the same way for both
  sides.

Writes OUT/budget.json, OUT/budget.md and OUT/raw/ (each child's JSON and log). --resume keeps the children an
earlier call left in OUT/raw (a run longer than one device call goes in several); --render FILE rewrites the
tables of an earlier budget.json without running anything."""
import argparse
import ctypes
import json
import os
import platform
import shlex
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import compare  # noqa: E402
import configs  # noqa: E402

MiB = 1024.0 * 1024.0
GiB = 1024.0 * MiB
DEFAULT_BUDGETS = "all,24,16,12,8"
DEFAULT_MODES = "model,sequential,group"
# The goals: TwistedPic within 1.25x of fully resident when the denoiser fits (text encoders released),
# within 2x when it streams; at the same peak >= 3x faster than sequential offload and faster than group offload.
GOAL_RESIDENT = 1.25
GOAL_STREAMED = 2.0
GOAL_VS = {"sequential": 3.0, "group": 1.0}


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------------------
# NVML through ctypes: the device's used memory while a child process runs


class _NvmlMemory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]


class Nvml:
    """The device's memory from libnvidia-ml.so.1 (the driver's library); `ok` False without it."""

    def __init__(self, index=0):
        self.ok = False
        self.reason = None
        try:
            self.lib = ctypes.CDLL("libnvidia-ml.so.1")
            if self.lib.nvmlInit_v2() != 0:
                raise OSError("nvmlInit_v2 failed")
            self.handle = ctypes.c_void_p()
            if self.lib.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(index), ctypes.byref(self.handle)) != 0:
                raise OSError(f"no NVML device {index}")
            self.ok = self.memory() is not None
        except (OSError, AttributeError) as e:
            self.reason = str(e)

    def memory(self):
        m = _NvmlMemory()
        if self.lib.nvmlDeviceGetMemoryInfo(self.handle, ctypes.byref(m)) != 0:
            return None
        return {"total": m.total, "free": m.free, "used": m.used}


class PeakSampler:
    """Samples the device's used memory on a thread from start() to stop()."""

    def __init__(self, nvml, interval_s):
        self.nvml, self.interval = nvml, interval_s
        self.baseline = self.peak = self.min_free = None
        self.samples = 0
        self._stop = threading.Event()
        self._thread = None

    def start(self):
        if not (self.nvml and self.nvml.ok):
            return self
        m = self.nvml.memory()
        self.baseline, self.peak, self.min_free = m["used"], m["used"], m["free"]
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _loop(self):
        while not self._stop.is_set():
            m = self.nvml.memory()
            if m:
                self.samples += 1
                self.peak = max(self.peak, m["used"])
                self.min_free = min(self.min_free, m["free"])
            self._stop.wait(self.interval)

    def stop(self):
        if self._thread:
            self._stop.set()
            self._thread.join()
        if self.baseline is None:
            return None
        return {"baseline_mib": self.baseline / MiB, "peak_used_mib": self.peak / MiB,
                "process_peak_mib": (self.peak - self.baseline) / MiB, "min_free_mib": self.min_free / MiB,
                "samples": self.samples}


def run_sampled(cmd, log_path, timeout, env, nvml, interval_s):
    sampler = PeakSampler(nvml, interval_s).start()
    res = compare.run(cmd, log_path, timeout, env)
    res["nvml"] = sampler.stop()
    return res


# ---------------------------------------------------------------------------------------------------------
# the children


def budget_arg(b):
    """'all' / 'auto' as they are, '24' -> '24GiB' (twistedpic-bench takes a plain number as GiB too)."""
    b = str(b).strip()
    return b if b.lower() in ("all", "auto") or not b.replace(".", "", 1).isdigit() else f"{b}GiB"


def resumed_side(path, args):
    """--resume: the side (its .side file) an earlier call left, if it measured without an error."""
    if not args.resume:
        return None
    side = compare.read_json(path)
    if not side or side.get("error") or not side.get("report"):
        return None
    return dict(side, resumed=True)


def run_twistedpic(family, folder, settings, budget, args, raw, nvml):
    tag = f"{family}-twistedpic-budget-{budget}"
    out_json = os.path.join(raw, tag + ".json")
    side = {"side": "twistedpic", "budget": budget}
    prev = resumed_side(out_json + ".side", args)
    if prev:
        log(f"[{family}] twistedpic budget {budget}: resumed")
        return prev
    if not os.access(args.bench, os.X_OK):
        return dict(side, error=f"{args.bench} is not built (tools/gpu/device.sh build with "
                                "BUILD_TARGETS=twistedpic-bench)", report=None)
    if os.path.exists(out_json):
        os.remove(out_json)
    sampler = "euler" if settings["sampler"] == "default" else settings["sampler"]
    cmd = [args.bench, "budget", "--model", folder, "--budget", budget_arg(budget),
           "--width", str(settings["width"]), "--height", str(settings["height"]), "--steps", str(settings["steps"]),
           "--guidance", str(settings["guidance"]), "--sampler", sampler, "--precision", settings["dtype"],
           "--runs", str(args.runs), "--json", out_json]
    log(f"[{family}] twistedpic-bench budget {budget_arg(budget)}")
    res = run_sampled(cmd, os.path.join(raw, tag + ".log"), args.timeout, compare.twistedpic_env(), nvml,
                      args.sample_ms / 1000.0)
    data = compare.read_json(out_json)
    for line in [l for l in res["tail"].splitlines() if l.strip()][-4:]:
        log("    " + line)
    err = compare.side_error(res, data, "twistedpic-bench")
    if err is None and res["rc"] not in (0, None):
        notes = "; ".join((data or {}).get("notes", [])[:3])
        err = f"twistedpic-bench exited {res['rc']}: {notes}"
    side.update({"call": " ".join(map(shlex.quote, cmd)), "seconds": res["seconds"], "rc": res["rc"],
                 "timed_out": res["timed_out"], "error": err, "report": data, "nvml": res["nvml"],
                 "log": os.path.relpath(os.path.join(raw, tag + ".log"), args.out)})
    with open(out_json + ".side", "w", encoding="utf-8") as f:
        json.dump(side, f, indent=1, default=str)
    return side


def run_diffusers(family, folder, settings, mode, args, raw, nvml):
    tag = f"{family}-diffusers-{mode}"
    out_json = os.path.join(raw, tag + ".json")
    prev = resumed_side(out_json + ".side", args)
    if prev:
        log(f"[{family}] diffusers {mode}: resumed")
        return prev
    if os.path.exists(out_json):
        os.remove(out_json)
    sequential = mode == "sequential"
    steps = args.sequential_steps if sequential and args.sequential_steps else settings["steps"]
    runs = args.sequential_runs if sequential else args.runs
    cmd = [args.python, os.path.join(HERE, "diffusers_bench.py"), "--model", folder,
           "--width", str(settings["width"]), "--height", str(settings["height"]), "--steps", str(steps),
           "--guidance", str(settings["guidance"]), "--sampler", settings["sampler"], "--dtype", settings["dtype"],
           "--runs", str(runs), "--warmup-steps", "1" if sequential else str(args.warmup_steps), "--no-unload",
           "--json", out_json, "--label", tag]
    if settings.get("max_sequence_length"):
        cmd += ["--max-sequence-length", str(settings["max_sequence_length"])]
    if mode == "group":
        cmd += ["--offload", "group", "--group-offload-type", args.group_type, "--group-blocks", str(args.group_blocks)]
    else:
        cmd += ["--offload", mode]
    log(f"[{family}] diffusers --offload {mode}: {steps} steps, {runs} run(s)")
    res = run_sampled(cmd, os.path.join(raw, tag + ".log"), args.timeout_sequential if sequential else args.timeout,
                      compare.python_env(), nvml, args.sample_ms / 1000.0)
    data = compare.read_json(out_json)
    for line in [l for l in res["tail"].splitlines() if l.strip()][-3:]:
        log("    " + line)
    side = {"side": "diffusers", "mode": mode, "steps": steps, "runs": runs,
            "call": " ".join(map(shlex.quote, cmd)), "seconds": res["seconds"], "rc": res["rc"],
            "timed_out": res["timed_out"], "error": compare.side_error(res, data, f"diffusers {mode}"),
            "report": data, "nvml": res["nvml"], "log": os.path.relpath(os.path.join(raw, tag + ".log"), args.out)}
    with open(out_json + ".side", "w", encoding="utf-8") as f:
        json.dump(side, f, indent=1, default=str)
    return side


# ---------------------------------------------------------------------------------------------------------
# the rows (pure functions of the sides: --render and the test run them without a GPU)


def mib(v):
    return None if v is None else v / MiB


def ratio(a, b):
    return a / b if a and b else None


def denoiser_streams(plan):
    for c in (plan or {}).get("components", []):
        if c.get("kind") == "denoiser":
            return c.get("placement") == "streamed"
    return False


def twistedpic_row(side):
    rep = side.get("report") or {}
    res = rep.get("results") or {}
    plan = res.get("plan") or {}
    images = [r for r in res.get("images", []) if r.get("image") != "warm-up"]
    row = {"budget": side.get("budget"), "s_per_image": res.get("secondsPerImage"),
           "min_s_per_image": res.get("minSecondsPerImage"), "it_per_s": res.get("itPerSec"),
           "first_image_s": res.get("firstImageS"), "load_ms": res.get("loadMs"),
           "budget_mib": mib(res.get("budgetBytes")), "predicted_peak_mib": mib(res.get("predictedPeakBytes")),
           "peak_device_mib": mib(res.get("peakDeviceBytes")), "peak_reserved_mib": mib(res.get("peakReservedBytes")),
           "peak_allocated_mib": mib(res.get("peakAllocatedBytes")), "within_budget": res.get("withinBudget"),
           "reserved_within_budget": res.get("reservedWithinBudget"),
           "images_within_budget": [r.get("withinBudget") for r in images],
           "outside_allocator_mib": mib(res.get("outsideAllocatorBytes")),
           "plan": plan.get("description") or (images[-1].get("plan") if images else None),
           "streams": denoiser_streams(plan), "fits": plan.get("fits"), "level": plan.get("level"),
           "failures": res.get("failures"), "oom_retries": res.get("oomRetries"),
           "memory_source": res.get("memorySource"),
           "process_peak_mib": (side.get("nvml") or {}).get("process_peak_mib"),
           "error": side.get("error")}
    if row["s_per_image"] is None and not row["error"]:
        row["error"] = "; ".join(rep.get("notes", [])[:2]) or "not measured"
    return row


def diffusers_row(side, full_steps):
    rep = side.get("report") or {}
    r = next(iter(rep.get("results") or []), {}) or {}
    steps = side.get("steps") or full_steps
    s = r.get("median_s_per_image")
    its = r.get("it_per_s")
    est = s
    if s is not None and steps != full_steps and its:
        est = s + (full_steps - steps) / its  # the missing steps at the measured rate
    row = {"mode": side.get("mode"), "steps": steps, "runs": side.get("runs"), "s_per_image": s,
           "min_s_per_image": r.get("min_s_per_image"), "it_per_s": its,
           "s_per_image_full_steps": est, "estimated": est is not None and steps != full_steps,
           "peak_allocated_mib": r.get("peak_allocated_mib"), "peak_reserved_mib": r.get("peak_reserved_mib"),
           "process_peak_mib": (side.get("nvml") or {}).get("process_peak_mib"),
           "load_s": (rep.get("load") or {}).get("total_s"), "group_offload": rep.get("group_offload"),
           "error": side.get("error") or r.get("error") or next(iter(rep.get("errors") or []), None)}
    if s is None and not row["error"]:
        row["error"] = "not measured"
    return row


def peak_pair(tp, d):
    """The two peaks to compare and what they are: both processes' whole device footprint (NVML, sampled by this
    driver) where both have it, else TwistedPic's caching-allocator peak reserved next to diffusers'
    torch.cuda.max_memory_reserved."""
    if tp.get("process_peak_mib") is not None and d.get("process_peak_mib") is not None:
        return tp["process_peak_mib"], d["process_peak_mib"], "process peak (NVML)"
    return tp.get("peak_reserved_mib"), d.get("peak_reserved_mib"), "allocator peak reserved"


def comparisons(tp_rows, d_rows):
    out = []
    ok_tp = [t for t in tp_rows if t.get("s_per_image")]
    for d in d_rows:
        ds = d.get("s_per_image_full_steps")
        entry = {"mode": d["mode"], "diffusers_s_per_image": ds, "estimated": d.get("estimated"),
                 "goal": GOAL_VS.get(d["mode"])}
        if ds is None or not ok_tp:
            entry["note"] = "no figure on one side"
            out.append(entry)
            continue
        paired = []
        for t in ok_tp:
            tpk, dpk, what = peak_pair(t, d)
            if tpk is not None and dpk is not None:
                paired.append((t, tpk, dpk, what))
        if not paired:
            entry["note"] = "no peaks to compare"
            out.append(entry)
            continue
        nearest = min(paired, key=lambda p: abs(p[1] - p[2]))
        below = [p for p in paired if p[1] <= p[2]]
        best_below = min(below, key=lambda p: p[0]["s_per_image"]) if below else None
        for key, pick in (("nearest", nearest), ("at_or_below", best_below)):
            if pick is None:
                entry[key] = None
                continue
            t, tpk, dpk, what = pick
            entry[key] = {"budget": t["budget"], "twistedpic_s_per_image": t["s_per_image"],
                          "twistedpic_peak_mib": tpk, "diffusers_peak_mib": dpk, "peaks": what,
                          "speedup": ratio(ds, t["s_per_image"])}
        # The goal is "at the same peak": judged only against a TwistedPic run that used no more.
        judged = entry["at_or_below"]
        entry["meets_goal"] = (judged["speedup"] >= entry["goal"]) if entry["goal"] and judged else None
        if not judged:
            entry["hint"] = (f"no TwistedPic budget stayed at or below {nearest[2] / 1024:.1f} GiB; "
                             f"add a smaller one (--budgets ...,{max(1, int(nearest[2] / 1024) - 1)})")
        out.append(entry)
    return out


def combine_family(fam):
    full_steps = fam["settings"]["steps"]
    tp_rows = [twistedpic_row(s) for s in fam.get("twistedpic") or []]
    resident = next((t["s_per_image"] for t in tp_rows if str(t["budget"]).lower() == "all"), None)
    for t in tp_rows:
        t["vs_resident"] = ratio(t["s_per_image"], resident)
        if str(t["budget"]).lower() == "all" or t["budget_mib"] is None:  # resident, or no plan (no CUDA)
            t["goal"] = None
        else:
            t["goal"] = GOAL_STREAMED if t["streams"] else GOAL_RESIDENT
        t["meets_goal"] = (t["vs_resident"] <= t["goal"]) if t["goal"] and t["vs_resident"] else None
    d_rows = [diffusers_row(s, full_steps) for s in fam.get("diffusers") or []]
    return {"twistedpic": tp_rows, "diffusers": d_rows, "comparison": comparisons(tp_rows, d_rows)}


def fmt(v, digits=2, suffix=""):
    return "n/a" if v is None else f"{v:.{digits}f}{suffix}"


def gib(v):
    return "n/a" if v is None else f"{v / 1024:.2f}"


def yes_no(v):
    return "n/a" if v is None else ("yes" if v else "**NO**")


def budget_label(b):
    b = str(b)
    return "all (fully resident)" if b.lower() == "all" else b if b.lower() == "auto" else f"{b} GiB"


def markdown(report):
    out = [f"# TwistedPic within a VRAM budget, next to diffusers' offload ({(report.get('gpu') or {}).get('name', '?')})\n"]
    v = report.get("versions") or {}
    out.append(f"{report.get('started_at', '?')}; diffusers side: torch {v.get('torch', '?')}, diffusers "
               f"{v.get('diffusers', '?')}; TwistedPic {report.get('twistedpic_torch') or '?'}. Random weights from "
               "the published configs, both sides on the same folder, one process after the other. s/image: the "
               "whole generation (text encoding, denoising, VAE decode), median of the timed runs after a warm-up. "
               "Peak device: the process's use of the GPU (CUDA context included) - TwistedPic's own NVML sampler "
               "(every 20 ms, per image); process peak: this driver's NVML sampling of the device around the whole "
               "child process (load included), minus the use before it started. The budget governs TwistedPic's "
               "caching allocator (peak reserved); the CUDA context lies outside it.\n")
    for fam in report.get("families", []):
        s = fam["settings"]
        rows = fam.get("rows") or combine_family(fam)
        out.append(f"## {fam['family']} {s['width']}x{s['height']}, {s['steps']} steps, guidance {s['guidance']}, "
                   f"{s['dtype']}\n")
        out.append("| TwistedPic budget | s/image | x resident | goal | it/s | peak device GiB | peak reserved GiB "
                   "| budget GiB | device <= budget | reserved <= budget | process peak GiB | first image s | plan |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for t in rows["twistedpic"]:
            if t.get("s_per_image") is None:
                out.append(f"| {budget_label(t['budget'])} | **{(t.get('error') or 'failed')[:160]}** |"
                           + " |" * 11)
                continue
            goal = "" if t["goal"] is None else f"<= {t['goal']}x: {yes_no(t['meets_goal'])}"
            out.append(f"| {budget_label(t['budget'])} | {fmt(t['s_per_image'], 3)} | {fmt(t['vs_resident'])} "
                       f"| {goal} | {fmt(t['it_per_s'])} | {gib(t['peak_device_mib'])} | {gib(t['peak_reserved_mib'])} "
                       f"| {gib(t['budget_mib'])} | {yes_no(t['within_budget'])} | {yes_no(t['reserved_within_budget'])} "
                       f"| {gib(t['process_peak_mib'])} | {fmt(t['first_image_s'], 1)} | {t.get('plan') or 'n/a'} |")
        out.append("")
        if rows["diffusers"]:
            out.append("| diffusers offload | steps x runs | s/image | s/image at full steps | it/s | peak allocated GiB "
                       "| peak reserved GiB | process peak GiB |")
            out.append("|---|---|---|---|---|---|---|---|")
            for d in rows["diffusers"]:
                if d.get("s_per_image") is None:
                    out.append(f"| {d['mode']} | {d['steps']} x {d['runs']} | **{(d.get('error') or 'failed')[:160]}** "
                               "| | | | | |")
                    continue
                full = fmt(d["s_per_image_full_steps"], 3) + (" (est.)" if d["estimated"] else "")
                out.append(f"| {d['mode']} | {d['steps']} x {d['runs']} | {fmt(d['s_per_image'], 3)} | {full} "
                           f"| {fmt(d['it_per_s'])} | {gib(d['peak_allocated_mib'])} | {gib(d['peak_reserved_mib'])} "
                           f"| {gib(d['process_peak_mib'])} |")
            out.append("")
            out.append("| diffusers offload | diffusers s/image | TwistedPic at the nearest peak: budget, s/image, "
                       "peaks GiB TP / diffusers | diffusers / TP | fastest TwistedPic at or below its peak | "
                       "diffusers / TP | goal |")
            out.append("|---|---|---|---|---|---|---|")
            for c in rows["comparison"]:
                if c.get("note"):
                    out.append(f"| {c['mode']} | {fmt(c.get('diffusers_s_per_image'), 3)} | {c['note']} | | | | |")
                    continue

                def cell(p):
                    if not p:
                        return "none", "n/a"
                    return (f"{budget_label(p['budget'])}, {fmt(p['twistedpic_s_per_image'], 3)} s, "
                            f"{gib(p['twistedpic_peak_mib'])} / {gib(p['diffusers_peak_mib'])} ({p['peaks']})",
                            fmt(p["speedup"]) + "x")
                n, ns = cell(c["nearest"])
                b, bs = cell(c["at_or_below"])
                goal = "" if not c["goal"] else f">= {c['goal']}x: {yes_no(c['meets_goal'])}"
                if c.get("hint"):
                    goal += f" ({c['hint']})"
                est = " (est.)" if c.get("estimated") else ""
                out.append(f"| {c['mode']} | {fmt(c['diffusers_s_per_image'], 3)}{est} | {n} | {ns} | {b} | {bs} "
                           f"| {goal} |")
            out.append("")
        notes = []
        for side in (fam.get("twistedpic") or []) + (fam.get("diffusers") or []):
            what = f"TwistedPic {side.get('budget')}" if side.get("side") == "twistedpic" else \
                f"diffusers {side.get('mode')}"
            if side.get("error"):
                notes.append(f"**{what}: {side['error']}**")
            rep = side.get("report") or {}
            for n in (rep.get("notes") or [])[:6] if side.get("side") == "twistedpic" else []:
                notes.append(f"{what}: {n}")
            for e in (rep.get("errors") or [])[:3]:
                notes.append(f"{what}: {e[:300]}")
        mk = fam.get("make") or {}
        if mk.get("error"):
            notes.append(f"**make: {mk['error']}**")
        if notes:
            out.append("\n".join(f"- {n}" for n in notes) + "\n")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------------------


def budget_order(b):
    b = str(b).lower()
    if b == "all":
        return (0, 0.0)
    if b == "auto":
        return (1, 0.0)
    try:
        return (2, -float(b))
    except ValueError:
        return (3, 0.0)


def add_earlier_sides(fam, raw, args):
    """--resume: the budgets and modes an earlier call measured for this family that this call did not name
    join the table, so that the budgets can be spread over several device calls."""
    family = fam["family"]
    have_b = {str(s.get("budget")) for s in fam["twistedpic"]}
    have_m = {s.get("mode") for s in fam["diffusers"]}
    for name in sorted(os.listdir(raw)):
        if not name.startswith(family + "-") or not name.endswith(".json.side"):
            continue
        rest = name[len(family) + 1:-len(".json.side")]
        side = resumed_side(os.path.join(raw, name), args)
        if not side:
            continue
        if rest.startswith("twistedpic-budget-") and str(side.get("budget")) not in have_b:
            fam["twistedpic"].append(side)
        elif rest.startswith("diffusers-") and side.get("mode") not in have_m:
            fam["diffusers"].append(side)
    fam["twistedpic"].sort(key=lambda s: budget_order(s.get("budget")))
    order = ["model", "group", "sequential"]
    fam["diffusers"].sort(key=lambda s: order.index(s.get("mode")) if s.get("mode") in order else 9)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("families", nargs="*", metavar="FAMILY", help=f"of {', '.join(sorted(configs.FAMILIES))}")
    ap.add_argument("--out", help="folder for budget.json, budget.md and raw/")
    ap.add_argument("--render", metavar="BUDGET_JSON", help="only rewrite the tables of an earlier budget.json "
                    "(next to it, or into --out)")
    ap.add_argument("--models-root", default="/tmp/compare-models")
    ap.add_argument("--model", help="the pipeline folder (one family only)")
    ap.add_argument("--bench", default=os.path.join(ROOT, "build-gpu", "bench", "twistedpic-bench"))
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--budgets", default=DEFAULT_BUDGETS, help="TwistedPic budgets: all, auto or GiB "
                    f"(default {DEFAULT_BUDGETS})")
    ap.add_argument("--modes", default=DEFAULT_MODES, help="diffusers offload modes: model, sequential, group "
                    f"(default {DEFAULT_MODES}); empty: none")
    ap.add_argument("--size", default="1024x1024", help="WxH (default 1024x1024, the issue's size)")
    ap.add_argument("--steps", type=int, help="default: the family's (configs.py)")
    ap.add_argument("--guidance", type=float)
    ap.add_argument("--sampler", choices=["euler", "euler_a", "dpmpp_2m", "default"])
    ap.add_argument("--dtype", choices=["fp16", "bf16", "fp32"])
    ap.add_argument("--runs", type=int, default=2, help="timed images per process (default 2)")
    ap.add_argument("--warmup-steps", type=int, default=2, help="diffusers' warm-up steps (sequential: 1)")
    ap.add_argument("--sequential-steps", type=int, default=8, help="steps of the sequential-offload runs (default "
                    "8; 0: the family's); its s/image at the full step count is then estimated from its it/s")
    ap.add_argument("--sequential-runs", type=int, default=1)
    ap.add_argument("--group-type", default="block_level", choices=["block_level", "leaf_level"])
    ap.add_argument("--group-blocks", type=int, default=1, help="num_blocks_per_group for block_level")
    ap.add_argument("--timeout", type=int, default=420, help="seconds for each TwistedPic / model / group process")
    ap.add_argument("--timeout-sequential", type=int, default=540)
    ap.add_argument("--make-timeout", type=int, default=400)
    ap.add_argument("--sample-ms", type=float, default=20.0, help="NVML sampling interval around each process")
    ap.add_argument("--nvml-index", type=int, default=0, help="NVML's index of the card (default 0)")
    ap.add_argument("--resume", action="store_true", help="keep the children an earlier call left in OUT/raw")
    ap.add_argument("--skip-diffusers", action="store_true")
    ap.add_argument("--skip-twistedpic", action="store_true")
    ap.add_argument("--no-make", action="store_true")
    ap.add_argument("--delete-models", action="store_true", help="delete each folder this call made, after it")
    args = ap.parse_args(argv)
    if not args.render and (not args.families or not args.out):
        ap.error("give FAMILY... and --out (or --render BUDGET_JSON)")
    for f in args.families:
        if f not in configs.FAMILIES:
            ap.error(f"unknown family {f!r}: one of {', '.join(sorted(configs.FAMILIES))}")
    if args.model and len(args.families) != 1:
        ap.error("--model names the folder of ONE family")
    return args


def render(path, out_dir):
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    for fam in report.get("families", []):
        fam["rows"] = combine_family(fam)
    out_dir = out_dir or os.path.dirname(os.path.abspath(path))
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "budget.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2, default=str)
    text = markdown(report)
    with open(os.path.join(out_dir, "budget.md"), "w", encoding="utf-8") as f:
        f.write(text)
    log(text)
    return 0


def main(argv=None):
    args = parse_args(argv)
    if args.render:
        return render(args.render, args.out)
    args.out = os.path.abspath(args.out)
    raw = os.path.join(args.out, "raw")
    os.makedirs(raw, exist_ok=True)
    budgets = [b.strip() for b in args.budgets.split(",") if b.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in modes:
        if m not in ("model", "sequential", "group"):
            raise SystemExit(f"--modes: {m!r} is not model, sequential or group")
    width, height = configs.parse_size(args.size)
    nvml = Nvml(args.nvml_index)
    if not nvml.ok:
        log(f"NVML not available ({nvml.reason}): no process peaks from this driver")
    t_start = time.perf_counter()
    report = {"tool": "bench/compare/budget.py", "started_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "call": " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv), "host": platform.node(),
              "budgets": budgets, "modes": modes, "runs": args.runs, "nvml": nvml.ok, "families": []}
    out_json = os.path.join(args.out, "budget.json")
    if args.resume:  # what an earlier call learnt about the machine, and the families it measured
        prev = compare.read_json(out_json) or {}
        for k in ("gpu", "versions", "twistedpic_torch"):
            if prev.get(k):
                report[k] = prev[k]
        report["families"] = [f for f in prev.get("families", []) if f.get("family") not in args.families]

    def write():
        report["duration_s"] = time.perf_counter() - t_start
        with open(out_json, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2, default=str)
        with open(os.path.join(args.out, "budget.md"), "w", encoding="utf-8") as f:
            f.write(markdown(report))

    for family in args.families:
        d = configs.FAMILIES[family]["defaults"]
        settings = {"width": width, "height": height, "steps": args.steps or d["steps"],
                    "guidance": args.guidance if args.guidance is not None else d["guidance"],
                    "sampler": args.sampler or d["sampler"], "dtype": args.dtype or d["dtype"],
                    "max_sequence_length": d.get("max_sequence_length")}
        folder = os.path.abspath(args.model or os.path.join(args.models_root, family))
        fam = {"family": family, "folder": folder, "settings": settings, "twistedpic": [], "diffusers": []}
        report["families"].append(fam)
        t_fam = time.perf_counter()
        fam["make"] = compare.make_model(family, folder, settings["dtype"], args, raw)
        if fam["make"].get("error"):
            log(f"[{family}] {fam['make']['error']}")
            write()
            continue
        info = compare.read_json(os.path.join(folder, "random_pipeline.json")) or {}
        fam["model_info"] = {k: info.get(k) for k in ("family", "pipeline", "dtype", "parameters", "bytes_on_disk")}
        # The sides a --skip leaves out are kept from an earlier call when there is one (--resume).
        if not args.skip_twistedpic or args.resume:
            for b in budgets:
                if args.skip_twistedpic:
                    prev = resumed_side(os.path.join(raw, f"{family}-twistedpic-budget-{b}.json.side"), args)
                    if prev:
                        fam["twistedpic"].append(prev)
                    continue
                fam["twistedpic"].append(run_twistedpic(family, folder, settings, b, args, raw, nvml))
                fam["rows"] = combine_family(fam)
                write()
        if not args.skip_diffusers or args.resume:
            for m in modes:
                if args.skip_diffusers:
                    prev = resumed_side(os.path.join(raw, f"{family}-diffusers-{m}.json.side"), args)
                    if prev:
                        fam["diffusers"].append(prev)
                    continue
                fam["diffusers"].append(run_diffusers(family, folder, settings, m, args, raw, nvml))
                fam["rows"] = combine_family(fam)
                write()
        if args.resume:
            add_earlier_sides(fam, raw, args)
        fam["rows"] = combine_family(fam)
        fam["seconds"] = time.perf_counter() - t_fam
        for side in fam["diffusers"]:
            rep = side.get("report") or {}
            for k in ("gpu", "versions"):
                if rep.get(k) and not report.get(k):
                    report[k] = rep[k]
        for side in fam["twistedpic"]:
            t = (side.get("report") or {}).get("torch")
            if isinstance(t, dict) and not report.get("twistedpic_torch"):
                report["twistedpic_torch"] = f"libtorch {t.get('version', '?')} (CUDA {t.get('cudaRuntime') or '-'})"
        write()
        log(f"[{family}] done in {fam['seconds']:.0f} s")
        if args.delete_models and fam["make"].get("made"):
            import shutil
            shutil.rmtree(folder, ignore_errors=True)
            log(f"[{family}] deleted {folder}")
    write()
    log("")
    with open(os.path.join(args.out, "budget.md"), encoding="utf-8") as f:
        log(f.read())
    log(f"budget: {time.perf_counter() - t_start:.0f} s; {out_json}, budget.md, raw/")
    failed = any(t.get("s_per_image") is None for f in report["families"] for t in (f.get("rows") or {}).get(
        "twistedpic", []))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
