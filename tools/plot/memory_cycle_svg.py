#!/usr/bin/env python3
"""Draws docs/images/memory-cycle.png's source: the memory-cycle benchmark's JSON as stacked bars.

    python3 tools/plot/memory_cycle_svg.py docs/bench/memory-cycle.json > /tmp/memory-cycle.svg
    convert /tmp/memory-cycle.svg docs/images/memory-cycle.png        # ImageMagick

Each row is one step of one policy; its bar is the device memory in use, split into what this
process's allocator holds in live tensors (the weights when idle), its cache (reserved minus
allocated: what cleanup gives back) and the rest (the CUDA context and library workspaces).
Standard library only."""
import json
import sys

data = json.load(open(sys.argv[1]))
rows = [r for r in data["results"]["cycle"] if r.get("deviceUsedMiB") is not None and "peak" not in r["step"]]
width, left, bar_h, gap, top = 980, 330, 22, 6, 70
scale_max = max(r["deviceUsedMiB"] for r in rows) * 1.08
plot_w = width - left - 40
height = top + len(rows) * (bar_h + gap) + 16 * 4 + 60
colors = {"weights": "#3b6fd8", "cache": "#f28e2b", "context": "#9aa0a6"}
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="DejaVu Sans" font-size="13">',
       f'<rect width="{width}" height="{height}" fill="white"/>',
       f'<text x="{width/2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">'
       f'GPU memory through one 512x512 SD 1.5 generation, per policy ({data["results"].get("device", "")})</text>']
y = top
last_policy = None
for r in rows:
    if r["policy"] != last_policy and last_policy is not None:
        y += 12
    last_policy = r["policy"]
    used, reserved, allocated = r["deviceUsedMiB"], r.get("reservedMiB") or 0, r.get("allocatedMiB") or 0
    parts = [("weights", allocated), ("cache", max(0, reserved - allocated)), ("context", max(0, used - reserved))]
    out.append(f'<text x="{left-10}" y="{y+bar_h-6}" text-anchor="end">{r["policy"]} · {r["step"]}</text>')
    x = left
    for name, mib in parts:
        w = mib / scale_max * plot_w
        if w > 0:
            out.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colors[name]}"/>')
        x += w
    out.append(f'<text x="{x+6:.1f}" y="{y+bar_h-6}">{used/1024:.2f} GiB</text>')
    y += bar_h + gap
y += 20
for i, (name, label) in enumerate([("weights", "allocated: live tensors (the weights)"),
                                   ("cache", "reserved but free: the allocator's cache (cleanup returns it)"),
                                   ("context", "CUDA context and library workspaces")]):
    out.append(f'<rect x="{left}" y="{y + i*18}" width="14" height="12" fill="{colors[name]}"/>')
    out.append(f'<text x="{left+20}" y="{y + i*18 + 11}">{label}</text>')
out.append("</svg>")
print("\n".join(out))
