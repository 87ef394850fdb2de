"""examples/python/evidence_api.py (seed 002's REST API on Flask over `import worm`) through a
real HTTP server against moto: a submitted file is stored locked, its presigned download URL
fetches the same bytes, verify and audit report it compliant; the audit also runs worm.audit over
signed EB-*.json bundles in the store (a tampered one is named), the certificate is issued, stored
locked and verifies, and bucket verify / status judge a bucket `worm.setup_bucket` made (pass) and
a plain one (fail). moto answers 500 to any presigned URL while it checks
signatures (boto3's too, measured), so this server does not check them; worm.presign_url's
signatures are proven against botocore in test_module_sigv4."""

import datetime as dt
import hashlib
import importlib.util
import os
import shutil
import tempfile
import threading
import unittest
from pathlib import Path

from worm_test_support import (load_tests_unless_missing as load_tests, worm, MotoServer, SOURCE_DIR,  # noqa: F401
                               incident_inputs)

import requests


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
        cls.served = _Served(cls.example.create_app("s3://firemode-evidence", signing_key=cls.keys.private_key))
        cls.verified = _Served(cls.example.create_app("s3://firemode-verified", signing_key=cls.keys.private_key))
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
        cls.moto.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        os.environ.clear()
        os.environ.update(cls.saved_env)

    def submit(self, data=b"photo bytes \x00\x01", **form):
        fields = {"session_id": "session-123", "evidence_type": "photo", "metadata": '{"location": "building-a"}'}
        fields.update(form)
        return requests.post(f"{self.base}/v1/evidence/submit", data=fields,
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

        d = requests.get(f"{self.base}/v1/evidence/{ev['evidence_id']}/download", timeout=30)
        self.assertEqual(d.status_code, 200, d.text)
        self.assertEqual(d.json()["expires_in"], 900)
        fetched = requests.get(d.json()["download_url"], timeout=30)
        self.assertEqual(fetched.status_code, 200, fetched.text)
        self.assertEqual(fetched.content, data)

        v = requests.get(f"{self.base}/v1/compliance/verify/{ev['evidence_id']}", timeout=30).json()
        self.assertTrue(v["compliant"], v)
        self.assertTrue(v["sha256_matches"])

        a = requests.post(f"{self.base}/v1/compliance/audit", json={
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

    def test_audit_of_a_clean_period(self):
        today = dt.datetime.now(dt.timezone.utc).date()
        a = requests.post(f"{self.base}/v1/compliance/audit", json={
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
        v = requests.post(f"{self.verified.base}/v1/compliance/audit", json={
            "start_date": "2000-01-01T00:00:00Z", "end_date": "2100-01-01T00:00:00Z"}, timeout=60).json()
        self.assertEqual(v["bundle_audit"]["bucket_failed_checks"], [])
        self.assertTrue(v["bundle_audit"]["clean"], v)
        self.assertTrue(v["compliant"], v)
        bad = requests.post(f"{self.base}/v1/compliance/audit", json={
            "start_date": "2021-01-01T00:00:00Z", "end_date": "2020-01-01T00:00:00Z"}, timeout=30)
        self.assertEqual(bad.status_code, 400)

    def test_certificate_is_issued_stored_locked_and_verifies(self):
        ev = self.submit(b"certified photo").json()
        r = requests.post(f"{self.base}/v1/compliance/certificate",
                          json={"evidence_ids": [ev["evidence_id"]], "include_audit_summary": True}, timeout=60)
        self.assertEqual(r.status_code, 201, r.text)
        cert = r.json()
        self.assertEqual([e["evidence_id"] for e in cert["evidence"]], [ev["evidence_id"]])
        self.assertTrue(cert["evidence"][0]["compliant"])
        # The audit saw the tampered 2020 bundle (and the bucket without TLS-only policy): not clean.
        self.assertFalse(cert["audit_summary"]["clean"])
        self.assertFalse(cert["clean"])
        # The four files are stored locked; fetched back, they verify with the public key.
        s3 = self.moto.boto3()
        out = self.tmp / "fetched-certificate"
        out.mkdir()
        names = {"json": "certificate.json", "sig": "certificate.sig", "pdf": "certificate.pdf",
                 "pdf_sig": "certificate.pdf.sig"}
        for field, name in names.items():
            key = f"certificates/{cert['certificate_id']}/{name}"
            self.assertEqual(cert["stored"][field], f"s3://firemode-evidence/{key}")
            self.assertEqual(s3.head_object(Bucket="firemode-evidence", Key=key)["ObjectLockMode"], "COMPLIANCE")
            (out / name).write_bytes(s3.get_object(Bucket="firemode-evidence", Key=key)["Body"].read())
        checked = worm.verify_certificate(out, worm.PublicKey.from_pem(Path(self.keys.public_key).read_text()))
        self.assertTrue(checked["ok"], checked["problems"])
        self.assertEqual(checked["certificate_id"], cert["certificate_id"])
        missing = requests.post(f"{self.base}/v1/compliance/certificate", json={"evidence_ids": ["ev-none"]},
                                timeout=30)
        self.assertEqual(missing.status_code, 404)
        self.assertEqual(requests.post(f"{self.base}/v1/compliance/certificate", json={"evidence_ids": "x"},
                                       timeout=30).status_code, 400)

    def test_bucket_verify_and_status(self):
        v = requests.get(f"{self.verified.base}/v1/compliance/bucket/verify", timeout=30).json()
        self.assertEqual(v["bucket"], "firemode-verified")
        self.assertTrue(v["passed"], v)
        self.assertIn("object_lock_enabled", [c["id"] for c in v["checks"]])
        longer = requests.get(f"{self.verified.base}/v1/compliance/bucket/verify?min_retention_days=5000",
                              timeout=30).json()
        self.assertFalse(longer["passed"])
        self.assertIn("default_retention_period", [c["id"] for c in longer["checks"] if c["status"] == "fail"])
        self.assertEqual(requests.get(f"{self.base}/v1/compliance/bucket/verify?min_retention_days=x",
                                      timeout=30).status_code, 400)
        st = requests.get(f"{self.verified.base}/v1/compliance/status", timeout=30).json()
        self.assertEqual(st["status"], "compliant", st)
        self.assertTrue(st["bucket_verification_passed"])
        # The API's own bucket: its uploads are all locked, its policy is the one failed check.
        self.submit(b"status photo")
        st = requests.get(f"{self.base}/v1/compliance/status", timeout=30).json()
        self.assertEqual(st["status"], "non_compliant")
        self.assertEqual(st["failed_checks"], ["tls_only_policy"])
        self.assertGreaterEqual(st["evidence_count"], 1)
        self.assertEqual(st["evidence_without_lock"], 0)

    def test_plain_bucket_fails_and_no_key_says_so(self):
        self.moto.boto3().create_bucket(Bucket="plain-evidence")
        served = _Served(self.example.create_app("s3://plain-evidence"))
        try:
            v = requests.get(f"{served.base}/v1/compliance/bucket/verify", timeout=30).json()
            self.assertFalse(v["passed"])
            st = requests.get(f"{served.base}/v1/compliance/status", timeout=30).json()
            self.assertEqual(st["status"], "non_compliant")
            self.assertIn("object_lock_enabled", st["failed_checks"])
            for path, body in (("/v1/compliance/audit", {"start_date": "2000-01-01T00:00:00Z",
                                                         "end_date": "2100-01-01T00:00:00Z"}),
                               ("/v1/compliance/certificate", {"evidence_ids": []})):
                r = requests.post(served.base + path, json=body, timeout=30)
                self.assertEqual(r.status_code, 503)
                self.assertIn("WORM_SIGNING_KEY", r.json()["message"])
        finally:
            served.close()

    def test_bad_input_and_unknown_evidence(self):
        self.assertEqual(self.submit(session_id="").status_code, 400)
        self.assertEqual(self.submit(metadata="{not json").status_code, 400)
        self.assertEqual(requests.get(f"{self.base}/v1/evidence/ev-none/download", timeout=30).status_code, 404)
        self.assertEqual(requests.get(f"{self.base}/v1/compliance/verify/ev-none", timeout=30).status_code, 404)
        self.assertEqual(requests.post(f"{self.base}/v1/compliance/audit", json={}, timeout=30).status_code, 400)


if __name__ == "__main__":
    unittest.main()
