#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the evidence pipeline demo
# on the embedded local WORM store.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/worm demo "$@"
