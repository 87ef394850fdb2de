"""anchors/pipeline.py with libworm's durability: each file written to a temp file,
fsynced, renamed over the target, and the directory fsynced (what worm::write_file_atomic
does). The shared anchor only fsyncs the file, so its --fsync figure does half the
fsyncs; this one is the like-for-like comparison.
"""
import argparse, base64, json, os, tempfile, time
import _path  # noqa: F401  (sys.path for common.py)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from common import make_bundle, bundle_hash

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, default=300)
ap.add_argument("--dir")
a = ap.parse_args()
d = a.dir or tempfile.mkdtemp(prefix="anchor-pipeline-durable-")
key = Ed25519PrivateKey.generate()


def write_atomic(path, data):
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


t = time.perf_counter()
for i in range(a.n):
    b = make_bundle(i)
    b["evidence_bundle_hash"] = bundle_hash(b)
    data = json.dumps(b, indent=2, sort_keys=True).encode()
    p = os.path.join(d, f"{i:07d}.json")
    write_atomic(p, data)
    write_atomic(p[:-5] + ".sig", base64.b64encode(key.sign(data)) + b"\n")
dt = time.perf_counter() - t
print(f"python_pipeline_durable: {a.n / dt:.0f} bundles/s")
