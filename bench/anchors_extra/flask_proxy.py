"""The seed's proxy mode in Python: a Flask server forwarding `/evidence/upload` with boto3.

What the MCP server's /evidence/upload does for an agent (seed 000: agents send evidence to
the MCP server, which stores it in S3 with Object Lock; seed 001: put_object with
COMPLIANCE mode, 90-day retention, metadata and a SHA-256 check), doing the same work per
request as worm-proxy: bearer token checked by SHA-256 in constant time, key confined to
evidence/{client_id}/, the body's SHA-256 compared with X-Worm-Sha256, then one locked
put_object with its SHA-256 checksum and the proxy's client metadata. One boto3 client
(thread-safe, a pool as large as the server's threads), Flask's own threaded server.

    python3 flask_proxy.py --port P --endpoint URL --bucket B --tokens FILE

FILE holds "client_id token" lines. Prints "listening" on stdout once it serves.
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import json
import logging
import sys

import boto3
from botocore.config import Config
from flask import Flask, Response, request

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--endpoint", required=True)
ap.add_argument("--bucket", required=True)
ap.add_argument("--tokens", required=True)
ap.add_argument("--retention-days", type=int, default=90)
a = ap.parse_args()

tokens = []  # (sha256(token), client_id)
with open(a.tokens) as f:
    for line in f:
        line = line.strip()
        if line and not line.startswith("#"):
            client_id, token = line.split()
            tokens.append((hashlib.sha256(token.encode()).digest(), client_id))

s3 = boto3.client("s3", endpoint_url=a.endpoint, region_name="us-east-1",
                  config=Config(max_pool_connections=64, s3={"addressing_style": "path"},
                                retries={"max_attempts": 3, "mode": "standard"}))
app = Flask("worm-proxy-anchor")
logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per request


def error(status, name, message):
    return Response(json.dumps({"error": name, "message": message}), status=status, mimetype="application/json")


def authenticate():
    auth = request.headers.get("Authorization", "")
    if not auth.lower().startswith("bearer "):
        return None
    presented = hashlib.sha256(auth[7:].strip().encode()).digest()
    found = None
    for digest, client_id in tokens:  # every entry compared, no early exit
        if hmac.compare_digest(presented, digest):
            found = client_id
    return found


@app.route("/evidence/upload", methods=["PUT", "POST"])
def upload():
    client_id = authenticate()
    if client_id is None:
        return error(401, "unauthorized", "unknown or revoked token")
    key = request.args.get("key") or request.headers.get("X-Worm-Key")
    if not key:
        return error(400, "invalid_argument", "the object key is missing (?key=...)")
    prefix = f"evidence/{client_id}/"
    if ".." in key.split("/") or not key.startswith(prefix):
        return error(403, "forbidden", f"key {key!r} is outside {prefix}")
    claimed = request.headers.get("X-Worm-Sha256", "").lower()
    if len(claimed) != 64:
        return error(400, "invalid_argument", "X-Worm-Sha256 must be 64 hex digits")
    body = request.get_data()
    digest = hashlib.sha256(body).digest()
    if digest.hex() != claimed:
        return error(422, "integrity", "the body's SHA-256 does not match X-Worm-Sha256")
    until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=a.retention_days)
    r = s3.put_object(Bucket=a.bucket, Key=key, Body=body,
                      ContentType=request.headers.get("Content-Type", "application/octet-stream"),
                      ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until,
                      ChecksumSHA256=base64.b64encode(digest).decode(),
                      Metadata={"worm-proxy-client": client_id})
    return Response(json.dumps({"key": key, "version_id": r.get("VersionId", ""), "etag": r.get("ETag", ""),
                                "sha256": claimed,
                                "retention": {"mode": "COMPLIANCE", "retain_until": until.isoformat()}}),
                    status=200, mimetype="application/json")


if __name__ == "__main__":
    import flask.cli
    flask.cli.show_server_banner = lambda *args, **kw: None
    print("listening", flush=True)
    sys.stdout.flush()
    app.run(host="127.0.0.1", port=a.port, threaded=True)
