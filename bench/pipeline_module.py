"""libworm's product path through the Python module: worm.EvidencePipeline, as a Python
agent calls it, on the same incident sections as worm_bench's `pipeline --full`
(anchors/common.py make_bundle). --threads T callers share one pipeline; --procs P
processes each run their own pipeline on one evidence directory; --batch B hands B
incidents at a time to process_incidents. Prints bundles/s over all callers.
"""
import argparse, multiprocessing, os, sys, tempfile, time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "anchors_extra"))
import _path  # noqa: E402,F401  (sys.path for common.py)
import worm  # noqa: E402
from common import make_bundle  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, default=1000)
ap.add_argument("--fsync", action="store_true")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--procs", type=int, default=1)
ap.add_argument("--batch", type=int, default=1)
ap.add_argument("--dir")
a = ap.parse_args()
d = a.dir or tempfile.mkdtemp(prefix="bench-pipeline-module-")
shape = make_bundle(0)
inputs = {"incident": shape["incident"], "runbook": shape["runbook"], "execution": shape["execution"],
          "actions": shape["actions_taken"], "artifacts": shape["artifacts"]}
per_caller = a.n // (a.threads * a.procs)


def pipeline():
    return worm.EvidencePipeline("clinic-001", evidence_dir=os.path.join(d, "evidence"),
                                 private_key=os.path.join(d, "keys", "private.pem"),
                                 config=worm.WormConfig(enabled=False), durable=a.fsync)


def work(p):
    done = 0
    while done < per_caller:
        k = min(a.batch, per_caller - done)
        if a.batch == 1:
            p.process_incident(**inputs)
        else:
            p.process_incidents([inputs] * k)
        done += k


def child(barrier):
    p = pipeline()
    barrier.wait()
    work(p)


worm.generate_keys(os.path.join(d, "keys"))
if a.procs == 1:
    p = pipeline()
    t = time.perf_counter()
    with ThreadPoolExecutor(a.threads) as pool:
        list(pool.map(lambda _: work(p), range(a.threads)))
    dt = time.perf_counter() - t
else:
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(a.procs + 1)
    procs = [ctx.Process(target=child, args=(barrier,)) for _ in range(a.procs)]
    for pr in procs:
        pr.start()
    barrier.wait()
    t = time.perf_counter()
    for pr in procs:
        pr.join()
        if pr.exitcode != 0:
            sys.exit("a pipeline process failed")
    dt = time.perf_counter() - t
print(f"libworm_py_pipeline{'_fsync' if a.fsync else ''}: {per_caller * a.threads * a.procs / dt:.0f} bundles/s")
