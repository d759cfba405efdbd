#!/bin/bash
# Makes the SDXL / single-file / prompt-weight fixtures on the GPU machine (CPU float32 references) and packs each
# output folder into OUTDIR/<name>.tar.gz. Run from the repository root with .ref-kit carried:
#   bash tools/reference/run_sdxl_fixtures.sh OUTDIR        (OUTDIR e.g. $OUT on the device)
# A failing script prints its traceback and the others still run; the exit status is the number of failures.
set -u
OUTDIR=${1:?usage: run_sdxl_fixtures.sh OUTDIR}
mkdir -p "$OUTDIR"
bash .ref-kit/env.sh > /tmp/ref-env && . /tmp/ref-env
WORK=$(mktemp -d /tmp/fixtures.XXXX)
FIX=tests/data/sd15-tiny
PY=${PYTHON:-python3}
fails=0
run() {  # name, script, args...
  local name=$1; shift
  echo "=== $name: $PY $*"
  local t0=$SECONDS
  if "$PY" "$@" 2>&1 | tee "$WORK/$name.log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
    echo "=== $name ok ($((SECONDS - t0)) s)"
  else
    echo "=== $name FAILED ($((SECONDS - t0)) s)"; fails=$((fails + 1))
  fi
  cp "$WORK/$name.log" "$OUTDIR/$name.log"
}
run sdxl-tiny tools/reference/make_sdxl_tiny.py "$WORK"
run sd15-single tools/reference/make_sd15_single.py "$WORK"
if [ -d "$WORK/sdxl-tiny/pipeline" ]; then
  run prompt-weights tools/reference/make_prompt_weights.py "$FIX" "$WORK" "$WORK/sdxl-tiny/pipeline"
else
  run prompt-weights tools/reference/make_prompt_weights.py "$FIX" "$WORK"
fi
for name in sdxl-tiny sd15-single prompt-weights; do
  if [ -d "$WORK/$name" ]; then
    tar czf "$OUTDIR/$name.tar.gz" -C "$WORK" "$name"
  fi
done
echo "=== sizes"
for name in sdxl-tiny sd15-single prompt-weights; do
  [ -d "$WORK/$name" ] && echo "$name: $(du -sh "$WORK/$name" | cut -f1) unpacked"
done
ls -la "$OUTDIR"
echo "=== $fails failure(s)"
exit $fails
