#!/usr/bin/env python3
"""The table-making half of budget.py on made-up reports (no GPU, no torch):

    python3 -m unittest bench/compare/test_budget.py

The fake children's JSON has the shape `twistedpic-bench budget --json` and diffusers_bench.py write."""
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import budget  # noqa: E402

GiB = 1024.0 ** 3
MiB = 1024.0 ** 2


def tp_side(b, s, peak_gib, reserved_gib, budget_gib, placement, process_gib=None):
    plan = None
    if budget_gib is not None:
        plan = {"description": f"transformer: {placement}", "budgetBytes": budget_gib * GiB, "fits": True,
                "level": 0, "components": [{"kind": "text encoder", "placement": "run-then-release"},
                                           {"kind": "denoiser", "placement": placement}]}
    within = None if budget_gib is None else peak_gib <= budget_gib
    results = {"budget": b, "secondsPerImage": s, "minSecondsPerImage": s * 0.98, "itPerSec": 28 / s,
               "firstImageS": s + 20, "loadMs": 15000.0, "budgetBytes": None if budget_gib is None else budget_gib * GiB,
               "predictedPeakBytes": None, "peakDeviceBytes": peak_gib * GiB, "peakReservedBytes": reserved_gib * GiB,
               "peakAllocatedBytes": reserved_gib * 0.9 * GiB, "withinBudget": within,
               "reservedWithinBudget": None if budget_gib is None else reserved_gib <= budget_gib,
               "outsideAllocatorBytes": 0.6 * GiB, "plan": plan, "failures": 0, "oomRetries": 0,
               "memorySource": "nvml",
               "images": [{"image": "warm-up", "withinBudget": within}, {"image": "1", "withinBudget": within},
                          {"image": "2", "withinBudget": within}]}
    return {"side": "twistedpic", "budget": b, "error": None, "report": {"results": results, "notes": []},
            "nvml": None if process_gib is None else {"process_peak_mib": process_gib * 1024}}


def diffusers_side(mode, s, its, reserved_gib, steps, runs=2, process_gib=None):
    return {"side": "diffusers", "mode": mode, "steps": steps, "runs": runs, "error": None,
            "report": {"results": [{"median_s_per_image": s, "min_s_per_image": s, "it_per_s": its,
                                    "peak_allocated_mib": reserved_gib * 900, "peak_reserved_mib": reserved_gib * 1024}],
                       "load": {"total_s": 30.0}, "errors": []},
            "nvml": None if process_gib is None else {"process_peak_mib": process_gib * 1024}}


def family(with_process_peaks):
    p = (lambda g: g) if with_process_peaks else (lambda g: None)
    return {"family": "sd35-large", "folder": "/tmp/x",
            "settings": {"width": 1024, "height": 1024, "steps": 28, "guidance": 4.5, "sampler": "default",
                         "dtype": "bf16"},
            "twistedpic": [tp_side("all", 6.0, 30.0, 29.0, None, "resident", p(30.5)),
                           tp_side("24", 7.0, 21.0, 20.5, 24, "resident", p(21.5)),
                           tp_side("8", 13.0, 7.5, 7.2, 8, "streamed", p(8.1)),
                           {"side": "twistedpic", "budget": "4", "error": "twistedpic-bench exited 1: OOM",
                            "report": {"results": {"images": []}, "notes": ["warm-up: out of memory"]}}],
            "diffusers": [diffusers_side("model", 10.0, 4.0, 18.0, 28, process_gib=p(19.0)),
                          diffusers_side("sequential", 40.0, 0.25, 3.0, 8, runs=1, process_gib=p(3.6)),
                          diffusers_side("group", 20.0, 2.0, 6.0, 28, process_gib=p(6.8))]}


class BudgetTables(unittest.TestCase):
    def test_rows_with_process_peaks(self):
        rows = budget.combine_family(family(True))
        tp = {t["budget"]: t for t in rows["twistedpic"]}
        self.assertAlmostEqual(tp["all"]["vs_resident"], 1.0)
        self.assertAlmostEqual(tp["24"]["vs_resident"], 7.0 / 6.0)
        self.assertEqual(tp["24"]["goal"], budget.GOAL_RESIDENT)  # the denoiser stays resident
        self.assertTrue(tp["24"]["meets_goal"])
        self.assertEqual(tp["8"]["goal"], budget.GOAL_STREAMED)  # it streams
        self.assertFalse(tp["8"]["meets_goal"])  # 13 / 6 > 2
        self.assertIsNone(tp["4"]["s_per_image"])
        self.assertIn("OOM", tp["4"]["error"])
        self.assertEqual(tp["8"]["budget_mib"], 8 * 1024)
        self.assertTrue(tp["8"]["within_budget"])

        d = {r["mode"]: r for r in rows["diffusers"]}
        # sequential ran 8 of 28 steps at 0.25 it/s: 20 more steps take 80 s
        self.assertTrue(d["sequential"]["estimated"])
        self.assertAlmostEqual(d["sequential"]["s_per_image_full_steps"], 40.0 + 20 / 0.25)
        self.assertFalse(d["model"]["estimated"])

        c = {r["mode"]: r for r in rows["comparison"]}
        # group: process peak 6.8 GiB; nearest TwistedPic peak 8.1 (budget 8); none at or below 6.8
        self.assertEqual(c["group"]["nearest"]["budget"], "8")
        self.assertEqual(c["group"]["nearest"]["peaks"], "process peak (NVML)")
        self.assertAlmostEqual(c["group"]["nearest"]["speedup"], 20.0 / 13.0)
        self.assertIsNone(c["group"]["at_or_below"])
        self.assertIsNone(c["group"]["meets_goal"])  # not judged: no TwistedPic run at that peak
        self.assertIn("--budgets ...,5", c["group"]["hint"])
        # model offload: 19 GiB; at or below it the fastest TwistedPic is budget 8 (8.1 GiB), nearest is 24 (21.5)
        self.assertEqual(c["model"]["nearest"]["budget"], "24")
        self.assertEqual(c["model"]["at_or_below"]["budget"], "8")
        self.assertIsNone(c["model"]["goal"])
        # sequential: 120 s estimated vs 13 s
        self.assertAlmostEqual(c["sequential"]["nearest"]["speedup"], 120.0 / 13.0)
        self.assertIsNone(c["sequential"]["meets_goal"])

    def test_goal_judged_at_or_below_the_peak(self):
        fam = family(True)
        fam["twistedpic"].append(tp_side("5", 16.0, 5.0, 4.8, 5, "streamed", 5.6))
        c = {r["mode"]: r for r in budget.combine_family(fam)["comparison"]}
        self.assertEqual(c["group"]["at_or_below"]["budget"], "5")  # 5.6 <= 6.8 GiB
        self.assertAlmostEqual(c["group"]["at_or_below"]["speedup"], 20.0 / 16.0)
        self.assertTrue(c["group"]["meets_goal"])
        self.assertIsNone(c["sequential"]["at_or_below"])  # 3.6 GiB: nothing as small
        self.assertIsNone(c["sequential"]["meets_goal"])

    def test_allocator_peaks_without_nvml(self):
        rows = budget.combine_family(family(False))
        c = {r["mode"]: r for r in rows["comparison"]}
        # diffusers group peak reserved 6 GiB, TwistedPic's reserved 7.2 (budget 8): nearest
        self.assertEqual(c["group"]["nearest"]["peaks"], "allocator peak reserved")
        self.assertEqual(c["group"]["nearest"]["budget"], "8")
        self.assertAlmostEqual(c["group"]["nearest"]["twistedpic_peak_mib"], 7.2 * 1024)

    def test_markdown_and_render(self):
        report = {"started_at": "2026-01-01T00:00:00", "gpu": {"name": "NVIDIA H100 80GB HBM3"},
                  "versions": {"torch": "2.11", "diffusers": "0.40"}, "families": [family(True)]}
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "in.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(report, f)
            out = os.path.join(tmp, "out")
            r = subprocess.run([sys.executable, os.path.join(HERE, "budget.py"), "--render", path, "--out", out],
                               capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(out, "budget.md"), encoding="utf-8") as f:
                md = f.read()
            with open(os.path.join(out, "budget.json"), encoding="utf-8") as f:
                again = json.load(f)
        self.assertIn("## sd35-large 1024x1024, 28 steps", md)
        self.assertIn("| 24 GiB | 7.000 | 1.17 | <= 1.25x: yes |", md)
        self.assertIn("| 8 GiB | 13.000 | 2.17 | <= 2.0x: **NO** |", md)
        self.assertIn("| all (fully resident) | 6.000 | 1.00 |", md)
        self.assertIn("| sequential | 8 x 1 | 40.000 | 120.000 (est.) |", md)
        self.assertIn("**TwistedPic 4: twistedpic-bench exited 1: OOM**", md)
        self.assertEqual(len(again["families"][0]["rows"]["comparison"]), 3)

    def test_resume_adds_what_earlier_calls_measured(self):
        earlier = family(True)
        with tempfile.TemporaryDirectory() as raw:
            for side in earlier["twistedpic"] + earlier["diffusers"]:
                name = (f"sd35-large-twistedpic-budget-{side['budget']}" if side["side"] == "twistedpic"
                        else f"sd35-large-diffusers-{side['mode']}")
                with open(os.path.join(raw, name + ".json.side"), "w", encoding="utf-8") as f:
                    json.dump(side, f)
            fam = dict(family(True), twistedpic=[tp_side("12", 9.0, 11.0, 10.5, 12, "streamed")], diffusers=[])
            args = type("A", (), {"resume": True})()
            budget.add_earlier_sides(fam, raw, args)
        # the failed budget 4 is not taken (it runs again); the order is all, then largest first
        self.assertEqual([s["budget"] for s in fam["twistedpic"]], ["all", "24", "12", "8"])
        self.assertEqual([s["mode"] for s in fam["diffusers"]], ["model", "group", "sequential"])

    def test_budget_argument(self):
        self.assertEqual(budget.budget_arg("24"), "24GiB")
        self.assertEqual(budget.budget_arg("11.5"), "11.5GiB")
        self.assertEqual(budget.budget_arg("all"), "all")
        self.assertEqual(budget.budget_arg("12000MiB"), "12000MiB")


@unittest.skipUnless(os.environ.get("TWISTEDPIC_BENCH") and os.environ.get("TWISTEDPIC_FIXTURE"),
                     "needs TWISTEDPIC_BENCH and TWISTEDPIC_FIXTURE (CTest sets them)")
class TwistedPicSideEndToEnd(unittest.TestCase):
    """budget.py's TwistedPic half with the real twistedpic-bench on the tiny SD 1.5 fixture (diffusers skipped):
    on the CPU no plan is made, so no budget is applied and no goal judged."""

    def test_each_budget_runs_and_lands_in_the_table(self):
        out = tempfile.mkdtemp(prefix="budget-test-")
        self.addCleanup(shutil.rmtree, out, True)
        argv = ["sd15", "--out", out, "--model", os.path.abspath(os.environ["TWISTEDPIC_FIXTURE"]),
                "--bench", os.path.abspath(os.environ["TWISTEDPIC_BENCH"]), "--skip-diffusers", "--no-make",
                "--budgets", "all,8", "--size", "64x64", "--steps", "2", "--dtype", "fp32", "--runs", "1"]
        with redirect_stdout(io.StringIO()) as printed:
            budget.main(argv)
        with open(os.path.join(out, "budget.json"), encoding="utf-8") as f:
            report = json.load(f)
        rows = report["families"][0]["rows"]["twistedpic"]
        self.assertEqual([r["budget"] for r in rows], ["all", "8"], printed.getvalue())
        for r in rows:
            self.assertIsNone(r["error"], printed.getvalue())
            self.assertGreater(r["s_per_image"], 0)
            self.assertEqual(r["failures"], 0)
        self.assertEqual(rows[0]["vs_resident"], 1.0)
        eight = rows[1]
        if eight["plan"].startswith("none"):  # the CPU: nothing was budgeted, so nothing is judged
            self.assertIsNone(eight["budget_mib"])
            self.assertIsNone(eight["goal"])
        else:
            self.assertAlmostEqual(eight["budget_mib"], 8192, delta=1)
            self.assertTrue(eight["within_budget"])
        with open(os.path.join(out, "budget.md"), encoding="utf-8") as f:
            self.assertIn("| 8 GiB |", f.read())


if __name__ == "__main__":
    unittest.main()
