#!/usr/bin/env python3
"""Migration benchmark: `worm migrate` (lock + verify) beside `aws s3 sync` (no lock, no
verification) copying the same objects on the same local S3-shaped server, in one run.

    python3 bench/migrate_bench.py                         # quick: 500 small objects on Ceph RGW
    python3 bench/migrate_bench.py --objects 10000         # the issue's 10,000 small objects
    python3 bench/migrate_bench.py --large-mib 4096        # plus 4 GiB in 64 MiB objects
    python3 bench/migrate_bench.py --peer moto --keep-other-peers   # moto_server, beside RGW's results
    python3 bench/migrate_bench.py --server-side --out bench/results/migrate_server_side.json \
        --results-md bench/results/migrate_server_side.md            # worm's server-side copy (its default)

Without --server-side, worm migrate runs with --client-copy (every byte through the client, the
mode between endpoints). With it, worm migrate copies server-side (CopyObject with the lock,
verified by the checksums the servers state), and the sources are put with SHA-256 checksums (a
server that keeps them states them; Ceph RGW 16 keeps none, so worm reads each source once).

The server holds three buckets: `src` (the objects), `locked` (Object Lock: worm migrate's
destination) and `plain` (aws s3 sync's destination). aws s3 sync between two buckets of one
endpoint copies server-side (CopyObject, no bytes through the client): the fastest it can be.
worm migrate reads every object, checks it (ETag MD5 / recorded SHA-256), puts it with a
COMPLIANCE lock and metadata, and confirms content and lock (HEAD; ETag or read-back).

Reported per client: seconds, objects/s, MB/s, peak RSS and CPU seconds (user + system) of
the client process (GNU time), the server's CPU seconds during each run (from /proc), and the
requests it made by type (from the server's access log): where the time goes. After the small
run, the server's CPU for each request type alone (the fewest requests that copy with a lock,
verify and confirm the lock, beside aws's CopyObject) from a boto3 client: the floor no client
can go under. For large objects (8 MiB and more), the client's CPU to hash one object in memory
with SHA-256 and with MD5, the floor for a client that reads a source to hash it. Writes
bench/results/migrate.json and the `migrate` rows of bench/results/RESULTS.md (between its own
markers).

Ceph RGW (../shared/peers/ceph-rgw.sh) runs under flock /tmp/rgw.lock (one RGW per machine);
its OSD keeps data in a 4 GiB memstore, and src + locked + plain hold three copies, so on RGW
the large objects go through in rounds of 1 GiB, each emptied after (GOVERNANCE locks there).
"""

import argparse
import base64
import datetime
import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config

HERE = Path(__file__).resolve().parent
RGW_SCRIPT = HERE.parent.parent / "shared" / "peers" / "ceph-rgw.sh"
MARK_BEGIN, MARK_END = "<!-- migrate-bench:begin -->", "<!-- migrate-bench:end -->"


def free_port(below=None):
    """A free loopback port; with `below`, one under it (RGW's ports stay out of the ephemeral range)."""
    if below is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    for port in range(below - 400, below, 2):
        try:
            for p in (port, port + 1):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port pair for RGW")


def cpu_seconds(pids):
    """User + system CPU seconds of these processes so far (/proc/PID/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


class Moto:
    name = "moto"

    def __init__(self, log_dir):
        self.port = free_port()
        self.log = open(Path(log_dir) / f"moto-{self.port}.log", "w")
        self.proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(self.port)], stdout=self.log,
                                     stderr=self.log)
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_key, self.secret_key = "bench", "bench"
        self.pids = [self.proc.pid]
        self.request_log = Path(log_dir) / f"moto-{self.port}.log"  # werkzeug: one line per request
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not start")

    def free_deleted(self):
        pass  # moto frees a deleted object at once

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:  # busy with a large body: by its PID, harder
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Rgw:
    name = "rgw"

    def __init__(self, work_dir):
        self.lock = open("/tmp/rgw.lock", "w")
        fcntl.flock(self.lock, fcntl.LOCK_EX)  # one RGW on the machine at a time
        self.dir = Path(work_dir) / "rgw"
        port = free_port(below=32768)
        out = subprocess.run(["bash", str(RGW_SCRIPT), "start", str(self.dir), str(port)], capture_output=True,
                             text=True)
        if out.returncode != 0:
            self.lock.close()
            raise RuntimeError(f"ceph-rgw.sh start failed: {out.stderr[-2000:]}")
        env = dict(line.split("=", 1) for line in (self.dir / "env").read_text().splitlines() if "=" in line)
        self.url = env["S3_ENDPOINT"]
        self.access_key, self.secret_key = env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
        self.pids = [int(line.split()[0]) for line in (self.dir / "pids").read_text().splitlines() if line.strip()]
        self.request_log = self.dir / "log" / "client.rgw.a.log"  # beast's access line per request (debug_rgw 1)

    def free_deleted(self):
        """Deleted objects' data goes to RGW's garbage collector, which waits hours: run it now."""
        subprocess.run(["radosgw-admin", "-c", str(self.dir / "ceph.conf"), "-n", "client.rgw.a", "gc", "process",
                        "--include-all"], capture_output=True, check=True, timeout=600)

    def stop(self):
        subprocess.run(["bash", str(RGW_SCRIPT), "stop", str(self.dir)], capture_output=True)
        self.lock.close()


def boto(server):
    return boto3.client("s3", endpoint_url=server.url, aws_access_key_id=server.access_key,
                        aws_secret_access_key=server.secret_key, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, max_pool_connections=32))


REQUEST_LINE = re.compile(r'"(GET|PUT|HEAD|POST|DELETE) (\S+) HTTP/1\.[01]" (\d{3})')


def request_kind(method, target):
    """What an access-log request line was, by method, path (path-style: /bucket[/key]) and subresource."""
    path, _, query = target.partition("?")
    params = {kv.split("=", 1)[0] for kv in query.split("&") if kv}
    if "/" not in path.strip("/"):
        if method == "GET" and "versions" in params:
            return "list object versions"
        if method == "GET" and (not params or params & {"list-type", "prefix", "marker", "continuation-token"}):
            return "list objects"
        return f"{method} bucket" + (f" ?{min(params)}" if params else "")
    if "uploadId" in params and method == "PUT":
        return "upload part"
    if "uploads" in params:
        return "create multipart upload"
    if "uploadId" in params:
        return f"{method} multipart upload (complete/abort/list parts)"
    for sub in ("retention", "legal-hold", "tagging", "acl"):
        if sub in params:
            return f"{method} object ?{sub}"
    return f"{method} object"


class RequestCounter:
    """Counts the server's requests between start() and stop() from its access log: which
    requests each client really makes, and how many."""

    def __init__(self, server):
        self.path = server.request_log
        self.offset = 0

    def start(self):
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def stop(self):
        time.sleep(1.5)  # the server's log writer may still hold the last lines
        counts = {}
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            for line in f.read().decode("utf-8", "replace").splitlines():
                m = REQUEST_LINE.search(line)
                if not m:
                    continue
                kind = request_kind(m.group(1), m.group(2))
                if not m.group(3).startswith("2"):
                    kind += f" -> {m.group(3)}"
                counts[kind] = counts.get(kind, 0) + 1
        return dict(sorted(counts.items()))


def measured(argv, env, server, tmp):
    """Runs argv under GNU time: seconds, the child's own peak RSS and CPU, the server's CPU
    meanwhile; and its stdout. (os.wait4 from this process would report at least this
    process's own RSS: a child's maxrss starts from its parent's at fork.)"""
    stats = Path(tmp) / "time.txt"
    counter = RequestCounter(server)
    counter.start()
    server_cpu = cpu_seconds(server.pids)
    start = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", str(stats), *argv], env=env,
                          capture_output=True, text=True)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:2])} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    server_cpu = cpu_seconds(server.pids) - server_cpu
    max_kib, user, system = stats.read_text().split()[-3:]
    return {"seconds": seconds, "peak_rss_mib": int(max_kib) / 1024.0, "client_cpu_s": float(user) + float(system),
            "server_cpu_s": server_cpu, "requests": counter.stop()}, proc.stdout


def fill(client, bucket, count, size, prefix, checksum=False):
    """With checksum, each object is put with its SHA-256 (x-amz-checksum-sha256), as libworm's writers put
    theirs: a server that keeps it (S3, moto) states it for the object; Ceph RGW 16 ignores it."""
    chunk = os.urandom(min(size, 1 << 20))

    def put(i):
        # Distinct bytes per object (its index up front), repeated to the size.
        head = f"{prefix}{i:06d}\n".encode()
        body = (head + chunk * (size // len(chunk) + 1))[:size]
        extra = {"ChecksumAlgorithm": "SHA256"} if checksum else {}
        client.put_object(Bucket=bucket, Key=f"{prefix}{i:06d}", Body=body, **extra)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(count)))


def hash_floor_ms(size, repeats=3):
    """CPU ms to hash `size` bytes already in memory with SHA-256 and with MD5 (hashlib is OpenSSL, as
    libworm's hashing is), best of `repeats`: what a client that reads a source to hash it cannot go under."""
    data = os.urandom(size)
    out = {}
    for name in ("sha256", "md5"):
        best = float("inf")
        for _ in range(repeats):
            started = time.process_time()
            hashlib.new(name, data).digest()
            best = min(best, time.process_time() - started)
        out[name] = 1000 * best
    return out


def rates(m, count, size):
    total_mb = count * size / 1e6
    return dict(m, objects_per_s=count / m["seconds"], mb_per_s=total_mb / m["seconds"])


def empty_bucket(client, bucket):
    """Deletes every version in the bucket (a GOVERNANCE lock is bypassed: only the bench's own rounds do this)."""
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if doomed:
            client.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True}, BypassGovernanceRetention=True)


def added(total, m):
    """One round's measurement added to the run's: times, CPU and requests add up; RSS is the peak."""
    if not total:
        return m
    out = {k: (max(total[k], v) if k == "peak_rss_mib" else total[k] + v) for k, v in m.items() if k != "requests"}
    out["requests"] = {k: total["requests"].get(k, 0) + m["requests"].get(k, 0)
                       for k in sorted(set(total["requests"]) | set(m["requests"]))}
    return out


def scenario(server, name, count, size, worm, workers, tmp, rounds=1, server_side=False, trust_listing=False):
    """worm migrate, then aws s3 sync, over the same `count` objects of `size` bytes. With rounds > 1 the
    objects go through in that many equal rounds, every bucket emptied after each (RGW's 4 GiB memstore
    cannot hold three copies of 4 GiB); the locks are then GOVERNANCE so the bench can delete them.
    With trust_listing, a second worm migrate (--trust-listing) copies the same objects into a bucket of
    its own between the two, measured the same way."""
    s3 = boto(server)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key,
               AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=server.url,
               WORM_S3_ADDRESSING="path")
    for variable in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL_S3"):
        env.pop(variable, None)
    lock_mode = "governance" if rounds > 1 else "compliance"
    worm_total, listed_total, aws_total = {}, {}, {}
    per_round = count // rounds
    for r in range(rounds):
        n = per_round if r < rounds - 1 else count - per_round * (rounds - 1)
        suffix = f"{r}" if rounds > 1 else ""
        src, locked, plain = f"{name}{suffix}-src", f"{name}{suffix}-locked", f"{name}{suffix}-plain"
        listed = f"{name}{suffix}-listed"  # worm migrate --trust-listing's destination
        s3.create_bucket(Bucket=src)
        s3.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
        s3.create_bucket(Bucket=plain)
        t0 = time.monotonic()
        fill(s3, src, n, size, f"obj-{r:02d}-", checksum=server_side)
        print(f"{name}{suffix}: filled {n} x {size} B in {time.monotonic() - t0:.1f} s", file=sys.stderr)
        worm_m = worm_migrate(server, s3, env, tmp, worm, src, locked, n, lock_mode, workers, server_side,
                              f"{name}{suffix}")
        if trust_listing:
            s3.create_bucket(Bucket=listed, ObjectLockEnabledForBucket=True)
            listed_m = worm_migrate(server, s3, env, tmp, worm, src, listed, n, lock_mode, workers, server_side,
                                    listed, ["--trust-listing"])
            listed_total = added(listed_total, listed_m)
        aws_m, _ = measured(["aws", "s3", "sync", f"s3://{src}", f"s3://{plain}", "--only-show-errors",
                             "--endpoint-url", server.url], env, server, tmp)
        worm_total, aws_total = added(worm_total, worm_m), added(aws_total, aws_m)
        if rounds > 1:
            for bucket in (src, locked, plain, *([listed] if trust_listing else [])):
                empty_bucket(s3, bucket)
            server.free_deleted()
    print(f"{name}: worm migrate {worm_total['seconds']:.1f} s, aws s3 sync {aws_total['seconds']:.1f} s", file=sys.stderr)
    w = rates(dict(worm_total, locks=True, lock_mode=lock_mode, verified=True, workers=workers,
                   copy="server-side CopyObject" if server_side else "through the client"), count, size)
    a = rates(dict(aws_total, locks=False, verified=False, copy="server-side CopyObject"), count, size)
    floor = hash_floor_ms(size) if size >= 8 << 20 else None
    listed_figures = {}
    if trust_listing:
        lm = rates(dict(listed_total, locks=True, lock_mode=lock_mode, verified=True, workers=workers,
                        copy="server-side CopyObject, no HEAD (--trust-listing)"), count, size)
        listed_figures = {"worm_migrate_trust_listing": lm,
                          "ratio_objects_per_s_trust_listing": lm["objects_per_s"] / a["objects_per_s"]}
    return {"scenario": name, "peer": server.name, "objects": count, "object_bytes": size, "rounds": rounds,
            **({"hash_floor_ms": floor} if floor else {}), **listed_figures,
            "mode": "server-side" if server_side else "client", "source_sha256_checksums": server_side,
            "worm_migrate": w, "aws_s3_sync": a, "ratio_objects_per_s": w["objects_per_s"] / a["objects_per_s"],
            "ratio_client_cpu": w["client_cpu_s"] / a["client_cpu_s"] if a["client_cpu_s"] else None}


def request_floor(server, count, size):
    """The server's own CPU for each request type alone, over `count` small objects, from a plain boto3
    client (its CPU is not counted): what the fewest requests that copy with a lock, verify and confirm
    the lock cost the server, beside the one CopyObject per object aws s3 sync makes. No client can
    beat `objects/s <= server CPU available / server CPU per object` on a CPU-bound machine."""
    s3 = boto(server)
    src, locked, plain, copied = "floor-src", "floor-locked", "floor-plain", "floor-copied"
    unconditional = "floor-unconditional"
    s3.create_bucket(Bucket=src)
    s3.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    s3.create_bucket(Bucket=unconditional, ObjectLockEnabledForBucket=True)
    s3.create_bucket(Bucket=plain)
    s3.create_bucket(Bucket=copied, ObjectLockEnabledForBucket=True)
    fill(s3, src, count, size, "obj-")
    keys = [f"obj-{i:06d}" for i in range(count)]
    bodies, versions = {}, {}
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    meta = {"source-key": "k", "source-etag": "0" * 32, "sha256": "0" * 64, "migration-id": "mig-floor",
            "migrated-at": "2026-01-01T00:00:00Z"}

    def get(k):
        bodies[k] = s3.get_object(Bucket=src, Key=k)["Body"].read()

    def put(k, bucket=locked, create_only=True):  # as worm migrate's: lock, create-only, SHA-256 checked, metadata
        body = bodies[k]
        condition = {"IfNoneMatch": "*"} if create_only else {}
        version = s3.put_object(Bucket=bucket, Key=k, Body=body, ObjectLockMode="COMPLIANCE",
                                ObjectLockRetainUntilDate=until, Metadata=meta, **condition,
                                ChecksumSHA256=base64.b64encode(hashlib.sha256(body).digest()).decode(),
                                ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode())["VersionId"]
        if create_only:
            versions[k] = version

    def put_unconditional(k):  # what If-None-Match costs (worm keeps it: no duplicate version after a retry)
        put(k, unconditional, create_only=False)

    def head(k):  # the lock (and ETag / checksum) of exactly that version
        s3.head_object(Bucket=locked, Key=k, VersionId=versions[k], ChecksumMode="ENABLED")

    def copy(k):  # aws s3 sync's one request per object
        s3.copy_object(Bucket=plain, Key=k, CopySource={"Bucket": src, "Key": k})

    # moto wants x-amz-sdk-checksum-algorithm (or Content-MD5) beside lock headers, even on a copy.
    s3_locked_copy = boto(server)
    s3_locked_copy.meta.events.register(
        "before-sign.s3.CopyObject", lambda request, **_: request.headers.__setitem__("x-amz-sdk-checksum-algorithm", "SHA256"))

    def copy_locked(k):  # the server-side alternative: CopyObject with the lock and a SHA-256 checksum
        s3_locked_copy.copy_object(Bucket=copied, Key=k, CopySource={"Bucket": src, "Key": k}, ObjectLockMode="COMPLIANCE",
                       ObjectLockRetainUntilDate=until, ChecksumAlgorithm="SHA256", MetadataDirective="REPLACE",
                       Metadata=meta)

    # An idle cluster still burns CPU (RGW's and the OSD's housekeeping; moto's none to speak of):
    # that rate times each phase's length is not the requests' cost.
    idle_before = cpu_seconds(server.pids)
    time.sleep(5)
    idle_per_s = (cpu_seconds(server.pids) - idle_before) / 5
    phases = {}
    for phase, call in (("GET object", get), ("PUT object (lock, If-None-Match, SHA-256)", put),
                        ("PUT object (lock, SHA-256, no If-None-Match)", put_unconditional),
                        ("HEAD object (version)", head), ("CopyObject (aws s3 sync's)", copy),
                        ("CopyObject with lock + SHA-256", copy_locked)):
        errors = []

        def guarded(k, call=call, errors=errors):
            try:
                call(k)
            except Exception as e:  # a server that refuses a request type: recorded, the rest still measured
                errors.append(str(e)[:200])

        before, t0 = cpu_seconds(server.pids), time.monotonic()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(guarded, keys))
        cpu, seconds = cpu_seconds(server.pids) - before, time.monotonic() - t0
        phases[phase] = {"requests": count, "errors": len(errors), "first_error": errors[0] if errors else "",
                         "seconds": seconds, "server_cpu_ms_per_request_raw": 1000 * cpu / count,
                         "server_cpu_ms_per_request": 1000 * max(0.0, cpu - idle_per_s * seconds) / count}
    ms = {k: v["server_cpu_ms_per_request"] for k, v in phases.items()}
    client_side = ms["GET object"] + ms["PUT object (lock, If-None-Match, SHA-256)"] + ms["HEAD object (version)"]
    server_side = ms["CopyObject with lock + SHA-256"] + ms["HEAD object (version)"]
    aws = ms["CopyObject (aws s3 sync's)"]
    return {"peer": server.name, "objects": count, "object_bytes": size, "idle_server_cpu_per_s": idle_per_s,
            "phases": phases,
            "server_cpu_ms_per_object": {"worm minimum: GET + locked PUT + HEAD": client_side,
                                         "server-side alternative: locked CopyObject + HEAD": server_side,
                                         "aws s3 sync: CopyObject": aws,
                                         "3x aws would need at most": aws / 3}}


def worm_migrate(server, s3, env, tmp, worm, src, dest, n, lock_mode, workers, server_side, state_name, extra=()):
    """One measured `worm migrate` of src into dest, checked: clean, copied the way asked, exactly one
    locked version per object."""
    m, out = measured([worm, "migrate", "--from", f"s3://{src}", "--to", f"s3://{dest}", "--retain-days",
                       "1", "--lock-mode", lock_mode, "--workers", str(workers), "--state",
                       str(Path(tmp) / f"{state_name}.sqlite3"), "--quiet",
                       *([] if server_side else ["--client-copy"]), *extra], env, server, tmp)
    summary = json.loads(out.strip().splitlines()[-1])
    if not summary["clean"] or summary["objects"] != n:
        raise RuntimeError(f"worm migrate was not clean: {summary}")
    # Server-side: every object copied on moto, which applies the lock on a copy; on Ceph
    # RGW, which ignores it, small ones are put back after the first copies show that
    # (worm migrate --put-back-up-to), so at least one is copied. The log counts both.
    copies = summary.get("server_side_copies", 0)
    if server_side:
        as_expected = copies == n if server.name == "moto" else copies >= 1
    else:
        as_expected = copies == 0
    if not as_expected:
        raise RuntimeError(f"worm migrate did not copy {'server-side' if server_side else 'through the client'}: {summary}")
    versions = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=dest):
        for v in page.get("Versions", []):
            versions[v["Key"]] = versions.get(v["Key"], 0) + 1
    if len(versions) != n or any(k != 1 for k in versions.values()):
        raise RuntimeError(f"{dest} does not hold exactly one version per object")
    return m


def run_info(report, peer):
    """When and under what load a run was measured."""
    return {"peer": peer, **{k: report[k] for k in ("date", "cpus", "load_avg_at_start", "load_avg") if k in report}}


def with_other_peers(report, earlier):
    """This run's report plus the other peers' results, floors and run details from an earlier one."""
    peer = report["results"][0]["peer"]
    earlier_runs = earlier.get("runs") or [run_info(earlier, earlier["results"][0]["peer"])]
    return dict(report, runs=report["runs"] + [r for r in earlier_runs if r["peer"] != peer],
                results=report["results"] + [r for r in earlier.get("results", []) if r["peer"] != peer],
                floors=report["floors"] + [f for f in earlier.get("floors", []) if f["peer"] != peer])


def update_results_md(report, path):
    """Replaces this benchmark's section of RESULTS.md (between its markers), or appends it."""
    server_side = any(r.get("mode") == "server-side" for r in report["results"])
    target = ("Targets (server-side): worm migrate >= aws s3 sync's objects/s and MB/s, and client CPU per object "
              "<= 1/3 of aws's." if server_side else "Target: worm migrate >= 3x aws s3 sync's objects/s.")
    lines = [MARK_BEGIN, "## Migration: `worm migrate` (lock + verify" + (", server-side copy" if server_side else "") +
             ") vs `aws s3 sync` (no lock)", "",
             "bench/migrate_bench.py: " + "; ".join(
                 f"{r['peer']} {r['date']}, {r['cpus']} CPUs, load average {r.get('load_avg_at_start', r['load_avg'])[0]:.1f}"
                 f" at the start, {r['load_avg'][0]:.1f} at the end" for r in report.get("runs", [run_info(report, "")])) +
             " (shared machine). Per peer: same server, same objects, one run; aws s3 sync copies server-side. " +
             target, "",
             "| scenario | peer | objects | size | worm obj/s | worm MB/s | worm RSS MiB | worm CPU s | "
             "aws obj/s | aws MB/s | aws RSS MiB | aws CPU s | server CPU s (worm / aws) | ratio obj/s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        w, a = r["worm_migrate"], r["aws_s3_sync"]
        lines.append(f"| {r['scenario']} | {r['peer']} | {r['objects']} | {r['object_bytes']} B | "
                     f"{w['objects_per_s']:.1f} | {w['mb_per_s']:.2f} | {w['peak_rss_mib']:.0f} | {w['client_cpu_s']:.1f} | "
                     f"{a['objects_per_s']:.1f} | {a['mb_per_s']:.2f} | {a['peak_rss_mib']:.0f} | {a['client_cpu_s']:.1f} | "
                     f"{w['server_cpu_s']:.1f} / {a['server_cpu_s']:.1f} | {r['ratio_objects_per_s']:.2f}x |")
    for r in report["results"]:
        w, a, n = r["worm_migrate"], r["aws_s3_sync"], r["objects"]
        copy = "one server-side CopyObject" if r["object_bytes"] < 8 << 20 else "server-side UploadPartCopy parts"
        if r.get("mode") == "server-side":
            cpu_ratio = w["client_cpu_s"] / a["client_cpu_s"] if a["client_cpu_s"] else float("inf")
            met = lambda ok: "met" if ok else "**not met**"  # noqa: E731
            head = (f"{r['scenario']} ({r['peer']}), server-side: objects/s and MB/s >= aws {met(r['ratio_objects_per_s'] >= 1)} "
                    f"at {r['ratio_objects_per_s']:.2f}x; client CPU per object <= 1/3 of aws's {met(cpu_ratio <= 1 / 3)} "
                    f"at {cpu_ratio:.2f}x.")
        else:
            head = (f"{r['scenario']} ({r['peer']}): target (>= 3x aws s3 sync's objects/s) "
                    f"{'met' if r['ratio_objects_per_s'] >= 3 else '**not met**'} at {r['ratio_objects_per_s']:.2f}x.")
        lines += ["", head + f" Per object: server CPU {1000 * w['server_cpu_s'] / n:.1f} ms "
                  f"(worm: reads the source, writes a locked version, verifies content and lock) vs {1000 * a['server_cpu_s'] / n:.1f} ms (aws: "
                  f"{copy}, unversioned); client CPU {1000 * w['client_cpu_s'] / n:.1f} ms vs "
                  f"{1000 * a['client_cpu_s'] / n:.1f} ms."]
        if r.get("hash_floor_ms"):
            f = r["hash_floor_ms"]
            lines[-1] += (f" Hashing one object already in memory on this CPU (hashlib, OpenSSL as in libworm, same run): "
                          f"SHA-256 {f['sha256']:.1f} ms, MD5 {f['md5']:.1f} ms; a client that reads a source whose server "
                          f"states only an MD5 ETag to record its SHA-256 cannot go under their sum, "
                          f"{f['sha256'] + f['md5']:.1f} ms.")
        if r.get("rounds", 1) > 1:
            lines[-1] += (f" In {r['rounds']} rounds (each emptied after; RGW's memstore holds three copies of "
                          f"~1.2 GiB at most), GOVERNANCE locks so the bench can delete them.")
        if r.get("worm_migrate_trust_listing"):
            t = r["worm_migrate_trust_listing"]
            lines[-1] += (f" With --trust-listing (no HEAD of the source): {t['objects_per_s']:.1f} objects/s, "
                          f"{r['ratio_objects_per_s_trust_listing']:.2f}x aws's "
                          f"({'met' if r['ratio_objects_per_s_trust_listing'] >= 1 else '**not met**'}); server CPU "
                          f"{1000 * t['server_cpu_s'] / n:.1f} ms and client CPU {1000 * t['client_cpu_s'] / n:.1f} ms per object.")
        lines.append("")
        tools = (("worm migrate", w), ("worm migrate --trust-listing", r.get("worm_migrate_trust_listing") or {}),
                 ("aws s3 sync", a))
        for tool, m in tools:
            if m.get("requests"):
                copies = tool == "aws s3 sync" or r.get("mode") == "server-side"
                lines.append(f"- {tool} requests per object" +
                             (" (its PUT object is CopyObject, its upload part UploadPartCopy)" if copies else "") +
                             ": " + ", ".join(
                    f"{k} {v / n:.3g}" for k, v in m["requests"].items()))
    for floor in report.get("floors", []):
        lines += ["", f"Server CPU per request type ({floor['peer']}, {floor['objects']} x {floor['object_bytes']} B, "
                  "each type alone from a boto3 client, same server, same run; the idle server's own "
                  f"{floor['idle_server_cpu_per_s']:.2f} CPU s/s over each phase subtracted):", "",
                  "| request | server CPU ms | refused |", "|---|---|---|"]
        lines += [f"| {k} | {v['server_cpu_ms_per_request']:.2f} | {v['errors']} |" for k, v in floor["phases"].items()]
        lines += ["", f"Server CPU per object ({floor['peer']}): " + "; ".join(
            f"{k} {v:.2f} ms" for k, v in floor["server_cpu_ms_per_object"].items()) + "."]
    lines.append(MARK_END)
    section = "\n".join(lines)
    text = path.read_text() if path.exists() else ""
    if MARK_BEGIN in text and MARK_END in text:
        before, rest = text.split(MARK_BEGIN, 1)
        text = before + section + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", choices=["rgw", "moto"], default="rgw")
    ap.add_argument("--objects", type=int, default=500, help="small objects (the issue: 10000)")
    ap.add_argument("--object-bytes", type=int, default=4096)
    ap.add_argument("--large-mib", type=int, default=0, help="also migrate this many MiB in --large-object-mib objects")
    ap.add_argument("--large-object-mib", type=int, default=64)
    ap.add_argument("--large-rounds", type=int, default=0,
                    help="put the large objects through in this many rounds, emptied after each (default: on RGW, "
                         "one per 1 GiB, as its 4 GiB memstore holds the three copies of at most ~1.2 GiB)")
    ap.add_argument("--floor-objects", type=int, default=1000,
                    help="small objects for the per-request server cost (0: skip)")
    ap.add_argument("--workers", type=int, default=16, help="worm migrate --workers")
    ap.add_argument("--server-side", action="store_true",
                    help="worm migrate's default between buckets of one endpoint: CopyObject on the server, verified by "
                         "checksums (sources put with SHA-256 checksums); without it, --client-copy (every byte through "
                         "the client), as before")
    ap.add_argument("--trust-listing", action="store_true",
                    help="with --server-side: also run worm migrate --trust-listing (no HEAD of each source) over the same "
                         "objects, into a bucket of its own")
    ap.add_argument("--worm", default=str(HERE.parent / "build" / "worm"))
    ap.add_argument("--out", default=str(HERE / "results" / "migrate.json"))
    ap.add_argument("--results-md", default=str(HERE / "results" / "RESULTS.md"))
    ap.add_argument("--rewrite-md", action="store_true", help="only rewrite RESULTS.md's section from --out")
    ap.add_argument("--keep-other-peers", action="store_true",
                    help="keep the other peer's results already in --out (one file for the moto and RGW runs)")
    a = ap.parse_args()
    if a.rewrite_md:
        update_results_md(json.loads(Path(a.out).read_text()), Path(a.results_md))
        return
    if not shutil.which("aws"):
        sys.exit("aws (awscli) is needed for the comparison")
    if not Path("/usr/bin/time").exists():
        sys.exit("GNU time (/usr/bin/time, Debian package time) is needed to measure the clients")
    if not Path(a.worm).exists():
        sys.exit(f"no worm CLI at {a.worm} (build the worm_cli target)")
    with tempfile.TemporaryDirectory(prefix="worm-migrate-bench-") as tmp:
        server = Rgw(tmp) if a.peer == "rgw" else Moto(tmp)
        try:
            load_at_start = os.getloadavg()
            results = [scenario(server, "small", a.objects, a.object_bytes, a.worm, a.workers, tmp,
                                server_side=a.server_side, trust_listing=a.trust_listing)] if a.objects else []
            floor = (request_floor(server, min(a.floor_objects, a.objects), a.object_bytes)
                     if a.floor_objects and a.objects else None)
            if a.large_mib:
                count = max(1, a.large_mib // a.large_object_mib)
                rounds = a.large_rounds or (max(1, -(-a.large_mib // 1024)) if a.peer == "rgw" else 1)
                results.append(scenario(server, "large", count, a.large_object_mib << 20, a.worm, a.workers, tmp,
                                        rounds=rounds, server_side=a.server_side, trust_listing=a.trust_listing))
        finally:
            server.stop()
    report = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpus": os.cpu_count(),
              "mode": "server-side" if a.server_side else "client",
              "load_avg_at_start": load_at_start, "load_avg": os.getloadavg(), "results": results,
              "floors": [floor] if floor else []}
    report["runs"] = [run_info(report, a.peer)]
    if a.keep_other_peers and Path(a.out).exists():
        report = with_other_peers(report, json.loads(Path(a.out).read_text()))
    Path(a.out).write_text(json.dumps(report, indent=2) + "\n")
    update_results_md(report, Path(a.results_md))
    for r in results:
        w, s = r["worm_migrate"], r["aws_s3_sync"]
        print(f"{r['scenario']} ({r['peer']}): {r['objects']} x {r['object_bytes']} B  worm migrate "
              f"{w['objects_per_s']:.1f} obj/s {w['mb_per_s']:.2f} MB/s {w['peak_rss_mib']:.0f} MiB "
              f"cpu {w['client_cpu_s']:.1f} s (server {w['server_cpu_s']:.1f} s)  |  aws s3 sync "
              f"{s['objects_per_s']:.1f} obj/s {s['mb_per_s']:.2f} MB/s {s['peak_rss_mib']:.0f} MiB "
              f"cpu {s['client_cpu_s']:.1f} s (server {s['server_cpu_s']:.1f} s)  |  ratio {r['ratio_objects_per_s']:.2f}x")
        n = r["objects"]
        print(f"  MB/s ratio {w['mb_per_s'] / s['mb_per_s']:.2f}x; per object: client CPU {1000 * w['client_cpu_s'] / n:.2f} ms vs {1000 * s['client_cpu_s'] / n:.2f} ms, "
              f"server CPU {1000 * w['server_cpu_s'] / n:.2f} ms vs {1000 * s['server_cpu_s'] / n:.2f} ms")
        if r.get("worm_migrate_trust_listing"):
            t = r["worm_migrate_trust_listing"]
            print(f"  worm migrate --trust-listing {t['objects_per_s']:.1f} obj/s {t['mb_per_s']:.2f} MB/s "
                  f"cpu {t['client_cpu_s']:.1f} s (server {t['server_cpu_s']:.1f} s)  |  ratio "
                  f"{r['ratio_objects_per_s_trust_listing']:.2f}x")
        if r.get("hash_floor_ms"):
            print(f"  hashing one object in memory (same run): SHA-256 {r['hash_floor_ms']['sha256']:.1f} ms, "
                  f"MD5 {r['hash_floor_ms']['md5']:.1f} ms")
        for tool, m in (("worm migrate", w), ("worm migrate --trust-listing", r.get("worm_migrate_trust_listing")),
                        ("aws s3 sync", s)):
            if not m:
                continue
            print(f"  {tool} requests per object: " + ", ".join(f"{k} {v / n:.3g}" for k, v in m["requests"].items()))
    for floor in report["floors"]:
        print(f"floor ({floor['peer']}, {floor['objects']} x {floor['object_bytes']} B), server CPU ms per request: " +
              ", ".join(f"{k} {v['server_cpu_ms_per_request']:.2f}" + (f" ({v['errors']} refused)" if v["errors"] else "")
                        for k, v in floor["phases"].items()))
        print("  server CPU ms per object: " +
              ", ".join(f"{k} {v:.2f}" for k, v in floor["server_cpu_ms_per_object"].items()))


if __name__ == "__main__":
    main()
