#!/usr/bin/env bash
# libworm through add_subdirectory: the including project's configure step checks that
# only the library comes along (subdir_consumer/CMakeLists.txt); then everything it has
# builds and the consumer runs. libworm's binary dir sits beside the main build
# (<build>-subdir-lib) so that ccache finds the same relative paths and reuses the main
# build's objects; the consumer builds in <build>-subdir.
# Usage: subdir.sh <libworm source dir> <main build dir> [extra cmake args...]
set -euo pipefail
SOURCE_DIR=$1; MAIN_BUILD=$(cd "$2" && pwd); shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
WORK="$MAIN_BUILD-subdir"; LIB_BUILD="$MAIN_BUILD-subdir-lib"
rm -rf "$WORK" "$LIB_BUILD"
cmake -S "$HERE/subdir_consumer" -B "$WORK" -DWORM_SOURCE_DIR="$SOURCE_DIR" -DWORM_BINARY_DIR="$LIB_BUILD" "$@" >/dev/null
# Every target of the build, as make lists them: only the library and the consumer.
targets=$(cmake --build "$WORK" --target help | sed -n 's/^\.\.\. \([^ ]*\).*/\1/p' \
          | grep -vE '^(all|clean|depend|edit_cache|rebuild_cache|install|install/.*|list_install_components|test)$|\.(o|i|s)$' | sort)
expected=$(printf '%s\n' consumer worm_core worm_s3 worm_uploader worm_audit_log worm_compliance | sort)  # the library: one archive per component
if [[ "$targets" != "$expected" ]]; then
  echo "subdir: targets built through add_subdirectory:" $targets "(expected:" $expected ")" >&2
  exit 1
fi
cmake --build "$WORK" -j "${WORM_JOBS:-2}" >/dev/null
"$WORK/consumer"
rm -rf "$WORK" "$LIB_BUILD"
echo "subdir: ok"
