"""An auditor's Python check of an evidence directory: what `worm audit --dir` does per bundle.

For every .json in the directory (sorted, as an audit lists them): read it and its .sig,
verify the Ed25519 signature over the exact bytes (cryptography), parse, recompute the
canonical hash (common.bundle_hash) and compare, validate against
evidence-bundle-v1.schema.json (jsonschema, validator built once), and record its SHA-256
for the manifest. Failures are collected, not raised. One process, one core.

    python3 audit_dir.py --dir EVIDENCE --key public.pem --schema SCHEMA [--limit N]
"""
import argparse
import base64
import hashlib
import json
import os
import time

import _path  # noqa: F401  (sys.path for common.py)
import jsonschema
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from common import bundle_hash

ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--schema", required=True)
ap.add_argument("--limit", type=int, default=0, help="check only the first N bundles (0: all); the rate per bundle "
                                                      "does not depend on how many there are")
a = ap.parse_args()
with open(a.schema) as f:
    schema = json.load(f)
validator = jsonschema.validators.validator_for(schema)(schema)
with open(a.key, "rb") as f:
    pub = load_pem_public_key(f.read())

t = time.perf_counter()
cpu = time.process_time()
names = sorted(e.name for e in os.scandir(a.dir) if e.is_file() and e.name.endswith(".json"))
if a.limit:
    names = names[:a.limit]
failures, manifest = [], []
for name in names:
    path = os.path.join(a.dir, name)
    with open(path, "rb") as f:
        data = f.read()
    manifest.append((name, hashlib.sha256(data).hexdigest()))
    try:
        with open(path[:-5] + ".sig", "rb") as f:
            sig = f.read()
        manifest.append((name[:-5] + ".sig", hashlib.sha256(sig).hexdigest()))
        pub.verify(base64.b64decode(sig.strip(), validate=True), data)
    except (OSError, ValueError, InvalidSignature) as e:
        failures.append((name, "signature", repr(e)))
    try:
        b = json.loads(data)
    except ValueError as e:
        failures.append((name, "schema", repr(e)))
        continue
    if bundle_hash(b) != b.get("evidence_bundle_hash"):
        failures.append((name, "hash", "mismatch"))
    for err in validator.iter_errors(b):
        failures.append((name, "schema", err.message))
dt = time.perf_counter() - t
cpu = time.process_time() - cpu
if failures:
    raise SystemExit(f"{len(failures)} failures, first: {failures[0]}")
print(f"python_audit_dir: {len(names) / dt:.0f} bundles/s")
print(f"python_audit_dir_per_cpu_s: {len(names) / cpu:.0f} bundles/CPU-s")
print(f"python_audit_dir_bundles: {len(names)} bundles")
