#!/usr/bin/env python3
"""Record the raw XML answers of an S3 server for the document parsers' unit tests.

    capture-s3-responses.py ENDPOINT PEER_NAME OUT_DIR

Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Writes OUT_DIR/PEER_NAME-<operation>.xml,
one file per answer, exactly as the server sent it (tests/data/s3/ holds the moto and RGW ones).
Request ids and owner ids stay as recorded: the parsers ignore what they do not read.
"""
import datetime
import os
import sys

import boto3
from botocore.config import Config

endpoint, peer, out_dir = sys.argv[1:4]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
raw = {}


def keep_body(http_response, model, **_):
    raw[model.name] = http_response.content


s3.meta.events.register("after-call.s3", keep_body)


def record(name, call, **kwargs):
    raw.pop(call, None)
    try:
        getattr(s3, _snake(call))(**kwargs)
    except s3.exceptions.ClientError:
        pass  # the error document is what we want then
    body = raw.get(call, b"")
    with open(os.path.join(out_dir, f"{peer}-{name}.xml"), "wb") as f:
        f.write(body)


def _snake(name):
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


bucket = "capture-" + peer
s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
record("get-object-lock-configuration-none", "GetObjectLockConfiguration", Bucket=bucket)
s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
    "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
record("get-object-lock-configuration", "GetObjectLockConfiguration", Bucket=bucket)
until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
s3.put_object(Bucket=bucket, Key="dir/a b+c.json", Body=b"{}", ObjectLockMode="GOVERNANCE",
              ObjectLockRetainUntilDate=until, ObjectLockLegalHoldStatus="ON")
s3.put_object(Bucket=bucket, Key="plain.txt", Body=b"x")
s3.delete_object(Bucket=bucket, Key="plain.txt")  # a delete marker for the versions listing

record("list-objects-v2", "ListObjectsV2", Bucket=bucket, EncodingType="url")
record("list-object-versions", "ListObjectVersions", Bucket=bucket, EncodingType="url")
record("get-object-retention", "GetObjectRetention", Bucket=bucket, Key="dir/a b+c.json")
record("get-object-legal-hold", "GetObjectLegalHold", Bucket=bucket, Key="dir/a b+c.json")
record("get-bucket-versioning", "GetBucketVersioning", Bucket=bucket)
record("get-bucket-encryption", "GetBucketEncryption", Bucket=bucket)
record("get-public-access-block-none", "GetPublicAccessBlock", Bucket=bucket)
try:
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": False})
except s3.exceptions.ClientError:
    pass
record("get-public-access-block", "GetPublicAccessBlock", Bucket=bucket)
record("error-no-such-key", "GetObject", Bucket=bucket, Key="missing")
record("error-delete-locked", "DeleteObject", Bucket=bucket, Key="dir/a b+c.json",
       VersionId=s3.list_object_versions(Bucket=bucket, Prefix="dir/")["Versions"][0]["VersionId"])
upload = s3.create_multipart_upload(Bucket=bucket, Key="big.bin")["UploadId"]
raw_create = raw.get("CreateMultipartUpload")
with open(os.path.join(out_dir, f"{peer}-create-multipart-upload.xml"), "wb") as f:
    f.write(raw_create or b"")
part = s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=1, Body=b"p" * 1024)
record("complete-multipart-upload", "CompleteMultipartUpload", Bucket=bucket, Key="big.bin", UploadId=upload,
       MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
print("recorded", len(os.listdir(out_dir)), "files in", out_dir)
