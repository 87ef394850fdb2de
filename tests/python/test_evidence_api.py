"""examples/python/evidence_api.py (seed 002's REST API on Flask over `import worm`) through a
real HTTP server against moto: a submitted file is stored locked, its presigned download URL
fetches the same bytes, verify and audit report it compliant; the audit also runs worm.audit over
signed EB-*.json bundles in the store (a tampered one is named), the certificate is issued, stored
locked and verifies, and bucket verify / status judge a bucket `worm.setup_bucket` made (pass) and
a plain one (fail). Every call carries the bearer token (none or a wrong one: 401); submissions'
metadata lands in the evidence database (PostgreSQL from Debian's packages for one app, SQLite
for the others), which the audit compares with the uploads both ways; download URLs are signed
with credentials from a shared profile file as well as from the environment; the certificate
names the requested evidence_ids. moto answers 500 to any presigned URL while it checks
signatures (boto3's too, measured), so this server does not check them; worm.presign_url's
signatures are proven against botocore in test_module_sigv4."""

import datetime as dt
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import threading
import unittest
from pathlib import Path

from worm_test_support import (load_tests_unless_missing as load_tests, worm, MotoServer, SOURCE_DIR,  # noqa: F401
                               incident_inputs)

import requests

import postgres_server

TOKEN = "api-token-0f3e"


def _load_example():
    spec = importlib.util.spec_from_file_location("evidence_api", SOURCE_DIR / "examples" / "python" / "evidence_api.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Served:
    """An app on a real HTTP server (werkzeug) on a loopback port."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.http = make_server("127.0.0.1", 0, app, threaded=True)
        self.base = f"http://127.0.0.1:{self.http.server_port}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self):
        self.http.shutdown()
        self.http.server_close()


class EvidenceApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = MotoServer(auth=False).start()
        cls.saved_env = dict(os.environ)
        os.environ.update(cls.moto.env())
        cls.tmp = Path(tempfile.mkdtemp(prefix="worm-evidence-api-"))
        cls.keys = worm.generate_keys(cls.tmp / "keys")
        # Buckets set up for WORM evidence (7 years >= the API's 2555 days). moto over plain http
        # enforces the TLS-only bucket policy on object reads and writes (measured), so the bucket
        # the API writes to goes without it (its verification fails that one check), and
        # "firemode-verified" has the whole setup and no objects.
        worm.setup_bucket("firemode-evidence", retention_years=7, tls_only_policy=False)
        worm.setup_bucket("firemode-verified", retention_years=7)
        cls.example = _load_example()
        cls.pg = postgres_server.PostgresServer().start() if postgres_server.available() else None
        cls.database_url = cls.pg.url() if cls.pg else "sqlite://" + str(cls.tmp / "api.sqlite3")
        cls.served = _Served(cls.example.create_app("s3://firemode-evidence", signing_key=cls.keys.private_key,
                                                    database_url=cls.database_url, api_token=TOKEN))
        cls.verified = _Served(cls.example.create_app("s3://firemode-verified", signing_key=cls.keys.private_key,
                                                      database_url="sqlite://" + str(cls.tmp / "verified.sqlite3"),
                                                      api_token=TOKEN))
        cls.http = requests.Session()
        cls.http.headers["Authorization"] = f"Bearer {TOKEN}"
        cls.base = cls.served.base
        # Two signed bundles from the module's own pipeline, stored locked as an agent would.
        pipeline = worm.EvidencePipeline("clinic-001", evidence_dir=cls.tmp / "evidence",
                                         private_key=cls.keys.private_key)
        store = worm.open_store("s3://firemode-evidence")
        until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2600)
        cls.bundle_keys = []
        for _ in range(2):
            i = incident_inputs()
            bundle, sig = pipeline.process_incident(i["incident"], i["runbook"], i["execution"], i["actions"],
                                                    i["artifacts"])[:2]
            for path in (Path(bundle), Path(sig)):
                key = f"evidence/clinic-001/{path.name}"
                store.put(key, path.read_bytes(), lock_mode="COMPLIANCE", retain_until=until)
            cls.bundle_keys.append(f"evidence/clinic-001/{Path(bundle).name}")
        # One from 2020 whose bytes changed after signing: only an audit of 2020 sees it.
        good = Path(bundle).read_bytes()
        store.put("evidence/clinic-001/EB-20200101-0001.json", good.replace(b"clinic-001", b"clinic-666", 1),
                  lock_mode="COMPLIANCE", retain_until=until)
        store.put("evidence/clinic-001/EB-20200101-0001.sig", Path(sig).read_bytes(), lock_mode="COMPLIANCE",
                  retain_until=until)

    @classmethod
    def tearDownClass(cls):
        cls.served.close()
        cls.verified.close()
        cls.http.close()
        if cls.pg:
            cls.pg.stop()
        cls.moto.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        os.environ.clear()
        os.environ.update(cls.saved_env)

    def submit(self, data=b"photo bytes \x00\x01", **form):
        fields = {"session_id": "session-123", "evidence_type": "photo", "metadata": '{"location": "building-a"}'}
        fields.update(form)
        return self.http.post(f"{self.base}/v1/evidence/submit", data=fields,
                             files={"file": ("extinguisher.jpg", data, "image/jpeg")}, timeout=30)

    def test_submit_download_verify_audit(self):
        data = os.urandom(5000)
        r = self.submit(data)
        self.assertEqual(r.status_code, 201, r.text)
        ev = r.json()
        self.assertEqual(ev["sha256"], hashlib.sha256(data).hexdigest())
        self.assertEqual(ev["lock_mode"], "COMPLIANCE")

        # Stored locked, as boto3 (the reference client) reads it.
        head = self.moto.boto3().head_object(Bucket="firemode-evidence", Key=f"evidence/{ev['evidence_id']}")
        self.assertEqual(head["ObjectLockMode"], "COMPLIANCE")
        self.assertEqual(head["Metadata"]["session-id"], "session-123")

        d = self.http.get(f"{self.base}/v1/evidence/{ev['evidence_id']}/download", timeout=30)
        self.assertEqual(d.status_code, 200, d.text)
        self.assertEqual(d.json()["expires_in"], 900)
        fetched = requests.get(d.json()["download_url"], timeout=30)  # no bearer: the URL is the credential
        self.assertEqual(fetched.status_code, 200, fetched.text)
        self.assertEqual(fetched.content, data)

        v = self.http.get(f"{self.base}/v1/compliance/verify/{ev['evidence_id']}", timeout=30).json()
        self.assertTrue(v["compliant"], v)
        self.assertTrue(v["sha256_matches"])
        self.assertTrue(v["in_database"])

        # The metadata is in the database (read back by psql, the reference client, when it is PostgreSQL).
        row = worm.open_evidence_database(self.database_url).find(ev["evidence_id"])
        self.assertEqual((row["object_key"], row["sha256"], row["session_id"], row["evidence_type"], row["lock_mode"]),
                         (f"evidence/{ev['evidence_id']}", ev["sha256"], "session-123", "photo", "COMPLIANCE"))
        self.assertEqual(row["metadata"], '{"location": "building-a"}')
        stated = dt.datetime.fromisoformat(ev["retain_until"].replace("Z", "+00:00"))
        self.assertLess(abs((row["retain_until"] - stated).total_seconds()), 0.001)  # stores keep milliseconds
        if self.pg:
            self.assertEqual(self.pg.psql(f"SELECT session_id || '|' || evidence_type FROM worm_evidence "
                                          f"WHERE evidence_id = '{ev['evidence_id']}'").strip(), "session-123|photo")

        a = self.http.post(f"{self.base}/v1/compliance/audit", json={
            "start_date": "2000-01-01T00:00:00Z", "end_date": "2100-01-01T00:00:00Z",
            "include_evidence_details": True}, timeout=30).json()
        self.assertGreaterEqual(a["evidence_count"], 1)
        self.assertIn(ev["evidence_id"], [e["evidence_id"] for e in a["evidence"]])
        self.assertTrue(all(e["compliant"] for e in a["evidence"]))
        # worm.audit over the signed bundles: the two good ones are ok, the tampered 2020 one is named.
        self.assertEqual(a["bundle_audit"]["bundles"], 3)
        self.assertEqual(a["bundle_audit"]["bundles_ok"], 2)
        self.assertIn("evidence/clinic-001/EB-20200101-0001.json", [f["key"] for f in a["bundle_audit"]["failures"]])
        self.assertEqual(a["bundle_audit"]["bucket_failed_checks"], ["tls_only_policy"])
        self.assertFalse(a["compliant"])
        self.assertIn("manifest", a["bundle_audit"]["report"])
        # Every upload has its row and every row its upload.
        self.assertGreaterEqual(a["database_check"]["rows"], 1)
        self.assertEqual(a["database_check"]["rows"], a["database_check"]["matched"])
        self.assertEqual(a["database_check"]["failures"], [])
        self.assertNotIn(postgres_server.PostgresServer.PASSWORD, json.dumps(a))

    def test_audit_of_a_clean_period(self):
        today = dt.datetime.now(dt.timezone.utc).date()
        a = self.http.post(f"{self.base}/v1/compliance/audit", json={
            "start_date": f"{today - dt.timedelta(days=1)}T00:00:00Z",
            "end_date": f"{today + dt.timedelta(days=1)}T23:59:59Z"}, timeout=60).json()
        self.assertEqual(a["bundle_audit"]["bundles"], 2, a)
        self.assertEqual(a["bundle_audit"]["bundles_ok"], 2)
        self.assertEqual(a["bundle_audit"]["failures"], [])
        # Every bundle and upload is fine; only the bucket's missing TLS-only policy is not.
        self.assertEqual(a["bundle_audit"]["bucket_failed_checks"], ["tls_only_policy"])
        self.assertFalse(a["bundle_audit"]["clean"])
        self.assertFalse(a["compliant"])
        self.assertNotIn("evidence", a)
        # The fully set-up bucket (no bundles in it) audits clean and compliant.
        v = self.http.post(f"{self.verified.base}/v1/compliance/audit", json={
            "start_date": "2000-01-01T00:00:00Z", "end_date": "2100-01-01T00:00:00Z"}, timeout=60).json()
        self.assertEqual(v["bundle_audit"]["bucket_failed_checks"], [])
        self.assertTrue(v["bundle_audit"]["clean"], v)
        self.assertTrue(v["compliant"], v)
        bad = self.http.post(f"{self.base}/v1/compliance/audit", json={
            "start_date": "2021-01-01T00:00:00Z", "end_date": "2020-01-01T00:00:00Z"}, timeout=30)
        self.assertEqual(bad.status_code, 400)

    def test_certificate_is_issued_stored_locked_and_verifies(self):
        ev = self.submit(b"certified photo").json()
        r = self.http.post(f"{self.base}/v1/compliance/certificate",
                          json={"evidence_ids": [ev["evidence_id"]], "include_audit_summary": True}, timeout=60)
        self.assertEqual(r.status_code, 201, r.text)
        cert = r.json()
        self.assertEqual([e["evidence_id"] for e in cert["evidence"]], [ev["evidence_id"]])
        self.assertEqual(cert["evidence_ids"], [ev["evidence_id"]])
        self.assertTrue(cert["evidence"][0]["compliant"])
        # The audit saw the tampered 2020 bundle (and the bucket without TLS-only policy): not clean.
        self.assertFalse(cert["audit_summary"]["clean"])
        self.assertFalse(cert["clean"])
        # The four files are stored locked; fetched back, they verify with the public key.
        s3 = self.moto.boto3()
        out = self.tmp / "fetched-certificate"
        out.mkdir()
        names = {"json": "certificate.json", "sig": "certificate.sig", "pdf": "certificate.pdf",
                 "pdf_sig": "certificate.pdf.sig", "pdf_signer": "certificate.signer.pem"}
        for field, name in names.items():
            key = f"certificates/{cert['certificate_id']}/{name}"
            self.assertEqual(cert["stored"][field], f"s3://firemode-evidence/{key}")
            self.assertEqual(s3.head_object(Bucket="firemode-evidence", Key=key)["ObjectLockMode"], "COMPLIANCE")
            (out / name).write_bytes(s3.get_object(Bucket="firemode-evidence", Key=key)["Body"].read())
        checked = worm.verify_certificate(out, worm.PublicKey.from_pem(Path(self.keys.public_key).read_text()))
        self.assertTrue(checked["ok"], checked["problems"])
        self.assertEqual(checked["certificate_id"], cert["certificate_id"])
        self.assertTrue(checked["pdf_embedded_signature_valid"])
        # The certificate itself names the evidence asked for, with its hash and lock.
        named = json.loads((out / "certificate.json").read_text())["evidence"]
        self.assertEqual([(e["evidence_id"], e["sha256"], e["lock_mode"], e["compliant"]) for e in named],
                         [(ev["evidence_id"], ev["sha256"], "COMPLIANCE", True)])
        missing = self.http.post(f"{self.base}/v1/compliance/certificate", json={"evidence_ids": ["ev-none"]},
                                timeout=30)
        self.assertEqual(missing.status_code, 404)
        self.assertEqual(self.http.post(f"{self.base}/v1/compliance/certificate", json={"evidence_ids": "x"},
                                       timeout=30).status_code, 400)

    def test_bucket_verify_and_status(self):
        v = self.http.get(f"{self.verified.base}/v1/compliance/bucket/verify", timeout=30).json()
        self.assertEqual(v["bucket"], "firemode-verified")
        self.assertTrue(v["passed"], v)
        self.assertIn("object_lock_enabled", [c["id"] for c in v["checks"]])
        longer = self.http.get(f"{self.verified.base}/v1/compliance/bucket/verify?min_retention_days=5000",
                              timeout=30).json()
        self.assertFalse(longer["passed"])
        self.assertIn("default_retention_period", [c["id"] for c in longer["checks"] if c["status"] == "fail"])
        self.assertEqual(self.http.get(f"{self.base}/v1/compliance/bucket/verify?min_retention_days=x",
                                      timeout=30).status_code, 400)
        st = self.http.get(f"{self.verified.base}/v1/compliance/status", timeout=30).json()
        self.assertEqual(st["status"], "compliant", st)
        self.assertTrue(st["bucket_verification_passed"])
        # The API's own bucket: its uploads are all locked, its policy is the one failed check.
        self.submit(b"status photo")
        st = self.http.get(f"{self.base}/v1/compliance/status", timeout=30).json()
        self.assertEqual(st["status"], "non_compliant")
        self.assertEqual(st["failed_checks"], ["tls_only_policy"])
        self.assertGreaterEqual(st["evidence_count"], 1)
        self.assertEqual(st["evidence_without_lock"], 0)

    def test_plain_bucket_fails_and_no_key_says_so(self):
        self.moto.boto3().create_bucket(Bucket="plain-evidence")
        served = _Served(self.example.create_app("s3://plain-evidence", api_token=TOKEN,
                                                 database_url="sqlite://" + str(self.tmp / "plain.sqlite3")))
        try:
            v = self.http.get(f"{served.base}/v1/compliance/bucket/verify", timeout=30).json()
            self.assertFalse(v["passed"])
            st = self.http.get(f"{served.base}/v1/compliance/status", timeout=30).json()
            self.assertEqual(st["status"], "non_compliant")
            self.assertIn("object_lock_enabled", st["failed_checks"])
            for path, body in (("/v1/compliance/audit", {"start_date": "2000-01-01T00:00:00Z",
                                                         "end_date": "2100-01-01T00:00:00Z"}),
                               ("/v1/compliance/certificate", {"evidence_ids": []})):
                r = self.http.post(served.base + path, json=body, timeout=30)
                self.assertEqual(r.status_code, 503)
                self.assertIn("WORM_SIGNING_KEY", r.json()["message"])
        finally:
            served.close()

    def test_bearer_token_required(self):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            r = requests.get(f"{self.base}/v1/compliance/status", headers=headers, timeout=30)
            self.assertEqual(r.status_code, 401, headers)
            self.assertEqual(r.headers["WWW-Authenticate"], 'Bearer realm="evidence"')
        r = requests.post(f"{self.base}/v1/evidence/submit", data={"session_id": "s", "evidence_type": "photo"},
                          files={"file": ("x.jpg", b"x", "image/jpeg")}, timeout=30)
        self.assertEqual(r.status_code, 401)
        saved = os.environ.pop("WORM_API_TOKEN", None)
        try:
            with self.assertRaises(worm.ConfigError):
                self.example.create_app("s3://firemode-evidence")
        finally:
            if saved is not None:
                os.environ["WORM_API_TOKEN"] = saved

    def test_download_url_from_a_shared_credentials_file(self):
        # An app whose only credentials are a shared profile file (no AWS_ACCESS_KEY_ID): the
        # store and the presigned URL both use them.
        worm.setup_bucket("firemode-profile", retention_years=7, tls_only_policy=False)
        profile = self.tmp / "aws-credentials"
        profile.write_text("[default]\naws_access_key_id = AKIDFROMPROFILE\naws_secret_access_key = profile-secret\n")
        saved = {k: os.environ.pop(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(profile)
        served = None
        try:
            served = _Served(self.example.create_app("s3://firemode-profile", api_token=TOKEN,
                                                     database_url="sqlite://" + str(self.tmp / "profile.sqlite3")))
            ev = self.http.post(f"{served.base}/v1/evidence/submit", data={"session_id": "s", "evidence_type": "photo"},
                                files={"file": ("p.jpg", b"profile photo", "image/jpeg")}, timeout=30).json()
            d = self.http.get(f"{served.base}/v1/evidence/{ev['evidence_id']}/download", timeout=30)
        finally:
            if served:
                served.close()
            os.environ.pop("AWS_SHARED_CREDENTIALS_FILE")
            os.environ.update(saved)
        self.assertEqual(d.status_code, 200, d.text)
        self.assertIn("X-Amz-Credential=AKIDFROMPROFILE%2F", d.json()["download_url"])
        self.assertEqual(requests.get(d.json()["download_url"], timeout=30).content, b"profile photo")

    def test_audit_names_an_upload_without_a_row(self):
        worm.setup_bucket("firemode-rogue", retention_years=7, tls_only_policy=False)
        served = _Served(self.example.create_app("s3://firemode-rogue", signing_key=self.keys.private_key,
                                                 database_url="sqlite://" + str(self.tmp / "rogue.sqlite3"),
                                                 api_token=TOKEN))
        try:
            self.base, saved_base = served.base, self.base
            ev = self.submit(b"recorded photo").json()
            self.base = saved_base
            until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=2600)
            worm.open_store("s3://firemode-rogue").put("evidence/ev-rogue", b"not through the API",
                                                       lock_mode="COMPLIANCE", retain_until=until)
            a = self.http.post(f"{served.base}/v1/compliance/audit", json={
                "start_date": "2000-01-01T00:00:00Z", "end_date": "2100-01-01T00:00:00Z"}, timeout=60).json()
            db = a["database_check"]
            self.assertEqual((db["rows"], db["matched"], db["objects_without_rows"]), (1, 1, 1), db)
            self.assertEqual([(f["key"], f["check"]) for f in db["failures"]], [("evidence/ev-rogue", "db_missing_row")])
            self.assertFalse(a["compliant"])
            v = self.http.get(f"{served.base}/v1/compliance/verify/ev-rogue", timeout=30).json()
            self.assertFalse(v["in_database"])
            self.assertFalse(v["compliant"])
            self.assertTrue(self.http.get(f"{served.base}/v1/compliance/verify/{ev['evidence_id']}",
                                          timeout=30).json()["compliant"])
        finally:
            served.close()

    def test_bad_input_and_unknown_evidence(self):
        self.assertEqual(self.submit(session_id="").status_code, 400)
        self.assertEqual(self.submit(metadata="{not json").status_code, 400)
        self.assertEqual(self.http.get(f"{self.base}/v1/evidence/ev-none/download", timeout=30).status_code, 404)
        self.assertEqual(self.http.get(f"{self.base}/v1/compliance/verify/ev-none", timeout=30).status_code, 404)
        self.assertEqual(self.http.post(f"{self.base}/v1/compliance/audit", json={}, timeout=30).status_code, 400)


if __name__ == "__main__":
    unittest.main()
