#!/usr/bin/env bash
# Installs, with apt-get, the Debian packages libworm builds and tests with, when missing.
# Usage: scripts/install-deps.sh [--with-peers]   (--with-peers adds Ceph RGW, nginx, gnuplot, and the
# compliance tests' independent checkers: chromium, poppler-utils (pdftotext, pdfsig), nodejs + npm; PostgreSQL
# (the evidence database tests start a server from its binaries); GNU time
# for bench/migrate_bench.py)
set -euo pipefail
PKGS=(build-essential cmake pkg-config libssl-dev libcurl4-openssl-dev rapidjson-dev
      libboost-dev libsqlite3-dev libpugixml-dev pybind11-dev doctest-dev openssl sqlite3
      doxygen python3-venv libcairo2-dev fonts-dejavu-core libspdlog-dev ccache
      python3-prometheus-client libsodium-dev libpq-dev python3-yaml  # python3-yaml: test_cloudformation.py
      nix-bin systemd  # tests/python/test_examples_deploy.py: nix-instantiate, systemd-analyze verify
      clang libclang-rt-14-dev llvm)  # scripts/fuzz.sh: clang, libFuzzer, llvm-symbolizer (stack traces)
# scripts/sanitize.sh needs no more: GCC's ASan/UBSan/LSan/TSan runtimes are dependencies of
# build-essential's g++ (libgcc-12-dev: libasan8, libubsan1, liblsan0, libtsan2).
if [[ "${1:-}" == "--with-peers" ]]; then
  PKGS+=(ceph-mon ceph-osd radosgw ceph-common nginx-light gnuplot-nox chromium poppler-utils time postgresql)
  # node 20 with its own npm may come from elsewhere (nodesource): ask apt only when missing.
  command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
fi
missing=()
for p in "${PKGS[@]}"; do
  [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == *"install ok installed"* ]] || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >&2
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
