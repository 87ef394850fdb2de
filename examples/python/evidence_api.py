#!/usr/bin/env python3
"""The fire-safety platform's evidence REST API (seed 002) on Flask, over `import worm`.

    WORM_EVIDENCE_STORE=s3://evidence-bucket WORM_API_TOKEN=... DATABASE_URL=postgresql://user:pw@db/evidence \
        WORM_RETENTION_DAYS=2555 python3 evidence_api.py --port 8080

Every request needs "Authorization: Bearer <WORM_API_TOKEN>" (401 otherwise); the app refuses to
start without a token. Submissions' metadata (evidence id, key, SHA-256, lock, retain-until,
session_id, evidence_type, the metadata JSON) go to the evidence database (DATABASE_URL:
postgresql://... through libpq, or sqlite:///path; default sqlite:///./evidence-metadata.sqlite3),
table worm_evidence (docs/compliance.md), which `worm audit --database` compares with the store.

Endpoints:
  POST /v1/evidence/submit              multipart form: session_id, evidence_type, file, metadata (JSON)
                                        -> stored write-once (COMPLIANCE until now + retention days)
  GET  /v1/evidence/<id>/download       a presigned GET URL (S3 stores), valid 15 minutes, signed with
                                        the credentials the store uses (environment, profile, container
                                        or instance role: worm.presign_object_url)
  GET  /v1/compliance/verify/<id>       stored SHA-256 and lock checked against the database row
  POST /v1/compliance/audit             {start_date, end_date, include_evidence_details}: every upload's
                                        hash and lock, plus worm.audit of the signed EB-*.json bundles
                                        (signature, hash, schema, lock), the bucket verification, and
                                        the database compared with the uploads both ways
  POST /v1/compliance/certificate       {evidence_ids, include_audit_summary}: worm.issue_certificate
                                        over a fresh audit, naming the requested evidence (id, key,
                                        SHA-256, lock); the certificate (JSON + PDF signed inside, each
                                        with its .sig) is stored locked under certificates/<id>/
  GET  /v1/compliance/status            bucket verification + evidence counts: one overall status
  GET  /v1/compliance/bucket/verify     worm.verify_bucket (?min_retention_days=N, default the retention)
The audit and certificate calls need WORM_SIGNING_KEY (Ed25519 private key PEM); without it they
answer 503 and say so. Bucket calls need an s3:// store (501 otherwise).
Credentials, endpoint and region come from the standard AWS_* variables, as for every libworm store.
"""

import argparse
import datetime as dt
import hashlib
import hmac
import json
import os
import tempfile
import uuid
from pathlib import Path

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


def _date(body, name):
    return dt.datetime.fromisoformat(body[name].replace("Z", "+00:00"))


def create_app(store_url=None, signing_key=None, database_url=None, api_token=None):
    store_url = store_url or os.environ["WORM_EVIDENCE_STORE"]
    signing_key = signing_key or os.environ.get("WORM_SIGNING_KEY")
    api_token = api_token or os.environ.get("WORM_API_TOKEN")
    if not api_token:
        raise worm.ConfigError("evidence_api needs WORM_API_TOKEN (the bearer token clients send)", "config")
    database_url = database_url or os.environ.get("DATABASE_URL") or \
        "sqlite://" + str(Path("evidence-metadata.sqlite3").resolve())
    database = worm.open_evidence_database(database_url)
    database.create_schema()
    store = worm.open_store(store_url)
    bucket, _, store_prefix = store_url[5:].partition("/") if store_url.startswith("s3://") else (None, "", "")
    app = Flask(__name__)
    expected = ("Bearer " + api_token).encode()

    @app.before_request
    def require_bearer_token():
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            response = jsonify({"error": "unauthorized", "message": "send Authorization: Bearer <token>"})
            response.status_code = 401
            response.headers["WWW-Authenticate"] = 'Bearer realm="evidence"'
            return response
        return None

    def signer_or_none():
        return worm.Signer(signing_key) if signing_key else None

    def no_signer():
        return _error(503, "not_configured", "audits and certificates need WORM_SIGNING_KEY (an Ed25519 private key PEM)")

    def no_bucket():
        return _error(501, "not_available", "bucket verification needs an s3:// store")

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
        # The metadata itself goes to the database; `worm audit --database` holds it against the store
        # (an insert that fails after the locked PUT leaves an object without a row: the audit names it).
        database.insert(evidence_id=evidence_id, object_key=_key(evidence_id), sha256=sha, retain_until=until,
                        lock_mode="COMPLIANCE", version_id=put.get("version_id") or "", session_id=session_id,
                        evidence_type=evidence_type, metadata=extra)
        return jsonify({"evidence_id": evidence_id, "uri": store.uri(_key(evidence_id)),
                        "version_id": put.get("version_id"), "sha256": sha, "lock_mode": "COMPLIANCE",
                        "retain_until": _iso(until)}), 201

    @app.get("/v1/evidence/<evidence_id>/download")
    def download(evidence_id):
        if head_or_none(evidence_id) is None:
            return _error(404, "not_found", f"no evidence {evidence_id}")
        if not store_url.startswith("s3://"):
            return _error(501, "not_available", "presigned URLs need an s3:// store")
        key = (store_prefix.strip("/") + "/" if store_prefix.strip("/") else "") + _key(evidence_id)
        url = worm.presign_object_url(bucket, key, expires=PRESIGN_SECONDS)
        return jsonify({"evidence_id": evidence_id, "download_url": url, "expires_in": PRESIGN_SECONDS})

    def verify_one(evidence_id, info):
        row = database.find(evidence_id)
        recorded = row["sha256"] if row else info["metadata"].get("sha256", "")
        stored = info.get("sha256") or hashlib.sha256(store.get(_key(evidence_id))).hexdigest()
        retain_until = info.get("retain_until")
        locked = info.get("lock_mode") == "COMPLIANCE" and retain_until is not None and retain_until > _now()
        return {"evidence_id": evidence_id, "object_key": _key(evidence_id), "in_database": row is not None,
                "sha256": stored, "sha256_matches": stored == recorded,
                "lock_mode": info.get("lock_mode"), "retain_until": _iso(retain_until),
                "legal_hold": info.get("legal_hold"), "compliant": locked and stored == recorded and row is not None}

    @app.get("/v1/compliance/verify/<evidence_id>")
    def verify(evidence_id):
        info = head_or_none(evidence_id)
        if info is None:
            return _error(404, "not_found", f"no evidence {evidence_id}")
        return jsonify(verify_one(evidence_id, info))

    def uploads_between(start, end):
        """verify_one for every upload (the API's own evidence/ev-* objects) stored in [start, end]."""
        out = []
        for obj in store.list_all("evidence/ev-"):
            info = store.head(obj["key"])
            if start <= info["last_modified"] <= end:
                out.append(verify_one(obj["key"][len("evidence/"):], info))
        return out

    def bundle_audit(signer, start=None, end=None):
        """worm.audit of the signed EB-*.json bundles under evidence/ (and the bucket, for s3://)."""
        return worm.audit(signer.public_key(), store=store_url, prefix="evidence/", from_=start, to=end,
                          min_retention_days=min(RETENTION_DAYS, 36500), verify_bucket=bucket is not None)

    def database_check(signer, start, end):
        """The database against the API's uploads (evidence/ev-*) both ways: worm.audit with the database."""
        report = worm.audit(signer.public_key(), store=store_url, prefix="evidence/ev-", from_=start, to=end,
                            verify_bucket=False, database=database_url).report()
        return {**report["database"], "failures": [f for f in report["failures"] if f["check"].startswith("db_")]}

    def audit_summary(report):
        bucket_checks = (report.report().get("bucket_verification") or {}).get("checks", [])
        return {"clean": report.clean, "bundles": report.bundles, "bundles_ok": report.bundles_ok,
                "failures": [{"key": f.key, "check": f.check, "reason": f.reason} for f in report.failures],
                "manifest_sha256": report.manifest_sha256,
                "bucket_failed_checks": [c["id"] for c in bucket_checks if c["status"] == "fail"]}

    @app.post("/v1/compliance/audit")
    def audit():
        body = request.get_json(silent=True) or {}
        try:
            start, end = _date(body, "start_date"), _date(body, "end_date")
        except (KeyError, ValueError, AttributeError):
            return _error(400, "bad_request", "start_date and end_date (RFC 3339) are required")
        if start > end:
            return _error(400, "bad_request", "start_date is after end_date")
        signer = signer_or_none()
        if signer is None:
            return no_signer()
        details = uploads_between(start, end)
        bundles = bundle_audit(signer, start, end)
        db = database_check(signer, start, end)
        report = {"start_date": _iso(start), "end_date": _iso(end), "evidence_count": len(details),
                  "compliant_count": sum(d["compliant"] for d in details),
                  "bundle_audit": audit_summary(bundles), "database_check": db,
                  "compliant": all(d["compliant"] for d in details) and bundles.clean and not db["failures"]}
        if body.get("include_evidence_details"):
            report["evidence"] = details
            report["bundle_audit"]["report"] = bundles.report()
        return jsonify(report)

    @app.post("/v1/compliance/certificate")
    def certificate():
        body = request.get_json(silent=True) or {}
        ids = body.get("evidence_ids", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
            return _error(400, "bad_request", "evidence_ids must be a list of evidence ids")
        signer = signer_or_none()
        if signer is None:
            return no_signer()
        evidence = []
        for evidence_id in ids:
            info = head_or_none(evidence_id)
            if info is None:
                return _error(404, "not_found", f"no evidence {evidence_id}")
            evidence.append(verify_one(evidence_id, info))
        report = bundle_audit(signer)
        with tempfile.TemporaryDirectory(prefix="worm-certificate-") as tmp:
            issued = worm.issue_certificate(report.write(Path(tmp) / "audit"), signer, Path(tmp) / "certificate",
                                            evidence=evidence)
            # The certificate itself is evidence: stored write-once beside what it attests.
            until = _now() + dt.timedelta(days=RETENTION_DAYS)
            stored = {}
            for field in ("json", "sig", "pdf", "pdf_sig", "pdf_signer"):
                path = Path(issued[field])
                key = f"certificates/{issued['certificate_id']}/{path.name}"
                store.put(key, path.read_bytes(), lock_mode="COMPLIANCE", retain_until=until, if_none_match=True)
                stored[field] = store.uri(key)
        result = {"certificate_id": issued["certificate_id"], "evidence_ids": ids,
                  "clean": issued["clean"] and all(e["compliant"] for e in evidence),
                  "key_fingerprint": issued["key_fingerprint"], "evidence": evidence, "stored": stored}
        if body.get("include_audit_summary"):
            result["audit_summary"] = audit_summary(report)
        return jsonify(result), 201

    def bucket_verification(min_days):
        return worm.verify_bucket(bucket, min_retention_days=min_days, mode="COMPLIANCE")

    @app.get("/v1/compliance/bucket/verify")
    def bucket_verify():
        if bucket is None:
            return no_bucket()
        try:
            min_days = int(request.args.get("min_retention_days", min(RETENTION_DAYS, 36500)))
        except ValueError:
            return _error(400, "bad_request", "min_retention_days must be a whole number")
        try:
            v = bucket_verification(min_days)
        except worm.InputError as e:
            return _error(400, "bad_request", str(e))
        return jsonify(json.loads(v.to_json()))

    @app.get("/v1/compliance/status")
    def status():
        if bucket is None:
            return no_bucket()
        v = bucket_verification(min(RETENTION_DAYS, 36500))
        uploads = unlocked = 0
        for obj in store.list_all("evidence/ev-"):
            uploads += 1
            info = store.head(obj["key"])
            retain_until = info.get("retain_until")
            unlocked += info.get("lock_mode") != "COMPLIANCE" or retain_until is None or retain_until <= _now()
        compliant = v.passed and unlocked == 0
        return jsonify({"status": "compliant" if compliant else "non_compliant", "checked_at": _iso(_now()),
                        "bucket": bucket, "bucket_verification_passed": v.passed, "failed_checks": v.failed_ids,
                        "evidence_count": uploads, "evidence_without_lock": unlocked,
                        "retention_days": RETENTION_DAYS})

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    create_app().run(host=args.host, port=args.port)
