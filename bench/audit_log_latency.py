"""Audit logs end to end at real S3 latency (issue 24 item 1).

moto_server behind bench/latency_proxy.py (every request held `--delay-ms`), a producer
thread calling logger.info at a fixed offered rate for `--seconds`, and a watcher that
notes when each record is stored in WORM. Handlers:

  worm-compliance   worm.logging, create_compliance_handler (5 records / 15 s, GOVERNANCE)
  worm-high-volume  worm.logging, create_high_volume_handler (50 / 60 s; records at WARNING)
  seed-boto3        the seed's design: queue + 1 batching worker (5 records per batch) + a
                    2-thread pool of boto3 PutObject calls with the lock (anchor)
  cxx-compliance    the same preset from C++ (`worm_bench audit-log-latency`, one producer
  cxx-high-volume   thread): the sink's own ceiling, without the interpreter's cost per record

Prints one JSON object: offered and sustained records/s (records stored while the load ran,
per second of load: the last records wait for the preset's interval, which says nothing
about throughput), when the last record was stored, p50/p99 seconds from logger.info to
stored in WORM, records not stored when the wait ended. `python3 bench/audit_log_latency.py --delay-ms 30 --handler worm-compliance`
"""
import argparse
import concurrent.futures
import datetime
import json
import logging
import os
import queue
import shutil
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "python"))

from latency_proxy import LatencyProxy  # noqa: E402
from run import parse_figures  # noqa: E402
from worm_test_support import MotoServer  # noqa: E402


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


class SeedBoto3Handler(logging.Handler):
    """Seed 004's WORMLogHandler design: a queue, one batching worker, a 2-thread upload pool."""

    def __init__(self, endpoint, bucket, batch_size=5, interval=15.0):
        super().__init__()
        import boto3
        from botocore.config import Config
        self.s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                               config=Config(s3={"addressing_style": "path"}, max_pool_connections=4))
        self.bucket, self.batch_size, self.interval = bucket, batch_size, interval
        self.queue = queue.Queue(maxsize=10000)
        self.pool = concurrent.futures.ThreadPoolExecutor(2)
        self.stored = 0
        self.stored_lock = threading.Lock()
        self.dropped = 0
        self.stop = threading.Event()
        self.worker = threading.Thread(target=self.run, daemon=True)
        self.worker.start()

    def emit(self, record):
        try:
            self.queue.put_nowait({"timestamp": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
                                   .isoformat(), "level": record.levelname, "message": record.getMessage(),
                                   "request_id": getattr(record, "request_id", None), "n": getattr(record, "n", None)})
        except queue.Full:
            self.dropped += 1  # the seed drops when its queue is full

    def upload(self, batch):
        body = "\n".join(json.dumps(r) for r in batch).encode()
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2557)
        self.s3.put_object(Bucket=self.bucket, Key=f"seed/{batch[0]['request_id']}-{uuid.uuid4()}.json", Body=body,
                           ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until)
        with self.stored_lock:
            self.stored += len(batch)

    def run(self):
        batch, since = [], time.monotonic()
        while not self.stop.is_set():
            try:
                batch.append(self.queue.get(timeout=0.1))
            except queue.Empty:
                pass
            if batch and (len(batch) >= self.batch_size or time.monotonic() - since >= self.interval):
                self.pool.submit(self.upload, batch).result()  # the seed waits for each batch's upload
                batch, since = [], time.monotonic()


def run_cxx(args, endpoint, tmp):
    """The C++ producer against the same latency proxy; its `name: value unit` lines as the
    same JSON keys as the Python handlers'."""
    import subprocess
    preset = args.handler[len("cxx-"):]
    argv = [args.bench_bin, "audit-log-latency", "--endpoint", endpoint, "--bucket", "bench-logs",
            "--dir", os.path.join(tmp, "cxx"), "--preset", preset, "--rate", str(int(args.rate)),
            "--seconds", str(int(args.seconds)), "--wait", str(int(args.wait))]
    if args.max_in_flight:
        argv += ["--max-in-flight", str(args.max_in_flight)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=args.seconds + args.wait + 120)
    values = {name: value for name, (value, _unit) in parse_figures(out.stdout).items()}
    total = int(args.rate * args.seconds)
    return {
        "handler": args.handler, "delay_ms": args.delay_ms, "offered_records_per_s": args.rate,
        "records": total, "stored": total - int(values["latency_not_stored_at_end"]),
        "produce_s": round(values["latency_produce_s"], 3),
        "sustained_records_per_s": round(values["latency_sustained_records_per_s"], 1),
        "last_stored_s": round(values["latency_last_stored_s"], 3),
        "p50_time_to_worm_s": values["latency_p50_time_to_worm_s"],
        "p99_time_to_worm_s": values["latency_p99_time_to_worm_s"],
        "not_stored_at_end": int(values["latency_not_stored_at_end"]),
        "stats": {"batches_stored": int(values["latency_batches_stored"]),
                  "max_in_flight": args.max_in_flight or "default"},
    }


def run(args):
    tmp = tempfile.mkdtemp(prefix="worm-bench-latency-")
    moto = MotoServer(auth=False).start()
    proxy = LatencyProxy("127.0.0.1", moto.port, args.delay_ms).start()
    saved = dict(os.environ)
    try:
        env = moto.env()
        env["AWS_ENDPOINT_URL"] = env["AWS_ENDPOINT_URL_S3"] = proxy.endpoint
        os.environ.update(env)
        os.environ["WORM_LOG_JOURNAL_DIR"] = os.path.join(tmp, "journal")
        import boto3
        s3 = boto3.client("s3", endpoint_url=moto.endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket="bench-logs", ObjectLockEnabledForBucket=True)

        if args.handler.startswith("cxx-"):
            return run_cxx(args, proxy.endpoint, tmp)

        logger = logging.getLogger("bench.latency")
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
        level = logging.INFO
        if args.handler.startswith("worm"):
            from worm.logging import WORMLogHandlerFactory
            kwargs = {}
            if args.max_in_flight:
                kwargs["max_in_flight"] = args.max_in_flight
            if args.handler == "worm-compliance":
                handler = WORMLogHandlerFactory.create_compliance_handler("bench", "bench-logs", **kwargs)
            else:
                handler = WORMLogHandlerFactory.create_high_volume_handler("bench", "bench-logs", **kwargs)
                level = logging.WARNING
            stored = lambda: handler.stats()["stored"]  # noqa: E731
        else:
            handler = SeedBoto3Handler(proxy.endpoint, "bench-logs")
            stored = lambda: handler.stored  # noqa: E731
        logger.addHandler(handler)

        total = int(args.rate * args.seconds)
        logged_at = [0.0] * total
        stored_at = [None] * total
        wait_until = [float("inf")]  # set when the load ends

        def watch():
            seen = 0
            while seen < total:
                now_stored = min(stored(), total)
                t = time.monotonic()
                for i in range(seen, now_stored):
                    stored_at[i] = t
                seen = max(seen, now_stored)
                if time.monotonic() > wait_until[0]:
                    break
                time.sleep(0.002)

        watcher = threading.Thread(target=watch)
        watcher.start()
        start = time.monotonic()
        for i in range(total):
            target = start + i / args.rate
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            logged_at[i] = time.monotonic()
            logger.log(level, "record %d of a sustained load", i, extra={"request_id": "req-bench", "n": i})
        produced = time.monotonic() - start
        wait_until[0] = time.monotonic() + args.wait
        watcher.join()
        waits = [s - l for s, l in zip(stored_at, logged_at) if s is not None]
        last = max((s for s in stored_at if s is not None), default=start)
        in_load = sum(1 for s in stored_at if s is not None and s <= start + produced)
        result = {
            "handler": args.handler, "delay_ms": args.delay_ms, "offered_records_per_s": args.rate,
            "records": total, "stored": len(waits), "produce_s": round(produced, 3),
            "sustained_records_per_s": round(in_load / produced, 1), "last_stored_s": round(last - start, 3),
            "p50_time_to_worm_s": percentile(waits, 50), "p99_time_to_worm_s": percentile(waits, 99),
            "not_stored_at_end": total - len(waits),
        }
        if args.handler.startswith("worm"):
            result["stats"] = {k: v for k, v in handler.stats().items() if isinstance(v, (int, float))}
            handler.close(timeout=5)
        else:
            result["dropped"] = handler.dropped
            handler.stop.set()
        return result
    finally:
        os.environ.clear()
        os.environ.update(saved)
        proxy.stop()
        moto.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--handler", required=True, choices=("worm-compliance", "worm-high-volume", "seed-boto3",
                                                         "cxx-compliance", "cxx-high-volume"))
    ap.add_argument("--delay-ms", type=float, default=30)
    ap.add_argument("--rate", type=float, default=20000, help="offered records/s")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--wait", type=float, default=30, help="seconds to wait for the rest after the load")
    ap.add_argument("--max-in-flight", type=int, default=0)
    ap.add_argument("--bench-bin", default=os.path.join(HERE, "..", "build", "bench", "worm_bench"),
                    help="worm_bench, for the cxx-* handlers")
    args = ap.parse_args()
    if args.handler.startswith("cxx-") and not os.access(args.bench_bin, os.X_OK):
        ap.error(f"--bench-bin {args.bench_bin} is not an executable worm_bench (build with -DWORM_BUILD_BENCH=ON)")
    print(json.dumps(run(args)), flush=True)


if __name__ == "__main__":
    main()
