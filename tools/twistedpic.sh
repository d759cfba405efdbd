#!/usr/bin/env bash
# The README's two commands:
#   bash tools/twistedpic.sh run    install what is missing, build, start the app
#                                   (no display: generate one image headless and print its path)
#   bash tools/twistedpic.sh test   install what is missing, build, run the whole test suite
# Extra arguments after `run` go to the program. BUILD_DIR (default: build) moves the build.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$here/build}
mode=${1:-run}
shift || true

packages=(
    build-essential cmake ninja-build ccache pkg-config file
    qt6-base-dev qt6-base-dev-tools qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools
    qt6-svg-dev libqt6svg6 qt6-qpa-plugins fonts-dejavu-core
    libtorch-dev libspdlog-dev libfmt-dev
    # T5's tokenizer (SD 3, Flux); runtime package libsentencepiece0.
    libsentencepiece-dev
    # Debian's libtorch calls the system BLAS: without OpenBLAS it is ~30x slower.
    libopenblas0-pthread
)

install_packages() {
    local missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "Installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

configure_and_build() {
    if [ ! -f "$build/CMakeCache.txt" ]; then
        cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
    fi
    # Two jobs per core is too many for torch TUs on small machines; Ninja's default is fine above 4 cores.
    local jobs
    jobs=$(nproc)
    cmake --build "$build" -j "$jobs"
}

case "$mode" in
run)
    install_packages
    configure_and_build
    if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
        exec "$build/app/twistedpic" "$@"
    fi
    echo "No display found: running the headless main job (twistedpic-cli generate)."
    exec "$build/app/twistedpic-cli" generate --prompt "a red circle on a blue background" "$@"
    ;;
test)
    install_packages
    configure_and_build
    cd "$build"
    ctest --output-on-failure -j "$(nproc)" --timeout 900 "$@"
    ;;
*)
    echo "usage: bash tools/twistedpic.sh run|test [args...]" >&2
    exit 2
    ;;
esac
