#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time (ctest label fuzz).
# Usage: run_target.sh BINARY SECONDS BUILD_DIR CORPUS [SEED_DIR...]
# WORM_FUZZ_SECONDS in the environment overrides SECONDS (longer runs on request).
# The checked-in CORPUS (seeds and past crashes) and the seed dirs are read, never written:
# new inputs go to BUILD_DIR/work/<target>, a crash or hang to BUILD_DIR/artifacts/.
set -euo pipefail
binary=$1 seconds=${WORM_FUZZ_SECONDS:-$2} build_dir=$3
shift 3
name=$(basename "$binary")
work="$build_dir/work/$name"
mkdir -p "$work" "$build_dir/artifacts"
# -timeout: one input running longer than 10 s is a hang (a failure, with its input saved).
# detect_leaks: every leak is a finding, as in the ASan unit suites.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
exec "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$build_dir/artifacts/$name-" "$work" "$@"
