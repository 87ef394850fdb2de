#!/usr/bin/env python3
"""libworm benchmarks side by side with the Python anchors and the machine's limit (issue 6).

One command runs every scenario:

    python3 bench/run.py                 # full run: builds build-bench/, writes bench/results/
    python3 bench/run.py --quick         # smoke run: proves the harness works (CI)
    python3 bench/run.py --only sigv4,registry --repeats 3

Every figure is the median of repeated runs, shown with min and max; a figure whose spread
(max - min) / median is above --noise (20 %) is flagged as noisy. The results go to
RESULTS.md (a table: scenario, libworm, anchor, ratio, limit, ratio to limit, target) and
chart.png (gnuplot) in the output directory, with the date, machine and commit.

Each program prints `name: value unit` lines; the harness also reads the child's CPU time
from wait4(2) and its own peak RSS (see run_program), so client CPU per request and memory
are measured the same way for libworm, boto3 and curl. Standard library only.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from sink import NginxSink  # noqa: E402

UNAVAILABLE_EXIT = 3  # worm_bench: this scenario's C++ part is not in the library yet
LINE = re.compile(r"^\s*([A-Za-z0-9_.\-]+):\s+([-+0-9.eE]+|nan|inf)\s+(\S+)\s*$")


# ---------------------------------------------------------------------------------------
# Running one program and measuring it
# ---------------------------------------------------------------------------------------
class RunError(Exception):
    pass


class Unavailable(Exception):
    pass


class Result:
    """What one run of one program gave: its printed figures, CPU seconds, peak RSS, wall time."""

    def __init__(self, values, cpu_s, maxrss_kib, wall_s, stderr, stdout=""):
        self.values, self.cpu_s, self.maxrss_kib, self.wall_s, self.stderr = values, cpu_s, maxrss_kib, wall_s, stderr
        self.stdout = stdout  # for programs that print a JSON result instead of figure lines


def vm_hwm_kib(pid):
    """The peak RSS (VmHWM, KiB) of a live process ("self": this one), 0 when unreadable."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def normal_scheduling():
    """Popen preexec_fn: the child runs at SCHED_OTHER even when the harness runs under
    `chrt -r`. Under SCHED_RR, threads of one priority take turns in 100 ms slices, so a
    program with more busy threads than cores starves its own background threads (a logger's
    writer) for whole slices: a setting no user runs."""
    if os.sched_getscheduler(0) != os.SCHED_OTHER:
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


def parse_figures(text):
    """The `name: value unit` lines worm_bench and the anchors print: {name: (value, unit)}."""
    values = {}
    for line in text.splitlines():
        m = LINE.match(line)
        if m:
            values[m.group(1)] = (float(m.group(2)), m.group(3))
    return values


def run_program(argv, env=None, timeout=1800, cwd=None, preexec_fn=None):
    """Runs argv, returns a Result. CPU time and peak RSS come from wait4 of that child
    (its threads included; children it spawned would need to be waited for by it).

    wait4's ru_maxrss alone is floored by this harness: Linux keeps maxrss across execve,
    and a child forked from here starts with the harness's peak RSS (~20 MiB). Above that
    floor ru_maxrss is the child's own; at the floor, the child's VmHWM read while it ran
    is (a high-water mark polled every 10 ms: only a peak in its last moments goes unseen)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=cwd,
                                preexec_fn=preexec_fn)
        floor = vm_hwm_kib("self")  # Popen returns once the child has exec'd: what it inherited, or more
        deadline = time.monotonic() + timeout
        hwm = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            hwm = max(hwm, vm_hwm_kib(proc.pid))
            if time.monotonic() > deadline:
                os.kill(proc.pid, signal.SIGKILL)
                os.wait4(proc.pid, 0)
                raise RunError(f"timed out after {timeout}s: {' '.join(argv)}")
            time.sleep(0.01)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
    if proc.returncode == UNAVAILABLE_EXIT and "unavailable" in stderr:
        raise Unavailable(stderr.strip().splitlines()[-1])
    if proc.returncode != 0:
        raise RunError(f"exit {proc.returncode}: {' '.join(argv)}\n{stderr[-3000:]}{stdout[-1000:]}")
    values = parse_figures(stdout)
    peak_rss = usage.ru_maxrss if usage.ru_maxrss > floor or not hwm else hwm
    return Result(values, usage.ru_utime + usage.ru_stime, peak_rss, wall, stderr, stdout)


# ---------------------------------------------------------------------------------------
# Figures: one measured quantity, repeated
# ---------------------------------------------------------------------------------------
def format_number(v):
    """A figure as the tables print it: thousands separated, three significant digits or so."""
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


class Figure:
    """One number in the table (e.g. libworm's SigV4 signs/s), measured `repeats` times.

    run(ctx) -> float runs the program once and extracts the value; `better` says which
    direction is good ("higher" for throughput, "lower" for costs)."""

    def __init__(self, fid, label, unit, better, run, repeats=None):
        self.fid, self.label, self.unit, self.better, self.run_once = fid, label, unit, better, run
        self.repeats = repeats
        self.samples = []
        self.error = None
        self.unavailable = None

    @property
    def ok(self):
        return bool(self.samples)

    @property
    def median(self):
        return statistics.median(self.samples)

    @property
    def spread(self):
        m = self.median
        return (max(self.samples) - min(self.samples)) / m if m else 0.0

    def noisy(self, threshold):
        return len(self.samples) > 1 and self.spread > threshold

    def fmt(self, v):
        return format_number(v)

    def cell(self, threshold, with_range=True):
        if self.unavailable:
            return "n/a (not built yet)"
        if self.error:
            return "error"
        if not self.samples:
            return "-"
        s = f"{self.fmt(self.median)} {self.unit}"
        if with_range and len(self.samples) > 1:
            s += f" ({self.fmt(min(self.samples))}-{self.fmt(max(self.samples))})"
        if self.noisy(threshold):
            s += " **noisy**"
        return s


def value_of(result, name):
    if name not in result.values:
        raise RunError(f"the program printed no `{name}:` line; it printed {sorted(result.values)}"
                       f"\n{result.stderr[-2000:]}")
    return result.values[name][0]


# ---------------------------------------------------------------------------------------
# The context: paths, binaries, the sink, scratch space
# ---------------------------------------------------------------------------------------
class Context:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.bench_bin = args.bench_bin
        self.python = args.python
        self.anchors = args.anchors_dir
        self.extra = os.path.join(HERE, "anchors_extra")
        self.scratch_root = tempfile.mkdtemp(prefix="worm-bench-")
        self.sink = None
        self.big_file = None
        self.big_size = 0

    def env(self, tmpdir=None):
        e = dict(os.environ)
        e["WORM_ANCHORS_DIR"] = self.anchors
        e.setdefault("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        e.setdefault("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        e.setdefault("AWS_REGION", "us-east-1")
        for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "HTTP_PROXY", "http_proxy",
                  "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            e.pop(k, None)  # loopback only: no proxy, no profile surprises
        e["NO_PROXY"] = e["no_proxy"] = "127.0.0.1,localhost"
        if tmpdir:
            e["TMPDIR"] = tmpdir
        py_dir = os.path.join(self.args.build_dir, "python")  # worm.logging for the logging anchor
        if os.path.isdir(py_dir):
            e["PYTHONPATH"] = py_dir + os.pathsep + e.get("PYTHONPATH", "")
        return e

    def scratch(self):
        # Flush what earlier runs left dirty first, so that their writeback (and the
        # filesystem journal commits it forces) does not land on this run's file creations.
        os.sync()
        return tempfile.mkdtemp(dir=self.scratch_root)

    def memory_root(self):
        """/dev/shm when it can be written (data read or written there costs no disk), else
        the scratch root."""
        shm = "/dev/shm"
        return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else self.scratch_root

    def run(self, argv, **kw):
        """Runs with a fresh TMPDIR (the anchors' mkdtemp lands there) deleted afterwards."""
        tmp = self.scratch()
        try:
            return run_program(argv, env=self.env(tmp), **kw)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def bench(self, *args, **kw):
        return self.run([self.bench_bin, *map(str, args)], **kw)

    def anchor(self, script, *args, **kw):
        return self.run([self.python, os.path.join(self.anchors, script), *map(str, args)], **kw)

    def anchor_extra(self, script, *args, **kw):
        return self.run([self.python, os.path.join(self.extra, script), *map(str, args)], **kw)

    def start_sink(self):
        """Starts the nginx S3-shaped sink (ctx.sink) for a scenario's setup."""
        self.sink = NginxSink().start()

    def stop_sink(self):
        """Stops the sink, if one runs (a scenario's teardown, and cleanup)."""
        if self.sink:
            self.sink.cleanup()
            self.sink = None

    def cleanup(self):
        self.stop_sink()
        shutil.rmtree(self.scratch_root, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------------------
class Row:
    """A table row: libworm's figure beside the anchor's and the limit's.

    ratio        = how many times better libworm is than the anchor (> 1: libworm wins);
    ratio_limit  = how far libworm is from the limit (1.0 = at the limit, 2.0 = half as good).
    target(row) -> (text, met: bool|None)."""

    def __init__(self, scenario, libworm, anchor=None, limit=None, target=None):
        self.scenario, self.libworm, self.anchor, self.limit, self.target = scenario, libworm, anchor, limit, target

    def _better_ratio(self, a, b):
        """How many times a is better than b."""
        if not (a and b and a.ok and b.ok) or a.median == 0 or b.median == 0:
            return None
        return a.median / b.median if a.better == "higher" else b.median / a.median

    @property
    def ratio(self):
        return self._better_ratio(self.libworm, self.anchor)

    @property
    def ratio_limit(self):
        return self._better_ratio(self.limit, self.libworm)


class Scenario:
    """figures are measured; rows pair them in the table; extra() (optional) runs once after
    the figures and returns markdown lines for the scenario's section (a breakdown)."""

    def __init__(self, name, title, figures, rows, setup=None, teardown=None, notes="", extra=None):
        self.name, self.title, self.figures, self.rows = name, title, figures, rows
        self.setup, self.teardown, self.notes, self.extra = setup, teardown, notes, extra
        self.extra_lines = []


def scenario_sigv4(ctx):
    q = ctx.quick
    n_lib, n_py, n_lim = (5000, 1000, 20000) if q else (200000, 20000, 1000000)
    lib = Figure("sigv4.libworm", "libworm sign_request", "signs/s", "higher",
                 lambda: value_of(ctx.bench("sigv4", "--n", n_lib), "libworm_sigv4"))
    py = Figure("sigv4.python", "botocore SigV4Auth", "signs/s", "higher",
                lambda: value_of(ctx.anchor("sigv4.py", "--n", n_py), "python_sigv4"))
    lim = Figure("sigv4.limit", "OpenSSL: SHA-256 + HMAC (cached key)", "signs/s", "higher",
                 lambda: value_of(ctx.bench("sigv4-limit", "--n", n_lim), "limit_sigv4_cached_key"))

    lim2 = Figure("sigv4.limit_derived", "OpenSSL: + 4 HMACs deriving the key per request", "signs/s", "higher",
                  lambda: value_of(ctx.bench("sigv4-limit", "--n", n_lim // 4), "limit_sigv4_derived_key"))

    def target(row):
        r = row.ratio
        return ">= 20x botocore", (None if r is None else r >= 20)
    return Scenario("sigv4", "SigV4 signatures of a PutObject with lock headers", [lib, py, lim, lim2],
                    [Row("SigV4 PutObject + lock headers", lib, py, lim, target)],
                    notes="Same request on both sides (PUT, 4 KiB body hash precomputed, lock and "
                          "checksum headers). botocore derives the signing key per request; libworm "
                          "caches it per day (that is the design). The limit is the hash work alone "
                          "with OpenSSL: SHA-256 of the canonical request + one HMAC with a cached key.")


def scenario_pipeline(ctx):
    q = ctx.quick
    n, n_fsync = (200, 20) if q else (3000, 300)
    n_full, n_full_fsync = (40, 16) if q else (1000, 240)
    schema = os.path.join(REPO, "schemas", "evidence-bundle-v1.schema.json")

    def in_scratch(fn):
        def run():
            d = ctx.scratch()
            try:
                return fn(d)
            finally:
                shutil.rmtree(d, ignore_errors=True)
        return run

    # ---- the product path: what a user switching from the Python agents runs ----------
    def product(fsync, threads=1, procs=1, batch=1):
        def fn(d):
            args = ["pipeline", "--full", "--n", n_full_fsync if fsync else n_full, "--dir", d,
                    "--threads", threads, "--procs", procs, "--batch", batch] + (["--fsync"] if fsync else [])
            return value_of(ctx.bench(*args), "libworm_pipeline_full" + ("_fsync" if fsync else ""))
        return in_scratch(fn)

    def module(fsync, threads=1, procs=1, batch=1):
        def fn(d):
            argv = [ctx.python, os.path.join(HERE, "pipeline_module.py"), "--n",
                    str(n_full_fsync if fsync else n_full), "--dir", d, "--threads", str(threads),
                    "--procs", str(procs), "--batch", str(batch)] + (["--fsync"] if fsync else [])
            return value_of(ctx.run(argv), "libworm_py_pipeline" + ("_fsync" if fsync else ""))
        return in_scratch(fn)

    def seed(durable):
        def fn(d):
            args = ["--n", n_full_fsync if durable else n_full, "--schema", schema, "--dir", d]
            return value_of(ctx.anchor_extra("pipeline_seed.py", *args + (["--durable"] if durable else [])),
                            "python_pipeline_seed" + ("_durable" if durable else ""))
        return in_scratch(fn)

    def floor(fsync):
        def fn(d):
            args = ["pipeline-floor", "--n", n_fsync if fsync else n, "--dir", d] + (["--fsync"] if fsync else [])
            return value_of(ctx.bench(*args), "limit_pipeline_floor" + ("_fsync" if fsync else ""))
        return in_scratch(fn)

    pp0 = Figure("pipeline_product.libworm", "libworm EvidencePipeline (C++)", "bundles/s", "higher", product(False))
    pp0py = Figure("pipeline_product.module", "libworm EvidencePipeline (Python module)", "bundles/s", "higher",
                   module(False))
    pp0seed = Figure("pipeline_product.python", "Python seed pipeline (validate, write, sign, verify)", "bundles/s",
                     "higher", seed(False))
    pp1 = Figure("pipeline_product_durable.libworm", "libworm EvidencePipeline (C++), durable", "bundles/s", "higher",
                 product(True))
    pp1py = Figure("pipeline_product_durable.module", "libworm EvidencePipeline (Python module), durable",
                   "bundles/s", "higher", module(True))
    pp1seed = Figure("pipeline_product_durable.python", "Python seed pipeline, durable (fsync file and dir)",
                     "bundles/s", "higher", seed(True))
    floor0 = Figure("pipeline_floor.limit", "sign + two plain file writes", "bundles/s", "higher", in_scratch(
        lambda d: value_of(ctx.bench("pipeline-floor", "--n", n, "--dir", d), "limit_pipeline_floor")))
    floor1 = Figure("pipeline_floor_durable.limit", "sign + two plain file writes, fsync each + one dir fsync",
                    "bundles/s", "higher", floor(True))

    def at_least(x):
        def target(row):
            r = row.ratio
            return f">= {x:g}x", (None if r is None else r >= x)
        return target

    def binding(row):  # the module's figure against the C++ one: at most 15 % slower
        r = row.ratio
        return "binding costs <= 15 % (ratio >= 0.87)", (None if r is None else r >= 1 / 1.15)

    # ---- concurrency, durable: callers share fsyncs (group commit) -------------------
    conc = []
    conc_rows = []
    for k in ((8,) if q else (2, 4, 8)):  # quick: the harness works, one concurrency level
        ft = Figure(f"pipeline_threads{k}.libworm", f"libworm EvidencePipeline, durable, {k} threads", "bundles/s",
                    "higher", product(True, threads=k))
        fp = Figure(f"pipeline_procs{k}.libworm", f"libworm EvidencePipeline, durable, {k} processes", "bundles/s",
                    "higher", product(True, procs=k))
        fm = Figure(f"pipeline_threads{k}.module", f"Python module EvidencePipeline, durable, {k} threads",
                    "bundles/s", "higher", module(True, threads=k))
        conc += [ft, fp, fm]
        conc_rows += [Row(f"Durable, {k} threads sharing one pipeline (C++) vs 1 thread", ft, pp1, floor1,
                          at_least(1.0)),
                      Row(f"Durable, {k} processes sharing one directory (C++) vs 1 process", fp, pp1, floor1,
                          at_least(1.0)),
                      Row(f"Durable, {k} threads (Python module) vs 1 thread", fm, pp1py, floor1, at_least(1.0))]
    fb = Figure("pipeline_batch16.libworm", "libworm process_incidents(16), durable", "bundles/s", "higher",
                product(True, batch=16))
    fbpy = Figure("pipeline_batch16.module", "Python module process_incidents(16), durable", "bundles/s", "higher",
                  module(True, batch=16))
    conc += [fb, fbpy]
    conc_rows += [Row("Durable, process_incidents(batch of 16), one thread (C++) vs one by one", fb, pp1, floor1,
                      at_least(1.0)),
                  Row("Durable, process_incidents(batch of 16), one thread (Python module) vs one by one", fbpy,
                      pp1py, floor1, at_least(1.0))]

    # ---- the parts: the bare pipeline against the shared anchor (as before) -----------
    def lib(fsync):
        def fn(d):
            args = ["pipeline", "--n", n_fsync if fsync else n, "--dir", d] + (["--fsync"] if fsync else [])
            return value_of(ctx.bench(*args), "libworm_pipeline" + ("_fsync" if fsync else ""))
        return in_scratch(fn)

    def py(fsync):
        def fn(d):
            args = ["--n", n_fsync if fsync else n, "--dir", d] + (["--fsync"] if fsync else [])
            return value_of(ctx.anchor("pipeline.py", *args), "python_pipeline" + ("_fsync" if fsync else ""))
        return in_scratch(fn)

    lib0 = Figure("pipeline.libworm", "libworm pipeline", "bundles/s", "higher", lib(False))
    py0 = Figure("pipeline.python", "Python pipeline", "bundles/s", "higher", py(False))
    lib1 = Figure("pipeline_fsync.libworm", "libworm pipeline, fsync", "bundles/s", "higher", lib(True))
    py1 = Figure("pipeline_fsync.python", "Python pipeline, fsync", "bundles/s", "higher", py(True))
    py2 = Figure("pipeline_durable.python", "Python pipeline, atomic + fsync file and dir", "bundles/s", "higher",
                 in_scratch(lambda d: value_of(ctx.anchor_extra("pipeline_durable.py", "--n", n_fsync, "--dir", d),
                                               "python_pipeline_durable")))
    lim = Figure("ed25519.sign", "openssl speed ed25519 (sign)", "signs/s", "higher",
                 lambda: openssl_speed(ctx)[0])

    def target(row):
        r, rl = row.ratio, row.ratio_limit
        if r is None or rl is None:
            return ">= 4x Python, within 1.5x of the signing limit", None
        return ">= 4x Python, within 1.5x of the signing limit", (r >= 4 and rl <= 1.5)

    def breakdown():
        d = ctx.scratch()
        try:
            r = ctx.bench("pipeline-steps", "--n", 200 if q else 2000, "--dir", d)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        out = ["Where one bundle's time goes in libworm (each step alone, one run, microseconds per bundle):", "",
               "| step | us/bundle |", "| --- | --- |"]
        out += [f"| {name[5:].replace('_', ' ')} | {v:.1f} |" for name, (v, _) in r.values.items()]
        return out

    return Scenario("pipeline", "Evidence pipeline: the product path (EvidencePipeline) first, then the parts",
                    [pp0, pp0py, pp0seed, floor0, pp1, pp1py, pp1seed, floor1] + conc + [lib0, py0, lim, lib1, py1, py2],
                    [Row("Product path, no fsync: EvidencePipeline (C++) vs the Python seed pipeline",
                         pp0, pp0seed, floor0, at_least(2)),
                     Row("Product path, no fsync: EvidencePipeline (Python module) vs the Python seed pipeline",
                         pp0py, pp0seed, floor0, at_least(2)),
                     Row("Product path, no fsync: Python module vs C++ (binding overhead)", pp0py, pp0, None, binding),
                     Row("Floor, no fsync: sign + two plain file creations (nothing else)", floor0, pp0seed, None),
                     Row("Product path, durable: EvidencePipeline (C++) vs the Python seed pipeline",
                         pp1, pp1seed, floor1, at_least(2)),
                     Row("Product path, durable: EvidencePipeline (Python module) vs the Python seed pipeline",
                         pp1py, pp1seed, floor1, at_least(2)),
                     Row("Product path, durable: Python module vs C++ (binding overhead)", pp1py, pp1, None, binding),
                     Row("Floor, durable: sign + two file creations, fsync each, one dir fsync", floor1, pp1seed, None)]
                    + conc_rows +
                    [Row("Parts: pipeline, no fsync", lib0, py0, lim, target),
                     Row("Parts: pipeline, fsync (anchor: file fsync only)", lib1, py1, lim, at_least(4)),
                     Row("Parts: pipeline, fsync, same durability", lib1, py2, lim, at_least(4))],
                    notes="Product path: worm_bench `pipeline --full` (C++) and bench/pipeline_module.py (the "
                          "Python module) run EvidencePipeline.process_incident on the seed-shaped incident "
                          "sections: allocate the id, build, validate the schema, hash, write .json, sign, "
                          "write .sig, read both back and verify signature, hash and schema, then commit. "
                          "anchors_extra/pipeline_seed.py does the seed pipeline's same steps in Python "
                          "(jsonschema, cryptography), ids from its loop counter (less work). Durable: libworm "
                          "fsyncs the two files (in parallel), links them, and fsyncs the directory once "
                          "(3 fsyncs, 2 file creations, 2 links per bundle, the id counter written once per "
                          "lease of up to 64 ids); the seed anchor writes each file to a temp file, fsyncs it, "
                          "renames it and fsyncs the directory (4 fsyncs). Floor rows: the fewest file "
                          "operations any implementation needs, measured in the same run: two plain file "
                          "creations and a signature (durable: plus an fsync of each file and one of the "
                          "directory, done one after the other). Concurrency rows compare N callers' total "
                          "bundles/s with one caller's, durable: threads share one pipeline (one directory "
                          "fsync per group of waiting callers), processes each open their own pipeline on the "
                          "same directory; process_incidents(16) commits 16 bundles with one fsync round. "
                          "The parts rows are the bare build-hash-sign-write loop against the shared anchor "
                          "(anchors/pipeline.py) as before. File creation cost on a shared machine varies a "
                          "lot from one minute to the next (ext4 inode allocation under other tenants' "
                          "deletes): compare figures within one run only.",
                    extra=breakdown)


def openssl_speed(ctx, processes=1):
    """(signs/s, verifies/s) from `openssl speed -seconds S ed25519`; one core, or the
    total of `processes` processes at once (`-multi`)."""
    secs = 1 if ctx.quick else 2
    multi = ["-multi", str(processes)] if processes > 1 else []
    with tempfile.TemporaryFile() as out:
        subprocess.run(["openssl", "speed", "-seconds", str(secs), *multi, "ed25519"],
                           stdout=out, stderr=subprocess.DEVNULL, check=True)
        out.seek(0)
        text = out.read().decode()
    for line in reversed(text.splitlines()):  # the summary line (with -multi: the total), not "Got: +F6:..."
        if "Ed25519" in line and not line.startswith("Got:"):
            nums = re.findall(r"[0-9]+(?:\.[0-9]+)?", line.split(")")[-1])
            if len(nums) >= 4:
                return float(nums[-2]), float(nums[-1])
    raise RunError("cannot parse `openssl speed ed25519` output:\n" + text[-1000:])


def scenario_verify(ctx):
    q = ctx.quick
    n = 200 if q else 3000
    schema = os.path.join(REPO, "schemas", "evidence-bundle-v1.schema.json")
    lib = Figure("verify.libworm", "libworm verify", "bundles/s", "higher",
                 lambda: value_of(ctx.bench("verify", "--n", n), "libworm_verify"))
    py = Figure("verify.python", "Python verify", "bundles/s", "higher",
                lambda: value_of(ctx.anchor("verify.py", "--n", n), "python_verify"))
    libs = Figure("verify_schema.libworm", "libworm verify + schema", "bundles/s", "higher",
                  lambda: value_of(ctx.bench("verify", "--n", n, "--schema"), "libworm_verify_schema"))

    def py_schema():
        if not os.path.exists(schema):
            raise Unavailable(f"unavailable: {schema} is not in the tree yet")
        return value_of(ctx.anchor_extra("verify_schema.py", "--n", n, "--schema", schema), "python_verify_schema")
    pys = Figure("verify_schema.python", "Python verify + jsonschema", "bundles/s", "higher", py_schema)
    lim = Figure("ed25519.verify", "openssl speed ed25519 (verify)", "verifies/s", "higher",
                 lambda: openssl_speed(ctx)[1])
    return Scenario("verify", "Verification: signature + hash (+ schema), an auditor checking a year of evidence",
                    [lib, py, libs, pys, lim],
                    [Row("Verify: signature + hash", lib, py, lim),
                     Row("Verify: signature + hash + schema", libs, pys, lim)],
                    notes="The shared anchor (verify.py) checks signature and hash; "
                          "anchors_extra/verify_schema.py adds jsonschema (Draft 4, validator built "
                          "once) so the third check is compared like for like.")


def make_curl_config(ctx, n, body_path, prefix):
    cfg = os.path.join(ctx.scratch(), "curl.cfg")
    with open(cfg, "w") as f:
        for i in range(n):
            f.write(f'upload-file = "{body_path}"\nurl = "{ctx.sink.endpoint}/bench/{prefix}/EB-{i:07d}.json"\n')
    return cfg


def curl_upload(ctx, n, concurrency, body_path):
    """curl --parallel over n URLs, static lock/checksum headers (no signing, no hashing):
    the HTTP work alone, the client limit."""
    cfg = make_curl_config(ctx, n, body_path, f"curl-c{concurrency}")
    until = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    argv = ["curl", "--silent", "--show-error", "--fail", "--output", "/dev/null",
            "--parallel", "--parallel-immediate", "--parallel-max", str(concurrency),
            "-H", "Expect:", "-H", "x-amz-object-lock-mode: COMPLIANCE",
            "-H", f"x-amz-object-lock-retain-until-date: {until}",
            "-H", "x-amz-checksum-sha256: " + "A" * 43 + "=",
            "-H", "x-amz-content-sha256: " + "0" * 64,
            "-H", "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/s3/aws4_request, "
                  "SignedHeaders=host, Signature=" + "0" * 64,
            "--config", cfg]
    try:
        return ctx.run(argv)
    finally:
        os.unlink(cfg)


def scenario_upload(ctx):
    q = ctx.quick
    n = 200 if q else 10000
    size = 4096
    body = os.path.join(ctx.scratch(), "body.bin")
    with open(body, "wb") as f:
        f.write(os.urandom(size))
    figures, rows = [], []
    baselines = {}

    def baseline(kind):
        """CPU seconds a client spends with --n 0 (interpreter, imports, client setup),
        subtracted so CPU per request is per request."""
        if kind not in baselines:
            cpus = []
            for _ in range(1 if q else 3):
                if kind == "python":
                    r = ctx.anchor("upload.py", "--endpoint", ctx.sink.endpoint, "--bucket", "bench", "--n", 0)
                else:
                    r = ctx.bench("upload", "--endpoint", ctx.sink.endpoint, "--bucket", "bench", "--n", 0)
                cpus.append(r.cpu_s)
            baselines[kind] = statistics.median(cpus)
        return baselines[kind]

    for c in (1, 8, 32):
        cache = {}  # run id -> Result, so requests/s and CPU come from the same runs

        def runner(who, c=c, cache=cache):
            def run_both():
                if who == "libworm":
                    r = ctx.bench("upload", "--endpoint", ctx.sink.endpoint, "--bucket", "bench",
                                  "--n", n, "--size", size, "--concurrency", c)
                    rps = value_of(r, f"libworm_upload_c{c}")
                    cpu = max(r.cpu_s - baseline("libworm"), 0.0)
                elif who == "python":
                    r = ctx.anchor("upload.py", "--endpoint", ctx.sink.endpoint, "--bucket", "bench",
                                   "--n", n, "--size", size, "--concurrency", c)
                    rps = value_of(r, f"python_upload_c{c}")
                    cpu = max(r.cpu_s - baseline("python"), 0.0)
                else:
                    r = curl_upload(ctx, n, c, body)
                    rps, cpu = n / r.wall_s, r.cpu_s
                return rps, cpu / n * 1000
            return run_both

        def rps_fig(who, label):
            run = runner(who)

            def once(who=who, run=run, cache=cache):
                rps, cpu = run()
                cache.setdefault(who, []).append(cpu)
                return rps
            return Figure(f"upload_c{c}.{who}", label, "req/s", "higher", once)

        def cpu_fig(who, label):
            def from_cache(who=who, cache=cache):
                # pops the CPU figure measured by the matching requests/s run
                return cache[who].pop(0)
            return Figure(f"upload_c{c}_cpu.{who}", label, "CPU s/1k req", "lower", from_cache)

        lib, py, lim = rps_fig("libworm", f"libworm c={c}"), rps_fig("python", f"boto3 c={c}"), rps_fig("curl", f"curl c={c}")
        libc, pyc, limc = cpu_fig("libworm", f"libworm c={c}"), cpu_fig("python", f"boto3 c={c}"), cpu_fig("curl", f"curl c={c}")
        for cf, rf in ((libc, lib), (pyc, py), (limc, lim)):
            cf.depends_on = rf  # measured in the same runs
        figures += [lib, py, lim, libc, pyc, limc]

        def t_rps(row):
            r = row.ratio
            return "above boto3", (None if r is None else r > 1)

        def t_cpu(row):
            rl = row.ratio_limit
            return "within 1.5x of curl's CPU/request", (None if rl is None else rl <= 1.5)
        rows += [Row(f"Upload 4 KiB, c={c}: requests/s", lib, py, lim, t_rps),
                 Row(f"Upload 4 KiB, c={c}: client CPU per 1k requests", libc, pyc, limc, t_cpu)]

    setup, teardown = ctx.start_sink, ctx.stop_sink
    return Scenario("upload", f"{n:,} PutObjects of 4 KiB with lock headers + SHA-256 checksums to a local nginx sink",
                    figures, rows, setup, teardown,
                    notes="Client CPU = user + system seconds of the client process (wait4), minus what "
                          "the same client spends with --n 0 (interpreter, imports, setup) for libworm "
                          "and boto3. curl sends the same headers, static (no signing, no hashing): the "
                          "HTTP work alone. The sink (nginx, one process) reads and discards the bodies.")



def proc_cpu_s(pid):
    """user + system CPU seconds a live process has used so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Server:
    """A server process of a scenario (worm-proxy, the Flask anchor): started on a free
    loopback port, waited for until it accepts, stopped by its PID."""

    def __init__(self, argv, port, env, log_path):
        self.port = port
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=env)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                raise RunError(f"{argv[0]} exited at start: {self.log_tail(log_path)}")
            try:
                import socket
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RunError(f"{argv[0]} did not start listening: {self.log_tail(log_path)}")
                time.sleep(0.05)

    @staticmethod
    def log_tail(path):
        with open(path, "rb") as f:
            return f.read()[-2000:].decode(errors="replace")

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def scenario_proxy(ctx):
    """Issue 14 target 3: 4 KiB evidence uploads through worm-proxy into the nginx sink,
    beside the seed's proxy in Python (Flask + boto3), the same load client for both and
    for the sink alone (the limit); proxy CPU per request; worm-proxy's RSS over 100,000."""
    q = ctx.quick
    n_lib, n_py, n_sink = (300, 100, 300) if q else (20000, 1000, 20000)
    n_rss = 2000 if q else 100000
    client_id, token = "clinic-001", "bench-token-" + "x" * 24
    servers = {}
    proxy_bin = os.path.join(os.path.dirname(os.path.dirname(ctx.bench_bin)), "worm-proxy")
    figures, rows = [], []

    def load(port, target, n, c):
        args = ["http-load", "--port", port, "--target", target, "--n", n, "--concurrency", c, "--size", 4096]
        if target == "proxy":
            args += ["--token", token, "--client-id", client_id]
        return ctx.bench(*args)

    for c in (1, 8, 32):
        cpu = {}  # who -> proxy CPU per 1k requests of the matching requests/s runs

        def through(who, n, c=c, cpu=cpu):
            def once():
                server = servers[who]
                before = proc_cpu_s(server.pid)
                r = load(server.port, "proxy", n, c)
                cpu.setdefault(who, []).append((proc_cpu_s(server.pid) - before) / n * 1000)
                return value_of(r, "http_load_rps")
            return once
        lib = Figure(f"proxy_c{c}.libworm", f"worm-proxy c={c}", "req/s", "higher", through("worm", n_lib))
        py = Figure(f"proxy_c{c}.python", f"Flask + boto3 proxy c={c}", "req/s", "higher", through("flask", n_py))
        lim = Figure(f"proxy_c{c}.sink", f"the same client into the nginx sink directly, c={c}", "req/s", "higher",
                     lambda c=c: value_of(load(ctx.sink.port, "sink", n_sink, c), "http_load_rps"))
        libc = Figure(f"proxy_c{c}_cpu.libworm", f"worm-proxy CPU c={c}", "CPU s/1k req", "lower",
                      lambda cpu=cpu: cpu["worm"].pop(0))
        pyc = Figure(f"proxy_c{c}_cpu.python", f"Flask + boto3 proxy CPU c={c}", "CPU s/1k req", "lower",
                     lambda cpu=cpu: cpu["flask"].pop(0))
        libc.depends_on, pyc.depends_on = lib, py
        figures += [lib, py, lim, libc, pyc]

        def t_rps(row):
            r = row.ratio
            return ">= 20x Flask + boto3", (None if r is None else r >= 20)
        rows += [Row(f"Proxy upload 4 KiB, c={c}: requests/s", lib, py, lim, t_rps),
                 Row(f"Proxy upload 4 KiB, c={c}: proxy CPU per 1k requests", libc, pyc)]

    rss = {}

    def rss_run():
        """n_rss uploads at c=32 after a warm-up, worm-proxy's RSS sampled every 50 ms."""
        server = servers["worm"]
        load(server.port, "proxy", 2000 if not q else 200, 32)  # warm-up: threads, pools, arenas
        samples = [proc_rss_kib(server.pid)]
        argv = [ctx.bench_bin, "http-load", "--port", str(server.port), "--target", "proxy", "--n", str(n_rss),
                "--concurrency", "32", "--token", token, "--client-id", client_id]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ctx.env())
        while proc.poll() is None:
            samples.append(proc_rss_kib(server.pid))
            time.sleep(0.05)
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise RunError(f"http-load failed: {err.decode(errors='replace')[-2000:]}")
        samples.append(proc_rss_kib(server.pid))
        rss.update(start=samples[0] / 1024, end=samples[-1] / 1024, peak=max(samples) / 1024)
        return rss["start"]
    rss_start = Figure("proxy_rss.start", f"worm-proxy RSS before {n_rss:,} uploads (after a warm-up)", "MiB",
                       "lower", rss_run, repeats=1)
    rss_end = Figure("proxy_rss.end", f"worm-proxy RSS after {n_rss:,} uploads", "MiB", "lower",
                     lambda: rss["end"], repeats=1)
    rss_peak = Figure("proxy_rss.peak", f"worm-proxy peak RSS during {n_rss:,} uploads", "MiB", "lower",
                      lambda: rss["peak"], repeats=1)
    rss_end.depends_on = rss_peak.depends_on = rss_start
    figures += [rss_start, rss_end, rss_peak]

    def t_flat(row):
        if not (rss_start.ok and rss_end.ok):
            return "flat: end within 10 % + 2 MiB of start", None
        return (f"flat: end within 10 % + 2 MiB of start ({rss_start.median:.1f} MiB)",
                rss_end.median <= rss_start.median * 1.1 + 2)
    rows += [Row(f"worm-proxy RSS over {n_rss:,} uploads (c=32): end", rss_end, None, None, t_flat),
             Row(f"worm-proxy RSS over {n_rss:,} uploads (c=32): peak", rss_peak, None, None, None)]

    def setup():
        ctx.start_sink()
        if not os.path.exists(proxy_bin):
            raise RunError(f"{proxy_bin} is not built (target worm_proxy)")
        d = ctx.scratch()
        tokens = os.path.join(d, "tokens")
        with open(tokens, "w") as f:
            f.write(f"{client_id} {token}\n")
        os.chmod(tokens, 0o600)
        env = ctx.env(d)
        env["WORM_S3_ENDPOINT"] = ctx.sink.endpoint
        env["AWS_ENDPOINT_URL_S3"] = ctx.sink.endpoint
        port = free_port()
        servers["worm"] = Server([proxy_bin, "--listen", f"127.0.0.1:{port}", "--tokens", tokens,
                                  "--store", "s3://bench", "--threads", str(ctx.args.proxy_threads)],
                                 port, env, os.path.join(d, "worm-proxy.log"))
        port = free_port()
        servers["flask"] = Server([ctx.python, os.path.join(ctx.extra, "flask_proxy.py"), "--port", str(port),
                                   "--endpoint", ctx.sink.endpoint, "--bucket", "bench", "--tokens", tokens],
                                  port, env, os.path.join(d, "flask-proxy.log"))

    def teardown():
        for s in servers.values():
            s.stop()
        servers.clear()
        ctx.stop_sink()
    return Scenario("proxy", "worm-proxy: 4 KiB evidence uploads through the proxy into the nginx sink",
                    figures, rows, setup, teardown,
                    notes="One load client for every figure (`worm_bench http-load`: one keep-alive connection "
                          "per concurrent request, prebuilt requests, no signing), so the proxies are what "
                          "differs; its figure straight into the nginx sink is the limit. Both proxies do the "
                          "same work per request: bearer token checked by SHA-256, key confined to "
                          "evidence/{client_id}/, the body's SHA-256 checked against X-Worm-Sha256, one "
                          "COMPLIANCE-locked PutObject with its SHA-256 checksum into the sink. The anchor "
                          "(`anchors_extra/flask_proxy.py`) is Flask's threaded server with one boto3 client. "
                          "Proxy CPU = user + system seconds of the proxy process over the run (/proc), per "
                          "1,000 requests; the sink's and the client's CPU are not in it. All of it shares "
                          "the machine's cores: client, proxy and sink.")


def scenario_audit(ctx):
    """Issue 14 target 4: `worm audit --dir` over a directory of 100,000 signed bundles
    (signature, hash, schema, manifest, report) with 1 and N workers, beside the Python
    auditor (cryptography + jsonschema) and the Ed25519 verify rate of one core."""
    q = ctx.quick
    n = 300 if q else 100000
    cores = os.cpu_count() or 1
    worker_counts = [1] if cores == 1 else [1, cores]
    worm_bin = os.path.join(os.path.dirname(os.path.dirname(ctx.bench_bin)), "worm")
    schema = os.path.join(REPO, "schemas", "evidence-bundle-v1.schema.json")
    data = {}
    figures, rows, last, cpu_rate = [], [], {}, {}

    def lib(workers):
        def once():
            out = ctx.scratch()
            try:
                r = ctx.run([worm_bin, "audit", "--dir", data["evidence"], "--key", data["key"],
                             "--workers", str(workers), "--out", out])
            finally:
                shutil.rmtree(out, ignore_errors=True)
            last[workers] = n / r.wall_s
            cpu_rate[workers] = n / r.cpu_s
            return last[workers]
        return once

    n_py = n if q else 10000  # the anchor lists all, checks the first 10,000: ~30 s a run on a quiet machine

    def py():
        r = ctx.anchor_extra("audit_dir.py", "--dir", data["evidence"], "--key", data["key"], "--schema", schema,
                             "--limit", n_py)
        got = value_of(r, "python_audit_dir_bundles")
        if got != n_py:
            raise RunError(f"the Python auditor saw {got:.0f} bundles, not {n_py}")
        cpu_rate["python"] = value_of(r, "python_audit_dir_per_cpu_s")
        return value_of(r, "python_audit_dir")
    py_runs = 2 if q else 3
    py_f = Figure("audit.python", "Python auditor (cryptography + jsonschema), one core", "bundles/s", "higher", py,
                  repeats=py_runs)
    py_cpu = Figure("audit_cpu.python", "Python auditor, bundles per CPU second", "bundles/CPU s", "higher",
                    lambda: cpu_rate["python"], repeats=py_runs)
    py_cpu.depends_on = py_f
    lim = Figure("audit.ed25519_verify", "openssl speed ed25519 verify, one core", "verifies/s", "higher",
                 lambda: openssl_speed(ctx)[1])
    # The machine's own scaling: N processes of `openssl speed` (no shared state at all)
    # against one, in the same run. Two vCPUs of a VM can give less than 2x (shared
    # physical cores, other tenants); no auditor scales better than this.
    w_max = worker_counts[-1]
    lim_n = Figure(f"audit.ed25519_verify_x{w_max}", f"openssl speed -multi {w_max} ed25519 verify, total",
                   "verifies/s", "higher", lambda: openssl_speed(ctx, w_max)[1])
    libs = {w: Figure(f"audit_w{w}.libworm", f"worm audit --dir, {w} worker(s)", "bundles/s", "higher", lib(w))
            for w in worker_counts}
    # Bundles per CPU second (the process's user + system time, wait4): what a busy machine
    # changes least; at N workers it shows what the threads cost each other.
    lib_cpu = {w: Figure(f"audit_cpu_w{w}.libworm", f"worm audit --dir, {w} worker(s), bundles per CPU second",
                         "bundles/CPU s", "higher", lambda w=w: cpu_rate[w]) for w in worker_counts}
    for w in worker_counts:
        lib_cpu[w].depends_on = libs[w]
    figures += [libs[w] for w in worker_counts] + [py_f, lim] + [lib_cpu[w] for w in worker_counts] + [py_cpu]
    if w_max > 1:
        figures.append(lim_n)

    def t_one(row):
        r = row.ratio
        return ">= 5x Python", (None if r is None else r >= 5)
    rows.append(Row(f"Audit {n:,} bundles (signature, hash, schema), 1 worker", libs[1], py_f, lim, t_one))
    rows.append(Row(f"Audit {n:,} bundles, 1 worker: bundles per CPU second", lib_cpu[1], py_cpu, lim, t_one))
    if len(worker_counts) > 1:
        w = worker_counts[-1]
        scaling = Figure(f"audit_scaling_w{w}", f"{w} workers / 1 worker (same run)", "x", "higher",
                         lambda: last[w] / last[1])
        scaling.depends_on = libs[w]
        figures.append(scaling)

        def machine_limit():
            """The machine's scaling in this run (openssl speed, w processes / 1), or ""."""
            if not (lim.ok and lim_n.ok):
                return ""
            return f"; the machine gives {lim_n.median / lim.median:.2f}x with {w} openssl processes"

        def t_n(row, w=w):
            if not scaling.ok:
                return f">= 0.9 x {w} x the 1-worker figure", None
            return (f">= 0.9 x {w} x the 1-worker figure (scaling {scaling.median:.2f}x of {w}{machine_limit()})",
                    scaling.median >= 0.9 * w)
        rows.append(Row(f"Audit {n:,} bundles, {w} workers ({cores} cores)", libs[w], py_f, lim, t_n))
        rows.append(Row(f"Audit {n:,} bundles, {w} workers: bundles per CPU second", lib_cpu[w], py_cpu, lim,
                        lambda row, w=w: ("CPU cost per bundle as with 1 worker (within 10 %)",
                                          None if not (row.libworm.ok and lib_cpu[1].ok)
                                          else row.libworm.median >= 0.9 * lib_cpu[1].median)))
        rows.append(Row(f"Audit scaling: {w} workers / 1 worker", scaling, None, None,
                        lambda row, w=w: (f">= {0.9 * w:.1f}x{machine_limit()}", None if not row.libworm.ok
                                          else row.libworm.median >= 0.9 * w)))
        rows.append(Row(f"Machine limit: openssl speed ed25519 verify, {w} processes vs 1 (same run)", lim_n, lim,
                        None, None))

    def setup():
        if not os.path.exists(worm_bin):
            raise RunError(f"{worm_bin} is not built (target worm_cli)")
        # tmpfs when there is one: both sides then read from memory and the figures are
        # about verification, not about the disk (the data set is ~800 MB of small files).
        data["dir"] = tempfile.mkdtemp(prefix="worm-bench-audit-", dir=ctx.memory_root())
        r = ctx.bench("audit-make", "--dir", data["dir"], "--n", n)
        if value_of(r, "audit_bundles_written") != n:
            raise RunError("audit-make wrote the wrong number of bundles")
        data["evidence"] = os.path.join(data["dir"], "evidence")
        data["key"] = os.path.join(data["dir"], "keys", "public.pem")

    def teardown():
        if data.get("dir"):
            shutil.rmtree(data["dir"], ignore_errors=True)
    return Scenario("audit", f"Evidence audit of a directory of {n:,} signed bundles", figures, rows, setup, teardown,
                    notes="`worm audit --dir D --key public.pem --workers N --out O` (the product path: list, "
                          "read each .json and .sig, SHA-256 for the manifest, Ed25519 signature, canonical hash, "
                          "schema, then report.json and report.html), timed from start to exit; bundles/s = "
                          "bundles / wall seconds. The anchor (`anchors_extra/audit_dir.py`) does the same "
                          "checks per bundle in Python (cryptography, json, jsonschema with the validator built "
                          "once, hashlib), writes no report, and times its loop only; it lists the whole "
                          "directory but checks the first 10,000 bundles (its rate per bundle does not depend "
                          "on the count, and 100,000 would take ~5 minutes a run). The data set "
                          "(`worm_bench audit-make`: seed-shaped bundles, unique ids, .sig lines) lives in "
                          "/dev/shm when it exists, so both read from memory. The limit is OpenSSL's raw Ed25519 "
                          "verify rate on one core (`openssl speed ed25519`): no auditor checking signatures can "
                          "pass it per core.")


def scenario_multipart(ctx):
    q = ctx.quick
    size = (64 if q else 1024) * 1024 * 1024
    part, conc = 16 * 1024 * 1024, 4
    res = {}

    def lib():
        r = ctx.bench("multipart", "--endpoint", ctx.sink.endpoint, "--bucket", "bench", "--file", ctx.big_file,
                      "--part-size", part, "--concurrency", conc)
        res.setdefault("libworm", []).append(r.maxrss_kib / 1024)
        return value_of(r, "libworm_multipart")

    def py():
        r = ctx.anchor_extra("multipart.py", "--endpoint", ctx.sink.endpoint, "--bucket", "bench",
                             "--file", ctx.big_file, "--part-size", part, "--concurrency", conc)
        res.setdefault("python", []).append(r.maxrss_kib / 1024)
        return value_of(r, "python_multipart")

    def curl():
        argv = ["curl", "--silent", "--show-error", "--fail", "--output", "/dev/null", "-H", "Expect:",
                "-T", ctx.big_file, f"{ctx.sink.endpoint}/bench/curl/large.bin"]
        r = ctx.run(argv)
        res.setdefault("curl", []).append(r.maxrss_kib / 1024)
        return size / 1e6 / r.wall_s

    lib_f = Figure("multipart.libworm", "libworm multipart", "MB/s", "higher", lib)
    py_f = Figure("multipart.python", "boto3 transfer manager", "MB/s", "higher", py)
    lim_f = Figure("multipart.curl", "curl single PUT", "MB/s", "higher", curl)
    rss = {who: Figure(f"multipart_rss.{who}", f"{who} peak RSS", "MiB", "lower",
                       (lambda who=who: res[who].pop(0))) for who in ("libworm", "python", "curl")}
    for who, f in (("libworm", lib_f), ("python", py_f), ("curl", lim_f)):
        rss[who].depends_on = f

    def setup():
        ctx.start_sink()
        ctx.big_file = os.path.join(ctx.scratch(), "large.bin")
        chunk = os.urandom(1024 * 1024)
        with open(ctx.big_file, "wb") as f:
            for i in range(size // len(chunk)):
                f.write(chunk[i % 251:] + chunk[:i % 251])  # distinct parts, cheap to make
        ctx.big_size = size

    def teardown():
        if ctx.big_file and os.path.exists(ctx.big_file):
            os.unlink(ctx.big_file)
        ctx.big_file = None
        ctx.stop_sink()

    def t_speed(row):
        r = row.ratio
        return "at least boto3's MB/s", (None if r is None else r >= 1)

    def t_rss(row):
        f = row.libworm
        return "peak RSS < 64 MiB", (None if not f.ok else f.median < 64)
    label = f"{size // (1024 * 1024)} MiB"
    return Scenario("multipart", f"{label} multipart upload ({part // (1024 * 1024)} MiB parts, {conc} in flight) to the sink",
                    [lib_f, py_f, lim_f, rss["libworm"], rss["python"], rss["curl"]],
                    [Row(f"Multipart {label}: throughput", lib_f, py_f, lim_f, t_speed),
                     Row(f"Multipart {label}: peak RSS", rss["libworm"], rss["python"], rss["curl"], t_rss)],
                    setup, teardown,
                    notes="Both send COMPLIANCE lock headers on CreateMultipartUpload and a SHA-256 "
                          "checksum per part, same part size and parts in flight. The limit is one "
                          "curl PUT of the whole file (no hashing, no parts). Per part, boto3 and libworm "
                          "send the same headers: x-amz-checksum-sha256 and the signed payload hash "
                          "(the same digest; botocore computes it twice, libworm once) and no "
                          "Content-MD5. Peak RSS is the client process's own (the Python "
                          "interpreter's ~30 MiB included for boto3).")


def in_scratch(ctx, fn):
    """Runs fn(dir) with a fresh scratch directory removed afterwards (registries get big)."""
    d = ctx.scratch()
    try:
        return fn(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def scenario_registry(ctx):
    q = ctx.quick
    sizes = [(1000, 20, 5)] if q else [(10000, 50, 200), (100000, 10, 200), (1000000, 3, 200)]
    scan_rows = 2000 if q else 100000
    figures, rows, nosync_rows = [], [], []
    flat, flat_nosync = {}, {}

    def flat_target(row, rows_n, base_of):
        base = base_of[sizes[0][0]]
        if rows_n == sizes[0][0] or not (base.ok and row.libworm.ok):
            return "flat cost per update as rows grow", None
        growth = row.libworm.median / base.median
        return f"flat cost per update ({growth:.2f}x the {sizes[0][0]:,}-row cost)", growth <= 2.0

    for rows_n, py_updates, lib_updates in sizes:
        rep = 3 if rows_n >= 1000000 else None
        lib = Figure(f"registry_{rows_n}.libworm", f"libworm mark_uploaded at {rows_n:,} rows", "ms/update", "lower",
                     (lambda rn=rows_n, u=lib_updates: in_scratch(ctx, lambda d: value_of(
                         ctx.bench("registry", "--rows", rn, "--updates", u, "--dir", d),
                         f"libworm_registry_update_{rn}"))), rep)
        py = Figure(f"registry_{rows_n}.python", f"JSON registry at {rows_n:,} rows", "ms/update", "lower",
                    (lambda rn=rows_n, u=py_updates: value_of(
                        ctx.anchor("registry.py", "--rows", rn, "--updates", u), f"python_registry_update_{rn}")), rep)
        lim = Figure(f"registry_{rows_n}.fsync", "one write + fsync", "ms/update", "lower",
                     (lambda: in_scratch(ctx, lambda d: value_of(
                         ctx.bench("fsync-limit", "--n", 50 if q else 200, "--dir", d), "limit_fsync"))), rep)
        nosync = Figure(f"registry_{rows_n}_nosync.libworm", f"libworm mark_uploaded at {rows_n:,} rows, no fsync",
                        "ms/update", "lower",
                        (lambda rn=rows_n: in_scratch(ctx, lambda d: value_of(
                            ctx.bench("registry", "--rows", rn, "--updates", 100 if q else 2000, "--no-sync", "--dir", d),
                            f"libworm_registry_update_nosync_{rn}"))), rep)
        flat[rows_n] = lib
        flat_nosync[rows_n] = nosync
        figures += [lib, py, lim, nosync]

        def target(row, rows_n=rows_n):
            return flat_target(row, rows_n, flat)
        rows.append(Row(f"Registry: mark uploaded at {rows_n:,} rows", lib, py, lim, target))
        if rows_n == sizes[-1][0]:
            # The worst case beside it: marks spread over the whole table, no locality.
            spread = Figure(f"registry_{rows_n}_spread.libworm", f"libworm mark_uploaded at {rows_n:,} rows, spread",
                            "ms/update", "lower",
                            (lambda rn=rows_n, u=lib_updates: in_scratch(ctx, lambda d: value_of(
                                ctx.bench("registry", "--rows", rn, "--updates", u, "--order", "spread", "--dir", d),
                                f"libworm_registry_update_spread_{rn}"))), rep)
            figures.append(spread)
            flat[f"{rows_n}_spread"] = spread
            rows.append(Row(f"Registry: mark uploaded at {rows_n:,} rows, spread over the table", spread, None, lim,
                            lambda row, rows_n=rows_n: flat_target(row, rows_n, flat)))
        nosync_rows.append(Row(f"Registry: mark uploaded at {rows_n:,} rows, no fsync", nosync, None, None,
                               lambda row, rows_n=rows_n: flat_target(row, rows_n, flat_nosync)))
    lib_s = Figure("registry_scan.libworm", f"libworm scan of {scan_rows:,} pending", "ms/scan", "lower",
                   lambda: in_scratch(ctx, lambda d: value_of(
                       ctx.bench("registry-scan", "--rows", scan_rows, "--dir", d),
                       f"libworm_registry_scan_{scan_rows}")))
    py_s = Figure("registry_scan.python", f"JSON scan of {scan_rows:,} pending", "ms/scan", "lower",
                  lambda: value_of(ctx.anchor_extra("registry_scan.py", "--rows", scan_rows, "--scans", 3 if q else 5),
                                   f"python_registry_scan_{scan_rows}"))
    figures += [lib_s, py_s]
    rows += nosync_rows
    rows.append(Row(f"Registry: sync scan of {scan_rows:,} pending rows", lib_s, py_s))
    return Scenario("registry", "Upload registry: marking a bundle uploaded as rows grow, and a sync scan",
                    figures, rows,
                    notes="libworm: SQLite in WAL mode with synchronous=FULL, one transaction per mark. "
                          "Anchor: the agent's JSON file loaded, changed and rewritten (fsync + rename) per "
                          "update. Both mark the oldest pending bundles in id order (what a catch-up sync "
                          "does); the 'spread' row marks bundles spread evenly over the table instead, each "
                          "on its own pages (the worst case). Filling the registry is not timed, and the fill "
                          "is flushed to disk before timing starts. The limit is one small write + fsync "
                          "on the same disk: a durable mark cannot cost less. The disk's flush latency "
                          "swings with other I/O on the machine, so the no-fsync rows (libworm only, "
                          "synchronous=OFF) show whether the SQLite work itself stays flat. The scan pages through "
                          "list_by_status(pending, 1000) vs json.load + filter + sort.")


def scenario_audit_log(ctx):
    """Issue 11: AuditLogSink::log() beside spdlog's async file logger; Python logging handlers;
    end to end into the S3-shaped sink; memory during an outage backlog."""
    q = ctx.quick
    n = 20000 if q else 200000
    n_py = 5000 if q else 50000
    outage_s = 5 if q else ctx.args.outage_seconds
    figures, rows = [], []

    # The log() programs (libworm's and spdlog's alike) and the Python handlers run at
    # SCHED_OTHER, as users run them: under the harness's `chrt -r`, 8 busy callers on 2 cores
    # starve each logger's own writer thread for 100 ms slices.
    def cpp(program, threads, figure, *extra):
        return lambda: value_of(ctx.bench(program, "--dir", ctx.scratch(), "--threads", threads,
                                          "--records", n, *extra, preexec_fn=normal_scheduling), figure)

    # The sink's store is a local WORM store in /dev/shm, one per run: its file creations on
    # this disk (ext4 without a journal scans recently deleted inodes on each) moved log()'s
    # figure by 2x from run to run, a cost an S3 store does not put on the logging machine.
    def sink_run(threads, figure, mode):
        def once():
            store = tempfile.mkdtemp(prefix="worm-bench-store-", dir=ctx.memory_root())
            try:
                return cpp("audit-log", threads, figure, "--mode", mode, "--store-dir", store)()
            finally:
                shutil.rmtree(store, ignore_errors=True)
        return once

    def p99_target(row):
        return "< 5 us", (None if not row.libworm.ok else row.libworm.median < 5)

    def rate_target(row):
        r = row.ratio
        return ">= spdlog async", (None if r is None else r >= 1)

    for threads in (1, 2, 8):
        spd = Figure(f"audit.spdlog.{threads}", f"spdlog async + file sink, {threads} thr", "rec/s", "higher",
                     cpp("spdlog-async", threads, "spdlog_async_records_per_s"))
        spd99 = Figure(f"audit.spdlog_p99.{threads}", f"spdlog async p99, {threads} thr", "us", "lower",
                       cpp("spdlog-async", threads, "spdlog_async_p99_us"))
        figures += [spd, spd99]
        for mode in ("disk", "memory"):
            rate = Figure(f"audit.{mode}.{threads}", f"AuditLogSink::log() {mode}, {threads} thr", "rec/s",
                          "higher", sink_run(threads, "audit_log_records_per_s", mode))
            p99 = Figure(f"audit.{mode}_p99.{threads}", f"log() p99 {mode}, {threads} thr", "us", "lower",
                         sink_run(threads, "audit_log_p99_us", mode))
            figures += [rate, p99]
            label = "journal" if mode == "disk" else "memory"
            rows += [Row(f"log() {label}, {threads} thread(s): records/s", rate, spd, None, rate_target),
                     Row(f"log() {label}, {threads} thread(s): p99 latency", p99, spd99, None, p99_target)]

    def py(handler, *extra):
        return lambda: value_of(ctx.anchor_extra("logging_handlers.py", "--handler", handler, "--n", n_py,
                                                 "--dir", ctx.scratch(), *extra, preexec_fn=normal_scheduling),
                                f"python_logging_{handler}")
    py_worm = Figure("audit.py.worm", "logger.info via WORMLogHandler", "rec/s", "higher", py("worm"))
    py_queue = Figure("audit.py.queue", "logger.info via QueueHandler", "rec/s", "higher", py("queue"))
    py_boto3 = Figure("audit.py.boto3", "logger.info via boto3 batching handler (seed design)", "rec/s", "higher",
                      lambda: value_of(ctx.anchor_extra("logging_handlers.py", "--handler", "boto3", "--n", n_py,
                                                        "--endpoint", ctx.sink.endpoint, preexec_fn=normal_scheduling),
                                       "python_logging_boto3"))
    figures += [py_worm, py_queue, py_boto3]

    def not_slower(row):
        r = row.ratio
        return ">= QueueHandler", (None if r is None else r >= 1)
    rows += [Row("Python logger.info: WORMLogHandler vs QueueHandler", py_worm, py_queue, None, not_slower),
             Row("Python logger.info: WORMLogHandler vs boto3 batching handler", py_worm, py_boto3, None,
                 lambda row: ("faster than the seed's design", None if row.ratio is None else row.ratio >= 1))]

    e2e = Figure("audit.e2e", "records/s stored in the S3-shaped sink (journal, 1000/batch)", "rec/s", "higher",
                 lambda: value_of(ctx.bench("audit-log", "--dir", ctx.scratch(), "--records", n, "--mode", "disk",
                                            "--endpoint", ctx.sink.endpoint, "--bucket", "bench",
                                            preexec_fn=normal_scheduling),
                                  "audit_log_end_to_end_records_per_s"))
    outage_run = []  # one outage run serves both figures (it lasts outage_s seconds)

    def outage(figure):
        if not outage_run:
            outage_run.append(ctx.bench("audit-log-outage", "--dir", ctx.scratch(), "--seconds", outage_s,
                                        "--port", free_port()))
        return value_of(outage_run[0], figure)
    growth = Figure("audit.outage_rss", f"RSS growth during a {outage_s} s outage at 20k rec/s", "MiB", "lower",
                    lambda: outage("outage_rss_growth_mib"), repeats=1)
    backlog = Figure("audit.outage_backlog", f"journal backlog after the {outage_s} s outage", "MiB", "higher",
                     lambda: outage("outage_backlog_mib"), repeats=1)
    figures += [e2e, growth, backlog]
    rows += [Row("End to end into the nginx S3 sink: records/s", e2e, None, None, None),
             Row(f"Outage {outage_s} s: RSS growth (backlog on disk)", growth, None, None,
                 lambda row: ("flat (< 32 MiB)", None if not row.libworm.ok else row.libworm.median < 32)),
             Row(f"Outage {outage_s} s: journal backlog", backlog, None, None, None)]

    setup, teardown = ctx.start_sink, ctx.stop_sink
    return Scenario("audit_log", "Audit logs: log() beside spdlog, Python handlers, end to end, outage memory",
                    figures, rows, setup, teardown,
                    notes="log() figures: seed-shaped record (~330 B JSON), every call timed, at SCHED_OTHER "
                          "(both loggers; under the harness's chrt -r their writer threads starved); the sink "
                          "stores its batches into a local WORM store in /dev/shm; journal mode "
                          "copies each record into the journal's mapped staging ring before returning (kill -9 "
                          "safe), a syncer moves it into the segments and fsyncs every 10 ms; spdlog: async logger (queue 8192, 1 worker, blocking overflow) + basic file "
                          "sink with the same record text. Python: logger.info with the seed's extra fields; "
                          "QueueHandler drains to a JSON file via QueueListener; the boto3 handler is the seed's "
                          "queue + worker + batched locked PutObject into the nginx sink. The outage store is "
                          "a loopback port nothing listens on.")


def scenario_audit_log_s3(ctx):
    """Issue 24 item 1: audit logs end to end at a real S3 latency. moto behind
    bench/latency_proxy.py (every request held D ms); records offered at a fixed rate; the
    time from logger.info / log() to "stored in WORM". The seed's boto3 handler design is
    the anchor; the C++ producer shows the sink's own ceiling; a sweep of max_in_flight at
    30 ms is the measurement behind its default."""
    q = ctx.quick
    delays = (30,) if q else (0, 30, 100)
    # Offered at twice the target, so "sustained" shows what the sink carries, not the offer.
    rate, seconds, wait = (2000, 2, 20) if q else (40000, 10, 30)
    figures, rows = [], []
    script = os.path.join(HERE, "audit_log_latency.py")

    def latency_run(handler, delay, *extra, rate=rate):
        out = ctx.run([str(a) for a in (ctx.python, script, "--handler", handler, "--delay-ms", delay, "--rate", rate,
                                        "--seconds", seconds, "--wait", wait, "--bench-bin", ctx.bench_bin, *extra)],
                      preexec_fn=normal_scheduling, timeout=seconds + wait + 300)
        lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        if not lines:
            raise RunError(f"audit_log_latency.py printed no result\n{out.stderr[-2000:]}")
        return json.loads(lines[-1])

    def measured(handler, delay, label):
        """sustained records/s (primary), and p50 and p99 time to WORM from the same runs."""
        times = {"p50": [], "p99": []}

        def rate_once():
            r = latency_run(handler, delay)
            for q_name in times:
                times[q_name].append(r[f"{q_name}_time_to_worm_s"] if r["stored"] else float("inf"))
            return r["sustained_records_per_s"]
        sustained = Figure(f"alat.{handler}.{delay}", f"{label}, {delay} ms", "rec/s", "higher", rate_once)
        quantiles = []
        for q_name, fid in (("p50", "alat_p50"), ("p99", "alat_p99")):
            f = Figure(f"{fid}.{handler}.{delay}", f"{label} {q_name} log()->WORM, {delay} ms", "s", "lower",
                       lambda q_name=q_name: times[q_name].pop(0))
            f.depends_on = sustained
            quantiles.append(f)
        return (sustained, *quantiles)

    def at_least(n):
        return lambda row: (f">= {n:,} rec/s", None if not row.libworm.ok else row.libworm.median >= n)

    def within(s):
        return lambda row: (f"<= {s} s", None if not row.libworm.ok else row.libworm.median <= s)

    def beats_seed(row):
        return "above the seed's design", None if row.ratio is None else row.ratio > 1

    for delay in delays:
        seed, seed50, seed99 = measured("seed-boto3", delay, "seed's boto3 handler design")

        def handler_rows(handler, label, what, to_worm, rate_target, p99_bound):
            """One handler's three figures at this delay, and its rows beside the seed's."""
            sustained, p50, p99 = measured(handler, delay, label)
            figures.extend((sustained, p50, p99))
            return [Row(f"{delay} ms S3: {what}: sustained records/s", sustained, seed, None, rate_target),
                    Row(f"{delay} ms S3: {what}: p50 {to_worm}", p50, seed50, None, None),
                    Row(f"{delay} ms S3: {what}: p99 {to_worm}", p99, seed99, None, within(p99_bound))]

        rows += handler_rows("cxx-compliance", "C++ log(), compliance preset", "compliance preset, C++ producer",
                             "log() to WORM", at_least(20000) if delay == 30 and not q else beats_seed, 16)
        rows += handler_rows("worm-compliance", "Python WORMLogHandler, compliance preset",
                             "compliance preset, Python logging", "to WORM", beats_seed, 16)
        figures += [seed, seed50, seed99]  # measured after the two compliance handlers, as before
        if not q:  # the smoke run proves the plumbing with one preset
            rows += handler_rows("worm-high-volume", "Python WORMLogHandler, high-volume preset",
                                 "high-volume preset, Python logging", "to WORM", beats_seed, 61)

    def sweep():
        # At 30 ms, batches that grow carry any offered load even one at a time; at 1,000 ms (a
        # distant or slow store) one batch of max_bytes per second is a ceiling: the places in
        # flight are what keeps up.
        settings = [(30, 4000, (8,))] if q else [(30, 80000, (1, 2, 4, 8, 16, 32)), (1000, 40000, (1, 2, 4, 8, 16))]
        lines = []
        for delay, sweep_rate, in_flight in settings:
            lines += [""] if lines else []  # a blank line between two tables
            lines += [f"max_in_flight sweep (C++ producer, compliance preset, {delay:,} ms, {sweep_rate:,} records/s "
                      "offered, one run each):", "",
                      "| max_in_flight | sustained rec/s | p50 to WORM | p99 to WORM | batches |", "|---|---|---|---|---|"]
            for n in in_flight:
                r = latency_run("cxx-compliance", delay, "--max-in-flight", n, rate=sweep_rate)
                lines.append(f"| {n} | {r['sustained_records_per_s']:,.0f} | {r['p50_time_to_worm_s']:.2f} s | "
                             f"{r['p99_time_to_worm_s']:.2f} s | {r['stats']['batches_stored']} |")
        return lines

    return Scenario("audit_log_s3", "Audit logs at S3 latency: time from log() to stored in WORM",
                    figures, rows, extra=sweep,
                    notes=f"moto_server (no signature checks) behind bench/latency_proxy.py; {rate:,} records/s "
                          f"offered for {seconds} s, then up to {wait} s for the rest; sustained = records stored "
                          "while the load ran, per second of load; p50 and p99 over every record stored. "
                          "Anchor: the seed's design (queue, one worker sealing 5-record batches, boto3 "
                          "PutObject with the GOVERNANCE lock, one upload at a time), which drops records "
                          "when its 10,000-record queue is full. moto runs on the same 2 cores as the client.")


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SCENARIOS = {
    "sigv4": scenario_sigv4,
    "pipeline": scenario_pipeline,
    "verify": scenario_verify,
    "upload": scenario_upload,
    "proxy": scenario_proxy,
    "audit": scenario_audit,
    "multipart": scenario_multipart,
    "registry": scenario_registry,
    "audit_log": scenario_audit_log,
    "audit_log_s3": scenario_audit_log_s3,
}


# ---------------------------------------------------------------------------------------
# Running scenarios
# ---------------------------------------------------------------------------------------
def measure(scenario, repeats, log):
    """Runs each figure `repeats` times, interleaving figures run by run so a slow patch of
    the machine does not land on one side only."""
    if scenario.setup:
        scenario.setup()
    try:
        primaries = [f for f in scenario.figures if not hasattr(f, "depends_on")]
        dependents = [f for f in scenario.figures if hasattr(f, "depends_on")]
        for i in range(max(repeats, 1)):
            for f in primaries:
                reps = min(f.repeats or repeats, repeats)
                if i >= reps or f.error or f.unavailable:
                    continue
                try:
                    v = f.run_once()
                    f.samples.append(v)
                    log(f"  {f.fid:28s} run {i + 1}/{reps}: {f.fmt(v)} {f.unit}")
                except Unavailable as e:
                    f.unavailable = str(e)
                    log(f"  {f.fid:28s} {e}")
                except (RunError, OSError, subprocess.SubprocessError) as e:
                    f.error = str(e)
                    log(f"  {f.fid:28s} ERROR: {e}")
                for d in dependents:
                    if d.depends_on is f:
                        if f.unavailable:
                            d.unavailable = f.unavailable
                        elif f.error:
                            d.error = f.error
                        elif len(d.samples) < len(f.samples):
                            d.samples.append(d.run_once())
        if scenario.extra:
            try:
                scenario.extra_lines = scenario.extra()
            except Unavailable as e:
                scenario.extra_lines = [f"(breakdown {e})"]
            except (RunError, OSError) as e:
                scenario.extra_lines = [f"(breakdown failed: {str(e).splitlines()[0]})"]
    finally:
        if scenario.teardown:
            scenario.teardown()


# ---------------------------------------------------------------------------------------
# Output: RESULTS.md, results.json, chart.png
# ---------------------------------------------------------------------------------------
def machine_info():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    if model == "unknown":
        try:
            out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
            m = re.search(r"Model name:\s*(.+)", out)
            model = m.group(1).strip() if m else model
        except OSError:
            pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f"{kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "memory": mem, "kernel": platform.release()}


def git_commit():
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def tool_versions(python):
    def first(cmd):
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            return (p.stdout or p.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "missing"
    return {
        "python": first([python, "-c", "import sys, botocore, boto3, cryptography; "
                                         "print(sys.version.split()[0], 'botocore', botocore.__version__, "
                                         "'boto3', boto3.__version__, 'cryptography', cryptography.__version__)"]),
        "openssl": first(["openssl", "version"]),
        "curl": first(["curl", "--version"]).split(" (")[0],
        "nginx": first(["nginx", "-v"]),
    }


def ratio_cell(r):
    return "-" if r is None else f"{r:.2f}x"


def load_line(meta):
    """RESULTS.md's load line. Only the load at the start tells of other work: the one at the
    end is the last scenario's own (its S3 peer, proxy and clients share the cores)."""
    line = f"- Load average (1 min) before / after: {meta['load_before']:.2f} / {meta['load_after']:.2f}"
    cpus = meta['machine']['nproc'] or 1
    if meta['load_before'] > cpus:
        return line + (f" - **the machine was busy** (load above its {cpus} CPUs at the start): other work "
                       "shared the cores, so absolute figures are low and spreads wide; ratios measured side by "
                       "side hold better")
    return line + " (the load at the end is the last scenario's own: its S3 peer, proxy and clients)"


def write_results(out_dir, scenarios, meta, threshold, chart_ok):
    rows = [r for s in scenarios for r in s.rows]
    lines = [f"# libworm benchmarks{' (quick smoke run: figures are not meaningful)' if meta['quick'] else ''}", "",
             f"- Date: {meta['date']}",
             f"- Machine: {meta['machine']['nproc']} CPUs, {meta['machine']['cpu']}, {meta['machine']['memory']}, "
             f"Linux {meta['machine']['kernel']}",
             f"- Commit: `{meta['commit']}`; build: {meta['build']}",
             f"- Tools: Python {meta['tools']['python']}; {meta['tools']['openssl']}; {meta['tools']['curl']}; "
             f"{meta['tools']['nginx']}",
             load_line(meta),
             f"- Each figure: median of {meta['repeats']} runs (min-max in brackets); **noisy** = "
             f"(max - min) / median above {threshold:.0%}: do not trust that figure to better than its range.",
             "", "**ratio** = how many times better libworm is than the anchor (above 1: libworm wins; "
             "for costs it is anchor / libworm). **ratio to limit** = how far libworm is from the limit "
             "(1.00x = at the limit).", ""]
    if chart_ok:
        lines += ["![chart](chart.png)", ""]
    lines += ["| scenario | libworm | anchor | ratio | limit | ratio to limit | target |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        tgt = ""
        if r.target:
            text, met = r.target(r)
            tgt = text + (" - **met**" if met is True else " - **not met**" if met is False else "")
        lines.append("| " + " | ".join([
            r.scenario, r.libworm.cell(threshold),
            r.anchor.cell(threshold) if r.anchor else "-", ratio_cell(r.ratio),
            r.limit.cell(threshold) if r.limit else "-", ratio_cell(r.ratio_limit), tgt]) + " |")
    noisy = [f for s in scenarios for f in s.figures if f.noisy(threshold)]
    if noisy:
        lines += ["", "**Noisy figures** (the machine was busy or the figure is unstable):", ""]
        lines += [f"- {f.label} ({f.fid}): spread {f.spread:.0%}, samples "
                  + ", ".join(f.fmt(v) for v in f.samples) for f in noisy]
    missing = [f for s in scenarios for f in s.figures if f.unavailable or f.error]
    if missing:
        lines += ["", "**Not measured:**", ""]
        lines += [f"- {f.fid}: " + (f.unavailable or ("error: " + f.error.splitlines()[0])) for f in missing]
    lines += ["", "## Scenarios", ""]
    for s in scenarios:
        lines += [f"### {s.title}", "", s.notes, ""]
        if s.extra_lines:
            lines += s.extra_lines + [""]
        lines += ["| figure | median | min | max | runs |", "| --- | --- | --- | --- | --- |"]
        for f in s.figures:
            if f.ok:
                lines.append(f"| {f.label} | {f.fmt(f.median)} {f.unit} | {f.fmt(min(f.samples))} | "
                             f"{f.fmt(max(f.samples))} | {len(f.samples)} |")
            else:
                lines.append(f"| {f.label} | {f.cell(threshold)} | | | 0 |")
        lines.append("")
    lines += ["Reproduce: `python3 bench/run.py` (builds `build-bench/` in Release with WORM_BUILD_BENCH=ON; "
              "needs nginx-light, gnuplot-nox, curl, openssl and the default python3 with boto3 and cryptography).", ""]
    with open(os.path.join(out_dir, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines))

    data = {"meta": meta, "rows": [], "figures": []}
    for s in scenarios:
        for fig in s.figures:
            data["figures"].append({"id": fig.fid, "label": fig.label, "unit": fig.unit, "better": fig.better,
                                    "samples": fig.samples, "median": fig.median if fig.ok else None,
                                    "noisy": fig.noisy(threshold), "unavailable": fig.unavailable,
                                    "error": fig.error})
    for r in rows:
        target, met = r.target(r) if r.target else (None, None)
        data["rows"].append({"scenario": r.scenario, "libworm": r.libworm.fid,
                             "anchor": r.anchor.fid if r.anchor else None, "limit": r.limit.fid if r.limit else None,
                             "ratio": r.ratio, "ratio_limit": r.ratio_limit, "target": target, "met": met})
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(data, f, indent=2)


def write_chart(out_dir, scenarios, meta):
    """Two panels: libworm vs the anchor (x, log scale) and libworm's share of the limit (%)."""
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        return False
    rows = [r for s in scenarios for r in s.rows]
    dat = os.path.join(out_dir, "chart.dat")
    n = 0
    with open(dat, "w") as f:
        f.write("# label\tratio_vs_anchor\tpercent_of_limit\n")
        for r in rows:
            if r.ratio is None and r.ratio_limit is None:
                continue
            label = r.scenario.replace('"', "'")
            ratio = f"{r.ratio:.4g}" if r.ratio else "NaN"
            pct = f"{100.0 / r.ratio_limit:.4g}" if r.ratio_limit else "NaN"
            f.write(f'"{label}"\t{ratio}\t{pct}\n')
            n += 1
    if n == 0:
        return False
    png = os.path.join(out_dir, "chart.png")
    height = max(600, 60 + 28 * n)
    script = f"""
set terminal pngcairo size 1500,{height} font "sans,10"
set output "{png}"
set datafile separator "\\t"
set multiplot title "libworm benchmarks - {meta['date']} - {meta['machine']['nproc']} CPUs {meta['machine']['cpu']} - commit {meta['commit']}"
set style fill solid 0.8 border -1
set yrange [{n - 0.5}:-0.5]
set ytics out nomirror
set grid xtics front
unset key
set tmargin 4
set bmargin 3
set lmargin at screen 0.30
set rmargin at screen 0.63
set title "libworm vs Python anchor (x times better, log scale; dashed: equal)"
set logscale x 10
set xrange [0.1:*]
set arrow 1 from 1, graph 0 to 1, graph 1 nohead dt 2 lw 2 front
plot "{dat}" using (($2 > 0) ? $2 : NaN):0:(0.1):(($2 > 0) ? $2 : 0.1):($0-0.35):($0+0.35):yticlabels(1) with boxxyerror lc rgb "#3b7dd8", \\
     "" using (($2 > 0) ? $2 * 1.08 : NaN):0:(sprintf("%.1fx", $2)) with labels left font "sans,9"
unset arrow 1
unset logscale x
set lmargin at screen 0.66
set rmargin at screen 0.97
set title "libworm as % of the limit (100 % = at the limit)"
set xrange [0:*]
set offsets 0, graph 0.12, 0, 0
set ytics format ""
plot "{dat}" using (0):0:(0):3:($0-0.35):($0+0.35):ytic("") with boxxyerror lc rgb "#e07b24", \\
     "" using ($3 + 1):0:(($3 == $3) ? sprintf("%.0f %%", $3) : "") with labels left font "sans,9"
unset multiplot
"""
    p = subprocess.run([gnuplot], input=script, text=True, capture_output=True)
    if p.returncode != 0 or not os.path.exists(png):
        print("gnuplot failed:\n" + p.stderr[-2000:], file=sys.stderr)
        return False
    os.unlink(dat)
    return True


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------
def find_shared_anchors():
    cands = [os.environ.get("WORM_ANCHORS_DIR", "")]
    if os.environ.get("WORM_SHARED_DIR"):
        cands.append(os.path.join(os.environ["WORM_SHARED_DIR"], "anchors"))
    cands += [os.path.join(REPO, "..", "shared", "anchors"), os.path.join(REPO, "..", "..", "shared", "anchors")]
    for c in cands:
        if c and os.path.exists(os.path.join(c, "common.py")):
            return os.path.abspath(c)
    sys.exit("cannot find the Python anchors: set WORM_ANCHORS_DIR or WORM_SHARED_DIR")


# What the scenarios run: worm_bench, the worm module (the logging scenarios import
# worm.logging from <build-dir>/python), worm-proxy and the worm CLI.
BENCH_TARGETS = ["worm_bench", "worm_python", "worm_proxy", "worm_cli"]


def build_commands(build_dir):
    """The configure and build commands of build(): the configure must enable every target
    the build asks for (tests/python/test_bench_build.py checks it without building)."""
    configure = ["cmake", "-S", REPO, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release", "-DWORM_BUILD_BENCH=ON",
                 "-DWORM_BUILD_TESTS=OFF", "-DWORM_BUILD_PYTHON=ON", "-DWORM_BUILD_EXAMPLES=OFF"]
    if shutil.which("ccache"):
        configure.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
    return configure, ["cmake", "--build", build_dir, "-j2", "--target", *BENCH_TARGETS]


def build(build_dir):
    print(f"building worm_bench in {build_dir} (Release, -j2) ...", flush=True)
    configure, make = build_commands(build_dir)
    subprocess.run(configure, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(make, check=True)
    return os.path.join(build_dir, "bench", "worm_bench")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, 2 runs per figure")
    ap.add_argument("--only", help="comma-separated scenarios: " + ",".join(SCENARIOS))
    ap.add_argument("--repeats", type=int, help="runs per figure (default 5, quick 2)")
    ap.add_argument("--noise", type=float, default=0.20, help="flag figures whose (max-min)/median exceeds this")
    ap.add_argument("--bench-bin", help="an already built worm_bench (skips the build)")
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build-bench"))
    ap.add_argument("--proxy-threads", type=int, default=4, help="proxy: worm-proxy --threads (its default: 4)")
    ap.add_argument("--outage-seconds", type=int, default=600, help="audit_log: length of the outage backlog run")
    ap.add_argument("--out", help="output directory (default bench/results; quick: <build-dir>/bench-quick)")
    ap.add_argument("--python", default=shutil.which("python3") or sys.executable)
    ap.add_argument("--anchors-dir", default=None)
    args = ap.parse_args()

    args.anchors_dir = args.anchors_dir or find_shared_anchors()
    if not args.bench_bin:
        args.bench_bin = build(args.build_dir)
    args.bench_bin = os.path.abspath(args.bench_bin)
    repeats = args.repeats or (2 if args.quick else 5)
    out_dir = args.out or (os.path.join(args.build_dir, "bench-quick") if args.quick else os.path.join(HERE, "results"))
    os.makedirs(out_dir, exist_ok=True)
    names = args.only.split(",") if args.only else list(SCENARIOS)
    for nm in names:
        if nm not in SCENARIOS:
            sys.exit(f"unknown scenario {nm!r}; known: {', '.join(SCENARIOS)}")

    build_type = "unknown"
    cache = os.path.join(os.path.dirname(os.path.dirname(args.bench_bin)), "CMakeCache.txt")
    if os.path.exists(cache):
        with open(cache) as f:
            m = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", f.read(), re.M)
            build_type = m.group(1) if m else build_type
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine_info(), "commit": git_commit(), "tools": tool_versions(args.python),
            "build": f"CMAKE_BUILD_TYPE={build_type}", "quick": args.quick, "repeats": repeats,
            "load_before": os.getloadavg()[0]}
    ctx = Context(args)
    done = []
    started = time.monotonic()
    try:
        for nm in names:
            t0 = time.monotonic()
            sc = SCENARIOS[nm](ctx)
            print(f"== {nm}: {sc.title}", flush=True)
            try:
                measure(sc, repeats, lambda s: print(s, flush=True))
            except (RunError, RuntimeError, OSError) as e:  # setup failed (no nginx, ...)
                for f in sc.figures:
                    if not f.samples and not f.unavailable:
                        f.error = f.error or f"scenario setup failed: {e}"
                print(f"  scenario failed: {e}", flush=True)
            done.append(sc)
            print(f"   ({time.monotonic() - t0:.0f} s)", flush=True)
    finally:
        ctx.cleanup()
    meta["load_after"] = os.getloadavg()[0]
    chart_ok = write_chart(out_dir, done, meta)
    write_results(out_dir, done, meta, args.noise, chart_ok)
    print(f"\nwrote {os.path.join(out_dir, 'RESULTS.md')}" + (" and chart.png" if chart_ok else " (no chart)")
          + f" in {time.monotonic() - started:.0f} s")
    with open(os.path.join(out_dir, "RESULTS.md")) as f:
        table = [l for l in f.read().splitlines() if l.startswith("|")]
    print("\n".join(table[:2 + sum(len(s.rows) for s in done)]))
    errors = [f for s in done for f in s.figures if f.error]
    if errors:
        print(f"\n{len(errors)} figure(s) failed:", file=sys.stderr)
        for f in errors:
            print(f"  {f.fid}: {f.error.splitlines()[0] if f.error else ''}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
