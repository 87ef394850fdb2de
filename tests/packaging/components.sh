#!/usr/bin/env bash
# worm::core alone links neither libcurl nor cairo (nor SQLite): installs the built libworm
# into a scratch prefix, builds tests/packaging/core_consumer against it with
# find_package(worm COMPONENTS core) and with `pkg-config worm-core`, runs both, and reads
# what each program needs (readelf NEEDED) and what its link line named. As a control the
# same program built against worm::s3 must need libcurl, so a check that can see nothing
# would fail. Static builds only: a shared libworm is one .so for every component
# (docs/packaging.md).
# Usage: components.sh <libworm build dir>
set -euo pipefail
BUILD_DIR=$1; SRC_DIR=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
fail() { echo "components check: $*" >&2; exit 1; }

if grep -q '^BUILD_SHARED_LIBS:BOOL=ON' "$BUILD_DIR/CMakeCache.txt"; then
  echo "components check: skipped (shared build: one libworm.so for every component)"; exit 0
fi
cmake --install "$BUILD_DIR" --prefix "$TMP/prefix" >/dev/null
for archive in worm_core worm_s3 worm_uploader worm_audit_log worm_compliance; do
  [[ -n "$(find "$TMP/prefix" -name "lib$archive.a" -print -quit)" ]] || fail "lib$archive.a is not installed"
done

# needed <program>: its NEEDED entries, one per line.
needed() { readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'; }
# build <component> <dir>: the consumer through find_package, with the link commands kept.
build() {
  cmake -S "$SRC_DIR/core_consumer" -B "$2" -DCMAKE_PREFIX_PATH="$TMP/prefix" \
        -DWORM_CONSUMER_COMPONENT="$1" >/dev/null
  cmake --build "$2" -- VERBOSE=1 >"$2.log" 2>&1 || { cat "$2.log" >&2; fail "the $1 consumer does not build"; }
}

build core "$TMP/core"
"$TMP/core/consumer" "$TMP/store-cmake" >/dev/null || fail "the worm::core consumer does not run"
core_needed=$(needed "$TMP/core/consumer")
link_line=$(grep -E -- '-o consumer|-o .*consumer ' "$TMP/core.log" || true)
[[ -n "$link_line" ]] || fail "no link line in the worm::core build log"
for forbidden in curl cairo sqlite pugixml; do
  grep -qi "$forbidden" <<<"$core_needed" && fail "the worm::core program needs $forbidden: $core_needed"
  grep -qi "lib$forbidden\|-l$forbidden\|worm_s3\|worm_compliance\|worm_uploader" <<<"$link_line" &&
    fail "the worm::core link line names $forbidden or another component: $link_line"
done
grep -q "libworm_core.a" <<<"$link_line" || fail "the worm::core link line does not name libworm_core.a: $link_line"
grep -q "libcrypto" <<<"$core_needed" || fail "the worm::core program does not need libcrypto (NEEDED: $core_needed)"

# pkg-config worm-core: the same program, the same answer.
PC_DIR=$(dirname "$(find "$TMP/prefix" -name worm-core.pc -print -quit)")
export PKG_CONFIG_PATH="$PC_DIR"
pc_flags=$(pkg-config --cflags --libs worm-core)
for forbidden in curl cairo sqlite pugixml; do
  grep -qi "$forbidden" <<<"$pc_flags" && fail "pkg-config worm-core names $forbidden: $pc_flags"
done
g++ -o "$TMP/consumer-pc" "$SRC_DIR/core_consumer/main.cpp" $pc_flags
"$TMP/consumer-pc" "$TMP/store-pc" >/dev/null || fail "the pkg-config worm-core consumer does not run"
pc_needed=$(needed "$TMP/consumer-pc")
grep -qiE 'curl|cairo|sqlite' <<<"$pc_needed" && fail "the pkg-config worm-core program needs: $pc_needed"

# Control: worm::s3 brings libcurl (the check above can see a dependency).
build s3 "$TMP/s3"
needed "$TMP/s3/consumer" | grep -q libcurl || fail "control: the worm::s3 program does not need libcurl"
needed "$TMP/s3/consumer" | grep -q cairo && fail "the worm::s3 program needs cairo"
echo "components check: ok (worm::core needs: $(tr '\n' ' ' <<<"$core_needed"))"
