#!/usr/bin/env python3
"""The fire-safety platform's evidence REST API (seed 002) on Flask, over `import worm`.

    WORM_EVIDENCE_STORE=s3://evidence-bucket WORM_RETENTION_DAYS=2555 python3 evidence_api.py --port 8080

Endpoints:
  POST /v1/evidence/submit              multipart form: session_id, evidence_type, file, metadata (JSON)
                                        -> stored write-once (COMPLIANCE until now + retention days)
  GET  /v1/evidence/<id>/download       a presigned GET URL (S3 stores), valid 15 minutes
  GET  /v1/compliance/verify/<id>       stored SHA-256 and lock checked
  POST /v1/compliance/audit             {start_date, end_date, include_evidence_details}
  POST /v1/compliance/certificate       \\
  GET  /v1/compliance/status             } need libworm's compliance calls (audit / certificate /
  GET  /v1/compliance/bucket/verify     /  bucket verify); without them they answer 501 and say so
Credentials, endpoint and region come from the standard AWS_* variables, as for every libworm store.
"""

import argparse
import datetime as dt
import hashlib
import json
import os
import uuid

from flask import Flask, jsonify, request

import worm

RETENTION_DAYS = int(os.environ.get("WORM_RETENTION_DAYS", "2555"))  # AS 1851: 7 years
PRESIGN_SECONDS = 900


def _now():
    return dt.datetime.now(dt.timezone.utc)


def _key(evidence_id):
    return f"evidence/{evidence_id}"


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if isinstance(value, dt.datetime) else value


def _error(status, name, message):
    return jsonify({"error": name, "message": message}), status


def create_app(store_url=None):
    store_url = store_url or os.environ["WORM_EVIDENCE_STORE"]
    store = worm.open_store(store_url)
    app = Flask(__name__)

    def head_or_none(evidence_id):
        try:
            return store.head(_key(evidence_id))
        except worm.NotFoundError:
            return None

    @app.post("/v1/evidence/submit")
    def submit():
        upload = request.files.get("file")
        session_id, evidence_type = request.form.get("session_id"), request.form.get("evidence_type")
        if upload is None or not session_id or not evidence_type:
            return _error(400, "bad_request", "session_id, evidence_type and file are required")
        extra = request.form.get("metadata", "{}")
        try:
            json.loads(extra)
        except ValueError:
            return _error(400, "bad_request", "metadata must be a JSON object")
        data = upload.read()
        evidence_id = "ev-" + uuid.uuid4().hex
        sha = hashlib.sha256(data).hexdigest()
        until = _now() + dt.timedelta(days=RETENTION_DAYS)
        # Header-safe metadata: the user's JSON travels as its SHA-256-checked sidecar fields.
        put = store.put(_key(evidence_id), data, content_type=upload.mimetype or "application/octet-stream",
                        metadata={"session-id": session_id, "evidence-type": evidence_type,
                                  "original-filename": (upload.filename or "")[:200].encode("ascii", "replace").decode(),
                                  "metadata-sha256": hashlib.sha256(extra.encode()).hexdigest(), "sha256": sha},
                        lock_mode="COMPLIANCE", retain_until=until, sha256=sha, if_none_match=True)
        return jsonify({"evidence_id": evidence_id, "uri": store.uri(_key(evidence_id)),
                        "version_id": put.get("version_id"), "sha256": sha, "lock_mode": "COMPLIANCE",
                        "retain_until": _iso(until)}), 201

    @app.get("/v1/evidence/<evidence_id>/download")
    def download(evidence_id):
        if head_or_none(evidence_id) is None:
            return _error(404, "not_found", f"no evidence {evidence_id}")
        if not store_url.startswith("s3://"):
            return _error(501, "not_available", "presigned URLs need an s3:// store")
        bucket, _, prefix = store_url[5:].partition("/")
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or \
            f"https://s3.{os.environ.get('AWS_REGION', 'us-east-1')}.amazonaws.com"
        key = (prefix.strip("/") + "/" if prefix.strip("/") else "") + _key(evidence_id)
        url = worm.presign_url("GET", f"{endpoint.rstrip('/')}/{bucket}/{key}", os.environ["AWS_ACCESS_KEY_ID"],
                               os.environ["AWS_SECRET_ACCESS_KEY"], os.environ.get("AWS_REGION", "us-east-1"),
                               expires=PRESIGN_SECONDS, session_token=os.environ.get("AWS_SESSION_TOKEN"))
        return jsonify({"evidence_id": evidence_id, "download_url": url, "expires_in": PRESIGN_SECONDS})

    def verify_one(evidence_id, info):
        recorded = info["metadata"].get("sha256", "")
        stored = info.get("sha256") or hashlib.sha256(store.get(_key(evidence_id))).hexdigest()
        retain_until = info.get("retain_until")
        locked = info.get("lock_mode") == "COMPLIANCE" and retain_until is not None and retain_until > _now()
        return {"evidence_id": evidence_id, "sha256": stored, "sha256_matches": stored == recorded,
                "lock_mode": info.get("lock_mode"), "retain_until": _iso(retain_until),
                "legal_hold": info.get("legal_hold"), "compliant": locked and stored == recorded}

    @app.get("/v1/compliance/verify/<evidence_id>")
    def verify(evidence_id):
        info = head_or_none(evidence_id)
        if info is None:
            return _error(404, "not_found", f"no evidence {evidence_id}")
        return jsonify(verify_one(evidence_id, info))

    @app.post("/v1/compliance/audit")
    def audit():
        body = request.get_json(silent=True) or {}
        try:
            start = dt.datetime.fromisoformat(body["start_date"].replace("Z", "+00:00"))
            end = dt.datetime.fromisoformat(body["end_date"].replace("Z", "+00:00"))
        except (KeyError, ValueError, AttributeError):
            return _error(400, "bad_request", "start_date and end_date (RFC 3339) are required")
        details = []
        for obj in store.list_all("evidence/"):
            info = store.head(obj["key"])
            if not start <= info["last_modified"] <= end:
                continue
            details.append(verify_one(obj["key"][len("evidence/"):], info))
        report = {"start_date": _iso(start), "end_date": _iso(end), "evidence_count": len(details),
                  "compliant_count": sum(d["compliant"] for d in details),
                  "compliant": all(d["compliant"] for d in details)}
        if body.get("include_evidence_details"):
            report["evidence"] = details
        return jsonify(report)

    def compliance_call(name):
        def handler():
            fn = getattr(worm, name, None)
            if fn is None:
                return _error(501, "not_available", f"worm.{name} is not in this libworm build "
                                                    "(it comes with the compliance calls: worm audit/certificate/bucket verify)")
            return jsonify(fn(store_url, **(request.get_json(silent=True) or {})))
        handler.__name__ = f"compliance_{name}"
        return handler

    app.add_url_rule("/v1/compliance/certificate", view_func=compliance_call("issue_certificate"), methods=["POST"])
    app.add_url_rule("/v1/compliance/status", view_func=compliance_call("compliance_status"), methods=["GET"])
    app.add_url_rule("/v1/compliance/bucket/verify", view_func=compliance_call("verify_bucket"), methods=["GET"])
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    create_app().run(host=args.host, port=args.port)
