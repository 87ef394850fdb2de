"""Seed 002's operations surface in the CLI: its variables in `worm config check` (with where
each applies, DATABASE_URL's password masked, malformed values named), bare bucket names
where a store is expected, reports and certificates uploaded to the reports bucket locked
COMPLIANCE (--upload-to or WORM_REPORTS_BUCKET), and `worm migrate` publishing
MigrationFailures to CloudWatch (moto_server, signatures checked)."""

import datetime
import json
import os
import subprocess
import unittest


from worm_test_support import MotoAwsCase, worm_cli

SEED_VARIABLES = ["WORM_EVIDENCE_BUCKET", "WORM_REPORTS_BUCKET", "WORM_RETENTION_YEARS", "WORM_BACKUP_REGION",
                  "COMPLIANCE_SIGNING_KEY_PATH", "WORM_ALERTS_TOPIC_ARN", "DATABASE_URL", "MIGRATION_BATCH_SIZE",
                  "MIGRATION_PROGRESS_DIR", "MIGRATION_MAX_WORKERS"]


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in SEED_VARIABLES and k != "WORM_CLOUDWATCH_NAMESPACE"}
    env.update(extra)
    return env


@unittest.skipUnless(worm_cli(), "worm CLI not built")
class ConfigCheckTest(unittest.TestCase):
    def check(self, **env):
        return subprocess.run([worm_cli(), "config", "check"], capture_output=True, text=True, env=clean_env(**env))

    def test_seed_variables_are_shown_with_where_they_apply(self):
        r = self.check(WORM_EVIDENCE_BUCKET="firemode-evidence-worm-dev", WORM_RETENTION_YEARS="7",
                       WORM_ALERTS_TOPIC_ARN="arn:aws:sns:us-east-1:123456789012:firemode-worm-alerts-dev",
                       DATABASE_URL="postgresql://user:s3cret-pw@db.internal:5432/firemode",
                       MIGRATION_BATCH_SIZE="1000")
        platform = json.loads(r.stdout)["platform"]
        self.assertEqual(list(platform), SEED_VARIABLES)
        self.assertEqual(platform["WORM_EVIDENCE_BUCKET"]["value"], "firemode-evidence-worm-dev")
        self.assertIn("worm monitor", platform["WORM_EVIDENCE_BUCKET"]["used_by"])
        self.assertEqual(platform["WORM_REPORTS_BUCKET"]["value"], None)
        self.assertEqual(platform["DATABASE_URL"]["value"], "postgresql://user:****@db.internal:5432/firemode")
        self.assertNotIn("s3cret-pw", r.stdout + r.stderr)
        self.assertNotIn("WORM_", r.stderr)  # no problem reported for the seed's variables

    def test_malformed_values_are_named(self):
        r = self.check(WORM_RETENTION_YEARS="seven", MIGRATION_MAX_WORKERS="0", WORM_REPORTS_BUCKET="Not A Bucket",
                       DATABASE_URL="mysql://u:topsecret@h/db")
        self.assertEqual(r.returncode, 2)
        for name in ("WORM_RETENTION_YEARS", "MIGRATION_MAX_WORKERS", "WORM_REPORTS_BUCKET", "DATABASE_URL"):
            self.assertIn(f"worm config check: {name}", r.stderr)
        self.assertNotIn("topsecret", r.stderr + r.stdout)


@unittest.skipUnless(worm_cli(), "worm CLI not built")
class ReportsBucketTest(MotoAwsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3, cls.cw = cls.aws("s3"), cls.aws("cloudwatch")
        cls.s3.create_bucket(Bucket="firemode-reports-worm-dev", ObjectLockEnabledForBucket=True)

    def run_cli(self, *args, **env):
        full = clean_env(**self.server.env())
        full.update(env)
        return subprocess.run([worm_cli(), *args], capture_output=True, text=True, env=full, timeout=120)

    def test_report_and_certificate_go_to_the_reports_bucket_locked(self):
        keys = self.dir / "keys"
        self.assertEqual(self.run_cli("keygen", "--out", str(keys)).returncode, 0)
        (self.dir / "evidence").mkdir()
        # --upload-to with a bare bucket name, as seed 002 names buckets.
        audit = self.run_cli("audit", "--dir", str(self.dir / "evidence"), "--key", str(keys / "public.pem"),
                             "--out", str(self.dir / "report"), "--upload-to", "firemode-reports-worm-dev",
                             WORM_RETENTION_YEARS="7")
        self.assertEqual(audit.returncode, 0, audit.stderr)
        uploaded = [line.split(" ", 1)[1] for line in audit.stdout.splitlines() if line.startswith("uploaded: ")]
        self.assertEqual([u.rsplit("/", 1)[1] for u in uploaded], ["report.json", "report.html"])
        # The certificate: WORM_REPORTS_BUCKET instead of --upload-to, COMPLIANCE_SIGNING_KEY_PATH for --key.
        no_key = self.run_cli("certificate", "issue", "--report", str(self.dir / "report" / "report.json"),
                              "--out", str(self.dir / "cert"))
        self.assertEqual(no_key.returncode, 2)
        self.assertIn("COMPLIANCE_SIGNING_KEY_PATH", no_key.stderr)
        cert = self.run_cli("certificate", "issue", "--report", str(self.dir / "report" / "report.json"),
                            "--out", str(self.dir / "cert"), WORM_REPORTS_BUCKET="firemode-reports-worm-dev",
                            COMPLIANCE_SIGNING_KEY_PATH=str(keys / "private.pem"))
        self.assertEqual(cert.returncode, 0, cert.stderr)
        certificate_id = json.loads(cert.stdout)["certificate_id"]

        listed = {o["Key"] for o in self.s3.list_objects_v2(Bucket="firemode-reports-worm-dev")["Contents"]}
        self.assertEqual({k.rsplit("/", 1)[1] for k in listed if k.startswith("certificates/")},
                         {"certificate.json", "certificate.sig", "certificate.pdf", "certificate.pdf.sig",
                          "certificate.signer.pem"})
        self.assertTrue(all(k.startswith(("reports/audit-", f"certificates/{certificate_id}/")) for k in listed), listed)
        seven_years = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=7 * 365)
        for key in listed:
            head = self.s3.head_object(Bucket="firemode-reports-worm-dev", Key=key)
            self.assertEqual(head["ObjectLockMode"], "COMPLIANCE", key)
            self.assertGreaterEqual(head["ObjectLockRetainUntilDate"], seven_years, key)
        body = self.s3.get_object(Bucket="firemode-reports-worm-dev",
                                  Key=f"certificates/{certificate_id}/certificate.json")["Body"].read()
        self.assertEqual(body, (self.dir / "cert" / "certificate.json").read_bytes())

    def test_bare_bucket_name_is_an_s3_store(self):
        r = self.run_cli("ls", "--store", "firemode-reports-worm-dev")
        self.assertEqual(r.returncode, 0, r.stderr)
        missing = self.run_cli("ls", "--store", "no-such-bucket-here")
        self.assertEqual(missing.returncode, 3)
        self.assertIn("no-such-bucket-here", missing.stderr)
        info = self.run_cli("bucket", "info", WORM_EVIDENCE_BUCKET="firemode-reports-worm-dev")  # no --store
        self.assertEqual(json.loads(info.stdout)["bucket"], "firemode-reports-worm-dev")

    def test_migrate_publishes_migration_failures(self):
        src = self.dir / "old-evidence"
        src.mkdir()
        r = self.run_cli("migrate", "--from", str(src), "--to", f"file://{self.dir / 'dest'}", "--retain-days", "1",
                         "--quiet", WORM_CLOUDWATCH_NAMESPACE="FireMode/WORM", WORM_ENVIRONMENT="dev")
        self.assertEqual(r.returncode, 0, r.stderr)
        now = datetime.datetime.now(datetime.timezone.utc)
        stats = self.cw.get_metric_statistics(
            Namespace="FireMode/WORM", MetricName="MigrationFailures", Dimensions=[{"Name": "Environment", "Value": "dev"}],
            StartTime=now - datetime.timedelta(hours=1), EndTime=now + datetime.timedelta(minutes=5), Period=3600,
            Statistics=["Sum", "SampleCount"])
        self.assertEqual([(p["SampleCount"], p["Sum"]) for p in stats["Datapoints"]], [(1.0, 0.0)])


if __name__ == "__main__":
    unittest.main()
