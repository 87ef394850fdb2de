"""Seed 001 (MCP server evidence uploader + Terraform WORM bucket module): each documented
snippet, copied as the seed writes it with only the imports changed to `worm`, against
moto_server and the local store. docs/compat.md lists them with their status."""

import datetime
import json
import os
import re
import subprocess
import sys
import unittest
from pathlib import Path

from worm_test_support import (load_tests_unless_missing as load_tests, SOURCE_DIR, free_port,  # noqa: F401
                               incident_inputs, worm, worm_cli)
from uploader_support import MotoCase, TempDirCase, environ, signed_bundles

TERRAFORM = SOURCE_DIR / "examples" / "terraform" / "worm-bucket"


def aws(*args):
    """The AWS CLI as the seed runs it (endpoint and credentials from the environment; AWS CLI v1
    reads the region from AWS_DEFAULT_REGION, which `aws configure` stands for on the seed's machine)."""
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "us-east-1"))
    return subprocess.run(["aws", *args], capture_output=True, text=True, env=env, timeout=120)


class Configuration(TempDirCase):
    def test_configuration_via_environment(self):
        # export MSP_WORM_BUCKET=msp-compliance-evidence-prod
        # export AWS_REGION=us-east-1
        with environ(MSP_WORM_BUCKET="msp-compliance-evidence-prod", AWS_REGION="us-east-1"):
            config = worm.WormConfig.from_env()
            cli = worm_cli()
            out = subprocess.run([cli, "config", "check"], capture_output=True, text=True) if cli else None
        self.assertEqual((config.enabled, config.mode, config.s3_bucket, config.s3_region),
                         (True, "direct", "msp-compliance-evidence-prod", "us-east-1"))
        if out is not None:
            self.assertEqual(out.returncode, 0, out.stderr)
            described = json.loads(out.stdout)
            self.assertTrue(described["enabled"])
            self.assertEqual(described["sources"]["enabled"], "MSP_WORM_BUCKET")
            self.assertEqual(described["sources"]["s3_region"], "AWS_REGION")

    def test_testing_without_aws_setup(self):
        # unset MSP_WORM_BUCKET; python3 pipeline.py
        # -> "Evidence uploader not available - WORM storage disabled"; bundles still created, signed, stored.
        with environ(MSP_WORM_BUCKET=None), self.assertLogs("worm", "INFO") as logs:
            pipeline = worm.EvidencePipeline("clinic-001", self.dir / "evidence")
            bundle_path, sig_path = pipeline.process_incident(**incident_inputs())
        self.assertIsNone(pipeline.uploader)
        self.assertTrue(any("Evidence uploader not available - WORM storage disabled" in line for line in logs.output))
        self.assertTrue(pipeline.verify(bundle_path, sig_path))

    def test_terraform_module_variables_and_outputs(self):
        # variable "bucket_name" / "retention_days" (default 90, >= 90) / "lifecycle_transition_days" (30);
        # outputs bucket_name, bucket_arn, bucket_region, uploader_policy_arn, object_lock_enabled, retention_days.
        # Equivalent: examples/terraform/worm-bucket (terraform validate/apply against moto:
        # tests/cpp/test_it_terraform_bucket.cpp); here its interface is checked by name.
        variables = (TERRAFORM / "variables.tf").read_text()
        outputs = (TERRAFORM / "outputs.tf").read_text()
        for name in ("bucket_name", "retention_days", "lifecycle_transition_days"):
            self.assertIn(f'variable "{name}"', variables)
        retention = variables[variables.index('variable "retention_days"'):]
        self.assertRegex(retention[:retention.index("\n}")], r"default\s*=\s*90")
        self.assertIn(">= 90", retention[:retention.index("\n}")])
        for name in ("bucket_name", "bucket_arn", "bucket_region", "uploader_policy_arn", "object_lock_enabled",
                     "retention_days"):
            self.assertIn(f'output "{name}"', outputs)


class EvidenceUploaderOnMoto(MotoCase):
    def seed_env(self, bucket, **values):
        """The seed's configuration: MSP_WORM_BUCKET and AWS_REGION (plus moto's endpoint)."""
        return self.moto_env(MSP_WORM_BUCKET=bucket, AWS_REGION="us-east-1", **values)

    def test_upload_bundle(self):
        # class EvidenceUploader: def upload_bundle(self, bundle_path: Path, signature_path: Path,
        #     client_id: str) -> Tuple[str, str]   (COMPLIANCE lock, 90 days, SHA256 and lock verified)
        from worm import EvidenceUploader
        bucket = self.bucket("msp-compliance-evidence-prod")
        bundle_path, signature_path = signed_bundles(self.dir / "evidence", 1, "clinic-001")[0]
        with self.seed_env(bucket):
            uploader = EvidenceUploader(evidence_dir=self.dir / "evidence")
            bundle_uri, signature_uri = uploader.upload_bundle(Path(bundle_path), Path(signature_path), "clinic-001")
        self.assertEqual(uploader.bucket_name, bucket)
        bundle_id = Path(bundle_path).stem
        key = f"evidence/clinic-001/{bundle_id[3:7]}/{bundle_id[7:9]}/{bundle_id}.json"
        self.assertEqual(bundle_uri, f"s3://{bucket}/{key}")
        self.assertEqual(signature_uri, bundle_uri[:-len(".json")] + ".sig")
        head = self.server.boto3().head_object(Bucket=bucket, Key=key)
        self.assertEqual(head["ObjectLockMode"], "COMPLIANCE")
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertGreater(head["ObjectLockRetainUntilDate"], now + datetime.timedelta(days=89))
        # Metadata attached to each S3 object (upload timestamp, retention period, original path).
        self.assertEqual(head["Metadata"]["retention-days"], "90")
        self.assertIn("upload-timestamp", head["Metadata"])
        self.assertIn("original-path", head["Metadata"])

    def test_download_and_list_operations(self):
        # "Download and list operations for bundle retrieval"; "Easy date-range queries (list all
        # bundles for October 2025)"; checklist: "Test restore procedure (download bundle, verify signature)".
        from worm import EvidenceUploader
        bucket = self.bucket("msp-compliance-evidence-prod")
        evidence = self.dir / "evidence"
        bundles = signed_bundles(evidence, 2, "clinic-001")
        with self.seed_env(bucket):
            uploader = EvidenceUploader(evidence_dir=evidence)
            for bundle_path, signature_path in bundles:
                uploader.upload_bundle(bundle_path, signature_path, "clinic-001")
            bundle_id = Path(bundles[0][0]).stem
            year, month = int(bundle_id[3:7]), int(bundle_id[7:9])
            listed = uploader.list_bundles("clinic-001", year=year, month=month)
            self.assertEqual(uploader.list_bundles("clinic-001", year=year - 1), [])
            self.assertEqual(uploader.list_bundles("clinic-002"), [])
            restored, restored_sig = uploader.download_bundle(bundle_id, "clinic-001", self.dir / "restore")
        self.assertEqual([b["bundle_id"] for b in listed], sorted(Path(b).stem for b, _ in bundles))
        self.assertEqual(listed[0]["uri"], f"s3://{bucket}/{listed[0]['key']}")
        self.assertEqual(listed[0]["size"], Path(bundles[0][0]).stat().st_size)
        self.assertEqual(restored.read_bytes(), Path(bundles[0][0]).read_bytes())
        self.assertEqual(restored_sig.name, bundle_id + ".sig")
        self.assertTrue(worm.verify_file(restored, restored_sig, evidence / "keys" / "public.pem"))

    def test_pipeline_with_worm_storage(self):
        # "New parameter: enable_worm (defaults to checking MSP_WORM_BUCKET env var)"; "Validates bucket has
        # Object Lock enabled on initialization"; "Step 6: uploads bundle and signature to S3".
        bucket = self.bucket("msp-compliance-evidence-prod")
        with self.seed_env(bucket):
            pipeline = worm.EvidencePipeline("clinic-001", self.dir / "evidence")  # enable_worm=None
            self.assertIsNotNone(pipeline.uploader)
            bundle_path, _ = pipeline.process_incident(**incident_inputs())
            off = worm.EvidencePipeline("clinic-001", self.dir / "off", enable_worm=False)
        self.assertIsNone(off.uploader)
        self.assertEqual(pipeline.last_result["upload_status"], "uploaded")
        self.assertTrue(pipeline.last_result["bundle_uri"].endswith("/" + Path(bundle_path).name))
        other = self.bucket("msp-compliance-evidence-prod")  # the same bundle ids again: a bucket of its own
        with self.moto_env(WORM_S3_BUCKET=other):  # no MSP_WORM_BUCKET: enable explicitly
            explicit = worm.EvidencePipeline("clinic-001", self.dir / "explicit", enable_worm=True)
            explicit.process_incident(**incident_inputs())
        self.assertEqual(explicit.config.mode, "direct")
        self.assertEqual(explicit.last_result["upload_status"], "uploaded")

    def test_storage_locations_stay_as_signed(self):
        # "Updates storage locations in evidence metadata": the signature covers the file's bytes, so
        # libworm leaves storage_locations as signed; the URIs are in last_result and the registry.
        bucket = self.bucket("msp-compliance-evidence-prod")
        with self.seed_env(bucket):
            pipeline = worm.EvidencePipeline("clinic-001", self.dir / "evidence")
            bundle_path, sig_path = pipeline.process_incident(**incident_inputs())
        self.assertEqual(json.loads(Path(bundle_path).read_text())["storage_locations"], [])
        self.assertTrue(pipeline.verify(bundle_path, sig_path))
        self.assertTrue(pipeline.last_result["bundle_uri"].startswith(f"s3://{bucket}/"))

    def test_troubleshooting_object_lock_not_enabled(self):
        # Error: "Bucket does not have Object Lock enabled"
        bucket = self.bucket("no-lock-bucket", object_lock=False)
        with self.seed_env(bucket):
            with self.assertRaises(worm.ConfigError) as caught:
                worm.EvidencePipeline("clinic-001", self.dir / "evidence")
        self.assertIn("Bucket does not have Object Lock enabled", str(caught.exception))
        self.assertIn(bucket, str(caught.exception))

    def test_verify_configuration_with_aws_cli(self):
        # aws sts get-caller-identity
        # aws s3api get-object-lock-configuration --bucket $MSP_WORM_BUCKET
        bucket = self.bucket("msp-compliance-evidence-prod")
        with self.seed_env(bucket):
            identity = aws("sts", "get-caller-identity")
            lock = aws("s3api", "get-object-lock-configuration", "--bucket", os.environ["MSP_WORM_BUCKET"])
        self.assertEqual(identity.returncode, 0, identity.stderr)
        self.assertEqual(lock.returncode, 0, lock.stderr)
        self.assertEqual(json.loads(lock.stdout)["ObjectLockConfiguration"]["ObjectLockEnabled"], "Enabled")

    def test_auditor_evidence_with_aws_cli(self):
        # aws s3api get-object-retention --bucket $BUCKET_NAME --key evidence/clinic-001/2025/11/EB-....json
        # aws s3 ls s3://$MSP_WORM_BUCKET/
        # Equivalent for the first: moto_server answers GetObjectRetention with an error (a known moto
        # limit, see ../shared/peers), so the retention is read with `aws s3api head-object`, which
        # returns the same mode and date.
        bucket = self.bucket("msp-compliance-evidence-prod")
        with self.seed_env(bucket):
            pipeline = worm.EvidencePipeline("clinic-001", self.dir / "evidence")
            pipeline.process_incident(**incident_inputs())
            key = pipeline.last_result["bundle_uri"][len(f"s3://{bucket}/"):]
            head = aws("s3api", "head-object", "--bucket", bucket, "--key", key)
            listing = aws("s3", "ls", f"s3://{os.environ['MSP_WORM_BUCKET']}/")
        self.assertEqual(head.returncode, 0, head.stderr)
        retention = json.loads(head.stdout)
        self.assertEqual(retention["ObjectLockMode"], "COMPLIANCE")
        retain_until = datetime.datetime.fromisoformat(retention["ObjectLockRetainUntilDate"].replace("Z", "+00:00"))
        self.assertGreater(retain_until, datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=89))
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertIn("PRE evidence/", listing.stdout)

    def test_test_upload_step(self):
        # Step 4: python3 uploader.py / python3 pipeline.py. Equivalent: `python -m worm process` (the
        # pipeline on the seed's environment) uploads the bundle it signs.
        bucket = self.bucket("msp-compliance-evidence-prod")
        sections = []
        for name, value in incident_inputs().items():
            path = self.dir / f"{name}.json"
            path.write_text(json.dumps(value))
            sections += [f"--{name}", str(path)]
        with self.seed_env(bucket):
            out = subprocess.run([sys.executable, "-m", "worm", "process", "--client-id", "clinic-001",
                                  "--evidence-dir", str(self.dir / "evidence"), *sections],
                                 capture_output=True, text=True, env=dict(os.environ), timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        keys = [o["Key"] for o in self.server.boto3().list_objects_v2(
            Bucket=bucket, Prefix="evidence/clinic-001/").get("Contents", [])]
        self.assertTrue(any(k.endswith(".json") for k in keys), (keys, out.stdout))


class UnreachableBucket(TempDirCase):
    def test_upload_failed_non_fatal(self):
        # Warning: "WORM storage upload failed (non-fatal)": evidence is still valid, stored locally and signed.
        closed = f"http://127.0.0.1:{free_port()}"
        with environ(MSP_WORM_BUCKET="msp-compliance-evidence-prod", AWS_REGION="us-east-1",
                     AWS_ENDPOINT_URL=closed, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="example-secret",
                     WORM_UPLOAD_ATTEMPTS="1", WORM_S3_ADDRESSING="path"):
            with self.assertLogs("worm", "WARNING") as logs:
                pipeline = worm.EvidencePipeline("clinic-001", self.dir / "evidence")
                bundle_path, sig_path = pipeline.process_incident(**incident_inputs())
        self.assertTrue(any("Object Lock" in line for line in logs.output), logs.output)
        self.assertTrue(any("upload of" in line and "left pending" in line for line in logs.output), logs.output)
        self.assertTrue(pipeline.verify(bundle_path, sig_path))
        self.assertEqual(pipeline.last_result["upload_status"], "pending")
        self.assertEqual(pipeline.uploader.get_pending_count(), 1)
        self.assertNotIn("example-secret", "\n".join(logs.output))


if __name__ == "__main__":
    unittest.main()
