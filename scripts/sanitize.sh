#!/usr/bin/env bash
# Builds libworm with sanitizers (GCC) and runs test suites under them.
# Usage: scripts/sanitize.sh asan|tsan [all | ctest arguments]
#   asan: AddressSanitizer + UndefinedBehaviorSanitizer (and LeakSanitizer), in build-asan.
#   tsan: ThreadSanitizer, in build-tsan.
# Selection:
#   (nothing)  asan: the unit suites (-L 'unit|internal', what CI runs);
#              tsan: the threaded suites (uploader, audit log/journal/workers, pipeline
#              concurrency, registry, proxy, the integration tests against moto).
#   all        every test of the build (unit, internal, integration against moto and Ceph
#              RGW, the proxy): everything but the packaging and fuzz labels.
#   otherwise  any ctest arguments, e.g. `-R test_uploader` or `-L integration`.
# GCC, not clang: it builds worm-proxy's Asio coroutines, which clang 14 with Boost 1.74
# cannot. The libFuzzer targets need clang: scripts/fuzz.sh builds them apart (build-fuzz).
# The Python tests are not in these builds (WORM_BUILD_PYTHON=OFF): a sanitized extension
# needs its runtime preloaded into an unsanitized python; see README, Fuzzing and sanitizers.
# Only the targets the selected tests need are built. WORM_SANITIZE_BUILD_DIR overrides the
# build directory; WORM_JOBS the parallelism (default 2). Suppressions (with reasons):
# tests/sanitizers/*.supp. Any sanitizer report fails its test (no recovery, halt_on_error).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
kind=${1:-}
threaded_suites='^(test_uploader|test_audit_log|test_audit_log_verify|test_audit_workers|test_journal|test_pipeline|test_pipeline_concurrency|test_registry|test_registry_reconcile|test_migrate|test_http|test_it_proxy|test_it_uploader_moto|test_it_s3_uploader_moto|test_it_audit_moto|test_it_audit_log_moto|test_it_migrate_moto)$'
case "$kind" in
  asan) sanitizers=address,undefined default_selection=(-L 'unit|internal') ;;
  tsan) sanitizers=thread default_selection=(-R "$threaded_suites") ;;
  *) echo "usage: scripts/sanitize.sh asan|tsan [all | ctest arguments]" >&2; exit 2 ;;
esac
shift
ctest_args=("$@")
if ((${#ctest_args[@]} == 0)); then
  ctest_args=("${default_selection[@]}")
elif [[ "${ctest_args[*]}" == all ]]; then
  ctest_args=(-LE 'packaging|fuzz')
fi
BUILD_DIR=${WORM_SANITIZE_BUILD_DIR:-build-$kind}
command -v g++ >/dev/null || { echo "sanitize: g++ is missing (scripts/install-deps.sh installs it)" >&2; exit 2; }

LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(cd .. && pwd)}" CCACHE_NOHASHDIR=1
  LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
CXX=g++ cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${LAUNCHER[@]}" \
  -DWORM_SANITIZE="$sanitizers" -DWORM_BUILD_FUZZ=OFF -DWORM_BUILD_TESTS=ON -DWORM_BUILD_PROXY=ON \
  -DWORM_BUILD_PYTHON=OFF -DWORM_BUILD_EXAMPLES=OFF -DWORM_BUILD_BENCH=OFF >/dev/null

cd "$BUILD_DIR"
# The executables of the selected tests (peer variants _moto/_rgw share one), plus the programs
# the tests run.
mapfile -t targets < <(ctest -N "${ctest_args[@]}" | sed -nE 's/^ *Test +#[0-9]+: ([A-Za-z0-9_]+)$/\1/p' |
                       sed -E 's/_(moto|rgw)$//' | sort -u)
if ((${#targets[@]} == 0)); then
  echo "sanitize: no test matches: ${ctest_args[*]}" >&2
  exit 2
fi
# worm-proxy only when an integration test (which may start it) is selected.
programs=(worm_cli)
[[ " ${targets[*]}" == *" test_it_"* ]] && programs+=(worm_proxy)
cmake --build . -j "${WORM_JOBS:-2}" --target "${programs[@]}" "${targets[@]}"

supp="$ROOT/tests/sanitizers"
# verify_asan_link_order=0: test_input_files preloads its ENOSPC shim (LD_PRELOAD) ahead of
# libasan; the shim only wraps open/write, so the order does not matter.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:verify_asan_link_order=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$supp/lsan.supp}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp}"
# A sanitizer report ends its process with exit code 66 or 1 (halt_on_error), so the test fails.
ctest --output-on-failure --timeout 1800 -j "${WORM_JOBS:-2}" "${ctest_args[@]}"
