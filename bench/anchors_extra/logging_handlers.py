"""logger.info() throughput through three handlers, all in this process:

  queue   the standard library's QueueHandler + QueueListener writing JSON lines to a file
  worm    worm.logging.WORMLogHandler (libworm's journaled sink into a local WORM store)
  boto3   the seed's design: a handler that queues records and a worker thread that batches
          them (50 records) into S3 PutObject calls with Object Lock, with boto3
          (--endpoint: an S3-shaped sink such as bench/sink.py's nginx)

Prints `python_logging_<handler>: <records/s> rec/s` (the time of the logger.info calls;
queue and worm drain after the clock stops; the boto3 handler's backlog is dropped at exit,
as the seed's daemon worker does).
"""
import argparse
import datetime
import json
import logging
import logging.handlers
import os
import queue
import sys
import tempfile
import threading
import time
import uuid

ap = argparse.ArgumentParser()
ap.add_argument("--handler", choices=("queue", "worm", "boto3"), required=True)
ap.add_argument("--n", type=int, default=50000)
ap.add_argument("--endpoint", default="")
ap.add_argument("--bucket", default="bench")
ap.add_argument("--dir", default="")
a = ap.parse_args()
work = a.dir or tempfile.mkdtemp(prefix="anchor-logging-")


def seed_record(record):
    data = {"timestamp": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc).isoformat(),
            "level": record.levelname, "service_name": "camera_service",
            "request_id": getattr(record, "request_id", None), "user_id": getattr(record, "user_id", None),
            "message": record.getMessage(), "logger_name": record.name, "module": record.module,
            "function": record.funcName, "line": record.lineno}
    for k in ("camera_id", "action", "confidence", "detection_count"):
        if hasattr(record, k):
            data[k] = getattr(record, k)
    return data


class JsonFormatter(logging.Formatter):
    def format(self, record):
        return json.dumps(seed_record(record))


class Boto3BatchingHandler(logging.Handler):
    """The seed's WORMLogHandler design: queue + worker thread + batched PutObject with a lock."""

    def __init__(self, bucket, batch_size=50, interval=60.0):
        super().__init__()
        import boto3
        from botocore.config import Config
        self.s3 = boto3.client("s3", endpoint_url=a.endpoint, region_name="us-east-1",
                               config=Config(s3={"addressing_style": "path"}))
        self.bucket, self.batch_size, self.interval = bucket, batch_size, interval
        self.queue = queue.Queue(maxsize=10000)
        self.stop = threading.Event()
        self.worker = threading.Thread(target=self.run, daemon=True)
        self.worker.start()

    def emit(self, record):
        try:
            self.queue.put_nowait(seed_record(record))
        except queue.Full:
            pass  # the seed drops when its queue is full

    def upload(self, batch):
        body = "\n".join(json.dumps(r) for r in batch).encode()
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2557)
        self.s3.put_object(Bucket=self.bucket, Key=f"audit-logs/{batch[0]['request_id']}-{uuid.uuid4()}.json",
                           Body=body, ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until,
                           ChecksumAlgorithm="SHA256")

    def run(self):
        batch, last = [], time.monotonic()
        while not (self.stop.is_set() and self.queue.empty()):
            try:
                batch.append(self.queue.get(timeout=0.1))
            except queue.Empty:
                pass
            if batch and (len(batch) >= self.batch_size or time.monotonic() - last >= self.interval or self.stop.is_set()):
                self.upload(batch)
                batch, last = [], time.monotonic()

    def close(self):
        self.stop.set()
        self.worker.join()
        super().close()


logger = logging.getLogger("camera_service")
logger.setLevel(logging.INFO)
logger.propagate = False
listener = None
if a.handler == "queue":
    file_handler = logging.FileHandler(os.path.join(work, "queue.log"))
    file_handler.setFormatter(JsonFormatter())
    q = queue.Queue(-1)
    handler = logging.handlers.QueueHandler(q)
    listener = logging.handlers.QueueListener(q, file_handler)
    listener.start()
elif a.handler == "worm":
    from worm.logging import WORMLogHandler
    handler = WORMLogHandler("camera_service", "file://" + os.path.join(work, "store"), batch_size=1000,
                             journal_dir=os.path.join(work, "journal"), retention_days=0)
else:
    handler = Boto3BatchingHandler(a.bucket)
logger.addHandler(handler)

extra = {"request_id": "req-12345-abcde", "user_id": "user123", "camera_id": "cam001",
         "action": "motion_detected", "confidence": 0.92, "detection_count": 3}
t = time.perf_counter()
for i in range(a.n):
    logger.info("Motion detected in camera %s", "cam001", extra=extra)
dt = time.perf_counter() - t
print(f"python_logging_{a.handler}: {a.n / dt:.0f} rec/s", flush=True)
if a.handler == "boto3":
    os._exit(0)  # its worker would take minutes to PUT the backlog; the seed drops it at exit too
if listener:
    listener.stop()
handler.close()
