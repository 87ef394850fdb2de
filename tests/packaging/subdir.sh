#!/usr/bin/env bash
# libworm through add_subdirectory: the including project's configure step checks that
# only the library comes along (subdir_consumer/CMakeLists.txt); then everything it has
# builds and the consumer runs. Compiled without optimisation (the user's empty build
# type), which keeps this test short.
# Usage: subdir.sh <libworm source dir> <scratch dir>
set -euo pipefail
SOURCE_DIR=$1; WORK=$2
HERE=$(cd "$(dirname "$0")" && pwd)
rm -rf "$WORK"
cmake -S "$HERE/subdir_consumer" -B "$WORK" -DWORM_SOURCE_DIR="$SOURCE_DIR" \
  ${CMAKE_CXX_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER=$CMAKE_CXX_COMPILER_LAUNCHER} >/dev/null
# Every target of the build, as make lists them: only the library and the consumer.
targets=$(cmake --build "$WORK" --target help | sed -n 's/^\.\.\. \([^ ]*\).*/\1/p' \
          | grep -vE '^(all|clean|depend|edit_cache|rebuild_cache|install|install/.*|list_install_components|test)$' | sort)
expected=$(printf '%s\n' consumer worm | sort)
if [[ "$targets" != "$expected" ]]; then
  echo "subdir: targets built through add_subdirectory:" $targets "(expected:" $expected ")" >&2
  exit 1
fi
cmake --build "$WORK" -j "${WORM_JOBS:-2}" >/dev/null
"$WORK/consumer"
rm -rf "$WORK"
echo "subdir: ok"
