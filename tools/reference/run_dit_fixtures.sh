#!/bin/bash
# Makes the SD 3/3.5 and Flux.1 reference fixtures on the GPU machine and packs them:
#   OUTDIR/sd3-tiny.tar.gz, OUTDIR/flux-tiny.tar.gz, OUTDIR/<name>-log.txt (full output of each generator).
# Run from the repository root with the reference kit carried as .ref-kit:
#   bash tools/reference/run_dit_fixtures.sh "$OUT"
# A failing generator does not stop the other (its traceback is in the log, and it packs what it wrote);
# the exit code is 1 if any stage of either failed.
set -u
out=${1:?usage: run_dit_fixtures.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$(dirname "$0")/../.." || exit 2
bash .ref-kit/env.sh > /tmp/ref-env && . /tmp/ref-env || { echo "no reference kit (.ref-kit/env.sh)"; exit 2; }
python3 -c "import sys, torch, transformers, diffusers, sentencepiece, safetensors, numpy; print('python', sys.version.split()[0], '| torch', torch.__version__, '| cuda', torch.cuda.is_available(), '| transformers', transformers.__version__, '| diffusers', diffusers.__version__, '| sentencepiece', sentencepiece.__version__, '| safetensors', safetensors.__version__)"
work=$(mktemp -d /tmp/dit-fixtures.XXXXXX)
status=0
for gen in sd3 flux; do
  echo "=== make_${gen}_tiny.py ($(date +%T))"
  python3 -u tools/reference/make_${gen}_tiny.py "$work" > "$out/${gen}-log.txt" 2>&1
  rc=$?
  grep -E "^=== |FAILED|Error|error:|SKIPPED|MB$|identical|max \|diff\|" "$out/${gen}-log.txt" | grep -v "^=== \[.*\] [^:]*$" | tail -60
  if [ $rc -ne 0 ]; then
    echo "--- make_${gen}_tiny.py exited with $rc; the last lines of its log:"
    tail -40 "$out/${gen}-log.txt"
    status=1
  fi
  if [ -d "$work/${gen}-tiny" ]; then
    tar czf "$out/${gen}-tiny.tar.gz" -C "$work" "${gen}-tiny"
  fi
done
echo "=== results"
ls -l "$out"
du -sh "$work"/*-tiny 2>/dev/null
for d in "$work"/*-tiny; do [ -d "$d" ] && du -sh "$d"/* ; done
rm -rf "$work"
exit $status
