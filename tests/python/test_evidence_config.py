"""Seed 003's EvidenceConfig and MockDataGenerator (worm/_seed003.py): the names, the
environment, validate(), and mock data that builds schema-valid bundles (checked with
jsonschema against schemas/evidence-bundle-v1.schema.json, not only libworm's validator)."""

import io
import json
import os
import random
import shutil
import tempfile
import unittest
from contextlib import redirect_stdout
from pathlib import Path
from unittest import mock

import jsonschema

from cosign_support import write_cosign_key_pair
from worm_test_support import SOURCE_DIR, load_tests_unless_missing, worm

load_tests = load_tests_unless_missing

SCHEMA = SOURCE_DIR / "schemas" / "evidence-bundle-v1.schema.json"
ENV_NAMES = ("MSP_EVIDENCE_DIR", "MSP_PRIVATE_KEY", "MSP_PUBLIC_KEY", "MSP_SCHEMA_PATH", "COSIGN_PASSWORD")


class TestEvidenceConfig(unittest.TestCase):
    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="worm-evcfg-"))
        self.env = mock.patch.dict(os.environ, {"HOME": str(self.tmp / "home")})
        self.env.start()
        for name in ENV_NAMES:
            os.environ.pop(name, None)

    def tearDown(self):
        self.env.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def production_layout(self):
        """The seed's ~/msp-production layout with a cosign key pair."""
        base = self.tmp / "home" / "msp-production"
        (base / "evidence").mkdir(parents=True)
        key, pub, _ = write_cosign_key_pair(base / "signing-keys", "production-password")
        os.chmod(key, 0o400)
        return base, key, pub

    def test_defaults_are_the_seeds_paths(self):
        home = self.tmp / "home"
        self.assertEqual(worm.EvidenceConfig.EVIDENCE_DIR, home / "msp-production" / "evidence")
        self.assertEqual(worm.EvidenceConfig.PRIVATE_KEY, home / "msp-production" / "signing-keys" / "private-key.key")
        self.assertEqual(worm.EvidenceConfig.PUBLIC_KEY, home / "msp-production" / "signing-keys" / "private-key.pub")
        self.assertEqual(worm.EvidenceConfig.SCHEMA_PATH.name, "evidence-bundle-v1.schema.json")
        self.assertTrue(worm.EvidenceConfig.SCHEMA_PATH.is_file())
        self.assertIsNone(worm.EvidenceConfig.COSIGN_PASSWORD)

    def test_environment_and_assignment(self):
        os.environ["MSP_EVIDENCE_DIR"] = "/var/lib/msp/evidence"
        os.environ["COSIGN_PASSWORD"] = "from-env"
        self.assertEqual(worm.EvidenceConfig.EVIDENCE_DIR, Path("/var/lib/msp/evidence"))
        self.assertEqual(worm.EvidenceConfig.COSIGN_PASSWORD, "from-env")
        worm.EvidenceConfig.EVIDENCE_DIR = Path("/elsewhere")
        try:
            self.assertEqual(worm.EvidenceConfig.EVIDENCE_DIR, Path("/elsewhere"))
        finally:
            del worm.EvidenceConfig.EVIDENCE_DIR
        self.assertEqual(worm.EvidenceConfig.EVIDENCE_DIR, Path("/var/lib/msp/evidence"))

    def test_validate_passes_on_the_production_layout(self):
        self.production_layout()
        os.environ["COSIGN_PASSWORD"] = "production-password"
        self.assertTrue(worm.EvidenceConfig.validate())
        self.assertEqual(worm.EvidenceConfig.problems(), [])
        out = io.StringIO()
        with redirect_stdout(out):
            worm.EvidenceConfig.print_config()
        self.assertIn("Evidence Dir: " + str(self.tmp / "home" / "msp-production" / "evidence"), out.getvalue())
        self.assertIn("Schema: ", out.getvalue())
        self.assertNotIn("production-password", out.getvalue())

    def test_validate_names_every_problem(self):
        with self.assertRaises(worm.ConfigError) as ctx:
            worm.EvidenceConfig.validate()
        message = str(ctx.exception)
        for what in ("evidence directory", "private key", "public key"):
            self.assertIn(what, message)

    def test_validate_checks_key_permissions_password_and_schema(self):
        _, key, _ = self.production_layout()
        os.chmod(key, 0o644)
        os.environ["MSP_SCHEMA_PATH"] = str(self.tmp / "missing.json")
        problems = worm.EvidenceConfig.problems()
        self.assertTrue(any("chmod 400" in p for p in problems), problems)
        self.assertTrue(any("COSIGN_PASSWORD" in p for p in problems), problems)
        self.assertTrue(any("schema" in p for p in problems), problems)
        (self.tmp / "bad.json").write_text("{not json")
        os.environ["MSP_SCHEMA_PATH"] = str(self.tmp / "bad.json")
        self.assertTrue(any("not readable JSON" in p for p in worm.EvidenceConfig.problems()))


class TestMockDataGenerator(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="worm-mock-"))
        cls.schema = json.loads(SCHEMA.read_text())
        cls.pipeline = worm.EvidencePipeline("clinic-001", evidence_dir=cls.tmp / "evidence", durable=False)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def bundle(self, success=True, rng=None):
        g = worm.MockDataGenerator
        path, _ = self.pipeline.process_incident(
            incident=g.create_mock_incident(rng=rng), runbook=g.create_mock_runbook(rng=rng),
            execution=g.create_mock_execution(success=success, rng=rng),
            actions=g.create_mock_actions(success=success, rng=rng), artifacts=g.create_mock_artifacts(rng=rng))
        bundle = json.loads(Path(path).read_text())
        jsonschema.validate(bundle, self.schema)
        return bundle

    def test_varied_schema_valid_bundles(self):
        bundles = [self.bundle(success=i % 3 != 0) for i in range(24)]
        self.assertGreaterEqual(len({b["incident"]["event_type"] for b in bundles}), 3)
        self.assertGreaterEqual(len({b["incident"]["hostname"] for b in bundles}), 2)
        self.assertGreaterEqual(len({b["execution"]["mttr_seconds"] for b in bundles}), 10)
        self.assertEqual({b["outputs"]["resolution_status"] for b in bundles}, {"success", "partial"})
        for b in bundles:
            self.assertEqual(len(b["actions_taken"]), b["runbook"]["steps_total"])

    def test_failed_remediation_misses_the_sla_and_names_the_error(self):
        b = self.bundle(success=False)
        self.assertFalse(b["execution"]["sla_met"])
        self.assertEqual(b["outputs"]["resolution_status"], "partial")
        self.assertEqual(b["actions_taken"][-1]["result"], "timeout")
        self.assertIn("Service startup timeout after 60 seconds", json.dumps(b["outputs"]))
        self.assertTrue(self.bundle(success=True)["execution"]["sla_met"])

    def test_sections_alone_are_valid_and_repeatable(self):
        g = worm.MockDataGenerator
        stable = ("event_type", "severity", "hostname", "details", "hipaa_controls")
        first, second = (g.create_mock_incident(rng=random.Random(7)) for _ in range(2))
        self.assertEqual({k: first[k] for k in stable}, {k: second[k] for k in stable})

        def section(schema):
            return {**schema, "definitions": self.schema["definitions"]}

        jsonschema.validate(g.create_mock_incident(), section(self.schema["properties"]["incident"]))
        jsonschema.validate(g.create_mock_runbook(), section(self.schema["properties"]["runbook"]))
        for action in g.create_mock_actions(success=False):
            jsonschema.validate(action, section(self.schema["properties"]["actions_taken"]["items"]))


if __name__ == "__main__":
    unittest.main()
