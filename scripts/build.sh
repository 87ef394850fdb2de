#!/usr/bin/env bash
# Configures and builds libworm into ./build (2 parallel jobs: the machines have 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${WORM_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$BUILD_DIR" -j "${WORM_JOBS:-2}"
