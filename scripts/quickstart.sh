#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the evidence pipeline demo
# on the embedded local WORM store.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DWORM_BUILD_TESTS=OFF   # the tests are scripts/test.sh's job
exec build/worm demo "$@"
