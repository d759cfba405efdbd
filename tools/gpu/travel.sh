#!/usr/bin/env bash
# What travels to the GPU machine is capped at 64 MiB (counted in disk blocks): the repository plus
# .gpu-kit (~34 MB) is over it. `travel.sh out` moves what the GPU builds, CUDA tests and benches do not
# need to $TRAVEL_ASIDE (default /tmp/tp-travel-aside) and prints the size that remains; `travel.sh
# back` restores it. Run `back` before committing: while files are out, `git commit -a` would delete them.
#   bash tools/gpu/travel.sh out && <device call carrying .gpu-kit> ; bash tools/gpu/travel.sh back
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
A=${TRAVEL_ASIDE:-/tmp/tp-travel-aside}
paths=(
    resources/models docs/screenshots docs/images docs/bench
    tests/data/dit-cpu tests/data/sd15-single tests/data/prompt-weights tests/data/emphasis-a1111
    tests/data/sdxl-tiny tests/data/flux-tiny/single tests/data/flux-tiny/fp8 tests/data/flux-tiny/schnell
    tests/data/sd3-tiny/single
)
case "${1:-}" in
out)
    for p in "${paths[@]}"; do
        [ -e "$p" ] || continue
        # (a second copy would land inside the first: mv into an existing folder)
        [ -e "$A/$p" ] && { echo "$A/$p is there already: run \`$0 back\` first"; exit 1; }
        mkdir -p "$A/$(dirname "$p")"
        mv "$p" "$A/$p"
    done
    find . -name __pycache__ -type d -not -path "./build*" -prune -exec rm -rf {} + 2>/dev/null || true
    # (du fails on the tracked files that are out: its total still counts what is here)
    kib=$( (git ls-files -z --cached --others --exclude-standard | xargs -0 du -c 2>/dev/null || true) | tail -1 | cut -f1)
    kit=$( (du -s .gpu-kit 2>/dev/null || echo 0) | cut -f1)
    echo "repository $((kib / 1024)) MiB + .gpu-kit $((kit / 1024)) MiB = $(((kib + kit) / 1024)) MiB of 64"
    ;;
back)
    for p in "${paths[@]}"; do
        [ -e "$A/$p" ] || continue
        [ -e "$p" ] && { echo "both $p and $A/$p exist: left as they are"; continue; }
        mkdir -p "$(dirname "$p")"
        mv "$A/$p" "$p"
    done
    if git status --short | grep '^ D'; then echo "still missing (above)"; else echo "all back"; fi
    ;;
*)
    echo "usage: $0 out|back"; exit 2 ;;
esac
