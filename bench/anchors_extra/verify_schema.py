"""verify.py plus JSON Schema validation: what an auditor's Python check does in full.

Same work per bundle as libworm's `worm_bench verify --schema`: Ed25519 signature over the
exact bytes, parse, recompute the hash, validate against evidence-bundle-v1.schema.json
(jsonschema's Draft 4 validator, built once, as a careful agent would).
"""
import argparse, base64, json, time
import _path  # noqa: F401  (sys.path for common.py)
import jsonschema
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from common import make_bundle, bundle_hash

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, default=3000)
ap.add_argument("--schema", required=True)
a = ap.parse_args()
with open(a.schema) as f:
    schema = json.load(f)
validator = jsonschema.validators.validator_for(schema)(schema)
key = Ed25519PrivateKey.generate(); pub = key.public_key()
items = []
for i in range(a.n):
    b = make_bundle(i); b["evidence_bundle_hash"] = bundle_hash(b)
    data = json.dumps(b, indent=2, sort_keys=True).encode()
    items.append((data, base64.b64encode(key.sign(data))))
t = time.perf_counter()
for data, sig in items:
    pub.verify(base64.b64decode(sig), data)
    b = json.loads(data)
    assert bundle_hash(b) == b["evidence_bundle_hash"]
    validator.validate(b)
dt = time.perf_counter() - t
print(f"python_verify_schema: {a.n / dt:.0f} bundles/s")
