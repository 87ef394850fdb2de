#!/usr/bin/env python3
"""Migration benchmark: `worm migrate` (lock + verify) beside `aws s3 sync` (no lock, no
verification) copying the same objects on the same local S3-shaped server, in one run.

    python3 bench/migrate_bench.py                         # quick: 500 small objects on Ceph RGW
    python3 bench/migrate_bench.py --objects 10000         # the issue's 10,000 small objects
    python3 bench/migrate_bench.py --large-mib 1024        # plus 1 GiB in 64 MiB objects
    python3 bench/migrate_bench.py --peer moto             # moto_server instead of RGW

The server holds three buckets: `src` (the objects), `locked` (Object Lock: worm migrate's
destination) and `plain` (aws s3 sync's destination). aws s3 sync between two buckets of one
endpoint copies server-side (CopyObject, no bytes through the client): the fastest it can be.
worm migrate reads every object, checks it (ETag MD5 / recorded SHA-256), puts it with a
COMPLIANCE lock and metadata, and confirms content and lock (HEAD; ETag or read-back).

Reported per client: seconds, objects/s, MB/s, peak RSS and CPU seconds (user + system) of
the client process (GNU time), and the server's CPU seconds during each run (from
/proc): where the time goes. Writes bench/results/migrate.json and the `migrate` rows of
bench/results/RESULTS.md (between its own markers).

Ceph RGW (../shared/peers/ceph-rgw.sh) runs under flock /tmp/rgw.lock (one RGW per machine);
its OSD keeps data in a 4 GiB memstore, and src + locked + plain hold three copies, so
--large-mib is at most about 1200 on RGW.
"""

import argparse
import fcntl
import json
import os
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
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
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

    def stop(self):
        subprocess.run(["bash", str(RGW_SCRIPT), "stop", str(self.dir)], capture_output=True)
        self.lock.close()


def boto(server):
    return boto3.client("s3", endpoint_url=server.url, aws_access_key_id=server.access_key,
                        aws_secret_access_key=server.secret_key, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}, max_pool_connections=32))


def measured(argv, env, server, tmp):
    """Runs argv under GNU time: seconds, the child's own peak RSS and CPU, the server's CPU
    meanwhile; and its stdout. (os.wait4 from this process would report at least this
    process's own RSS: a child's maxrss starts from its parent's at fork.)"""
    stats = Path(tmp) / "time.txt"
    server_cpu = cpu_seconds(server.pids)
    start = time.monotonic()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", str(stats), *argv], env=env,
                          capture_output=True, text=True)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:2])} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    max_kib, user, system = stats.read_text().split()[-3:]
    return {"seconds": seconds, "peak_rss_mib": int(max_kib) / 1024.0, "client_cpu_s": float(user) + float(system),
            "server_cpu_s": cpu_seconds(server.pids) - server_cpu}, proc.stdout


def fill(client, bucket, count, size, prefix):
    chunk = os.urandom(min(size, 1 << 20))

    def put(i):
        # Distinct bytes per object (its index up front), repeated to the size.
        head = f"{prefix}{i:06d}\n".encode()
        body = (head + chunk * (size // len(chunk) + 1))[:size]
        client.put_object(Bucket=bucket, Key=f"{prefix}{i:06d}", Body=body)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(count)))


def rates(m, count, size):
    total_mb = count * size / 1e6
    return dict(m, objects_per_s=count / m["seconds"], mb_per_s=total_mb / m["seconds"])


def scenario(server, name, count, size, worm, workers, tmp):
    s3 = boto(server)
    src, locked, plain = f"{name}-src", f"{name}-locked", f"{name}-plain"
    s3.create_bucket(Bucket=src)
    s3.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    s3.create_bucket(Bucket=plain)
    t0 = time.monotonic()
    fill(s3, src, count, size, "obj-")
    print(f"{name}: filled {count} x {size} B in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    env = dict(os.environ, AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key,
               AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=server.url,
               WORM_S3_ADDRESSING="path")
    for variable in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL_S3"):
        env.pop(variable, None)
    worm_m, out = measured([worm, "migrate", "--from", f"s3://{src}", "--to", f"s3://{locked}", "--retain-days", "1",
                            "--workers", str(workers), "--state", str(Path(tmp) / f"{name}.sqlite3"), "--quiet"],
                           env, server, tmp)
    summary = json.loads(out.strip().splitlines()[-1])
    if not summary["clean"] or summary["objects"] != count:
        raise RuntimeError(f"worm migrate was not clean: {summary}")
    # Exactly one locked version per object.
    versions = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=locked):
        for v in page.get("Versions", []):
            versions[v["Key"]] = versions.get(v["Key"], 0) + 1
    if len(versions) != count or any(n != 1 for n in versions.values()):
        raise RuntimeError("the locked bucket does not hold exactly one version per object")
    aws_m, _ = measured(["aws", "s3", "sync", f"s3://{src}", f"s3://{plain}", "--only-show-errors",
                         "--endpoint-url", server.url], env, server, tmp)
    w, a = rates(dict(worm_m, locks=True, verified=True, workers=workers), count, size), \
        rates(dict(aws_m, locks=False, verified=False, copy="server-side CopyObject"), count, size)
    return {"scenario": name, "peer": server.name, "objects": count, "object_bytes": size,
            "worm_migrate": w, "aws_s3_sync": a, "ratio_objects_per_s": w["objects_per_s"] / a["objects_per_s"]}


def update_results_md(report, path):
    """Replaces this benchmark's section of RESULTS.md (between its markers), or appends it."""
    lines = [MARK_BEGIN, "## Migration: `worm migrate` (lock + verify) vs `aws s3 sync` (no lock)", "",
             f"bench/migrate_bench.py, {report['date']}, {report['cpus']} CPUs, load average "
             f"{report['load_avg'][0]:.1f} (shared machine). Same server, same objects, one run; "
             "aws s3 sync copies server-side. Target: worm migrate >= 3x aws s3 sync's objects/s.", "",
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
        verdict = "met" if r["ratio_objects_per_s"] >= 3 else "**not met**"
        lines += ["", f"{r['scenario']}: target (>= 3x aws s3 sync's objects/s) {verdict} at "
                  f"{r['ratio_objects_per_s']:.2f}x. Per object: server CPU {1000 * w['server_cpu_s'] / n:.1f} ms "
                  f"(worm: reads the source, writes a locked version, verifies content and lock) vs {1000 * a['server_cpu_s'] / n:.1f} ms (aws: "
                  f"one server-side CopyObject, unversioned); client CPU {1000 * w['client_cpu_s'] / n:.1f} ms vs "
                  f"{1000 * a['client_cpu_s'] / n:.1f} ms."]
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
    ap.add_argument("--workers", type=int, default=16, help="worm migrate --workers")
    ap.add_argument("--worm", default=str(HERE.parent / "build" / "worm"))
    ap.add_argument("--out", default=str(HERE / "results" / "migrate.json"))
    ap.add_argument("--results-md", default=str(HERE / "results" / "RESULTS.md"))
    ap.add_argument("--rewrite-md", action="store_true", help="only rewrite RESULTS.md's section from --out")
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
            results = [scenario(server, "small", a.objects, a.object_bytes, a.worm, a.workers, tmp)]
            if a.large_mib:
                count = max(1, a.large_mib // a.large_object_mib)
                results.append(scenario(server, "large", count, a.large_object_mib << 20, a.worm, a.workers, tmp))
        finally:
            server.stop()
    report = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpus": os.cpu_count(),
              "load_avg": os.getloadavg(), "results": results}
    Path(a.out).write_text(json.dumps(report, indent=2) + "\n")
    update_results_md(report, Path(a.results_md))
    for r in results:
        w, s = r["worm_migrate"], r["aws_s3_sync"]
        print(f"{r['scenario']} ({r['peer']}): {r['objects']} x {r['object_bytes']} B  worm migrate "
              f"{w['objects_per_s']:.1f} obj/s {w['mb_per_s']:.2f} MB/s {w['peak_rss_mib']:.0f} MiB "
              f"cpu {w['client_cpu_s']:.1f} s (server {w['server_cpu_s']:.1f} s)  |  aws s3 sync "
              f"{s['objects_per_s']:.1f} obj/s {s['mb_per_s']:.2f} MB/s {s['peak_rss_mib']:.0f} MiB "
              f"cpu {s['client_cpu_s']:.1f} s (server {s['server_cpu_s']:.1f} s)  |  ratio {r['ratio_objects_per_s']:.2f}x")


if __name__ == "__main__":
    main()
