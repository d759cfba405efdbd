#!/usr/bin/env bash
# Runs on the GPU machine (see ../shared/gpu-kit): builds TwistedPic against the machine's CUDA
# libtorch and runs the given stages. Results collect in $RES (/tmp/gpu-res); the last stage,
# `pack`, puts them into $OUT/results.tgz and the trained model into $OUT/model.tgz (the device
# returns at most 8 files).
#   bash tools/gpu/device.sh build info test ...
# Stages:
#   build        configure (once) and build everything, Release, into $BUILD_DIR (build-gpu)
#   info         nvidia-smi and twistedpic-cli gpu-info
#   test         ctest -L gpu (CUDA parity and memory tests), TWISTEDPIC_TEST_DEVICE=cuda
#   cuda-tests   issues 16/17's CUDA tests (plan execution, streaming, graphs, preview, engine)
#   graphs       issue 17's switches one at a time on $SD15 (twistedpic-bench generation), and the
#                engine's first image and per-image time with cleanup on/off (budget scenario)
#   profile      issue 17: twistedpic-bench profile (per-operator: the first image's one-time costs,
#                where the GPU's time goes) on $SD15: graphs on, off, and on after each --warm-up,
#                each in a fresh process
#   all-tests    the whole suite on the GPU build
#   sd15         an SD 1.5-architecture model with random weights in $SD15 (for memtest/bench)
#   memtest      twistedpic-cli memtest on it, 512x512, 20 steps
#   train-bench  twistedpic-train --benchmark (projected duration of the default run)
#   train        the bundled model: twistedpic-train --device cuda (TRAIN_ARGS adds options)
#   bench        the benchmark scenarios on the SD 1.5 model, JSON into $OUT/bench
#   screens      the GUI test's screenshots on the GPU build with $SD15: a real run, and one within a
#                budget with its plan (issue 16); needs the GUI built (a build dir configured without
#                -DTWISTEDPIC_BUILD_GUI=OFF, e.g. BUILD_DIR=build-gpu-gui BUILD_TARGETS=tst_app)
#   random-model FAMILY  a full-size diffusers pipeline with random weights (sd15, sdxl, sd35-large,
#                sd35-medium, sd3-medium, flux-dev, flux-schnell) in $MODELS/FAMILY (needs .ref-kit)
#   compare      diffusers vs twistedpic-bench on the same random pipelines, $COMPARE (default
#                "sd15:512,768:1,4 sdxl"; $COMPARE_ARGS adds options), table in $OUT/compare
#                (needs .ref-kit and the bench built earlier; see bench/compare/README.md)
#   budget       issue 16: twistedpic-bench budget at each of $BUDGETS (default "all,24,16,12,8" GiB)
#                next to diffusers' model/sequential/group offload, for each of $BUDGET_MODELS (default
#                "sd35-large flux-dev sdxl"; made with make_random_pipeline.py when missing),
#                $BUDGET_ARGS adds options; table in $OUT/budget (needs .ref-kit and the bench built
#                earlier). Always --resume: a second call goes on where the first stopped
#                (rm -rf $RES/budget to start over); see bench/compare/README.md
#   cotenant     issue 16: twistedpic-bench cotenant on $COTENANT_MODEL (default sd35-large, made
#                when missing: needs .ref-kit then), once per $COTENANT_CARDS (default "0 40": the
#                whole card, then the card made to look 40 GiB); $COTENANT_ARGS adds options
#   pack         $OUT/results.tgz (logs, tables, JSON, screenshots) and $OUT/model.tgz
set -uo pipefail
FINAL=${OUT:-$PWD/gpu-out}
OUT=${RES:-/tmp/gpu-res}
mkdir -p "$OUT" "$FINAL"
# The kit unpacks once per machine; a later call on the same warm machine may come without it.
[ -f .gpu-kit/env.sh ] && bash .gpu-kit/env.sh > /tmp/gpu-env
[ -f /tmp/gpu-env ] && . /tmp/gpu-env
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
B=${BUILD_DIR:-build-gpu}
SD15=${SD15:-/tmp/sd15-random}
CLI="$B/app/twistedpic-cli"
MODELS=${MODELS:-/tmp/compare-models}
# Python with the reference kit's diffusers, without the Qt kit's libraries ahead of the wheels' own.
refpy() {
    bash .ref-kit/env.sh > /tmp/ref-env && . /tmp/ref-env || { echo "no .ref-kit (carry it)"; return 1; }
    TP_BENCH_LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-} \
        LD_LIBRARY_PATH=$(echo "${LD_LIBRARY_PATH:-}" | tr ':' '\n' | grep -v /opt/qtroot | paste -sd:) python3 "$@"
}
while [ $# -gt 0 ]; do
    stage=$1
    shift
    echo "=== stage $stage ($(date +%T))"
    case "$stage" in
    build)
        # CMAKE_EXTRA: e.g. -DTWISTEDPIC_BUILD_GUI=OFF with a kit without Qt Widgets.
        [ -f "$B/CMakeCache.txt" ] || cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release $QTROOT_CMAKE_ARGS ${CMAKE_EXTRA:-} \
            > "$OUT/cmake.log" 2>&1 || { tail -40 "$OUT/cmake.log"; exit 1; }
        T=""
        [ -n "${BUILD_TARGETS:-}" ] && T="--target $BUILD_TARGETS"
        cmake --build "$B" -j 16 $T -- -k 0 > "$OUT/build.log" 2>&1 || {
            echo "BUILD FAILED (going on with what was built)"; grep -E -A4 "error:" "$OUT/build.log" | head -150; }
        grep -c "warning:" "$OUT/build.log" | sed 's/^/warnings: /'
        ;;
    info)
        nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv
        "$CLI" gpu-info | tee "$OUT/gpu-info.txt"
        ;;
    test)
        # The gpu-labelled tests, then the parity tests that honour TWISTEDPIC_TEST_DEVICE.
        (cd "$B" && TWISTEDPIC_TEST_DEVICE=cuda ctest -L gpu --output-on-failure -V 2>&1 | tee "$OUT/ctest-gpu.log" |
            grep -E "^[0-9]+: (PASS|FAIL|SKIP|QINFO|QWARN)|tests passed|Test #" | grep -v "PASS   :" | head -80)
        (cd "$B" && TWISTEDPIC_TEST_DEVICE=cuda ctest -R "nn_parity|schedulers|tokenizer" --output-on-failure -V 2>&1 |
            tee "$OUT/ctest-parity.log" | grep -E "^[0-9]+: (FAIL|SKIP|QINFO)|tests passed|Test #" | head -60)
        ;;
    cuda-tests)
        # issues 16 and 17's CUDA checks: loading into a plan, streaming, graph replay == eager, the
        # asynchronous preview, channels-last, the engine (build them first: BUILD_TARGETS below)
        (cd "$B" && TWISTEDPIC_TEST_DEVICE=cuda timeout 300 ctest -R \
            "gpu_cuda|pipeline_parity|pipeline_streaming|plan_execution|pipeline_graphs|^engine$" \
            --output-on-failure 2>&1 | tee "$OUT/ctest-cuda.log" | grep -vE "^\s*(PASS|QDEBUG|QINFO)" | tail -100)
        ;;
    graphs)
        # issue 17 on the SD 1.5 model (run sd15 first): each switch on its own, then the engine's first
        # image in a fresh process (the budget scenario's warm-up row) with cleanup on and off
        mkdir -p "$OUT/graphs"
        BB="$B/bench/twistedpic-bench"
        for v in "graphs-on" "graphs-off --cuda-graphs off" "channels-last --channels-last on" \
            "cudnn-benchmark --cudnn-benchmark on" "sdpa-cudnn --sdpa cudnn" "sdpa-efficient --sdpa efficient"; do
            read -r name extra <<< "$v" # (not `set --`: the stage list is in "$@")
            timeout 90 "$BB" generation --model "$SD15" --precisions fp16 --sizes 512,768 --batches 1,4 --steps 20 \
                --no-cold $extra --json "$OUT/graphs/gen-$name.json" 2>&1 | tail -8
        done
        for c in on off; do
            timeout 90 "$BB" budget --model "$SD15" --budget all --width 512 --height 512 --steps 20 --runs 3 \
                --cleanup $c --json "$OUT/graphs/engine-cleanup-$c.json" 2>&1 | tail -12
        done
        # the first image's one-time costs: is it CUDA's lazy kernel loading? (EAGER loads every kernel
        # of every library when the context is made, so its first image has none of that left)
        CUDA_MODULE_LOADING=EAGER timeout 120 "$BB" budget --model "$SD15" --budget all --width 512 --height 512 \
            --steps 20 --runs 2 --cleanup off --json "$OUT/graphs/engine-eager-loading.json" 2>&1 | tail -12
        # and without the engine's device warm-up beside the load (issue 17.3), against engine-cleanup-off
        TWISTEDPIC_WARM_UP=0 timeout 120 "$BB" budget --model "$SD15" --budget all --width 512 --height 512 \
            --steps 20 --runs 2 --cleanup off --json "$OUT/graphs/engine-no-warm-up.json" 2>&1 | tail -12
        ;;
    profile)
        # issue 17: per-operator profile of $SD15 in fresh processes (first image vs steady, host vs device
        # time); PROFILE_MODEL/PROFILE_SIZES to profile another folder or sizes
        mkdir -p "$OUT/profile"
        for size in ${PROFILE_SIZES:-512}; do
            for v in "graphs-on" "graphs-off --cuda-graphs off" "warm-device --warm-up device" \
                "warm-model --warm-up model"; do
                read -r name extra <<< "$v"
                timeout 150 "$B/bench/twistedpic-bench" profile --model "${PROFILE_MODEL:-$SD15}" --size "$size" \
                    --steps 20 $extra --json "$OUT/profile/profile-$size-$name.json" 2>&1 |
                    tee "$OUT/profile/profile-$size-$name.txt" | tail -45
            done
        done
        ;;
    all-tests)
        (cd "$B" && TWISTEDPIC_TEST_DEVICE=cuda ctest --output-on-failure -j 8 2>&1 | tee "$OUT/ctest-all.log" | tail -40)
        ;;
    sd15)
        [ -f "$SD15/model_index.json" ] || "$B/tools/train/twistedpic-train" --untrained sd15 --device cuda --out "$SD15" \
            --work /tmp/sd15-work 2>&1 | tail -8
        du -sh "$SD15"
        ;;
    memtest)
        "$CLI" memtest --model "$SD15" --width 512 --height 512 --steps 20 2>&1 | tee "$OUT/memtest-512.txt"
        ;;
    train-bench)
        "$B/tools/train/twistedpic-train" --device cuda --out /tmp/tp-bench-model --benchmark ${TRAIN_ARGS:-} 2>&1 | tail -20
        ;;
    train)
        mkdir -p "$OUT/model"
        "$B/tools/train/twistedpic-train" --device cuda --out "$OUT/model/twistedpic-shapes" \
            --work "$OUT/training" ${TRAIN_ARGS:-} 2>&1 | tee "$OUT/train.log" | grep -vE "^(vae|unet) step" | tail -40
        rm -f "$OUT"/training/*.pt "$OUT"/training/*checkpoint* 2>/dev/null
        ;;
    bench)
        mkdir -p "$OUT/bench"
        BB="$B/bench/twistedpic-bench"
        for s in ${BENCH_SCENARIOS:-generation memory-cycle co-tenant memory-ops soak}; do
            "$BB" $s --model "$SD15" --json "$OUT/bench/$s.json" 2>&1 | tee "$OUT/bench/$s.txt" | tail -60
        done
        ;;
    screens)
        TWISTEDPIC_TEST_DEVICE=cuda TWISTEDPIC_SCREENSHOT_MODEL="$SD15" "$B/tests/ui/tst_app" 2>&1 | tail -25
        mkdir -p "$OUT/screens" && cp "$B"/screenshots/*.png "$OUT/screens/" 2>/dev/null; ls "$OUT/screens"
        ;;
    random-model)
        fam=${1:?random-model needs a family}
        shift
        refpy bench/compare/make_random_pipeline.py --family "$fam" --out "$MODELS/$fam" 2>&1 |
            tee "$OUT/random-model-$fam.log" | tail -15
        ;;
    compare)
        # COMPARE_ARGS is shell words: --variant "graphs off=--cuda-graphs off" keeps its quotes.
        eval "refpy bench/compare/compare.py ${COMPARE:-sd15:512,768:1,4 sdxl} --models-root \"\$MODELS\" \
            --bench \"\$B/bench/twistedpic-bench\" --out \"\$OUT/compare\" ${COMPARE_ARGS:-}" 2>&1 | tail -70
        ;;
    budget)
        refpy bench/compare/budget.py ${BUDGET_MODELS:-sd35-large flux-dev sdxl} --models-root "$MODELS" \
            --bench "$B/bench/twistedpic-bench" --budgets "${BUDGETS:-all,24,16,12,8}" --out "$OUT/budget" \
            --resume ${BUDGET_ARGS:-} 2>&1 | tail -60
        ;;
    cotenant)
        fam=${COTENANT_MODEL:-sd35-large}
        [ -f "$MODELS/$fam/model_index.json" ] || refpy bench/compare/make_random_pipeline.py --family "$fam" \
            --out "$MODELS/$fam" 2>&1 | tee "$OUT/random-model-$fam.log" | tail -5
        mkdir -p "$OUT/bench"
        for card in ${COTENANT_CARDS:-0 40}; do
            "$B/bench/twistedpic-bench" cotenant --model "$MODELS/$fam" --card-gib "$card" \
                --json "$OUT/bench/cotenant-$fam-card$card.json" ${COTENANT_ARGS:-} 2>&1 |
                tee "$OUT/bench/cotenant-$fam-card$card.txt" | tail -30
        done
        ;;
    pack)
        [ -d "$OUT/model" ] && tar -C "$OUT" -czf "$FINAL/model.tgz" model && rm -rf "$OUT/model"
        tar -C "$OUT" -czf "$FINAL/results.tgz" . && ls -la "$FINAL"
        ;;
    *)
        echo "unknown stage $stage"; exit 2 ;;
    esac
done
