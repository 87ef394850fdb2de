"""The agent's sync scan over its JSON registry: load it, collect the pending bundles.

Same shape as registry.py's file (bundle id -> record); what a catch-up sync does before
it uploads anything. The file is written once (not timed); each scan is timed.
"""
import argparse, json, os, tempfile, time, shutil

ap = argparse.ArgumentParser()
ap.add_argument("--rows", type=int, default=100000)
ap.add_argument("--scans", type=int, default=5)
a = ap.parse_args()
d = tempfile.mkdtemp(prefix="anchor-registry-scan-")
path = os.path.join(d, ".upload_registry.json")
reg = {f"EB-20251101-{i:07d}": {"status": "pending", "bundle_path": f"/var/lib/evidence/{i}.json",
                                "attempts": []} for i in range(a.rows)}
with open(path, "w") as f:
    json.dump(reg, f)
del reg

t = time.perf_counter()
for _ in range(a.scans):
    with open(path) as f:
        r = json.load(f)
    pending = sorted(k for k, v in r.items() if v.get("status") in ("pending", "failed"))
    assert len(pending) == a.rows
dt = time.perf_counter() - t
shutil.rmtree(d, ignore_errors=True)
print(f"python_registry_scan_{a.rows}: {dt / a.scans * 1e3:.1f} ms/scan")
