#!/usr/bin/env bash
# libworm as a shared library (BUILD_SHARED_LIBS=ON): builds the library, the CLI and
# the unit-test suites (ctest label `unit`) beside the main build, in <build dir>-shared,
# runs them against libworm.so, and checks what the .so exports: its SONAME, the public
# API (WORM_API), and none of the internals (hidden by default).
# The directory sits beside the main build so that ccache finds the same relative paths
# and reuses the main build's objects (static and shared compile them identically).
# Usage: shared_unit.sh <libworm source dir> <main build dir> [extra cmake args...]
set -euo pipefail
SOURCE_DIR=$1; MAIN_BUILD=$(cd "$2" && pwd); shift 2
BUILD="$MAIN_BUILD-shared"
fail() { echo "shared build: $*" >&2; exit 1; }

cmake -S "$SOURCE_DIR" -B "$BUILD" -DBUILD_SHARED_LIBS=ON -DWORM_BUILD_TESTS=ON -DWORM_BUILD_CLI=ON \
  -DWORM_BUILD_PROXY=OFF -DWORM_BUILD_PYTHON=OFF -DWORM_BUILD_EXAMPLES=OFF -DWORM_BUILD_BENCH=OFF \
  -DWORM_TEST_PEERS=moto "$@" >/dev/null
units=$(cd "$BUILD" && ctest -N -L unit | sed -n 's/^ *Test *#[0-9]*: \(.*\)$/\1/p')
[[ -n "$units" ]] || fail "no test labelled unit"
cmake --build "$BUILD" -j "${WORM_JOBS:-2}" --target worm_library worm_cli $units >/dev/null  # worm_library: the one libworm.so

LIB=$(find "$BUILD" -maxdepth 1 -name 'libworm.so.*.*.*' -print -quit)
[[ -n "$LIB" ]] || fail "no versioned libworm.so.X.Y.Z in $BUILD"
soname=$(readelf -d "$LIB" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ "$soname" =~ ^libworm\.so\.[0-9]+\.[0-9]+$ ]] || fail "SONAME is '$soname', expected libworm.so.MAJOR.MINOR"
exported=$(nm -DC --defined-only "$LIB")
grep -q "worm::sha256_hex" <<<"$exported" || fail "the public API (worm::sha256_hex) is not exported"
grep -q "worm::UploadRegistry::" <<<"$exported" || fail "worm::UploadRegistry is not exported"
if grep -E "worm::detail::Sqlite|sha256_digest" <<<"$exported"; then
  fail "internal symbols (above) are exported: visibility must be hidden by default"
fi
# Read ldd's whole output before grep: `ldd | grep -q` under pipefail fails at random when
# grep exits at the first match and ldd then dies of SIGPIPE.
linked=$(ldd "$BUILD/tests/$(echo $units | cut -d' ' -f1)")
grep -q "libworm.so" <<<"$linked" || fail "the unit tests do not link libworm.so"

cd "$BUILD" && ctest -L unit --output-on-failure -j "${WORM_JOBS:-2}"
