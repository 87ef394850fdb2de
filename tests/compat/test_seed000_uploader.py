"""Seed 000 (compliance agent WORM uploader): each documented snippet, copied as the seed
writes it with only the imports changed to `worm`, against moto_server and the local
store. docs/compat.md lists them with their status."""

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import unittest
from pathlib import Path

from worm_test_support import load_tests_unless_missing as load_tests, worm, worm_cli  # noqa: F401
from uploader_support import MotoCase, TempDirCase, environ, seed_bundle, signed_bundles

# The seed's example URI; the bucket gets a number in tests after the first (MotoCase.bucket).
SEED_URI = re.compile(r"^s3://msp-compliance-worm(-\d+)?/evidence/client-001/\d{4}/\d{2}/EB-\d{8}-\d{4}\.json$")


def run_cli(*args, env=None):
    cli = worm_cli()
    if cli is None:
        raise unittest.SkipTest("the worm CLI is not built")
    return subprocess.run([cli, *args], capture_output=True, text=True, env=env or dict(os.environ), timeout=120)


class Configuration(TempDirCase):
    def test_environment_variables_table(self):
        # | WORM_ENABLED false | WORM_MODE proxy | WORM_S3_BUCKET - | WORM_S3_REGION us-east-1 |
        # | WORM_RETENTION_DAYS 90 | WORM_AUTO_UPLOAD true |
        with environ():
            config = worm.WormConfig.from_env()
            described = json.loads(run_cli("config", "check").stdout)
        self.assertEqual((config.enabled, config.mode, config.s3_bucket, config.s3_region, config.retention_days,
                          config.auto_upload), (False, "proxy", "", "us-east-1", 90, True))
        self.assertEqual(described["sources"]["enabled"], "default")
        self.assertEqual(described["sources"]["retention_days"], "default")
        with environ(WORM_ENABLED="true", WORM_MODE="direct", WORM_S3_BUCKET="b", WORM_S3_REGION="eu-west-1",
                     WORM_RETENTION_DAYS="120", WORM_AUTO_UPLOAD="false"):
            config = worm.WormConfig.from_env()
        self.assertEqual((config.enabled, config.mode, config.s3_bucket, config.s3_region, config.retention_days,
                          config.auto_upload), (True, "direct", "b", "eu-west-1", 120, False))

    def test_proxy_mode_configuration(self):
        # export WORM_ENABLED=true / WORM_MODE=proxy / MCP_URL=https://mcp.yourcompany.com
        with environ(WORM_ENABLED="true", WORM_MODE="proxy", MCP_URL="https://mcp.yourcompany.com"):
            out = run_cli("config", "check")
        self.assertEqual(out.returncode, 0, out.stderr)
        described = json.loads(out.stdout)
        self.assertEqual((described["enabled"], described["mode"], described["mcp_url"]),
                         (True, "proxy", "https://mcp.yourcompany.com"))
        self.assertEqual(described["sources"]["mcp_url"], "MCP_URL")

    def test_troubleshooting_endpoint_not_configured(self):
        # Upload Fails with "endpoint not configured" -- Fix: export MCP_URL=https://mcp.yourcompany.com
        bundles = signed_bundles(self.dir / "evidence", 2)
        with environ(WORM_ENABLED="true", WORM_MODE="proxy"), self.assertLogs("worm", "WARNING") as logs:
            uploader = worm.WormUploader(worm.WormConfig.from_env(), self.dir / "evidence", "client-001")
            for bundle, sig in bundles:
                with self.assertRaises(worm.ConfigError) as caught:
                    uploader.upload_bundle(bundle, sig)
        self.assertIn("endpoint not configured", str(caught.exception))
        self.assertEqual(len([line for line in logs.output if "endpoint not configured" in line]), 1)  # once
        self.assertIn("endpoint not configured", uploader.get_stats()["last_error"])
        with environ(WORM_ENABLED="true", WORM_MODE="proxy", MCP_URL="https://mcp.yourcompany.com"):
            self.assertEqual(run_cli("config", "check").returncode, 0)

    def test_troubleshooting_generator_keeps_evidence(self):
        # The same problem met by the agent's generator: evidence is stored and signed locally, every
        # bundle stays pending, and the problem is logged once, not once per bundle.
        with environ(WORM_ENABLED="true", WORM_MODE="proxy"), self.assertLogs("worm", "WARNING") as logs:
            generator = worm.EvidenceGenerator("client-001", self.dir / "evidence")
            stored = [asyncio.run(generator.store_evidence(seed_bundle())) for _ in range(3)]
            stats = generator.get_worm_stats()
        self.assertEqual([worm_uri for _, _, worm_uri in stored], [None, None, None])
        self.assertTrue(all(Path(bundle_path).exists() for bundle_path, _, _ in stored))
        self.assertEqual(stats["pending_queue_depth"], 3)
        self.assertIn("endpoint not configured", stats["last_error"])
        self.assertEqual(len([line for line in logs.output if "endpoint not configured" in line]), 1, logs.output)

    def test_troubleshooting_bucket_not_configured(self):
        # Upload Fails with "bucket not configured" -- Fix: export WORM_S3_BUCKET=your-bucket-name
        (bundle, sig), = signed_bundles(self.dir / "evidence", 1)
        with environ(WORM_ENABLED="true", WORM_MODE="direct"):
            uploader = worm.WormUploader(worm.WormConfig.from_env(), self.dir / "evidence", "client-001")
            with self.assertRaises(worm.ConfigError) as caught:
                uploader.upload_bundle(bundle, sig)
            status = run_cli("status", "--evidence-dir", str(self.dir / "evidence"))
        self.assertIn("bucket not configured", str(caught.exception))
        self.assertIn("bucket not configured", status.stdout)  # `worm status` shows the last error
        with environ(WORM_ENABLED="true", WORM_MODE="direct", WORM_S3_BUCKET="your-bucket-name"):
            self.assertEqual(run_cli("config", "check").returncode, 0)

    def test_nixos_module_options(self):
        # services.compliance-agent.worm = { enable = true; mode = "proxy"; s3Bucket = "msp-compliance-worm";
        #   s3Region = "us-east-1"; retentionDays = 90; autoUpload = true; };
        # Equivalent: no NixOS host here; examples/nixos/compliance-agent-worm.nix is evaluated with
        # nix-instantiate (tests/python/test_examples_deploy.py), fed the seed's values as written.
        if not shutil.which("nix-instantiate"):
            self.skipTest("nix-instantiate not installed")
        from test_examples_deploy import NIX_MODULE, STUB_LIB, nix_eval
        seed = ('{ enable = true; mode = "proxy"; s3Bucket = "msp-compliance-worm"; s3Region = "us-east-1"; '
                'retentionDays = 90; autoUpload = true; mcpUrl = "https://mcp.yourcompany.com"; '
                'environmentFile = null; package = "/nix/store/0000-libworm"; '
                'evidenceDir = "/var/lib/msp-compliance-agent/evidence"; user = "compliance-agent"; '
                'syncInterval = "15min"; }')
        env = nix_eval(f"(import {NIX_MODULE} {{ lib = {STUB_LIB}; config.services.compliance-agent.worm = {seed}; }})"
                       ".config.systemd.services.compliance-agent.environment")
        self.assertEqual(env, {"WORM_ENABLED": "true", "WORM_MODE": "proxy", "WORM_S3_BUCKET": "msp-compliance-worm",
                               "WORM_S3_REGION": "us-east-1", "WORM_RETENTION_DAYS": "90", "WORM_AUTO_UPLOAD": "true",
                               "MCP_URL": "https://mcp.yourcompany.com"})

    def test_automatic_retry_defaults(self):
        # "Default: 3 retries" -- libworm: 3 attempts per bundle (WORM_UPLOAD_ATTEMPTS), with jittered
        # exponential backoff instead of the constant 5 s (docs/uploader.md says why).
        with environ():
            self.assertEqual(worm.WormConfig.from_env().upload_attempts, 3)
        with environ(WORM_UPLOAD_ATTEMPTS="5"):
            self.assertEqual(worm.WormConfig.from_env().upload_attempts, 5)


class ManualRecovery(TempDirCase):
    def test_check_pending_count(self):
        # from compliance_agent.worm_uploader import WormUploader, WormConfig
        from worm import WormUploader, WormConfig
        evidence = self.dir / "var/lib/msp-compliance-agent/evidence"
        with environ():
            uploader = WormUploader(WormConfig(enabled=True), str(evidence), 'client-001')
            self.assertEqual(uploader.get_pending_count(), 0)
            for bundle, sig in signed_bundles(evidence, 2):
                uploader.enqueue(bundle, sig)
            # uploader = WormUploader(WormConfig(enabled=True), '/var/lib/msp-compliance-agent/evidence', 'client-001')
            # print(f'Pending: {uploader.get_pending_count()}')
            uploader = WormUploader(WormConfig(enabled=True), str(evidence), 'client-001')
            self.assertEqual(f'Pending: {uploader.get_pending_count()}', "Pending: 2")
            stats = uploader.get_stats()
        self.assertEqual(stats["pending_queue_depth"], 2)
        self.assertIsNone(stats["upload_success_rate"])

    def test_force_sync(self):
        # result = asyncio.run(generator.sync_to_worm()); print(result)   (against the local store)
        store = worm.open_store(f"file://{self.dir / 'worm-store'}")
        with environ(WORM_AUTO_UPLOAD="false"):
            generator = worm.EvidenceGenerator("client-001", self.dir / "evidence", store=store)
            for _ in range(2):
                asyncio.run(generator.store_evidence(seed_bundle()))
            result = asyncio.run(generator.sync_to_worm())
        self.assertEqual((result["uploaded"], result["failed"], result["pending"]), (2, 0, 0))


class DirectMode(MotoCase):
    def test_direct_mode_configuration(self):
        # export WORM_ENABLED=true WORM_MODE=direct WORM_S3_BUCKET=my-worm-bucket WORM_S3_REGION=us-east-1
        # AWS_ACCESS_KEY_ID=AKIA... AWS_SECRET_ACCESS_KEY=...   (moto's endpoint added)
        (bundle, sig), = signed_bundles(self.dir / "evidence", 1)
        bucket = self.bucket("my-worm-bucket")
        with self.moto_env(WORM_ENABLED="true", WORM_MODE="direct", WORM_S3_BUCKET=bucket,
                           WORM_S3_REGION="us-east-1"):
            uploader = worm.WormUploader(worm.WormConfig.from_env(), self.dir / "evidence", "client-001")
            bundle_uri, sig_uri = uploader.upload_bundle(bundle, sig)
        self.assertTrue(bundle_uri.startswith(f"s3://{bucket}/evidence/client-001/"), bundle_uri)
        key = bundle_uri[len(f"s3://{bucket}/"):]
        head = self.server.boto3().head_object(Bucket=bucket, Key=key)
        self.assertEqual(head["ObjectLockMode"], "COMPLIANCE")

    def test_automatic_upload(self):
        # bundle_path, sig_path, worm_uri = await generator.store_evidence(bundle)
        # print(f"WORM URI: {worm_uri}")  # s3://msp-compliance-worm/evidence/client-001/2025/11/EB-20251125-0001.json
        bucket = self.bucket("msp-compliance-worm")
        with self.moto_env(WORM_ENABLED="true", WORM_MODE="direct", WORM_S3_BUCKET=bucket,
                           WORM_AUTO_UPLOAD="true"):
            generator = worm.EvidenceGenerator("client-001", self.dir / "evidence")

            async def scenario(bundle):
                bundle_path, sig_path, worm_uri = await generator.store_evidence(bundle)
                return bundle_path, sig_path, worm_uri
            bundle_path, sig_path, worm_uri = asyncio.run(scenario(seed_bundle()))
        self.assertRegex(f"WORM URI: {worm_uri}", r"^WORM URI: s3://")
        self.assertRegex(worm_uri, SEED_URI)
        self.assertTrue(worm_uri.endswith("/" + Path(bundle_path).name))

    def test_manual_sync_and_bundle_structure(self):
        # result = await generator.sync_to_worm(); print(f"Uploaded: {result['uploaded']}") ...
        # s3://bucket/evidence/{client_id}/{year}/{month}/ EB-....json + EB-....sig
        bucket = self.bucket("msp-compliance-worm")
        with self.moto_env(WORM_ENABLED="true", WORM_MODE="direct", WORM_S3_BUCKET=bucket,
                           WORM_AUTO_UPLOAD="false"):
            generator = worm.EvidenceGenerator("client-001", self.dir / "evidence")

            async def scenario():
                stored = [await generator.store_evidence(seed_bundle()) for _ in range(2)]
                result = await generator.sync_to_worm()
                return stored, result
            stored, result = asyncio.run(scenario())
        lines = [f"Uploaded: {result['uploaded']}", f"Failed: {result['failed']}", f"Pending: {result['pending']}"]
        self.assertEqual(lines, ["Uploaded: 2", "Failed: 0", "Pending: 0"])
        keys = sorted(o["Key"] for o in self.server.boto3().list_objects_v2(
            Bucket=bucket, Prefix="evidence/client-001/")["Contents"])
        expected = []
        for bundle_path, _, worm_uri in stored:
            self.assertIsNone(worm_uri)  # auto upload off: stored by the sync
            bundle_id = Path(bundle_path).stem
            prefix = f"evidence/client-001/{bundle_id[3:7]}/{bundle_id[7:9]}/{bundle_id}"
            expected += [prefix + ".json", prefix + ".sig"]
        self.assertEqual(keys, sorted(expected))

    def test_check_upload_status(self):
        # stats = generator.get_worm_stats(); print(f"Enabled: {stats['enabled']}") ...
        bucket = self.bucket("msp-compliance-worm")
        with self.moto_env(WORM_ENABLED="true", WORM_MODE="direct", WORM_S3_BUCKET=bucket):
            generator = worm.EvidenceGenerator("client-001", self.dir / "evidence")
            asyncio.run(generator.store_evidence(seed_bundle()))
            stats = generator.get_worm_stats()
        lines = [f"Enabled: {stats['enabled']}", f"Mode: {stats['mode']}",
                 f"Total uploaded: {stats['total_uploaded']}", f"Pending: {stats['pending_count']}"]
        self.assertEqual(lines, ["Enabled: True", "Mode: direct", "Total uploaded: 1", "Pending: 0"])

    def test_upload_registry(self):
        # /var/lib/msp-compliance-agent/evidence/.upload_registry.json: uploaded bundles, S3 URIs, timestamps,
        # retry history. Equivalent: the registry is SQLite; `worm registry export` writes that file.
        evidence = self.dir / "evidence"
        (bundle, sig), = signed_bundles(evidence, 1)
        bucket = self.bucket("msp-compliance-worm")
        with self.moto_env(WORM_ENABLED="true", WORM_MODE="direct", WORM_S3_BUCKET=bucket):
            uri, _ = worm.WormUploader(worm.WormConfig.from_env(), evidence, "client-001").upload_bundle(bundle, sig)
        out = run_cli("registry", "export", "--evidence-dir", str(evidence), str(evidence / ".upload_registry.json"))
        self.assertEqual(out.returncode, 0, out.stderr)
        record = json.loads((evidence / ".upload_registry.json").read_text())[Path(bundle).stem]
        self.assertEqual(record["bundle_uri"], uri)
        self.assertTrue(record["uploaded_at"])
        self.assertEqual(record["attempts"], 1)

    def test_boto3_not_needed(self):
        # "boto3 Not Found -- Fix: pip install boto3". libworm signs its own S3 requests: direct mode
        # uploads with boto3 impossible to import.
        (bundle, sig), = signed_bundles(self.dir / "evidence", 1)
        script = ("import sys; sys.modules['boto3'] = None; sys.modules['botocore'] = None\n"
                  "import worm\n"
                  f"u = worm.WormUploader(worm.WormConfig.from_env(), {str(self.dir / 'evidence')!r}, 'client-001')\n"
                  f"print(u.upload_bundle({str(bundle)!r}, {str(sig)!r})[0])\n")
        bucket = self.bucket("msp-compliance-worm")
        with self.moto_env(WORM_ENABLED="true", WORM_MODE="direct", WORM_S3_BUCKET=bucket):
            out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout.strip(), SEED_URI)


class Monitoring(MotoCase):
    def test_metrics_to_track(self):
        # Upload success rate, pending queue depth, upload latency (creation -> WORM), retry count.
        evidence = self.dir / "evidence"
        bundles = signed_bundles(evidence, 3)
        broken = self.dir / "broken"
        broken_store = worm.open_store(f"file://{broken}/store")
        shutil.rmtree(broken)
        broken.write_text("a file where the store's directory was")  # every put now fails
        bucket = self.bucket("msp-compliance-worm")
        with self.moto_env(WORM_ENABLED="true", WORM_MODE="direct", WORM_S3_BUCKET=bucket,
                           WORM_UPLOAD_ATTEMPTS="1"):
            config = worm.WormConfig.from_env()
            failing = worm.WormUploader(config, evidence, "client-001", store=broken_store)
            with self.assertRaises(worm.WormError):
                failing.upload_bundle(*bundles[0])  # first attempt fails
            uploader = worm.WormUploader(config, evidence, "client-001")
            uploader.upload_bundle(*bundles[1])
            uploader.enqueue(*bundles[2])
            stats = uploader.get_stats()
            self.assertEqual(stats["pending_queue_depth"], 2)  # one failed, one pending
            self.assertAlmostEqual(stats["upload_success_rate"], 50.0)
            self.assertEqual(uploader.sync()["uploaded"], 2)  # the failed one's second attempt
            stats = uploader.get_stats()
        self.assertEqual(stats["upload_success_rate"], 100.0)
        self.assertEqual(stats["pending_queue_depth"], 0)
        self.assertEqual(stats["retry_count"], 1)
        self.assertGreaterEqual(stats["upload_latency"], 0.0)
        self.assertGreaterEqual(stats["upload_latency_max"], stats["upload_latency"])
        status = json.loads(run_cli("status", "--json", "--evidence-dir", str(evidence)).stdout)
        self.assertEqual((status["upload_success_rate"], status["pending_queue_depth"], status["retry_count"]),
                         (100.0, 0, 1))

    def test_alerts(self):
        # Pending queue > 10 bundles; upload failures > 3 consecutive; any bundle older than 24h not uploaded.
        evidence = self.dir / "evidence"
        uploader = worm.WormUploader(worm.WormConfig(enabled=True), evidence, "client-001")
        for bundle, sig in signed_bundles(evidence, 11):
            uploader.enqueue(bundle, sig)
        health = uploader.get_stats()["health"]
        self.assertTrue(health["backlog_high"])
        self.assertFalse(health["ok"])
        status = run_cli("status", "--evidence-dir", str(evidence))
        self.assertEqual(status.returncode, 3)
        self.assertIn("ALERT more than 10 bundles waiting", status.stdout)

    def test_object_lock_error(self):
        # "Object Lock Error -- Cause: S3 bucket doesn't have Object Lock enabled."
        (bundle, sig), = signed_bundles(self.dir / "evidence", 1)
        bucket = self.bucket("no-lock-bucket", object_lock=False)
        with self.moto_env(WORM_ENABLED="true", WORM_MODE="direct", WORM_S3_BUCKET=bucket,
                           WORM_UPLOAD_ATTEMPTS="1"):
            uploader = worm.WormUploader(worm.WormConfig.from_env(), self.dir / "evidence", "client-001")
            with self.assertRaises(worm.WormError):
                uploader.upload_bundle(bundle, sig)
            with self.assertRaises(worm.ConfigError) as caught:
                uploader._core.check_object_lock()
        self.assertIn("Object Lock", str(caught.exception))
        self.assertIn(bucket, str(caught.exception))
        self.assertEqual(uploader.get_pending_count(), 1)


if __name__ == "__main__":
    unittest.main()
