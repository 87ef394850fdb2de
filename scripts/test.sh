#!/usr/bin/env bash
# README command 2: install what is missing (the S3 test peers too), build, run every test,
# then the unit suites under ASan+UBSan and the fuzz targets (WORM_SANITIZE_TESTS=0: not those).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-peers
# The packaging tests build libworm again (shared, add_subdirectory, pip): through ccache,
# with the same settings as scripts/build.sh, they reuse this build's objects.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(cd .. && pwd)}" CCACHE_NOHASHDIR=1
scripts/build.sh -DWORM_BUILD_TESTS=ON -DWORM_BUILD_BENCH=ON
(cd "${WORM_BUILD_DIR:-build}" && ctest --output-on-failure --timeout 1800 -j2 "$@")
# Without ctest arguments the sanitizer stage follows (WORM_SANITIZE_TESTS=0 skips it): the
# unit suites under ASan+UBSan (scripts/sanitize.sh asan: GCC, in build-asan), then every
# libFuzzer target for WORM_FUZZ_SECONDS each, default 15 (scripts/fuzz.sh: clang, in
# build-fuzz). A sanitizer report or a fuzz finding fails the run (set -e). Its cold cost on
# a fresh 2-core machine is in the README ("What CI runs").
if (($# == 0)) && [[ "${WORM_SANITIZE_TESTS:-1}" != 0 ]]; then
  scripts/sanitize.sh asan
  scripts/fuzz.sh "${WORM_FUZZ_SECONDS:-15}"
fi
