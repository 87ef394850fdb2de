#!/usr/bin/env bash
# Installs the built libworm into a scratch prefix, then builds a consumer project with
# find_package(worm CONFIG) and the same program with pkg-config, and runs both.
set -euo pipefail
BUILD_DIR=$1; SRC_DIR=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
cmake --install "$BUILD_DIR" --prefix "$TMP/prefix" >/dev/null
cmake -S "$SRC_DIR/consumer" -B "$TMP/build" -DCMAKE_PREFIX_PATH="$TMP/prefix" >/dev/null
cmake --build "$TMP/build" >/dev/null
"$TMP/build/consumer"
export PKG_CONFIG_PATH="$TMP/prefix/lib/pkgconfig:$TMP/prefix/lib/x86_64-linux-gnu/pkgconfig"
g++ -o "$TMP/consumer-pc" "$SRC_DIR/consumer/main.cpp" $(pkg-config --cflags --libs worm)
"$TMP/consumer-pc"
