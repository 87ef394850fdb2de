#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang with ASan+UBSan, in build-asan) and runs each
# for a bounded time. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [ctest arguments]
#   scripts/fuzz.sh            15 s each (what CI runs)
#   scripts/fuzz.sh 600 -R journal   ten minutes on the audit-log journal reader
# A crash or hang is saved as build-asan/fuzz/artifacts/<target>-crash-*: add it to
# fuzz/corpus/<name>/ (replayed on every run) once it is fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  export WORM_FUZZ_SECONDS=$1
  shift
fi
exec scripts/sanitize.sh asan -L fuzz "$@"
