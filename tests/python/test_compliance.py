"""worm.audit, worm.issue_certificate, worm.verify_certificate and Sigstore bundles from
Python, over a local evidence directory made by the module's own pipeline; the signatures
are checked independently with cryptography."""

import base64
import json
import os
import shutil
import tempfile
import unittest
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from worm_test_support import load_tests_unless_missing as load_tests, worm, incident_inputs


class Compliance(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="worm-py-compliance-"))
        self.keys = worm.generate_keys(self.dir / "keys")
        self.evidence = self.dir / "evidence"
        pipeline = worm.EvidencePipeline("clinic-001", evidence_dir=self.evidence,
                                         private_key=self.keys.private_key)
        self.bundles = []
        for _ in range(3):
            i = incident_inputs()
            self.bundles.append(pipeline.process_incident(i["incident"], i["runbook"], i["execution"],
                                                          i["actions"], i["artifacts"]))
        self.public_key = worm.PublicKey.from_pem(Path(self.keys.public_key).read_text())

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_audit_clean_then_names_a_missing_signature(self):
        report = worm.audit(self.public_key, directory=self.evidence)
        self.assertTrue(report.clean)
        self.assertEqual(report.bundles, 3)
        self.assertEqual(report.report()["inventory"]["bundles_ok"], 3)
        sig = Path(self.bundles[0][1])
        sig.unlink()
        report = worm.audit(self.public_key, directory=self.evidence)
        self.assertFalse(report.clean)
        self.assertEqual([(f.key, f.check) for f in report.failures],
                         [(Path(self.bundles[0][0]).name, "missing_signature")])
        out = report.write(self.dir / "audit")
        self.assertEqual(json.loads(Path(out).read_text())["inventory"]["missing_signatures"], 1)
        with self.assertRaises(worm.InputError):
            worm.audit(self.public_key)  # no source

    def test_certificate_issue_and_verify(self):
        worm.audit(self.public_key, directory=self.evidence).write(self.dir / "audit")
        signer = worm.Signer(self.keys.private_key)
        issued = worm.issue_certificate(self.dir / "audit" / "report.json", signer, self.dir / "cert")
        self.assertTrue(issued["clean"])
        checked = worm.verify_certificate(self.dir / "cert", self.public_key)
        self.assertTrue(checked["ok"], checked["problems"])
        self.assertEqual(checked["certificate_id"], issued["certificate_id"])
        # cryptography checks certificate.sig over the JSON's bytes.
        pub = serialization.load_pem_public_key(Path(self.keys.public_key).read_bytes())
        data = (self.dir / "cert" / "certificate.json").read_bytes()
        pub.verify(base64.b64decode((self.dir / "cert" / "certificate.sig").read_text()), data)
        (self.dir / "cert" / "certificate.json").write_bytes(data.replace(b'"bundles": 3', b'"bundles": 4'))
        self.assertFalse(worm.verify_certificate(self.dir / "cert", self.public_key)["ok"])

    def test_sigstore_bundle(self):
        signer = worm.Signer(self.keys.private_key)
        path = worm.write_sigstore_bundle(signer, self.bundles[0][0])
        bundle = json.loads(Path(path).read_text())
        self.assertEqual(bundle["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json")
        pub = serialization.load_pem_public_key(Path(self.keys.public_key).read_bytes())
        pub.verify(base64.b64decode(bundle["messageSignature"]["signature"]),
                   Path(self.bundles[0][0]).read_bytes())


if __name__ == "__main__":
    unittest.main()
