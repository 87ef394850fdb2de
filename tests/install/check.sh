#!/usr/bin/env bash
# The installed package is relocatable: installs the built libworm into a scratch prefix,
# MOVES the prefix elsewhere, then builds a consumer project against the moved copy with
# find_package(worm CONFIG) and the same program with pkg-config, and runs both (and the
# installed `worm` program). Works for static and shared builds (BUILD_SHARED_LIBS).
# Usage: check.sh <libworm build dir>
set -euo pipefail
BUILD_DIR=$1; SRC_DIR=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
fail() { echo "install check: $*" >&2; exit 1; }

cmake --install "$BUILD_DIR" --prefix "$TMP/original" >/dev/null
mv "$TMP/original" "$TMP/moved"
PREFIX="$TMP/moved"

# Nothing installed may name the prefix it was installed to, nor a dependency's absolute
# library path (the exported target links imported targets such as pugixml::pugixml).
CMAKE_DIR=$(dirname "$(find "$PREFIX" -name wormConfig.cmake -print -quit)")
[[ -d "$CMAKE_DIR" ]] || fail "no wormConfig.cmake under the prefix"
if grep -rl "$TMP/original" "$CMAKE_DIR" "$PREFIX"/lib*/pkgconfig 2>/dev/null; then
  fail "the files above name the original install prefix"
fi
if grep -nE '"/[^"$]*\.(so|a)(\.[0-9]+)*["; ]' "$CMAKE_DIR"/wormTargets*.cmake; then
  fail "wormTargets names absolute library paths (above) instead of imported targets"
fi
grep -q "find_library" "$CMAKE_DIR/wormConfig.cmake" && fail "wormConfig.cmake runs find_library"

# The installed headers are the public API only: no private header of src/include is
# installed, and none of the installed headers includes RapidJSON or a private header.
REPO_DIR=$(cd "$SRC_DIR/../.." && pwd)
INCLUDE_DIR="$PREFIX/include"
[[ -f "$INCLUDE_DIR/worm/bundle.hpp" ]] || fail "no installed worm/bundle.hpp under $INCLUDE_DIR"
PRIVATE_PATTERN=""
while IFS= read -r header; do
  name=${header#"$REPO_DIR/src/include/"}
  [[ -e "$INCLUDE_DIR/$name" ]] && fail "private header $name is installed"
  PRIVATE_PATTERN+="|${name//./\\.}"
done < <(find "$REPO_DIR/src/include" -name '*.hpp')
if grep -rnE "#[[:space:]]*include[[:space:]]*[<\"](rapidjson/${PRIVATE_PATTERN})" "$INCLUDE_DIR/worm"; then
  fail "installed headers (above) include RapidJSON or a private header"
fi

# find_package(worm CONFIG) from the moved prefix.
cmake -S "$SRC_DIR/consumer" -B "$TMP/build" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$TMP/build" >/dev/null
"$TMP/build/consumer"

# pkg-config from the moved prefix (the rpath finds a shared libworm there).
PC_DIR=$(dirname "$(find "$PREFIX" -name worm.pc -print -quit)")
export PKG_CONFIG_PATH="$PC_DIR"
[[ "$(pkg-config --variable=prefix worm)" -ef "$PREFIX" ]] || fail "pkg-config prefix is not the moved prefix"
LIBDIR=$(pkg-config --variable=libdir worm)
g++ -o "$TMP/consumer-pc" "$SRC_DIR/consumer/main.cpp" $(pkg-config --cflags --libs worm) -Wl,-rpath,"$LIBDIR"
"$TMP/consumer-pc"

# The installed program runs from the moved prefix too (relative RUNPATH when shared).
if [[ -x "$PREFIX/bin/worm" ]]; then
  "$PREFIX/bin/worm" --help >/dev/null || fail "the installed worm program does not run from the moved prefix"
fi
echo "install check: ok ($PREFIX)"
