#!/usr/bin/env bash
# README command 2: install what is missing (the S3 test peers too), build, run every test,
# then the unit suites under ASan+UBSan and the fuzz targets.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-peers
# The packaging tests build libworm again (shared, add_subdirectory, pip): through ccache,
# with the same settings as scripts/build.sh, they reuse this build's objects.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(cd .. && pwd)}" CCACHE_NOHASHDIR=1
scripts/build.sh -DWORM_BUILD_TESTS=ON -DWORM_BUILD_BENCH=ON
(cd "${WORM_BUILD_DIR:-build}" && ctest --output-on-failure --timeout 1800 -j2 "$@")
# WORM_SANITIZE_TESTS=1 also builds the unit suites with ASan+UBSan and runs them with the fuzz
# targets (scripts/sanitize.sh, in build-asan; WORM_FUZZ_SECONDS each, default 15). Not on by
# default yet: the whole unit set has not been shown to pass under ASan (see README, Security).
if (($# == 0)) && [[ "${WORM_SANITIZE_TESTS:-0}" == 1 ]]; then
  scripts/sanitize.sh asan -L 'unit|internal|fuzz'
fi
