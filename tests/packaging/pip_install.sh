#!/usr/bin/env bash
# `pip install .` with no network: a fresh venv (with the system's site packages, as a
# machine without PyPI has them), pip install --no-build-isolation --no-index of the
# source tree (bindings/python/build_backend drives CMake), then, from another directory,
# `import worm`, one pipeline call (bundle, sign, verify) and `python -m worm`.
# The CMake build stays in <main build dir>-wheel (beside the main build, for ccache).
# Usage: pip_install.sh <libworm source dir> <main build dir> [python]
set -euo pipefail
SOURCE_DIR=$(cd "$1" && pwd); MAIN_BUILD=$(cd "$2" && pwd); PYTHON=${3:-python3}
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
fail() { echo "pip install: $*" >&2; exit 1; }

"$PYTHON" -m venv --system-site-packages "$TMP/venv"
VPY="$TMP/venv/bin/python"
WORM_PY_BUILD_DIR="$MAIN_BUILD-wheel" CMAKE_ARGS="${CMAKE_ARGS:-}" \
  "$VPY" -m pip install --no-build-isolation --no-index --no-cache-dir "$SOURCE_DIR" >"$TMP/pip.log" 2>&1 \
  || { cat "$TMP/pip.log" >&2; fail "pip install failed"; }

mkdir "$TMP/elsewhere" && cd "$TMP/elsewhere"
export WORM_ENABLED=false  # no upload: this checks the package, not a store
"$VPY" - "$SOURCE_DIR/examples/data/backup-success" "$TMP/venv" <<'PY'
import json, sys
from pathlib import Path
import worm

data, venv = Path(sys.argv[1]), Path(sys.argv[2]).resolve()
module = Path(worm._worm.__file__).resolve()
assert venv in module.parents, f"worm._worm imported from {module}, not from the venv"
inputs = {part: json.loads((data / f"{part}.json").read_text())
          for part in ("incident", "runbook", "execution", "actions", "artifacts")}
pipeline = worm.EvidencePipeline("clinic-001", evidence_dir="evidence")
bundle_path, sig_path = pipeline.process_incident(**inputs)
assert pipeline.verify(bundle_path, sig_path)
report = worm.verification_report(bundle_path, sig_path, pipeline.public_key_path)
assert report["ok"], report
print("pip install: pipeline ok:", bundle_path.name)
PY

grep -q "process" <<<"$("$VPY" -m worm --help)" || fail "python -m worm --help does not list its commands"
bundle=$(find evidence -name 'EB-*.json' -print -quit)
[[ -n "$bundle" ]] || fail "the pipeline wrote no EB-*.json under evidence/"
"$VPY" -m worm verify "$bundle" --public-key evidence/keys/public.pem >/dev/null \
  || fail "python -m worm verify refused the bundle the pipeline wrote"
grep -q '^sha256:' <<<"$("$VPY" -m worm hash "$bundle")" || fail "python -m worm hash"
sed -i 's/"clinic-001"/"clinic-002"/' "$bundle"
set +e; "$VPY" -m worm verify "$bundle" --public-key evidence/keys/public.pem >/dev/null 2>&1; status=$?; set -e
[[ $status -eq 1 ]] || fail "python -m worm verify of a tampered bundle exited $status, expected 1"
echo "pip install: ok"
