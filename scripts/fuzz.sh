#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/: clang, ASan+UBSan, in build-fuzz) and runs each for
# a bounded time (ctest label fuzz). Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [ctest arguments]
#   scripts/fuzz.sh                 15 s each (what CI runs)
#   scripts/fuzz.sh 600 -R journal  ten minutes on the audit-log journal reader
# Only this build uses clang (libFuzzer is clang's); the sanitized test suites are GCC builds
# (scripts/sanitize.sh). It holds the library and the fuzz targets only, no CLI or tests.
# A crash or hang is saved as build-fuzz/fuzz/artifacts/<target>-crash-*: add it to
# fuzz/corpus/<name>/ (replayed on every run) once it is fixed. WORM_FUZZ_BUILD_DIR overrides
# the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  export WORM_FUZZ_SECONDS=$1
  shift
fi
BUILD_DIR=${WORM_FUZZ_BUILD_DIR:-build-fuzz}
command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing (scripts/install-deps.sh installs it)" >&2; exit 2; }

LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(cd .. && pwd)}" CCACHE_NOHASHDIR=1
  LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
CXX=clang++ cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${LAUNCHER[@]}" \
  -DWORM_SANITIZE=address,undefined -DWORM_BUILD_FUZZ=ON -DWORM_BUILD_TESTS=OFF -DWORM_BUILD_CLI=OFF \
  -DWORM_BUILD_PROXY=OFF -DWORM_BUILD_PYTHON=OFF -DWORM_BUILD_EXAMPLES=OFF -DWORM_BUILD_BENCH=OFF \
  -DWORM_INSTALL=OFF >/dev/null

cd "$BUILD_DIR"
mapfile -t targets < <(ctest -N -L fuzz "$@" | sed -nE 's/^ *Test +#[0-9]+: ([A-Za-z0-9_]+)$/\1/p')
if ((${#targets[@]} == 0)); then
  echo "fuzz: no fuzz target matches: $*" >&2
  exit 2
fi
cmake --build . -j "${WORM_JOBS:-2}" --target "${targets[@]}"
# Any finding aborts the target (no recovery), so its ctest test fails with the input saved.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$ROOT/tests/sanitizers/ubsan.supp}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/tests/sanitizers/lsan.supp}"
ctest --output-on-failure -j "${WORM_JOBS:-2}" -L fuzz "$@"
