#!/usr/bin/env bash
# README command 2: install what is missing (the S3 test peers too), build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --with-peers
scripts/build.sh -DWORM_BUILD_TESTS=ON
cd "${WORM_BUILD_DIR:-build}"
ctest --output-on-failure --timeout 1800 -j2 "$@"
