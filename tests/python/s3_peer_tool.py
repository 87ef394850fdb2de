#!/usr/bin/env python3
"""boto3 as the reference client for the S3 integration tests.

The endpoint and credentials come from the environment (AWS_ENDPOINT_URL,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION). Commands:

  moto-setup                  create an IAM user allowed everything and print its key as
                              JSON (run against a fresh moto_server started with
                              INITIAL_NO_AUTH_ACTION_COUNT=3: exactly these 3 calls are free)
  get BUCKET KEY OUT          download an object with boto3 into OUT
  get-all BUCKET DIR KEY...   download each KEY into DIR/0, DIR/1, ... (one process, many keys)
  put BUCKET KEY IN           upload IN with boto3 (single PUT); prints the VersionId
  head BUCKET KEY [VERSION]   print HeadObject as JSON (lock mode, retain-until, size, ...)
  keys BUCKET PREFIX          print the keys under PREFIX as a JSON list (boto3 paginator)
  put-many BUCKET PREFIX N    put N one-byte objects PREFIX00000.. with 8 threads
Keys are passed as arguments, so any unicode survives.
"""
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config


def client(service="s3"):
    return boto3.client(
        service,
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2},
                      max_pool_connections=16),
    )


def moto_setup():
    iam = client("iam")
    iam.create_user(UserName="worm-test")
    iam.put_user_policy(UserName="worm-test", PolicyName="all",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="worm-test")["AccessKey"]
    print(json.dumps({"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}))


def main(argv):
    cmd = argv[1]
    if cmd == "moto-setup":
        return moto_setup()
    s3 = client()
    if cmd == "get":
        bucket, key, out = argv[2:5]
        s3.download_file(bucket, key, out)
    elif cmd == "get-all":
        bucket, out_dir, keys = argv[2], argv[3], argv[4:]
        for i, key in enumerate(keys):
            s3.download_file(bucket, key, os.path.join(out_dir, str(i)))
    elif cmd == "put":
        bucket, key, path = argv[2:5]
        with open(path, "rb") as f:
            r = s3.put_object(Bucket=bucket, Key=key, Body=f.read())
        print(r.get("VersionId", ""))
    elif cmd == "head":
        bucket, key = argv[2:4]
        kwargs = {"Bucket": bucket, "Key": key}
        if len(argv) > 4:
            kwargs["VersionId"] = argv[4]
        r = s3.head_object(**kwargs)
        until = r.get("ObjectLockRetainUntilDate")
        print(json.dumps({
            "size": r["ContentLength"],
            "lock_mode": r.get("ObjectLockMode", ""),
            "retain_until_epoch_ms": int(until.timestamp() * 1000) if until else None,
            "legal_hold": r.get("ObjectLockLegalHoldStatus", ""),
            "content_type": r.get("ContentType", ""),
            "metadata": r.get("Metadata", {}),
            "version_id": r.get("VersionId", ""),
        }))
    elif cmd == "keys":
        bucket, prefix = argv[2:4]
        keys = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys += [o["Key"] for o in page.get("Contents", [])]
        print(json.dumps(keys))
    elif cmd == "put-many":
        bucket, prefix, n = argv[2], argv[3], int(argv[4])
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key="%s%05d" % (prefix, i), Body=b"x"), range(n)))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
