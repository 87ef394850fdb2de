"""boto3's transfer manager uploading one large file as a multipart upload.

Same request shape as libworm's `worm_bench multipart`: COMPLIANCE lock headers on
CreateMultipartUpload, a SHA-256 checksum on every part, the same part size and the
same number of parts in flight.
"""
import argparse, datetime, os, time
import boto3, botocore
from boto3.s3.transfer import TransferConfig

ap = argparse.ArgumentParser()
ap.add_argument("--endpoint", required=True)
ap.add_argument("--bucket", required=True)
ap.add_argument("--file", required=True)
ap.add_argument("--part-size", type=int, default=16 * 1024 * 1024)
ap.add_argument("--concurrency", type=int, default=4)
a = ap.parse_args()
cfg = botocore.config.Config(max_pool_connections=max(10, a.concurrency), retries={"max_attempts": 3})
s3 = boto3.client("s3", endpoint_url=a.endpoint, region_name=os.environ.get("AWS_REGION", "us-east-1"),
                  aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
                  aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "secret"), config=cfg)
tc = TransferConfig(multipart_threshold=a.part_size, multipart_chunksize=a.part_size,
                    max_concurrency=a.concurrency, use_threads=True)
until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=90)
size = os.path.getsize(a.file)
t = time.perf_counter()
s3.upload_file(a.file, a.bucket, "evidence/clinic-001/2025/11/large.bin", Config=tc,
               ExtraArgs={"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until,
                          "ChecksumAlgorithm": "SHA256"})
dt = time.perf_counter() - t
print(f"python_multipart: {size / 1e6 / dt:.1f} MB/s")
