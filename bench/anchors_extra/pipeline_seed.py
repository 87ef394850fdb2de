"""The seed's EvidencePipeline.process_incident steps in Python (seed 003: create the
bundle, validate it against the schema, write it, sign it, verify the signature right
away), the same steps libworm's product path does:

  build (anchors/common.py make_bundle) -> hash -> validate (jsonschema, the Draft 4
  validator built once, as a careful agent would) -> write .json -> Ed25519 sign ->
  write .sig -> read both back and verify: signature, hash, schema.

--durable writes each file as anchors_extra/pipeline_durable.py does (temp file, fsync,
rename, fsync the directory); without it files are simply created and written. Ids come
from the loop counter (no counter file): less work than libworm's id allocation.
"""
import argparse, base64, json, os, tempfile, time
import _path  # noqa: F401  (sys.path for common.py)
import jsonschema
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from common import make_bundle, bundle_hash

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, default=1000)
ap.add_argument("--durable", action="store_true")
ap.add_argument("--schema", required=True)
ap.add_argument("--dir")
a = ap.parse_args()
d = a.dir or tempfile.mkdtemp(prefix="anchor-pipeline-seed-")
with open(a.schema) as f:
    schema = json.load(f)
validator = jsonschema.validators.validator_for(schema)(schema)
key = Ed25519PrivateKey.generate()
pub = key.public_key()


def write(path, data):
    if not a.durable:
        with open(path, "xb") as f:
            f.write(data)
        return
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush(); os.fsync(f.fileno())
    os.replace(tmp, path)
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path):
    with open(path, "rb") as f:
        return f.read()


t = time.perf_counter()
for i in range(a.n):
    b = make_bundle(i)
    b["evidence_bundle_hash"] = bundle_hash(b)
    validator.validate(b)
    data = json.dumps(b, indent=2, sort_keys=True).encode()
    p = os.path.join(d, f"{i:07d}.json")
    write(p, data)
    write(p[:-5] + ".sig", base64.b64encode(key.sign(data)) + b"\n")
    # Verify what was written: the bytes on disk, not the ones in memory.
    stored = read(p)
    pub.verify(base64.b64decode(read(p[:-5] + ".sig")), stored)
    back = json.loads(stored)
    assert bundle_hash(back) == back["evidence_bundle_hash"]
    validator.validate(back)
dt = time.perf_counter() - t
print(f"python_pipeline_seed{'_durable' if a.durable else ''}: {a.n / dt:.0f} bundles/s")
