#!/usr/bin/env python3
"""Migration benchmark: `worm migrate` (lock + verify) beside `aws s3 sync` (no lock) copying
the same objects between two local S3-shaped servers (moto_server), in one run.

    python3 bench/migrate_bench.py                      # 500 small objects (quick; default)
    python3 bench/migrate_bench.py --objects 10000      # the issue's 10,000 small objects
    python3 bench/migrate_bench.py --large-mib 4096     # plus 4 GiB in 64 MiB objects (slow)

Reports objects/s, MB/s and peak RSS (wait4 of each client process) and writes
bench/results/migrate.json. moto is single-process Python: on a loaded machine it, not the
client, is often the limit, so the ratio between the two clients is what to read.
"""

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3

HERE = Path(__file__).resolve().parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    def __init__(self, log_dir):
        self.port = free_port()
        self.log = open(Path(log_dir) / f"moto-{self.port}.log", "w")
        self.proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(self.port)], stdout=self.log,
                                     stderr=self.log)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not start")

    def client(self):
        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id="bench", aws_secret_access_key="bench",
                            region_name="us-east-1")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


def run_measured(argv, env):
    """Runs argv; returns (seconds, peak RSS in MiB of that child)."""
    start = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - start
    out, err = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv[0]} {argv[1]} failed: {err[-2000:]}")
    return seconds, usage.ru_maxrss / 1024.0, out


def fill(client, bucket, count, size, prefix):
    body = os.urandom(size)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: client.put_object(Bucket=bucket, Key=f"{prefix}{i:06d}", Body=body), range(count)))


def scenario(name, count, size, worm, tmp):
    src, dst = Moto(tmp), Moto(tmp)
    try:
        s, d = src.client(), dst.client()
        s.create_bucket(Bucket="src")
        d.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True)
        fill(s, "src", count, size, "obj-")
        base = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1",
                    AWS_DEFAULT_REGION="us-east-1")
        total_mb = count * size / 1e6
        worm_s, worm_rss, out = run_measured(
            [worm, "migrate", "--from", "s3://src", "--source-endpoint", src.url, "--to", "s3://locked",
             "--retain-days", "1", "--workers", "16", "--state", str(Path(tmp) / f"{name}.sqlite3"), "--quiet"],
            dict(base, AWS_ENDPOINT_URL=dst.url))
        summary = json.loads(out.strip().splitlines()[-1])
        assert summary["clean"] and summary["objects"] == count, summary
        # aws s3 sync between two endpoints cannot stream: it copies server-side within one
        # endpoint, so the fair counterpart is a sync from src to the plain bucket of the
        # same server set up the same way (download + upload would be slower still).
        s.create_bucket(Bucket="plain")
        aws_s, aws_rss, _ = run_measured(["aws", "s3", "sync", "s3://src", "s3://plain", "--only-show-errors"],
                                         dict(base, AWS_ENDPOINT_URL=src.url))
        return {
            "scenario": name, "objects": count, "object_bytes": size,
            "worm_migrate": {"seconds": worm_s, "objects_per_s": count / worm_s, "mb_per_s": total_mb / worm_s,
                             "peak_rss_mib": worm_rss, "locks": True, "verified": True},
            "aws_s3_sync": {"seconds": aws_s, "objects_per_s": count / aws_s, "mb_per_s": total_mb / aws_s,
                            "peak_rss_mib": aws_rss, "locks": False, "verified": False},
            "ratio_objects_per_s": (count / worm_s) / (count / aws_s),
        }
    finally:
        src.stop()
        dst.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=500)
    ap.add_argument("--object-bytes", type=int, default=4096)
    ap.add_argument("--large-mib", type=int, default=0, help="also migrate this many MiB in 64 MiB objects")
    ap.add_argument("--worm", default=str(HERE.parent / "build" / "worm"))
    ap.add_argument("--out", default=str(HERE / "results" / "migrate.json"))
    a = ap.parse_args()
    if not shutil.which("aws"):
        sys.exit("aws (awscli) is needed for the comparison")
    with tempfile.TemporaryDirectory(prefix="worm-migrate-bench-") as tmp:
        results = [scenario("small", a.objects, a.object_bytes, a.worm, tmp)]
        if a.large_mib:
            results.append(scenario("large", max(1, a.large_mib // 64), 64 << 20, a.worm, tmp))
    report = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "cpus": os.cpu_count(),
              "load_avg": os.getloadavg(), "results": results}
    Path(a.out).write_text(json.dumps(report, indent=2) + "\n")
    for r in results:
        w, s = r["worm_migrate"], r["aws_s3_sync"]
        print(f"{r['scenario']}: {r['objects']} x {r['object_bytes']} B  worm migrate {w['objects_per_s']:.1f} obj/s "
              f"{w['mb_per_s']:.2f} MB/s {w['peak_rss_mib']:.0f} MiB  |  aws s3 sync {s['objects_per_s']:.1f} obj/s "
              f"{s['mb_per_s']:.2f} MB/s {s['peak_rss_mib']:.0f} MiB  |  ratio {r['ratio_objects_per_s']:.2f}x")


if __name__ == "__main__":
    main()
