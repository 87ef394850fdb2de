"""Cosign evidence (seed 003): keys in cosign's encrypted format, X.json.bundle in both
forms, verified by worm verify / worm audit / worm.verify_file offline, and bundles
written by libworm accepted by @sigstore/verify 3.0.0 (npm).

The fixtures are made independently of libworm (tests/python/cosign_support.py:
cryptography's scrypt and P-256, a pure-Python NaCl secretbox)."""

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from cosign_support import (SigstoreVerifyJs, cosign_v2_bundle, cosign_v3_bundle, encrypt_cosign_private_key,
                            key_hint, write_cosign_key_pair)
from worm_test_support import SOURCE_DIR, MotoEnvCase, incident_inputs, load_tests_unless_missing, worm, worm_cli

load_tests = load_tests_unless_missing

PASSWORD = "production-password"


def run_cli(*args, env=None):
    return subprocess.run([worm_cli(), *map(str, args)], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **(env or {})))


class CosignCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="worm-cosign-"))
        cls.key_path, cls.pub_path, cls.private_key = write_cosign_key_pair(cls.tmp / "signing-keys", PASSWORD)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def make_evidence(self, directory, count):
        """count libworm bundles (signed X.sig) in directory; returns their paths and the
        Ed25519 public key."""
        pipeline = worm.EvidencePipeline("clinic-001", evidence_dir=directory, durable=False)
        paths = [pipeline.process_incident(**incident_inputs())[0] for _ in range(count)]
        return paths, pipeline.public_key_path


class TestCosignKeys(CosignCase):
    def test_loads_cosign_key_with_cosign_password(self):
        old = os.environ.get("COSIGN_PASSWORD")
        os.environ["COSIGN_PASSWORD"] = PASSWORD
        try:
            signer = worm.CosignSigner(self.key_path)
        finally:
            if old is None:
                del os.environ["COSIGN_PASSWORD"]
            else:
                os.environ["COSIGN_PASSWORD"] = old
        self.assertEqual(signer.public_key().algorithm(), "ECDSA P-256")
        self.assertEqual(signer.public_key().to_pem(), self.pub_path.read_text())
        self.assertEqual(signer.public_key().hint(), key_hint(self.private_key.public_key()))
        # The signature is a DER ECDSA P-256 / SHA-256 signature cryptography accepts.
        signature = signer.sign(b"evidence bytes")
        self.private_key.public_key().verify(signature, b"evidence bytes", ec.ECDSA(hashes.SHA256()))

    def test_older_pem_type_and_explicit_password(self):
        path = self.tmp / "old-cosign.key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(encrypt_cosign_private_key(self.private_key, "pw", pem_type="ENCRYPTED COSIGN PRIVATE KEY"))
        self.assertEqual(worm.CosignSigner(path, password="pw").public_key().to_pem(), self.pub_path.read_text())

    def test_ed25519_key_in_cosign_format_signs_and_verifies(self):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        ed = Ed25519PrivateKey.generate()
        path, pub = self.tmp / "ed.key", self.tmp / "ed.pub"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(encrypt_cosign_private_key(ed, "pw"))
        pub.write_bytes(ed.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
        [bundle], _ = self.make_evidence(self.tmp / "ed-evidence", 1)
        signer = worm.CosignSigner(path, password="pw")
        self.assertEqual(signer.public_key().algorithm(), "Ed25519")
        sig = Path(signer.sign_file(bundle))
        ed.public_key().verify(base64.b64decode(json.loads(sig.read_text())["messageSignature"]["signature"]),
                               bundle.read_bytes())
        report = worm.verification_report(bundle, sig, pub)
        self.assertTrue(report["ok"], report["summary"])
        self.assertFalse(worm.verification_report(bundle, sig, self.pub_path)["signature_valid"])

    def test_wrong_password_is_a_crypto_error_without_the_password(self):
        with self.assertRaises(worm.CryptoError) as ctx:
            worm.CosignSigner(self.key_path, password="not-the-password-xyz")
        self.assertIn("wrong password", str(ctx.exception))
        self.assertNotIn("not-the-password-xyz", str(ctx.exception))

    def test_no_password_is_a_config_error(self):
        env = {k: v for k, v in os.environ.items() if k != "COSIGN_PASSWORD"}
        r = subprocess.run([worm_cli(), "sign", "--cosign-key", str(self.key_path), str(self.pub_path)],
                           capture_output=True, text=True, env=env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("COSIGN_PASSWORD", r.stderr)

    def test_key_readable_by_others_is_refused(self):
        path = self.tmp / "loose.key"
        shutil.copy(self.key_path, path)
        os.chmod(path, 0o644)
        with self.assertRaises(worm.ConfigError) as ctx:
            worm.CosignSigner(path, password=PASSWORD)
        self.assertIn("chmod 400", str(ctx.exception))

    def test_damaged_envelope_is_named(self):
        good = json.loads(base64.b64decode("".join(self.key_path.read_text().splitlines()[1:-1])))
        huge = json.loads(json.dumps(good))
        huge["kdf"]["params"]["N"] = 1 << 20  # 1 GiB of scrypt memory: refused, not attempted
        cases = [({"kdf": {"name": "pbkdf2"}}, "cipher"), (huge, "out of range"),
                 ({**good, "ciphertext": "AAAA"}, "too short")]
        for number, (envelope, says) in enumerate(cases):
            path = self.tmp / f"damaged-{number}.key"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            body = base64.b64encode(json.dumps(envelope).encode()).decode()
            with os.fdopen(fd, "w") as f:
                f.write(f"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{body}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
            with self.subTest(says=says), self.assertRaises(worm.WormError) as ctx:
                worm.CosignSigner(path, password=PASSWORD)
            self.assertIn(says, str(ctx.exception))

    def test_public_key_of_another_curve_is_refused(self):
        from cryptography.hazmat.primitives import serialization
        p384 = ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        with self.assertRaises(worm.CryptoError) as ctx:
            worm.CosignPublicKey.from_pem(p384)
        self.assertIn("P-256", str(ctx.exception))


class TestCosignSigning(CosignCase):
    def test_sign_file_is_accepted_by_sigstore_verify(self):
        verifier = SigstoreVerifyJs()
        if not verifier.available:
            self.skipTest(verifier.why)
        directory = self.tmp / "signed"
        [bundle], _ = self.make_evidence(directory, 1)
        signer = worm.CosignSigner(self.key_path, password=PASSWORD)
        sig = Path(signer.sign_file(bundle))
        self.assertEqual(sig.name, bundle.name + ".bundle")
        self.assertEqual(oct(sig.stat().st_mode & 0o777), "0o644")
        ok, out = verifier.verify(sig, bundle, self.pub_path)
        self.assertTrue(ok, out)
        # The independent check of the signature itself, with cryptography.
        doc = json.loads(sig.read_text())
        self.assertEqual(doc["verificationMaterial"]["tlogEntries"], [])
        self.private_key.public_key().verify(base64.b64decode(doc["messageSignature"]["signature"]),
                                             bundle.read_bytes(), ec.ECDSA(hashes.SHA256()))
        # Another file's bytes: @sigstore/verify refuses.
        other = directory / "other.json"
        other.write_bytes(bundle.read_bytes().replace(b"clinic-001", b"clinic-002"))
        ok, out = verifier.verify(sig, other, self.pub_path)
        self.assertFalse(ok, out)
        # Signing again keeps the bundle (it already signs this file); another file's
        # bundle in its place is never replaced.
        self.assertEqual(Path(signer.sign_file(bundle)).read_text(), sig.read_text())
        shutil.copy(sig, str(other) + ".bundle")
        with self.assertRaises(worm.WormError):
            signer.sign_file(other)

    def test_cli_bundle_with_cosign_key(self):
        evidence = self.tmp / "bundle-cli"
        data = SOURCE_DIR / "examples" / "data" / "backup-success"
        args = ["bundle", "--client-id", "clinic-001", "--evidence-dir", evidence, "--key", evidence / "keys" / "private.pem",
                "--cosign-key", self.key_path]
        for section in ("incident", "runbook", "execution", "actions", "artifacts"):
            args += [f"--{section}", data / f"{section}.json"]
        self.assertEqual(run_cli("keygen", "--out", evidence / "keys").returncode, 0)
        # A wrong password: refused before anything is written.
        r = run_cli(*args, env={"COSIGN_PASSWORD": "wrong"})
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(list(evidence.glob("EB-*")), [])
        r = run_cli(*args, env={"COSIGN_PASSWORD": PASSWORD})
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        self.assertEqual(out["cosign_bundle_path"], out["bundle_path"] + ".bundle")
        self.assertEqual(run_cli("verify", "--key", self.pub_path, out["bundle_path"], out["cosign_bundle_path"]).returncode, 0)
        self.assertEqual(run_cli("verify", "--key", evidence / "keys" / "public.pem", out["bundle_path"]).returncode, 0)

    def test_cli_sign_then_verify(self):
        directory = self.tmp / "cli"
        [bundle], _ = self.make_evidence(directory, 1)
        r = run_cli("sign", "--cosign-key", self.key_path, bundle, env={"COSIGN_PASSWORD": PASSWORD})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), [{"file": str(bundle), "bundle": str(bundle) + ".bundle"}])
        Path(str(bundle)[:-5] + ".sig").unlink()  # only the cosign bundle is left
        r = run_cli("verify", "--key", self.pub_path, bundle)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("cosign-bundle-v0.3", r.stdout)
        r = run_cli("sign", "--cosign-key", self.key_path, bundle, env={"COSIGN_PASSWORD": "wrong"})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("wrong password", r.stderr)


class TestCosignVerification(CosignCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="ev-", dir=self.tmp))
        [self.bundle], _ = self.make_evidence(self.dir, 1)
        Path(str(self.bundle)[:-5] + ".sig").unlink()
        self.sig = Path(str(self.bundle) + ".bundle")

    def test_cosign3_bundle_with_a_rekor_entry(self):
        self.sig.write_text(cosign_v3_bundle(self.private_key, self.bundle.read_bytes()))
        report = worm.verification_report(self.bundle, None, self.pub_path)
        self.assertTrue(report["ok"], report["summary"])
        self.assertEqual(report["signature_format"], "cosign-bundle-v0.3")
        self.assertEqual(Path(report["signature_path"]), self.sig)
        self.assertTrue(any("transparency-log" in n and "not checked" in n for n in report["notes"]), report["notes"])
        self.assertTrue(worm.verify_file(self.bundle, self.sig, self.pub_path))
        r = run_cli("verify", "--key", self.pub_path, self.bundle, self.sig)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("not checked", r.stdout)

    def test_cosign2_bundle(self):
        self.sig.write_text(cosign_v2_bundle(self.private_key, self.bundle.read_bytes()))
        report = worm.verification_report(self.bundle, self.sig, self.pub_path)
        self.assertTrue(report["ok"], report["summary"])
        self.assertEqual(report["signature_format"], "cosign-bundle-v2")
        self.assertEqual(len(report["notes"]), 1)

    def test_tampered_bundle_fails_in_every_form(self):
        for make in (cosign_v2_bundle, cosign_v3_bundle):
            with self.subTest(form=make.__name__):
                original = self.bundle.read_bytes()
                self.sig.write_text(make(self.private_key, original))
                self.bundle.write_bytes(original.replace(b"clinic-001", b"clinic-00X"))
                try:
                    with self.assertRaises(worm.VerificationError) as ctx:
                        worm.verify_file(self.bundle, self.sig, self.pub_path)
                    self.assertEqual(ctx.exception.reason, "signature_invalid")
                    r = run_cli("verify", "--key", self.pub_path, self.bundle)
                    self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
                    self.assertIn("signature: INVALID", r.stdout)
                finally:
                    self.bundle.write_bytes(original)

    def test_another_key_and_garbage_are_refused(self):
        other = ec.generate_private_key(ec.SECP256R1())
        self.sig.write_text(cosign_v3_bundle(other, self.bundle.read_bytes()))
        self.assertIn("another key", worm.verification_report(self.bundle, self.sig, self.pub_path)["summary"])
        for text, says in (("not json", "JSON"), ('{"x": 1}', "neither"),
                           ('{"base64Signature": "!!"}', "base64"),
                           ('{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "dsseEnvelope": {}}', "DSSE")):
            self.sig.write_text(text)
            report = worm.verification_report(self.bundle, self.sig, self.pub_path)
            self.assertFalse(report["signature_valid"])
            self.assertIn(says, report["summary"])

    def test_missing_key_file_is_not_found(self):
        self.sig.write_text(cosign_v2_bundle(self.private_key, self.bundle.read_bytes()))
        with self.assertRaises(worm.NotFoundError):
            worm.verify_file(self.bundle, self.sig, self.tmp / "nope.pub")
        r = run_cli("verify", "--key", self.tmp / "nope.pub", self.bundle)
        self.assertEqual(r.returncode, 2, r.stderr)


class TestMixedAudit(CosignCase):
    def test_audit_over_ed25519_and_cosign_evidence(self):
        directory = self.tmp / "mixed"
        paths, ed_pub = self.make_evidence(directory, 4)
        # Two bundles as the agents left them: only cosign's X.json.bundle (v3 and v2 forms).
        for path, make in zip(paths[:2], (cosign_v3_bundle, cosign_v2_bundle)):
            Path(str(path)[:-5] + ".sig").unlink()
            Path(str(path) + ".bundle").write_text(make(self.private_key, path.read_bytes()))
        out = self.tmp / "audit-mixed"
        r = run_cli("audit", "--dir", directory, "--key", ed_pub, "--cosign-key", self.pub_path, "--out", out)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        report = json.loads((out / "report.json").read_text())
        self.assertEqual(report["inventory"]["bundles_ok"], 4)
        keys = sorted(b["signature_key"] for b in report["bundles"])
        self.assertEqual(sum(k.endswith(".json.bundle") for k in keys), 2)
        self.assertEqual(sum(k.endswith(".sig") for k in keys), 2)

        # Python's audit, with the key as a CosignPublicKey.
        py_report = worm.audit(worm.PublicKey.from_file(ed_pub), directory=directory,
                               cosign_public_key=worm.CosignPublicKey.from_file(self.pub_path))
        self.assertTrue(py_report.clean, [f.reason for f in py_report.failures])
        self.assertEqual(py_report.bundles_ok, 4)

        # Without the cosign key the cosign bundles are signature failures, named as such.
        r = run_cli("audit", "--dir", directory, "--key", ed_pub, "--out", self.tmp / "audit-nokey")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(r.stdout.count("--cosign-key"), 2)

        # A tampered cosign-signed bundle fails; a cosign bundle whose .json is gone is an orphan.
        tampered = paths[0].read_bytes().replace(b"clinic-001", b"clinic-00X")
        paths[0].write_bytes(tampered)
        shutil.move(str(paths[1]), self.tmp / "moved.json")
        r = run_cli("audit", "--dir", directory, "--key", ed_pub, "--cosign-key", self.pub_path, "--out",
                    self.tmp / "audit-bad")
        self.assertEqual(r.returncode, 1)
        self.assertIn(paths[0].name + ": signature:", r.stdout)
        self.assertIn(paths[1].name + ".bundle: orphan_signature", r.stdout)


class TestCosignAuditOnS3(MotoEnvCase):
    """The agents' evidence stored write-once in S3 (moto), as their uploader stores it:
    X.json and X.json.bundle locked in COMPLIANCE mode, beside libworm's X.json and X.sig.
    `worm audit --store s3://...` checks both kinds."""
    auth = False

    def test_audit_store_with_cosign_and_ed25519_evidence(self):
        from datetime import datetime, timedelta, timezone
        tmp = Path(tempfile.mkdtemp(prefix="worm-cosign-s3-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        _, cosign_pub, cosign_private = write_cosign_key_pair(tmp / "keys", PASSWORD)
        pipeline = worm.EvidencePipeline("clinic-001", evidence_dir=tmp / "evidence", durable=False)
        paths = [pipeline.process_incident(**incident_inputs())[0] for _ in range(2)]
        s3 = self.server.boto3()
        until = datetime.now(timezone.utc) + timedelta(days=100)

        def put(key, body):
            s3.put_object(Bucket=self.bucket, Key=key, Body=body, ObjectLockMode="COMPLIANCE",
                          ObjectLockRetainUntilDate=until)

        cosign_path, libworm_path = paths
        put("evidence/clinic-001/" + cosign_path.name, cosign_path.read_bytes())
        put("evidence/clinic-001/" + cosign_path.name + ".bundle",
            cosign_v3_bundle(cosign_private, cosign_path.read_bytes()).encode())
        put("evidence/clinic-001/" + libworm_path.name, libworm_path.read_bytes())
        put("evidence/clinic-001/" + libworm_path.name[:-5] + ".sig",
            Path(str(libworm_path)[:-5] + ".sig").read_bytes())

        def audit(*extra):
            return run_cli("audit", "--store", f"s3://{self.bucket}", "--prefix", "evidence/", "--key",
                           pipeline.public_key_path, "--no-bucket-checks", "--out", tmp / f"audit{len(extra)}", *extra)

        r = audit("--cosign-key", cosign_pub)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("clean: 2 bundles", r.stdout)
        r = audit()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn(cosign_path.name + ": signature:", r.stdout)


if __name__ == "__main__":
    unittest.main()
