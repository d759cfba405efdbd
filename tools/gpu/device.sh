#!/usr/bin/env bash
# Runs on the GPU machine (see ../shared/gpu-kit): builds TwistedPic against the machine's CUDA
# libtorch and runs the given stages. Results go to $OUT (or ./gpu-out).
#   bash tools/gpu/device.sh build test bench ...
# Stages: build | test (ctest -L gpu + the parity tests on CUDA) | all-tests | info | custom commands via STAGE_CMD
set -uo pipefail
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
bash .gpu-kit/env.sh > /tmp/gpu-env && . /tmp/gpu-env
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
B=${BUILD_DIR:-build-gpu}
for stage in "$@"; do
    echo "=== stage $stage ($(date +%T))"
    case "$stage" in
    build)
        [ -f "$B/CMakeCache.txt" ] || cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=Release $QTROOT_CMAKE_ARGS \
            > "$OUT/cmake.log" 2>&1 || { tail -40 "$OUT/cmake.log"; exit 1; }
        cmake --build "$B" -j 16 > "$OUT/build.log" 2>&1 || { grep -E "error|Error" "$OUT/build.log" | head -40; exit 1; }
        grep -c "warning:" "$OUT/build.log" | sed 's/^/warnings: /'
        ;;
    info)
        nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv
        "$B/app/twistedpic-cli" gpu-info | tee "$OUT/gpu-info.txt"
        ;;
    test)
        (cd "$B" && TWISTEDPIC_TEST_DEVICE=cuda ctest -L gpu --output-on-failure -V 2>&1 | tee "$OUT/ctest-gpu.log" | grep -E "PASS|FAIL|SKIP|QINFO|QWARN|tests passed|Test #" | head -150)
        ;;
    all-tests)
        (cd "$B" && TWISTEDPIC_TEST_DEVICE=cuda ctest --output-on-failure -j 8 2>&1 | tee "$OUT/ctest-all.log" | tail -40)
        ;;
    *)
        echo "unknown stage $stage"; exit 2 ;;
    esac
done
