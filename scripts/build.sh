#!/usr/bin/env bash
# Configures and builds libworm into ./build (2 parallel jobs: the machines have 2 cores).
# With ccache on the machine (scripts/install-deps.sh installs it), compiles go through it:
# the packaging tests' nested builds (shared library, add_subdirectory, pip) then reuse
# this build's objects instead of compiling everything again.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${WORM_BUILD_DIR:-build}
LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then
  # Paths relative to the checkout's parent and no hashing of the build directory, so
  # builds in sibling directories (and other clones beside this one) share the cache.
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(cd .. && pwd)}" CCACHE_NOHASHDIR=1
  LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${LAUNCHER[@]}" "$@" >/dev/null
cmake --build "$BUILD_DIR" -j "${WORM_JOBS:-2}"
