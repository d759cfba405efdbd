#!/usr/bin/env python3
"""compare.py's TwistedPic half end to end on the CPU: the real twistedpic-bench on the tiny SD 1.5 fixture,
with --variant columns (issue 17), diffusers skipped (no torch here). Run by CTest (compare_scripts), which
sets TWISTEDPIC_BENCH and TWISTEDPIC_FIXTURE; by hand:

    TWISTEDPIC_BENCH=build/bench/twistedpic-bench TWISTEDPIC_FIXTURE=tests/data/sd15-tiny/pipeline \\
        python3 -m unittest bench/compare/test_compare.py
"""
import io
import json
import os
import shutil
import sys
import tempfile
import unittest
from contextlib import redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import compare  # noqa: E402

BENCH = os.environ.get("TWISTEDPIC_BENCH")
FIXTURE = os.environ.get("TWISTEDPIC_FIXTURE")


def scratch(test):
    path = tempfile.mkdtemp(prefix="compare-test-")
    test.addCleanup(shutil.rmtree, path, True)
    return path


class VariantArguments(unittest.TestCase):
    def test_a_variant_without_a_name_is_refused(self):
        for bad in ("--cuda-graphs off", "=--sdpa flash"):
            with self.assertRaises(SystemExit) as e, redirect_stdout(io.StringIO()):
                compare.main(["sd15:64:1", "--out", scratch(self), "--variant", bad, "--skip-diffusers",
                              "--skip-twistedpic", "--model", "/nonexistent"])
            self.assertIn("NAME=ARGS", str(e.exception))


@unittest.skipUnless(BENCH and FIXTURE, "needs TWISTEDPIC_BENCH and TWISTEDPIC_FIXTURE (CTest sets them)")
class TwistedPicSideOnTheCpu(unittest.TestCase):
    def test_defaults_and_variants_each_get_a_column_and_a_ratio(self):
        out = scratch(self)
        argv = ["sd15:64:1", "--out", out, "--model", os.path.abspath(FIXTURE), "--bench", os.path.abspath(BENCH),
                "--skip-diffusers", "--no-make", "--steps", "2", "--dtype", "fp32", "--graphs-off",
                "--variant", "channels last=--channels-last on", "--variant", "cudnn bench=--cudnn-benchmark on"]
        with redirect_stdout(io.StringIO()) as printed:
            rc = compare.main(argv)
        self.assertEqual(rc, 1, "no diffusers side: the run says it is incomplete")
        with open(os.path.join(out, "compare.json"), encoding="utf-8") as f:
            report = json.load(f)
        [row] = report["rows"]
        self.assertEqual((row["size"], row["batch"], row["steps"]), ("64x64", 1, 2))
        tp = row["twistedpic"]
        self.assertIsNone(tp["error"], printed.getvalue())
        self.assertGreater(tp["s_per_image"], 0)
        self.assertIsNone(row["diffusers_eager"])
        names = [v["name"] for v in row["variants"]]
        self.assertEqual(names, ["graphs off", "channels last", "cudnn bench"])
        for v in row["variants"]:
            self.assertIsNone(v["twistedpic"]["error"], (v["name"], printed.getvalue()))
            self.assertGreater(v["twistedpic"]["s_per_image"], 0)
            self.assertAlmostEqual(v["s_ratio"], v["twistedpic"]["s_per_image"] / tp["s_per_image"])
        # each variant ran its own process with its own arguments, and says so in its report
        sides = {v["name"]: v["side"] for v in report["families"][0]["twistedpic_variants"]}
        self.assertEqual(sides["graphs off"]["report"]["results"]["cudaGraphs"], False)
        self.assertEqual(sides["channels last"]["report"]["results"]["channelsLast"], True)
        self.assertEqual(sides["cudnn bench"]["report"]["results"]["cudnnBenchmark"], True)
        self.assertEqual(report["families"][0]["twistedpic"]["report"]["results"]["cudaGraphs"], True)
        with open(os.path.join(out, "compare.md"), encoding="utf-8") as f:
            md = f.read()
        for name in names:
            self.assertIn(f"| TP {name} s/img (it/s) | ÷ TP ", md)

        # --resume takes the sides the first call left instead of running them again
        with redirect_stdout(io.StringIO()) as printed:
            compare.main(argv + ["--resume"])
        self.assertEqual(printed.getvalue().count("resumed from"), 4, printed.getvalue())


if __name__ == "__main__":
    unittest.main()
